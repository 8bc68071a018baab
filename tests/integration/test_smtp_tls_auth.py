"""STARTTLS, implicit TLS, SMTP AUTH (PLAIN, LOGIN, SCRAM-SHA-256 through
the auth_sasl module and the directory) and submission with mandatory
AUTH.  Demo users of config/directory.ldif: alice / alice-password."""
import base64
import hashlib
import hmac
import os
import shutil
import smtplib
import ssl
import subprocess

import pytest

from mta_harness import Raw, make_mta, maillog, queued, shipped

MSG = b"Subject: tls\r\nMessage-ID: <t1@example.com>\r\n\r\nsecret\r\n"


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture
def mta(cursus):
    return make_mta(cursus)


def test_starttls_then_auth_plain(mta):
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.ehlo("client.example.org")
        assert s.has_extn("starttls")
        code, _ = s.starttls(context=client_ctx())
        assert code == 220
        code, caps = s.ehlo("client.example.org")
        assert b"STARTTLS" not in caps
        assert b"AUTH SCRAM-SHA-256 PLAIN LOGIN" in caps
        assert s.login("alice@example.com", "alice-password")[0] == 235
        # authenticated: relaying allowed (tcp_auth)
        assert s.sendmail("alice@example.com", ["someone@elsewhere.example"],
                          MSG) == {}
    f = queued(mta)[0]
    assert f.channel == "tcp_local" and f.env["source"] == "tcp_auth"
    assert f.env["auth-user"] in ("alice", "alice@example.com")
    assert f.env["protocol"] == "ESMTPSA"
    rec = f.header("Received")
    assert "with ESMTPSA" in rec and "(using TLS" in rec and "authenticated as" in rec
    e = [l for l in maillog(mta) if l[4].startswith("E")][0]
    assert e[4] == "EESA"


def test_starttls_resets_the_session(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<joe@example.org>")
    # commands pipelined after STARTTLS are thrown away (RFC 3207 4.2)
    r.send("STARTTLS\r\nRSET\r\n")
    assert r.reply()[0] == 220
    r.starttls()
    assert r.cmd("MAIL FROM:<joe@example.org>")[0] == 503  # EHLO again first
    assert r.cmd("EHLO c")[0] == 250
    assert r.cmd("STARTTLS")[0] == 503
    assert r.cmd("MAIL FROM:<joe@example.org>")[0] == 250


def test_wrong_password_and_limit(mta):
    r = Raw(mta.port("SMTP"), tls=False)
    r.reply()
    r.cmd("EHLO c")
    creds = base64.b64encode(b"\0alice@example.com\0wrong").decode()
    for _ in range(2):
        assert r.cmd("AUTH PLAIN " + creds) == (535, ["5.7.8 Authentication credentials invalid"])
    assert r.cmd("AUTH PLAIN " + creds)[0] == 535
    assert r.reply()[0] == 421
    assert r.closed()


def test_auth_login_and_cancel(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    code, lines = r.cmd("AUTH LOGIN")
    assert code == 334 and b"User" in base64.b64decode(lines[0])
    assert r.cmd("*")[0] == 501
    assert r.cmd("AUTH LOGIN")[0] == 334
    code, lines = r.cmd(base64.b64encode(b"alice@example.com").decode())
    assert code == 334 and b"Password" in base64.b64decode(lines[0])
    assert r.cmd(base64.b64encode(b"alice-password").decode())[0] == 235
    assert r.cmd("AUTH LOGIN")[0] == 503
    assert r.cmd("MAIL FROM:<alice@example.com>")[0] == 250


def test_auth_malformed(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    assert r.cmd("AUTH PLAIN")[0] == 503  # before EHLO
    r.cmd("EHLO c")
    assert r.cmd("AUTH CRAM-MD5")[0] == 504
    assert r.cmd("AUTH PLAIN !!!!")[0] == 501
    assert r.cmd("AUTH PLAIN")[0] == 334
    assert r.cmd("not base64")[0] == 501
    r.cmd("MAIL FROM:<joe@example.org>")
    assert r.cmd("AUTH PLAIN")[0] == 503  # in a transaction


def scram_client(r, user, password):
    """SCRAM-SHA-256 (RFC 7677) over the raw connection R."""
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=%s,r=%s" % (user, nonce)
    code, lines = r.cmd("AUTH SCRAM-SHA-256 " +
                        base64.b64encode(("n,," + first_bare).encode()).decode())
    assert code == 334, lines
    server_first = base64.b64decode(lines[0]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                 base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_bare = "c=biws,r=" + attrs["r"]
    auth_msg = ",".join([first_bare, server_first, final_bare]).encode()
    sig = hmac.new(stored_key, auth_msg, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    final = final_bare + ",p=" + base64.b64encode(proof).decode()
    code, lines = r.cmd(base64.b64encode(final.encode()).decode())
    if code != 334:
        return code, None
    server_final = base64.b64decode(lines[0]).decode()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    want = hmac.new(server_key, auth_msg, "sha256").digest()
    verified = server_final == "v=" + base64.b64encode(want).decode()
    code, lines = r.cmd("")
    return code, verified


def test_auth_scram_sha256(mta):
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO c")
    code, verified = scram_client(r, "alice@example.com", "alice-password")
    assert code == 235 and verified
    # a wrong password, and a user who does not exist, look alike
    r2 = Raw(mta.port("SMTP"))
    r2.reply()
    r2.cmd("EHLO c")
    assert scram_client(r2, "alice@example.com", "nope")[0] == 535
    assert scram_client(r2, "nobody@example.com", "nope")[0] == 535


def test_submission_requires_auth(mta):
    port = mta.port("SMTP_SUBMIT")
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.ehlo("c")
        code, text = s.mail("alice@example.com")
        assert (code, text) == (530, b"5.7.0 Authentication required")
        s.rset()
        s.login("alice@example.com", "alice-password")
        assert s.sendmail("alice@example.com", ["friend@elsewhere.example"], MSG) == {}
    f = queued(mta)[0]
    assert f.env["source"] == "tcp_auth"


def test_implicit_tls_submission(mta):
    with smtplib.SMTP_SSL("127.0.0.1", mta.port("SMTP_SUBMIT", "TLS_PORT"),
                          context=client_ctx()) as s:
        code, caps = s.ehlo("c")
        assert b"STARTTLS" not in caps and b"AUTH" in caps
        s.login("alice", "alice-password")
        assert s.sendmail("alice@example.com", ["carol@example.com"], MSG) == {}
    f = [q for q in queued(mta) if q.channel == "ims-ms"][0]
    assert "with ESMTPSA" in f.header("Received")


def test_plaintext_never(cursus):
    mta = make_mta(cursus, conf_extra="[module auth_sasl]\nplaintext = never\n")
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.ehlo("c")
        s.starttls(context=client_ctx())
        code, caps = s.ehlo("c")
        assert b"AUTH SCRAM-SHA-256\n" in caps + b"\n" or caps.endswith(b"AUTH SCRAM-SHA-256")
        r = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0alice-password").decode())
        assert r[0] == 504


def test_must_tls(cursus):
    imta = shipped("imta.cnf").replace("saslswitchchannel tcp_auth maytlsserver pool",
                                       "saslswitchchannel tcp_auth musttlsserver pool")
    assert "musttlsserver" in imta
    mta = make_mta(cursus, imta=imta)
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        s.ehlo("c")
        assert s.mail("joe@example.org") == (530, b"5.7.0 Must issue a STARTTLS command first")
        s.rset()
        s.starttls(context=client_ctx())
        s.ehlo("c")
        assert s.sendmail("joe@example.org", ["alice@example.com"], MSG) == {}


def test_no_certificate_no_starttls(cursus):
    mta = make_mta(cursus, tls=False)
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP")) as s:
        code, caps = s.ehlo("c")
        assert b"STARTTLS" not in caps
        assert s.docmd("STARTTLS")[0] == 502


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
def test_swaks_tls_auth(mta):
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(mta.port("SMTP_SUBMIT")), "--tls",
                        "--auth", "PLAIN", "--auth-user", "alice@example.com",
                        "--auth-password", "alice-password",
                        "--from", "alice@example.com", "--to", "outside@elsewhere.example",
                        "--header", "Subject: swaks tls"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "235 2.7.0" in p.stdout and "queued as" in p.stdout
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(mta.port("SMTP_SUBMIT", "TLS_PORT")), "--tlsc",
                        "--auth", "LOGIN", "--auth-user", "alice",
                        "--auth-password", "alice-password",
                        "--from", "alice@example.com", "--to", "bob@example.com"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
