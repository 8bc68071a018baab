"""Shared folders between users with ACLs (RFC 4314), isolation of one
user's folders from another, and quota (RFC 9208) reported to the client
and enforced on APPEND and COPY."""
import re

import pytest

import mailaccess
from test_imap import append, fetch_literal, login, simple


@pytest.fixture
def srv(cursus):
    users = mailaccess.user_ldif("quser", "quser-pass", mailQuota="4000",
                                 mailMsgQuota="3")
    s = mailaccess.access_server(cursus, users=users)
    s.start()
    mailaccess.wait_ready(s)
    return s


def test_users_cannot_reach_each_others_folders(srv):
    a = login(srv)
    assert a.cmd("c", "CREATE Private")[-1].startswith("c OK")
    append(a, "Private", simple("secret", "the secret text\r\n"))
    append(a, "INBOX", simple("inbox secret"))
    b = login(srv, "bob", "bob-password")
    b.cmd("s", "SELECT INBOX")
    append(b, "INBOX", simple("bob's own"))
    r = b.cmd("l", 'LIST "" "*"')
    assert not any("alice" in l or "Private" in l for l in r), r
    r = b.cmd("l2", 'LIST "Other Users/" "*"')
    assert r == ["l2 OK LIST completed."], r
    for name in ("Other Users/alice/Private", "Other Users/alice/INBOX",
                 "Other Users/alice"):
        for cmd in ("SELECT", "EXAMINE", "STATUS %s (MESSAGES)",
                    "GETACL", "MYRIGHTS", "DELETE"):
            text = cmd % ('"%s"' % name) if "%" in cmd else '%s "%s"' % (cmd, name)
            r = b.cmd("x", text)
            assert r[-1].startswith("x NO"), (text, r)
            assert not any("secret" in l for l in r)
        b.cmd("s2", "SELECT INBOX")
        r = b.cmd("y", 'COPY 1 "%s"' % name)
        assert r[-1].startswith("y NO"), r
        b.send('z APPEND "%s" {5}\r\n' % name)
        assert b.line().startswith("z NO")
        r = b.cmd("w", 'RENAME "%s" Stolen' % name)
        assert r[-1].startswith("w NO"), r
    # alice's messages are untouched
    r = a.cmd("st", "STATUS Private (MESSAGES)")
    assert r[0] == "* STATUS Private (MESSAGES 1)"


def test_shared_folder_with_acl(srv):
    a = login(srv)
    a.cmd("c", "CREATE Projects")
    append(a, "Projects", simple("plan", "the plan\r\n"))
    b = login(srv, "bob", "bob-password")
    shared = '"Other Users/alice/Projects"'
    assert b.cmd("s", "SELECT " + shared)[-1].startswith("s NO")
    # read rights: visible, selectable, readable; no writes
    assert a.cmd("a1", "SETACL Projects bob lr")[-1] == "a1 OK Setacl completed."
    r = a.cmd("a2", "GETACL Projects")
    assert r[0].startswith("* ACL Projects") and " bob lr" in r[0], r
    r = b.cmd("l", 'LIST "" "Other Users/*"')
    assert '* LIST (\\HasNoChildren) "/" "Other Users/alice/Projects"' in r, r
    assert b.cmd("m", "MYRIGHTS " + shared)[0] == \
        '* MYRIGHTS "Other Users/alice/Projects" lr'
    r = b.cmd("s2", "SELECT " + shared)
    assert r[-1].startswith("s2 OK"), r
    out = fetch_literal(b, "f", "FETCH 1 BODY[TEXT]")
    assert b"the plan" in out
    r = b.cmd("st", "STORE 1 +FLAGS (\\Flagged)")
    assert "\\Flagged" not in " ".join(r[:-1])
    assert b.cmd("g", "GETACL " + shared)[-1].startswith("g NO")
    b.cmd("s3", "SELECT INBOX")
    append(b, "INBOX", simple("to share"))
    r = b.cmd("cp", "COPY 1 " + shared)
    assert r[-1].startswith("cp NO [NOPERM]"), r
    # insert right: COPY and APPEND work
    a.cmd("a3", "SETACL Projects bob +i")
    assert b.cmd("cp2", "COPY 1 " + shared)[-1].startswith("cp2 OK")
    r = a.cmd("a4", "STATUS Projects (MESSAGES)")
    assert r[0] == "* STATUS Projects (MESSAGES 2)"
    r = b.cmd("lr", "LISTRIGHTS %s bob" % shared)
    assert r[-1].startswith("lr NO"), r
    r = a.cmd("lr2", "LISTRIGHTS Projects bob")
    assert r[0].startswith("* LISTRIGHTS Projects bob "), r
    # rights taken away again
    assert a.cmd("a5", "DELETEACL Projects bob")[-1] == "a5 OK Deleteacl completed."
    assert b.cmd("s4", "SELECT " + shared)[-1].startswith("s4 NO")
    r = b.cmd("l2", 'LIST "" "Other Users/*"')
    assert r == ["l2 OK LIST completed."], r
    # malformed rights are BAD
    assert a.cmd("a6", "SETACL Projects bob lrZ")[-1].startswith("a6 BAD")


def test_quota_reported_and_enforced(srv):
    c = login(srv, "quser", "quser-pass")
    c.cmd("s", "SELECT INBOX")
    r = c.cmd("q", "GETQUOTAROOT INBOX")
    assert re.match(r'\* QUOTAROOT INBOX "?user/quser"?', r[0]), r
    assert re.match(r'\* QUOTA "?user/quser"? \(STORAGE 0 3 MESSAGE 0 3\)', r[1]), r
    body = "x" * 1000 + "\r\n"
    append(c, "INBOX", simple("q1", body), tag="A1")
    append(c, "INBOX", simple("q2", body), tag="A2")
    r = c.cmd("q2", "GETQUOTA user/quser")
    m = re.match(r'\* QUOTA "?user/quser"? \(STORAGE (\d+) 3 MESSAGE 2 3\)', r[0])
    assert m and int(m.group(1)) >= 2, r
    # the next message would pass the storage limit
    big = simple("q3", "y" * 3000 + "\r\n")
    c.send("a APPEND INBOX {%d}\r\n" % len(big))
    line = c.line()
    if line.startswith("+"):
        c.send(big + "\r\n")
        line = c.until("a ")[-1]
    assert line.startswith("a NO [OVERQUOTA]"), line
    c.cmd("cr", "CREATE Copies")
    r = c.cmd("cp", "COPY 1:2 Copies")
    assert r[-1].startswith("cp NO [OVERQUOTA]"), r
    # the message count limit
    append(c, "INBOX", simple("q3", "small\r\n"), tag="A3")
    c.send("b APPEND INBOX {10}\r\n")
    line = c.line()
    if line.startswith("+"):
        c.send("0123456789\r\n")
        line = c.until("b ")[-1]
    assert line.startswith("b NO [OVERQUOTA]"), line
    assert c.cmd("sq", "SETQUOTA user/quser (STORAGE 10)")[-1].startswith("sq NO")
    # STATUS SIZE agrees with the usage
    r = c.cmd("st", "STATUS INBOX (MESSAGES SIZE)")
    assert r[0].startswith("* STATUS INBOX (MESSAGES 3 SIZE ")
