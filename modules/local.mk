## modules/local.mk - every module's fragment

include $(srcdir)/modules/proto_smtp/local.mk
