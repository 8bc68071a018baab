## modules/auth_sasl/local.mk - SASL mechanisms with GNU SASL

module_LTLIBRARIES += modules/auth_sasl/auth_sasl.la
modules_auth_sasl_auth_sasl_la_SOURCES = modules/auth_sasl/auth_sasl.c
modules_auth_sasl_auth_sasl_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS) $(GSASL_CFLAGS)
modules_auth_sasl_auth_sasl_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_auth_sasl_auth_sasl_la_LIBADD = $(GLIB_LIBS) $(GSASL_LIBS)
