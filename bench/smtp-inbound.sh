#!/bin/sh
# smtp-inbound.sh - SMTP acceptance of Cursus beside Postfix in one run:
# messages per second with durable queueing (smtp-source, 10 KB, 20
# sessions and 1), end of DATA to 250 (p50/p99), memory per idle session
#
# usage: bench/smtp-inbound.sh [BUILDDIR]      (default: the current directory)
# Needs Debian's postfix (smtp-source, smtp-sink) and procps (vmstat), and
# root (Postfix runs its own instance).  BENCH_MESSAGES, BENCH_RUNS,
# BENCH_IDLE and BENCH_DIR (where both queues live; default /var/tmp, a
# disk, never tmpfs) tune it.  Figures only; nothing is asserted.
set -eu
B=$(cd "${1:-.}" && pwd)
[ -x "$B/cursus" ] || { echo "smtp-inbound.sh: $B/cursus is missing: run make in $B" >&2; exit 2; }
exec /usr/bin/python3 "$(dirname "$0")/smtp_inbound.py" "$B"
