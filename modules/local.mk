## modules/local.mk - every module's fragment

include $(srcdir)/modules/proto_smtp/local.mk
include $(srcdir)/modules/proto_imap/local.mk
include $(srcdir)/modules/proto_pop3/local.mk
include $(srcdir)/modules/dir_ldif/local.mk
include $(srcdir)/modules/store_cursus/local.mk
include $(srcdir)/modules/dir_ldap/local.mk
include $(srcdir)/modules/map_file/local.mk
include $(srcdir)/modules/map_tcdb/local.mk
include $(srcdir)/modules/map_ldap/local.mk
include $(srcdir)/modules/channel_smtp/local.mk
include $(srcdir)/modules/channel_store/local.mk
include $(srcdir)/modules/auth_sasl/local.mk
include $(srcdir)/modules/channel_autoreply/local.mk
include $(srcdir)/modules/channel_bitbucket/local.mk
include $(srcdir)/modules/channel_file/local.mk
include $(srcdir)/modules/channel_pipe/local.mk
include $(srcdir)/modules/channel_reprocess/local.mk
include $(srcdir)/modules/filter_milter/local.mk
