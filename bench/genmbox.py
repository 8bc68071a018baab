#!/usr/bin/env python3
"""genmbox.py N OUT - a CRLF mbox of N synthetic messages (fixed seed):
sizes from 1 to 20 KB, one in four multipart, as the benchmarks of
docs/benchmarking use for every server alike."""
import email.utils
import random
import sys
import time

random.seed(42)
N = int(sys.argv[1])
out = open(sys.argv[2], "wb")
words = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu "
         "nu xi omicron pi rho sigma tau upsilon").split()
base = 1700000000
for i in range(N):
    t = base - random.randint(0, 86400 * 365)
    hdr = ["From bench@example.org %s" % time.asctime(time.gmtime(t)),
           "From: User %d <user%d@example.org>" % (i % 97, i % 97),
           "To: rcpt%d@example.org" % (i % 13),
           "Subject: %s #%d" % (" ".join(random.choices(words, k=5)), i),
           "Date: %s" % email.utils.formatdate(t),
           "Message-ID: <%d.%d@bench.example.org>" % (i, random.randint(0, 1 << 30))]
    body_len = random.choice([800, 2000, 4000, 8000, 20000])
    body = []
    while sum(len(line) + 2 for line in body) < body_len:
        body.append(" ".join(random.choices(words, k=10)))
    if i % 4 == 0:
        hdr += ["MIME-Version: 1.0",
                'Content-Type: multipart/mixed; boundary="b%d"' % i]
        body = (["--b%d" % i, "Content-Type: text/plain", ""] + body +
                ["--b%d" % i, "Content-Type: application/octet-stream",
                 "Content-Transfer-Encoding: base64", "",
                 "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", "--b%d--" % i])
    msg = "\r\n".join(hdr) + "\r\n\r\n" + "\r\n".join(body) + "\r\n\r\n"
    out.write(msg.encode())
