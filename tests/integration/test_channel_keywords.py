"""Every core channel keyword does what docs/channel-keywords.md says: it is
interpreted somewhere in the code (the table names the file and the text
that reads it), or it is marked, in `cursus config keywords` and in the
docs alike, as accepted for compatibility with no effect.  A keyword added
to the core list without either fails here."""
import os
import re

from cursus_harness import SRCDIR, run_cursus

COMPAT_NOTE = "(accepted for compatibility; no effect)"

# keyword -> (file below the source tree, text there that interprets it)
JOBS = "core/jobs/jpolicy.c"
SCHED = ("core/jobs/schedule.c", "g_strconcat(prefix_of(p), name")
NOTICE = "core/jobs/notice.c"
ENQ = "core/queue/enqueue.c"
QCONF = "core/queue/qconfig.c"
SMTPD = "modules/proto_smtp/smtp.c"
INTERPRETED = {
    "module": ("core/config/config.c", None),
    "master": ("core/config/config.c", None),
    "slave": ("core/config/config.c", None),
    "bidirectional": ("core/config/config.c", None),
    "immediate": (JOBS, None), "periodic": (JOBS, None),
    "immnonurgent": (JOBS, None), "immnormal": (JOBS, None),
    "immurgent": (JOBS, None),
    "urgentblocklimit": (JOBS, None), "normalblocklimit": (JOBS, None),
    "nonurgentblocklimit": (JOBS, None),
    "filesperjob": (JOBS, None), "addrsperjob": (JOBS, None),
    "after": (JOBS, None),
    "maxjobs": ("core/daemon/job_controller.c", None),
    "pool": ("core/daemon/job_controller.c", None),
    "threaddepth": ("core/daemon/job_controller.c", None),
    "addrsperfile": (ENQ, None), "single": (ENQ, None),
    "single_sys": (ENQ, None), "multiple": (ENQ, None),
    "holdlimit": (ENQ, None),
    "expandlimit": (ENQ, None), "expandchannel": (ENQ, None),
    "subdirs": (QCONF, None),
    "deferred": ("core/jobs/dequeue.c", None),
    "nodeferred": ("core/jobs/dequeue.c", None),
    "backoff": SCHED, "urgentbackoff": SCHED, "normalbackoff": SCHED,
    "nonurgentbackoff": SCHED, "notices": SCHED, "urgentnotices": SCHED,
    "normalnotices": SCHED, "nonurgentnotices": SCHED,
    "sendpost": (NOTICE, None), "copysendpost": (NOTICE, None),
    "errsendpost": (NOTICE, None), "nosendpost": (NOTICE, None),
    "warnpost": (NOTICE, None), "copywarnpost": (NOTICE, None),
    "errwarnpost": (NOTICE, None), "nowarnpost": (NOTICE, None),
    "postheadonly": (NOTICE, None), "postheadbody": (NOTICE, None),
    "includefinal": (NOTICE, None), "suppressfinal": (NOTICE, None),
    "useintermediate": (NOTICE, None),
    "blocklimit": (QCONF, None), "noblocklimit": (QCONF, None),
    "sourceblocklimit": (QCONF, None),
    "recipientlimit": (ENQ, None), "recipientcutoff": (ENQ, None),
    "disconnectbadauthlimit": (SMTPD, None),
    "disconnectbadcommandlimit": (SMTPD, None),
    "disconnectrejectlimit": (SMTPD, None),
    "disconnecttransactionlimit": (SMTPD, None),
    "disconnectrecipientlimit": (SMTPD, None),
    "transactionlimit": (SMTPD, None),
    "holdexquota": ("modules/channel_store/channel_store.c", None),
    "noexquota": ("modules/channel_store/channel_store.c", None),
    "bangoverpercent": ("core/rewrite/rewrite.c", None),
    "nobangoverpercent": ("core/rewrite/rewrite.c", None),
    "percentonly": ("core/rewrite/rewrite.c", None),
    "routelocal": ("core/rewrite/rewrite.c", None),
    "defaulthost": ("core/rewrite/rewrite.c", None),
    "aliaslocal": ("core/mta/resolve.c", None),
    "reverse": ("core/mta/resolve.c", None),
    "noreverse": ("core/mta/resolve.c", None),
    "rules": ("core/rewrite/rwtemplate.c", None),
    "norules": ("core/rewrite/rwtemplate.c", None),
    "switchchannel": ("core/queue/admit.c", None),
    "allowswitchchannel": ("core/queue/admit.c", None),
    "noswitchchannel": ("core/queue/admit.c", None),
    "saslswitchchannel": ("modules/proto_smtp/auth.c", None),
    "tlsswitchchannel": (SMTPD, None),
    "receivedfor": (SMTPD, None), "noreceivedfor": (SMTPD, None),
    "receivedfrom": (SMTPD, None), "noreceivedfrom": (SMTPD, None),
    "contentfilter": ("core/filter/fconf.c", None),
    "nocontentfilter": ("core/filter/fconf.c", None),
    "logging": (QCONF, None), "nologging": (QCONF, None),
    "master_debug": ("core/daemon/channel_job.c", None),
    "nomaster_debug": ("core/daemon/channel_job.c", None),
}


def core_keywords(tmp_path):
    p = run_cursus(str(tmp_path), "config", "keywords")
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stdout.splitlines():
        name, _, help_text = line.partition("\t")
        out[name.split()[0]] = help_text
    return out


def source(path):
    with open(os.path.join(SRCDIR, path)) as f:
        return f.read()


def test_every_core_keyword_is_interpreted_or_marked_compatible(tmp_path):
    kws = core_keywords(tmp_path)
    assert len(kws) > 140
    unaccounted = [k for k, h in kws.items()
                   if k not in INTERPRETED and COMPAT_NOTE not in h]
    assert not unaccounted, "neither interpreted nor marked: %s" % unaccounted
    both = [k for k, h in kws.items() if k in INTERPRETED and COMPAT_NOTE in h]
    assert not both, "interpreted but marked inert: %s" % both
    stale = [k for k in INTERPRETED if k not in kws]
    assert not stale, "table names keywords the core does not have: %s" % stale
    for kw, (path, text) in INTERPRETED.items():
        text = text or '"%s"' % kw
        assert text in source(path), "%s: %s does not read it" % (kw, path)


def test_docs_mark_the_same_keywords_inert(tmp_path):
    doc = source("docs/channel-keywords.md")
    for kw, help_text in core_keywords(tmp_path).items():
        row = re.search(r"^\| `%s(?: <[^>]*>)?(?:\.\.\.)?` \| (.*) \|$" % re.escape(kw),
                        doc, re.M)
        assert row, kw
        assert (COMPAT_NOTE in row.group(1)) == (COMPAT_NOTE in help_text), kw
