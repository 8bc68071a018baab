## bench/local.mk - benchmark programs (run by the scripts in bench/)

noinst_PROGRAMS += bench/dirbench
bench_dirbench_SOURCES = bench/dirbench.c
bench_dirbench_LDADD = libcursus-core.la $(GLIB_LIBS)
EXTRA_DIST += bench/directory.py

noinst_PROGRAMS += bench/rewrite-bench
bench_rewrite_bench_SOURCES = bench/rewrite_bench.c
bench_rewrite_bench_LDADD = libcursus-core.la $(GLIB_LIBS)
EXTRA_DIST += bench/rewrite.sh

noinst_PROGRAMS += bench/mailload
bench_mailload_SOURCES = bench/mailload.c
bench_mailload_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) -pthread
bench_mailload_LDADD = $(GNUTLS_LIBS) -lpthread
EXTRA_DIST += bench/imap.sh bench/genmbox.py bench/dovecot.conf.in
EXTRA_DIST += bench/smtp-inbound.sh bench/smtp_inbound.py bench/fsync_probe.py
EXTRA_DIST += bench/filters.sh bench/filters.py
EXTRA_DIST += bench/mta-relay.sh bench/treecpu.py
