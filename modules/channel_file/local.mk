## modules/channel_file/local.mk - local delivery to mbox files

module_LTLIBRARIES += modules/channel_file/channel_file.la
modules_channel_file_channel_file_la_SOURCES = modules/channel_file/mbox.c
modules_channel_file_channel_file_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
modules_channel_file_channel_file_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_channel_file_channel_file_la_LIBADD = $(GLIB_LIBS)
