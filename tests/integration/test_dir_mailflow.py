"""Mail through the whole server with the directory deciding: a user
whose mailHost is another server gets the mail sent there (the SMTP peer a
real smtp-sink), not into the local store; and an LDAP directory (dir_ldap,
a real slapd) that stops answering while mail flows: RCPT gets a temporary
refusal (4xx, 4.4.3) so the client retries, never a 5xx "no such user"; a
message whose recipients wait in the queue for resolution (the reprocess
channel) stays queued and is retried, never returned to its sender; once
slapd is back both go through."""
import re

import pytest

from dir_env import dirtest_ldif
from ldap_harness import have_slapd
from mta_harness import Raw, make_mta, shipped
from peers import SmtpSink
from test_dir_ldap import loaded_slapd
from test_outbound import inject, mail_log


def test_mailhost_elsewhere_goes_to_that_server(cursus, tmp_path):
    sink = SmtpSink(tmp_path)
    try:
        # the rewrite rules send everything not local to tcp_local; its
        # peer is the sink, standing in for mail2.example.com
        imta = re.sub(r"(?m)^tcp_local smtp mx .*$",
                      "tcp_local smtp daemon 127.0.0.1 port %d notls "
                      "single_sys logging" % sink.port, shipped("imta.cnf"))
        srv = make_mta(cursus, tls=False, imta=imta, deliver=True,
                       files={"directory.ldif": dirtest_ldif()})
        smtp = Raw(srv.port("SMTP"))
        assert smtp.reply()[0] == 220
        for cmd in ("EHLO client.example", "MAIL FROM:<x@else.example>",
                    "RCPT TO:<ivan@example.com>", "RCPT TO:<alice@example.com>"):
            assert smtp.cmd(cmd)[0] == 250, cmd
        assert smtp.cmd("DATA")[0] == 354
        assert smtp.cmd("Subject: for two servers\r\n\r\nhello\r\n.")[0] == 250
        smtp.cmd("QUIT")
        assert srv.wait_until(lambda: sink.messages(), timeout=20), mail_log(srv)
        got = sink.messages()
        assert len(got) == 1 and b"for two servers" in got[0]
        # ivan's copy only: alice's mailbox is here
        assert b"ivan@example.com" in got[0] and b"alice@" not in got[0]
        assert srv.wait_until(lambda: re.search(
            r" D \d.*alice@ims-ms-daemon", mail_log(srv)), timeout=20)
        assert not re.search(r"ivan@ims-ms-daemon", mail_log(srv))
    finally:
        sink.stop()


needs_slapd = pytest.mark.skipif(not have_slapd(), reason="slapd is not installed")

LDIF_DIRECTORY = ("[directory]\nmodule = dir_ldif\ndefault_domain = example.com\n"
                  "[module dir_ldif]\nfile = directory.ldif\n")


def ldap_mta(cursus, slapd):
    """The shipped MTA, delivering, with its directory in SLAPD (reached
    over ldapi://) and a reprocess channel that retries every second."""
    imta = shipped("imta.cnf") + ('\nreprocess logging backoff "pt1s"\n'
                                  "reprocess-daemon\n")
    srv = make_mta(cursus, tls=False, imta=imta, deliver=True, start=False)
    with open(srv.config + "/cursus.conf") as f:
        text = f.read()
    assert LDIF_DIRECTORY in text
    srv.write("cursus.conf", text.replace(LDIF_DIRECTORY, (
        "[directory]\nmodule = dir_ldap\ndefault_domain = example.com\n"
        "[module dir_ldap]\nuri = %s\nbase_dn = o=cursus\n"
        "sasl_mech = EXTERNAL\ntimeout = 2\nretry_after = 1\n" %
        slapd.ldapi_uri)))
    srv.start()
    return srv


@needs_slapd
def test_directory_down_defers_never_bounces(cursus, tmp_path):
    slapd = loaded_slapd(tmp_path / "ldap")
    try:
        srv = ldap_mta(cursus, slapd)
        smtp = Raw(srv.port("SMTP"))
        assert smtp.reply()[0] == 220
        assert smtp.cmd("EHLO client.example")[0] == 250
        assert smtp.cmd("MAIL FROM:<x@else.example>")[0] == 250
        assert smtp.cmd("RCPT TO:<carol@example.com>")[0] == 250

        slapd.kill()
        # neither a user nor an unknown address is refused for good
        for rcpt in ("alice@example.com", "nobody@example.com"):
            code, lines = smtp.cmd("RCPT TO:<%s>" % rcpt)
            assert 400 <= code < 500 and lines[0].startswith("4.4.3"), (
                rcpt, code, lines)
        # a group expanded later, in the queue, waits there
        inject(srv, "reprocess", "alice@example.org", "offline@example.com")
        assert srv.wait_until(lambda: re.search(
            r" Q \d.*offline@example.com.*4\.4\.3", mail_log(srv)),
            timeout=20), mail_log(srv)
        assert not re.search(r" R \d", mail_log(srv)), mail_log(srv)

        # the directory is configured by its ldapi:// socket: the TCP
        # port slapd had may be another test's by now
        slapd.start(new_port=True)
        assert smtp.cmd("RCPT TO:<alice@example.com>")[0] == 250
        assert smtp.cmd("RCPT TO:<nobody@example.com>")[0] == 550
        smtp.cmd("QUIT")
        assert srv.wait_until(lambda: re.search(
            r" D \d.*offline@example.com.*requeued as", mail_log(srv)),
            timeout=20), mail_log(srv)
        # and on to the member's mailbox
        assert srv.wait_until(lambda: re.search(
            r" D \d.*offline@example.com bob@ims-ms-daemon", mail_log(srv)),
            timeout=20), mail_log(srv)
    finally:
        slapd.stop()
