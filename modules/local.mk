## modules/local.mk - every module's fragment

include $(srcdir)/modules/proto_smtp/local.mk
include $(srcdir)/modules/dir_ldif/local.mk
include $(srcdir)/modules/auth_sasl/local.mk
include $(srcdir)/modules/channel_smtp/local.mk
include $(srcdir)/modules/channel_bitbucket/local.mk
include $(srcdir)/modules/channel_file/local.mk
include $(srcdir)/modules/channel_pipe/local.mk
include $(srcdir)/modules/channel_reprocess/local.mk
