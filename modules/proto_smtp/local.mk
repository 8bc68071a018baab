## modules/proto_smtp/local.mk - the SMTP, submission and LMTP servers

module_LTLIBRARIES += modules/proto_smtp/proto_smtp.la
modules_proto_smtp_proto_smtp_la_SOURCES = \
	modules/proto_smtp/smtp.c modules/proto_smtp/smtp.h \
	modules/proto_smtp/cmd.c \
	modules/proto_smtp/data.c \
	modules/proto_smtp/dotscan.c modules/proto_smtp/dotscan.h \
	modules/proto_smtp/auth.c \
	modules/proto_smtp/senderdns.c \
	modules/proto_smtp/smtp_parse.c modules/proto_smtp/smtp_parse.h
modules_proto_smtp_proto_smtp_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
modules_proto_smtp_proto_smtp_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_proto_smtp_proto_smtp_la_LIBADD = $(GLIB_LIBS)
