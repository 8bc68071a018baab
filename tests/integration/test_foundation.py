"""The foundation: start/stop/status/refresh, supervision, the dispatcher's
hand-off to workers, the connection layer, config check and module listing.

Uses the test_echo protocol module (tests/modules/test_echo.c)."""
import os
import signal
import socket
import time

import pytest

import cursus_harness
from cursus_harness import run_cursus, wait_port


def echo_server(cursus, **kw):
    services = kw.pop("services", {"ECHO": {"PROTOCOL": "echo",
                                           "CHANNEL": "tcp_local"}})
    return cursus(services=services, **kw)


class Client:
    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def line(self):
        return self.f.readline().decode()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def close(self):
        self.f.close()
        self.sock.close()


def test_start_status_stop(cursus):
    srv = echo_server(cursus)
    srv.start()
    st = srv.cursus("status")
    assert st.returncode == 0, st.stdout
    for name in ("watcher", "dispatcher", "job-controller", "stored"):
        assert name in st.stdout and "running (pid" in st.stdout
    c = Client(srv.port("ECHO"))
    assert c.line() == "+OK echo ECHO ready\r\n"
    c.send("hello world\r\n")
    assert c.line() == "echo: hello world\r\n"
    c.close()
    assert "stopped" in srv.stop().stdout
    st = srv.cursus("status")
    assert st.returncode == 3, st.stdout + st.stderr
    assert "not running" in st.stdout


def test_second_start_refused(cursus):
    srv = echo_server(cursus)
    srv.start()
    p = srv.cursus("start")
    assert p.returncode == 1
    assert "already running" in p.stderr


@pytest.mark.parametrize("victim", ["dispatcher", "job-controller", "stored"])
def test_killed_process_is_restarted(cursus, victim):
    srv = echo_server(cursus)
    srv.start()
    old = srv.pid(victim)
    os.kill(old, signal.SIGKILL)
    assert srv.wait_until(lambda: srv.pid(victim) not in (None, old), timeout=10)
    assert srv.wait_for_log("%s (pid %d) was killed by signal 9" % (victim, old))
    if victim == "dispatcher":
        assert wait_port(srv.port("ECHO"))
        c = Client(srv.port("ECHO"))
        assert c.line().startswith("+OK echo")
        c.close()
    assert srv.cursus("status").returncode == 0


def test_crashing_worker_spares_other_sessions(cursus):
    srv = echo_server(cursus)
    srv.start()
    a = Client(srv.port("ECHO"))
    assert a.line().startswith("+OK")
    b = Client(srv.port("ECHO"))
    assert b.line().startswith("+OK")
    # both sessions are in the same worker; a crash there ends both, but the
    # dispatcher replaces the worker and new sessions work
    a.send("CRASH\r\n")
    assert srv.wait_for_log("killed by signal 6")
    c = Client(srv.port("ECHO"))
    assert c.line().startswith("+OK echo")
    c.send("after crash\r\n")
    assert c.line() == "echo: after crash\r\n"
    assert srv.cursus("status").returncode == 0


def test_pipelined_lines_limits_and_bytes(cursus):
    srv = echo_server(cursus)
    srv.start()
    c = Client(srv.port("ECHO"))
    c.line()
    c.send("one\r\ntwo\nINFO\r\n" + "x" * 5000 + "\r\nthree\r\nBYTES 7\r\n1234567SLEEP 100\r\nlast\r\n")
    assert c.line() == "echo: one\r\n"
    assert c.line() == "echo: two\r\n"
    info = c.line()
    assert "service=ECHO" in info and "remote=127.0.0.1" in info
    assert "channel=tcp_local" in info and "host=mail.test.example" in info
    assert c.line() == "-ERR line too long\r\n"
    assert c.line() == "echo: three\r\n"
    assert c.line() == "+OK 7 bytes\r\n"
    assert c.line() == "+OK awake\r\n"
    assert c.line() == "echo: last\r\n"


def test_idle_timeout(cursus):
    srv = echo_server(cursus, conf_extra="[module test_echo]\ntimeout = 1\n")
    srv.start()
    c = Client(srv.port("ECHO"))
    c.line()
    t0 = time.time()
    assert c.line() == "-ERR timeout\r\n"
    assert 0.5 < time.time() - t0 < 5
    assert c.line() == ""


def test_per_ip_limit_gets_busy_reply(cursus):
    srv = echo_server(cursus, dispatcher_global="MAX_CONNS_PER_IP=2")
    srv.start()
    a, b = Client(srv.port("ECHO")), Client(srv.port("ECHO"))
    assert a.line().startswith("+OK") and b.line().startswith("+OK")
    c = Client(srv.port("ECHO"))
    assert c.line() == "-ERR busy\r\n"
    assert c.line() == ""
    assert srv.wait_for_log("too many connections from this address")
    a.send("QUIT\r\n")
    assert a.line() == "+OK bye\r\n"
    # the slot is free again once the dispatcher hears of the close
    assert srv.wait_until(lambda: _greets(srv.port("ECHO")), timeout=5)


def _greets(port):
    c = Client(port)
    try:
        return c.line().startswith("+OK echo")
    finally:
        c.close()


def test_blocked_network(cursus):
    srv = echo_server(cursus, dispatcher_global="BLOCK=127.0.0.0/8")
    srv.start()
    c = Client(srv.port("ECHO"))
    assert c.line() == "-ERR busy\r\n"
    assert srv.wait_for_log("address blocked")


def test_refresh_keeps_old_config_on_errors(cursus):
    srv = echo_server(cursus)
    srv.start()
    srv.write("imta.cnf", ". $U@tcp_local-daemon\n\ntcp_local nosuchkeyword\ntcp-daemon\n")
    p = srv.cursus("refresh")
    assert p.returncode == 1
    assert "imta.cnf:3: channel tcp_local: unknown keyword 'nosuchkeyword'" in p.stderr
    # signal the watcher directly: it must check and refuse as well
    os.kill(srv.pid("watcher"), signal.SIGHUP)
    assert srv.wait_for_log("refresh refused")
    c = Client(srv.port("ECHO"))
    assert c.line().startswith("+OK echo")
    assert srv.cursus("status").returncode == 0


def test_refresh_applies_good_config(cursus):
    srv = echo_server(cursus)
    srv.start()
    p = srv.cursus("refresh")
    assert p.returncode == 0, p.stderr
    assert srv.wait_for_log("dispatcher: configuration reloaded")
    assert srv.wait_for_log("retiring worker")
    c = Client(srv.port("ECHO"))
    assert c.line().startswith("+OK echo")


def test_start_fails_clearly_when_port_taken(cursus):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    srv = echo_server(cursus, services={"ECHO": {"PROTOCOL": "echo", "PORT": str(port)}})
    p = srv.start(expect_ok=False)
    assert p.returncode != 0
    assert "dispatcher" in p.stderr and "during start-up" in p.stderr
    assert "cannot listen on 127.0.0.1 port %d" % port in srv.log()
    assert srv.cursus("status").returncode == 3
    blocker.close()


def test_start_refuses_broken_config(cursus):
    srv = echo_server(cursus)
    srv.write("dispatcher.cnf", "[SERVICE=ECHO]\nPROTOCOL=nosuch\nPORT=1\nMAX_PROCS=x\n")
    p = srv.start(expect_ok=False)
    assert p.returncode == 1
    assert "dispatcher.cnf:4: option 'MAX_PROCS' expects an integer" in p.stderr
    assert "dispatcher.cnf:1: service ECHO: no available module serves protocol 'nosuch'" in p.stderr


def test_modules_lists_and_explains_refusals(tmp_path):
    bad = os.path.join(os.environ.get("CURSUS_BUILDDIR", "."), "tests", "modules", "bad", ".libs")
    extra = tmp_path / "mods"
    extra.mkdir()
    os.chmod(extra, 0o755)
    (extra / "notelf.so").write_text("not a module\n")
    os.chmod(extra / "notelf.so", 0o644)
    good = os.path.join(os.environ.get("CURSUS_BUILDDIR", "."), "tests", "modules", ".libs")
    with open(os.path.join(good, "test_echo.so"), "rb") as f:
        (extra / "ww.so").write_bytes(f.read())
    os.chmod(extra / "ww.so", 0o666)
    p = run_cursus(str(tmp_path), "modules",
                   env={"CURSUS_MODULE_PATH": ":".join([good, bad, str(extra)])})
    assert p.returncode == 0
    out = p.stdout
    abi = cursus_harness.abi_version()
    assert "test_echo          1.0       %s   protocol" % abi in out
    assert "test_channel       2.1       %s   channel" % abi in out
    for needle in ("bad_major.so: refused: module bad_major is built for module ABI 8.0",
                   "bad_minor.so: refused: module bad_minor is built for module ABI %s.%d" % (
                       abi.split(".")[0], int(abi.split(".")[1]) + 3),
                   "bad_nodesc.so: refused: no 'cursus_module' descriptor symbol",
                   "bad_truncated.so: refused: truncated descriptor",
                   "bad_kind.so: refused: module bad_kind declares kind 'channel' but has no channel ops table",
                   "dup_b.so: refused: duplicate module name test_dup",
                   "notelf.so: refused: not a shared object (not an ELF file)",
                   "ww.so: refused: file %s/ww.so is writable by others" % extra):
        assert needle in out, needle


def test_config_check_reports_every_error_with_file_and_line(cursus):
    srv = echo_server(cursus)
    assert srv.cursus("config", "check").returncode == 0
    srv.write("imta.cnf", "a.com\n.  $U@x\n\nl maxjobs x\nlocalhost\n\n"
              "t nosuch\nt-daemon\n<loop.inc\n")
    srv.write("loop.inc", "<loop.inc\n")
    p = srv.cursus("config", "check")
    assert p.returncode == 1
    err = p.stderr
    cfg = srv.config
    assert "%s/imta.cnf:1: rewrite rule \"a.com\" has no template" % cfg in err
    assert "%s/imta.cnf:4: channel l: keyword 'maxjobs' expects an integer" % cfg in err
    assert "%s/imta.cnf:7: channel t: unknown keyword 'nosuch'" % cfg in err
    assert "%s/loop.inc:1: include loop" % cfg in err
    assert "error(s)" in err


def _uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change user")
def test_root_start_drops_privileges(cursus, tmp_path):
    import pwd
    nobody = pwd.getpwnam("nobody")
    # the configuration must be readable by nobody for this test only: the
    # daemons read the accepted bundle, the modules their own files
    for d in [tmp_path] + list(tmp_path.parents)[:-1]:
        os.chmod(d, os.stat(d).st_mode | 0o005)
    srv = echo_server(cursus, conf_extra="")
    srv.write("cursus.conf", open(os.path.join(srv.config, "cursus.conf")).read()
              .replace("user = root", "user = nobody"))
    srv.start()
    assert _uid_of(srv.pid("watcher")) == 0
    for name in ("dispatcher", "job-controller", "stored"):
        assert _uid_of(srv.pid(name)) == nobody.pw_uid, name
    c = Client(srv.port("ECHO"))
    assert c.line().startswith("+OK echo")
    c.close()
    for sub in ("queue", "log", "run"):
        assert os.stat(os.path.join(srv.state, sub)).st_uid == nobody.pw_uid
    # restarted as root by the watcher, the dispatcher drops again
    old = srv.pid("dispatcher")
    os.kill(old, signal.SIGKILL)
    assert srv.wait_until(lambda: srv.pid("dispatcher") not in (None, old), timeout=10)
    assert srv.wait_until(lambda: _uid_of(srv.pid("dispatcher")) == nobody.pw_uid)
    assert wait_port(srv.port("ECHO"))


def test_every_core_keyword_is_documented(tmp_path):
    from cursus_harness import SRCDIR
    p = run_cursus(str(tmp_path), "config", "keywords")
    assert p.returncode == 0
    names = [l.split("\t")[0].split()[0] for l in p.stdout.splitlines()]
    assert len(names) > 100
    doc = open(os.path.join(SRCDIR, "docs", "channel-keywords.md")).read()
    missing = [n for n in names if "| `%s" % n not in doc]
    assert not missing, missing


def test_every_dispatcher_option_is_documented():
    import re
    from cursus_harness import SRCDIR
    src = open(os.path.join(SRCDIR, "core", "config", "dispcnf.c")).read()
    schema = src[src.index("disp_schema[]"):src.index("{NULL, 0, 0, 0, 0, NULL}")]
    names = re.findall(r'\{"([A-Z_]+)"', schema)
    assert len(names) > 20
    doc = open(os.path.join(SRCDIR, "docs", "dispatcher.md")).read()
    missing = [n for n in names if "`%s`" % n not in doc]
    assert not missing, missing


def test_session_accounting_survives_churn(cursus):
    """Thousands of short connections: the dispatcher hears of every close,
    so a service at its session limit admits new sessions again."""
    srv = echo_server(cursus, dispatcher_global="MAX_SESSIONS=40\nMAX_CONNS=100")
    srv.start()
    port = srv.port("ECHO")
    for _ in range(50):
        batch = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        for s in batch:
            s.close()
    # every slot must come back: 40 concurrent sessions greet, the 41st is busy
    def all_slots_free():
        clients = [Client(port) for _ in range(40)]
        ok = all(c.line().startswith("+OK echo") for c in clients)
        extra = Client(port)
        busy = extra.line() == "-ERR busy\r\n"
        for c in clients + [extra]:
            c.close()
        return ok and busy
    assert srv.wait_until(all_slots_free, timeout=20, interval=0.5)
