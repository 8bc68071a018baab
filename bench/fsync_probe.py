#!/usr/bin/env python3
"""fsync_probe.py DIR [SECONDS] - how fast the file system under DIR makes
data durable, in the patterns a mail queue uses.  Printed before the SMTP
figures so a reader can tell a disk-bound result from a CPU-bound one."""
import os
import shutil
import sys
import tempfile
import time


def rate(name, seconds, fn):
    n, lat, t0 = 0, [], time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a = time.perf_counter()
        fn(n)
        lat.append(time.perf_counter() - a)
        n += 1
    el = time.perf_counter() - t0
    lat.sort()
    print("  %-44s %8.0f/s  p50 %6.0f us  p99 %6.0f us" % (
        name, n / el, lat[len(lat) // 2] * 1e6, lat[int(len(lat) * .99)] * 1e6))


def probe(directory, seconds=2.0, trash=None):
    """Rows for a file system; with TRASH, the probe's files are moved
    there instead of being deleted (a later run on the same file system
    is then not slowed by the deletion)."""
    d = tempfile.mkdtemp(prefix="fsync-probe.", dir=directory)
    buf = os.urandom(10240)
    try:
        q = os.path.join(d, "q")
        os.makedirs(q)
        dfd = os.open(q, os.O_RDONLY)

        def queue_file(n):
            p = os.path.join(q, "t%d" % n)
            f = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(f, buf)
            os.fsync(f)
            os.close(f)
            os.rename(p, os.path.join(q, "m%d" % n))
            os.fsync(dfd)
        rate("10 KB file: write, fsync, rename, fsync(dir)", seconds, queue_file)

        def batch(n):
            names = []
            for i in range(32):
                p = os.path.join(q, "b%d-%d" % (n, i))
                f = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.write(f, buf)
                os.close(f)
                names.append(p)
            os.sync()
            for p in names:
                os.rename(p, p + ".q")
            os.fsync(dfd)
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < seconds:
            batch(n)
            n += 1
        el = time.perf_counter() - t0
        print("  %-44s %8.0f/s  (%d flushes/s)" % (
            "10 KB files, 32 per flush (group commit)", n * 32 / el, n / el))
        os.close(dfd)
    finally:
        if trash is not None:
            os.rename(d, os.path.join(trash, os.path.basename(d)))
        else:
            shutil.rmtree(d)


if __name__ == "__main__":
    probe(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 2.0)
