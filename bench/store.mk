## bench/store.mk - the message store benchmark driver (bench/store.sh)

noinst_PROGRAMS += bench/store-bench
bench_store_bench_SOURCES = bench/store-bench.c
bench_store_bench_LDADD = libcursus-core.la $(GLIB_LIBS)
EXTRA_DIST += bench/store.sh
