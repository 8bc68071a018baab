#!/usr/bin/env python3
"""treecpu.py - CPU seconds used so far by a server's processes.

  treecpu.py --match TEXT   processes whose command line holds TEXT
  treecpu.py --pid PID      PID and every process below it

Prints one number: user + system time of those processes, plus what
their children that have exited and been waited for used (cutime,
cstime), so the CPU of short-lived processes (Postfix's smtpd, Cursus's
channel jobs) is counted too.  Take it before and after a run.
"""
import os
import sys


def processes():
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                st = f.read()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        out[int(name)] = (int(fields[1]), ticks, cmd)
    return out


def cpu_seconds(match=None, pid=None):
    """CPU seconds of the processes whose command line holds MATCH, or of
    PID and every process below it."""
    procs = processes()
    if match is not None:
        chosen = {p for p, (_, _, cmd) in procs.items() if match in cmd}
    else:
        chosen = {pid}
        grew = True
        while grew:
            below = {p for p, (pp, _, _) in procs.items() if pp in chosen}
            grew = not below <= chosen
            chosen |= below
    ticks = sum(procs[p][1] for p in chosen if p in procs)
    return ticks / os.sysconf("SC_CLK_TCK")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("--match", "--pid"):
        sys.exit(__doc__.strip())
    if sys.argv[1] == "--match":
        print("%.2f" % cpu_seconds(match=sys.argv[2]))
    else:
        print("%.2f" % cpu_seconds(pid=int(sys.argv[2])))


if __name__ == "__main__":
    main()
