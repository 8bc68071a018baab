#!/bin/sh
# imap.sh - IMAP and POP3 figures of Cursus beside Dovecot: the same load
# from the same tool (bench/mailload), the same messages, in one run
#
# usage: bench/imap.sh [BUILDDIR] [--quick | --folder]
#
# Rows: IMAP logins/s (20 clients, LOGIN+LOGOUT), APPEND/s (10 clients),
# a mixed load of 20 clients (random SELECT/FETCH/STORE/SEARCH/EXPUNGE/
# APPEND), FETCH of every header and SEARCH BODY on a 10,000-message
# folder, POP3 RETR of 1,000 messages, PSS per idle IDLE session for 1,000
# sessions plain and TLS, and the IDLE sessions held in 1 GiB (Cursus:
# 50,000 sessions opened and measured; Dovecot: from its 1,000).  Every
# load is bounded in count and time.  Figures are printed; nothing is
# asserted.  --quick runs smaller and shorter loads; --folder only the
# rows of the 10,000-message folder (SELECT, FETCH headers, SEARCH BODY).
#
# Needs root (Dovecot runs as root with a vmail user), dovecot-imapd,
# dovecot-pop3d, certtool (gnutls-bin), python3, and a built tree.
set -eu

B=$(cd "${1:-.}" && pwd)
QUICK=no
ONLY_FOLDER=no
[ "${2:-}" = "--quick" ] && QUICK=yes
[ "${2:-}" = "--folder" ] && ONLY_FOLDER=yes
S=$(cd "$(dirname "$0")/.." && pwd)
CURSUS="$B/cursus"
LOAD="$B/bench/mailload"
for f in "$CURSUS" "$LOAD"; do
  [ -x "$f" ] || { echo "imap.sh: $f is missing: run make in $B" >&2; exit 2; }
done
for t in dovecot doveadm certtool python3; do
  command -v $t >/dev/null || { echo "imap.sh: $t is needed" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "imap.sh: run as root (Dovecot needs it)" >&2; exit 2; }

if [ $QUICK = yes ]; then
  SECS=5; FOLDER=2000; POPMSGS=500; IDLE=200; MAXIDLE=4000; MAXUSERS=400
else
  SECS=15; FOLDER=10000; POPMSGS=1000; IDLE=1000; MAXIDLE=50000; MAXUSERS=5000
fi

T=$(mktemp -d /tmp/cursus-bench-imap.XXXXXX)
chmod 755 "$T"
DOVECOT_CONF="$T/dovecot/dovecot.conf"
C="$T/cursus/config"
cleanup() {
  [ -f "$DOVECOT_CONF" ] && doveadm -c "$DOVECOT_CONF" stop 2>/dev/null || true
  [ -d "$C" ] && "$CURSUS" --config "$C" stop >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT INT TERM

export CURSUS_MODULE_PATH
CURSUS_MODULE_PATH=$(ls -d "$B"/modules/*/.libs | paste -sd: -)

# ------------------------------------------------------------ helpers

# pss PATTERN - PSS in KiB of the processes whose command line has PATTERN
pss() {
  python3 - "$1" <<'EOF'
import glob, sys
total = 0
for p in glob.glob("/proc/[0-9]*"):
    try:
        if sys.argv[1].encode() not in open(p + "/cmdline", "rb").read():
            continue
        for line in open(p + "/smaps_rollup"):
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    except OSError:
        pass
print(total)
EOF
}

# cpu_start / cpu_stop - average CPU use (vmstat) while a row runs
cpu_start() {
  vmstat 1 > "$T/vmstat" 2>/dev/null &
  VMSTAT=$!
}
cpu_stop() {
  kill "$VMSTAT" 2>/dev/null || true
  wait "$VMSTAT" 2>/dev/null || true
  awk 'NR > 3 { us += $13; sy += $14; id += $15; wa += $16; n++ }
       END { if (n) printf "us %d sy %d id %d wa %d", us/n, sy/n, id/n, wa/n
             else printf "-" }' "$T/vmstat"
}

# field NAME LINE - the value of NAME=... in a mailload line
field() {
  echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | sed 's,/s$,,'
}

# row TEXT DOVECOT CURSUS MODE - one line of the table; MODE "more" when
# higher is better, "less" when lower is better
row() {
  python3 - "$@" <<'EOF'
import sys
text, d, c, mode = sys.argv[1:5]
try:
    dv, cv = float(d), float(c)
    ratio = (cv / dv if mode == "more" else dv / cv) if dv and cv else 0
    r = "%.1fx" % ratio
except ValueError:
    r = "-"
print("%-52s %12s %12s %8s" % (text, d, c, r))
EOF
}

# ------------------------------------------------------------ the disk

echo "== fsync probe (file system of $T)"
python3 "$S/bench/fsync_probe.py" "$T" 1

# ------------------------------------------------------------ messages, users

python3 "$S/bench/genmbox.py" 3000 "$T/bench.mbox"
MBOX="$T/bench.mbox"
mkdir -p "$T/tls"
python3 - "$S/tests/integration" "$T/tls" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import mailaccess
mailaccess.make_cert(sys.argv[2])
EOF
CERT="$T/tls/cert.pem"
KEY="$T/tls/key.pem"

# ------------------------------------------------------------ Dovecot

id vmail >/dev/null 2>&1 || useradd -r -s /usr/sbin/nologin vmail
mkdir -p "$T/dovecot/run" "$T/dovecot/vmail"
chown vmail "$T/dovecot/vmail"
D_IMAP=10143; D_IMAPS=10993; D_POP3=10110
sed -e "s|@DIR@|$T/dovecot|g" -e "s|@IMAP_PORT@|$D_IMAP|" \
    -e "s|@IMAPS_PORT@|$D_IMAPS|" -e "s|@POP3_PORT@|$D_POP3|" \
    -e "s|@CERT@|$CERT|" -e "s|@KEY@|$KEY|" -e "s|@HIBERNATE@||" \
    "$S/bench/dovecot.conf.in" > "$DOVECOT_CONF"
dovecot -c "$DOVECOT_CONF"

# ------------------------------------------------------------ Cursus

C_IMAP=11143; C_IMAPS=11993; C_POP3=11110
mkdir -p "$C" "$T/cursus/var"
python3 - "$S/tests/integration" "$C/directory.ldif" "$MAXUSERS" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import mailaccess
extra = []
for name, n in (("user", 100), ("idle", int(sys.argv[3])), ("big", 1),
                ("pop", 4), ("warm", 20)):
    for i in range(n):
        extra.append(mailaccess.user_ldif("%s%d" % (name, i) if n > 1 else name, "pass"))
open(sys.argv[2], "w").write(mailaccess.directory_ldif("".join(extra)))
EOF
cat > "$C/cursus.conf" <<EOF
[paths]
state_dir = $T/cursus/var
[server]
user = $(id -un)
hostname = bench.example.org
[log]
level = notice
[tls]
certificate = $CERT
key = $KEY
[store]
module = store_cursus
[directory]
module = dir_ldif
default_domain = example.com
base_dn = o=cursus
[module dir_ldif]
file = directory.ldif
[module proto_imap]
allow_plaintext_login = yes
max_sessions_per_user = 0
[module proto_pop3]
allow_plaintext_login = yes
EOF
cat > "$C/dispatcher.cnf" <<EOF
MIN_PROCS=2
MAX_PROCS=7
MAX_CONNS=9000
! a worker fills before another starts: fewer processes for idle sessions
MIN_CONNS=4000
INTERFACE_ADDRESS=127.0.0.1
[SERVICE=IMAP]
PROTOCOL=imap
PORT=$C_IMAP
TLS_PORT=$C_IMAPS
[SERVICE=POP3]
PROTOCOL=pop3
PORT=$C_POP3
MIN_PROCS=1
MAX_PROCS=1
EOF
printf '.  $U%%$H@l\n\nl\nlocalhost\n' > "$C/imta.cnf"
printf '[POOL=DEFAULT]\nJOB_LIMIT=1\n' > "$C/job_controller.cnf"
chmod 644 "$C"/*
"$CURSUS" --config "$C" start >/dev/null
sleep 1

echo
echo "== Dovecot $(dovecot --version | cut -d' ' -f1) and $("$CURSUS" --version | head -1 | cut -d' ' -f1,2) on loopback, $(nproc) CPUs, the client on the same CPUs"
printf '%-52s %12s %12s %8s\n' "row" "Dovecot" "Cursus" "ratio"

# run_both ROWTEXT UNIT FIELD MODE ARGS... - the same mailload run against
# both servers ("-p PORT" is added; @IMAP@/@POP3@ in ARGS pick the port)
run_both() {
  text=$1; unit=$2; key=$3; mode=$4
  shift 4
  for who in dovecot cursus; do
    if [ $who = dovecot ]; then imap=$D_IMAP; pop=$D_POP3; else imap=$C_IMAP; pop=$C_POP3; fi
    args=$(echo "$*" | sed -e "s/@IMAP@/$imap/" -e "s/@POP3@/$pop/")
    cpu_start
    # shellcheck disable=SC2086
    out=$("$LOAD" $args 2>&1 || true)
    cpu=$(cpu_stop)
    eval "${who}_out=\"\$out\""
    eval "${who}_val=\$(field $key \"\$out\")"
    eval "${who}_cpu=\"\$cpu\""
  done
  row "$text ($unit)" "${dovecot_val:-?}" "${cursus_val:-?}" "$mode"
  echo "    Dovecot: $dovecot_out [cpu $dovecot_cpu]"
  echo "    Cursus:  $cursus_out [cpu $cursus_cpu]"
}

if [ $ONLY_FOLDER = no ]; then
run_both "IMAP logins, 20 clients" "per s" rate more \
  -p @IMAP@ -c 20 -t $SECS -u "user%d@example.com" -U 100 login
run_both "IMAP APPEND, 10 clients" "per s" rate more \
  -p @IMAP@ -c 10 -t $SECS -u "user%d@example.com" -m "$MBOX" append
run_both "IMAP mixed load, 20 clients" "commands/s" rate more \
  -p @IMAP@ -c 20 -t $SECS -u "user%d@example.com" -U 20 -o 20 -m "$MBOX" mixed
fi

# a large folder, filled over IMAP in both
run_both "fill a folder by APPEND, 4 clients, $FOLDER msgs" "per s" rate more \
  -p @IMAP@ -c 4 -t 600 -n $FOLDER -u "big@example.com" -U 1 -m "$MBOX" append
for who in dovecot cursus; do
  if [ $who = dovecot ]; then port=$D_IMAP; else port=$C_IMAP; fi
  eval "${who}_folder=\"\$("$LOAD" -p $port -u big@example.com folder)\""
done
row "SELECT of the $FOLDER-message folder (ms)" \
  "$(field select_ms "$dovecot_folder")" "$(field select_ms "$cursus_folder")" less
row "FETCH 1:* BODY.PEEK[HEADER], $FOLDER msgs (ms)" \
  "$(field fetch_headers_ms "$dovecot_folder")" "$(field fetch_headers_ms "$cursus_folder")" less
row "SEARCH BODY, $FOLDER msgs (ms)" \
  "$(field search_body_ms "$dovecot_folder")" "$(field search_body_ms "$cursus_folder")" less
echo "    Dovecot: $dovecot_folder"
echo "    Cursus:  $cursus_folder"
[ $ONLY_FOLDER = yes ] && exit 0

# POP3: the same maildrop in both
run_both "fill a maildrop by APPEND, $POPMSGS msgs" "per s" rate more \
  -p @IMAP@ -c 1 -t 600 -n $POPMSGS -u "pop0@example.com" -U 1 -m "$MBOX" append
run_both "POP3 RETR of a $POPMSGS-message maildrop, 1 session" "msg/s" rate more \
  -p @POP3@ -c 1 -t $SECS -u "pop0@example.com" -U 1 pop3

# ------------------------------------------------------------ idle memory

# idle_pss WHO PORT TLS N - PSS per idle IDLE session, in KiB
idle_pss() {
  who=$1; port=$2; tls=$3; n=$4
  if [ $who = dovecot ]; then pat="dovecot"; else pat="$C"; fi
  before=$(pss "$pat")
  : > "$T/idle.out"
  # shellcheck disable=SC2086
  "$LOAD" -p "$port" $tls -c "$n" -t 600 -u "idle%d@example.com" -w pass idle \
    > "$T/idle.out" 2>&1 &
  pid=$!
  i=0
  while ! grep -q "^ready" "$T/idle.out" && [ $i -lt 600 ]; do sleep 1; i=$((i + 1)); done
  sleep 3
  after=$(pss "$pat")
  got=$(awk '/^ready/ {print $2}' "$T/idle.out")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  sleep 2
  python3 -c "print('%.1f' % ((${after} - ${before}) / max(${got:-0}, 1)))"
  echo "$got" > "$T/idle.count"
}

# cursus_fresh - a restarted Cursus whose workers have served a few
# sessions: memory freed by earlier rows must not hide what a session costs
cursus_fresh() {
  "$CURSUS" --config "$C" stop >/dev/null
  "$CURSUS" --config "$C" start >/dev/null
  sleep 1
  "$LOAD" -p $C_IMAP -c 20 -t 1 -u "warm%d@example.com" -w pass idle \
    >/dev/null 2>&1 || true
  "$LOAD" -p $C_IMAPS -s -c 20 -t 1 -u "warm%d@example.com" -w pass idle \
    >/dev/null 2>&1 || true
}

d_plain=$(idle_pss dovecot $D_IMAP "" $IDLE)
cursus_fresh
c_plain=$(idle_pss cursus $C_IMAP "" $IDLE)
row "PSS per idle IDLE session, $IDLE sessions (KiB)" "$d_plain" "$c_plain" less
d_tls=$(idle_pss dovecot $D_IMAPS "-s" $IDLE)
cursus_fresh
c_tls=$(idle_pss cursus $C_IMAPS "-s" $IDLE)
row "PSS per idle IDLE session over TLS (KiB)" "$d_tls" "$c_tls" less
cursus_fresh

# the most IDLE sessions in 1 GiB: Cursus holds MAXIDLE for real, from
# several clients with their own source addresses (ports run out at about
# 28,000 per address) and descriptors
per=$((MAXIDLE / 4))
before=$(pss "$C")
pids=""
for k in 0 1 2 3; do
  "$LOAD" -p $C_IMAP -c $per -t 900 -u "idle%d@example.com" -U $((MAXUSERS / 4)) \
    -o $((k * MAXUSERS / 4)) -w pass -b "127.0.$((k + 1)).1" idle \
    > "$T/max.$k" 2>&1 &
  pids="$pids $!"
done
i=0
while [ "$(cat "$T"/max.* 2>/dev/null | grep -c '^ready')" -lt 4 ] && [ $i -lt 900 ]; do
  sleep 1; i=$((i + 1))
done
sleep 5
after=$(pss "$C")
held=$(cat "$T"/max.* | awk '/^ready/ {n += $2} END {print n + 0}')
for p in $pids; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
python3 - "$held" "$before" "$after" "$d_plain" <<'EOF'
import sys
held, before, after, dplain = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
mib = (after - before) / 1024
per_gib = held * 1024 / mib if mib > 0 else 0
dov = 1024 * 1024 / dplain if dplain > 0 else 0
print("%-52s %12s %12s %8s" % ("IDLE sessions in 1 GiB", "%d (est.)" % dov,
                               "%d" % per_gib, "%.1fx" % (per_gib / dov if dov else 0)))
print("    Cursus held %d IDLE sessions at once in %.0f MiB of PSS "
      "(%.1f KiB each)" % (held, mib, (after - before) / max(held, 1)))
print("    Dovecot: 1 GiB / its PSS per idle session above (no hibernation)")
EOF
