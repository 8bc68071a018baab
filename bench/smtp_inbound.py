#!/usr/bin/env python3
"""smtp_inbound.py - SMTP acceptance with durable queueing, Cursus beside
Postfix in one run (run it through bench/smtp-inbound.sh).

Prints, after the fsync probe and the load tool's ceiling:
  - messages accepted per second, Postfix's smtp-source with 10 KB
    messages, 20 sessions and 1 session (a new connection per message),
    warm-up run discarded, median (and range) of the runs, CPU use of the
    machine, and for Cursus the CPU time per message of each of its
    threads (worker, committer, linker, pool ...) and of smtp-source;
  - the time from the end of DATA to the 250, p50/p99, with one session
    alone and with one session beside a 20-session load;
  - memory (PSS) per idle SMTP session after EHLO.
Both servers queue durably: Cursus fsyncs with group commit before its
250; Postfix fsyncs each queue file before its 250 (and, as in the
protocol of ../shared benchmarking notes, routes the mail to `discard`,
so its delivery work runs beside the acceptance).  Cursus's job
controller runs no delivery job here: only acceptance is measured.
Figures only; nothing is asserted.

Files are moved aside between runs and deleted only at the end, and all
of Cursus's rows run before Postfix's (whose discard deliveries delete
files as it goes): on ext4 without a journal, creating files in the
minutes after many were deleted costs several times more (the inode
allocator passes over recently freed inodes whose inode-table block is
still dirty), so a deletion right before a run would slow the run after
it, whichever server it measures.

Environment: BENCH_MESSAGES (10000), BENCH_RUNS (3), BENCH_IDLE (1000).
"""
import glob
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ["CURSUS_BUILDDIR"] = BUILD
os.environ["CURSUS_SRCDIR"] = SRC
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, os.path.join(SRC, "bench"))

import cursus_harness  # noqa: E402
import fsync_probe  # noqa: E402
import treecpu  # noqa: E402
from mta_harness import make_mta  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IDLE = int(os.environ.get("BENCH_IDLE", "1000"))
SIZE = 10240
RCPT = "alice@example.com"


def free_port():
    return cursus_harness.free_port()


# ------------------------------------------------------------ measuring

class Vmstat:
    """Average CPU use (us, sy, id, wa) while it runs."""

    def __enter__(self):
        self.p = subprocess.Popen(["vmstat", "1"], stdout=subprocess.PIPE, text=True)
        self.rows = []

        def read():
            for line in self.p.stdout:
                f = line.split()
                if len(f) >= 16 and f[0].isdigit():
                    self.rows.append([int(x) for x in f[12:16]])
        self.t = threading.Thread(target=read, daemon=True)
        self.t.start()
        return self

    def __exit__(self, *a):
        self.p.terminate()
        self.p.wait()

    def summary(self):
        rows = self.rows[1:] or self.rows  # the first line is since boot
        if not rows:
            return "-"
        avg = [sum(r[i] for r in rows) / len(rows) for i in range(4)]
        return "us %2.0f sy %2.0f id %2.0f wa %2.0f" % tuple(avg)


def smtp_source(port, sessions, messages, length=SIZE, extra=()):
    """Seconds smtp-source takes to send MESSAGES."""
    cmd = ["smtp-source", "-s", str(sessions), "-m", str(messages), "-l",
           str(length), "-f", "load@example.org", "-t", RCPT] + list(extra) + \
          ["127.0.0.1:%d" % port]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    el = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("smtp-source failed: %s%s" % (p.stdout, p.stderr))
    return el


def latencies(port, n, body):
    """Seconds from sending the end of DATA to the 250, N messages on one
    connection."""
    s = socket.create_connection(("127.0.0.1", port))
    # the end of DATA leaves at once, not when the body is acknowledged
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise EOFError("connection closed")
            if line[3:4] != b"-":
                return line

    reply()
    s.sendall(b"EHLO probe.example.org\r\n")
    reply()
    out = []
    for _ in range(n):
        s.sendall(b"MAIL FROM:<probe@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % RCPT.encode())
        for _ in range(3):
            reply()
        s.sendall(body)
        t0 = time.perf_counter()
        s.sendall(b".\r\n")
        r = reply()
        out.append(time.perf_counter() - t0)
        if not r.startswith(b"250"):
            raise RuntimeError("probe: %r" % r)
    s.sendall(b"QUIT\r\n")
    s.close()
    return out


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]


def pss(match):
    """PSS (KiB) summed over the processes for which MATCH(cmdline) holds."""
    total = 0
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            if not match(cmd):
                continue
            with open(d + "/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def idle_sessions(port, n, match, settle=2.0):
    """PSS per idle session after EHLO (KiB), and how many opened."""
    before = pss(match)
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            buf = b""
            while b"\n" not in buf:
                buf += s.recv(4096)
            if not buf.startswith(b"220"):
                s.close()
                break
            s.sendall(b"EHLO idle.example.org\r\n")
            buf = b""
            while b"\r\n250 " not in buf and not buf.startswith(b"250 "):
                buf += s.recv(4096)
            socks.append(s)
        time.sleep(settle)
        after = pss(match)
        return (after - before) / max(len(socks), 1), len(socks)
    finally:
        for s in socks:
            s.close()


# -------------------------------------------------------------- servers

# The worker pool as config/dispatcher.cnf ships it: one worker takes up to
# MIN_CONNS sessions before a second starts, so the 20 sessions share one
# event loop and one committer (on two cores beside the load tool that
# costs less CPU per message than two workers: fewer wake-ups, larger
# commit batches).
SHIPPED_DISPATCHER = "MIN_PROCS=1\nMAX_PROCS=4\nMIN_CONNS=50\nMAX_CONNS=10000\n"


def start_cursus(base, name="cursus"):
    d = os.path.join(base, name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    factory = lambda **kw: cursus_harness.Server(d, **kw)  # noqa: E731
    srv = make_mta(factory, services={"SMTP": {"PROTOCOL": "smtp",
                                               "CHANNEL": "tcp_local"}},
                   dispatcher_global=SHIPPED_DISPATCHER,
                   conf_extra="[log]\nlevel = notice\n")
    return srv


POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.example.org
mydomain = example.org
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.com
virtual_transport = discard
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 200
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = {d}/maillog
biff = no
smtputf8_enable = no
"""


class Postfix:
    """Postfix configured as the benchmarking notes say, in its own
    directory on the same file system as Cursus's queue."""

    def __init__(self, base):
        self.dir = os.path.join(base, "postfix")
        os.makedirs(os.path.join(self.dir, "queue"))
        os.makedirs(os.path.join(self.dir, "data"))
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        self.port = free_port()
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN.format(d=self.dir))
        with open("/etc/postfix/master.cf") as f:
            master = f.read()
        master = re.sub(r"(?m)^smtp\s+inet\s+n\s+-\s+\S+\s+-\s+-\s+smtpd",
                        "127.0.0.1:%d inet n - n - - smtpd" % self.port, master)
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(master)
        self.pf(["set-permissions"])
        subprocess.run(["postconf", "-c", self.dir, "-F", "*/*/chroot = n"],
                       check=True, capture_output=True)
        self.pf(["start"])
        if not cursus_harness.wait_port(self.port, 20):
            raise RuntimeError("postfix did not start")

    def pf(self, args):
        return subprocess.run(["postfix", "-c", self.dir] + args,
                              capture_output=True, text=True)

    def queue_empty(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            n = sum(len(files) for sub in ("incoming", "active", "maildrop")
                    for _, _, files in os.walk(os.path.join(self.dir, "queue", sub)))
            if n == 0:
                return True
            time.sleep(0.5)
        return False

    def stop(self):
        self.pf(["stop"])

    def cpu(self):
        """CPU seconds Postfix's processes used so far (its master and
        every process below it, those gone included)."""
        with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
            return treecpu.cpu_seconds(pid=int(f.read().split()[0]))


# ---------------------------------------------------------------- rows

def thread_cpu(match):
    """CPU seconds used so far by each thread name of the processes for
    which MATCH(cmdline) holds."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                if not match(f.read().split(b"\0")):
                    continue
            for t in glob.glob(d + "/task/*"):
                with open(t + "/stat") as f:
                    st = f.read()
                comm = st[st.index("(") + 1:st.rindex(")")]
                fields = st[st.rindex(")") + 2:].split()
                out[comm] = out.get(comm, 0) + (int(fields[11]) + int(fields[12])) / hz
        except (OSError, ValueError):
            pass
    return out


def accept_rate(name, port, sessions, after_run, match=None, server_cpu=None):
    """Median rate of RUNS runs after a warm-up; with MATCH, the CPU time
    per message of the server's threads and of the load tool; with
    SERVER_CPU (a function: CPU seconds so far), the server's CPU time
    per message, the work AFTER_RUN waits for included."""
    smtp_source(port, sessions, max(200, MESSAGES // 20))
    after_run()
    rates, cpu, per_msg = [], [], []
    for _ in range(RUNS):
        before = thread_cpu(match) if match else {}
        server_before = server_cpu() if server_cpu else 0
        tool = resource.getrusage(resource.RUSAGE_CHILDREN)
        with Vmstat() as v:
            el = smtp_source(port, sessions, MESSAGES)
        tool2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = thread_cpu(match) if match else {}
        rates.append(MESSAGES / el)
        cpu.append(v.summary())
        used = {k: after[k] - before.get(k, 0) for k in after}
        used["smtp-source"] = (tool2.ru_utime - tool.ru_utime) + (tool2.ru_stime - tool.ru_stime)
        after_run()
        if server_cpu:
            used["server"] = server_cpu() - server_before
        per_msg.append(used)
    med = statistics.median(rates)
    print("  %-8s %2d session(s): %7.0f msg/s  (runs %s)  cpu %s" % (
        name, sessions, med, ", ".join("%.0f" % r for r in rates), cpu[len(cpu) // 2]))
    if match:
        used = per_msg[rates.index(med)]
        total = sum(v for k, v in used.items() if k != "smtp-source")
        print("  %-8s    CPU per message: %.0f us (%s); smtp-source %.0f us" % (
            name, total / MESSAGES * 1e6,
            ", ".join("%s %.0f" % (k, v / MESSAGES * 1e6)
                      for k, v in sorted(used.items(), key=lambda kv: -kv[1])
                      if k != "smtp-source" and v > 0),
            used["smtp-source"] / MESSAGES * 1e6))
    if server_cpu:
        used = per_msg[rates.index(med)]
        print("  %-8s    CPU per message: %.0f us (every process, the discard "
              "deliveries included); smtp-source %.0f us" % (
                  name, used["server"] / MESSAGES * 1e6,
                  used["smtp-source"] / MESSAGES * 1e6))
    return med


def latency_rows(name, port, after_run):
    body = b"Subject: probe\r\n\r\n" + (b"x" * 78 + b"\r\n") * (SIZE // 80)
    alone = latencies(port, 500, body)
    after_run()
    load = threading.Thread(target=smtp_source, args=(port, 20, MESSAGES // 2))
    load.start()
    time.sleep(0.5)
    loaded = latencies(port, 300, body)
    load.join()
    after_run()
    return ("  %-8s end of DATA -> 250: alone p50 %.2f ms p99 %.2f ms; "
            "beside 20 sessions p50 %.2f ms p99 %.2f ms" % (
                name, pct(alone, .5) * 1e3, pct(alone, .99) * 1e3,
                pct(loaded, .5) * 1e3, pct(loaded, .99) * 1e3))


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for tool in ("smtp-source", "smtp-sink", "postfix", "vmstat"):
        if shutil.which(tool) is None:
            sys.exit("smtp-inbound: %s is needed (apt-get install postfix procps)" % tool)
    base = tempfile.mkdtemp(prefix="cursus-bench-smtp.", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    os.chmod(base, 0o755)
    srv = pf = sink = None
    try:
        trash = os.path.join(base, "trash")
        os.makedirs(trash)
        print("== fsync probe (%s)" % base)
        fsync_probe.probe(base, 2.0, trash=trash)

        print("== load tool ceiling: smtp-source -> smtp-sink, 10 KB")
        sport = free_port()
        sink = subprocess.Popen(["smtp-sink", "-u", "postfix", "127.0.0.1:%d" % sport, "1024"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cursus_harness.wait_port(sport)
        el = smtp_source(sport, 20, MESSAGES)
        print("  20 sessions, a connection per message: %.0f msg/s" % (MESSAGES / el))
        sink.terminate()
        sink.wait()
        sink = None

        srv = start_cursus(base)
        pf = Postfix(base)
        cport, pport = srv.port("SMTP"), pf.port
        qdir = os.path.join(srv.state, "queue")

        moved = [0]

        def cursus_clean():
            # keep the queue directories the same size from run to run;
            # the files are deleted at the end (see above)
            for root, _, files in os.walk(qdir):
                for name in files:
                    moved[0] += 1
                    os.rename(os.path.join(root, name),
                              os.path.join(trash, "q%d" % moved[0]))
            subprocess.run(["sync"])

        def postfix_clean():
            pf.queue_empty()
            subprocess.run(["sync"])

        print("== messages accepted per second (10 KB, durable; median of %d)" % RUNS)
        rates = {}
        for sessions in (20, 1):
            rates[("cursus", sessions)] = accept_rate(
                "cursus", cport, sessions, cursus_clean,
                lambda cmd: srv.config.encode() in cmd)
        cursus_latency = latency_rows("cursus", cport, cursus_clean)
        for sessions in (20, 1):
            rates[("postfix", sessions)] = accept_rate("postfix", pport, sessions,
                                                       postfix_clean, server_cpu=pf.cpu)
        postfix_latency = latency_rows("postfix", pport, postfix_clean)
        for sessions in (20, 1):
            print("  ratio cursus/postfix, %d session(s): %.1fx" % (
                sessions, rates[("cursus", sessions)] / rates[("postfix", sessions)]))

        print("== end of DATA to 250 (10 KB messages, one connection)")
        print(cursus_latency)
        print(postfix_latency)

        print("== memory per idle SMTP session after EHLO (PSS)")
        # a server that has not carried the load: the heap the loads left
        # behind would hold the new sessions and hide their cost
        srv.stop()
        srv = start_cursus(base, "cursus-idle")
        idle_sessions(srv.port("SMTP"), 20, lambda cmd: False, settle=0)
        per, n = idle_sessions(srv.port("SMTP"), IDLE,
                               lambda cmd: srv.config.encode() in cmd)
        print("  cursus   %5d sessions: %6.1f KiB per session (the worker "
              "processes the dispatcher started for them included: %d in all)"
              % (n, per, len(srv.processes("worker"))))
        per, n = idle_sessions(pport, min(IDLE, 150),
                               lambda cmd: cmd[:1] == [b"smtpd"] or cmd[0].endswith(b"/smtpd"))
        print("  postfix  %5d sessions: %6.1f KiB per session (one smtpd process each)" % (n, per))
    finally:
        if sink is not None:
            sink.terminate()
        if srv is not None:
            srv.stop()
        if pf is not None:
            pf.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
