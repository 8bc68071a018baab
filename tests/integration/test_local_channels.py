"""The local master channels run by the job controller: bitbucket, file
(mbox with locks), pipe (programs the administrator registered), reprocess
and hold (resolution again) -- and the SDK's example channel, built out of
tree, run like the built-in ones."""
import os
import re
import stat
import subprocess
import textwrap
import time

import pytest

from peers import SmtpSink
from test_outbound import conf, imta, inject, mail_log, queued, wait_empty
from test_sdk import build_example, sdk  # noqa: F401 (fixture)

BODY = "From: alice@example.org\nSubject: local\n\nFrom the start\n>From quoted\nend\n"


def test_bitbucket_discards(cursus):
    srv = cursus(conf_extra=conf(), imta=imta("bitbucket logging\nbitbucket-daemon"))
    srv.start()
    inject(srv, "bitbucket", "alice@example.org", "gone@example.com", count=3)
    wait_empty(srv)
    assert len(re.findall(r" D \d.*discarded", mail_log(srv))) == 3


def test_file_channel_appends_mbox_under_locks(cursus, tmp_path):
    spool = tmp_path / "mail"
    spool.mkdir()
    srv = cursus(conf_extra=conf(extra="[module channel_file]\nlock_timeout = 1\n"),
                 imta=imta('native spool %s logging backoff "pt1s"\nnative-daemon' % spool))
    srv.start()
    inject(srv, "native", "alice@example.org", "bob@localhost", body=BODY)
    inject(srv, "native", "", "bob@localhost", body=BODY)
    wait_empty(srv)
    box = (spool / "bob").read_text()
    assert stat.S_IMODE(os.stat(spool / "bob").st_mode) == 0o600
    messages = re.split(r"(?m)^From (?=\S+ \w{3} \w{3} )", box)[1:]
    assert len(messages) == 2, box
    assert messages[0].startswith("alice@example.org ")
    assert messages[1].startswith("MAILER-DAEMON ")
    assert "Return-Path: <alice@example.org>\nDelivered-To: bob@localhost\n" in box
    assert "\n>From the start\n>>From quoted\n" in box  # mboxrd quoting
    assert "\r" not in box and box.endswith("end\n\n")
    # another program holds the mailbox's dot-lock: delivery waits
    lock = spool / "carol.lock"
    lock.write_text("")
    inject(srv, "native", "alice@example.org", "carol@localhost", body=BODY)
    assert srv.wait_until(lambda: "mail/carol: File exists" in mail_log(srv), timeout=10)
    assert not (spool / "carol").exists() or (spool / "carol").read_text() == ""
    lock.unlink()
    wait_empty(srv, timeout=15)
    assert "Delivered-To: carol@localhost" in (spool / "carol").read_text()
    # a local part that cannot name a file fails
    inject(srv, "native", "", "../etc@localhost", body=BODY)
    wait_empty(srv)
    assert re.search(r" R \d.*names no mailbox", mail_log(srv))


PROGRAM = """#!/bin/sh
out="$1"
env | sort > "$out.env"
cat > "$out.msg"
case "$2" in
  fail) echo "mailbox over quota" >&2; exit 67 ;;
  later) echo "try later" >&2; exit 75 ;;
esac
exit 0
"""


def test_pipe_runs_registered_programs_with_a_clean_environment(cursus, tmp_path):
    prog = tmp_path / "deliver.sh"
    prog.write_text(PROGRAM)
    prog.chmod(0o755)
    out = tmp_path / "out"
    srv = cursus(conf_extra=conf(), imta=imta('pipe logging backoff "pt1h"\npipe-daemon'),
                 files={"pipe.programs": textwrap.dedent("""\
                     ! METHOD  PROGRAM  ARGUMENTS
                     store   %s %s/$U ok
                     broken  %s %s/broken fail
                     busy    %s %s/busy later
                     """ % (prog, out, prog, out, prog, out))})
    out.mkdir()
    srv.start()
    inject(srv, "pipe", "alice@example.org", "store+bob@pipe-daemon", body=BODY)
    inject(srv, "pipe", "alice@example.org", "broken@pipe-daemon",
           "nosuch@pipe-daemon", body=BODY)
    inject(srv, "pipe", "alice@example.org", "busy@pipe-daemon", body=BODY)
    assert srv.wait_until(lambda: len(queued(srv)) == 1 and "retry in" in queued(srv)[0],
                          timeout=15), queued(srv)
    msg = (out / "bob.msg").read_text()
    assert msg.startswith("Return-Path: <alice@example.org>\nFrom: alice@example.org\n")
    assert "\r" not in msg
    env = dict(l.split("=", 1) for l in (out / "bob.env").read_text().splitlines())
    assert env["SENDER"] == "alice@example.org"
    assert env["RECIPIENT"] == "store+bob@pipe-daemon"
    assert env["USER"] == "bob"
    assert env["PATH"] == "/usr/bin:/bin"
    assert "CURSUS_MODULE_PATH" not in env and "HOME" in env
    log = mail_log(srv)
    assert re.search(r" R \d.*broken@pipe-daemon.*exited with status 67: mailbox over quota", log), log
    assert re.search(r" R \d.*nosuch@pipe-daemon.*no program is registered", log), log
    assert re.search(r" Q \d.*busy@pipe-daemon.*try later", log), log


def test_pipe_refuses_a_table_others_may_write(cursus, tmp_path):
    srv = cursus(conf_extra=conf(), imta=imta('pipe backoff "pt1h"\npipe-daemon'),
                 files={"pipe.programs": "store /bin/true\n"})
    os.chmod(os.path.join(srv.config, "pipe.programs"), 0o666)
    srv.start()
    inject(srv, "pipe", "alice@example.org", "store@pipe-daemon", body=BODY)
    assert srv.wait_until(lambda: "writable by group or others: refused" in srv.log(), timeout=10)
    assert srv.wait_until(lambda: queued(srv) and "retry in" in queued(srv)[0], timeout=10)


def test_reprocess_and_hold_resolve_again(cursus, tmp_path):
    sink = SmtpSink(tmp_path)
    try:
        rules = "held.test  $U%$D@hold-daemon\n.  $U%$H@tcp-daemon"
        channels = ("tcp_local smtp daemon 127.0.0.1 port %d notls logging\ntcp-daemon" % sink.port,
                    "reprocess logging\nreprocess-daemon",
                    'hold logging backoff "pt1s"\nhold-daemon')
        srv = cursus(conf_extra=conf(), imta=imta(*channels, rules=rules))
        srv.start()
        # reprocess: requeued to where the address routes now
        inject(srv, "reprocess", "alice@example.org", "bob@example.com", body=BODY)
        assert srv.wait_until(lambda: len(sink.messages()) == 1, timeout=15)
        assert re.search(r" D \d.*bob@example.com.*requeued as", mail_log(srv))
        # hold: stays while the address routes to the hold channel ...
        inject(srv, "hold", "alice@example.org", "carol@held.test", body=BODY)
        assert srv.wait_until(lambda: queued(srv) and re.search(r"\s[2-9] normal", queued(srv)[0]),
                              timeout=15), queued(srv)
        assert re.search(r" Q \d.*carol@held.test.*held for the recipient", mail_log(srv))
        # ... and moves on once the administrator routes it elsewhere
        srv.write("imta.cnf", imta(*channels, rules=".  $U%$H@tcp-daemon"))
        assert srv.cursus("refresh").returncode == 0
        assert srv.wait_until(lambda: len(sink.messages()) == 2, timeout=20), srv.log()
        wait_empty(srv)
    finally:
        sink.stop()


def test_reprocess_resolves_once_in_the_reprocess_context(cursus, tmp_path):
    # a rule that applies only while reprocessing: only a resolution made in
    # the reprocess context sends special.test to the sink; any other goes
    # to the bitbucket
    sink = SmtpSink(tmp_path)
    try:
        rules = ("special.test  $U%$H@tcp-daemon$1M\n"
                 "special.test  $U%$H@bitbucket-daemon\n"
                 ".  $U%$H@tcp-daemon")
        srv = cursus(conf_extra=conf(), imta=imta(
            "tcp_local smtp daemon 127.0.0.1 port %d notls logging\ntcp-daemon" % sink.port,
            "reprocess logging\nreprocess-daemon",
            "bitbucket logging\nbitbucket-daemon", rules=rules))
        srv.start()
        inject(srv, "reprocess", "alice@example.org", "x@special.test",
               "@reprocess-daemon:y@special.test", body=BODY)
        assert srv.wait_until(lambda: len(sink.messages()) == 1, timeout=15), srv.log()
        wait_empty(srv)
        log = mail_log(srv)
        assert not re.search(r" bitbucket D", log), log
        # one copy, both recipients, the route of this channel gone
        assert b"x@special.test" in sink.messages()[0]
        assert b"y@special.test" in sink.messages()[0]
    finally:
        sink.stop()


def test_sdk_example_channel_runs_under_the_job_controller(sdk, tmp_path, cursus):
    work = build_example(sdk, tmp_path)
    drop = tmp_path / "drop"
    srv = cursus(conf_extra=conf(), module_path_extra=(str(work),),
                 imta=imta("drop dropdir %s logging\ndrop-daemon" % drop))
    srv.start()
    qid = inject(srv, "drop", "alice@example.org", "bob@example.com",
                 "carol@example.com", body=BODY).split("/")[-1]
    wait_empty(srv)
    for rcpt in ("bob@example.com", "carol@example.com"):
        data = (drop / rcpt / (qid + ".eml")).read_bytes()
        assert data.startswith(b"From: alice@example.org\r\n")
    assert "module channel_drop" in srv.log()
    assert len(re.findall(r" D \d.*dropped", mail_log(srv))) == 2
