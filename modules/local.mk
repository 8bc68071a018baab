## modules/local.mk - every module's fragment

include $(srcdir)/modules/map_file/local.mk
include $(srcdir)/modules/map_tcdb/local.mk
include $(srcdir)/modules/map_ldap/local.mk
