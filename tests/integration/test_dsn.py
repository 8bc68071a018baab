"""Delivery status notifications (RFC 3464) as senders receive them: a
message to example.com fails or waits at a misbehaving smtp-sink, the
notice travels back through the queue and over SMTP to the sender's MX
(another smtp-sink), and is checked field by field and by two independent
bounce parsers (python3-flufl.bounce and Sisimai) that must agree on the
recipient, the status and the action."""
import email
import email.policy
import os
import re
import smtplib
import subprocess

import pytest

from peers import Dnsmasq, DovecotLmtp, SmtpSink
from test_outbound import conf, imta, inject, queued, wait_empty, mail_log

BODY = "From: alice@example.org\nTo: bob@example.com\nSubject: report me\nMessage-ID: <orig-1@example.org>\n\nthe original body\n"


@pytest.fixture
def world(tmp_path, cursus):
    """A failing destination (example.com -> 127.0.0.1), the senders' MX
    (example.org -> 127.0.0.4) and a server routing both by MX."""
    made = []

    def make(dest_options=("-f", "RCPT"), channel_extra="", notice_unit=1,
             conf_extra="", rules=".  $U%$H@tcp-daemon", services=None):
        dest = SmtpSink(tmp_path, *dest_options)
        home = SmtpSink(tmp_path, host="127.0.0.4", port=dest.port)
        dns = Dnsmasq(tmp_path,
                      mx={"example.com": [(10, "mx.example.com")],
                          "example.org": [(10, "mx.example.org")]},
                      a={"mx.example.com": "127.0.0.1",
                         "mx.example.org": "127.0.0.4"})
        made.extend([dest, home, dns])
        srv = cursus(
            conf_extra=conf(dns, notice_unit=notice_unit,
                            extra=conf_extra) +
            "[server]\npostmaster = postmaster@example.org\n",
            imta=imta("tcp_local smtp port %d notls logging %s\ntcp-daemon"
                      % (dest.port, channel_extra),
                      "tcp_intranet slave\ntcp_intranet-daemon", rules=rules),
            services=services)
        srv.start()
        return srv, dest, home

    yield make
    for p in made:
        p.stop()


def notices(home):
    """The notices the senders' MX received, parsed."""
    out = []
    for raw in home.messages():
        # smtp-sink puts its X-* trace lines first; the envelope is there
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        out.append((msg, raw))
    return out


def status_blocks(msg):
    """The per-message and per-recipient field groups of the
    message/delivery-status part."""
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    blocks = parts[1].get_payload()
    return [dict((k.lower(), v) for k, v in b.items()) for b in blocks], parts


def sisimai(raw, tmp_path):
    path = os.path.join(str(tmp_path), "notice.mbox")
    with open(path, "wb") as f:
        f.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + raw.replace(b"\r\n", b"\n"))
    p = subprocess.run(
        ["perl", "-MSisimai", "-e",
         'my $v = Sisimai->make($ARGV[0], delivered => 1) || []; '
         'for (@$v) { print join("\\t", $_->recipient->address, $_->action, '
         '$_->deliverystatus), "\\n" }', path],
        capture_output=True, text=True, check=True)
    return [l.split("\t") for l in p.stdout.splitlines()]


def flufl(raw):
    from flufl.bounce import all_failures
    msg = email.message_from_bytes(raw)
    temporary, permanent = all_failures(msg)
    return ({a.decode() if isinstance(a, bytes) else a for a in temporary},
            {a.decode() if isinstance(a, bytes) else a for a in permanent})


def test_failure_notice_field_by_field(world, tmp_path):
    srv, dest, home = world()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", body=BODY,
           opts=("-orcpt", "-envid", "ENV-42"))
    wait_empty(srv)
    assert srv.wait_until(lambda: len(home.messages()) == 1, timeout=20), srv.log()
    (msg, raw), = notices(home)
    # the envelope: from the null sender, to the original sender
    assert msg["X-Mail-Args"].startswith("<>")
    assert "<alice@example.org>" in msg["X-Rcpt-Args"]
    assert msg["To"] == "alice@example.org"
    assert msg["From"].endswith("<MAILER-DAEMON@mail.test.example>")
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    blocks, parts = status_blocks(msg)
    per_msg, rcpt = blocks[0], blocks[1]
    assert per_msg["reporting-mta"] == "dns; mail.test.example"
    assert per_msg["original-envelope-id"] == "ENV-42"
    assert "arrival-date" in per_msg
    assert rcpt["final-recipient"] == "rfc822; bob@example.com"
    assert rcpt["original-recipient"] == "rfc822;bob@example.com"
    assert rcpt["action"] == "failed"
    assert re.fullmatch(r"5\.\d+\.\d+", rcpt["status"])
    assert rcpt["remote-mta"].startswith("dns; mx.example.com")
    assert re.match(r"smtp; 5\d\d 5\.\d+\.\d+ ", rcpt["diagnostic-code"])
    assert "last-attempt-date" in rcpt
    # the whole original comes back (no RET given)
    assert parts[2].get_content_type() == "message/rfc822"
    assert "the original body" in parts[2].as_string()
    assert "notice to <alice@example.org> queued" in srv.log()
    # independent parsers agree
    temporary, permanent = flufl(raw)
    assert permanent == {"bob@example.com"} and not temporary
    found = sisimai(raw, tmp_path)
    assert len(found) == 1
    addr, action, status = found[0]
    assert addr == "bob@example.com" and action == "failed"
    assert status == rcpt["status"]


def test_ret_hdrs_returns_only_the_header(world):
    srv, dest, home = world()
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", body=BODY,
           opts=("-ret", "HDRS"))
    assert srv.wait_until(lambda: len(home.messages()) == 1, timeout=20)
    (msg, raw), = notices(home)
    blocks, parts = status_blocks(msg)
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "Subject: report me" in parts[2].get_payload()
    assert "the original body" not in raw.decode()


def test_notify_never_and_null_sender_get_no_notice(world):
    srv, dest, home = world(channel_extra="nosendpost")
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", body=BODY,
           opts=("-notify", "NEVER"))
    inject(srv, "tcp_local", "", "carol@example.com", body=BODY)
    wait_empty(srv)
    log = mail_log(srv)
    assert len(re.findall(r" R \d", log)) == 2, log
    assert home.messages() == []


def test_double_bounce_goes_to_the_postmaster(world):
    # default policy (errsendpost): what cannot be returned goes to postmaster
    srv, dest, home = world()
    inject(srv, "tcp_local", "", "carol@example.com", body=BODY)
    assert srv.wait_until(lambda: len(home.messages()) == 1, timeout=20)
    (msg, raw), = notices(home)
    assert "<postmaster@example.org>" in msg["X-Rcpt-Args"]


def test_sendpost_copies_the_postmaster_headers_only(world):
    srv, dest, home = world(channel_extra="sendpost postheadonly")
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", body=BODY)
    assert srv.wait_until(lambda: len(home.messages()) == 2, timeout=20)
    by_rcpt = {m["X-Rcpt-Args"].split()[0]: (m, r) for m, r in notices(home)}
    assert set(by_rcpt) == {"<alice@example.org>", "<postmaster@example.org>"}
    _, parts = status_blocks(by_rcpt["<postmaster@example.org>"][0])
    assert parts[2].get_content_type() == "text/rfc822-headers"
    _, parts = status_blocks(by_rcpt["<alice@example.org>"][0])
    assert parts[2].get_content_type() == "message/rfc822"


def test_delay_notice_then_expiry(world, tmp_path):
    # 4xx forever; notices at 2 and 5 seconds: a delay notice, then return
    srv, dest, home = world(dest_options=("-r", "RCPT"),
                            channel_extra='backoff "pt1s" notices 2 5')
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", body=BODY)
    assert srv.wait_until(lambda: len(home.messages()) >= 1, timeout=15)
    msg, raw = [n for n in notices(home) if n[0]["Subject"].startswith("Delayed")][0]
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    blocks, parts = status_blocks(msg)
    rcpt = blocks[1]
    assert rcpt["action"] == "delayed"
    assert re.fullmatch(r"4\.\d+\.\d+", rcpt["status"])
    assert "will-retry-until" in rcpt
    assert parts[2].get_content_type() == "text/rfc822-headers"
    temporary, permanent = flufl(raw)
    assert not permanent
    found = sisimai(raw, tmp_path)
    assert found and found[0][0] == "bob@example.com" and found[0][1] == "delayed"
    # then the message expires and is returned
    wait_empty(srv, timeout=20)
    assert srv.wait_until(lambda: len(home.messages()) == 2, timeout=10)
    msg2, raw2 = [n for n in notices(home) if n[0]["Subject"].startswith("Undelivered")][0]
    blocks2, parts2 = status_blocks(msg2)
    assert blocks2[1]["action"] == "failed"
    assert blocks2[1]["status"] == "4.4.7"
    # the last reply the recipient got, and the reason in words
    assert blocks2[1]["diagnostic-code"].startswith("smtp; 450 ")
    assert b"delivery time expired" in parts2[0].get_payload(decode=True)
    assert re.search(r" W\S* .*bob@example.com", mail_log(srv))
    found = sisimai(raw2, tmp_path)
    assert found and found[0][1] == "failed"


def test_qm_return_sends_a_failure_notice(world):
    srv, dest, home = world(dest_options=("-r", "RCPT"),
                            channel_extra='backoff "pt1h"', notice_unit=86400)
    qid = inject(srv, "tcp_local", "alice@example.org", "bob@example.com",
                 body=BODY).split("/")[-1]
    assert srv.wait_until(lambda: queued(srv) and "retry in" in queued(srv)[0], timeout=10)
    p = srv.cursus("qm", "return", qid)
    assert p.returncode == 0, p.stderr
    assert not queued(srv)
    assert srv.wait_until(lambda: len(home.messages()) == 1, timeout=20)
    (msg, raw), = notices(home)
    blocks, _ = status_blocks(msg)
    assert blocks[1]["action"] == "failed"
    assert "returned to the sender by the postmaster" in blocks[1]["diagnostic-code"]


def test_success_notice_on_final_delivery(tmp_path, cursus):
    lmtp = DovecotLmtp(tmp_path)
    home = SmtpSink(tmp_path, host="127.0.0.4", port=2525 + os.getpid() % 1000 + 30000)
    dns = Dnsmasq(tmp_path, mx={"example.org": [(10, "mx.example.org")]},
                  a={"mx.example.org": "127.0.0.4"})
    try:
        srv = cursus(conf_extra=conf(dns), imta=imta(
            "tcp_lmtp lmtp daemon 127.0.0.1 port %d logging\ntcp_lmtp-daemon" % lmtp.port,
            "tcp_local smtp port %d notls\ntcp-daemon" % home.port))
        srv.start()
        inject(srv, "tcp_lmtp", "alice@example.org", "bob", body=BODY,
               opts=("-notify", "SUCCESS,FAILURE"))
        wait_empty(srv)
        assert srv.wait_until(lambda: len(home.messages()) == 1, timeout=20), srv.log()
        msg = email.message_from_bytes(home.messages()[0])
        blocks, parts = status_blocks(msg)
        assert blocks[1]["action"] == "delivered"
        assert blocks[1]["status"].startswith("2.")
        assert msg["Subject"] == "Successful Mail Delivery Report"
    finally:
        for p in (lmtp, home, dns):
            p.stop()


def test_success_notice_says_relayed_or_is_left_to_a_dsn_peer(world, tmp_path):
    # the destination smtp-sink announces DSN: the duty passes on with
    # NOTIFY; with -N it does not, so we report "relayed" ourselves
    srv, dest, home = world(dest_options=())
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", body=BODY,
           opts=("-notify", "SUCCESS"))
    wait_empty(srv)
    assert srv.wait_until(lambda: len(dest.messages()) == 1, timeout=10)
    assert "NOTIFY=SUCCESS" in dest.messages()[0].decode(errors="replace")
    dest.restart("-N")
    inject(srv, "tcp_local", "alice@example.org", "carol@example.com", body=BODY,
           opts=("-notify", "SUCCESS"))
    wait_empty(srv)
    assert srv.wait_until(lambda: len(home.messages()) == 1, timeout=20), srv.log()
    (msg, raw), = notices(home)
    blocks, _ = status_blocks(msg)
    assert blocks[1]["final-recipient"] == "rfc822; carol@example.com"
    assert blocks[1]["action"] == "relayed"
    assert blocks[1]["status"].startswith("2.")


@pytest.mark.parametrize("form,final", [
    ("", "bob@example.com"),
    ("includefinal", "bob@example.com"),
    ("suppressfinal", "Robert@example.com"),
    ("useintermediate", "bob@example.net"),
    ("useintermediate includefinal", "bob@example.com"),
])
def test_notice_names_the_recipient_in_the_channels_form(world, form, final):
    # example.net is rewritten to example.com: the sender gave bob@example.net
    # (the intermediate form), the final form is bob@example.com, and the
    # ORCPT names Robert
    srv, dest, home = world(
        channel_extra=form,
        rules="example.net  $U%example.com@tcp-daemon\n.  $U%$H@tcp-daemon",
        services={"SMTP": {"PROTOCOL": "smtp", "CHANNEL": "tcp_intranet"}})
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP"), timeout=10) as s:
        s.ehlo("client.example.org")
        s.mail("alice@example.org")
        code, _ = s.rcpt("bob@example.net", ["ORCPT=rfc822;Robert@example.com"])
        assert code == 250
        code, _ = s.data(BODY.replace("\n", "\r\n").encode())
        assert code == 250
    assert srv.wait_until(lambda: len(home.messages()) == 1, timeout=20), srv.log()
    (msg, raw), = notices(home)
    blocks, parts = status_blocks(msg)
    assert blocks[1]["final-recipient"] == "rfc822; " + final
    assert blocks[1]["original-recipient"] == "rfc822;Robert@example.com"
    assert "<%s>" % final in parts[0].get_payload()


def test_postheadbody_after_postheadonly_copies_the_whole_message(world):
    srv, dest, home = world(channel_extra="sendpost postheadonly postheadbody")
    inject(srv, "tcp_local", "alice@example.org", "bob@example.com", body=BODY)
    assert srv.wait_until(lambda: len(home.messages()) == 2, timeout=20)
    by_rcpt = {m["X-Rcpt-Args"].split()[0]: (m, r) for m, r in notices(home)}
    _, parts = status_blocks(by_rcpt["<postmaster@example.org>"][0])
    assert parts[2].get_content_type() == "message/rfc822"
