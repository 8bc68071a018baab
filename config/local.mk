## config/local.mk - the default configuration, installed to SYSCONFDIR/cursus
##
## `make install` never overwrites a file an admin may have edited: an
## existing file is left alone and the new default goes beside it as
## FILE.default; `make uninstall` removes only files still unmodified.

cursusconfdir = $(sysconfdir)/cursus
CONFIG_FILES = \
	config/imta.cnf \
	config/dispatcher.cnf \
	config/job_controller.cnf \
	config/mappings \
	config/aliases \
	config/directory.ldif
CONFIG_GENERATED = config/cursus.conf
EXTRA_DIST += $(CONFIG_FILES) config/cursus.conf.in
CLEANFILES += $(CONFIG_GENERATED)

config/cursus.conf: $(srcdir)/config/cursus.conf.in Makefile
	@$(MKDIR_P) config
	$(AM_V_GEN)sed -e 's|@EXPANDED_LOCALSTATEDIR[@]|$(EXPANDED_LOCALSTATEDIR)|g' \
	    -e 's|@EXPANDED_MODULEDIR[@]|$(EXPANDED_MODULEDIR)|g' \
	    $(srcdir)/config/cursus.conf.in > $@

all-local: $(CONFIG_GENERATED)

install-data-local: $(CONFIG_GENERATED)
	$(MKDIR_P) '$(DESTDIR)$(cursusconfdir)'
	@for f in $(CONFIG_GENERATED) $(CONFIG_FILES); do \
	  if test -f "$$f"; then src="$$f"; else src="$(srcdir)/$$f"; fi; \
	  base=`basename $$f`; dst='$(DESTDIR)$(cursusconfdir)'/$$base; \
	  if test -f "$$dst"; then \
	    echo "keeping $$dst; new default in $$dst.default"; \
	    $(INSTALL_DATA) "$$src" "$$dst.default"; \
	  else \
	    $(INSTALL_DATA) "$$src" "$$dst"; \
	  fi; \
	done

# uninstall removes a configuration file only when it is still the default
uninstall-local:
	@for f in $(CONFIG_GENERATED) $(CONFIG_FILES); do \
	  if test -f "$$f"; then src="$$f"; else src="$(srcdir)/$$f"; fi; \
	  base=`basename $$f`; dst='$(DESTDIR)$(cursusconfdir)'/$$base; \
	  rm -f "$$dst.default"; \
	  if cmp -s "$$src" "$$dst"; then rm -f "$$dst"; \
	  elif test -f "$$dst"; then echo "keeping modified $$dst"; fi; \
	done
	-rmdir '$(DESTDIR)$(cursusconfdir)' 2>/dev/null

# the LDAP schema of users, groups and domains (for slapd), and the demo
# directory of the embedded default
cursusldapdir = $(datadir)/cursus/ldap
dist_cursusldap_DATA = config/ldap/cursus.schema config/ldap/cursus.ldif
