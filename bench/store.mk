## bench/store.mk - the message store benchmark (bench/store.sh) and its
## driver of the store ABI (LMTP and IMAP load: mailload, imap_ops.py)

noinst_PROGRAMS += bench/store-bench
bench_store_bench_SOURCES = bench/store-bench.c
bench_store_bench_LDADD = libcursus-core.la $(GLIB_LIBS)
EXTRA_DIST += bench/store.sh bench/common.sh bench/imap_ops.py
