"""The IMAP server (proto_imap) with Python's imaplib and a raw socket
client: states, every FETCH item, SEARCH keys and charsets, literals and
their limits, UID commands, untagged updates to other sessions, IDLE, the
extensions (UIDPLUS, MOVE, CONDSTORE/QRESYNC, ESEARCH/SEARCHRES, SORT,
THREAD, NAMESPACE, ID, ENABLE, SPECIAL-USE, LIST-EXTENDED/STATUS,
COMPRESS), TLS, and malformed input that must leave the session going."""
import imaplib
import re
import socket
import threading
import time
import zlib

import pytest

import mailaccess
from mailaccess import Raw

MIME = (
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.com>, carol@example.com\r\n"
    "Cc: Erin <erin@example.net>\r\n"
    "Subject: =?utf-8?q?caf=C3=A9?= report\r\n"
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=xx\r\n"
    "\r\n"
    "preamble\r\n"
    "--xx\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 upsilon sigma\r\n"
    "--xx\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAwQ=\r\n"
    "--xx--\r\n")


def simple(subject, body="hello\r\n", extra=""):
    return ("From: Bob <bob@example.com>\r\nTo: alice@example.com\r\n"
            "Subject: %s\r\nDate: Tue, 8 Feb 1994 10:00:00 +0000\r\n%s\r\n%s"
            % (subject, extra, body))


@pytest.fixture
def srv(cursus):
    s = mailaccess.access_server(cursus)
    s.start()
    mailaccess.wait_ready(s)
    return s


def login(srv, user="alice", password="alice-password", tls=False):
    c = Raw(srv.port("IMAP", "TLS_PORT" if tls else "PORT"), tls=tls)
    assert c.line().startswith("* OK [CAPABILITY IMAP4rev1")
    r = c.cmd("L", "LOGIN %s %s" % (user, password))
    assert r[-1].startswith("L OK"), r
    return c


def append(c, box, msg, flags="", tag="A"):
    c.send("%s APPEND %s %s{%d}\r\n" % (tag, box, flags + " " if flags else "",
                                       len(msg.encode())))
    assert c.line().startswith("+ ")
    c.send(msg.encode() + b"\r\n")
    r = c.until(tag + " ")
    assert r[-1].startswith(tag + " OK"), r
    return r


def fetch_literal(c, tag, cmd):
    """Send a FETCH and return the raw bytes of the reply up to the tag."""
    c.send("%s %s\r\n" % (tag, cmd))
    out = b""
    while True:
        line = c.line()
        out += line.encode() + b"\r\n"
        m = re.search(r"\{(\d+)\}$", line)
        if m:
            out += c.read(int(m.group(1)))
        if line.startswith(tag + " "):
            return out


# ---------------------------------------------------------------- states


def test_greeting_capabilities_and_states(srv):
    c = Raw(srv.port("IMAP"))
    greeting = c.line()
    assert greeting.startswith("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ")
    assert "STARTTLS" in greeting and "LITERAL+" in greeting
    r = c.cmd("a", "CAPABILITY")
    assert r[0].startswith("* CAPABILITY IMAP4rev1") and r[1] == "a OK Capability completed."
    # commands of the authenticated state are refused before login
    assert c.cmd("b", "SELECT INBOX")[-1] == "b BAD Log in first SELECT"
    assert c.cmd("c", "NOOP")[-1] == "c OK NOOP completed."
    r = c.cmd("d", "LOGIN alice alice-password")
    assert r[-1].startswith("d OK [CAPABILITY IMAP4rev1 IMAP4rev2 ")
    assert "UIDPLUS" in r[-1] and "QRESYNC" in r[-1] and "COMPRESS=DEFLATE" in r[-1]
    assert c.cmd("e", "LOGIN alice alice-password")[-1] == "e BAD Already logged in LOGIN"
    assert c.cmd("f", "FETCH 1 FLAGS")[-1] == "f BAD Select a mailbox first FETCH"
    r = c.cmd("g", "LOGOUT")
    assert r == ["* BYE Logging out", "g OK Logout completed."]
    assert c.closed()


def test_logindisabled_until_starttls(cursus):
    srv = mailaccess.access_server(cursus, plaintext=False)
    srv.start()
    mailaccess.wait_ready(srv)
    c = Raw(srv.port("IMAP"))
    greeting = c.line()
    assert "LOGINDISABLED" in greeting and "STARTTLS" in greeting
    r = c.cmd("a", "LOGIN alice alice-password")
    assert r[-1].startswith("a NO [PRIVACYREQUIRED]")
    # with TLS the same login works, and the capabilities change
    m = imaplib.IMAP4("127.0.0.1", srv.port("IMAP"))
    m.starttls(ssl_context=mailaccess.client_tls())
    typ, caps = m.capability()
    assert b"LOGINDISABLED" not in caps[0] and b"STARTTLS" not in caps[0]
    assert m.login("alice@example.com", "alice-password")[0] == "OK"
    m.logout()
    # implicit TLS
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.port("IMAP", "TLS_PORT"),
                          ssl_context=mailaccess.client_tls())
    assert m.login("alice", "alice-password")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_starttls_discards_injected_commands(cursus):
    """Commands sent in the clear after STARTTLS must never run."""
    srv = mailaccess.access_server(cursus, plaintext=False)
    srv.start()
    mailaccess.wait_ready(srv)
    s = socket.create_connection(("127.0.0.1", srv.port("IMAP")))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
    assert f.readline() == b"a OK Begin TLS negotiation now.\r\n"
    t = mailaccess.client_tls().wrap_socket(s)
    t.sendall(b"c NOOP\r\n")
    t.settimeout(5)
    data = b""
    while b"c OK" not in data:
        data += t.recv(4096)
    assert b"b OK" not in data and b"* CAPABILITY" not in data
    t.close()


def test_wrong_password_and_inactive_user(cursus):
    users = mailaccess.user_ldif("dora", "dora-pass", mailUserStatus="inactive")
    srv = mailaccess.access_server(cursus, users=users)
    srv.start()
    mailaccess.wait_ready(srv)
    c = Raw(srv.port("IMAP"))
    c.line()
    r = c.cmd("a", "LOGIN alice wrong")
    assert r[-1] == "a NO [AUTHENTICATIONFAILED] Authentication failed."
    r = c.cmd("b", "LOGIN dora dora-pass")
    assert r[-1].startswith("b NO")
    r = c.cmd("c", "LOGIN nobody@example.com x")
    assert r[-1] == "c NO [AUTHENTICATIONFAILED] Authentication failed."
    # the session goes on and can still log in
    assert c.cmd("d", "LOGIN alice alice-password")[-1].startswith("d OK")


def test_failed_logins_are_slowed(srv):
    c = Raw(srv.port("IMAP"), timeout=60)
    c.line()
    times = []
    for i in range(4):
        t = time.time()
        r = c.cmd("a%d" % i, "LOGIN bob wrong%d" % i)
        times.append(time.time() - t)
        assert "AUTHENTICATIONFAILED" in r[-1]
    assert times[-1] > times[0] and times[-1] >= 0.5, times


# ---------------------------------------------------------------- mailboxes


def test_mailbox_commands(srv):
    m = imaplib.IMAP4("127.0.0.1", srv.port("IMAP"))
    m.login("alice", "alice-password")
    assert m.create("Projects/2024")[0] == "OK"
    assert m.create("Entwürfe".encode("utf-7").replace(b"+", b"&").decode()
                    if False else "Entw&APw-rfe")[0] == "OK"
    typ, data = m.list()
    names = [d.decode() for d in data]
    # the parent CREATE made is a placeholder until created itself
    assert '(\\Noselect \\HasChildren) "/" Projects' in names
    assert '(\\HasNoChildren) "/" Projects/2024' in names
    assert '(\\HasNoChildren) "/" Entw&APw-rfe' in names
    assert m.select("Projects")[0] == "NO"
    assert m.create("Projects")[0] == "OK"
    assert m.select("Projects")[0] == "OK"
    assert m.create("Projects")[0] == "NO"
    assert m.rename("Projects", "Archive")[0] == "OK"
    typ, data = m.list('""', "Archive/*")
    assert data == [b'(\\HasNoChildren) "/" Archive/2024']
    assert m.subscribe("Archive/2024")[0] == "OK"
    typ, data = m.lsub()
    assert b'"/" Archive/2024' in data[0]
    assert m.delete("INBOX")[0] == "NO"
    assert m.delete("Archive/2024")[0] == "OK"
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    assert re.match(rb"INBOX \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0\)",
                    data[0])
    typ, data = m.select("Nonexistent")
    assert typ == "NO" and b"NONEXISTENT" in data[0]
    # IMAP4rev2 speaks UTF-8 names
    c = login(srv)
    assert c.cmd("e", "ENABLE IMAP4rev2")[0] == "* ENABLED IMAP4rev2"
    r = c.cmd("l", 'LIST "" "Entw*"')
    assert r[0] == '* LIST (\\HasNoChildren) "/" "Entw\u00fcrfe"'


def test_special_use_and_list_extended(srv):
    c = login(srv)
    assert c.cmd("a", "CREATE Sent (USE (\\Sent))")[-1] == "a OK Create completed."
    assert c.cmd("b", "CREATE Bin (USE (\\Bogus))")[-1].startswith("b NO [USEATTR]")
    c.cmd("c", "CREATE Lists/one")
    c.cmd("d", "SUBSCRIBE Lists/one")
    r = c.cmd("e", 'LIST (SPECIAL-USE) "" "*"')
    assert r == ['* LIST (\\HasNoChildren \\Sent) "/" Sent',
                 "e OK LIST completed."]
    r = c.cmd("f", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)')
    assert '* LIST (\\Noselect \\HasChildren) "/" Lists ("CHILDINFO" '\
        '("SUBSCRIBED"))' in r, r
    r = c.cmd("g", 'LIST "" ("INBOX" "Sent") RETURN (STATUS (MESSAGES UNSEEN))')
    assert r[:4] == ['* LIST (\\HasNoChildren) "/" INBOX',
                     "* STATUS INBOX (MESSAGES 0 UNSEEN 0)",
                     '* LIST (\\HasNoChildren \\Sent) "/" Sent',
                     "* STATUS Sent (MESSAGES 0 UNSEEN 0)"]
    r = c.cmd("h", 'LIST "" ""')
    assert r[0] == '* LIST (\\Noselect) "/" ""'
    r = c.cmd("i", "NAMESPACE")
    assert r[0] == ('* NAMESPACE (("" "/")) (("Other Users/" "/")) '
                    '(("Shared Folders/" "/"))')


# ---------------------------------------------------------------- FETCH


def test_fetch_every_item(srv):
    c = login(srv)
    c.cmd("s", "SELECT INBOX")
    r = append(c, "INBOX", MIME, '(\\Flagged $Work) "07-Feb-1994 21:52:25 -0800"')
    assert re.match(r"A OK \[APPENDUID \d+ 1\] Append completed.", r[-1])
    out = fetch_literal(c, "f", "FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE "
                                "ENVELOPE)")
    size = len(MIME.encode())
    flags = re.search(rb"FLAGS \(([^)]*)\)", out).group(1).split()
    assert sorted(flags) == [b"$Work", b"\\Flagged", b"\\Recent"]
    assert (b'INTERNALDATE "07-Feb-1994 21:52:25 -0800" RFC822.SIZE %d '
            b'ENVELOPE (' % size) in out
    assert b'"Mon, 7 Feb 1994 21:52:25 -0800"' in out
    assert b'(("Bob" NIL "bob" "example.com")(NIL NIL "carol" "example.com"))' in out
    assert b'"<m1@example.com>"' in out
    out = fetch_literal(c, "g", "FETCH 1 (BODYSTRUCTURE BODY)")
    assert b'BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable"' in out
    assert b'"mixed" ("boundary" "xx")' in out
    assert b' BODY (("text" "plain"' in out
    out = fetch_literal(c, "h", "FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] "
                                "BODY.PEEK[HEADER.FIELDS (Subject FROM)] "
                                "BODY.PEEK[HEADER.FIELDS.NOT (Subject From To Cc "
                                "Date Message-ID MIME-Version Content-Type)] "
                                "BODY.PEEK[]<0.20> BODY.PEEK[TEXT]<2.6>)")
    assert b"BODY[1] {23}\r\ncaf=C3=A9 upsilon sigma " in out
    assert (b"BODY[2.MIME] {77}\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n") in out
    hdr = (b"From: Alice <alice@example.com>\r\n"
           b"Subject: =?utf-8?q?caf=C3=A9?= report\r\n\r\n")
    assert b"BODY[HEADER.FIELDS (SUBJECT FROM)] {%d}\r\n" % len(hdr) + hdr in out
    assert b"BODY[HEADER.FIELDS.NOT (SUBJECT FROM TO CC DATE MESSAGE-ID " \
           b"MIME-VERSION CONTENT-TYPE)] {2}\r\n\r\n" in out
    assert b"BODY[]<0> {20}\r\nFrom: Alice <alice@e" in out
    assert b"BODY[TEXT]<2> {6}\r\neamble" in out
    assert b"\\Seen" not in out
    out = fetch_literal(c, "i", "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] "
                                "BINARY.PEEK[2] BINARY.SIZE[2])")
    assert "BINARY[1] {19}\r\ncafé upsilon sigma ".encode() in out
    assert b"BINARY.SIZE[1] 19" in out
    assert b"BINARY[2] ~{5}\r\n\x00\x01\x02\x03\x04" in out
    assert b"BINARY.SIZE[2] 5" in out
    # BODY[] sets \Seen and reports the new flags
    out = fetch_literal(c, "j", "FETCH 1 BODY[]")
    assert out.startswith(b"* 1 FETCH (BODY[] {%d}\r\n" % size)
    assert MIME.encode() in out
    flags = re.search(rb"FLAGS \(([^)]*)\)", out).group(1).split()
    assert sorted(flags) == [b"$Work", b"\\Flagged", b"\\Recent", b"\\Seen"]
    out = fetch_literal(c, "k", "FETCH 1 (RFC822.HEADER RFC822.TEXT)")
    assert b"RFC822.HEADER {%d}" % MIME.index("\r\n\r\n") in out or \
        b"RFC822.HEADER {%d}" % (MIME.index("\r\n\r\n") + 4) in out
    # a part that does not exist
    out = fetch_literal(c, "l", "FETCH 1 BODY.PEEK[7]")
    assert b"BODY[7] NIL" in out
    out = fetch_literal(c, "m", "FETCH 1 FAST")
    assert b"FLAGS" in out and b"INTERNALDATE" in out and b"RFC822.SIZE" in out
    # sequence numbers past the end are BAD, UIDs past the end are ignored
    assert c.cmd("n", "FETCH 2 FLAGS")[-1].startswith("n BAD")
    assert c.cmd("o", "UID FETCH 5:9 FLAGS") == ["o OK Fetch completed."]
    r = c.cmd("p", "UID FETCH 9:* UID")
    assert r[0] == "* 1 FETCH (UID 1)"


def test_fetch_large_message_streams(srv):
    c = login(srv)
    c.cmd("s", "SELECT INBOX")
    big = simple("big", "".join("line %06d of a long message\r\n" % i
                               for i in range(100000)))
    append(c, "INBOX", big)
    out = fetch_literal(c, "f", "FETCH 1 BODY.PEEK[]")
    assert big.encode() in out
    assert out.endswith(b"f OK Fetch completed.\r\n")


# ---------------------------------------------------------------- literals


def test_literals_and_limits(cursus):
    srv = mailaccess.access_server(cursus, imap_settings=(
        "max_literal_size = 2K\nmax_message_size = 10K\n"
        "max_line_length = 2K\n"))
    srv.start()
    mailaccess.wait_ready(srv)
    c = Raw(srv.port("IMAP"))
    c.line()
    # synchronising and non-synchronising literals in LOGIN
    c.send("a LOGIN {5}\r\n")
    assert c.line() == "+ Ready for literal data"
    c.send("alice {14+}\r\nalice-password\r\n")
    assert c.line().startswith("a OK")
    c.cmd("s", "SELECT INBOX")
    # a synchronising literal over the limit: refused before it comes
    c.send("b CREATE {3000}\r\n")
    assert c.line() == "b BAD [TOOBIG] literal too large"
    # a non-synchronising one is read, thrown away, and refused
    c.send("c CREATE {3000+}\r\n" + "x" * 3000 + "\r\n")
    assert c.line() == "c BAD [TOOBIG] literal too large"
    # an APPEND over the message limit
    c.send("d APPEND INBOX {20000}\r\n")
    assert c.line() == "d NO [TOOBIG] Message too large"
    c.send("e APPEND INBOX {20000+}\r\n" + "y" * 20000 + "\r\n")
    assert c.line() == "e NO [TOOBIG] Message too large"
    # an APPEND to a mailbox that does not exist
    c.send("f APPEND Nowhere {10}\r\n")
    assert c.line().startswith("f NO [TRYCREATE]")
    # a binary literal (RFC 3516) keeps its octets
    msg = b"Subject: bin\r\n\r\n\x01\x02\x03 binary\r\n"
    c.send(b"g APPEND INBOX ~{%d}\r\n" % len(msg))
    assert c.line().startswith("+ ")
    c.send(msg + b"\r\n")
    assert c.until("g ")[-1].startswith("g OK [APPENDUID")
    # an over-long line: BAD, and the session goes on
    c.send("h NOOP " + "z" * 5000 + "\r\n")
    assert c.line().startswith("h BAD")
    assert c.cmd("i", "NOOP")[-1] == "i OK NOOP completed."
    # the mailbox name can be a literal too
    c.send("j APPEND {5}\r\n")
    assert c.line().startswith("+ ")
    c.send("INBOX {%d+}\r\n" % len(msg) + msg.decode("latin-1") + "\r\n")
    assert c.until("j ")[-1].startswith("j OK [APPENDUID")


def test_malformed_commands_keep_the_session(cursus):
    srv = mailaccess.access_server(cursus, imap_settings="max_bad_commands = 8")
    srv.start()
    mailaccess.wait_ready(srv)
    c = login(srv)
    c.cmd("s", "SELECT INBOX")
    cases = {
        "a1 FOO": "a1 BAD Unknown command FOO",
        "a2 FETCH": "a2 BAD Error in IMAP command FETCH: missing argument",
        "a3 FETCH 1:x FLAGS": "a3 BAD Error in IMAP command FETCH: invalid sequence set",
        "a4 SEARCH (((": "a4 BAD",
        "a5 STORE 1 +FLAGS (\\Bogus)": "a5 BAD",
        '"a6" NOOP': "* BAD Error in IMAP command: missing or invalid tag",
    }
    for cmd, want in cases.items():
        tag = cmd.split()[0]
        c.send(cmd + "\r\n")
        line = c.line()
        assert line.startswith(want), (cmd, line)
    assert c.cmd("ok", "NOOP")[-1] == "ok OK NOOP completed."
    # NUL and 8-bit garbage
    c.send(b"z1 \x00\xff\xfe\r\n")
    assert c.line().startswith("z1 BAD")
    c.send(b"z2 NOOP\r\n")
    assert c.line() == "z2 OK NOOP completed."
    # too many errors end the session
    for i in range(10):
        try:
            c.send("x%d BOGUS\r\n" % i)
        except OSError:
            break
    rest = b""
    try:
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            rest += chunk
    except OSError:
        pass
    assert b"* BYE Too many invalid commands" in c.buf + rest


# ---------------------------------------------------------------- SEARCH


def test_search_keys_and_charsets(srv):
    c = login(srv)
    c.cmd("s", "SELECT INBOX")
    append(c, "INBOX", MIME, "(\\Flagged)")
    append(c, "INBOX", simple("weekly report", "numbers\r\n"), "(\\Seen $Work)")
    append(c, "INBOX", simple("Re: weekly report", "more numbers " * 200 + "\r\n",
                              "In-Reply-To: <x@y>\r\n"))
    cases = [
        ("ALL", "1 2 3"),
        ("FLAGGED", "1"), ("UNFLAGGED", "2 3"), ("SEEN", "2"), ("UNSEEN", "1 3"),
        ("KEYWORD $Work", "2"), ("UNKEYWORD $Work", "1 3"),
        ("SUBJECT weekly", "2 3"), ('SUBJECT "RE: WEEKLY"', "3"),
        ("FROM alice", "1"), ("TO carol", "1"), ("CC erin", "1"),
        ("BODY upsilon", "1"), ('TEXT "In-Reply-To"', "3"),
        ("HEADER Message-ID m1@example.com", "1"), ('HEADER In-Reply-To ""', "3"),
        ("LARGER 400", "1 3"), ("SMALLER 400", "2"),
        ("SENTON 7-Feb-1994", "1"), ("SENTSINCE 8-Feb-1994", "2 3"),
        ("SENTBEFORE 8-Feb-1994", "1"), ("SINCE 1-Jan-2000", "1 2 3"),
        ("BEFORE 1-Jan-2000", ""),
        ("OR FLAGGED SEEN", "1 2"), ("NOT (FLAGGED SEEN)", "1 2 3"),
        ("NOT FLAGGED NOT SEEN", "3"), ("2:3 UNSEEN", "3"), ("UID 1,3", "1 3"),
        ("YOUNGER 3600", "1 2 3"), ("OLDER 3600", ""),
        ("NEW", "1 3"), ("OLD", ""), ("RECENT", "1 2 3"),
    ]
    for key, want in cases:
        r = c.cmd("q", "SEARCH " + key)
        assert r[0] == ("* SEARCH " + want).rstrip(), (key, r)
        assert r[-1] == "q OK Search completed."
    # UTF-8 search strings, as a literal
    word = "café".encode()
    c.send(b"u SEARCH CHARSET UTF-8 SUBJECT {%d}\r\n" % len(word))
    assert c.line().startswith("+ ")
    c.send(word + b"\r\n")
    assert c.until("u ")[0] == "* SEARCH 1"
    r = c.cmd("v", 'SEARCH CHARSET ISO-8859-1 BODY "sigma"')
    assert r[0] == "* SEARCH 1"
    r = c.cmd("w", "SEARCH CHARSET X-BOGUS ALL")
    assert r[-1].startswith("w NO [BADCHARSET")
    r = c.cmd("x", "UID SEARCH SUBJECT weekly")
    assert r[0] == "* SEARCH 2 3"
    assert c.cmd("y", "SEARCH 9")[-1].startswith("y BAD")


def test_esearch_searchres_and_condstore(srv):
    c = login(srv)
    c.cmd("s", "SELECT INBOX (CONDSTORE)")
    for i in range(5):
        append(c, "INBOX", simple("m%d" % i), tag="A%d" % i)
    r = c.cmd("a", "SEARCH RETURN (MIN MAX COUNT ALL) 2:5")
    assert r[0] == '* ESEARCH (TAG "a") MIN 2 MAX 5 COUNT 4 ALL 2:5'
    r = c.cmd("b", "UID SEARCH RETURN () SUBJECT m3")
    assert r[0] == '* ESEARCH (TAG "b") UID ALL 4'
    r = c.cmd("c", "SEARCH RETURN (COUNT) SUBJECT nothing")
    assert r[0] == '* ESEARCH (TAG "c") COUNT 0'
    # SEARCHRES: "$" in later commands
    r = c.cmd("d", "SEARCH RETURN (SAVE) 2,4")
    assert r == ["d OK Search completed."]
    r = c.cmd("e", "FETCH $ (UID)")
    assert r[:2] == ["* 2 FETCH (UID 2)", "* 4 FETCH (UID 4)"]
    r = c.cmd("f", "STORE $ +FLAGS.SILENT (\\Answered)")
    assert r[-1] == "f OK Store completed."
    # CONDSTORE: MODSEQ in FETCH, CHANGEDSINCE, UNCHANGEDSINCE, SEARCH MODSEQ
    r = c.cmd("g", "FETCH 1:* (MODSEQ)")
    modseqs = {int(m.group(1)): int(m.group(2)) for m in
               (re.match(r"\* (\d+) FETCH \(MODSEQ \((\d+)\)\)", l) for l in r[:-1]) if m}
    assert len(modseqs) == 5 and modseqs[2] > modseqs[1]
    # 2 and 4 changed after every message was there
    r = c.cmd("h", "FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % modseqs[5])
    assert [l.split()[1] for l in r[:-1]] == ["2", "4"], r
    r = c.cmd("i", "STORE 1,2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % modseqs[5])
    assert r[-1] == "i OK [MODIFIED 2] Conditional STORE failed."
    assert any(l.startswith("* 1 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (") for l in r)
    r = c.cmd("j", "SEARCH MODSEQ %d" % (modseqs[5] + 1))
    assert re.match(r"\* SEARCH 1 2 4 \(MODSEQ \d+\)", r[0]), r


def test_sort_and_thread(srv):
    c = login(srv)
    c.cmd("s", "SELECT INBOX")
    msgs = [
        ("From: b@x\r\nSubject: Apple\r\nDate: Tue, 1 Feb 2000 10:00:00 +0000\r\n"
         "Message-ID: <1@x>\r\n\r\nx\r\n"),
        ("From: a@x\r\nSubject: Re: Apple\r\nDate: Tue, 1 Feb 2000 12:00:00 +0000\r\n"
         "Message-ID: <2@x>\r\nReferences: <1@x>\r\n\r\nxx\r\n"),
        ("From: c@x\r\nSubject: banana\r\nDate: Mon, 31 Jan 2000 10:00:00 +0000\r\n"
         "Message-ID: <3@x>\r\n\r\nxxxxxxxxxx\r\n"),
        ("From: d@x\r\nSubject: Re: Apple\r\nDate: Wed, 2 Feb 2000 10:00:00 +0000\r\n"
         "Message-ID: <4@x>\r\nIn-Reply-To: <2@x>\r\n\r\nxxx\r\n"),
        ("From: e@x\r\nSubject: [list] Fwd: apple\r\nDate: Thu, 3 Feb 2000 10:00:00 +0000\r\n"
         "Message-ID: <5@x>\r\n\r\nxxxx\r\n"),
    ]
    for i, m in enumerate(msgs):
        append(c, "INBOX", m, tag="A%d" % i)
    assert c.cmd("a", "SORT (SUBJECT) UTF-8 ALL")[0] == "* SORT 1 2 4 5 3"
    assert c.cmd("b", "SORT (DATE) UTF-8 ALL")[0] == "* SORT 3 1 2 4 5"
    by_size = sorted(range(1, 6), key=lambda i: (-len(msgs[i - 1]), i))
    assert c.cmd("c", "SORT (REVERSE SIZE) UTF-8 ALL")[0] == \
        "* SORT " + " ".join(map(str, by_size))
    assert c.cmd("d", "SORT (FROM) UTF-8 ALL")[0] == "* SORT 2 1 3 4 5"
    assert c.cmd("e", "UID SORT (REVERSE DATE) UTF-8 SUBJECT apple")[0] == \
        "* SORT 5 4 2 1"
    # 2 answers 1, 4 answers 2, 5 forwards 1 (same base subject)
    assert c.cmd("f", "THREAD REFERENCES UTF-8 ALL")[0] == \
        "* THREAD (3)(1 (2 4)(5))"
    r = c.cmd("h", "THREAD ORDEREDSUBJECT UTF-8 ALL")[0]
    assert r == "* THREAD (3)(1 (2)(4)(5))", r
    assert c.cmd("i", "THREAD BOGUS UTF-8 ALL")[-1].startswith("i BAD")


# ---------------------------------------------------------------- changes


def test_store_copy_move_expunge(srv):
    c = login(srv)
    c.cmd("s", "SELECT INBOX")
    for i in range(4):
        append(c, "INBOX", simple("s%d" % i), tag="A%d" % i)
    r = c.cmd("a", "STORE 1 +FLAGS (\\Answered $Label1)")
    assert r[0] == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)"
    assert "* 1 FETCH (FLAGS (\\Answered \\Recent $Label1))" in r
    r = c.cmd("b", "STORE 1 -FLAGS.SILENT ($Label1)")
    assert r == ["b OK Store completed."]
    r = c.cmd("c", "UID STORE 2 FLAGS (\\Draft)")
    assert r[0] == "* 2 FETCH (FLAGS (\\Draft \\Recent) UID 2)"
    c.cmd("d", "CREATE Keep")
    r = c.cmd("e", "COPY 1:2 Keep")
    m = re.match(r"e OK \[COPYUID (\d+) 1:2 1:2\] Copy completed.", r[-1])
    assert m, r
    r = c.cmd("f", "COPY 1 Nowhere")
    assert r[-1].startswith("f NO [TRYCREATE]")
    r = c.cmd("g", "UID MOVE 3 Keep")
    assert r[0].startswith("* OK [COPYUID ") and r[0].endswith(" 3 3] Moved UIDs.")
    assert r[1] == "* 3 EXPUNGE" and r[-1] == "g OK Move completed."
    r = c.cmd("h", "STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    r = c.cmd("i", "UID EXPUNGE 2")
    assert r == ["* 2 EXPUNGE", "i OK Expunge completed."]
    r = c.cmd("j", "EXPUNGE")
    assert r == ["* 1 EXPUNGE", "* 1 EXPUNGE", "j OK Expunge completed."]
    r = c.cmd("k", "STATUS Keep (MESSAGES)")
    assert r[0] == "* STATUS Keep (MESSAGES 3)"
    c.cmd("l", "SELECT Keep")
    c.cmd("m", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.cmd("n", "CLOSE")[-1] == "n OK Close completed."
    assert c.cmd("o", "STATUS Keep (MESSAGES)")[0] == "* STATUS Keep (MESSAGES 2)"
    # EXAMINE is read-only: no \Seen, no changes
    c.cmd("p", "EXAMINE Keep")
    r = c.cmd("q", "STORE 1 +FLAGS (\\Seen)")
    assert r[-1].startswith("q NO [READ-ONLY]")
    out = fetch_literal(c, "r", "FETCH 1 BODY[]")
    assert b"\\Seen" not in out


def test_updates_reach_other_sessions(srv):
    a = login(srv)
    b = login(srv)
    a.cmd("s", "SELECT INBOX")
    b.cmd("s", "SELECT INBOX")
    append(b, "INBOX", simple("one"), tag="B1")
    append(b, "INBOX", simple("two"), tag="B2")
    r = a.cmd("n", "NOOP")
    assert "* 2 EXISTS" in r
    b.cmd("f", "STORE 1 +FLAGS (\\Flagged)")
    r = a.cmd("n2", "NOOP")
    assert "* 1 FETCH (FLAGS (\\Flagged))" in r or \
        "* 1 FETCH (FLAGS (\\Flagged \\Recent))" in r, r
    b.cmd("d", "STORE 1 +FLAGS (\\Deleted)")
    b.cmd("e", "EXPUNGE")
    # no EXPUNGE during FETCH: it waits for the next command that allows it
    r = a.cmd("x", "FETCH 1:* (UID)")
    assert not any(l.startswith("* ") and l.endswith(" EXPUNGE") for l in r)
    assert r[-1].startswith("x NO [EXPUNGEISSUED]") or r[-1].startswith("x OK")
    r = a.cmd("n3", "NOOP")
    assert "* 1 EXPUNGE" in r


def test_idle_sees_new_mail_within_a_second(srv):
    a = login(srv)
    a.cmd("s", "SELECT INBOX")
    a.send("i IDLE\r\n")
    assert a.line() == "+ idling"
    b = login(srv, "alice", "alice-password")
    times = []
    for n in range(1, 4):
        t = time.time()
        append(b, "INBOX", simple("idle %d" % n), tag="B%d" % n)
        a.sock.settimeout(1.0)
        line = a.line()
        times.append(time.time() - t)
        assert line == "* %d EXISTS" % n, line
        while True:
            a.sock.settimeout(0.3)
            try:
                a.line()
            except socket.timeout:
                break
    assert max(times) < 1.0, times
    a.sock.settimeout(5)
    a.send("DONE\r\n")
    assert a.until("i ")[-1] == "i OK Idle completed."


def test_qresync(srv):
    c = login(srv)
    assert c.cmd("e", "ENABLE QRESYNC")[0] == "* ENABLED QRESYNC"
    r = c.cmd("s", "SELECT INBOX")
    uidvalidity = int(re.search(r"UIDVALIDITY (\d+)", " ".join(r)).group(1))
    for i in range(4):
        append(c, "INBOX", simple("q%d" % i), tag="A%d" % i)
    r = c.cmd("m", "FETCH 4 (MODSEQ)")
    modseq = int(re.search(r"MODSEQ \((\d+)\)", r[0]).group(1))
    c.cmd("d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    r = c.cmd("x", "EXPUNGE")
    assert r[0] == "* VANISHED 2"
    c.cmd("f", "STORE 3 +FLAGS (\\Flagged)")
    r = c.cmd("u", "UNSELECT")
    r = c.cmd("q", "SELECT INBOX (QRESYNC (%d %d 1:4))" % (uidvalidity, modseq))
    assert "* VANISHED (EARLIER) 2" in r, r
    # seq 3 is UID 4 now that UID 2 is gone
    assert any(l.startswith("* 3 FETCH (FLAGS (\\Flagged") and "UID 4" in l
               for l in r), r
    r = c.cmd("v", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq)
    assert r[0] == "* VANISHED (EARLIER) 2"
    # switching mailboxes announces CLOSED
    c.cmd("c", "CREATE Other")
    r = c.cmd("o", "SELECT Other")
    assert r[0] == "* OK [CLOSED] Previous mailbox closed."


def test_id_enable_compress(srv):
    c = login(srv)
    r = c.cmd("i", 'ID ("name" "pytest" "version" "1")')
    assert r[0].startswith('* ID ("name" "Cursus" "version" ')
    assert c.cmd("e", "ENABLE CONDSTORE X-UNKNOWN")[0] == "* ENABLED CONDSTORE"
    c.cmd("s", "SELECT INBOX")
    append(c, "INBOX", simple("zip", "compressible " * 1000 + "\r\n"))
    r = c.cmd("z", "COMPRESS DEFLATE")
    assert r == ["z OK DEFLATE active."]
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    decomp = zlib.decompressobj(-15)

    def send(text):
        c.sock.sendall(comp.compress(text.encode()) + comp.flush(zlib.Z_SYNC_FLUSH))

    def recv_until(tag):
        data = b""
        while (b"\r\n" + tag.encode() + b" ") not in (b"\r\n" + data):
            chunk = c.sock.recv(65536)
            assert chunk, "connection closed"
            data += decomp.decompress(chunk)
        return data

    send("f FETCH 1 BODY.PEEK[TEXT]\r\n")
    data = recv_until("f")
    assert b"compressible compressible" in data and b"f OK Fetch completed." in data
    send("g COMPRESS DEFLATE\r\n")
    assert b"g NO [COMPRESSIONACTIVE]" in recv_until("g")
    send("h LOGOUT\r\n")
    assert b"* BYE" in recv_until("h")


# ---------------------------------------------------------------- limits


def test_access_filters(cursus):
    srv = mailaccess.access_server(
        cursus, imap_settings=(
            "domain_not_allowed = imaps: ALL $ imap: bob@ALL\n"))
    srv.start()
    mailaccess.wait_ready(srv)
    # implicit TLS refused for everybody, from the connection on
    t = Raw(srv.port("IMAP", "TLS_PORT"), tls=True)
    assert t.line() == "* BYE Access denied"
    assert t.closed()
    # bob is refused at login, alice is not
    c = Raw(srv.port("IMAP"))
    assert c.line().startswith("* OK")
    r = c.cmd("a", "LOGIN bob bob-password")
    assert r[-1] == "a NO [AUTHORIZATIONFAILED] Access denied."
    assert c.cmd("b", "LOGIN alice alice-password")[-1].startswith("b OK")
    srv.stop()
    # only allow filters: everyone else is refused
    srv2 = mailaccess.access_server(
        cursus, imap_settings="domain_allowed = imap: 192.0.2.0/24\n")
    srv2.start()
    mailaccess.wait_ready(srv2)
    c = Raw(srv2.port("IMAP"))
    assert c.line() == "* BYE Access denied"


def test_bad_filter_is_reported(cursus):
    srv = mailaccess.access_server(
        cursus, imap_settings="domain_allowed = imap: 10.0.0.0/99\n")
    srv.start(expect_ok=False)
    assert srv.wait_for_log(
        "[module proto_imap] domain_allowed: filter 1: invalid network")


def test_sessions_per_user(cursus):
    srv = mailaccess.access_server(cursus,
                                   imap_settings="max_sessions_per_user = 2\n")
    srv.start()
    mailaccess.wait_ready(srv)
    a = login(srv)
    b = login(srv)
    c = Raw(srv.port("IMAP"))
    c.line()
    r = c.cmd("x", "LOGIN alice alice-password")
    assert r[-1] == "x NO [LIMIT] Too many sessions of this user."
    assert c.cmd("y", "LOGIN bob bob-password")[-1].startswith("y OK")
    a.cmd("z", "LOGOUT")
    a.closed()
    time.sleep(0.2)
    assert c.cmd("w", "LOGOUT")[0] == "* BYE Logging out"
    d = login(srv)
    d.cmd("q", "LOGOUT")


def test_idle_timeout_before_login(cursus):
    srv = mailaccess.access_server(cursus, imap_settings="login_timeout = 1\n")
    srv.start()
    mailaccess.wait_ready(srv)
    c = Raw(srv.port("IMAP"))
    c.line()
    c.sock.settimeout(5)
    assert c.line() == "* BYE Autologout; idle for too long"
    assert c.closed()


def test_pipelined_commands_answer_in_order(srv):
    c = login(srv)
    c.send("".join("p%d NOOP\r\n" % i for i in range(50)) +
           "q SELECT INBOX\r\nr LIST \"\" *\r\n")
    tags = []
    while len(tags) < 52:
        line = c.line()
        if not line.startswith("*"):
            tags.append(line.split()[0])
    assert tags == ["p%d" % i for i in range(50)] + ["q", "r"]


def test_curl_imap(srv):
    import subprocess
    c = login(srv)
    append(c, "INBOX", simple("for curl", "curl body\r\n"))
    url = "imap://127.0.0.1:%d/INBOX;UID=1" % srv.port("IMAP")
    p = subprocess.run(["curl", "-s", "--user", "alice:alice-password", url],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert b"Subject: for curl" in p.stdout and b"curl body" in p.stdout
    url = "imaps://127.0.0.1:%d/" % srv.port("IMAP", "TLS_PORT")
    p = subprocess.run(["curl", "-s", "-k", "--user", "alice:alice-password", url],
                       capture_output=True, timeout=30)
    assert p.returncode == 0 and b'"/" INBOX' in p.stdout, p


def test_many_implicit_tls_sessions(cursus):
    """Every implicit-TLS connection gets its greeting, also when the
    whole handshake is done in the first step (a GnuTLS client)."""
    import os
    import subprocess
    tool = os.path.join(mailaccess.cursus_harness.BUILDDIR, "bench", "mailload")
    if not os.path.exists(tool):
        pytest.skip("bench/mailload is not built")
    users = "".join(mailaccess.user_ldif("idle%d" % i, "pass") for i in range(40))
    srv = mailaccess.access_server(cursus, users=users)
    srv.start()
    mailaccess.wait_ready(srv)
    p = subprocess.run([tool, "-p", str(srv.port("IMAP", "TLS_PORT")), "-s",
                        "-c", "40", "-t", "1", "-u", "idle%d@example.com",
                        "-w", "pass", "idle"], capture_output=True, text=True,
                       timeout=60)
    assert p.stdout.startswith("ready 40 sessions"), p.stdout + p.stderr
