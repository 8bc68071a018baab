"""DNS checks against a real DNS server (dnsmasq) reached through the
[dns] servers setting: block lists in the dispatcher (DNS_VERIFY_DOMAIN
with ENABLE_RBL) and the SMTP server's mailfromdnsverify.

Clients connect from other loopback addresses (127.0.0.2 ...) so each
test address can be listed or not; a silent UDP port stands for a DNS
server that never answers."""
import os
import re
import socket
import time

from cursus_harness import SRCDIR

from mta_harness import Raw, make_mta, shipped
from peers import Dnsmasq, SilentDns

LISTS = {
    # 127.0.0.2: on both lists, with a reason on the first
    "2.0.0.127.bl.test": "127.0.0.2",
    "2.0.0.127.bl2.test": "127.0.0.2",
    # 127.0.0.4: on the second list only, which has no TXT record for it
    "4.0.0.127.bl2.test": "127.0.0.10",
    # 127.0.0.5: the list answers an error code, not a listing
    "5.0.0.127.bl.test": "127.255.255.254",
}
REASONS = {"2.0.0.127.bl.test": "Listed for testing, see http://bl.test/q"}


def rbl_mta(cursus, servers, zones=("bl.test", "bl2.test"), timeout=5):
    dispatcher = "ENABLE_RBL=1\n" + "".join(
        "DNS_VERIFY_DOMAIN=%s\n" % z for z in zones)
    return make_mta(cursus, tls=False,
                    services={"SMTP": {"PROTOCOL": "smtp",
                                       "CHANNEL": "tcp_local"}},
                    dispatcher_global=dispatcher,
                    conf_extra="[dns]\nservers = %s\ntimeout = %d\ntries = 1\n"
                    % (servers, timeout))


def first_reply(port, source):
    """Connect from SOURCE; the first reply line and whether the server
    then closed the connection."""
    s = socket.socket()
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1024)
        if not chunk:
            break
        data += chunk
    closed = False
    if data.startswith(b"5") or data.startswith(b"4"):
        closed = s.recv(1024) == b""
    else:
        s.sendall(b"QUIT\r\n")
    s.close()
    return data.decode(errors="replace"), closed


def test_listed_and_unlisted_clients(cursus, tmp_path):
    dns = Dnsmasq(tmp_path, a=LISTS, txt=REASONS)
    try:
        mta = rbl_mta(cursus, dns.server)
        port = mta.port("SMTP")

        text, closed = first_reply(port, "127.0.0.2")
        assert text == ("554 5.7.1 access_control: host 127.0.0.2 found on "
                        "DNS list bl.test and rejected: Listed for testing, "
                        "see http://bl.test/q\r\n"), text
        assert closed

        text, closed = first_reply(port, "127.0.0.4")
        assert text == ("554 5.7.1 access_control: host 127.0.0.4 found on "
                        "DNS list bl2.test and rejected\r\n"), text
        assert closed

        # not listed anywhere (NXDOMAIN), and an error code of a list
        assert first_reply(port, "127.0.0.3")[0].startswith("220 ")
        assert first_reply(port, "127.0.0.5")[0].startswith("220 ")

        log = mta.log()
        assert "refused connection from 127.0.0.2: DNS block list" in log
        assert "answers 127.255.255.254 for 127.0.0.5: not a listing" in log
        assert "refused connection from 127.0.0.3" not in log
    finally:
        dns.stop()


def test_silent_dns_server_lets_clients_through(cursus):
    silent = SilentDns()
    try:
        mta = rbl_mta(cursus, silent.server, zones=("bl.test",), timeout=1)
        port = mta.port("SMTP")
        # five clients at once: each waits for its own timeout, in
        # parallel, and none waits behind another's lookup
        start = time.monotonic()
        waiting = []
        for i in range(5):
            c = socket.socket()
            c.settimeout(10)
            c.bind(("127.0.0.%d" % (2 + i), 0))
            c.connect(("127.0.0.1", port))
            waiting.append(c)
        for c in waiting:
            assert c.recv(1024).startswith(b"220 ")
            c.close()
        assert time.monotonic() - start < 3.5
        mta.wait_for_log("DNS block list bl.test: no answer for "
                         "2.0.0.127.bl.test")
        assert "client 127.0.0.2 let through" in mta.log()
    finally:
        silent.stop()


def test_config_errors(cursus):
    mta = make_mta(cursus, tls=False, start=False,
                   services={"SMTP": {"PROTOCOL": "smtp",
                                      "CHANNEL": "tcp_local",
                                      "ENABLE_RBL": "1",
                                      "DNS_VERIFY_DOMAIN": "bad zone!"}},
                   conf_extra="[dns]\nservers = not-an-address\n")
    r = mta.cursus("config", "check")
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert 'DNS_VERIFY_DOMAIN: "bad zone!" is not a DNS zone name' in out, out
    assert "dispatcher.cnf:" in out
    assert "[dns] servers: bad DNS server list \"not-an-address\"" in out, out


def verify_mta(cursus, servers, timeout=5):
    imta = shipped("imta.cnf").replace("\ntcp_local ",
                                       "\ntcp_local mailfromdnsverify ")
    assert "mailfromdnsverify" in imta
    return make_mta(cursus, tls=False, imta=imta,
                    conf_extra="[dns]\nservers = %s\ntimeout = %d\n"
                    "tries = 1\n" % (servers, timeout))


def mail_from(mta, *senders):
    """The reply to MAIL FROM for each sender, in one session."""
    r = Raw(mta.port("SMTP"))
    r.reply()
    r.cmd("EHLO client.example.org")
    out = []
    for sender in senders:
        code, lines = r.cmd("MAIL FROM:<%s>" % sender)
        out.append((code, lines[-1]))
        r.cmd("RSET")
    r.cmd("QUIT")
    return out


def test_mailfromdnsverify(cursus, tmp_path):
    dns = Dnsmasq(tmp_path, mx={"mx.test": [(10, "mail.mx.test")],
                                "nullmx.test": [(0, ".")]},
                  a={"mail.mx.test": "192.0.2.25", "a.test": "192.0.2.1"},
                  aaaa={"v6.test": "2001:db8::1"})
    try:
        mta = verify_mta(cursus, dns.server)
        replies = mail_from(mta, "joe@mx.test", "joe@a.test", "joe@v6.test",
                            "joe@nx.test", "joe@nullmx.test", "",
                            "joe@[192.0.2.1]")
        codes = [code for code, _ in replies]
        assert codes[:3] == [250, 250, 250], replies
        assert replies[3] == (553, "5.1.8 Sender address domain does not "
                                   "exist in DNS"), replies
        assert replies[4][0] == 550 and "5.7.27" in replies[4][1], replies
        # the null sender and address literals are not looked up
        assert codes[5:] == [250, 250], replies
    finally:
        dns.stop()


def test_mailfromdnsverify_without_answer_is_temporary(cursus):
    silent = SilentDns()
    try:
        mta = verify_mta(cursus, silent.server, timeout=1)
        (reply,) = mail_from(mta, "joe@mx.test")
        assert reply[0] == 451 and reply[1].startswith("4.1.8 "), reply
        assert "no DNS answer for mx.test" in mta.log()
    finally:
        silent.stop()


def test_documented_examples_pass_config_check(cursus):
    doc = open(os.path.join(SRCDIR, "docs", "dispatcher.md")).read()
    dispatcher = re.findall(r"```dispatcher.cnf\n(.*?)```", doc, re.S)[0]
    conf = re.findall(r"```cursus.conf\n(.*?)```", doc, re.S)[0]
    mta = make_mta(cursus, tls=False, start=False, conf_extra=conf)
    mta.write("dispatcher.cnf", dispatcher)
    p = mta.cursus("config", "check")
    assert p.returncode == 0, p.stdout + p.stderr


def test_refresh_switches_dns_servers(cursus, tmp_path):
    silent = SilentDns()
    dns = Dnsmasq(tmp_path, a=LISTS, txt=REASONS)
    try:
        mta = rbl_mta(cursus, silent.server, zones=("bl.test",), timeout=1)
        port = mta.port("SMTP")
        assert first_reply(port, "127.0.0.2")[0].startswith("220 ")
        path = os.path.join(mta.config, "cursus.conf")
        with open(path) as f:
            text = f.read()
        mta.write("cursus.conf", text.replace(silent.server, dns.server))
        p = mta.cursus("refresh")
        assert p.returncode == 0, p.stderr
        assert mta.wait_for_log("dispatcher: configuration reloaded")
        text, closed = first_reply(port, "127.0.0.2")
        assert text.startswith("554 5.7.1 access_control: host 127.0.0.2 "
                               "found on DNS list bl.test"), text
        assert closed
    finally:
        dns.stop()
        silent.stop()
