## modules/channel_reprocess/local.mk - the reprocess channel, and the same
## code built as the hold channel

module_LTLIBRARIES += modules/channel_reprocess/channel_reprocess.la
modules_channel_reprocess_channel_reprocess_la_SOURCES = modules/channel_reprocess/reprocess.c
modules_channel_reprocess_channel_reprocess_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
modules_channel_reprocess_channel_reprocess_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_channel_reprocess_channel_reprocess_la_LIBADD = $(GLIB_LIBS)

module_LTLIBRARIES += modules/channel_reprocess/channel_hold.la
modules_channel_reprocess_channel_hold_la_SOURCES = modules/channel_reprocess/reprocess.c
modules_channel_reprocess_channel_hold_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS) -DCHANNEL_HOLD
modules_channel_reprocess_channel_hold_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_channel_reprocess_channel_hold_la_LIBADD = $(GLIB_LIBS)
