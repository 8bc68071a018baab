"""Content filters with real milters: a milter written with Debian's
python3-milter (libmilter) for every verdict and edit, milters that time
out, die or talk nonsense, and the failure policy (default_action)."""
import json
import os
import smtplib
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from cursus_harness import free_port
from mta_harness import Raw, make_mta, maillog, queued, shipped, wait_queued

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def start_milter(tmp_path, name="milter"):
    """The python3-milter test milter on a free port: (process, port,
    path of the JSON lines of what it saw)."""
    port = free_port()
    seen = str(tmp_path / (name + ".seen"))
    env = dict(os.environ, MILTER_SEEN=seen)
    log = open(str(tmp_path / (name + ".log")), "ab")
    p = subprocess.Popen([PYTHON, os.path.join(HERE, "milter_peer.py"),
                          "inet:%d@127.0.0.1" % port],
                         stdout=subprocess.PIPE, stderr=log, env=env)
    assert p.stdout.readline().strip() == b"ready"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return p, port, seen


def filter_conf(name, port, extra=""):
    return ("[contentfilter %s]\nmodule = filter_milter\n"
            "milter = inet:127.0.0.1:%d\n%s" % (name, port, extra))


def imta_with(filters, channels=("tcp_local", "tcp_lmtp")):
    lines = shipped("imta.cnf").split("\n")
    for i, l in enumerate(lines):
        if l.split(" ")[0] in channels:
            lines[i] = l + " contentfilter " + filters
    return "\n".join(lines)


@pytest.fixture
def milter(tmp_path):
    p, port, seen = start_milter(tmp_path)
    yield port, seen
    p.kill()
    p.wait()


def msg(action=None, subject="filter test", extra="", body="hello\r\n"):
    h = "From: joe@example.org\r\nTo: alice@example.com\r\nSubject: %s\r\n" % subject
    h += "Message-ID: <%s@example.org>\r\n" % time.time()
    if action:
        h += "X-Test-Action: %s\r\n" % action
    return (h + extra + "\r\n" + body).encode()


def send(srv, data, rcpts=("alice@example.com",), sender="joe@example.org"):
    """(code, text) of the reply to the message, or 250 on success."""
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP"), timeout=60) as s:
        s.ehlo("client.example.org")
        try:
            refused = s.sendmail(sender, list(rcpts), data)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
        return 250, refused


@pytest.fixture
def mta(cursus, milter):
    port, seen = milter
    srv = make_mta(cursus, imta=imta_with("test"),
                   conf_extra=filter_conf("test", port))
    srv.seen = seen
    return srv


def test_verdicts(mta):
    code, text = send(mta, msg("reject"))
    assert code == 550 and text.startswith("5.7.1"), text
    code, text = send(mta, msg("tempfail"))
    assert code == 451 and text.startswith("4.7.1"), text
    code, text = send(mta, msg("replycode"))
    assert (code, text) == (554, "5.7.0 spam score too high")
    assert queued(mta) == []
    code, _ = send(mta, msg("discard"))
    assert code == 250
    assert queued(mta) == []
    assert any(l[0:1] == ["E"] or "discarded by content filter test" in " ".join(l)
               for l in maillog(mta))
    code, _ = send(mta, msg("accept"))
    assert code == 250
    assert len(wait_queued(mta, 1)) == 1
    # what the milter was shown
    seen = [json.loads(l) for l in open(mta.seen)]
    last = seen[-1]
    assert last["helo"] == "client.example.org"
    assert last["from"] == "<joe@example.org>"
    assert last["rcpts"] == ["<alice@example.com>"]
    assert last["addr"][0] == "127.0.0.1"
    names = [h[0] for h in last["headers"]]
    assert names[0] == "Received" and "X-Test-Action" in names
    assert last["body"] == "hello\r\n"
    assert last["macros"]["i"] == queued(mta)[0].id


def test_edits(mta):
    assert send(mta, msg("addheader"))[0] == 250
    f = wait_queued(mta, 1)[0]
    assert f.header("X-Scanned") == "by the test milter"
    assert b"X-Folded: first line\r\n\tsecond line\r\n" in f.content
    assert f.content.count(b"\n") == f.content.count(b"\r\n")
    os.unlink(f.path)

    assert send(mta, msg("chgheader"))[0] == 250
    f = wait_queued(mta, 1)[0]
    assert f.header("Subject") == "changed subject"
    os.unlink(f.path)

    assert send(mta, msg("delheader", extra="X-Remove-Me: yes\r\n"))[0] == 250
    f = wait_queued(mta, 1)[0]
    assert f.header("X-Remove-Me") is None and f.header("Subject") == "filter test"
    os.unlink(f.path)

    assert send(mta, msg("replbody", body="original\r\n" * 1000))[0] == 250
    f = wait_queued(mta, 1)[0]
    assert f.body() == b"the body was replaced\r\nline two\r\n"
    assert int(f.env["size"]) == len(f.content)
    os.unlink(f.path)

    assert send(mta, msg("chgfrom"))[0] == 250
    f = wait_queued(mta, 1)[0]
    assert f.sender == "bounces@example.org"
    os.unlink(f.path)

    assert send(mta, msg("quarantine"))[0] == 250
    f = wait_queued(mta, 1)[0]
    assert f.env.get("held") == "1"
    assert "quarantined by content filter test: suspicious attachment" in mta.log()
    os.unlink(f.path)


def test_recipients(mta):
    assert send(mta, msg("addrcpt"))[0] == 250
    files = wait_queued(mta, 1)
    rcpts = sorted(r.original for f in files for r in f.rcpts)
    assert rcpts == ["alice@example.com", "erin@example.net"]
    for f in files:
        os.unlink(f.path)

    assert send(mta, msg("delrcpt"),
                rcpts=("alice@example.com", "erin@example.net"))[0] == 250
    files = wait_queued(mta, 1)
    assert [r.original for f in files for r in f.rcpts] == ["alice@example.com"]
    for f in files:
        os.unlink(f.path)

    # refused at RCPT by the milter, in SMTP: the others get the message
    # and the refused one is queued as failed (its sender is told)
    assert send(mta, msg(), rcpts=("alice@example.com",
                                   "carol@example.com"))[0] == 250
    files = wait_queued(mta, 1)
    states = {r.original: (r.state, r.code, r.diag) for f in files for r in f.rcpts}
    assert states["alice@example.com"][0] == "pending"
    st, code, diag = states["carol@example.com"]
    assert st == "failed" and code == "5.7.1" and "refused by policy" in diag
    for f in files:
        os.unlink(f.path)

    # every recipient refused: the message is refused
    code, text = send(mta, msg(), rcpts=("carol@example.com",))
    assert code == 550 and "refused by policy" in text


def test_lmtp_per_recipient(mta):
    r = Raw(mta.port("LMTP"))
    r.reply()
    r.cmd("LHLO relay.example.org")
    assert r.cmd("MAIL FROM:<joe@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.com>")[0] == 250
    assert r.cmd("RCPT TO:<carol@example.com>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(msg().decode() + ".\r\n")
    first, second = r.reply(), r.reply()
    assert first[0] == 250
    assert second[0] == 550 and "refused by policy" in second[1][0]
    r.cmd("QUIT")


def test_failure_policy(cursus, tmp_path):
    """A milter that is down, slow, dies or talks nonsense: the message
    gets the filter's default action and the server goes on."""
    slow, slow_port, _ = start_milter(tmp_path, "slow")
    dying, dying_port, _ = start_milter(tmp_path, "dying")
    garbage = socket.socket()
    garbage.bind(("127.0.0.1", 0))
    garbage.listen(8)
    garbage_port = garbage.getsockname()[1]

    def talk_nonsense():
        while True:
            try:
                c, _ = garbage.accept()
            except OSError:
                return
            c.recv(4096)
            c.sendall(b"\x00\x00\x00\x05Ogarbage-garbage")
            c.close()
    threading.Thread(target=talk_nonsense, daemon=True).start()
    down_port = free_port()
    conf = (filter_conf("slow", slow_port, "timeout = 2\n") +
            filter_conf("slowok", slow_port, "command_timeout = 1\n"
                        "content_timeout = 1\ndefault_action = accept\n") +
            filter_conf("dying", dying_port) +
            filter_conf("garbage", garbage_port) +
            filter_conf("down", down_port) +
            filter_conf("downok", down_port, "default_action = accept\n") +
            filter_conf("downreject", down_port, "default_action = reject\n") +
            filter_conf("downhold", down_port, "default_action = quarantine\n"))
    srvs = {}
    try:
        for name in ("slow", "slowok", "dying", "garbage", "down", "downok",
                     "downreject", "downhold"):
            srv = make_mta(cursus, imta=imta_with(name), conf_extra=conf,
                           start=False)
            srvs[name] = srv
        results = {}
        for name, srv in srvs.items():
            srv.start()
            t0 = time.time()
            results[name] = (send(srv, msg("sleep 4")), time.time() - t0)
            srv.stop()
        (code, text), took = results["slow"]
        assert code == 451 and text.startswith("4.7.1") and took < 4
        (code, _), took = results["slowok"]
        assert code == 250 and took < 3
        assert results["garbage"][0][0] == 451
        assert results["down"][0][0] == 451
        assert results["downok"][0][0] == 250
        assert results["downreject"][0][0] == 550
        assert results["downhold"][0][0] == 250
        held = queued(srvs["downhold"])
        assert held and held[0].env.get("held") == "1"
        assert "filter garbage failed" in srvs["garbage"].log()
    finally:
        garbage.close()
        slow.kill()
        dying.kill()


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def test_client_reset_while_filter_works(mta):
    """A client that resets its connection while the session waits for a
    slow milter costs the worker nothing meanwhile (the reset is noticed
    when the session resumes), and the server goes on serving."""
    workers = mta.processes("worker")
    s = socket.create_connection(("127.0.0.1", mta.port("SMTP")), timeout=10)
    f = s.makefile("rb")
    f.readline()

    def command(line):
        s.sendall(line + b"\r\n")
        while True:
            reply = f.readline()
            if reply[3:4] != b"-":
                return reply

    command(b"EHLO client.example.org")
    assert command(b"MAIL FROM:<joe@example.org>").startswith(b"250")
    assert command(b"RCPT TO:<alice@example.com>").startswith(b"250")
    assert command(b"DATA").startswith(b"354")
    s.sendall(msg("sleep 3") + b".\r\n")
    time.sleep(0.5)  # the milter has the message: the session waits
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    f.close()
    s.close()  # a reset
    before = cpu_seconds(workers)
    time.sleep(2)
    assert cpu_seconds(workers) - before < 0.5
    code, _ = send(mta, msg("accept"))
    assert code == 250


def test_milter_crash(cursus, tmp_path):
    p, port, _ = start_milter(tmp_path)
    srv = make_mta(cursus, imta=imta_with("test"),
                   conf_extra=filter_conf("test", port))
    try:
        code, text = send(srv, msg("crash"))
        assert code == 451 and text.startswith("4.7.1")
        assert p.wait(timeout=10) == 3
        assert queued(srv) == []
        # the server goes on; with the milter back, mail flows again
        p2, port2, _ = start_milter(tmp_path, "again")
        srv.stop()
        srv.write("cursus.conf", open(os.path.join(srv.config, "cursus.conf"))
                  .read().replace(":%d\n" % port, ":%d\n" % port2))
        srv.start()
        assert send(srv, msg())[0] == 250
        p2.kill()
    finally:
        p.kill()


def test_config_errors(cursus):
    srv = make_mta(cursus, imta=imta_with("nosuch"), start=False,
                   conf_extra="[contentfilter bad]\nmodule = dir_ldif\n"
                              "[contentfilter worse]\nmodule = filter_milter\n"
                              "milter = inet:127.0.0.1:1\ntimeout = forever\n"
                              "default_action = shrug\ncolour = blue\n")
    r = srv.cursus("config", "check")
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "contentfilter nosuch is not defined" in out
    assert "module dir_ldif is not a content filter" in out
    assert "timeout expects" in out
    assert "default_action must be tempfail, accept, reject or quarantine" in out
    assert "unknown setting 'colour'" in out
    assert "cursus.conf:" in out


def doc_examples():
    """(cursus.conf text, [imta.cnf channel lines]) of docs/filters.md, in
    order: each ```ini block with the plain block that follows it."""
    import re
    from cursus_harness import SRCDIR
    text = open(os.path.join(SRCDIR, "docs", "filters.md")).read()
    blocks = re.findall(r"```(ini|console|)\n(.*?)```", text, re.S)
    out = []
    for i, (kind, body) in enumerate(blocks):
        if kind == "ini" and i + 1 < len(blocks) and blocks[i + 1][0] == "":
            out.append((body, blocks[i + 1][1].strip().split("\n")))
    return out


def imta_with_lines(lines):
    imta = shipped("imta.cnf").split("\n")
    for line in lines:
        name = line.split(" ")[0]
        imta = [line if l.split(" ")[0] == name else l for l in imta]
    return "\n".join(imta)


def test_docs_examples(cursus, milter, tmp_path):
    """The configuration examples of docs/filters.md pass `cursus config
    check`, and the first one filters mail with a real milter."""
    examples = doc_examples()
    assert len(examples) == 3
    tag = os.path.join(str(tmp_path), "tag")
    import shutil
    from cursus_harness import SRCDIR
    shutil.copytree(os.path.join(SRCDIR, "sdk", "examples", "filter_tag"), tag)
    subprocess.run(["make", "-s", "-C", tag, "CURSUS_SDK_CFLAGS=-I%s" %
                    os.path.join(SRCDIR, "sdk", "include")], check=True)
    for conf, lines in examples:
        srv = make_mta(cursus, module_path_extra=[tag],
                       imta=imta_with_lines(lines), conf_extra=conf,
                       start=False)
        r = srv.cursus("config", "check")
        assert r.returncode == 0, r.stdout + r.stderr
    port, seen = milter
    conf, lines = examples[0]
    conf = conf.replace("inet:127.0.0.1:8891", "inet:127.0.0.1:%d" % port)
    conf = conf.replace("unix:/run/rspamd/milter.sock",
                        "inet:127.0.0.1:%d" % port)
    srv = make_mta(cursus, imta=imta_with_lines(lines), conf_extra=conf)
    assert send(srv, msg("addheader"))[0] == 250
    f = wait_queued(srv, 1)[0]
    assert f.header("X-Scanned") == "by the test milter"
