#!/bin/sh
# filters.sh - messages accepted per second over SMTP with no content
# filter, with the SDK's example filter, and with a real milter (OpenDKIM
# signing every message), under the same load
#
# usage: bench/filters.sh [BUILDDIR]      (default: the current directory)
# Needs Debian's postfix (smtp-source), opendkim and opendkim-tools, procps
# (vmstat) and make/cc for the example filter.  BENCH_MESSAGES (default
# 5000), BENCH_RUNS (3), BENCH_SESSIONS (20) and BENCH_DIR (/var/tmp, a
# disk) tune it.  Figures only; nothing is asserted.
set -eu
B=$(cd "${1:-.}" && pwd)
[ -x "$B/cursus" ] || { echo "filters.sh: $B/cursus is missing: run make in $B" >&2; exit 2; }
exec /usr/bin/python3 "$(dirname "$0")/filters.py" "$B"
