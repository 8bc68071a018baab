## modules/map_ldap/local.mk - the map_ldap mapping-source module

module_LTLIBRARIES += modules/map_ldap/map_ldap.la
modules_map_ldap_map_ldap_la_SOURCES = modules/map_ldap/map_ldap.c
modules_map_ldap_map_ldap_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS) $(LDAP_CFLAGS)
modules_map_ldap_map_ldap_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_map_ldap_map_ldap_la_LIBADD = $(GLIB_LIBS) $(LDAP_LIBS)
