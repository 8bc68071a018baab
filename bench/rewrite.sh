#!/bin/sh
# rewrite.sh - how many addresses per second the rewrite engine resolves
#
# usage: bench/rewrite.sh [BUILDDIR]      (default: the current directory)
#
# Builds a configuration in a temporary directory and measures, on one CPU
# core (taskset), resolve_recipient() without expansion - the work the
# SMTP server does for each RCPT:
#   1. 1,000 rewrite rules (exact, '.domain' and '*.' patterns), 100,000
#      addresses spread over them;
#   2. a 100,000-entry mapping table compiled by `cursus cnbuild` and
#      called by a rule (${BIG,$U}), 100,000 addresses;
#   3. an LDAP URL rule ($]ldap:///...[) served by map_ldap from a real
#      slapd holding 10,000 users: the first pass is cold (every lookup
#      goes to slapd), the next ones warm (answered by map_ldap's cache).
# Figures are printed; nothing is asserted.  With KEEP=1 the temporary
# directory (configuration, address files) is left for profiling.
set -eu

B=$(cd "${1:-.}" && pwd)
S=$(cd "$(dirname "$0")/.." && pwd)
CURSUS="$B/cursus"
BENCH="$B/bench/rewrite-bench"
for f in "$CURSUS" "$BENCH"; do
  [ -x "$f" ] || { echo "rewrite.sh: $f is missing: run make in $B" >&2; exit 2; }
done
command -v slapd >/dev/null || { echo "rewrite.sh: slapd is needed (apt-get install slapd)" >&2; exit 2; }
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"
export CURSUS_MODULE_PATH="$B/modules/map_file/.libs:$B/modules/map_tcdb/.libs:$B/modules/map_ldap/.libs"

T=$(mktemp -d /tmp/cursus-bench-rewrite.XXXXXX)
SLAPD_PID=""
cleanup() {
  [ -n "$SLAPD_PID" ] && kill "$SLAPD_PID" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM
C="$T/config"
mkdir -p "$C" "$T/ldap"
chmod 755 "$T" "$C"

# --- a real slapd with 10,000 users ------------------------------------
LDAP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$T/ldap" "$S/tests/integration" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import slapd
d = sys.argv[1]
ldif = "".join(slapd.person("u%d" % i, "u%d@ldap.example" % i,
                            "h%d.example" % (i % 97)) for i in range(10000))
s = slapd.Slapd(d, ldif)
s.stop()           # data loaded; the script runs slapd on its own port
EOF
slapd -f "$T/ldap/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/" -d 0 >/dev/null 2>&1 &
SLAPD_PID=$!
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $LDAP_PORT), 1)" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "slapd did not start" >&2; exit 1; }; sleep 0.1
done

# --- the configuration ---------------------------------------------------
cat > "$C/cursus.conf" <<EOF
[paths]
state_dir = $T/var
[server]
hostname = bench.example
[module map_ldap]
server = ldap://127.0.0.1:$LDAP_PORT
cache_size = 20000
cache_timeout = 3600
EOF
printf '[POOL=DEFAULT]\nJOB_LIMIT=4\n' > "$C/job_controller.cnf"
printf 'MIN_PROCS=1\n' > "$C/dispatcher.cnf"
python3 - "$C" "$T" <<'EOF'
import random, sys
c, t = sys.argv[1], sys.argv[2]
random.seed(4)
rules = ["! 1,000 rules of the benchmark",
         "ldap.example  $U%$]ldap:///ou=people,dc=example?description?sub?(mail=$U@ldap.example)[@tcp_intranet-daemon",
         "big.example   ${BIG,$U}"]
for i in range(1000):
    kind = i % 3
    if kind == 0:
        rules.append("d%d.example  $U%%d%d.example@tcp_intranet-daemon" % (i, i))
    elif kind == 1:
        rules.append(".d%d.example  $U%%$H$D@tcp-daemon" % i)
    else:
        rules.append("*.d%d.example  $U%%$&0.d%d.example@tcp-daemon" % (i, i))
rules.append(".             $U%$H@tcp-daemon")
with open(c + "/imta.cnf", "w") as f:
    f.write("\n".join(rules) + "\n\nl\nlocalhost\n\ntcp_local slave\ntcp-daemon\n\n"
            "tcp_intranet slave\ntcp_intranet-daemon\n")
with open(c + "/mappings", "w") as f:
    f.write("BIG\n\n")
    for i in range(100000):
        f.write("  user%d  $$U%%host%d.example@tcp-daemon$Y\n" % (i, i % 1000))
with open(t + "/rules.txt", "w") as f:
    for _ in range(100000):
        i = random.randrange(1000)
        host = ["d%d.example", "a.d%d.example", "x.d%d.example"][i % 3] % i
        f.write("user%d@%s\n" % (random.randrange(10**6), host))
with open(t + "/table.txt", "w") as f:
    for _ in range(100000):
        f.write("user%d@big.example\n" % random.randrange(100000))
with open(t + "/ldap.txt", "w") as f:
    order = list(range(10000))
    random.shuffle(order)
    for i in order:
        f.write("u%d@ldap.example\n" % i)
EOF
chmod 644 "$C"/*
"$CURSUS" --config "$C" cnbuild >/dev/null
"$CURSUS" --config "$C" config check --quiet

# rate N: "wall cpu failed" of the Nth-last pass line
rate() {
  sed -n 's/.*s: \([0-9]*\) rewrites\/s, \([0-9]*\) per CPU second (\([0-9]*\) failed)/\1 \2 \3/p' |
    tail -n "$1" | head -n 1
}
show() {
  set -- "$1" $2
  printf '  %-52s %9s/s wall %9s/s per CPU s  (%s failed)\n' "$1" "$2" "$3" "$4"
}
echo "Cursus rewrite benchmark: resolve_recipient() without expansion"
echo "($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg); single-threaded runs pinned to CPU 0${PIN:+ with taskset})"
show "1,000 rules, 100,000 addresses" "$($PIN "$BENCH" "$C" "$T/rules.txt" 3 | rate 1)"
show "100,000-entry compiled table (cnbuild)" "$($PIN "$BENCH" "$C" "$T/table.txt" 3 | rate 1)"
out=$($PIN "$BENCH" "$C" "$T/ldap.txt" 4)
show "LDAP URL rule, cold (10,000 lookups to slapd)" "$(echo "$out" | rate 4)"
show "LDAP URL rule, warm (map_ldap cache)" "$(echo "$out" | rate 1)"
kill "$SLAPD_PID"; wait "$SLAPD_PID" 2>/dev/null || true
slapd -f "$T/ldap/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/" -d 0 >/dev/null 2>&1 &
SLAPD_PID=$!
sleep 0.5
show "LDAP URL rule, cold, 8 lookup threads" "$("$BENCH" "$C" "$T/ldap.txt" 1 8 | rate 1)"
# what slapd answers on one connection, for scale (ldapsearch -f)
if command -v ldapsearch >/dev/null; then
  head -n 1000 "$T/ldap.txt" | sed 's/@ldap.example$//' > "$T/uids.txt"
  s0=$(date +%s.%N)
  ldapsearch -x -H "ldap://127.0.0.1:$LDAP_PORT" -b ou=people,dc=example \
    -f "$T/uids.txt" "(mail=%s@ldap.example)" description >/dev/null
  s1=$(date +%s.%N)
  printf '  %-52s %9.0f/s wall  (reference: the server alone)\n' \
    "slapd: ldapsearch -f, 1,000 searches, one connection" \
    "$(echo "1000 / ($s1 - $s0)" | bc -l)"
fi
