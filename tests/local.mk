## tests/local.mk - unit tests (Check), test modules and integration tests (pytest)

# modules used by the tests; built as real .so files, never installed
TEST_MOD_LDFLAGS = $(CURSUS_MOD_LDFLAGS_ALL) -rpath /nowhere

check_LTLIBRARIES += tests/modules/test_echo.la
tests_modules_test_echo_la_SOURCES = tests/modules/test_echo.c
tests_modules_test_echo_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_test_echo_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/test_channel.la
tests_modules_test_channel_la_SOURCES = tests/modules/test_channel.c
tests_modules_test_channel_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_test_channel_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/bad_major.la
tests_modules_bad_bad_major_la_SOURCES = tests/modules/bad/bad_major.c
tests_modules_bad_bad_major_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_bad_major_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/bad_minor.la
tests_modules_bad_bad_minor_la_SOURCES = tests/modules/bad/bad_minor.c
tests_modules_bad_bad_minor_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_bad_minor_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/bad_nodesc.la
tests_modules_bad_bad_nodesc_la_SOURCES = tests/modules/bad/bad_nodesc.c
tests_modules_bad_bad_nodesc_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_bad_nodesc_la_LDFLAGS = $(CURSUS_LDFLAGS) -module -avoid-version -no-undefined -shared -rpath /nowhere

check_LTLIBRARIES += tests/modules/bad/bad_truncated.la
tests_modules_bad_bad_truncated_la_SOURCES = tests/modules/bad/bad_truncated.c
tests_modules_bad_bad_truncated_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_bad_truncated_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/bad_kind.la
tests_modules_bad_bad_kind_la_SOURCES = tests/modules/bad/bad_kind.c
tests_modules_bad_bad_kind_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_bad_kind_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/bad_magic.la
tests_modules_bad_bad_magic_la_SOURCES = tests/modules/bad/bad_magic.c
tests_modules_bad_bad_magic_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_bad_magic_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/dup_a.la
tests_modules_bad_dup_a_la_SOURCES = tests/modules/bad/dup_a.c
tests_modules_bad_dup_a_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_dup_a_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/dup_b.la
tests_modules_bad_dup_b_la_SOURCES = tests/modules/bad/dup_b.c
tests_modules_bad_dup_b_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_dup_b_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/bad_requires.la
tests_modules_bad_bad_requires_la_SOURCES = tests/modules/bad/bad_requires.c
tests_modules_bad_bad_requires_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_bad_requires_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/bad/bad_init.la
tests_modules_bad_bad_init_la_SOURCES = tests/modules/bad/bad_init.c
tests_modules_bad_bad_init_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_bad_bad_init_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

# integration tests: real daemons on loopback, driven by pytest
TESTS += tests/run-pytest.sh
EXTRA_DIST += tests/run-pytest.sh tests/integration

check_LTLIBRARIES += tests/modules/test_auth.la
tests_modules_test_auth_la_SOURCES = tests/modules/test_auth.c
tests_modules_test_auth_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_test_auth_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/test_dirproto.la
tests_modules_test_dirproto_la_SOURCES = tests/modules/test_dirproto.c
tests_modules_test_dirproto_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL) $(GLIB_CFLAGS)
tests_modules_test_dirproto_la_LDFLAGS = $(TEST_MOD_LDFLAGS)
tests_modules_test_dirproto_la_LIBADD = $(GLIB_LIBS)

# unit tests (Check) of the directory and authentication services
check_PROGRAMS += tests/unit/check_dir tests/unit/check_ldif
tests_unit_check_dir_SOURCES = tests/unit/check_dir.c
tests_unit_check_dir_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(GMIME_CFLAGS)
tests_unit_check_dir_LDADD = libcursus-core.la $(CHECK_LIBS) $(GLIB_LIBS) $(GMIME_LIBS)
tests_unit_check_ldif_SOURCES = tests/unit/check_ldif.c \
	modules/dir_ldif/ldif.c modules/dir_ldif/filter.c \
	modules/direntry/direntry.c
tests_unit_check_ldif_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules \
	-I$(top_srcdir)/modules/dir_ldif
tests_unit_check_ldif_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LDAP_CFLAGS)
tests_unit_check_ldif_LDADD = $(CHECK_LIBS) $(GLIB_LIBS) $(LDAP_LIBS)
TESTS += tests/unit/check_dir tests/unit/check_ldif
