## core/local.mk - the core library and the cursus program

pkglib_LTLIBRARIES += libcursus-core.la
libcursus_core_la_SOURCES = \
	core/util/log.c core/util/log.h \
	core/util/ev.c core/util/ev.h \
	core/util/cache.c core/util/cache.h \
	core/util/diag.c core/util/diag.h \
	core/util/fsutil.c core/util/fsutil.h \
	core/util/proc.c core/util/proc.h \
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
	core/mta/expand.c core/mta/expand.h \
	core/mta/msglog.c core/mta/msglog.h \
	core/queue/qfile.c core/queue/qfile.h \
	core/queue/hdrscan.c core/queue/hdrscan.h \
	core/queue/queue.c core/queue/queue.h \
	core/queue/qwrite.c core/queue/qwrite.h \
	core/queue/qnotify.c core/queue/qnotify.h \
	core/queue/qconfig.c core/queue/qconfig.h \
	core/jobs/schedule.c core/jobs/schedule.h \
	core/jobs/jobproto.c core/jobs/jobproto.h \
	core/jobs/dsn.c core/jobs/dsn.h \
	core/jobs/notice.c core/jobs/notice.h \
	core/jobs/dequeue.c core/jobs/dequeue.h \
	core/jobs/qcache.c core/jobs/qcache.h \
	core/jobs/jobctl.c core/jobs/jobctl.h
libcursus_core_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) $(ZLIB_CFLAGS) $(GMIME_CFLAGS)
libcursus_core_la_LIBADD = $(GLIB_LIBS) $(GNUTLS_LIBS) $(ZLIB_LIBS) $(GMIME_LIBS) $(LIBS)
libcursus_core_la_LDFLAGS = $(AM_LDFLAGS) -avoid-version -no-undefined

sbin_PROGRAMS += cursus
cursus_SOURCES = \
	core/main/cursus.c core/main/commands.h \
	core/main/cmd_config.c \
	core/main/cmd_modules.c \
	core/main/cmd_control.c \
	core/daemon/daemon.c core/daemon/daemon.h \
	core/daemon/watcher.c \
	core/daemon/dispatcher.c \
	core/daemon/worker.c core/daemon/conn.c core/daemon/conn.h \
	core/daemon/handoff.c core/daemon/handoff.h \
	core/daemon/job_controller.c \
	core/daemon/channel_job.c \
	core/main/cmd_qm.c \
	core/daemon/stored.c
cursus_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
cursus_LDADD = libcursus-core.la $(GLIB_LIBS) $(GNUTLS_LIBS)
