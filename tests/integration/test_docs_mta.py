"""The examples of docs/mta-inbound.md and docs/queue-format.md are true:
the EHLO reply is the server's, the configuration fragments pass `cursus
config check`, the message log lines have the fields the text names, the
queue file example is a valid queue file, and every channel keyword and
setting of proto_smtp and auth_sasl is documented."""
import os
import re
import zlib

from cursus_harness import SRCDIR
from mta_harness import Raw, make_mta, shipped
from qfile import QueueFile

MTA_DOC = os.path.join(SRCDIR, "docs", "mta-inbound.md")
QUEUE_DOC = os.path.join(SRCDIR, "docs", "queue-format.md")


def blocks(path, kind):
    text = open(path, encoding="utf-8").read()
    return re.findall(r"```%s\n(.*?)```" % kind, text, re.S)


def test_ehlo_example_is_the_servers(cursus):
    mta = make_mta(cursus)
    doc = blocks(MTA_DOC, "ehlo")[0].splitlines()
    r = Raw(mta.port("SMTP"))
    code, greet = r.reply()
    assert doc[0] == "220 mail.example.com ESMTP Cursus"
    assert greet == ["mail.test.example ESMTP Cursus"]
    code, lines = r.cmd(doc[1])
    want = [l[4:] for l in doc[2:]]
    # the host names and addresses of the example are those of a real site
    assert lines[0] == "mail.test.example Hello client.example.org [127.0.0.1]"
    assert lines[1:] == want[1:]


def test_configuration_examples_pass_config_check(cursus):
    dispatcher = blocks(MTA_DOC, "dispatcher")[0]
    mappings = "\n".join(blocks(MTA_DOC, "mappings"))
    imta_rules = blocks(MTA_DOC, "imta")[0].strip()
    assert imta_rules in shipped("imta.cnf")
    mta = make_mta(cursus, start=False, mappings=mappings)
    mta.write("dispatcher.cnf", dispatcher)
    p = mta.cursus("config", "check")
    assert p.returncode == 0, p.stdout + p.stderr


def test_message_log_example_fields():
    for line in blocks(MTA_DOC, "maillog")[0].splitlines():
        f = line.split(" ", 13)
        assert len(f) == 14
        assert re.match(r"\d\d-[A-Z][a-z]{2}-\d{4}$", f[0])
        assert f[4][0] in "EJ" and f[5].isdigit()
        assert f[7].startswith("rfc822;")


def test_queue_file_example_is_valid(tmp_path):
    text = blocks(QUEUE_DOC, "queue-file")[0]
    first, rest = text.split("\n", 1)
    clen = int(re.search(r"C=(\d+)", first).group(1))
    elen = int(re.search(r"E=(\d+)", first).group(1))
    # the content is shown with LF line ends: give it back its CRLF
    lines = rest.split("\n")
    content, n = b"", 0
    while len(content) < clen:
        content += lines[n].encode() + b"\r\n"
        n += 1
    assert len(content) == clen
    tail = "\n".join(lines[n:]).encode()
    envelope, records = tail[:elen], tail[elen:]
    pre = first.encode().ljust(63) + b"\n"
    path = tmp_path / "1LGMG4KBOH6006ND00.01"
    path.write_bytes(pre + content + envelope + records)
    f = QueueFile(str(path))
    assert f.channel == "ims-ms" and f.env["envid"] == "q42"
    assert int(f.env["crc"], 16) == zlib.crc32(content)
    assert f.records == ["result 0 pending 1795899540 4.2.2 mailbox%20full -",
                         "retry 1 1795899840"]


def test_every_keyword_and_setting_is_documented(cursus):
    mta = make_mta(cursus, start=False)
    out = mta.cursus("modules", "-v").stdout
    doc = open(MTA_DOC, encoding="utf-8").read()
    names = []
    for mod in ("proto_smtp", "auth_sasl"):
        section = out[out.index("\n" + mod + " ") + 1:]
        end = re.search(r"\n\S", section)
        section = section[:end.start()] if end else section
        names += re.findall(r"^      (\S+)\s", section, re.M)
    assert len(names) > 40
    missing = [n for n in names if "`%s`" % n not in doc]
    assert not missing, missing
