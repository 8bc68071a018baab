"""A real milter: OpenDKIM signs what Cursus accepts, and the queued
message carries a DKIM-Signature that python3-dkim verifies against the
key OpenDKIM made (opendkim-genkey)."""
import os
import re
import socket
import smtplib
import subprocess
import time

import pytest

from cursus_harness import free_port
from mta_harness import make_mta, shipped, wait_queued


def dns_record(txt_path):
    """The TXT record opendkim-genkey wrote, as one string."""
    text = open(txt_path).read()
    return "".join(re.findall(r'"([^"]*)"', text)).encode()


@pytest.fixture
def opendkim(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(["opendkim-genkey", "-D", str(keys), "-d", "example.com",
                    "-s", "test"], check=True)
    port = free_port()
    conf = tmp_path / "opendkim.conf"
    conf.write_text(
        "Syslog no\nMode sv\nDomain example.com\nSelector test\n"
        "KeyFile %s\nSocket inet:%d@127.0.0.1\nPidFile %s\n"
        "Canonicalization relaxed/simple\nInternalHosts 127.0.0.1\n"
        "RequireSafeKeys no\n"
        % (keys / "test.private", port, tmp_path / "opendkim.pid"))
    p = subprocess.Popen(["opendkim", "-f", "-x", str(conf)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, dns_record(str(keys / "test.txt"))
    p.terminate()
    p.wait(timeout=10)


def test_opendkim_signs(cursus, opendkim):
    import dkim
    port, record = opendkim
    imta = shipped("imta.cnf").replace(
        "\ntcp_local smtp mx", "\ntcp_local smtp mx contentfilter dkim")
    srv = make_mta(cursus, imta=imta, conf_extra=(
        "[contentfilter dkim]\nmodule = filter_milter\n"
        "milter = inet:127.0.0.1:%d\n" % port))
    body = "".join("line %d of a signed message\r\n" % i for i in range(200))
    data = ("From: Alice <alice@example.com>\r\nTo: carol@example.com\r\n"
            "Subject: signed\r\nMessage-ID: <dkim1@example.com>\r\n"
            "Date: Sat, 28 Nov 2026 20:00:00 +0000\r\n\r\n" + body).encode()
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP")) as s:
        s.ehlo("client.example.com")
        assert s.sendmail("alice@example.com", ["alice@example.com"], data) == {}
    f = wait_queued(srv, 1)[0]
    assert f.content.startswith(b"DKIM-Signature:") or \
        b"\r\nDKIM-Signature:" in f.content
    assert f.content.count(b"\n") == f.content.count(b"\r\n")
    sig = f.header("DKIM-Signature")
    assert "d=example.com" in sig and "s=test" in sig

    def dnsfunc(name, timeout=5):
        assert name == b"test._domainkey.example.com."
        return record
    assert dkim.verify(f.content, dnsfunc=dnsfunc)
    # and a change after signing breaks it: the check is real
    assert not dkim.verify(f.content.replace(b"line 7 ", b"line 8 "),
                           dnsfunc=dnsfunc)
