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
check_PROGRAMS += tests/fuzz/fuzz_optfile tests/fuzz/fuzz_imtacnf
FUZZ_TARGETS += addr rules mappings
check_PROGRAMS += tests/fuzz/fuzz_addr tests/fuzz/fuzz_rules tests/fuzz/fuzz_mappings
tests_fuzz_fuzz_optfile_SOURCES = tests/fuzz/fuzz_optfile.c tests/fuzz/driver.c
tests_fuzz_fuzz_optfile_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_optfile_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_optfile_LDADD = $(FUZZ_COMMON_LDADD)
tests_fuzz_fuzz_imtacnf_SOURCES = tests/fuzz/fuzz_imtacnf.c tests/fuzz/driver.c
tests_fuzz_fuzz_imtacnf_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_imtacnf_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_imtacnf_LDADD = $(FUZZ_COMMON_LDADD)

tests_fuzz_fuzz_addr_SOURCES = tests/fuzz/fuzz_addr.c tests/fuzz/driver.c
tests_fuzz_fuzz_addr_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_addr_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_addr_LDADD = $(FUZZ_COMMON_LDADD)
tests_fuzz_fuzz_rules_SOURCES = tests/fuzz/fuzz_rules.c tests/fuzz/driver.c
tests_fuzz_fuzz_rules_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_rules_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_rules_LDADD = $(FUZZ_COMMON_LDADD)
tests_fuzz_fuzz_mappings_SOURCES = tests/fuzz/fuzz_mappings.c tests/fuzz/driver.c
tests_fuzz_fuzz_mappings_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_mappings_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_mappings_LDADD = $(FUZZ_COMMON_LDADD)

TESTS += tests/fuzz/run-corpus.sh
EXTRA_DIST += tests/fuzz/run-corpus.sh tests/fuzz/README.md tests/fuzz/corpus

.PHONY: fuzz
fuzz: $(check_PROGRAMS)
	@echo "fuzz harnesses built: $(FUZZ_TARGETS)"
