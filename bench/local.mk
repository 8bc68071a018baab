## bench/local.mk - benchmark programs driven by the bench/*.sh scripts

noinst_PROGRAMS += bench/mailload
bench_mailload_SOURCES = bench/mailload.c
bench_mailload_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) -pthread
bench_mailload_LDADD = $(GNUTLS_LIBS) -lpthread
EXTRA_DIST += bench/imap.sh bench/genmbox.py bench/dovecot.conf.in
