## modules/dir_ldif/local.mk - the embedded directory (an LDIF file)

module_LTLIBRARIES += modules/dir_ldif/dir_ldif.la
modules_dir_ldif_dir_ldif_la_SOURCES = \
	modules/dir_ldif/dir_ldif.c \
	modules/dir_ldif/ldif.c modules/dir_ldif/ldif.h \
	modules/dir_ldif/ldifdb.c modules/dir_ldif/ldifdb.h \
	modules/dir_ldif/filter.c modules/dir_ldif/filter.h \
	modules/direntry/direntry.c modules/direntry/direntry.h
modules_dir_ldif_dir_ldif_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules
modules_dir_ldif_dir_ldif_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS) $(LDAP_CFLAGS)
modules_dir_ldif_dir_ldif_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_dir_ldif_dir_ldif_la_LIBADD = $(GLIB_LIBS) $(LDAP_LIBS)
