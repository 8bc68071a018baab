"""Nothing accepted is lost: kill -9 of SMTP workers and of the dispatcher
at random moments while 10,000 messages are sent; afterwards every message
answered 250 is in a queue exactly once, no message is queued twice, and
every queue file is whole (its checks pass).  Messages whose reply never
came may or may not be there, but never twice."""
import os
import random
import signal
import smtplib
import socket
import threading
import time

import pytest

from mta_harness import make_mta, queued
from qfile import QueueFile

# under the sanitizers a killed process takes long to come back: fewer
# messages, and fewer of them answered before their session is cut
SANITIZED = "ASAN_OPTIONS" in os.environ
TOTAL = int(os.environ.get("CURSUS_CRASH_MESSAGES", "3000" if SANITIZED else "10000"))
ACKED_SHARE = 0.5 if SANITIZED else 0.8
CLIENTS = 8


def test_kill_workers_and_dispatcher_under_load(cursus):
    mta = make_mta(cursus, services={"SMTP": {"PROTOCOL": "smtp",
                                              "CHANNEL": "tcp_local"}},
                   dispatcher_global="MAX_PROCS=4\nMIN_CONNS=2\n",
                   # the dispatcher dies every few seconds here: without a
                   # short cap the watcher's growing restart delay, not the
                   # server, would set the pace
                   conf_extra="[watcher]\nrestart_delay_max = 1\n")
    port = mta.port("SMTP")
    lock = threading.Lock()
    acked, unknown, refused = set(), set(), set()
    next_id = [0]
    stop = threading.Event()

    def take():
        with lock:
            if next_id[0] >= TOTAL:
                return None
            next_id[0] += 1
            return next_id[0]

    def client():
        s = None
        n = take()
        while n is not None:
            if s is None:
                try:
                    s = smtplib.SMTP("127.0.0.1", port, timeout=20)
                    s.ehlo("loader.example.org")
                except (OSError, smtplib.SMTPException):
                    # nothing of message N was sent: it waits for a session
                    s = None
                    time.sleep(0.05)
                    continue
            try:
                msg = ("Subject: crash %d\r\nMessage-ID: <crash-%d@loader.example.org>"
                       "\r\n\r\nbody %d\r\n" % (n, n, n)).encode() + b"x" * 2000 + b"\r\n"
                errs = s.sendmail("load@example.org", ["alice@example.com"], msg)
                with lock:
                    (acked if errs == {} else refused).add(n)
            except smtplib.SMTPResponseException as e:
                with lock:
                    (unknown if e.smtp_code in (421,) else refused).add(n)
                s = None
            except (OSError, smtplib.SMTPException):
                with lock:
                    unknown.add(n)
                s = None
                time.sleep(0.05)
            n = take()
        if s is not None:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                pass

    kills = {"worker": 0, "dispatcher": 0}

    def killer():
        # random moments, a fixed order: every third kill is the
        # dispatcher's, so even a short run kills both kinds
        rnd = random.Random(5)
        order = ["worker", "worker", "dispatcher"]
        i = 0
        while not stop.is_set():
            time.sleep(rnd.uniform(0.2, 0.6))
            which = order[i % len(order)]
            pids = mta.processes(which)
            if pids:
                try:
                    os.kill(rnd.choice(pids), signal.SIGKILL)
                    kills[which] += 1
                    i += 1
                except ProcessLookupError:
                    pass

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    k = threading.Thread(target=killer)
    t0 = time.time()
    for t in threads:
        t.start()
    k.start()
    for t in threads:
        t.join()
    stop.set()
    k.join()
    elapsed = time.time() - t0
    # commits in flight when a process died are either whole or absent
    time.sleep(1)
    files = queued(mta)  # parses every file: envelope and content checks
    seen = {}
    for f in files:
        mid = f.header("Message-ID")
        n = int(mid[len("<crash-"):mid.index("@")])
        seen[n] = seen.get(n, 0) + 1
    print("%d messages in %.1fs: %d acknowledged, %d unknown, %d refused; "
          "kills: %r; %d queue files" % (TOTAL, elapsed, len(acked), len(unknown),
                                         len(refused), kills, len(files)))
    assert kills["worker"] >= 3 and kills["dispatcher"] >= 1
    assert len(acked) > TOTAL * ACKED_SHARE
    lost = [n for n in acked if seen.get(n, 0) != 1]
    assert lost == [], "acknowledged but not queued exactly once: %r" % lost[:20]
    twice = [n for n, c in seen.items() if c > 1]
    assert twice == [], "queued twice: %r" % twice[:20]
    assert set(seen) <= acked | unknown
    # no temporary file is left behind anywhere in the queue
    for root, dirs, names in os.walk(mta.queue_dir):
        for name in names:
            assert not name.startswith("."), os.path.join(root, name)
