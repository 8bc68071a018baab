"""The dispatcher in front of the SMTP server: address blocks (BLOCK and
the PORT_ACCESS table), connections per address, connection rate,
sessions per service -- each refused with an SMTP reply that says why --
and a flood of connections that never starves the sessions already
established."""
import re
import socket
import threading
import time

import pytest

from mta_harness import TEST_MAPPINGS, Raw, make_mta, queued

MSG = b"Subject: d\r\n\r\nx\r\n"


def greeting(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = s.recv(1024)
            if not chunk:
                break
            data += chunk
    finally:
        pass
    return s, data.decode(errors="replace")


def refused(port):
    """The reply of a refused connection, which is then closed."""
    s, text = greeting(port)
    s.settimeout(5)
    assert s.recv(1024) == b""
    s.close()
    return text


def smtp_services(**opts):
    svc = {"PROTOCOL": "smtp", "CHANNEL": "tcp_local"}
    svc.update(opts)
    return {"SMTP": svc}


def test_block_list(cursus):
    mta = make_mta(cursus, services=smtp_services(BLOCK="10.0.0.0/8,127.0.0.0/8"))
    assert refused(mta.port("SMTP")) == "554 5.7.1 Access denied\r\n"
    assert "refused connection from 127.0.0.1" in mta.log()


def test_port_access_table(cursus):
    mta = make_mta(cursus, services={
        "SMTP": {"PROTOCOL": "smtp", "CHANNEL": "tcp_local"},
        "SMTP_SUBMIT": {"PROTOCOL": "smtp", "CHANNEL": "tcp_submit"}}, start=False)
    blocked = mta.port("SMTP")
    mta.write("mappings", TEST_MAPPINGS + """
PORT_ACCESS

  TCP|*|%d|127.0.0.1|*     $N421$ 4.7.1$ Not$ on$ this$ port
  *                        $Y
""" % blocked)
    mta.start()
    assert refused(blocked) == "421 4.7.1 Not on this port\r\n"
    s, text = greeting(mta.port("SMTP_SUBMIT"))
    assert text.startswith("220 ")
    s.close()


def test_connections_per_address(cursus):
    mta = make_mta(cursus, services=smtp_services(MAX_CONNS_PER_IP="2"))
    port = mta.port("SMTP")
    a, b = Raw(port), Raw(port)
    assert a.reply()[0] == 220 and b.reply()[0] == 220
    assert refused(port).startswith("421 4.7.0 Too many connections from your address")
    a.cmd("QUIT")
    assert a.closed()
    time.sleep(0.3)
    c = Raw(port)
    assert c.reply()[0] == 220


def test_connection_rate(cursus):
    mta = make_mta(cursus, services=smtp_services(MAX_CONN_RATE_PER_IP="3"))
    port = mta.port("SMTP")
    for _ in range(3):
        r = Raw(port)
        assert r.reply()[0] == 220
        r.cmd("QUIT")
    assert refused(port).startswith("421 4.7.0 Too many new connections")


def test_flood_does_not_starve_sessions(cursus):
    mta = make_mta(cursus, services=smtp_services(MAX_SESSIONS="5"))
    port = mta.port("SMTP")
    established = [Raw(port) for _ in range(5)]
    for r in established:
        assert r.reply()[0] == 220
        r.cmd("EHLO c")
    # the service is full: newcomers are told so and closed
    assert refused(port).startswith("421 4.7.0 Too many connections")
    stop = threading.Event()
    counts = {"refused": 0, "other": 0}

    def flood():
        while not stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                data = s.recv(1024)
                counts["refused" if data.startswith(b"421") else "other"] += 1
                s.close()
            except OSError:
                counts["other"] += 1

    threads = [threading.Thread(target=flood) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        # the sessions already in go on, quickly, during the flood
        worst = 0
        for i, r in enumerate(established * 4):
            t0 = time.time()
            assert r.cmd("MAIL FROM:<joe@example.org>")[0] == 250
            assert r.cmd("RCPT TO:<alice@example.com>")[0] == 250
            assert r.cmd("DATA")[0] == 354
            r.send(MSG + b".\r\n")
            assert r.reply()[0] == 250
            worst = max(worst, time.time() - t0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert counts["refused"] > 50 and counts["other"] == 0
    assert worst < 2.0, "a transaction took %.2fs during the flood" % worst
    assert len(queued(mta)) == 20


def test_worker_retired_after_max_life_conns(cursus):
    """MAX_LIFE_CONNS retires a worker: the message under way on it is
    still accepted, its session then ends with 421, and a new worker
    serves the next client."""
    mta = make_mta(cursus, services=smtp_services(MIN_PROCS="1", MAX_PROCS="1",
                                                  MAX_LIFE_CONNS="2"))
    port = mta.port("SMTP")

    def send_one(r):
        assert r.cmd("EHLO c")[0] == 250
        assert r.cmd("MAIL FROM:<joe@example.org>")[0] == 250
        assert r.cmd("RCPT TO:<alice@example.com>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(MSG)

    first = Raw(port)
    assert first.reply()[0] == 220
    send_one(first)
    second = Raw(port)
    assert second.reply()[0] == 220
    send_one(second)
    second.send(".\r\n")
    assert second.reply()[0] == 250
    assert second.cmd("QUIT")[0] == 221
    second.close()
    # the worker has served its two connections: it is retired
    assert mta.wait_for_log("MAX_LIFE_CONNS reached")
    assert mta.wait_for_log("retiring (asked by the dispatcher)")
    first.send(".\r\n")
    assert first.reply()[0] == 250
    assert first.cmd("NOOP")[0] == 421
    assert first.closed()
    first.close()
    third = Raw(port)
    assert third.reply()[0] == 220
    send_one(third)
    third.send(".\r\n")
    assert third.reply()[0] == 250
    third.close()
    pids = set(re.findall(r"retiring worker pid (\d+)", mta.log()))
    assert len(pids) == 1
    assert len(queued(mta)) == 3
