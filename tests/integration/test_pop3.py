"""The POP3 server (proto_pop3) with Python's poplib, a raw socket and
curl: RFC 1939 commands, CAPA, UIDL, TOP, the exclusive maildrop lock,
deletion only at QUIT, PIPELINING, STLS and implicit TLS, RESP-CODES, and
malformed input that must leave the session going."""
import poplib
import subprocess
import time

import pytest

import mailaccess
from mailaccess import Raw
from test_imap import append, login as imap_login, simple


@pytest.fixture
def srv(cursus):
    s = mailaccess.access_server(cursus)
    s.start()
    mailaccess.wait_ready(s, "POP3")
    return s


def fill(srv, n, user="alice", password="alice-password"):
    """N messages in USER's INBOX (over IMAP); returns them."""
    c = imap_login(srv, user, password)
    msgs = []
    for i in range(n):
        body = "".join(".line %d of message %d\r\n" % (k, i) for k in range(20))
        m = simple("pop %d" % i, body)
        append(c, "INBOX", m, tag="A%d" % i)
        msgs.append(m.encode())
    c.cmd("z", "LOGOUT")
    return msgs


def pop(srv, user="alice", password="alice-password"):
    p = poplib.POP3("127.0.0.1", srv.port("POP3"), timeout=10)
    p.user(user)
    p.pass_(password)
    return p


def test_capa_and_login(srv):
    p = poplib.POP3("127.0.0.1", srv.port("POP3"))
    caps = p.capa()
    for cap in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
                "USER", "STLS"):
        assert cap in caps, caps
    with pytest.raises(poplib.error_proto) as e:
        p.user("alice")
        p.pass_("wrong")
    assert b"-ERR [AUTH] Authentication failed" in e.value.args[0]
    p.close()
    p = pop(srv)
    assert p.stat() == (0, 0)
    p.quit()


def test_retr_top_uidl_dele_quit(srv):
    msgs = fill(srv, 5)
    p = pop(srv)
    count, size = p.stat()
    assert count == 5 and size == sum(len(m) for m in msgs)
    resp, listing, _ = p.list()
    assert [l.split()[1] for l in listing] == [str(len(m)).encode() for m in msgs]
    resp, uidls, _ = p.uidl()
    uids = [l.split()[1] for l in uidls]
    assert len(set(uids)) == 5
    for i, m in enumerate(msgs):
        resp, lines, octets = p.retr(i + 1)
        # poplib undoes the dot-stuffing: the lines are the message's
        assert b"\r\n".join(lines) + b"\r\n" == m
        assert resp.startswith(b"+OK %d octets" % len(m))
    resp, lines, _ = p.top(2, 3)
    head, _, body = msgs[1].partition(b"\r\n\r\n")
    assert lines == head.split(b"\r\n") + [b""] + body.split(b"\r\n")[:3]
    p.dele(1)
    p.dele(3)
    with pytest.raises(poplib.error_proto):
        p.dele(1)
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    assert p.stat()[0] == 3
    p.rset()
    assert p.stat()[0] == 5
    p.dele(2)
    p.quit()
    # deleted at QUIT, and the UIDLs of the others are stable
    p = pop(srv)
    assert p.stat()[0] == 4
    resp, uidls2, _ = p.uidl()
    assert [l.split()[1] for l in uidls2] == [uids[0]] + uids[2:]
    p.quit()


def test_no_deletion_without_quit(srv):
    fill(srv, 3)
    p = pop(srv)
    p.dele(1)
    p.dele(2)
    p.close()  # the connection drops, no QUIT
    time.sleep(0.3)
    p = pop(srv)
    assert p.stat()[0] == 3
    p.quit()


def test_exclusive_lock(srv):
    fill(srv, 1)
    p = pop(srv)
    q = poplib.POP3("127.0.0.1", srv.port("POP3"))
    q.user("alice")
    with pytest.raises(poplib.error_proto) as e:
        q.pass_("alice-password")
    assert e.value.args[0].startswith(b"-ERR [IN-USE]")
    q.close()
    p.quit()
    q = pop(srv)
    assert q.stat()[0] == 1
    q.quit()


def test_pipelining_and_raw_protocol(srv):
    msgs = fill(srv, 2)
    c = Raw(srv.port("POP3"))
    assert c.line() == "+OK Cursus POP3 ready"
    c.send("USER alice\r\nPASS alice-password\r\nSTAT\r\nRETR 1\r\nLIST 2\r\n"
           "UIDL 2\r\nNOOP\r\nQUIT\r\n")
    assert c.line() == "+OK"
    assert c.line().startswith("+OK Logged in, 2 messages")
    assert c.line() == "+OK 2 %d" % sum(len(m) for m in msgs)
    assert c.line() == "+OK %d octets" % len(msgs[0])
    body = []
    while True:
        line = c.line()
        if line == ".":
            break
        body.append(line)
    # lines starting with "." are stuffed on the wire
    assert "..line 0 of message 0" in body
    assert c.line() == "+OK 2 %d" % len(msgs[1])
    assert c.line().startswith("+OK 2 ")
    assert c.line() == "+OK"
    assert c.line() == "+OK Logging out, 0 messages deleted"
    assert c.closed()


def test_malformed_commands(srv):
    c = Raw(srv.port("POP3"))
    c.line()
    for cmd, want in [("RETR 1", "-ERR Log in first"), ("XYZZY", "-ERR Unknown command"),
                      ("", "-ERR Unknown command"), ("PASS x", "-ERR USER first"),
                      ("USER " + "a" * 300, "-ERR Command line too long"),
                      ("LIST  1", "-ERR Unknown command")]:
        c.send(cmd + "\r\n")
        line = c.line()
        assert line.startswith(want.split(" ", 1)[0]) and (
            want in line or line.startswith("-ERR")), (cmd, line)
    c.send("USER alice\r\nPASS alice-password\r\n")
    c.line()
    assert c.line().startswith("+OK Logged in")
    for cmd in ["RETR 0", "RETR 99999999999", "RETR -1", "TOP 1", "DELE x",
                "LIST 4294967296"]:
        c.send(cmd + "\r\n")
        assert c.line().startswith("-ERR"), cmd
    c.send("NOOP\r\n")
    assert c.line() == "+OK"


def test_stls_and_implicit_tls(cursus):
    srv = mailaccess.access_server(cursus, plaintext=False)
    srv.start()
    mailaccess.wait_ready(srv, "POP3")
    p = poplib.POP3("127.0.0.1", srv.port("POP3"))
    assert "USER" not in p.capa()
    with pytest.raises(poplib.error_proto) as e:
        p.user("alice")
    assert b"[AUTH] Plaintext authentication disallowed" in e.value.args[0]
    p.stls(context=mailaccess.client_tls())
    assert "USER" in p.capa() and "STLS" not in p.capa()
    p.user("alice")
    p.pass_("alice-password")
    p.quit()
    p = poplib.POP3_SSL("127.0.0.1", srv.port("POP3", "TLS_PORT"),
                        context=mailaccess.client_tls())
    p.user("alice")
    p.pass_("alice-password")
    assert p.stat()[0] == 0
    p.quit()


def test_curl_pop3(srv):
    msgs = fill(srv, 2)
    url = "pop3://127.0.0.1:%d/2" % srv.port("POP3")
    r = subprocess.run(["curl", "-s", "--user", "alice:alice-password", url],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == msgs[1]
    url = "pop3s://127.0.0.1:%d/" % srv.port("POP3", "TLS_PORT")
    r = subprocess.run(["curl", "-s", "-k", "--user", "alice:alice-password", url],
                       capture_output=True, timeout=30)
    assert r.returncode == 0 and r.stdout.count(b"\r\n") == 2, r


def test_access_filter(cursus):
    srv = mailaccess.access_server(
        cursus, pop3_settings="domain_not_allowed = pop: ALL EXCEPT carol@ALL\n")
    srv.start()
    mailaccess.wait_ready(srv, "POP3")
    c = Raw(srv.port("POP3"))
    assert c.line().startswith("+OK")
    c.send("USER alice\r\nPASS alice-password\r\n")
    c.line()
    assert c.line() == "-ERR [AUTH] Access denied"
    c.send("USER carol\r\nPASS carol-password\r\n")
    c.line()
    assert c.line().startswith("+OK Logged in")
