## modules/proto_imap/local.mk - the IMAP4rev1/IMAP4rev2 server module

module_LTLIBRARIES += modules/proto_imap/proto_imap.la
PROTO_IMAP_SOURCES = \
	modules/proto_imap/imap.c modules/proto_imap/imap.h \
	modules/proto_imap/imap-parser.c modules/proto_imap/imap-parser.h \
	modules/proto_imap/imap-reader.c modules/proto_imap/imap-reader.h \
	modules/proto_imap/imap-utf7.c modules/proto_imap/imap-utf7.h \
	modules/proto_imap/imap-resp.c \
	modules/proto_imap/imap-sync.c \
	modules/proto_imap/imap-commands.c \
	modules/proto_imap/imap-login.c \
	modules/proto_imap/imap-mailbox.c \
	modules/proto_imap/imap-list.c \
	modules/proto_imap/imap-fetch.c modules/proto_imap/imap-fetch.h \
	modules/proto_imap/imap-message.c \
	modules/proto_imap/imap-search.c modules/proto_imap/imap-search.h \
	modules/proto_imap/imap-sort.c modules/proto_imap/imap-sort.h \
	modules/proto_imap/imap-subject.c \
	modules/proto_imap/imap-thread.c \
	modules/proto_imap/imap-append.c \
	modules/proto_imap/imap-idle.c \
	modules/proto_imap/imap-acl.c \
	modules/common/svcaccess.c modules/common/svcaccess.h \
	modules/common/userlimit.c modules/common/userlimit.h \
	modules/common/login.c modules/common/login.h
modules_proto_imap_proto_imap_la_SOURCES = $(PROTO_IMAP_SOURCES)
modules_proto_imap_proto_imap_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) \
	$(GLIB_CFLAGS) $(GMIME_CFLAGS)
modules_proto_imap_proto_imap_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_proto_imap_proto_imap_la_LIBADD = $(GLIB_LIBS) $(GMIME_LIBS)
