## modules/local.mk - every module's fragment

include $(srcdir)/modules/channel_smtp/local.mk
