## modules/channel_pipe/local.mk - delivery to programs

module_LTLIBRARIES += modules/channel_pipe/channel_pipe.la
modules_channel_pipe_channel_pipe_la_SOURCES = modules/channel_pipe/pipe.c
modules_channel_pipe_channel_pipe_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
modules_channel_pipe_channel_pipe_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_channel_pipe_channel_pipe_la_LIBADD = $(GLIB_LIBS)
