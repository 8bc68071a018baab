## modules/map_file/local.mk - the map_file mapping-source module

module_LTLIBRARIES += modules/map_file/map_file.la
modules_map_file_map_file_la_SOURCES = modules/map_file/map_file.c
modules_map_file_map_file_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
modules_map_file_map_file_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_map_file_map_file_la_LIBADD = $(GLIB_LIBS)
