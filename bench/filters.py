#!/usr/bin/env python3
"""filters.py - SMTP acceptance with content filters (run it through
bench/filters.sh).

Three Cursus servers, one after the other, each taking the same load
(Postfix's smtp-source, 10 KB messages, BENCH_SESSIONS sessions, a new
connection per message, warm-up run discarded, median of BENCH_RUNS):
  none     no content filter
  example  sdk/examples/filter_tag (adds a header field: the message is
           read, edited and written again)
  opendkim filter_milter talking to OpenDKIM, which signs every message
Every message is queued durably (fsync, group commit) before its 250;
the job controller runs no delivery job.  Prints msg/s, the cost against
no filter, and CPU use.  Figures only; nothing is asserted.
"""
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ["CURSUS_BUILDDIR"] = BUILD
os.environ["CURSUS_SRCDIR"] = SRC
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, os.path.join(SRC, "bench"))

import cursus_harness  # noqa: E402
from mta_harness import make_mta, shipped  # noqa: E402
from smtp_inbound import Vmstat  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SESSIONS = int(os.environ.get("BENCH_SESSIONS", "20"))
SIZE = 10240


def smtp_source(port, messages):
    cmd = ["smtp-source", "-s", str(SESSIONS), "-m", str(messages), "-l",
           str(SIZE), "-f", "load@example.com", "-t", "alice@example.com",
           "127.0.0.1:%d" % port]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("smtp-source failed: %s%s" % (p.stdout, p.stderr))
    return time.perf_counter() - t0


def start_opendkim(base):
    keys = os.path.join(base, "dkim")
    os.makedirs(keys)
    subprocess.run(["opendkim-genkey", "-D", keys, "-d", "example.com", "-s",
                    "bench"], check=True)
    port = cursus_harness.free_port()
    conf = os.path.join(keys, "opendkim.conf")
    with open(conf, "w") as f:
        f.write("Syslog no\nMode sv\nDomain example.com\nSelector bench\n"
                "KeyFile %s/bench.private\nSocket inet:%d@127.0.0.1\n"
                "PidFile %s/pid\nCanonicalization relaxed/simple\n"
                "InternalHosts 127.0.0.1\nRequireSafeKeys no\n"
                % (keys, port, keys))
    p = subprocess.Popen(["opendkim", "-f", "-x", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cursus_harness.wait_port(port)
    return p, port


def build_example(base):
    work = os.path.join(base, "filter_tag")
    shutil.copytree(os.path.join(SRC, "sdk", "examples", "filter_tag"), work)
    os.chmod(work, 0o755)
    subprocess.run(["make", "-s", "-C", work, "CURSUS_SDK_CFLAGS=-I%s" %
                    os.path.join(SRC, "sdk", "include")], check=True)
    return work


def start_cursus(base, name, filters, conf, moddir):
    d = os.path.join(base, name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    factory = lambda **kw: cursus_harness.Server(  # noqa: E731
        d, module_path_extra=[moddir], **kw)
    imta = shipped("imta.cnf")
    if filters:
        imta = imta.replace("\ntcp_local smtp mx",
                            "\ntcp_local smtp mx contentfilter " + filters)
    return make_mta(factory, imta=imta,
                    services={"SMTP": {"PROTOCOL": "smtp",
                                       "CHANNEL": "tcp_local"}},
                    dispatcher_global="MAX_PROCS=2\nMIN_CONNS=10\n"
                                      "MAX_CONNS=20000\n",
                    conf_extra="[log]\nlevel = notice\n" + conf)


def run(srv, check):
    qdir = os.path.join(srv.state, "queue")

    def clean():
        for root, _, files in os.walk(qdir):
            for n in files:
                os.unlink(os.path.join(root, n))
        subprocess.run(["sync"])
    port = srv.port("SMTP")
    smtp_source(port, max(200, MESSAGES // 20))
    # one queued message shows the filter did its work
    sample = None
    for root, _, files in os.walk(qdir):
        for n in files:
            if not n.startswith("."):
                sample = open(os.path.join(root, n), "rb").read()
    if sample is None or check not in sample:
        sys.exit("filters.py: the filter did not run (no %r in %s)" % (check, qdir))
    clean()
    rates, cpu = [], []
    for _ in range(RUNS):
        with Vmstat() as v:
            el = smtp_source(port, MESSAGES)
        rates.append(MESSAGES / el)
        cpu.append(v.summary())
        clean()
    return statistics.median(rates), rates, cpu[len(cpu) // 2]


def main():
    for tool in ("smtp-source", "opendkim", "opendkim-genkey", "vmstat"):
        if shutil.which(tool) is None:
            sys.exit("filters.py: %s is needed (apt-get install postfix "
                     "opendkim opendkim-tools procps)" % tool)
    base = tempfile.mkdtemp(prefix="cursus-bench-filters.",
                            dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    os.chmod(base, 0o755)
    dkim = None
    try:
        moddir = build_example(base)
        dkim, dport = start_opendkim(base)
        cases = [
            ("none", "", "", b"Received:"),
            ("example", "tag", "[contentfilter tag]\nmodule = filter_tag\n",
             b"X-Filtered-By: tag"),
            ("opendkim", "dkim", "[contentfilter dkim]\nmodule = filter_milter\n"
             "milter = inet:127.0.0.1:%d\n" % dport, b"DKIM-Signature:"),
        ]
        print("== messages accepted per second: smtp-source, %d sessions, "
              "%d x 10 KB, durable (median of %d)" % (SESSIONS, MESSAGES, RUNS))
        base_rate = None
        for name, filters, conf, check in cases:
            srv = start_cursus(base, name, filters, conf, moddir)
            try:
                med, rates, cpu = run(srv, check)
            finally:
                srv.stop()
            base_rate = base_rate or med
            print("  %-9s %7.0f msg/s  (runs %s)  %5.1f%% of no filter  cpu %s"
                  % (name, med, ", ".join("%.0f" % r for r in rates),
                     100.0 * med / base_rate, cpu))
    finally:
        if dkim is not None:
            dkim.terminate()
            dkim.wait()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
