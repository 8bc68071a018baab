#!/bin/bash
# mta-relay.sh - figures of the outbound MTA, beside Postfix's
#
#   1. end to end relay: smtp-source (20 sessions, 10 KB messages) into
#      the MTA's SMTP port; the MTA relays every message over SMTP to a
#      loopback smtp-sink that exits after the last one; messages per
#      second from the first send to the sink's exit, and the server's
#      CPU time per message; a warm-up run of a fifth as many (steady
#      state: processes started, caches and Cursus's spare queue files
#      filled), then RUNS runs and their median.  Cursus (SMTP in ->
#      tcp_local out through its job controller and channel jobs) and
#      Postfix (relayhost) in the same run, and the ratio of the medians.
#   2. the job controller's start-up scan of a queue of QUEUE messages;
#   3. `cursus qm list` on that queue, while the server runs (from the job
#      controller's cache) and while it is stopped (from the files).
#
# Usage: bench/mta-relay.sh [-n MESSAGES] [-s SESSIONS] [-l BYTES] [-q QUEUE]
#                           [-r RUNS]
#        (defaults 20000, 20, 10240, 100000, 3)
# Needs: a built tree (CURSUS_BUILDDIR, default .), postfix (smtp-source,
# smtp-sink), root (Postfix runs as its own user).  Everything listens on
# 127.0.0.1 only and stops at the end.
set -u
N=20000
SESSIONS=20
SIZE=10240
QUEUE=100000
RUNS=3
while getopts n:s:l:q:r: o; do
  case $o in
    n) N=$OPTARG ;;
    s) SESSIONS=$OPTARG ;;
    l) SIZE=$OPTARG ;;
    q) QUEUE=$OPTARG ;;
    r) RUNS=$OPTARG ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
  esac
done
WARMUP=$((N / 5 > 500 ? N / 5 : 500))
BUILD=$(cd "${CURSUS_BUILDDIR:-.}" && pwd)
CURSUS=$BUILD/cursus
[ -x "$CURSUS" ] || { echo "no cursus in $BUILD (set CURSUS_BUILDDIR)" >&2; exit 1; }
MODPATH=$(ls -d "$BUILD"/modules/*/.libs | paste -sd:)
WORK=$(mktemp -d /tmp/mta-relay.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  [ -d "$WORK/cursus" ] && CURSUS_MODULE_PATH=$MODPATH "$CURSUS" --config "$WORK/cursus" stop >/dev/null 2>&1
  [ -d "$WORK/postfix" ] && postfix -c "$WORK/postfix" stop >/dev/null 2>&1
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

BENCH=$(cd "$(dirname "$0")" && pwd)
. "$BENCH/common.sh"

# server_cpu NAME - CPU seconds NAME's processes used so far
server_cpu() {
  if [ "$1" = cursus ]; then
    python3 "$BENCH/treecpu.py" --match "$WORK/cursus"
  else
    python3 "$BENCH/treecpu.py" --pid "$POSTFIX_PID"
  fi
}

# relay_run NAME MTA_PORT SINK_PORT [COUNT] - send COUNT (default N)
# messages, time until the sink has them all; prints the rate and the
# server's CPU time per message (a warm-up, with COUNT given, prints
# nothing)
relay_run() {
  local name=$1 port=$2 sink=$3 n=${4:-$N}
  local c0; c0=$(server_cpu "$name")
  smtp-sink -u "$(id -un)" -c -M "$n" "127.0.0.1:$sink" 1024 >"$WORK/$name-sink.log" 2>&1 &
  local sink_pid=$!
  wait_port "$sink" || return 1
  local t0; t0=$(now)
  smtp-source -s "$SESSIONS" -m "$n" -l "$SIZE" -f sender@example.org \
    -t rcpt@example.com "127.0.0.1:$port" >"$WORK/$name-source.log" 2>&1
  local t1; t1=$(now)
  # the sink exits after N messages (or we give up after 10 minutes)
  for _ in $(seq 6000); do kill -0 "$sink_pid" 2>/dev/null || break; sleep 0.1; done
  local t2; t2=$(now)
  local c1; c1=$(server_cpu "$name")
  kill "$sink_pid" 2>/dev/null
  wait "$sink_pid" 2>/dev/null
  [ -n "${4:-}" ] && return 0
  python3 -c "
n=$N; a=$t1-$t0; e=$t2-$t0
print('%-8s accepted %6.0f msg/s   relayed end to end %6.0f msg/s   (%.1f s)   server CPU %4.0f us/msg' % ('$name', n/a, n/e, e, ($c1-$c0)/n*1e6))
print('RATE', n/e, ($c1-$c0)/n*1e6)" | tee -a "$WORK/$name.rate" | grep -v ^RATE
}

# ------------------------------------------------------------- Cursus
setup_cursus() {
  local port=$1 sink=$2 dir=$WORK/cursus
  mkdir -p "$dir"
  cat >"$dir/cursus.conf" <<EOF
[paths]
state_dir = $WORK/cursus-var
[server]
user = $(id -un)
hostname = bench.example.org
[log]
level = notice
[module channel_smtp]
helo_name = bench.example.org
EOF
  cat >"$dir/imta.cnf" <<EOF
! clients in INTERNAL_IP relay (switchchannel to tcp_intranet)
[]   \$E\$R\${INTERNAL_IP,\$L}\$U%[\$L]@tcp_intranet-daemon
.    \$U%\$H@tcp-daemon

l
localhost

tcp_local smtp single_sys switchchannel daemon 127.0.0.1 port $sink notls pool SMTP_POOL logging
tcp-daemon

tcp_intranet smtp slave
tcp_intranet-daemon

bulk slave
bulk-daemon
EOF
  cat >"$dir/mappings" <<'EOF'
INTERNAL_IP

  $(127.0.0.0/8)     $Y
  *                  $N
EOF
  cat >"$dir/dispatcher.cnf" <<EOF
MIN_PROCS=1
MAX_PROCS=4
MIN_CONNS=50
MAX_CONNS=10000
INTERFACE_ADDRESS=127.0.0.1
MAX_CONNS_PER_IP=0
[SERVICE=SMTP]
PROTOCOL=smtp
PORT=$port
CHANNEL=tcp_local
EOF
  # four deliveries at once per job: the relay host is a loopback sink a
  # few connections keep busy; more threads only cost switches on two
  # cores (THREADS 4, 8, 16: 459-499, 519-569, 653 us of CPU per message)
  cat >"$dir/job_controller.cnf" <<'EOF'
[POOL=DEFAULT]
JOB_LIMIT=10
[POOL=SMTP_POOL]
JOB_LIMIT=4
[CHANNEL=tcp_local]
THREADS=4
THREAD_DEPTH=256
EOF
}

cursus_cmd() { CURSUS_MODULE_PATH=$MODPATH "$CURSUS" --config "$WORK/cursus" "$@"; }

# ------------------------------------------------------------- Postfix
setup_postfix() {
  local port=$1 sink=$2 dir=$WORK/postfix
  mkdir -p "$dir/queue" "$dir/data"
  chown postfix "$dir/data"
  cat >"$dir/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
myhostname = bench.example.org
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$sink
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 200
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = /dev/stdout
biff = no
smtputf8_enable = no
EOF
  sed -E "s/^smtp +inet +n +- +y +- +- +smtpd/127.0.0.1:$port inet n - n - - smtpd/" \
    /etc/postfix/master.cf >"$dir/master.cf"
  postconf -c "$dir" -F '*/*/chroot = n' >/dev/null 2>&1
  postfix -c "$dir" set-permissions >/dev/null 2>&1
}

echo "== MTA relay: $N messages of $SIZE bytes, $SESSIONS sessions, $(nproc) cores"
SINK=$(free_port)
CPORT=$(free_port)
setup_cursus "$CPORT" "$SINK"
cursus_cmd start >/dev/null || { echo "cursus did not start" >&2; cat "$WORK"/cursus-var/log/cursus.log; exit 1; }
wait_port "$CPORT"
relay_run cursus "$CPORT" "$SINK" "$WARMUP"
for _ in $(seq "$RUNS"); do relay_run cursus "$CPORT" "$SINK"; done
left=$(cursus_cmd qm list | tail -1); [ -n "${KEEP_WORK:-}" ] && cursus_cmd qm list
cursus_cmd stop >/dev/null
echo "         (queue after the run: $left)"

# the outbound side alone: N messages already queued for tcp_local, the
# job controller started, until the sink has them all
head -c "$SIZE" /dev/zero | tr '\0' 'x' | fold -w 76 |
  (printf 'From: sender@example.org\nTo: rcpt@example.com\nSubject: bench\n\n'; cat) >"$WORK/msg.eml"
cursus_cmd qm inject -count "$N" tcp_local sender@example.org rcpt@example.com <"$WORK/msg.eml" >/dev/null
smtp-sink -u "$(id -un)" -c -M "$N" "127.0.0.1:$SINK" 1024 >"$WORK/out-sink.log" 2>&1 &
sink_pid=$!
wait_port "$SINK"
t0=$(now)
cursus_cmd start >/dev/null
for _ in $(seq 6000); do kill -0 "$sink_pid" 2>/dev/null || break; sleep 0.1; done
t1=$(now)
cursus_cmd stop >/dev/null
python3 -c "print('cursus   outbound only: %d queued messages delivered in %.1f s: %.0f msg/s' % ($N, $t1-$t0, $N/($t1-$t0)))"

PSINK=$(free_port)
PPORT=$(free_port)
setup_postfix "$PPORT" "$PSINK"
# in the foreground, logging to a file (no syslog here)
postfix -c "$WORK/postfix" start-fg >"$WORK/postfix.log" 2>&1 &
POSTFIX_PID=$!
PIDS+=($!)
wait_port "$PPORT" || { cat "$WORK/postfix.log" >&2; exit 1; }
relay_run postfix "$PPORT" "$PSINK" "$WARMUP"
for _ in $(seq "$RUNS"); do relay_run postfix "$PPORT" "$PSINK"; done
postfix -c "$WORK/postfix" stop >/dev/null 2>&1
python3 -c "
def runs(name):
    rows = [l.split()[1:] for l in open('$WORK/%s.rate' % name) if l.startswith('RATE')]
    rows = sorted((float(r), float(c)) for r, c in rows)
    return rows[len(rows) // 2], rows[0][0], rows[-1][0]
(c, cc), clo, chi = runs('cursus')
(p, pc), plo, phi = runs('postfix')
print('median   cursus %.0f msg/s (%.0f-%.0f), postfix %.0f msg/s (%.0f-%.0f)' % (c, clo, chi, p, plo, phi))
print('ratio    cursus / postfix end to end: %.2fx   (server CPU per message: %.2fx less)' % (c/p, pc/cc))
"

# ------------------------------------------------------ queue scan, qm list
echo "== queue of $QUEUE messages (1 KB each)"
rm -rf "$WORK/cursus-var/queue"
head -c 900 /dev/zero | tr '\0' 'x' | fold -w 72 |
  (printf 'From: a@example.org\nSubject: queued\n\n'; cat) >"$WORK/small.eml"
t0=$(now)
cursus_cmd qm inject -count "$QUEUE" bulk sender@example.org rcpt@example.com <"$WORK/small.eml" >/dev/null
t1=$(now)
python3 -c "print('inject   %d messages with qm inject: %.1f s' % ($QUEUE, $t1-$t0))"
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null && cold=" (cold cache)" || cold=""
cursus_cmd start >/dev/null
scan=$(grep -o "queue cache rebuilt: [0-9]* message(s) in [0-9]* ms" "$WORK"/cursus-var/log/cursus.log | tail -1)
echo "start-up $scan$cold"
t0=$(now); n=$(cursus_cmd qm list | tail -1); t1=$(now)
python3 -c "print('qm list  running (job controller cache): %.2f s  [%s]' % ($t1-$t0, '$n'))"
cursus_cmd stop >/dev/null
t0=$(now); n=$(cursus_cmd qm list | tail -1); t1=$(now)
python3 -c "print('qm list  stopped (reading the files):     %.2f s  [%s]' % ($t1-$t0, '$n'))"
