## modules/channel_autoreply/local.mk - the autoreply channel

module_LTLIBRARIES += modules/channel_autoreply/channel_autoreply.la
modules_channel_autoreply_channel_autoreply_la_SOURCES = \
	modules/channel_autoreply/channel_autoreply.c
modules_channel_autoreply_channel_autoreply_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
modules_channel_autoreply_channel_autoreply_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
