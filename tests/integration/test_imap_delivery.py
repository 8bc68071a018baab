"""New mail delivered over SMTP (queue, job controller, ims-ms channel
job, store) appears in an IMAP session that IDLEs on the INBOX within one
second of the SMTP server accepting it; the POP3 maildrop sees it at the
next login."""
import poplib
import smtplib
import socket
import time

import mailaccess
from mta_harness import default_services, make_mta
from mailaccess import Raw


def test_smtp_delivery_reaches_idle_session(cursus):
    services = default_services(tls=True)
    services["IMAP"] = {"PROTOCOL": "imap", "PORT": "auto", "TLS_PORT": "auto"}
    services["POP3"] = {"PROTOCOL": "pop3", "PORT": "auto"}
    srv = make_mta(cursus, deliver=True, services=services,
                   conf_extra="[module proto_imap]\nallow_plaintext_login = yes\n"
                              "[module proto_pop3]\nallow_plaintext_login = yes\n")
    mailaccess.wait_ready(srv)
    c = Raw(srv.port("IMAP"))
    c.line()
    assert c.cmd("l", "LOGIN alice alice-password")[-1].startswith("l OK")
    r = c.cmd("s", "SELECT INBOX")
    exists = int([l for l in r if l.endswith(" EXISTS")][0].split()[1])
    c.send("i IDLE\r\n")
    assert c.line() == "+ idling"
    delays = []
    for n in range(1, 4):
        msg = (b"From: Joe <joe@example.org>\r\nTo: alice@example.com\r\n"
               b"Subject: idle delivery %d\r\n\r\nhello %d\r\n" % (n, n))
        with smtplib.SMTP("127.0.0.1", srv.port("SMTP")) as s:
            s.ehlo("relay.example.org")
            s.sendmail("joe@example.org", ["alice@example.com"], msg)
        accepted = time.time()
        c.sock.settimeout(10)
        while True:
            line = c.line()
            if line.endswith(" EXISTS"):
                break
        delays.append(time.time() - accepted)
        assert line == "* %d EXISTS" % (exists + n), line
    print("SMTP accepted -> EXISTS in IDLE: %s s" % ", ".join("%.3f" % d for d in delays))
    assert max(delays) < 1.0, delays
    c.send("DONE\r\n")
    assert c.until("i ")[-1] == "i OK Idle completed."
    r = c.cmd("f", "FETCH %d BODY.PEEK[HEADER.FIELDS (SUBJECT)]" % (exists + 3))
    assert "Subject: idle delivery 3" in r
    c.cmd("z", "LOGOUT")
    p = poplib.POP3("127.0.0.1", srv.port("POP3"))
    p.user("alice")
    p.pass_("alice-password")
    assert p.stat()[0] == exists + 3
    p.quit()
