## modules/dir_ldap/local.mk - the directory in LDAP servers (libldap)

module_LTLIBRARIES += modules/dir_ldap/dir_ldap.la
modules_dir_ldap_dir_ldap_la_SOURCES = \
	modules/dir_ldap/dir_ldap.c \
	modules/dir_ldap/pool.c modules/dir_ldap/pool.h \
	modules/direntry/direntry.c modules/direntry/direntry.h
modules_dir_ldap_dir_ldap_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules
modules_dir_ldap_dir_ldap_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS) $(LDAP_CFLAGS)
modules_dir_ldap_dir_ldap_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_dir_ldap_dir_ldap_la_LIBADD = $(GLIB_LIBS) $(LDAP_LIBS)
