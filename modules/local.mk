## modules/local.mk - every module's fragment

include $(srcdir)/modules/store_cursus/local.mk
