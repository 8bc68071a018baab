## modules/channel_store/local.mk - the ims-ms channel (delivery into the store)

module_LTLIBRARIES += modules/channel_store/channel_store.la
modules_channel_store_channel_store_la_SOURCES = modules/channel_store/channel_store.c
modules_channel_store_channel_store_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
modules_channel_store_channel_store_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_channel_store_channel_store_la_LIBADD = $(GLIB_LIBS)
