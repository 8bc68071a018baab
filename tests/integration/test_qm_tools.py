"""`cursus qm history`, `clean`, `top` and `counters` (kept across
restarts, `counters clear`) against a running server with a real SMTP
peer (Postfix's smtp-sink)."""
import gzip
import os
import re

from peers import SmtpSink
from test_outbound import conf, imta, inject, mail_log, peers, queued  # noqa: F401 (fixture)
from test_outbound_scheduling import deferring_server

NO_JOBS = "[POOL=DEFAULT]\nJOB_LIMIT=0\n"


def qm(srv, *args):
    p = srv.cursus("qm", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_history_follows_each_attempt_until_delivery(cursus, peers):
    srv, sink = deferring_server(cursus, peers)
    qid = inject(srv, "tcp_local", "alice@example.org", "bob@example.com").split("/")[-1]
    assert srv.wait_until(lambda: mail_log(srv).count(" Q ") == 1, timeout=10)
    qm(srv, "retry", "tcp_local")
    assert srv.wait_until(lambda: mail_log(srv).count(" Q ") == 2, timeout=10)
    out = qm(srv, "history", qid)
    assert "Queue file:  tcp_local/%s (queued, 2 attempt(s))" % qid in out, out
    assert "<bob@example.com> pending, 2 result(s) recorded; last" in out
    assert len(re.findall(r"(?m)^  .* Q .*%s" % qid, out)) == 2, out
    # delivered: the file is gone, the log still tells
    sink.restart()
    qm(srv, "retry", "tcp_local")
    assert srv.wait_until(lambda: not queued(srv), timeout=10)
    out = qm(srv, "history", qid)
    assert "Queue file:  none" in out
    assert re.search(r"(?m)^  .* D\S* .*%s" % qid, out), out
    p = srv.cursus("qm", "history", "0000000000000000XX.01")
    assert p.returncode == 1 and "nothing known" in p.stderr
    # rotated away (and compressed, as logrotate does): still told
    srv.stop()
    log = os.path.join(srv.state, "log", "mail.log")
    with open(log, "rb") as f, gzip.open(log + ".1.gz", "wb") as z:
        z.write(f.read())
    os.unlink(log)
    out = qm(srv, "history", qid)
    assert "Message log (%s.1.gz)" % log in out, out
    assert re.search(r"(?m)^  .* D\S* .*%s" % qid, out), out


def test_clean_holds_and_deletes_by_substring(cursus):
    srv = cursus(conf_extra=conf(), imta=imta("tcp_local smtp\ntcp-daemon"), jobc=NO_JOBS)
    srv.start()
    spam = "Subject: Cheap PILLS today\n\nbuy viagra now\n"
    inject(srv, "tcp_local", "spam@bad.example", "bob@example.com", body=spam, count=3)
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com",
           body="Subject: lunch\n\nsee you at noon\n")
    inject(srv, "tcp_local", "alice@example.org", "carol@example.com",
           body="Subject: pills?\n\nthe doctor says VIAGRA is fine\n")
    # without -hold or -delete it only lists
    out = qm(srv, "clean", "-subject", "cheap pills")
    assert "3 message(s) match" in out and out.count("spam@bad.example") == 3
    assert not [l for l in queued(srv) if " held" in l]
    # every criterion must hold, unless -match ANY
    assert "1 message(s) match" in qm(srv, "clean", "-content", "viagra",
                                      "-from", "alice@")
    assert "4 message(s) match" in qm(srv, "clean", "-content", "viagra",
                                      "-to", "carol@", "-match", "ANY")
    qm(srv, "clean", "-from", "SPAM@bad", "-hold", "tcp_local")
    assert len([l for l in queued(srv) if l.rstrip().endswith("held")]) == 3
    # the held spam and the doctor's note go; lunch stays
    assert "4 message(s) match" in qm(srv, "clean", "-content", "viagra", "-delete")
    assert len(queued(srv)) == 1
    p = srv.cursus("qm", "clean", "-hold")
    assert p.returncode == 2 and "at least one" in p.stderr


def test_top_shows_the_flood_first(cursus):
    srv = cursus(conf_extra=conf(), imta=imta("tcp_local smtp\ntcp-daemon"), jobc=NO_JOBS)
    srv.start()
    inject(srv, "tcp_local", "flood@bad.example", "victim@example.com",
           body="Subject: WIN NOW\n\nx\n", count=4)
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com",
           body="Subject: hello\n\nx\n")
    out = qm(srv, "top", "-top", "1")
    senders = out.split("Recipients:")[0]
    assert re.search(r"(?m)^\s+4  flood@bad.example$", senders), out
    assert "alice@example.org" not in senders
    assert re.search(r"(?m)^\s+4  victim@example.com$", out)
    assert re.search(r"(?m)^\s+4  WIN NOW$", out)
    assert "Senders" not in qm(srv, "top", "-subject")


def counter(srv, column):
    """COLUMN (DONE ...) of the tcp_local line of qm counters."""
    out = qm(srv, "counters").splitlines()
    head = out[0].split()
    for line in out[1:]:
        f = line.split()
        if f and f[0] == "tcp_local":
            return int(f[head.index(column)])
    return None


def test_counters_survive_a_restart_until_cleared(cursus, peers):
    sink = peers(SmtpSink)
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_local smtp daemon 127.0.0.1 port %d notls\ntcp-daemon" % sink.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", count=3)
    assert srv.wait_until(lambda: counter(srv, "DONE") == 3, timeout=15)
    srv.stop()
    srv.start()
    assert counter(srv, "DONE") == 3 and counter(srv, "ENQUEUED") == 3
    assert "1 channel counter(s) cleared" in qm(srv, "counters", "clear", "tcp_local")
    assert counter(srv, "DONE") == 0
    srv.stop()
    srv.start()
    assert counter(srv, "DONE") in (0, None)
    # cleared while stopped: the saved file
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com")
    assert srv.wait_until(lambda: counter(srv, "DONE") == 1, timeout=15)
    srv.stop()
    assert "cleared (job controller not running)" in qm(srv, "counters", "clear")
    srv.start()
    assert counter(srv, "DONE") in (0, None)


def test_a_damaged_queue_file_is_set_aside_once(cursus):
    srv = cursus(conf_extra=conf(), imta=imta("tcp_local smtp\ntcp-daemon"), jobc=NO_JOBS)
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", count=2)
    srv.stop()
    qdir = os.path.join(srv.state, "queue")
    files = sorted(os.path.join(r, n) for r, d, ns in os.walk(qdir)
                   for n in ns if "/." not in r[len(qdir):] and not n.startswith("."))
    assert len(files) == 2, files
    bad, good = files
    # the envelope, at the end of the file, is lost (as when a power
    # failure leaves blocks unwritten)
    size = os.path.getsize(bad)
    with open(bad, "r+b") as f:
        f.seek(size - 40)
        f.write(b"\0" * 40)
    srv.start()
    aside = os.path.join(qdir, ".damaged")
    assert srv.wait_until(lambda: os.path.isdir(aside) and os.listdir(aside)), srv.log()
    assert not os.path.exists(bad) and os.path.exists(good)
    [moved] = os.listdir(aside)
    assert moved.endswith(os.path.basename(bad))
    assert len(queued(srv)) == 1
    # the scan of the next start does not report it again
    srv.stop()
    srv.start()
    assert len(queued(srv)) == 1
    assert srv.log().count("set aside as") == 1
