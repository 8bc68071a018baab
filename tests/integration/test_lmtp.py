"""The LMTP server (RFC 2033): over TCP and a UNIX socket, LHLO, one reply
per recipient after DATA and after BDAT LAST, recipients refused alone
when their channel refuses the finished message."""
import os
import shutil
import smtplib
import ssl
import subprocess

import pytest

from mta_harness import Raw, make_mta, queued, shipped, wait_queued

MSG = b"Subject: lmtp\r\nMessage-ID: <l1@example.org>\r\n\r\nvia LMTP\r\n"


@pytest.fixture
def mta(cursus):
    return make_mta(cursus)


def test_lmtp_tcp(mta):
    with smtplib.LMTP("127.0.0.1", mta.port("LMTP")) as s:
        code, caps = s.ehlo("relay.example.org")  # smtplib.LMTP sends LHLO
        assert code == 250 and b"PIPELINING" in caps
        # (smtplib reads one reply after DATA: one recipient per message)
        assert s.sendmail("joe@example.org", ["alice@example.com"], MSG) == {}
        assert s.sendmail("joe@example.org", ["carol@example.com"], MSG) == {}
    files = queued(mta, "ims-ms")
    assert len(files) == 2
    f = files[0]
    assert f.env["source"] == "tcp_lmtp" and f.env["protocol"] == "LMTP"
    assert "with LMTP" in f.header("Received")


def test_lmtp_unix_socket(mta):
    with smtplib.LMTP(mta.lmtp_socket) as s:
        s.ehlo("local")
        assert s.sendmail("joe@example.org", ["alice@example.com"], MSG) == {}
    f = wait_queued(mta, 1)[0]
    assert f.env.get("connection") is None
    assert "(local socket)" in f.header("Received")


def test_helo_and_ehlo_refused(mta):
    r = Raw(mta.port("LMTP"))
    assert r.reply()[1][0].endswith("LMTP Cursus")
    assert r.cmd("EHLO x")[0] == 500
    assert r.cmd("HELO x")[0] == 500
    assert r.cmd("MAIL FROM:<a@example.org>")[0] == 503
    assert r.cmd("LHLO x")[0] == 250


def test_one_reply_per_recipient(cursus):
    imta = shipped("imta.cnf").replace("ims-ms subdirs 20",
                                       "ims-ms blocklimit 1 subdirs 20")
    mta = make_mta(cursus, imta=imta)
    big = MSG + b"x" * 2000 + b"\r\n"
    r = Raw(mta.port("LMTP"))
    r.reply()
    r.cmd("LHLO relay.example.org")
    r.send("MAIL FROM:<joe@example.org>\r\nRCPT TO:<alice@example.com>\r\n"
           "RCPT TO:<nobody@example.com>\r\nRCPT TO:<friend@elsewhere.example>\r\n"
           "DATA\r\n")
    assert [r.reply()[0] for _ in range(5)] == [250, 250, 550, 250, 354]
    r.send(big + b".\r\n")
    # two accepted recipients, two replies: alice's store refuses the size
    first, second = r.reply(), r.reply()
    assert first[0] == 552 and first[1][0].startswith("5.3.4")
    assert second[0] == 250 and "queued as" in second[1][0]
    files = queued(mta)
    assert [f.channel for f in files] == ["tcp_local"]
    # BDAT LAST gives the replies the same way
    r.cmd("MAIL FROM:<joe@example.org>")
    r.cmd("RCPT TO:<carol@example.com>")
    r.cmd("RCPT TO:<friend@elsewhere.example>")
    r.send(b"BDAT %d LAST\r\n" % len(MSG) + MSG)
    assert [r.reply()[0] for _ in range(2)] == [250, 250]
    # a content error: every recipient gets it
    r.cmd("MAIL FROM:<joe@example.org>")
    r.cmd("RCPT TO:<carol@example.com>")
    r.cmd("RCPT TO:<friend@elsewhere.example>")
    r.cmd("DATA")
    r.send("Subject: bad\r\n\r\nbare\nLF\r\n.\r\n")
    assert [r.reply()[0] for _ in range(2)] == [554, 554]


@pytest.mark.skipif(shutil.which("smtp-source") is None,
                    reason="postfix's smtp-source not installed")
def test_smtp_source_lmtp(mta):
    p = subprocess.run(["smtp-source", "-L", "-d", "-s", "4", "-m", "40",
                        "-l", "1000", "-f", "joe@example.org",
                        "-t", "alice@example.com",
                        "127.0.0.1:%d" % mta.port("LMTP")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(wait_queued(mta, 40, "ims-ms")) == 40


def test_lmtp_starttls_and_auth(cursus):
    """LMTP over TLS (STARTTLS), with AUTH where the channel offers it."""
    imta = shipped("imta.cnf").replace("tcp_lmtp slave", "tcp_lmtp slave maysaslserver")
    mta = make_mta(cursus, imta=imta)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.LMTP("127.0.0.1", mta.port("LMTP")) as s:
        s.ehlo("relay.example.org")
        assert s.has_extn("starttls")
        assert s.starttls(context=ctx)[0] == 220
        code, caps = s.ehlo("relay.example.org")
        assert b"STARTTLS" not in caps and b"PLAIN" in caps
        assert s.login("alice@example.com", "alice-password")[0] == 235
        assert s.sendmail("alice@example.com", ["bob@example.com"], MSG) == {}
    f = wait_queued(mta, 1, "ims-ms")[0]
    assert f.env["protocol"] == "LMTPSA"
    rec = f.header("Received")
    assert "with LMTPSA" in rec and "(using TLS" in rec
