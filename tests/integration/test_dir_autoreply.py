"""Vacation messages through the whole server: SMTP in, address
resolution gives carol (mailDeliveryOption autoreply, config/directory.ldif)
a mailbox copy and a copy to the autoreply channel; channel_autoreply
hands it to the server, which replies once per sender and interval; the
reply is delivered like any mail, here into bob's mailbox, read over IMAP."""
import imaplib
import os
import smtplib
import time

import pytest

from mta_harness import default_services, make_mta

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("CURSUS_BUILDDIR", "."),
                                    "modules", "proto_imap")),
    reason="the IMAP server is not built")

MESSAGE = ("From: Bob <bob@example.com>\r\nTo: Carol <carol@example.com>\r\n"
           "Subject: %s\r\nMessage-ID: <%s@example.com>\r\n\r\nHello Carol\r\n")


def server(cursus):
    services = default_services(tls=False)
    services["IMAP"] = {"PROTOCOL": "imap"}
    return make_mta(cursus, tls=False, services=services, deliver=True,
                    conf_extra="[module proto_imap]\n"
                               "allow_plaintext_login = yes\n")


def mailbox(srv, user, password):
    """The subjects in USER's INBOX."""
    imap = imaplib.IMAP4("127.0.0.1", srv.port("IMAP"))
    try:
        imap.login(user, password)
        imap.select("INBOX", readonly=True)
        _, data = imap.search(None, "ALL")
        subjects = []
        for num in data[0].split():
            _, msg = imap.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            subjects.append(msg[0][1].decode().strip())
        return subjects
    finally:
        imap.logout()


def wait_for(predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_vacation_reply_once_per_sender(cursus):
    srv = server(cursus)
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP")) as s:
        s.sendmail("bob@example.com", ["carol@example.com"],
                   MESSAGE % ("Lunch?", "m1"))
    carol = wait_for(lambda: mailbox(srv, "carol", "carol-password"))
    assert carol == ["Subject: Lunch?"]
    replies = wait_for(lambda: [s for s in mailbox(srv, "bob", "bob-password")
                                if s.startswith("Subject: Away:")])
    assert replies == ["Subject: Away: Lunch?"], srv.log()
    # a second message within the interval: delivered, not answered
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP")) as s:
        s.sendmail("bob@example.com", ["carol@example.com"],
                   MESSAGE % ("Dinner?", "m2"))
    assert wait_for(lambda: len(mailbox(srv, "carol", "carol-password")) == 2)
    assert srv.wait_for_log("no autoreply for @autoreply-daemon:carol@example.com"
                            " to bob@example.com: the sender had a reply",
                            timeout=30)
    assert [s for s in mailbox(srv, "bob", "bob-password")
            if s.startswith("Subject: Away:")] == ["Subject: Away: Lunch?"]
