## modules/channel_bitbucket/local.mk - the bitbucket channel

module_LTLIBRARIES += modules/channel_bitbucket/channel_bitbucket.la
modules_channel_bitbucket_channel_bitbucket_la_SOURCES = modules/channel_bitbucket/bitbucket.c
modules_channel_bitbucket_channel_bitbucket_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
modules_channel_bitbucket_channel_bitbucket_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
