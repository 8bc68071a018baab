## bench/local.mk - benchmark programs (run by the scripts in bench/)

noinst_PROGRAMS += bench/dirbench
bench_dirbench_SOURCES = bench/dirbench.c
bench_dirbench_LDADD = libcursus-core.la $(GLIB_LIBS)
EXTRA_DIST += bench/directory.py

noinst_PROGRAMS += bench/rewrite-bench
bench_rewrite_bench_SOURCES = bench/rewrite_bench.c
bench_rewrite_bench_LDADD = libcursus-core.la $(GLIB_LIBS)
EXTRA_DIST += bench/rewrite.sh
