"""Postfix (Debian's package) as a real client: a private Postfix instance
relays through Cursus -- over plain SMTP to a hosted domain, and over
submission with STARTTLS and AUTH PLAIN to the Internet -- and its mail
arrives in Cursus's queues byte for byte as it was given to Postfix."""
import os
import shutil
import smtplib
import time

import pytest

from mta_harness import make_mta, queued
from peers import Postfix

pytestmark = pytest.mark.skipif(shutil.which("postfix") is None,
                                reason="postfix is not installed")


def message(n, body):
    return ("From: Sender <sender@postfix.test>\r\nTo: rcpt@example.com\r\n"
            "Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
            "Message-ID: <pf-%d@postfix.test>\r\nSubject: message %d\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" % (n, n)).encode() + body


BODIES = [
    b"plain text\r\n.a line starting with a dot\r\n..two dots\r\n.\r\nend\r\n",
    "8-bit: été, naïve, 日本語\r\n".encode() * 50,
    (b"y" * 998 + b"\r\n") * 20,
    b"".join(b"line %06d of a message bigger than the memory buffer\r\n" % i
             for i in range(30000)),
]


def wait_files(mta, n, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        files = queued(mta)
        if len(files) >= n:
            return files
        time.sleep(0.2)
    return queued(mta)


def send_through(pf, rcpt):
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
        for n, body in enumerate(BODIES):
            s.sendmail("sender@postfix.test", [rcpt], message(n, body))


def check_intact(files):
    by_id = {f.header("Message-ID"): f for f in files}
    for n, body in enumerate(BODIES):
        f = by_id["<pf-%d@postfix.test>" % n]
        # our Received:, Postfix's Received:, then the message untouched
        assert f.content.startswith(b"Received: from "), f.content[:200]
        assert f.content.count(b"Received: ") >= 2
        assert f.content.endswith(message(n, body)), n
    return by_id


def test_postfix_relays_to_a_hosted_domain(cursus, tmp_path):
    mta = make_mta(cursus)
    pf = Postfix(tmp_path, main="relayhost = [127.0.0.1]:%d\n"
                                "smtp_tls_security_level = may\n" % mta.port("SMTP"))
    try:
        send_through(pf, "alice@example.com")
        files = wait_files(mta, len(BODIES))
        assert len(files) == len(BODIES), pf.log()
        by_id = check_intact(files)
        f = by_id["<pf-0@postfix.test>"]
        assert f.channel == "ims-ms" and f.sender == "sender@postfix.test"
        assert f.env["helo"] == "peer.test"
        # Postfix chose STARTTLS (offered) and 8BITMIME
        assert f.env["protocol"] == "ESMTPS"
        assert by_id["<pf-1@postfix.test>"].env["body"] == "8bitmime"
    finally:
        pf.stop()


def test_postfix_submits_with_tls_and_auth(cursus, tmp_path):
    mta = make_mta(cursus)
    port = mta.port("SMTP_SUBMIT")
    pf = Postfix(tmp_path, main=(
        "relayhost = [127.0.0.1]:{p}\n"
        "smtp_tls_security_level = encrypt\n"
        "smtp_sasl_auth_enable = yes\n"
        "smtp_sasl_password_maps = inline:{{ [127.0.0.1]:{p}=alice@example.com:alice-password }}\n"
        "smtp_sasl_security_options = noanonymous\n"
        "smtp_sasl_tls_security_options = noanonymous\n").format(p=port))
    try:
        send_through(pf, "friend@elsewhere.example")
        files = wait_files(mta, len(BODIES))
        assert len(files) == len(BODIES), pf.log() + mta.log()
        by_id = check_intact(files)
        f = by_id["<pf-0@postfix.test>"]
        assert f.channel == "tcp_local" and f.env["source"] == "tcp_auth"
        assert f.env["protocol"] == "ESMTPSA"
        assert f.env["auth-user"] in ("alice", "alice@example.com")
    finally:
        pf.stop()
