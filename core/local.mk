## core/local.mk - the core library and the cursus program

pkglib_LTLIBRARIES += libcursus-core.la
libcursus_core_la_SOURCES = \
	core/util/log.c core/util/log.h \
	core/util/ev.c core/util/ev.h \
	core/util/cache.c core/util/cache.h \
	core/util/diag.c core/util/diag.h \
	core/util/fsutil.c core/util/fsutil.h \
	core/util/proc.c core/util/proc.h \
	core/util/dns.c core/util/dns.h \
	core/config/bundle.c core/config/bundle.h \
	core/config/srcfile.c core/config/srcfile.h \
	core/config/optfile.c core/config/optfile.h \
	core/config/keyword.c core/config/keyword.h \
	core/config/chankw.c \
	core/config/imtacnf.c core/config/imtacnf.h \
	core/config/conf.c core/config/conf.h \
	core/config/dispcnf.c core/config/dispcnf.h \
	core/config/jobccnf.c core/config/jobccnf.h \
	core/config/config.c core/config/config.h \
	core/module/loader.c core/module/loader.h \
	core/module/host.c core/module/host.h \
	core/module/hostdns.c core/module/hostdns.h \
	core/mta/expand.c core/mta/expand.h \
	core/mta/msglog.c core/mta/msglog.h \
	core/queue/qfile.c core/queue/qfile.h \
	core/queue/hdrscan.c core/queue/hdrscan.h \
	core/queue/queue.c core/queue/queue.h \
	core/queue/qwrite.c core/queue/qwrite.h \
	core/queue/qnotify.c core/queue/qnotify.h \
	core/queue/qconfig.c core/queue/qconfig.h \
	core/queue/admit.c core/queue/admit.h \
	core/queue/enqueue.c core/queue/enqueue.h \
	core/queue/hostq.c core/queue/hostq.h \
	core/filter/fconf.c core/filter/fconf.h \
	core/filter/fmsg.c core/filter/fmsg.h \
	core/filter/frun.c core/filter/frun.h \
	core/addr/addr.c core/addr/addr.h \
	core/addr/addrlist.c core/addr/addrlist.h \
	core/mapping/pattern.c core/mapping/pattern.h \
	core/mapping/tmplscan.c core/mapping/tmplscan.h \
	core/mapping/mtemplate.c core/mapping/mtemplate.h \
	core/mapping/source.c core/mapping/source.h \
	core/mapping/mapset.c core/mapping/mapset.h \
	core/mapping/image.c core/mapping/image.h \
	core/mapping/access.c core/mapping/access.h \
	core/mapping/kvdb.c core/mapping/kvdb.h \
	core/alias/aliasdb.c core/alias/aliasdb.h \
	core/alias/aliasexp.c core/alias/aliasexp.h \
	core/rewrite/rwtemplate.c core/rewrite/rwtemplate.h \
	core/rewrite/ruleset.c core/rewrite/rewrite.c core/rewrite/rewrite.h \
	core/mta/mtacfg.c core/mta/mtacfg.h \
	core/mta/resolve.c core/mta/resolve.h \
	core/mta/lookup_host.c core/mta/lookup_host.h \
	core/dir/dir.c core/dir/dir.h \
	core/dir/access.c core/dir/access.h \
	core/dir/address.c core/dir/address.h \
	core/dir/arstate.c core/dir/arstate.h \
	core/dir/autoreply.c core/dir/autoreply.h \
	core/dir/delivery.c core/dir/delivery.h \
	core/dir/domain.c core/dir/domain.h \
	core/dir/group.c core/dir/group.h \
	core/dir/provision.c core/dir/provision.h \
	core/dir/resolve.c core/dir/resolve.h \
	core/dir/status.c core/dir/status.h \
	core/dir/user.c core/dir/user.h \
	core/dir/values.c core/dir/values.h \
	core/auth/auth.c core/auth/auth.h \
	core/auth/passwd.c core/auth/passwd.h \
	core/auth/sasl.c core/auth/sasl.h \
	core/auth/service.c core/auth/service.h \
	core/auth/throttle.c core/auth/throttle.h \
	core/jobs/schedule.c core/jobs/schedule.h \
	core/jobs/jobproto.c core/jobs/jobproto.h \
	core/jobs/dsn.c core/jobs/dsn.h \
	core/jobs/notice.c core/jobs/notice.h \
	core/jobs/dequeue.c core/jobs/dequeue.h \
	core/jobs/qcache.c core/jobs/qcache.h \
	core/jobs/jpolicy.c core/jobs/jpolicy.h \
	core/jobs/hdrfield.c core/jobs/hdrfield.h \
	core/jobs/qcounters.c core/jobs/qcounters.h \
	core/jobs/jobctl.c core/jobs/jobctl.h \
	core/store/store.c core/store/store.h \
	core/store/account.c core/store/account.h \
	core/store/warning.c core/store/warning.h \
	core/store/quotawarn.c core/store/quotawarn.h \
	core/store/expire.c core/store/expire.h
libcursus_core_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) $(ZLIB_CFLAGS) $(TC_CFLAGS) $(IDN2_CFLAGS) \
	$(GMIME_CFLAGS) $(GSASL_CFLAGS) $(ARGON2_CFLAGS)
libcursus_core_la_LIBADD = $(GLIB_LIBS) $(GNUTLS_LIBS) $(ZLIB_LIBS) $(TC_LIBS) $(IDN2_LIBS) \
	$(GMIME_LIBS) $(GSASL_LIBS) $(ARGON2_LIBS) $(LIBS)
libcursus_core_la_LDFLAGS = $(AM_LDFLAGS) -avoid-version -no-undefined
libcursus_core_la_CFLAGS += $(CARES_CFLAGS)
libcursus_core_la_LIBADD += $(CARES_LIBS)

sbin_PROGRAMS += cursus
cursus_SOURCES = \
	core/main/cursus.c core/main/commands.h \
	core/main/cmd_config.c \
	core/main/cmd_modules.c \
	core/main/cmd_control.c \
	core/main/cmd_rewrite.c \
	core/main/cmd_cnbuild.c \
	core/main/cmd_directory.c \
	core/main/cmd_store.c core/main/storetool.h \
	core/main/cmd_quota.c \
	core/daemon/daemon.c core/daemon/daemon.h \
	core/daemon/watcher.c \
	core/daemon/dispatcher.c \
	core/daemon/dnsbl.c core/daemon/dnsbl.h \
	core/daemon/worker.c core/daemon/conn.c core/daemon/conn.h \
	core/daemon/handoff.c core/daemon/handoff.h \
	core/daemon/job_controller.c \
	core/daemon/channel_job.c \
	core/main/cmd_qm.c core/main/qm.h core/main/qm_tools.c \
	core/daemon/stored.c
cursus_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) $(ZLIB_CFLAGS)
cursus_LDADD = libcursus-core.la $(GLIB_LIBS) $(GNUTLS_LIBS) $(ZLIB_LIBS)
