## modules/proto_pop3/local.mk - the POP3 server module

module_LTLIBRARIES += modules/proto_pop3/proto_pop3.la
modules_proto_pop3_proto_pop3_la_SOURCES = \
	modules/proto_pop3/pop3.c \
	modules/proto_pop3/pop3-parse.c modules/proto_pop3/pop3-parse.h \
	modules/common/svcaccess.c modules/common/svcaccess.h \
	modules/common/userlimit.c modules/common/userlimit.h \
	modules/common/login.c modules/common/login.h
modules_proto_pop3_proto_pop3_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
modules_proto_pop3_proto_pop3_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_proto_pop3_proto_pop3_la_LIBADD = $(GLIB_LIBS)
