"""The SMTP server: mail accepted into the channel queues (checked in the
queue files and the message log), ESMTP extensions, recipients checked at
RCPT time, relay refusal, access tables, and every malformed command.

Real clients: Python's smtplib and raw sockets; swaks where it is
installed."""
import os
import shutil
import smtplib
import subprocess
import time

import pytest

from mta_harness import Raw, make_mta, maillog, queued, shipped, wait_queued

MSG = (b"From: Joe <joe@example.org>\r\nTo: alice@example.com\r\n"
       b"Subject: test\r\nMessage-ID: <m1@example.org>\r\n\r\nHello Alice.\r\n")


@pytest.fixture
def mta(cursus):
    return make_mta(cursus)


def test_accept_local_user(mta):
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        code, caps = s.ehlo("client.example.org")
        assert code == 250
        for ext in (b"PIPELINING", b"SIZE 52428800", b"8BITMIME",
                    b"ENHANCEDSTATUSCODES", b"DSN", b"SMTPUTF8", b"CHUNKING",
                    b"BINARYMIME", b"STARTTLS"):
            assert ext in caps
        assert b"AUTH SCRAM-SHA-256 PLAIN LOGIN" in caps  # maysaslserver
        s.mail("joe@example.org")
        assert s.rcpt("alice@example.com") == (250, b"2.1.5 Recipient ok")
        code, text = s.data(MSG)
        assert code == 250 and text.startswith(b"2.0.0 Ok: queued as ")
        qid = text.split()[-1].decode()
    files = queued(mta)
    assert len(files) == 1
    f = files[0]
    assert f.id == qid and f.channel == "ims-ms"
    assert f.sender == "joe@example.org"
    assert f.env["source"] == "tcp_local"
    assert f.env["protocol"] == "ESMTP"
    assert f.env["message-id"] == "<m1@example.org>"
    assert f.env["connection"].startswith("TCP|127.0.0.1|%d|127.0.0.1|" % mta.port("SMTP"))
    # alice is in the default domain: her store address has no domain
    assert [(r.address, r.original, r.state) for r in f.rcpts] == [
        ("alice@ims-ms-daemon", "alice@example.com", "pending")]
    # a Received: field first, then the message as sent
    assert f.content.startswith(b"Received: from client.example.org ([127.0.0.1])\r\n")
    assert ("id %s" % qid) in f.header("Received")
    assert "for <alice@example.com>" in f.header("Received")
    assert f.content.endswith(MSG)
    # the message log: one E line for the copy
    lines = [l for l in maillog(mta) if l[4].startswith("E")]
    assert len(lines) == 1
    l = lines[0]
    assert l[2:6] == ["tcp_local", "ims-ms", "EE", "1"]
    assert l[6:9] == ["joe@example.org", "rfc822;alice@example.com",
                      "alice@ims-ms-daemon"]
    assert l[9] == f.name and l[10] == "<m1@example.org>"


@pytest.mark.parametrize("interface", ["127.0.0.1", "0.0.0.0", "::"])
def test_connection_ends(cursus, interface):
    """The two ends of a session, as the dispatcher hands them to the
    worker: from the listener when it is bound to one address, from the
    socket when it listens on every address (IPv4 seen through an IPv6
    socket shown as IPv4)."""
    mta = make_mta(cursus, services={"SMTP": {"PROTOCOL": "smtp",
                                              "CHANNEL": "tcp_local",
                                              "INTERFACE_ADDRESS": interface}})
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        client_port = s.sock.getsockname()[1]
        s.sendmail("joe@example.org", ["alice@example.com"], MSG)
    f = wait_queued(mta, 1)[0]
    assert f.env["connection"] == "TCP|127.0.0.1|%d|127.0.0.1|%d" % (
        mta.port("SMTP"), client_port)
    assert b"([127.0.0.1])" in f.content.split(b"\r\n")[0]


def test_copies_per_channel(mta):
    """One message to a local user, a forwarding user and a group: one
    queue file per destination channel, each with its recipients."""
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        assert s.sendmail("joe@example.org",
                          ["alice@example.com", "bob@example.com"], MSG) == {}
    files = queued(mta)
    by = {f.channel: f for f in files}
    assert set(by) == {"ims-ms", "tcp_local"}
    assert by["ims-ms"].id == by["tcp_local"].id
    assert sorted(r.address for r in by["ims-ms"].rcpts) == [
        "alice@ims-ms-daemon", "bob@ims-ms-daemon"]
    assert [r.address for r in by["tcp_local"].rcpts] == ["bob@elsewhere.example"]
    assert by["ims-ms"].content == by["tcp_local"].content
    assert "for <" not in by["ims-ms"].header("Received")


def test_unknown_user_and_relay(mta):
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.ehlo("c")
        s.mail("joe@example.org")
        assert s.rcpt("nobody@example.com")[0] == 550
        code, text = s.rcpt("nobody@example.com")
        assert text.startswith(b"5.1.1 ")
        code, text = s.rcpt("someone@elsewhere.example")
        assert (code, text[:6]) == (550, b"5.7.1 ")
        assert b"Relaying not allowed" in text
        assert s.rcpt("alice@example.com")[0] == 250
        assert s.data(MSG)[0] == 250
    assert len(queued(mta)) == 1
    j = [l for l in maillog(mta) if l[4].startswith("J")]
    assert len(j) == 3
    assert j[0][7] == "rfc822;nobody@example.com" and "5.1.1" in j[0][13]
    assert "Relaying not allowed" in j[2][13]


def test_internal_client_may_relay(cursus):
    mappings = "INTERNAL_IP\n\n  $(127.0.0.0/8)  $Y\n  *  $N\n\n" \
               "ORIG_SEND_ACCESS\n\n  tcp_local|*|tcp_local|*  $N550$ 5.7.1$ Relaying$ not$ allowed\n"
    mta = make_mta(cursus, mappings=mappings)
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        assert s.sendmail("joe@example.org", ["someone@elsewhere.example"], MSG) == {}
    f = queued(mta)[0]
    assert f.channel == "tcp_local" and f.env["source"] == "tcp_intranet"


def test_no_open_relay_without_tables(cursus):
    """Without any ORIG_SEND_ACCESS table Internet-to-Internet mail is
    still refused."""
    mta = make_mta(cursus, mappings="INTERNAL_IP\n\n  *  $N\n")
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.ehlo("c")
        s.mail("joe@example.org")
        code, text = s.rcpt("someone@elsewhere.example")
        assert code == 550 and b"5.7.1" in text and b"Relaying" in text
        assert s.rcpt("alice@example.com")[0] == 250


def test_pipelining(mta):
    r = Raw(mta.port("SMTP"))
    assert r.reply()[0] == 220
    assert r.cmd("EHLO client.example")[0] == 250
    # everything at once: the replies come in order
    r.send("MAIL FROM:<joe@example.org>\r\nRCPT TO:<alice@example.com>\r\n"
           "RCPT TO:<nobody@example.com>\r\nRCPT TO:<carol@example.com>\r\n"
           "DATA\r\n")
    assert [r.reply()[0] for _ in range(5)] == [250, 250, 550, 250, 354]
    r.send(MSG.decode() + ".\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.com>\r\n"
           "DATA\r\n")
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    r.send("Subject: bounce\r\n\r\nx\r\n.\r\nQUIT\r\n")
    assert r.reply()[0] == 250
    assert r.reply()[0] == 221
    assert r.closed()
    # both messages were accepted (the mail log: their queue files may be
    # delivered already)
    assert mta.wait_until(lambda: {l[6] for l in maillog(mta) if l[4] == "EE"}
                          == {"<>", "joe@example.org"})


def test_dot_stuffing_and_8bit(mta):
    body = (b"Subject: dots\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            b".leading dot\r\n..two\r\n.\r\n" b"\xc3\xa9t\xc3\xa9\r\n")
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    assert r.cmd("MAIL FROM:<joe@example.org> BODY=8BITMIME")[0] == 250
    r.cmd("RCPT TO:<alice@example.com>")
    assert r.cmd("DATA")[0] == 354
    stuffed = body.replace(b"\r\n.", b"\r\n..")
    r.send(stuffed + b".\r\n")
    assert r.reply()[0] == 250
    f = queued(mta)[0]
    assert f.env["body"] == "8bitmime"
    assert f.body() == body.split(b"\r\n\r\n", 1)[1]


def test_bare_lf_refused(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<joe@example.org>")
    r.cmd("RCPT TO:<alice@example.com>")
    r.cmd("DATA")
    # a bare LF, and a "\n.\n" that must not end the message
    r.send("Subject: x\r\n\r\nline\nmore\n.\nstill data\r\n.\r\n")
    code, text = r.reply()
    assert code == 554 and "bare LF" in text[0]
    assert queued(mta) == []
    # the session goes on
    assert r.cmd("NOOP")[0] == 250


def test_dsn_parameters(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    assert r.cmd("MAIL FROM:<joe@example.org> RET=HDRS ENVID=QQ+2Bid+3D7")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.com> NOTIFY=SUCCESS,FAILURE "
                 "ORCPT=rfc822;Alice+40Example.com")[0] == 250
    assert r.cmd("RCPT TO:<carol@example.com> NOTIFY=NEVER")[0] == 250
    r.cmd("DATA")
    r.send(MSG + b".\r\n")
    assert r.reply()[0] == 250
    # carol's vacation notice sends a copy to the autoreply channel too
    f = queued(mta, "ims-ms")[0]
    assert f.env["ret"] == "hdrs" and f.env["envid"] == "QQ+id=7"
    by = {r.original: r for r in f.rcpts}
    assert by["alice@example.com"].notify == "SF"
    assert by["alice@example.com"].orcpt == "rfc822;Alice@Example.com"
    assert by["carol@example.com"].notify == "N"
    for bad in ("NOTIFY=NEVER,SUCCESS", "NOTIFY=SOMETIMES", "ORCPT=rfc822",
                "ORCPT=rfc822;a+zz", "NOTIFY=DELAY NOTIFY=DELAY"):
        r.cmd("MAIL FROM:<joe@example.org>")
        code, text = r.cmd("RCPT TO:<alice@example.com> " + bad)
        assert code == 501 and text[0].startswith("5.5.4"), bad
        r.cmd("RSET")


def test_smtputf8(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    # without SMTPUTF8 a UTF-8 address is refused
    code, text = r.cmd("MAIL FROM:<jöe@example.org>")
    assert code == 553 and text[0].startswith("5.6.7")
    assert r.cmd("MAIL FROM:<jöe@example.org> SMTPUTF8")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.com>")[0] == 250
    r.cmd("DATA")
    r.send("Subject: ünïcödé\r\n\r\nhi\r\n.\r\n".encode())
    assert r.reply()[0] == 250
    f = queued(mta)[0]
    assert f.env["smtputf8"] == "1" and f.sender == "jöe@example.org"
    assert "UTF8SMTP" in f.header("Received")


def test_chunking(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<joe@example.org> BODY=BINARYMIME")
    r.cmd("RCPT TO:<alice@example.com>")
    # DATA is not for BINARYMIME
    assert r.cmd("DATA")[0] == 503
    part1 = b"Subject: binary\r\n\r\n"
    part2 = bytes(range(256)) + b"\r\n.\r\n\n"
    r.send(b"BDAT %d\r\n" % len(part1) + part1)
    assert r.reply() == (250, ["2.0.0 %d octets received" % len(part1)])
    r.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    code, text = r.reply()
    assert code == 250 and "queued as" in text[0]
    f = queued(mta)[0]
    assert f.env["body"] == "binarymime"
    assert f.body() == part2
    # BDAT 0 LAST, and a chunk after a refused transaction is still read
    r.cmd("MAIL FROM:<joe@example.org>")
    r.cmd("RCPT TO:<nobody@example.com>")
    r.send(b"BDAT 5\r\nabcde")
    assert r.reply()[0] == 554
    r.send(b"BDAT 0 LAST\r\n")
    assert r.reply()[0] == 554
    assert r.cmd("RSET")[0] == 250
    r.cmd("MAIL FROM:<joe@example.org>")
    r.cmd("RCPT TO:<alice@example.com>")
    r.send(b"BDAT 11\r\nSubject: a\r")
    assert r.reply()[0] == 250
    r.send(b"BDAT 0 LAST\r\n")
    assert r.reply()[0] == 250
    assert len(queued(mta)) == 2


def test_size_limits(cursus):
    mta = make_mta(cursus, conf_extra="[mta]\nblock_limit = 2\n")
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        code, caps = s.ehlo("c")
        assert b"SIZE 2048" in caps
        # declared too large
        code, text = s.mail("joe@example.org", ["SIZE=5000"])
        assert code == 552 and text.startswith(b"5.3.4")
        # not declared, but too large
        s.mail("joe@example.org")
        s.rcpt("alice@example.com")
        code, text = s.data(MSG + b"x" * 3000 + b"\r\n")
        assert code == 552 and text.startswith(b"5.3.4")
        # small enough
        assert s.sendmail("joe@example.org", ["alice@example.com"], MSG) == {}
    assert len(queued(mta)) == 1


def test_hop_count(mta):
    loop = b"".join(b"Received: from h%d by h%d; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                    % (i, i + 1) for i in range(51))
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.ehlo("c")
        s.mail("joe@example.org")
        s.rcpt("alice@example.com")
        code, text = s.data(loop + MSG)
        assert code == 554 and text.startswith(b"5.4.6")
        # 49 + ours = 50 is fine
        assert s.sendmail("joe@example.org", ["alice@example.com"],
                          loop.split(b"\r\n", 2)[2] + MSG) == {}
    assert len(queued(mta)) == 1


BAD_COMMANDS = [
    ("FOO", 500, "5.5.1"),
    ("MAIL FROM:<joe@example.org>", 503, "5.5.1"),  # before EHLO
    ("EHLO", 501, "5.5.4"),
    ("HELO", 501, "5.5.4"),
    ("TURN", 502, "5.5.1"),
    ("EXPN staff", 502, "5.5.1"),
    ("RCPT TO:<alice@example.com>", 503, "5.5.1"),
    ("DATA", 503, "5.5.1"),
    ("RSET x", 501, "5.5.4"),
    ("STARTTLS now", 501, "5.5.4"),
    ("BDAT 10 LATER\r\n0123456789", 501, "5.5.4"),  # the chunk is read
]

AFTER_EHLO = [
    ("MAIL FROM:joe@example.org", 501, "5.1.7"),
    ("MAIL FROM:<joe@example.org", 501, "5.1.7"),
    ("MAIL FROM:<joe@@example.org>", 501, "5.1.7"),
    ("MAIL TO:<joe@example.org>", 501, "5.5.4"),
    ("MAIL FROM:<joe@example.org> SIZE=x", 501, "5.5.4"),
    ("MAIL FROM:<joe@example.org> SIZE=1 SIZE=2", 501, "5.5.4"),
    ("MAIL FROM:<joe@example.org> BODY=9BIT", 501, "5.5.4"),
    ("MAIL FROM:<joe@example.org> FOO=BAR", 555, "5.5.4"),
    ("MAIL FROM:<joe@example.org> RET=ALL", 501, "5.5.4"),
    ("MAIL FROM:<joe@example.org> ENVID=a+zz", 501, "5.5.4"),
    ("MAIL FROM:<joe@example.org> =x", 501, "5.5.4"),
    ("MAIL FROM:<" + "a" * 300 + "@example.org>", 501, "5.1.7"),
    ("VRFY", 501, "5.5.4"),
    ("AUTH", 501, "5.5.4"),
    ("AUTH X-UNKNOWN", 504, "5.5.4"),
]


def test_malformed_commands(cursus):
    mta = make_mta(cursus, smtp_settings="max_errors = 100\n")
    r = Raw(mta.port("SMTP"))
    r.reply()
    for line, code, status in BAD_COMMANDS:
        if "\r\n" in line:  # a command with its data
            r.send(line)
            c, text = r.reply()
        else:
            c, text = r.cmd(line)
        assert (c, text[0][:5]) == (code, status), line
    assert r.cmd("EHLO c")[0] == 250
    for line, code, status in AFTER_EHLO:
        c, text = r.cmd(line)
        assert (c, text[0][:5]) == (code, status), (line, text)
    # a line too long, NUL and control bytes
    c, text = r.cmd("NOOP " + "x" * 3000)
    assert (c, text[0][:5]) == (500, "5.5.2")
    c, text = r.cmd("NOOP \x00x")
    assert (c, text[0][:5]) == (500, "5.5.2")
    c, text = r.cmd("MAIL FROM:<a@b>\x07")
    assert c == 500

    # the session still works
    assert r.cmd("MAIL FROM:<joe@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.com>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(MSG + b".\r\n")
    assert r.reply()[0] == 250
    assert r.cmd("BDAT ten")[0] == 501
    assert r.reply()[0] == 421
    assert r.closed()


def test_too_many_errors_disconnects(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    for _ in range(19):
        assert r.cmd("FOO")[0] == 500
    code, text = r.cmd("FOO")
    assert code == 500
    assert r.reply() == (421, ["4.7.0 Too many errors, closing connection"])
    assert r.closed()


def test_recipient_limits(cursus):
    mta = make_mta(cursus, smtp_settings="max_recipients = 100\n")
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<joe@example.org>")
    r.send("".join("RCPT TO:<alice@example.com>\r\n" for _ in range(101)))
    codes = [r.reply()[0] for _ in range(101)]
    assert codes == [250] * 100 + [452]


def test_vrfy_default_hides(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    assert r.cmd("VRFY alice@example.com")[0] == 252
    assert r.cmd("VRFY <nobody@example.com>")[0] == 252


def test_idle_commands_limit(cursus):
    mta = make_mta(cursus, smtp_settings="max_idle_commands = 5\n")
    r = Raw(mta.port("SMTP"))
    r.reply()
    for _ in range(5):
        assert r.cmd("NOOP")[0] == 250
    assert r.cmd("NOOP")[0] == 421
    assert r.closed()


def open_data(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<joe@example.org>")
    r.cmd("RCPT TO:<alice@example.com>")
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: under way\r\n\r\nbody\r\n")
    return r


def test_timeouts(cursus):
    mta = make_mta(cursus, smtp_settings="timeout = 1\ndata_timeout = 1\n")
    r = Raw(mta.port("SMTP"))
    assert r.reply()[0] == 220
    time.sleep(1.6)
    assert r.reply() == (421, ["4.4.2 Timeout waiting for input, closing connection"])
    assert r.closed()
    # in the middle of DATA
    r = open_data(mta)
    time.sleep(1.6)
    assert r.reply()[0] == 421
    assert queued(mta) == []


def test_session_time_limit(cursus):
    mta = make_mta(cursus, smtp_settings="session_timeout = 2\n")
    r = Raw(mta.port("SMTP"))
    r.reply()
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            code, text = r.cmd("NOOP")
        except EOFError:
            break
        if code == 421:
            assert "time limit" in text[0]
            break
        time.sleep(0.2)
    else:
        pytest.fail("session never ended")


def test_retiring_worker_lets_the_transaction_end(mta):
    """A refresh retires the worker: the message under way is accepted,
    the next command is answered 421.  A session still in DATA when the
    server stops ends after the grace period, its message not queued."""
    r = open_data(mta)
    assert mta.cursus("refresh").returncode == 0
    assert mta.wait_for_log("retiring (asked by the dispatcher); 1 connection")
    r.send(".\r\n")
    assert r.reply()[0] == 250
    assert r.cmd("NOOP")[0] == 421
    assert r.closed()
    r = open_data(mta)
    t0 = time.time()
    mta.stop()  # the sanitizer build reports what such an exit leaks
    assert time.time() - t0 < 30
    assert len(queued(mta)) == 1


def test_access_tables(cursus):
    mappings = """\
INTERNAL_IP

  *  $N

FROM_ACCESS

  *|*|*|*|spammer@*|*      $N550$ 5.7.1$ Sender$ blocked
  *|*|*|*|slow@*|*         $D50$Y
  *|*|*|*|suspect@*|*      $H

ORIG_SEND_ACCESS

  tcp_local|*|tcp_local|*    $N550$ 5.7.1$ Relaying$ not$ allowed
  *|*|*|carol@example.com    $N450$ 4.2.1$ Try$ later

SEND_ACCESS

  *|*|ims-ms|alice@ims-ms-daemon   $H
"""
    mta = make_mta(cursus, mappings=mappings)
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.ehlo("c")
        code, text = s.mail("spammer@example.net")
        assert (code, text) == (550, b"5.7.1 Sender blocked")
        t0 = time.time()
        assert s.mail("slow@example.net")[0] == 250
        assert time.time() - t0 >= 0.45
        assert s.rcpt("carol@example.com") == (450, b"4.2.1 Try later")
        assert s.rcpt("alice@example.com")[0] == 250
        assert s.data(MSG)[0] == 250
    f = queued(mta)[0]
    assert f.env["held"] == "1"
    j = [l for l in maillog(mta) if l[4].startswith("J")]
    assert len(j) == 2
    # FROM_ACCESS $H holds the whole message
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        assert s.sendmail("suspect@example.net", ["alice@example.com"], MSG) == {}
    held = [q for q in queued(mta) if q.sender == "suspect@example.net"]
    assert held and all(q.env["held"] == "1" for q in held)


def test_recipientlimit_keyword(cursus):
    imta = shipped("imta.cnf").replace("\ntcp_local ", "\ntcp_local recipientlimit 2 ")
    assert "recipientlimit 2" in imta
    mta = make_mta(cursus, imta=imta)
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.ehlo("c")
        s.mail("joe@example.org")
        assert s.rcpt("alice@example.com")[0] == 250
        assert s.rcpt("carol@example.com")[0] == 250
        assert s.rcpt("bob@example.com") == (452, b"4.5.3 Too many recipients")


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
def test_swaks_pipelining_and_chunking(mta):
    port = str(mta.port("SMTP"))
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", port,
                        "--from", "joe@example.org", "--to", "alice@example.com",
                        "--pipeline", "--header", "Subject: swaks"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "250 2.0.0 Ok: queued as" in p.stdout
    f = wait_queued(mta, 1)[0]
    assert f.header("Subject") == "swaks"
