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

TESTS += tests/fuzz/run-corpus.sh
EXTRA_DIST += tests/fuzz/run-corpus.sh tests/fuzz/README.md tests/fuzz/corpus

.PHONY: fuzz
fuzz: $(check_PROGRAMS)
	@echo "fuzz harnesses built: $(FUZZ_TARGETS)"

FUZZ_TARGETS += jobproto smtpreply
check_PROGRAMS += tests/fuzz/fuzz_jobproto tests/fuzz/fuzz_smtpreply
tests_fuzz_fuzz_jobproto_SOURCES = tests/fuzz/fuzz_jobproto.c tests/fuzz/driver.c
tests_fuzz_fuzz_jobproto_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_jobproto_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_jobproto_LDADD = $(FUZZ_COMMON_LDADD)
tests_fuzz_fuzz_smtpreply_SOURCES = tests/fuzz/fuzz_smtpreply.c tests/fuzz/driver.c \
	modules/channel_smtp/client.c
tests_fuzz_fuzz_smtpreply_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS) $(GNUTLS_CFLAGS)
tests_fuzz_fuzz_smtpreply_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_smtpreply_LDADD = $(GLIB_LIBS) $(GNUTLS_LIBS)
