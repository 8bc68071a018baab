## bench/local.mk - benchmark programs driven by the bench/*.sh scripts

noinst_PROGRAMS += bench/rewrite-bench
bench_rewrite_bench_SOURCES = bench/rewrite_bench.c
bench_rewrite_bench_LDADD = libcursus-core.la $(GLIB_LIBS)
EXTRA_DIST += bench/rewrite.sh
