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
FUZZ_TARGETS += smtpcmd
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

FUZZ_TARGETS += imap pop3
check_PROGRAMS += tests/fuzz/fuzz_imap tests/fuzz/fuzz_pop3
tests_fuzz_fuzz_imap_SOURCES = tests/fuzz/fuzz_imap.c tests/fuzz/driver.c \
	$(PROTO_IMAP_SOURCES)
tests_fuzz_fuzz_imap_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_imap_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_imap_LDADD = $(GLIB_LIBS) $(GMIME_LIBS)
tests_fuzz_fuzz_pop3_SOURCES = tests/fuzz/fuzz_pop3.c tests/fuzz/driver.c \
	modules/proto_pop3/pop3-parse.c modules/common/login.c \
	modules/common/svcaccess.c modules/common/userlimit.c
tests_fuzz_fuzz_pop3_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_pop3_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_pop3_LDADD = $(GLIB_LIBS)

check_PROGRAMS += tests/fuzz/fuzz_smtpcmd
tests_fuzz_fuzz_smtpcmd_SOURCES = tests/fuzz/fuzz_smtpcmd.c tests/fuzz/driver.c \
	modules/proto_smtp/smtp_parse.c
tests_fuzz_fuzz_smtpcmd_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_smtpcmd_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_smtpcmd_LDADD = $(GLIB_LIBS)

check_PROGRAMS += tests/fuzz/fuzz_qfile
tests_fuzz_fuzz_qfile_SOURCES = tests/fuzz/fuzz_qfile.c tests/fuzz/driver.c
tests_fuzz_fuzz_qfile_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_qfile_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_qfile_LDADD = $(FUZZ_COMMON_LDADD)
FUZZ_TARGETS += ldif ldapfilter diraddress
check_PROGRAMS += tests/fuzz/fuzz_ldif tests/fuzz/fuzz_ldapfilter tests/fuzz/fuzz_diraddress
FUZZ_LDIF_SOURCES = modules/dir_ldif/ldif.c modules/dir_ldif/ldifdb.c \
	modules/dir_ldif/filter.c modules/direntry/direntry.c
FUZZ_LDIF_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/modules \
	-I$(top_srcdir)/modules/dir_ldif
# the core files under test are compiled into the harness too, so libFuzzer
# sees their coverage (the copies in libcursus-core are not instrumented)
FUZZ_DIR_CORE = core/dir/address.c core/dir/values.c core/dir/status.c
tests_fuzz_fuzz_ldif_SOURCES = tests/fuzz/fuzz_ldif.c tests/fuzz/driver.c \
	$(FUZZ_LDIF_SOURCES) $(FUZZ_DIR_CORE)
tests_fuzz_fuzz_ldif_CPPFLAGS = $(FUZZ_LDIF_CPPFLAGS)
tests_fuzz_fuzz_ldif_CFLAGS = $(AM_CFLAGS) $(LDAP_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_ldif_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_ldif_LDADD = $(FUZZ_COMMON_LDADD) $(LDAP_LIBS)
tests_fuzz_fuzz_ldapfilter_SOURCES = tests/fuzz/fuzz_ldapfilter.c tests/fuzz/driver.c \
	modules/dir_ldif/filter.c modules/direntry/direntry.c
tests_fuzz_fuzz_ldapfilter_CPPFLAGS = $(FUZZ_LDIF_CPPFLAGS)
tests_fuzz_fuzz_ldapfilter_CFLAGS = $(AM_CFLAGS) $(LDAP_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_ldapfilter_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_ldapfilter_LDADD = $(GLIB_LIBS) $(LDAP_LIBS)
tests_fuzz_fuzz_diraddress_SOURCES = tests/fuzz/fuzz_diraddress.c tests/fuzz/driver.c \
	core/dir/address.c core/dir/delivery.c core/auth/service.c \
	core/auth/passwd.c
tests_fuzz_fuzz_diraddress_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) $(GSASL_CFLAGS) \
	$(ARGON2_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_diraddress_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_diraddress_LDADD = $(FUZZ_COMMON_LDADD) $(GNUTLS_LIBS) $(GSASL_LIBS) \
	$(ARGON2_LIBS)

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

FUZZ_TARGETS += milter
check_PROGRAMS += tests/fuzz/fuzz_milter
tests_fuzz_fuzz_milter_SOURCES = tests/fuzz/fuzz_milter.c tests/fuzz/driver.c \
	modules/filter_milter/mproto.c
tests_fuzz_fuzz_milter_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS) $(GLIB_CFLAGS)
tests_fuzz_fuzz_milter_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_milter_LDADD = $(GLIB_LIBS)

FUZZ_TARGETS += dnsanswer
check_PROGRAMS += tests/fuzz/fuzz_dnsanswer
tests_fuzz_fuzz_dnsanswer_SOURCES = tests/fuzz/fuzz_dnsanswer.c tests/fuzz/driver.c
tests_fuzz_fuzz_dnsanswer_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS) $(CARES_CFLAGS)
tests_fuzz_fuzz_dnsanswer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_dnsanswer_LDADD = $(FUZZ_COMMON_LDADD)

FUZZ_TARGETS += dotscan
check_PROGRAMS += tests/fuzz/fuzz_dotscan
tests_fuzz_fuzz_dotscan_SOURCES = tests/fuzz/fuzz_dotscan.c tests/fuzz/driver.c \
	modules/proto_smtp/dotscan.c
tests_fuzz_fuzz_dotscan_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_dotscan_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_dotscan_LDADD = $(GLIB_LIBS)
