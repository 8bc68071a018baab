## modules/local.mk - every module's fragment

include $(srcdir)/modules/dir_ldif/local.mk
include $(srcdir)/modules/dir_ldap/local.mk
include $(srcdir)/modules/channel_autoreply/local.mk
