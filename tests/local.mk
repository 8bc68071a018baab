## tests/local.mk - unit tests (Check), test modules and integration tests (pytest)

AM_TESTS_ENVIRONMENT = CURSUS_BUILDDIR='$(abs_top_builddir)'; \
	CURSUS_SRCDIR='$(abs_top_srcdir)'; export CURSUS_BUILDDIR CURSUS_SRCDIR;

# unit tests (Check)
UNIT_LDADD = libcursus-core.la $(CHECK_LIBS) $(GLIB_LIBS)
check_PROGRAMS += tests/unit/test_config tests/unit/test_loader
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_loader_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_config tests/unit/test_loader

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

# unit tests of the queue (Check)
check_PROGRAMS += tests/unit/test_queue
tests_unit_test_queue_SOURCES = tests/unit/test_queue.c
tests_unit_test_queue_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_queue_LDADD = $(UNIT_LDADD) $(ZLIB_LIBS)
TESTS += tests/unit/test_queue

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
# mapping functions and URLs for the rewrite tests
check_LTLIBRARIES += tests/modules/test_mapfn.la
tests_modules_test_mapfn_la_SOURCES = tests/modules/test_mapfn.c
tests_modules_test_mapfn_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_test_mapfn_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

check_LTLIBRARIES += tests/modules/test_lookup.la
tests_modules_test_lookup_la_SOURCES = tests/modules/test_lookup.c
tests_modules_test_lookup_la_CFLAGS = $(CURSUS_MOD_CFLAGS_ALL)
tests_modules_test_lookup_la_LDFLAGS = $(TEST_MOD_LDFLAGS)

# unit tests (Check) of addresses, mappings, rewriting and resolving
RW_UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(TC_CFLAGS)
RW_UNIT_LDADD = libcursus-core.la $(GLIB_LIBS) $(CHECK_LIBS) $(TC_LIBS)
check_PROGRAMS += tests/unit/test_addr tests/unit/test_mapping tests/unit/test_rewrite
TESTS += tests/unit/test_addr tests/unit/test_mapping tests/unit/test_rewrite
tests_unit_test_addr_SOURCES = tests/unit/test_addr.c tests/unit/rwtest.c tests/unit/rwtest.h
tests_unit_test_addr_CFLAGS = $(RW_UNIT_CFLAGS)
tests_unit_test_addr_LDADD = $(RW_UNIT_LDADD)
tests_unit_test_mapping_SOURCES = tests/unit/test_mapping.c tests/unit/rwtest.c tests/unit/rwtest.h
tests_unit_test_mapping_CFLAGS = $(RW_UNIT_CFLAGS)
tests_unit_test_mapping_LDADD = $(RW_UNIT_LDADD)
tests_unit_test_rewrite_SOURCES = tests/unit/test_rewrite.c tests/unit/rwtest.c tests/unit/rwtest.h
tests_unit_test_rewrite_CFLAGS = $(RW_UNIT_CFLAGS)
tests_unit_test_rewrite_LDADD = $(RW_UNIT_LDADD)
EXTRA_DIST += tests/data
# the access protocols' grammar and shared parts (IMAP, POP3, filters)
check_PROGRAMS += tests/unit/test_imap tests/unit/test_access
tests_unit_test_imap_SOURCES = tests/unit/test_imap.c $(PROTO_IMAP_SOURCES)
tests_unit_test_imap_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(GMIME_CFLAGS)
tests_unit_test_imap_LDADD = $(CHECK_LIBS) $(GLIB_LIBS) $(GMIME_LIBS)
tests_unit_test_access_SOURCES = tests/unit/test_access.c \
	modules/common/svcaccess.c modules/common/userlimit.c \
	modules/common/login.c modules/proto_pop3/pop3-parse.c
tests_unit_test_access_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_access_LDADD = $(CHECK_LIBS) $(GLIB_LIBS)
TESTS += tests/unit/test_imap tests/unit/test_access

# unit tests of the message store through the store ABI (Check)
check_PROGRAMS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_store_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_store

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
check_PROGRAMS += tests/unit/test_jobs
tests_unit_test_jobs_SOURCES = tests/unit/test_jobs.c
tests_unit_test_jobs_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(GMIME_CFLAGS)
tests_unit_test_jobs_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_jobs

# unit tests of the event-loop resolver and the block-list helpers (Check)
check_PROGRAMS += tests/unit/test_dns
tests_unit_test_dns_SOURCES = tests/unit/test_dns.c core/daemon/dnsbl.c
tests_unit_test_dns_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_dns_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_dns
