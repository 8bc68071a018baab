"""SASL in IMAP (AUTHENTICATE, SASL-IR) and POP3 (AUTH) through the
auth-method modules: PLAIN with and without an initial response, LOGIN,
SCRAM-SHA-256 with the server's final data, cancelled and malformed
exchanges.  Skipped when no auth-method module offers the mechanisms."""
import base64
import hashlib
import hmac
import imaplib
import os
import poplib

import pytest

import mailaccess
from mailaccess import Raw


@pytest.fixture
def srv(cursus):
    s = mailaccess.access_server(cursus, plaintext=False)
    s.start()
    mailaccess.wait_ready(s)
    c = Raw(s.port("IMAP", "TLS_PORT"), tls=True)
    caps = c.line()
    if "AUTH=PLAIN" not in caps:
        pytest.skip("no auth-method module offers PLAIN: %s" % caps)
    return s


def b64(data):
    return base64.b64encode(data).decode()


class Scram:
    """The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677)."""

    def __init__(self, user, password):
        self.user, self.password = user, password
        self.nonce = b64(os.urandom(18))
        self.first_bare = "n=%s,r=%s" % (user, self.nonce)

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first):
        fields = dict(f.split("=", 1) for f in server_first.decode().split(","))
        assert fields["r"].startswith(self.nonce)
        salt = base64.b64decode(fields["s"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt,
                                     int(fields["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=%s" % fields["r"]
        auth = ",".join([self.first_bare, server_first.decode(), without_proof])
        sig = hmac.new(stored, auth.encode(), hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.expect = hmac.new(server_key, auth.encode(), hashlib.sha256).digest()
        return ("%s,p=%s" % (without_proof, b64(proof))).encode()

    def check(self, server_final):
        assert server_final.decode() == "v=" + b64(self.expect)


def test_authenticate_plain_and_login(srv):
    c = Raw(srv.port("IMAP", "TLS_PORT"), tls=True)
    c.line()
    creds = b64(b"\0alice\0alice-password")
    r = c.cmd("a", "AUTHENTICATE PLAIN " + creds)
    assert r[-1].startswith("a OK [CAPABILITY"), r
    c = Raw(srv.port("IMAP", "TLS_PORT"), tls=True)
    c.line()
    c.send("b AUTHENTICATE PLAIN\r\n")
    assert c.line() == "+ "
    c.send(creds + "\r\n")
    assert c.until("b ")[-1].startswith("b OK")
    # wrong password, cancelled exchange, bad base64: the session goes on
    c = Raw(srv.port("IMAP", "TLS_PORT"), tls=True)
    c.line()
    r = c.cmd("c", "AUTHENTICATE PLAIN " + b64(b"\0alice\0nope"))
    assert r[-1] == "c NO [AUTHENTICATIONFAILED] Authentication failed."
    c.send("d AUTHENTICATE PLAIN\r\n")
    c.line()
    c.send("*\r\n")
    assert c.line() == "d BAD Authentication cancelled."
    assert c.cmd("e", "AUTHENTICATE PLAIN !!!")[-1].startswith("e BAD")
    assert c.cmd("f", "AUTHENTICATE X-NOSUCH")[-1].startswith("f NO")
    # imaplib's LOGIN mechanism handling, over STARTTLS
    m = imaplib.IMAP4("127.0.0.1", srv.port("IMAP"))
    m.starttls(ssl_context=mailaccess.client_tls())
    typ, _ = m.authenticate("PLAIN", lambda _: b"\0bob\0bob-password")
    assert typ == "OK"
    m.logout()


def test_plain_refused_without_tls(srv):
    c = Raw(srv.port("IMAP"))
    caps = c.line()
    assert "AUTH=PLAIN" not in caps
    r = c.cmd("a", "AUTHENTICATE PLAIN " + b64(b"\0alice\0alice-password"))
    assert r[-1].startswith("a NO [PRIVACYREQUIRED]")


def test_scram_sha_256(srv):
    c = Raw(srv.port("IMAP", "TLS_PORT"), tls=True)
    if "AUTH=SCRAM-SHA-256" not in c.line():
        pytest.skip("no SCRAM-SHA-256")
    s = Scram("alice", "alice-password")
    c.send("a AUTHENTICATE SCRAM-SHA-256 %s\r\n" % b64(s.first()))
    line = c.line()
    assert line.startswith("+ ")
    c.send(b64(s.final(base64.b64decode(line[2:]))) + "\r\n")
    line = c.line()
    assert line.startswith("+ "), line
    s.check(base64.b64decode(line[2:]))
    c.send("\r\n")
    assert c.until("a ")[-1].startswith("a OK")


def test_pop3_auth(srv):
    p = poplib.POP3_SSL("127.0.0.1", srv.port("POP3", "TLS_PORT"),
                        context=mailaccess.client_tls())
    assert any(m == "PLAIN" for m in p.capa().get("SASL", []))
    resp = p._shortcmd("AUTH PLAIN " + b64(b"\0alice\0alice-password"))
    assert resp.startswith(b"+OK Logged in")
    p.quit()
    c = Raw(srv.port("POP3", "TLS_PORT"), tls=True)
    c.line()
    c.send("AUTH PLAIN\r\n")
    assert c.line() == "+ "
    c.send(b64(b"\0alice\0wrong") + "\r\n")
    assert c.line() == "-ERR [AUTH] Authentication failed"
    c.send("AUTH PLAIN\r\n")
    c.line()
    c.send("*\r\n")
    assert c.line() == "-ERR Authentication cancelled"
