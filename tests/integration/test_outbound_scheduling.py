"""When the job controller first tries a message: the priority of the
message (Priority:/Importance: fields of mail received over SMTP), the
channel's immediacy (`immediate`/`periodic`, `immurgent` ...), the size
drops (`urgentblocklimit` ...), `after`, `deferred` with Deferred-delivery:,
and `filesperjob`/`addrsperjob` starting more jobs.  Real SMTP in (the
dispatcher's SMTP server), real SMTP out to Postfix's smtp-sink."""
import email.utils
import re
import smtplib
import time

import pytest

from peers import SmtpSink
from test_outbound import conf, imta, inject, mail_log, peers, queued, wait_empty  # noqa: F401 (fixture)


def sink_and_server(cursus, peers, keywords, jobc=""):
    sink = peers(SmtpSink)
    # mail comes in on a slave channel of its own, as from a trusted
    # network, and leaves on tcp_local
    srv = cursus(services={"SMTP": {"PROTOCOL": "smtp", "CHANNEL": "tcp_intranet"}},
                 conf_extra=conf(), imta=imta(
                     "tcp_local smtp daemon 127.0.0.1 port %d notls logging %s\n"
                     "tcp-daemon" % (sink.port, keywords),
                     "tcp_intranet slave\ntcp_intranet-daemon"),
                 jobc=jobc or "[POOL=DEFAULT]\nJOB_LIMIT=4\n")
    srv.start()
    return sink, srv


def send(srv, subject, extra="", size=0):
    body = "x" * 76 + "\r\n"
    msg = ("From: alice@example.org\r\nTo: bob@example.com\r\nSubject: %s\r\n%s"
           "\r\n" % (subject, extra)) + body * (size // len(body) + 1)
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP"), timeout=10) as s:
        assert s.sendmail("alice@example.org", ["bob@example.com"], msg) == {}


def subjects(sink):
    out = []
    for m in sink.messages():
        for line in m.split(b"\n"):
            if line.startswith(b"Subject: "):
                out.append(line[9:].strip().decode())
    return sorted(out)


def waiting(srv):
    """Queued lines saying 'retry in' (waiting, not failed)."""
    return [l for l in queued(srv) if "retry in" in l]


def test_immurgent_sends_urgent_at_once_and_the_rest_on_the_periodic_run(cursus, peers):
    sink, srv = sink_and_server(
        cursus, peers, "immurgent",
        jobc="PERIODIC_INTERVAL=3600\n[POOL=DEFAULT]\nJOB_LIMIT=4\n")
    send(srv, "prio-urgent", "Priority: urgent\r\n")
    send(srv, "importance-high", "Importance: high\r\n")
    send(srv, "plain")
    send(srv, "importance-high-but-priority-normal",
         "Importance: high\r\nPriority: normal\r\n")
    assert srv.wait_until(lambda: len(sink.messages()) == 2, timeout=15)
    assert subjects(sink) == ["importance-high", "prio-urgent"]
    # the normal ones wait for the next periodic run, shown as a retry time
    assert srv.wait_until(lambda: len(waiting(srv)) == 2, timeout=5), queued(srv)
    for line in queued(srv):
        assert " normal " in line
    # a forced run (what the periodic run does) sends them
    assert srv.cursus("qm", "retry", "tcp_local").returncode == 0
    wait_empty(srv)
    assert len(sink.messages()) == 4


def test_periodic_channel_waits_even_for_urgent(cursus, peers):
    sink, srv = sink_and_server(cursus, peers, "periodic",
                                jobc="PERIODIC_INTERVAL=3600\n[POOL=DEFAULT]\nJOB_LIMIT=4\n")
    send(srv, "u", "Priority: urgent\r\n")
    assert srv.wait_until(lambda: len(waiting(srv)) == 1, timeout=10), queued(srv)
    time.sleep(0.5)
    assert sink.messages() == []


def test_blocklimits_drop_priority_and_nonurgent_waits(cursus, peers):
    # urgent above 2 blocks becomes normal, above 4 non-urgent (immnormal
    # leaves non-urgent to the periodic run)
    sink, srv = sink_and_server(
        cursus, peers, "urgentblocklimit 2 normalblocklimit 4",
        jobc="PERIODIC_INTERVAL=3600\n[POOL=DEFAULT]\nJOB_LIMIT=4\n")
    send(srv, "small", "Priority: urgent\r\n", size=100)
    send(srv, "medium", "Priority: urgent\r\n", size=3000)
    send(srv, "large", "Priority: urgent\r\n", size=6000)
    assert srv.wait_until(lambda: len(sink.messages()) == 2, timeout=15)
    assert subjects(sink) == ["medium", "small"]
    lines = queued(srv)
    assert len(lines) == 1 and " non-urgent " in lines[0] and "retry in" in lines[0], lines


def test_after_delays_the_first_attempt(cursus, peers):
    sink, srv = sink_and_server(cursus, peers, 'after "PT3S"')
    t0 = time.time()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com")
    assert srv.wait_until(lambda: len(sink.messages()) == 1, timeout=15)
    assert time.time() - t0 >= 2.5


def test_deferred_delivery_is_honoured_only_with_deferred(cursus, peers):
    sink, srv = sink_and_server(cursus, peers, "deferred")
    # the date has whole seconds: "soon" may not leave before int(soon_at)
    soon_at = time.time() + 4
    soon = email.utils.formatdate(soon_at)
    later = email.utils.formatdate(time.time() + 7200)
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com",
           body="Subject: soon\nDeferred-delivery: %s\n\nx\n" % soon)
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com",
           body="Subject: later\nDeferred-delivery: %s\n\nx\n" % later)
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com",
           body="Subject: bad-date\nDeferred-delivery: not a date\n\nx\n")
    assert srv.wait_until(lambda: len(sink.messages()) == 1, timeout=10)
    assert subjects(sink) == ["bad-date"]
    assert srv.wait_until(lambda: len(sink.messages()) == 2, timeout=15)
    assert subjects(sink) == ["bad-date", "soon"]
    assert time.time() >= int(soon_at)
    # the far one waits without counting an attempt
    lines = queued(srv)
    assert len(lines) == 1 and "retry in" in lines[0] and " 0 normal" in lines[0], lines
    assert "not a date" in srv.log()


def test_nodeferred_ignores_deferred_delivery(cursus, peers):
    sink, srv = sink_and_server(cursus, peers, "deferred nodeferred")
    later = email.utils.formatdate(time.time() + 7200)
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com",
           body="Subject: later\nDeferred-delivery: %s\n\nx\n" % later)
    wait_empty(srv)
    assert len(sink.messages()) == 1


@pytest.mark.parametrize("keyword,inject_args", [
    ("filesperjob 2", dict(count=12)),
    ("addrsperjob 3", dict(rcpts=4, count=3)),
])
def test_filesperjob_addrsperjob_start_more_jobs(cursus, peers, keyword, inject_args):
    # the peer is down: messages pile up while the first job works on them
    sink, srv = sink_and_server(cursus, peers, keyword + ' backoff "PT1H"',
                                jobc="[POOL=DEFAULT]\nJOB_LIMIT=4\n"
                                     "[CHANNEL=tcp_local]\nTHREADS=1\n")
    sink.stop()
    rcpts = ["r%d@example.com" % i for i in range(inject_args.get("rcpts", 1))]
    inject(srv, "tcp_local", "alice@example.org", *rcpts,
           count=inject_args["count"])
    assert srv.wait_until(lambda: srv.log().count("channel tcp_local: started job") >= 2,
                          timeout=10), srv.log()


def test_max_messages_leaves_the_newest_on_disk_until_room_frees(cursus, peers):
    sink = peers(SmtpSink, "-r", "RCPT")  # 4xx: everything stays queued at first
    srv = cursus(conf_extra=conf(), imta=imta(
        'tcp_local smtp daemon 127.0.0.1 port %d notls backoff "PT1H"\ntcp-daemon'
        % sink.port),
        jobc="MAX_MESSAGES=5\n[POOL=DEFAULT]\nJOB_LIMIT=2\n")
    srv.start()
    first = inject(srv, "tcp_local", "alice@example.org", "bob@example.com", n=0)
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", count=11)
    srv.wait_for_log("queue cache full (MAX_MESSAGES=5)")
    p = srv.cursus("qm", "list")
    assert "5 message(s)" in p.stdout and "more wait on disk" in p.stdout, p.stdout
    # the oldest is among those in the cache
    assert first.split("/")[-1] in p.stdout
    assert "more wait on disk" in srv.cursus("qm", "counters").stdout
    # the peer takes mail again: deliveries make room and the rest comes in
    sink.restart()
    srv.cursus("qm", "retry", "tcp_local")
    assert srv.wait_until(lambda: len(sink.messages()) == 12, timeout=30), \
        (len(sink.messages()), queued(srv))
    assert "taken in from disk" in srv.log()
    assert srv.wait_until(lambda: queued(srv) == [], timeout=10)


def deferring_server(cursus, peers):
    """A started server whose tcp_local peer answers RCPT with 4xx (until
    sink.restart()), retrying after an hour unless told; (srv, sink)."""
    sink = peers(SmtpSink, "-r", "RCPT")
    srv = cursus(conf_extra=conf(), imta=imta(
        'tcp_local smtp daemon 127.0.0.1 port %d notls logging backoff "PT1H"\n'
        'tcp-daemon' % sink.port))
    srv.start()
    return srv, sink


def test_results_in_the_same_second_are_told_apart(cursus, peers):
    # attempts forced back to back often fall in the same second: each
    # still records the peer's own answer, never "no result"
    srv, sink = deferring_server(cursus, peers)
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com")
    for n in range(1, 7):
        assert srv.wait_until(lambda: mail_log(srv).count(" Q ") >= n, timeout=10)
        srv.cursus("qm", "retry", "tcp_local")
    q_lines = [l for l in mail_log(srv).splitlines() if " Q " in l]
    assert len(q_lines) >= 6
    for line in q_lines:
        assert "gave no result" not in line and "said: 4" in line, line


def test_expandlimit_defers_expansion_to_the_reprocess_channel(cursus, peers):
    sink = peers(SmtpSink)
    srv = cursus(services={"SMTP": {"PROTOCOL": "smtp", "CHANNEL": "tcp_intranet"}},
                 conf_extra=conf(), imta=imta(
                     "tcp_local smtp daemon 127.0.0.1 port %d notls logging\n"
                     "tcp-daemon" % sink.port,
                     "tcp_intranet slave logging expandlimit 2\ntcp_intranet-daemon",
                     "reprocess logging\nreprocess-daemon"),
                 jobc="[POOL=DEFAULT]\nJOB_LIMIT=4\n")
    srv.start()
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP"), timeout=10) as s:
        # within the limit: expanded and routed at once
        assert s.sendmail("alice@example.org", ["a@example.com", "b@example.com"],
                          "Subject: two\r\n\r\nx\r\n") == {}
        # beyond it: queued as given to the reprocess channel
        assert s.sendmail("alice@example.org",
                          ["c@example.com", "d@example.com", "e@example.com"],
                          "Subject: three\r\n\r\nx\r\n") == {}
    assert srv.wait_until(lambda: len(sink.messages()) == 2, timeout=15)
    log = mail_log(srv)
    assert len(re.findall(r" tcp_intranet reprocess E", log)) == 3, log
    assert not re.search(r" tcp_intranet reprocess E\S* .*[ab]@example.com", log)
    three = [m for m in sink.messages() if b"Subject: three" in m][0]
    for r in (b"c@", b"d@", b"e@"):
        assert r in three
