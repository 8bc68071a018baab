"""Rewriting in the running server: modules ask host->lookup (through the
tests' `lookup` protocol module), `cursus cnbuild` compiles the mapping
tables and aliases, and a running server takes a new compiled image only
on `cursus refresh`; configuration errors of rules, mappings and aliases
are file:line diagnostics of `cursus config check`."""
import os
import socket
import textwrap
import time

IMTA = """\
! rewrite rules of the server tests
localhost               $U@localhost
siroe.com               $U%siroe.com@ims-ms-daemon
.                       $U%$H@tcp-daemon

l
localhost

ims-ms slave
ims-ms-daemon

tcp_local slave
tcp-daemon public.test.example
"""

MAPPINGS = """\
INTERNAL_IP

  127.0.0.1          $Y
  *                  $N

PORT_ACCESS

  *|*|*|*|*          $C$|INTERNAL_IP;$3|$YINTERNAL$E
  *                  $YEXTERNAL

REVERSE

  *@localhost        $0@test.example$Y
"""

ALIASES = """\
postmaster: joe@siroe.com
staff: alice@siroe.com, bob@example.org
"""


class Lookup:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rb")
        assert self.line() == "+OK lookup ready"

    def line(self):
        return self.f.readline().decode().rstrip("\r\n")

    def ask(self, cmd):
        self.sock.sendall((cmd + "\r\n").encode())
        return self.line()

    def close(self):
        self.f.close()
        self.sock.close()


def lookup_server(cursus, **kw):
    files = {"mappings": MAPPINGS, "aliases": ALIASES}
    files.update(kw.pop("files", {}))
    return cursus(services={"LOOKUP": {"PROTOCOL": "lookup",
                                       "CHANNEL": "tcp_local"}},
                  imta=kw.pop("imta", IMTA), files=files, **kw)


def ask_once(srv, cmd):
    c = Lookup(srv.port("LOOKUP"))
    try:
        return c.ask(cmd)
    finally:
        c.close()


def test_lookup_services_in_a_worker(cursus):
    srv = lookup_server(cursus)
    srv.start()
    c = Lookup(srv.port("LOOKUP"))
    assert c.ask("RCPT postmaster@localhost") == \
        "+OK postmaster@localhost l | joe@siroe.com->ims-ms"
    assert c.ask("RCPT staff@localhost") == "+OK staff@localhost l | " \
        "alice@siroe.com->ims-ms bob@example.org->tcp_local"
    assert c.ask("RCPT nosuch@localhost") == \
        "-ERR 550 5.1.1 nosuch@localhost: no such user here"
    assert c.ask("RCPT bad@@x") .startswith("-ERR 553 5.1.3 ")
    assert c.ask("FROM joe@localhost") == "+OK joe@test.example"
    assert c.ask("FROM joe@@x").startswith("-ERR 553 5.1.7 ")
    assert c.ask("PATH <joe@Example.COM> SIZE=100") == \
        "+OK <joe@example.com> SIZE=100"
    assert c.ask("PATH <> BODY=8BITMIME") == "+OK <> BODY=8BITMIME"
    assert c.ask("PATH joe@example.com").startswith("-ERR the path must be")
    assert c.ask("MAP INTERNAL_IP 127.0.0.1") == "+OK  Y"
    assert c.ask("MAP INTERNAL_IP 10.0.0.1") == "+OK  N"
    assert c.ask("MAP NOSUCH x") == "-ERR none"
    assert c.ask("PORT") == "+OK 0 INTERNAL"
    assert c.ask("HDR To: Team: bob@localhost, \"Al\" <al@siroe.com>;") == \
        "+OK Team: bob@public.test.example, \"Al\" <al@siroe.com>;"
    c.close()


def wait_answer(srv, cmd, expect, timeout=15):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = ask_once(srv, cmd)
        if got == expect:
            return got
        time.sleep(0.2)
    raise AssertionError("%s: still %r, want %r\n%s" % (cmd, got, expect,
                                                        srv.log()))


def image_files(srv):
    d = os.path.join(srv.state, "compiled")
    return sorted(n for n in os.listdir(d) if n.startswith("image-"))


def test_cnbuild_then_refresh(cursus):
    srv = lookup_server(cursus)
    srv.start()
    old = "+OK staff@localhost l | alice@siroe.com->ims-ms " \
          "bob@example.org->tcp_local"
    assert ask_once(srv, "RCPT staff@localhost") == old

    # an edited file is not used before `cursus refresh`
    srv.write("aliases", "postmaster: joe@siroe.com\n"
                         "staff: carol@siroe.com\n")
    assert ask_once(srv, "RCPT staff@localhost") == old

    p = srv.cursus("cnbuild")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "compiled 3 mapping tables (5 entries) and 2 aliases into" in \
        p.stdout
    first = image_files(srv)
    assert len(first) == 1
    # compiled, but the running server still has what it accepted
    assert ask_once(srv, "RCPT staff@localhost") == old
    p = srv.cursus("test-rewrite", "-q", "staff@localhost")
    assert "carol@siroe.com" in p.stdout
    assert "compiled image" not in p.stdout  # -q

    p = srv.cursus("refresh")
    assert p.returncode == 0, p.stdout + p.stderr
    new = "+OK staff@localhost l | carol@siroe.com->ims-ms"
    wait_answer(srv, "RCPT staff@localhost", new)

    # with an image in force, the text files are compiled, not read:
    # editing aliases again changes nothing until cnbuild + refresh
    srv.write("aliases", "postmaster: joe@siroe.com\nstaff: dan@siroe.com\n")
    p = srv.cursus("config", "check")
    assert p.returncode == 0
    assert "changed since `cursus cnbuild`" in p.stderr
    p = srv.cursus("refresh")
    assert p.returncode == 0
    time.sleep(1)
    assert ask_once(srv, "RCPT staff@localhost") == new

    # more builds prune old images, never the one the server runs on
    for _ in range(5):
        assert srv.cursus("cnbuild").returncode == 0
    files = image_files(srv)
    assert first[0] in files
    assert len(files) <= 5
    assert ask_once(srv, "RCPT staff@localhost") == new
    assert srv.cursus("refresh").returncode == 0
    wait_answer(srv, "RCPT staff@localhost",
                "+OK staff@localhost l | dan@siroe.com->ims-ms")

    # a damaged image pointer is refused: the server keeps running on the
    # configuration it had
    with open(os.path.join(srv.state, "compiled", "current"), "w") as f:
        f.write("image-nonexistent.tch\n")
    p = srv.cursus("config", "check")
    assert p.returncode == 1
    assert "compiled/current" in p.stderr
    srv.cursus("refresh")
    assert srv.wait_for_log("refresh refused")
    assert ask_once(srv, "RCPT staff@localhost") == \
        "+OK staff@localhost l | dan@siroe.com->ims-ms"


def check_errors(cursus, **kw):
    srv = cursus(**kw)
    p = srv.cursus("config", "check")
    assert p.returncode == 1, p.stdout + p.stderr
    return srv, p.stderr


def test_config_check_reports_file_and_line(cursus):
    imta = textwrap.dedent("""\
        ! line 1
        good.example            $U@localhost
        unknown.example         $U%$Kx@tcp-daemon
        unterminated.example    ${INTERNAL_IP,$L@tcp-daemon
        notable.example         ${NOSUCH,$H}
        form.example            $U%a%b
        bad$pattern             $U@localhost
        nomodule.example        $U%x@tcp-daemon$[nomod,fn,$U]
        nodb.example            $(db,$H)
        .                       $U%$H@tcp-daemon

        l
        localhost

        tcp_local slave
        tcp-daemon
        """)
    mappings = textwrap.dedent("""\
        INTERNAL_IP

          127.0.0.1  $Y

        SOURCED nosuchscheme:whatever

        A

          *  $|B;$0|

        B

          *  $|A;$0|
        """)
    aliases = "good: a@b.example\nbad: @@x\n"
    srv, err = check_errors(cursus, imta=imta, files={
        "mappings": mappings, "aliases": aliases},
        conf_extra="[databases]\nother = ldapx:whatever\n")
    cfg = srv.config
    expect = [
        "%s/imta.cnf:3: rewrite template \"$U%%$Kx@tcp-daemon\": unknown "
        "sequence \"$K\"" % cfg,
        "%s/imta.cnf:4: rewrite template \"${INTERNAL_IP,$L@tcp-daemon\": "
        "unterminated \"${\"" % cfg,
        "%s/imta.cnf:5: rewrite template \"${NOSUCH,$H}\": ${NOSUCH,...}: "
        "mapping table NOSUCH is not defined" % cfg,
        "%s/imta.cnf:6: rewrite template \"$U%%a%%b\": misplaced '%%'" % cfg,
        "%s/imta.cnf:7: unknown sequence in rule pattern \"bad$pattern\"" % cfg,
        "%s/imta.cnf:8: rewrite template \"$U%%x@tcp-daemon$[nomod,fn,$U]\": "
        "$[nomod,fn,...]: module nomod is not available" % cfg,
        "%s/imta.cnf:9: rewrite template \"$(db,$H)\": $(db,...): no database "
        "db in cursus.conf [databases]" % cfg,
        "%s/mappings:5: mapping table SOURCED: no available mapping module "
        "serves the scheme \"nosuchscheme\"" % cfg,
        "mapping loop: A -> B -> A",
        "%s/aliases:2: alias bad: member \"@@x\"" % cfg,
        "other = ldapx:whatever: no available mapping module serves the "
        "scheme \"ldapx\"",
    ]
    for e in expect:
        assert e in err, "missing: %s\n---\n%s" % (e, err)
    assert "imta.cnf:2:" not in err and "imta.cnf:10:" not in err


def test_config_check_passes_and_marks_modules_used(cursus):
    srv = lookup_server(cursus, files={
        "mappings": MAPPINGS + "\nBIG file:big.txt\n",
        "big.txt": "a  b$Y\n"})
    p = srv.cursus("config", "check")
    assert p.returncode == 0, p.stderr
    assert "map_file is installed but not used" not in p.stdout
    p = srv.cursus("test-mapping", "BIG", "a")
    assert "output                    = b" in p.stdout
    # a bad entry in a table file is an error of the check too
    srv.write("big.txt", "a  b$Y\nnovalue\n")
    p = srv.cursus("config", "check")
    assert p.returncode == 1
    assert "mappings:15: mapping table BIG: map_file: cannot open file:big.txt: "\
        "line 2: \"novalue\" has no value" in p.stderr
