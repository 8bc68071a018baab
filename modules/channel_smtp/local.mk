## modules/channel_smtp/local.mk - the SMTP client channel, and the same
## code built as the LMTP client channel

CHANNEL_SMTP_SOURCES = \
	modules/channel_smtp/smtp.c \
	modules/channel_smtp/client.c modules/channel_smtp/client.h \
	modules/channel_smtp/transact.c modules/channel_smtp/transact.h \
	modules/channel_smtp/pool.c modules/channel_smtp/pool.h \
	modules/channel_smtp/route.c modules/channel_smtp/route.h
CHANNEL_SMTP_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS) $(GNUTLS_CFLAGS) $(CARES_CFLAGS)
CHANNEL_SMTP_LIBS = $(GLIB_LIBS) $(GNUTLS_LIBS) $(CARES_LIBS)

module_LTLIBRARIES += modules/channel_smtp/channel_smtp.la
modules_channel_smtp_channel_smtp_la_SOURCES = $(CHANNEL_SMTP_SOURCES)
modules_channel_smtp_channel_smtp_la_CFLAGS = $(CHANNEL_SMTP_CFLAGS)
modules_channel_smtp_channel_smtp_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_channel_smtp_channel_smtp_la_LIBADD = $(CHANNEL_SMTP_LIBS)

module_LTLIBRARIES += modules/channel_smtp/channel_lmtp.la
modules_channel_smtp_channel_lmtp_la_SOURCES = $(CHANNEL_SMTP_SOURCES)
modules_channel_smtp_channel_lmtp_la_CFLAGS = $(CHANNEL_SMTP_CFLAGS) -DCHANNEL_LMTP
modules_channel_smtp_channel_lmtp_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_channel_smtp_channel_lmtp_la_LIBADD = $(CHANNEL_SMTP_LIBS)
