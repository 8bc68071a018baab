#!/usr/bin/python3
"""directory.py - directory lookups per second for a 100,000-user
directory: the embedded LDIF directory, slapd with the cache off (every
lookup a search on the server: "cold") and the in-process cache ("warm").

    make && python3 bench/directory.py [--users 100000] [--seconds 5]
                                       [--threads 1,2,4]

Run from the build directory (or set CURSUS_BUILDDIR).  Each figure is
bench/dirbench inside one process, as a worker would make the lookups:
"lookup" is one directory lookup by address, "resolve" the whole address
resolution of the MTA (domain, entry, status, delivery options).
"per cpu-s" divides by the CPU time dirbench used (the lookups one core
makes per second: on a shared machine the wall-clock rates depend on the
neighbours).  For slapd the CPU seconds of dirbench and of slapd are
printed side by side: when slapd's is the larger, the lookups are bound by
slapd, not by us.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("CURSUS_SRCDIR", os.path.join(HERE, ".."))

from cursus_harness import BUILDDIR, Server, module_path  # noqa: E402
from ldap_harness import Slapd, have_slapd  # noqa: E402

DIRBENCH = os.path.join(BUILDDIR, "bench", "dirbench")


def generate(path, users):
    """An LDIF file with one domain and USERS users; returns addresses."""
    addresses = []
    with open(path, "w") as f:
        f.write("dn: o=cursus\nobjectClass: organization\no: cursus\n\n"
                "dn: o=bench.example,o=cursus\nobjectClass: organization\n"
                "objectClass: sunManagedOrganization\nobjectClass: mailDomain\n"
                "o: bench.example\nsunPreferredDomain: bench.example\n"
                "associatedDomain: bench.example\n\n"
                "dn: ou=People,o=bench.example,o=cursus\n"
                "objectClass: organizationalUnit\nou: People\n\n")
        for i in range(users):
            uid = "user%06d" % i
            f.write("dn: uid=%s,ou=People,o=bench.example,o=cursus\n"
                    "objectClass: inetOrgPerson\nobjectClass: inetUser\n"
                    "objectClass: inetMailUser\n"
                    "objectClass: inetLocalMailRecipient\n"
                    "uid: %s\ncn: User %d\nsn: %d\nmail: %s@bench.example\n"
                    "mailAlternateAddress: alias%06d@bench.example\n"
                    "mailDeliveryOption: mailbox\nmailUserStatus: active\n"
                    "mailQuota: 1073741824\n\n" % (uid, uid, i, i, uid, i))
            addresses.append("%s@bench.example" % uid)
            addresses.append("alias%06d@bench.example" % i)
    return addresses


def dirbench(config, addresses, mode, threads, seconds, warm=False):
    args = [DIRBENCH, "--config", config, "--addresses", addresses,
            "--mode", mode, "--threads", str(threads), "--seconds",
            str(seconds)]
    if warm:
        args.append("--warm")
    env = dict(os.environ, CURSUS_MODULE_PATH=module_path())
    p = subprocess.run(args, capture_output=True, text=True, env=env,
                       timeout=seconds * 20 + 600)
    if p.returncode != 0:
        raise SystemExit("dirbench failed: %s%s" % (p.stdout, p.stderr))
    f = p.stdout.split()
    return {"done": int(f[2]), "elapsed": float(f[3]), "rate": float(f[4]),
            "per_thread": float(f[5]), "cpu": float(f[6])}


def cpu_of(pid):
    """User and system CPU seconds of process PID."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def row(name, mode, threads, r, extra=""):
    per_cpu = r["done"] / r["cpu"] if r["cpu"] > 0 else 0
    print("%-28s %-8s %7d %12.0f %14.0f %12.0f %s" % (
        name, mode, threads, r["rate"], r["per_thread"], per_cpu, extra))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--threads", default="1,2,4")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    if not os.access(DIRBENCH, os.X_OK):
        raise SystemExit("build first: %s is missing" % DIRBENCH)
    tmp = tempfile.mkdtemp(prefix="cursus-dirbench-")
    try:
        data = os.path.join(tmp, "directory.ldif")
        t0 = time.time()
        addresses = generate(data, args.users)
        random.seed(1)
        random.shuffle(addresses)
        alist = os.path.join(tmp, "addresses")
        with open(alist, "w") as f:
            f.write("\n".join(addresses) + "\n")
        print("directory: %d users (%d addresses), %.1f MB of LDIF, made in "
              "%.1f s" % (args.users, len(addresses),
                          os.path.getsize(data) / 1e6, time.time() - t0))
        print("machine: %d CPU(s); %d s per figure\n" % (
            os.cpu_count(), args.seconds))
        print("%-28s %-8s %7s %12s %14s %12s" % (
            "directory", "mode", "threads", "lookups/s", "per thread/s",
            "per cpu-s"))

        # ---- embedded LDIF
        srv = Server(os.path.join(tmp, "ldif"), conf_extra=(
            "[directory]\nmodule = dir_ldif\ndefault_domain = bench.example\n"
            "[module dir_ldif]\nfile = %s\ncheck_interval = 0\n" % data))
        t0 = time.time()
        for mode in ("lookup", "resolve"):
            for n in threads:
                row("embedded LDIF (dir_ldif)", mode, n,
                    dirbench(srv.config, alist, mode, n, args.seconds))
        if not have_slapd():
            print("\nslapd is not installed: no LDAP figures")
            return
        # ---- slapd
        s = Slapd(os.path.join(tmp, "ldap"))
        s.configure()
        t0 = time.time()
        p = subprocess.run(["/usr/sbin/slapadd", "-q", "-n1", "-F",
                            os.path.join(s.dir, "slapd.d"), "-l", data],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit("slapadd: " + p.stderr)
        print("\n(slapd loaded with slapadd in %.1f s)" % (time.time() - t0))
        s.start()
        s.add_reader()
        try:
            for label, cache, warm in (("slapd, no cache (cold)", 0, False),
                                       ("slapd + cache (warm)", 400000, True)):
                srv = Server(os.path.join(tmp, "ldap-%d" % cache), conf_extra=(
                    "[directory]\nmodule = dir_ldap\n"
                    "default_domain = bench.example\n[module dir_ldap]\n"
                    "uri = %s\nbase_dn = o=cursus\nsasl_mech = EXTERNAL\n"
                    "connections = 8\ncache_size = %d\ncache_ttl = 3600\n" % (
                        s.ldapi_uri, cache)))
                for mode in ("lookup", "resolve"):
                    for n in threads:
                        before = cpu_of(s.proc.pid)
                        r = dirbench(srv.config, alist, mode, n, args.seconds,
                                     warm=warm)
                        used = cpu_of(s.proc.pid) - before
                        row(label, mode, n, r, "(ours %.1f cpu-s, slapd "
                            "%.1f cpu-s)" % (r["cpu"], used))
        finally:
            s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
