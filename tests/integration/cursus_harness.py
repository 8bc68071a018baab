"""cursus_harness - run a Cursus server from the build tree for a test.

A test gets a server in its own temporary directory, listening on free
loopback ports, with the modules of the build tree.  The server is stopped
when the test ends, whether it passed or failed; on failure its logs are
printed.

    def test_something(cursus):
        srv = cursus(services={"SMTP": "smtp"})      # or a custom config
        srv.start()
        with smtplib.SMTP("127.0.0.1", srv.port("SMTP")) as s:
            ...

Environment: CURSUS_BUILDDIR (set by `make check`) is the build tree;
otherwise the current directory is used.
"""
import glob
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import textwrap
import time

BUILDDIR = os.path.abspath(os.environ.get("CURSUS_BUILDDIR", os.getcwd()))
SRCDIR = os.path.abspath(os.environ.get(
    "CURSUS_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..")))
CURSUS = os.path.join(BUILDDIR, "cursus")


def abi_version():
    """The module ABI of the SDK headers, "MAJOR.MINOR"."""
    with open(os.path.join(SRCDIR, "sdk", "include", "cursus", "common.h")) as f:
        text = f.read()
    major = re.search(r"#define CURSUS_ABI_MAJOR (\d+)", text).group(1)
    minor = re.search(r"#define CURSUS_ABI_MINOR (\d+)", text).group(1)
    return "%s.%s" % (major, minor)


def module_path(extra=()):
    """The build tree's module directories (every modules/*/.libs and the
    test modules), colon-separated."""
    dirs = sorted(glob.glob(os.path.join(BUILDDIR, "modules", "*", ".libs")))
    dirs.append(os.path.join(BUILDDIR, "tests", "modules", ".libs"))
    dirs.extend(extra)
    return ":".join(d for d in dirs if os.path.isdir(d))


_handed_out = set()


def _port_slice():
    """The ports this test process hands out: below the kernel's ephemeral
    range (so no client socket of another test holds one as its local
    port), and a separate slice per pytest-xdist worker (so two processes
    never pick the same)."""
    lo, hi = 20000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first = int(f.read().split()[0])
        if first >= lo + 4000:
            hi = min(hi, first)
    except (OSError, ValueError, IndexError):
        pass
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    me = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    k = int(me[2:]) if me.startswith("gw") and me[2:].isdigit() else 0
    size = (hi - lo) // workers
    return lo + (k % workers) * size, size


_slice = {}


def free_port(udp=False):
    """A TCP port on 127.0.0.1 nobody listens on right now (and with UDP,
    free for UDP as well), never one this process handed out before."""
    if "range" not in _slice:
        base, size = _port_slice()
        _slice["range"] = (base, size)
        _slice["next"] = random.randrange(size)
    base, size = _slice["range"]
    for _ in range(size):
        port = base + _slice["next"] % size
        _slice["next"] += 1
        if port in _handed_out:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
            if udp:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise AssertionError("no free port left in %d-%d" % (base, base + size - 1))


def run_cursus(config_dir, *args, env=None, check=False, timeout=60,
               input=None):
    """Run `cursus --config CONFIG_DIR ARGS`; returns CompletedProcess."""
    e = dict(os.environ)
    e.setdefault("CURSUS_MODULE_PATH", module_path())
    if env:
        e.update(env)
    p = subprocess.run([CURSUS, "--config", config_dir] + list(args),
                       capture_output=True, text=True, env=e, timeout=timeout,
                       input=input)
    if check and p.returncode != 0:
        raise AssertionError("cursus %s failed (%d):\n%s%s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr))
    return p


DEFAULT_IMTA = """\
! test configuration
.                       $U%$H@tcp_local-daemon

l
localhost

tcp_local slave
tcp-daemon
"""

DEFAULT_JOBC = """\
[POOL=DEFAULT]
JOB_LIMIT=4
"""


class Server:
    """One Cursus instance in DIRECTORY."""

    def __init__(self, directory, services=None, imta=None, jobc=None,
                 conf_extra="", dispatcher_global="", files=None,
                 module_path_extra=()):
        self.dir = str(directory)
        self.config = os.path.join(self.dir, "config")
        self.state = os.path.join(self.dir, "var")
        self.ports = {}
        self.env = {"CURSUS_MODULE_PATH": module_path(module_path_extra)}
        # under the sanitizer build, reports of the daemons land in files
        # that stop() checks (their stderr is /dev/null)
        self.sanitizer_dir = os.path.join(self.dir, "sanitizer")
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if var in os.environ:
                os.makedirs(self.sanitizer_dir, exist_ok=True)
                self.env[var] = "%s:log_path=%s/%s" % (
                    os.environ[var], self.sanitizer_dir, var.split("_")[0].lower())
        self.started = False
        os.makedirs(self.config, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.write("cursus.conf", textwrap.dedent("""\
            [paths]
            state_dir = {state}
            [server]
            user = {user}
            hostname = mail.test.example
            [log]
            level = debug
            """).format(state=self.state, user=_current_user()) + conf_extra)
        self.write("imta.cnf", imta if imta is not None else DEFAULT_IMTA)
        self.write("job_controller.cnf", jobc if jobc is not None else DEFAULT_JOBC)
        self.set_services(services or {}, dispatcher_global)
        for name, text in (files or {}).items():
            self.write(name, text)

    def set_services(self, services, dispatcher_global=""):
        """SERVICES maps a service name to a protocol, or to a dict of
        dispatcher.cnf options (PORT/TLS_PORT get free ports when given as
        "auto")."""
        lines = ["MIN_PROCS=1", "MAX_PROCS=2", "INTERFACE_ADDRESS=127.0.0.1",
                 dispatcher_global]
        for name, spec in services.items():
            opts = {"PROTOCOL": spec} if isinstance(spec, str) else dict(spec)
            opts.setdefault("PORT", "auto")
            lines.append("[SERVICE=%s]" % name)
            for k, v in opts.items():
                if v == "auto":
                    v = str(self.ports.get((name, k)) or free_port())
                    self.ports[(name, k)] = int(v)
                lines.append("%s=%s" % (k, v))
        self.write("dispatcher.cnf", "\n".join(lines) + "\n")

    def write(self, name, text):
        path = os.path.join(self.config, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def port(self, service, kind="PORT"):
        return self.ports[(service, kind)]

    def cursus(self, *args, **kw):
        env = dict(self.env)
        env.update(kw.pop("env", {}) or {})
        return run_cursus(self.config, *args, env=env, **kw)

    def start(self, expect_ok=True):
        p = self.cursus("start", timeout=90)
        if expect_ok and p.returncode != 0:
            raise AssertionError("cursus start failed (%d):\n%s%s\n%s" % (
                p.returncode, p.stdout, p.stderr, self.log()))
        self.started = p.returncode == 0
        return p

    def stop(self):
        p = None
        if self.started:
            p = self.cursus("stop", timeout=60)
            self.started = False
            if p.returncode != 0:
                self.kill_all()
        self.check_sanitizers()
        return p

    def check_sanitizers(self):
        """Fail when a daemon reported a sanitizer error."""
        if not os.path.isdir(self.sanitizer_dir):
            return
        reports = []
        for name in sorted(os.listdir(self.sanitizer_dir)):
            with open(os.path.join(self.sanitizer_dir, name), errors="replace") as f:
                reports.append("== %s ==\n%s" % (name, f.read()))
        if reports:
            raise AssertionError("sanitizer reports:\n" + "\n".join(reports))

    def kill_all(self):
        """Last resort: kill every process of this instance."""
        for pid in self.pids().values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def pid(self, name):
        try:
            with open(os.path.join(self.state, "run", name + ".pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def pids(self):
        out = {}
        for n in ("watcher", "dispatcher", "job-controller", "stored"):
            p = self.pid(n)
            if p:
                out[n] = p
        return out

    def processes(self, word):
        """Pids of this server's processes whose command line has WORD
        (e.g. "worker", "dispatcher")."""
        pids = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if self.config.encode() in args and word.encode() in args:
                pids.append(int(p))
        return pids

    def log(self):
        path = os.path.join(self.state, "log", "cursus.log")
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_for_log(self, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False

    def wait_until(self, predicate, timeout=10, interval=0.05):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return False


def _current_user():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False
