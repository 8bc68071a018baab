"""The outbound MTA with real peers: the job controller runs channel jobs
that deliver queued mail over SMTP (routed by MX records from a real DNS
server) to Postfix's smtp-sink and postal's bhm, over LMTP to Dovecot, and
retry, expire and survive crashes as the classic system does."""
import os
import re
import signal
import subprocess
import time

import pytest

from peers import Bhm, Dnsmasq, DovecotLmtp, Postfix, SmtpSink

MESSAGE = "From: alice@example.org\nTo: bob@example.com\nSubject: test {n}\n\nbody line {n}\n.leading dot\n"


def imta(*channels, rules=".  $U%$H@tcp-daemon"):
    return rules + "\n\nl\nlocalhost\n\n" + "\n\n".join(channels) + "\n"


def conf(dns=None, extra="", notice_unit=None):
    text = "[mta]\nnotice_unit = %d\n" % notice_unit if notice_unit else ""
    if dns is not None:
        # the server-wide setting, which the SMTP client shares
        text += "[dns]\nservers = %s\n" % dns.server
    text += "[module channel_smtp]\nconnect_timeout = 2\ncommand_timeout = 10\n"
    text += "helo_name = mail.test.example\n"
    return text + extra


def inject(srv, channel, sender, *rcpts, n=0, count=1, body=None, opts=()):
    p = srv.cursus("qm", "inject", *(("-count", str(count)) if count > 1 else ()),
                   *opts, channel, sender, *rcpts,
                   input=body if body is not None else MESSAGE.format(n=n))
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def queued(srv, channel=None):
    p = srv.cursus("qm", "list", *([channel] if channel else []))
    assert p.returncode == 0, p.stderr
    return [l for l in p.stdout.splitlines()[:-1] if l.strip()]


def wait_empty(srv, timeout=20):
    assert srv.wait_until(lambda: not queued(srv), timeout=timeout), \
        "queue not empty:\n" + "\n".join(queued(srv))


def mail_log(srv):
    path = os.path.join(srv.state, "log", "mail.log")
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


@pytest.fixture
def peers(tmp_path):
    started = []

    def make(cls, *args, **kw):
        p = cls(tmp_path, *args, **kw)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def test_mx_routing_delivers_and_logs(cursus, peers):
    sink = peers(SmtpSink)
    dns = peers(Dnsmasq, mx={"example.com": [(10, "mx1.example.com")]},
                a={"mx1.example.com": "127.0.0.1"})
    srv = cursus(conf_extra=conf(dns), imta=imta(
        "tcp_local smtp mx port %d logging notls\ntcp-daemon" % sink.port))
    srv.start()
    for n in range(3):
        inject(srv, "tcp_local", "alice@example.org", "bob@example.com", n=n)
    wait_empty(srv)
    msgs = sink.messages()
    assert len(msgs) == 3
    for m in msgs:
        assert b"\n.leading dot\n" in m  # dot-stuffed on the wire, undone by the sink
    log = mail_log(srv)
    d_lines = [l for l in log.splitlines() if " D " in l or re.search(r" D\S* ", l)]
    assert len(d_lines) == 3, log
    assert "bob@example.com" in d_lines[0] and "tcp_local" in d_lines[0]


def test_mx_preference_order_and_fallback(cursus, peers):
    sink = peers(SmtpSink)
    # the preferred MX does not answer (nothing on 127.0.0.2), the second does
    dns = peers(Dnsmasq, mx={"example.com": [(10, "mx1.example.com"),
                                             (20, "mx2.example.com")]},
                a={"mx1.example.com": "127.0.0.2", "mx2.example.com": "127.0.0.1"})
    srv = cursus(conf_extra=conf(dns), imta=imta(
        "tcp_local smtp port %d notls\ntcp-daemon" % sink.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com")
    wait_empty(srv)
    assert len(sink.messages()) == 1
    log = srv.log()
    assert log.index("127.0.0.2") < log.index("connected to mx2.example.com[127.0.0.1]")


def test_no_mx_uses_aaaa(cursus, peers):
    sink = peers(SmtpSink, host="::1")
    dns = peers(Dnsmasq, aaaa={"v6only.example.net": "::1"})
    srv = cursus(conf_extra=conf(dns), imta=imta(
        "tcp_local smtp port %d notls\ntcp-daemon" % sink.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "carol@v6only.example.net")
    wait_empty(srv)
    assert len(sink.messages()) == 1
    assert "connected to v6only.example.net[::1]" in srv.log()


def test_smarthost_daemon_and_connection_reuse(cursus, peers):
    sink = peers(SmtpSink)
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_intranet smtp daemon 127.0.0.1 port %d notls\ntcp_intranet-daemon" % sink.port),
        jobc="[POOL=DEFAULT]\nJOB_LIMIT=1\n[CHANNEL=tcp_intranet]\nTHREADS=1\n")
    srv.start()
    inject(srv, "tcp_intranet", "alice@example.org", "x@nowhere.invalid", count=20)
    wait_empty(srv)
    assert len(sink.messages()) == 20
    # one job, one thread: every message after the first rides the same
    # connection (max_reuse 100)
    assert srv.log().count("connected to 127.0.0.1[127.0.0.1]") == 1


def test_4xx_is_retried_on_the_backoff_schedule(cursus, peers):
    sink = peers(SmtpSink, "-r", "RCPT")
    srv = cursus(conf_extra=conf(notice_unit=1), imta=imta(
        'tcp_local smtp daemon 127.0.0.1 port %d notls logging backoff "pt2s" "pt30s" notices 100 200\ntcp-daemon' % sink.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com")
    assert srv.wait_until(lambda: re.search(r"retry in \d+s", "\n".join(queued(srv))) is not None
                          and " 1 " in queued(srv)[0], timeout=10)
    # second attempt after the first backoff (2 s), then the next one is 30 s away
    assert srv.wait_until(lambda: queued(srv) and re.search(r"\s2 normal", queued(srv)[0]), timeout=10), queued(srv)
    line = queued(srv)[0]
    wait = int(re.search(r"retry in (\d+)s", line).group(1))
    assert 20 <= wait <= 30, line
    show = srv.cursus("qm", "show", line.split()[0]).stdout
    assert "Attempts:    2" in show
    assert re.search(r"<bob@example.com> pending 4\.\d\.\d.*RCPT TO", show), show
    assert mail_log(srv).count(" Q ") >= 2 or re.search(r" Q\S* ", mail_log(srv))
    # the peer recovers; an operator asks for a retry now
    sink.restart()
    p = srv.cursus("qm", "retry", line.split()[0])
    assert p.returncode == 0, p.stderr
    wait_empty(srv)
    assert len(sink.messages()) == 1


def test_5xx_fails_the_recipient_null_sender_gets_no_notice(cursus, peers):
    sink = peers(SmtpSink, "-f", "RCPT")
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_local smtp daemon 127.0.0.1 port %d notls logging nosendpost\ntcp-daemon" % sink.port))
    srv.start()
    inject(srv, "tcp_local", "", "bob@example.com")
    wait_empty(srv)
    log = mail_log(srv)
    r_lines = [l for l in log.splitlines() if re.search(r" R\S* ", l)]
    assert len(r_lines) == 1 and "bob@example.com" in r_lines[0], log
    assert "5." in r_lines[0]
    assert sink.messages() == []
    assert "notice to" not in srv.log()


def test_per_recipient_results_with_a_postfix_peer(cursus, peers):
    # a real Postfix refusing chosen recipients: 450 for one, 550 for another
    pf = peers(Postfix, main="relay_domains = b.test\ndefault_transport = discard\n"
                             "relay_transport = discard\n",
               access={"later@b.test": "450 4.2.0 try later",
                       "never@b.test": "550 5.1.1 no such user"})
    srv = cursus(conf_extra=conf(), imta=imta(
        'tcp_local smtp daemon 127.0.0.1 port %d logging nosendpost backoff "pt1s"\ntcp-daemon' % pf.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "ok@b.test", "later@b.test",
           "never@b.test", opts=("-notify", "NEVER"))
    assert srv.wait_until(lambda: len(queued(srv)) == 1 and
                          re.search(r"\s[3-9] normal", queued(srv)[0]), timeout=20), queued(srv)
    show = srv.cursus("qm", "show", queued(srv)[0].split()[0]).stdout
    assert re.search(r"<ok@b.test> delivered 2\.", show), show
    assert re.search(r"<later@b.test> pending 4\.2\.0 .*try later", show), show
    assert re.search(r"<never@b.test> failed 5\.1\.1 .*no such user", show), show
    # later attempts offer only the deferred recipient
    log = pf.log()
    assert len(re.findall(r"to=<ok@b.test>.*status=sent", log)) == 1, log
    assert len(re.findall(r"reject: RCPT from .*<never@b.test>", log)) == 1, log
    assert len(re.findall(r"reject: RCPT from .*<later@b.test>", log)) >= 2, log


def test_bhm_sink_with_helo_only(cursus, peers):
    bhm = peers(Bhm, {"ok@b.test": None})
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_local smtp daemon 127.0.0.1 port %d noehlo\ntcp-daemon" % bhm.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "ok@b.test", count=5)
    wait_empty(srv)
    assert bhm.transcripts().count("250 Ok: queued") == 5
    assert "EHLO" not in bhm.transcripts()


def test_kill_9_of_a_job_mid_delivery_repeats_no_recipient(cursus, peers):
    fast = peers(SmtpSink)
    # the slow server: same port on another loopback address
    slow = peers(SmtpSink, "-w", "30", host="127.0.0.3", port=fast.port)
    dns = peers(Dnsmasq, mx={"fast.test": [(10, "mx.fast.test")],
                             "slow.test": [(10, "mx.slow.test")]},
                a={"mx.fast.test": "127.0.0.1", "mx.slow.test": "127.0.0.3"})
    srv = cursus(conf_extra=conf(dns, extra="data_timeout = 60\n"), imta=imta(
        'tcp_local smtp port %d notls logging backoff "pt1h"\ntcp-daemon' % fast.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "a@fast.test", "b@slow.test")
    # a@fast.test is delivered, then the job waits on the slow server
    assert srv.wait_until(lambda: len(fast.messages()) == 1, timeout=10)
    assert srv.wait_until(lambda: "connected to mx.slow.test" in srv.log(), timeout=10)
    jobs = srv.cursus("qm", "jobs").stdout.splitlines()[1:]
    assert len(jobs) == 1 and " busy " in jobs[0], jobs
    os.kill(int(jobs[0].split()[0]), signal.SIGKILL)
    assert srv.wait_until(lambda: "was killed by signal 9 while delivering 1 message" in srv.log(), timeout=10)
    line = queued(srv)[0]
    assert re.search(r"\s1 normal\s+retry in", line), line
    # the slow server recovers; the retry offers only b@slow.test
    slow.restart()
    srv.cursus("qm", "retry", line.split()[0], check=True)
    wait_empty(srv)
    assert len(fast.messages()) == 1
    assert len(slow.messages()) == 1
    assert srv.pid("job-controller") is not None


def test_hung_job_is_killed_and_its_message_retried(cursus, peers):
    sink = peers(SmtpSink, "-w", "60")
    srv = cursus(conf_extra=conf(extra="data_timeout = 120\n"), imta=imta(
        'tcp_local smtp daemon 127.0.0.1 port %d notls backoff "pt1h"\ntcp-daemon' % sink.port),
        jobc="[POOL=DEFAULT]\nJOB_LIMIT=2\n[CHANNEL=tcp_local]\nDELIVERY_TIMEOUT=2\n")
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com")
    assert srv.wait_until(lambda: "for too long; killing it" in srv.log(), timeout=15)
    assert srv.wait_until(lambda: queued(srv) and "retry in" in queued(srv)[0], timeout=10)


def test_crashing_module_takes_down_only_its_job(cursus, peers):
    srv = cursus(conf_extra=conf(), imta=imta(
        'crash module test_channel testcrash backoff "pt1h"\ncrash-daemon'))
    srv.start()
    jc = srv.pid("job-controller")
    inject(srv, "crash", "alice@example.org", "bob@example.com")
    assert srv.wait_until(lambda: "was killed by signal 6 while delivering 1 message" in srv.log(), timeout=10)
    assert srv.wait_until(lambda: queued(srv) and re.search(r"\s1 normal\s+retry in", queued(srv)[0]), timeout=5)
    assert srv.pid("job-controller") == jc
    assert srv.cursus("qm", "counters").returncode == 0


def test_pool_limits_and_warm_jobs(cursus, peers):
    sink = peers(SmtpSink, "-w", "1")
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_local smtp daemon 127.0.0.1 port %d notls maxjobs 2 threaddepth 1\ntcp-daemon" % sink.port,
        "tcp_other smtp daemon 127.0.0.1 port %d notls pool OTHER\ntcp_other-daemon" % sink.port),
        jobc="[POOL=DEFAULT]\nJOB_LIMIT=5\n[POOL=OTHER]\nJOB_LIMIT=1\n"
             "[CHANNEL=tcp_other]\nMIN_JOBS=1\nTHREADS=1\n"
             "[CHANNEL=tcp_local]\nTHREADS=1\nIDLE_TIME=1\n")
    srv.start()
    # a warm job for tcp_other without any mail
    assert srv.wait_until(lambda: "tcp_other" in srv.cursus("qm", "jobs").stdout, timeout=5)
    inject(srv, "tcp_local", "alice@example.org", "x@y.test", count=6)
    inject(srv, "tcp_other", "alice@example.org", "x@y.test", count=3)
    most = {"tcp_local": 0, "tcp_other": 0}
    deadline = time.time() + 30
    while queued(srv) and time.time() < deadline:
        jobs = srv.cursus("qm", "jobs").stdout.splitlines()[1:]
        for ch in most:
            most[ch] = max(most[ch], sum(1 for j in jobs if j.split()[1] == ch))
        time.sleep(0.1)
    assert not queued(srv)
    assert most["tcp_local"] == 2  # maxjobs 2, one message per job at a time
    assert most["tcp_other"] == 1  # pool OTHER: JOB_LIMIT=1
    # idle tcp_local jobs end after IDLE_TIME; the warm one stays
    assert srv.wait_until(lambda: "tcp_local" not in srv.cursus("qm", "jobs").stdout, timeout=10)
    assert "tcp_other" in srv.cursus("qm", "jobs").stdout


def test_expired_message_is_returned_after_the_last_notice(cursus, peers):
    sink = peers(SmtpSink, "-r", "RCPT")
    srv = cursus(conf_extra=conf(notice_unit=1), imta=imta(
        'tcp_local smtp daemon 127.0.0.1 port %d notls logging nosendpost nowarnpost backoff "pt1s" notices 2 4\ntcp-daemon' % sink.port))
    srv.start()
    inject(srv, "tcp_local", "", "bob@example.com")
    wait_empty(srv, timeout=20)
    log = mail_log(srv)
    assert re.search(r" R\S* .*bob@example.com.*delivery time expired", log), log


def test_lmtp_to_dovecot_over_tcp_and_unix_socket(cursus, peers):
    lmtp = peers(DovecotLmtp)
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_lmtp lmtp daemon 127.0.0.1 port %d logging\ntcp_lmtp-daemon" % lmtp.port,
        "tcp_lmtpsock lmtp socket %s logging\ntcp_lmtpsock-daemon" % lmtp.socket))
    srv.start()
    inject(srv, "tcp_lmtp", "alice@example.org", "bob", "carol")
    inject(srv, "tcp_lmtpsock", "alice@example.org", "dave")
    wait_empty(srv)
    assert len(lmtp.mailbox("bob")) == 1, lmtp.log()
    assert len(lmtp.mailbox("carol")) == 1
    assert len(lmtp.mailbox("dave")) == 1
    assert b"body line 0" in lmtp.mailbox("bob")[0]


def test_qm_manages_the_queue_while_running_and_stopped(cursus, peers):
    sink = peers(SmtpSink, "-r", "RCPT")
    srv = cursus(conf_extra=conf(), imta=imta(
        'tcp_local smtp daemon 127.0.0.1 port %d notls backoff "pt1h"\ntcp-daemon' % sink.port))
    srv.start()
    ids = [inject(srv, "tcp_local", "alice@example.org", "bob%d@example.com" % i, n=i).split("/")[-1]
           for i in range(3)]
    assert srv.wait_until(lambda: len([l for l in queued(srv) if "retry in" in l]) == 3, timeout=10)
    assert len(queued(srv, "tcp_local")) == 3
    p = srv.cursus("qm", "list", "-to", "bob1@")
    assert p.returncode == 0 and ids[1] in p.stdout and ids[0] not in p.stdout, p.stdout
    show = srv.cursus("qm", "show", ids[0]).stdout
    assert "Sender:      <alice@example.org>" in show and "Subject: test 0" in show
    assert srv.cursus("qm", "hold", ids[0]).returncode == 0
    assert "held" in [l for l in queued(srv) if ids[0] in l][0]
    assert srv.cursus("qm", "delete", ids[2]).returncode == 0
    assert len(queued(srv)) == 2
    counters = srv.cursus("qm", "counters").stdout
    assert re.search(r"tcp_local\s+2\s", counters), counters
    # the peer recovers: retrying the channel delivers what is not held
    sink.restart()
    assert srv.cursus("qm", "retry", "tcp_local").returncode == 0
    assert srv.wait_until(lambda: len(queued(srv)) == 1, timeout=10)
    assert len(sink.messages()) == 1
    srv.stop()
    # stopped: the files tell the same
    p = srv.cursus("qm", "list")
    assert "job controller not running" in p.stdout and ids[0] in p.stdout
    assert "held" in p.stdout
    assert srv.cursus("qm", "release", ids[0]).returncode == 0
    srv.start()
    wait_empty(srv)
    assert len(sink.messages()) == 2


def test_start_up_rebuilds_the_cache_from_disk(cursus, peers):
    sink = peers(SmtpSink)
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_local smtp daemon 127.0.0.1 port %d notls\ntcp-daemon" % sink.port))
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", count=50)
    assert "50 message(s)" in srv.cursus("qm", "list").stdout
    srv.start()
    wait_empty(srv)
    assert len(sink.messages()) == 50
    assert "queue cache rebuilt: 50 message(s)" in srv.log()


def make_cert(tmp_path):
    cert, key = tmp_path / "peer.crt", tmp_path / "peer.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-subj", "/CN=peer.test", "-days", "2", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def test_starttls_when_offered_required_where_configured(cursus, peers, tmp_path):
    cert, key = make_cert(tmp_path)
    pf = peers(Postfix, main="relay_domains = b.test\ndefault_transport = discard\n"
                             "relay_transport = discard\n"
                             "smtpd_tls_security_level = may\n"
                             "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                             "smtpd_tls_received_header = yes\nsmtpd_tls_loglevel = 1\n" % (cert, key))
    plain = peers(SmtpSink)
    srv = cursus(conf_extra=conf(), imta=imta(
        'tcp_local smtp daemon 127.0.0.1 port %d logging\ntcp-daemon' % pf.port,
        'tcp_plain smtp daemon 127.0.0.1 port %d notlsclient logging\ntcp_plain-daemon' % pf.port,
        'tcp_secure smtp daemon 127.0.0.1 port %d musttls logging backoff "pt1h"\ntcp_secure-daemon' % plain.port))
    srv.start()
    # maytls by default: the peer offers STARTTLS, so it is used
    inject(srv, "tcp_local", "alice@example.org", "ok@b.test")
    # notlsclient: never
    inject(srv, "tcp_plain", "alice@example.org", "ok@b.test")
    # musttls to a server without STARTTLS: deferred, never sent in clear
    inject(srv, "tcp_secure", "alice@example.org", "ok@b.test")
    assert srv.wait_until(lambda: len(queued(srv)) == 1 and "retry in" in queued(srv)[0], timeout=20)
    log = pf.log()
    assert len(re.findall(r"TLS connection established from", log)) == 1, log
    assert len(re.findall(r"status=sent", log)) == 2, log
    assert plain.messages() == []
    assert re.search(r" Q \d.*TLS is required but .* does not offer STARTTLS", mail_log(srv))


def test_dsn_parameters_and_body_are_passed_on(cursus, peers):
    sink = peers(SmtpSink)
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_local smtp daemon 127.0.0.1 port %d notls\ntcp-daemon" % sink.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com",
           opts=("-notify", "SUCCESS,DELAY", "-ret", "HDRS", "-envid", "id+1 x", "-orcpt"))
    wait_empty(srv)
    msgs = sink.messages()
    assert len(msgs) == 1, msgs
    head = msgs[0].decode(errors="replace")
    mail_args = re.search(r"X-Mail-Args: (.*)", head).group(1)
    rcpt_args = re.search(r"X-Rcpt-Args: (.*)", head).group(1)
    assert mail_args.startswith("<alice@example.org>")
    # smtp-sink announces no SIZE, so none is given
    assert "SIZE=" not in mail_args and "BODY=8BITMIME" in mail_args
    assert "RET=HDRS" in mail_args and "ENVID=id+2B1+20x" in mail_args, mail_args
    assert rcpt_args.startswith("<bob@example.com>")
    assert "NOTIFY=SUCCESS,DELAY" in rcpt_args
    assert "ORCPT=rfc822;bob@example.com" in rcpt_args, rcpt_args


def test_too_large_for_the_peer_fails_without_sending(cursus, peers):
    pf = peers(Postfix, main="relay_domains = b.test\ndefault_transport = discard\n"
                             "relay_transport = discard\nmessage_size_limit = 200\n")
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_local smtp daemon 127.0.0.1 port %d logging nosendpost\ntcp-daemon" % pf.port))
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "ok@b.test",
           body="Subject: big\n\n" + "x" * 500 + "\n")
    wait_empty(srv)
    assert re.search(r" R \d.*ok@b.test.*exceeds the 200 bytes", mail_log(srv)), mail_log(srv)
    p = srv.cursus("qm", "list")
    assert "0 message(s)" in p.stdout
    assert "status=sent" not in pf.log()


def test_lastresort_nomx_and_unknown_domains(cursus, peers):
    sink = peers(SmtpSink)
    dns = peers(Dnsmasq,
                mx={"dead.test": [(10, "mx.dead.test")],
                    "split.test": [(10, "mx.dead.test")],
                    "nullmx.test": [(0, ".")]},
                a={"mx.dead.test": "127.0.0.5", "split.test": "127.0.0.1",
                   "relay.test": "127.0.0.1"})
    srv = cursus(conf_extra=conf(dns), imta=imta(
        "tcp_local smtp port %d notls logging nosendpost lastresort relay.test\ntcp-daemon" % sink.port,
        "tcp_direct smtp nomx port %d notls logging nosendpost\ntcp_direct-daemon" % sink.port))
    srv.start()
    # every MX of dead.test is down: the last resort host takes it
    inject(srv, "tcp_local", "alice@example.org", "a@dead.test")
    # nomx: split.test's own address, not its (dead) MX
    inject(srv, "tcp_direct", "alice@example.org", "b@split.test")
    # no such domain, and a domain that takes no mail (null MX): failures
    inject(srv, "tcp_direct", "alice@example.org", "c@nosuch.test")
    inject(srv, "tcp_local", "alice@example.org", "d@nullmx.test")
    wait_empty(srv)
    assert len(sink.messages()) == 2
    log = mail_log(srv)
    assert re.search(r" D \d.*a@dead.test.*relay.test", log), log
    assert re.search(r" D \d.*b@split.test", log), log
    assert re.search(r" R \d.*c@nosuch.test.*(does not exist|no address)", log), log
    assert re.search(r" R \d.*d@nullmx.test.*null MX", log), log


def test_jobs_retire_after_max_life_conns(cursus, peers):
    sink = peers(SmtpSink)
    srv = cursus(conf_extra=conf(), imta=imta(
        "tcp_local smtp daemon 127.0.0.1 port %d notls\ntcp-daemon" % sink.port),
        jobc="[POOL=DEFAULT]\nJOB_LIMIT=1\n[CHANNEL=tcp_local]\nTHREADS=1\nMAX_LIFE_CONNS=3\n")
    srv.start()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", count=9)
    wait_empty(srv, timeout=30)
    assert len(sink.messages()) == 9
    assert srv.log().count("started job pid") >= 3
