## modules/store_cursus/local.mk - the default message store

module_LTLIBRARIES += modules/store_cursus/store_cursus.la
modules_store_cursus_store_cursus_la_SOURCES = \
	modules/store_cursus/store_cursus.c \
	modules/store_cursus/sc.h modules/store_cursus/util.c \
	modules/store_cursus/layout.c modules/store_cursus/layout.h \
	modules/store_cursus/mime.c modules/store_cursus/mime.h \
	modules/store_cursus/folder.c modules/store_cursus/folder.h \
	modules/store_cursus/mboxlist.c modules/store_cursus/mboxlist.h \
	modules/store_cursus/user.c modules/store_cursus/user.h \
	modules/store_cursus/gate.c \
	modules/store_cursus/api.h modules/store_cursus/repair.h \
	modules/store_cursus/mailbox.c \
	modules/store_cursus/list.c \
	modules/store_cursus/view.c \
	modules/store_cursus/flags.c \
	modules/store_cursus/search.c \
	modules/store_cursus/append.c \
	modules/store_cursus/watch.c modules/store_cursus/watch.h \
	modules/store_cursus/admin.c \
	modules/store_cursus/reconstruct.c \
	modules/store_cursus/snapshot.c
modules_store_cursus_store_cursus_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS) $(TC_CFLAGS) $(GMIME_CFLAGS) $(ZLIB_CFLAGS)
modules_store_cursus_store_cursus_la_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL)
modules_store_cursus_store_cursus_la_LIBADD = $(GLIB_LIBS) $(TC_LIBS) $(GMIME_LIBS) $(ZLIB_LIBS)
