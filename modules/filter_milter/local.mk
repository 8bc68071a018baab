## modules/filter_milter/local.mk - the milter content-filter module

module_LTLIBRARIES += modules/filter_milter/filter_milter.la
modules_filter_milter_filter_milter_la_SOURCES = \
	modules/filter_milter/milter.c \
	modules/filter_milter/mproto.c modules/filter_milter/mproto.h
modules_filter_milter_filter_milter_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
modules_filter_milter_filter_milter_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_filter_milter_filter_milter_la_LIBADD = $(GLIB_LIBS)
