## modules/local.mk - every module's fragment

include $(srcdir)/modules/dir_ldif/local.mk
include $(srcdir)/modules/store_cursus/local.mk
include $(srcdir)/modules/channel_store/local.mk
