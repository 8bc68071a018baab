"""The configuration examples of docs/imap.md and docs/pop3.md, run as
they are written: a server with the example's settings behaves as the
text around it says."""
import os
import re

import mailaccess
from mailaccess import Raw


def example(doc, header):
    """The first code block of DOC that starts with HEADER, without it."""
    path = os.path.join(mailaccess.cursus_harness.SRCDIR, "docs", doc)
    with open(path) as f:
        text = f.read()
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        if block.startswith(header + "\n"):
            return block[len(header) + 1:]
    raise AssertionError("no %s example in %s" % (header, doc))


def test_imap_filter_example(cursus):
    settings = example("imap.md", "[module proto_imap]")
    srv = mailaccess.access_server(
        cursus, imap_settings=settings,
        users=mailaccess.user_ldif("guest", "guest-pass"))
    srv.start()
    mailaccess.wait_ready(srv)
    # the plain port from 127.0.0.1 (an allowed address) and the TLS port
    for tls in (False, True):
        c = Raw(srv.port("IMAP", "TLS_PORT" if tls else "PORT"), tls=tls)
        assert c.line().startswith("* OK")
        assert c.cmd("a", "LOGIN alice alice-password")[-1].startswith("a OK")
        c = Raw(srv.port("IMAP", "TLS_PORT" if tls else "PORT"), tls=tls)
        c.line()
        r = c.cmd("b", "LOGIN guest guest-pass")
        assert r[-1] == "b NO [AUTHORIZATIONFAILED] Access denied.", r


def test_pop3_filter_example(cursus):
    settings = example("pop3.md", "[module proto_pop3]")
    srv = mailaccess.access_server(cursus, pop3_settings=settings)
    srv.start()
    mailaccess.wait_ready(srv, "POP3")
    c = Raw(srv.port("POP3"))
    assert c.line() == "-ERR [AUTH] Access denied"
    for user, password, ok in (("alice", "alice-password", True),
                               ("carol", "carol-password", False)):
        c = Raw(srv.port("POP3", "TLS_PORT"), tls=True)
        assert c.line().startswith("+OK")
        c.send("USER %s\r\nPASS %s\r\n" % (user, password))
        c.line()
        line = c.line()
        assert line.startswith("+OK Logged in") if ok else \
            line == "-ERR [AUTH] Access denied", (user, line)
