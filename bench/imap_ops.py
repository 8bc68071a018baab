#!/usr/bin/env python3
"""imap_ops.py HOST PORT USER PASSWORD LABEL - the store operations of
`store-bench ops`, over IMAP: each command is timed from sending it to
its tagged reply (server time plus transfer on loopback), the rows
labelled as store-bench labels them so bench/store.sh can set them side
by side.  The INBOX is SELECTed first (the first time the server opens
it when nothing ran before), every other row after it."""
import random
import socket
import sys
import time

HOST, PORT, USER, PASSWORD, LABEL = sys.argv[1:6]
PORT = int(PORT)


class Imap:
    def __init__(self):
        self.s = socket.create_connection((HOST, PORT))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.n = 0
        self.buf = bytearray()
        self.read_tagged(b"*")  # the greeting

    def read_tagged(self, tag):
        """Bytes up to and with the first line that starts with TAG and a
        space (the tagged reply); the rest stays buffered."""
        data, scan, start = self.buf, 0, -1
        while True:
            if start < 0 and data.startswith(tag + b" "):
                start = 0
            elif start < 0:
                i = data.find(b"\r\n" + tag + b" ", scan)
                start = i + 2 if i >= 0 else -1
            if start >= 0:
                end = data.find(b"\r\n", start)
                if end >= 0:
                    self.buf = data[end + 2:]
                    return bytes(data[:end + 2])
            scan = max(0, len(data) - len(tag) - 3)
            more = self.s.recv(1 << 20)
            if not more:
                raise EOFError("connection closed")
            data += more

    def cmd(self, text):
        self.n += 1
        tag = b"A%d" % self.n
        t0 = time.perf_counter()
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        out = self.read_tagged(tag)
        ms = (time.perf_counter() - t0) * 1000
        last = out[out.rfind(tag + b" "):]
        if not last.startswith(tag + b" OK"):
            raise RuntimeError("%s: %s" % (text, last[:200]))
        return ms, out


def row(name, ms, extra=""):
    print("  %-44s %10.1f ms%s" % (name, ms, extra))


def main():
    c = Imap()
    c.cmd("LOGIN %s %s" % (USER, PASSWORD))
    ms, out = c.cmd("SELECT INBOX")
    n = 0
    for line in out.split(b"\r\n"):
        if line.endswith(b" EXISTS"):
            n = int(line.split()[1])
    print("%s: %d messages" % (LABEL, n))
    row("SELECT (open, state)", ms)
    for name, what in (
            ("FETCH 1:* (UID FLAGS)", "(UID FLAGS)"),
            ("FETCH 1:* (ENVELOPE)", "(ENVELOPE)"),
            ("FETCH 1:* (BODYSTRUCTURE)", "(BODYSTRUCTURE)"),
            ("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (...)])",
             "(BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])")):
        row(name, c.cmd("FETCH 1:* " + what)[0])
    for name, what in (("SEARCH SUBJECT omicron", "SUBJECT omicron"),
                       ("SEARCH FROM user7@", "FROM user7@"),
                       ('SEARCH BODY "upsilon sigma"', 'BODY "upsilon sigma"'),
                       ("SEARCH SINCE 1-Jan-2000 UNSEEN",
                        "SINCE 1-Jan-2000 UNSEEN")):
        ms, out = c.cmd("SEARCH " + what)
        hits = sum(len(l.split()) - 2 for l in out.split(b"\r\n")
                   if l.startswith(b"* SEARCH"))
        row(name, ms, " (%d)" % hits)
    if n > 0:
        row("STORE 1:* +FLAGS.SILENT (\\Seen)",
            c.cmd("STORE 1:* +FLAGS.SILENT (\\Seen)")[0])
        row("STORE 1:* -FLAGS.SILENT (\\Seen)",
            c.cmd("STORE 1:* -FLAGS.SILENT (\\Seen)")[0])
        r = random.Random(7)
        lat = sorted(c.cmd("FETCH %d (BODY.PEEK[])" % r.randint(1, n))[0]
                     for _ in range(300))
        print("  %-44s p50 %.3f ms p99 %.3f ms" % (
            "FETCH <random> (BODY.PEEK[]) x300", lat[150], lat[297]))
    c.cmd("LOGOUT")
    again = Imap()
    again.cmd("LOGIN %s %s" % (USER, PASSWORD))
    row("SELECT again (warm)", again.cmd("SELECT INBOX")[0])
    again.cmd("LOGOUT")


main()
