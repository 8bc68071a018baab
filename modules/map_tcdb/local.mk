## modules/map_tcdb/local.mk - the map_tcdb mapping-source module

module_LTLIBRARIES += modules/map_tcdb/map_tcdb.la
modules_map_tcdb_map_tcdb_la_SOURCES = modules/map_tcdb/map_tcdb.c
modules_map_tcdb_map_tcdb_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS) $(TC_CFLAGS)
modules_map_tcdb_map_tcdb_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_map_tcdb_map_tcdb_la_LIBADD = $(GLIB_LIBS) $(TC_LIBS)
