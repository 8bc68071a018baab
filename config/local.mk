## config/local.mk - the default configuration, installed to SYSCONFDIR/cursus


# the LDAP schema of users, groups and domains (for slapd), and the demo
# directory of the embedded default
cursusldapdir = $(datadir)/cursus/ldap
dist_cursusldap_DATA = config/ldap/cursus.schema config/ldap/cursus.ldif
EXTRA_DIST += config/directory.ldif
