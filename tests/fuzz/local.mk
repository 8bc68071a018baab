## tests/fuzz/local.mk - fuzz harnesses (see tests/fuzz/README.md)
##
## Without --enable-fuzzing each harness links tests/fuzz/driver.c and runs
## over its corpus in `make check`; with it, clang's libFuzzer provides main.

if FUZZING
FUZZ_FLAGS = -fsanitize=fuzzer
else
FUZZ_FLAGS =
endif
FUZZ_COMMON_LDADD = libcursus-core.la $(GLIB_LIBS)

FUZZ_TARGETS = optfile imtacnf
FUZZ_TARGETS += qfile
check_PROGRAMS += tests/fuzz/fuzz_optfile tests/fuzz/fuzz_imtacnf
tests_fuzz_fuzz_optfile_SOURCES = tests/fuzz/fuzz_optfile.c tests/fuzz/driver.c
tests_fuzz_fuzz_optfile_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_optfile_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_optfile_LDADD = $(FUZZ_COMMON_LDADD)
tests_fuzz_fuzz_imtacnf_SOURCES = tests/fuzz/fuzz_imtacnf.c tests/fuzz/driver.c
tests_fuzz_fuzz_imtacnf_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_imtacnf_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_imtacnf_LDADD = $(FUZZ_COMMON_LDADD)

check_PROGRAMS += tests/fuzz/fuzz_qfile
tests_fuzz_fuzz_qfile_SOURCES = tests/fuzz/fuzz_qfile.c tests/fuzz/driver.c
tests_fuzz_fuzz_qfile_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_qfile_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_qfile_LDADD = $(FUZZ_COMMON_LDADD)

# the message store's MIME indexing and record readers
FUZZ_TARGETS += mime storeindex
FUZZ_STORE_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS) -I$(top_srcdir)/modules/store_cursus \
	$(GMIME_CFLAGS) $(TC_CFLAGS) $(ZLIB_CFLAGS)
FUZZ_STORE_LDADD = $(GMIME_LIBS) $(TC_LIBS) $(ZLIB_LIBS) $(GLIB_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_mime tests/fuzz/fuzz_storeindex
tests_fuzz_fuzz_mime_SOURCES = tests/fuzz/fuzz_mime.c tests/fuzz/driver.c \
	modules/store_cursus/mime.c modules/store_cursus/util.c
tests_fuzz_fuzz_mime_CFLAGS = $(FUZZ_STORE_CFLAGS)
tests_fuzz_fuzz_mime_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_mime_LDADD = $(FUZZ_STORE_LDADD)
tests_fuzz_fuzz_storeindex_SOURCES = tests/fuzz/fuzz_storeindex.c \
	tests/fuzz/driver.c modules/store_cursus/folder.c \
	modules/store_cursus/mime.c modules/store_cursus/util.c \
	modules/store_cursus/layout.c
tests_fuzz_fuzz_storeindex_CFLAGS = $(FUZZ_STORE_CFLAGS)
tests_fuzz_fuzz_storeindex_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_storeindex_LDADD = $(FUZZ_STORE_LDADD)

TESTS += tests/fuzz/run-corpus.sh
EXTRA_DIST += tests/fuzz/run-corpus.sh tests/fuzz/README.md tests/fuzz/corpus

.PHONY: fuzz
fuzz: $(check_PROGRAMS)
	@echo "fuzz harnesses built: $(FUZZ_TARGETS)"
