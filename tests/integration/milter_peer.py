"""A test milter built on Debian's python3-milter (the libmilter bindings):
what it does to a message is said by the message itself.

  X-Test-Action: reject | tempfail | replycode | discard | quarantine |
                 addheader | chgheader | delheader | replbody | addrcpt |
                 delrcpt | chgfrom | sleep N | crash | accept
  recipient carol@... is refused at RCPT

Usage: milter_peer.py SOCKET   (e.g. inet:8899@127.0.0.1)
Each message's envelope and header as the milter saw them is appended, as
a JSON line, to the file named by $MILTER_SEEN (when set).
"""
import json
import os
import sys
import time

import Milter


class TestMilter(Milter.Base):
    def __init__(self):
        self.id = Milter.uniqueID()

    def connect(self, hostname, family, hostaddr):
        self.seen = {"client": hostname, "addr": list(hostaddr) if hostaddr else None,
                     "rcpts": [], "headers": [], "macros": {}}
        return Milter.CONTINUE

    def hello(self, helo):
        self.seen["helo"] = helo
        return Milter.CONTINUE

    def envfrom(self, f, *args):
        self.seen["from"] = f
        self.seen["macros"]["i"] = self.getsymval("i")
        self.seen["macros"]["auth_authen"] = self.getsymval("{auth_authen}")
        self.seen["rcpts"] = []
        self.seen["headers"] = []
        self.action = None
        self.chunks = b""
        return Milter.CONTINUE

    def envrcpt(self, to, *args):
        self.seen["rcpts"].append(to)
        if to.lower().startswith("<carol"):
            self.setreply("550", "5.7.1", "recipient %s refused by policy" % to)
            return Milter.REJECT
        return Milter.CONTINUE

    def header(self, name, value):
        self.seen["headers"].append([name, value])
        if name.lower() == "x-test-action":
            self.action = value.strip()
        return Milter.CONTINUE

    def body(self, chunk):
        self.chunks += chunk
        return Milter.CONTINUE

    def eom(self):
        self.seen["body"] = self.chunks.decode(errors="replace")
        seen = os.environ.get("MILTER_SEEN")
        if seen:
            with open(seen, "a") as f:
                f.write(json.dumps(self.seen) + "\n")
        a = (self.action or "").split()
        what = a[0] if a else ""
        if what == "reject":
            return Milter.REJECT
        if what == "tempfail":
            return Milter.TEMPFAIL
        if what == "replycode":
            self.setreply("554", "5.7.0", "spam score too high")
            return Milter.REJECT
        if what == "discard":
            return Milter.DISCARD
        if what == "quarantine":
            self.quarantine("suspicious attachment")
        if what == "addheader":
            self.addheader("X-Scanned", "by the test milter")
            self.addheader("X-Folded", "first line\n\tsecond line")
        if what == "chgheader":
            self.chgheader("Subject", 1, "changed subject")
        if what == "delheader":
            self.chgheader("X-Remove-Me", 1, "")
        if what == "replbody":
            self.replacebody(b"the body was replaced\r\nline two\n")
        if what == "addrcpt":
            self.addrcpt("<erin@example.net>")
        if what == "delrcpt":
            self.delrcpt("<erin@example.net>")
        if what == "chgfrom":
            self.chgfrom("<bounces@example.org>")
        if what == "sleep":
            time.sleep(float(a[1]))
        if what == "crash":
            os._exit(3)
        return Milter.ACCEPT


def main():
    Milter.factory = TestMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY |
                     Milter.ADDRCPT | Milter.DELRCPT | Milter.CHGFROM |
                     Milter.QUARANTINE)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    Milter.runmilter("cursustest", sys.argv[1], 240)


if __name__ == "__main__":
    main()
