#!/bin/bash
# store.sh - figures of the message store beside Dovecot's (maildir,
# mail_fsync = optimized), in one run on this machine:
#
#   0. the fsync probe: what durability costs on this disk;
#   1. deliveries/s with 1 and 8 sessions: Cursus through the store ABI
#      (bench/store-bench: the work of the ims-ms channel, no protocol),
#      Cursus over LMTP (queue, channel job, store: time until every
#      message is in its mailbox) and Dovecot over LMTP (bench/mailload),
#      with the CPU time each server's processes used per delivery (from
#      /proc: less shaken by other load on a shared machine than a rate);
#   2. deliveries into one folder growing to GROW messages (Cursus through
#      the ABI, with its CPU time per message: flat when the cost does not
#      grow with the folder) and to DGROW (Dovecot over LMTP), the rate of
#      every STEP;
#   3. SELECT, FETCH FLAGS/ENVELOPE/BODYSTRUCTURE/header fields, SEARCH,
#      STORE and random message reads on folders of SMALL and GROW
#      messages: Cursus through the ABI (store-bench ops), Dovecot over
#      IMAP (bench/imap_ops.py, loopback: its figures include the
#      protocol; its folders are written as maildir files, then indexed
#      by the first run, the summary takes the second);
#   4. disk bytes per message delivered to RCPTS recipients, one
#      transaction per message (single copy) and one per recipient.
#
# Part 1 ends with ROUNDS rounds of DELIVERIES over LMTP with 8 sessions,
# Cursus then Dovecot in each, and the median of the rounds' ratios: the
# runs before are the warm-up (stores and users created, channel jobs and
# spare queue files there), and each pair runs close in time, so load
# that comes and goes on a shared machine weighs on both sides alike.
#
# Usage: bench/store.sh [-n DELIVERIES] [-g GROW] [-d DGROW] [-p STEP]
#                       [-s SMALL] [-r RCPTS] [-R ROUNDS] [-D]
#        (defaults 4000, 100000, 30000, 10000, 10000, 5, 3; -D: parts 0
#        and 1 only)
# Needs: a built tree (CURSUS_BUILDDIR, default .), dovecot-core,
# dovecot-imapd, dovecot-lmtpd, python3, root (Dovecot runs mail as the
# vmail user, made when missing).  Everything listens on 127.0.0.1 and
# stops at the end; KEEP_WORK=1 keeps the work directory.
set -u
N=4000
GROW=100000
DGROW=30000
STEP=10000
SMALL=10000
RCPTS=5
ROUNDS=3
DONLY=
while getopts n:g:d:p:s:r:R:D o; do
  case $o in
    n) N=$OPTARG ;;
    g) GROW=$OPTARG ;;
    d) DGROW=$OPTARG ;;
    p) STEP=$OPTARG ;;
    s) SMALL=$OPTARG ;;
    r) RCPTS=$OPTARG ;;
    R) ROUNDS=$OPTARG ;;
    D) DONLY=1 ;;
    *) sed -n '2,40p' "$0"; exit 2 ;;
  esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${CURSUS_BUILDDIR:-.}" && pwd)
CURSUS=$BUILD/cursus
SB=$BUILD/bench/store-bench
LOAD=$BUILD/bench/mailload
for f in "$CURSUS" "$SB" "$LOAD"; do
  [ -x "$f" ] || { echo "no $f (set CURSUS_BUILDDIR, make)" >&2; exit 1; }
done
command -v dovecot >/dev/null || { echo "dovecot is not installed" >&2; exit 1; }
MODPATH=$(ls -d "$BUILD"/modules/*/.libs | paste -sd:)
export CURSUS_MODULE_PATH=$MODPATH
WORK=$(mktemp -d /var/tmp/store-bench.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  [ -f "$WORK/lmtp/cursus.conf" ] && "$CURSUS" --config "$WORK/lmtp" stop >/dev/null 2>&1
  [ -f "$WORK/dovecot.conf" ] && doveadm -c "$WORK/dovecot.conf" stop >/dev/null 2>&1
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

. "$(dirname "$0")/common.sh"
# fig KEY SIDE VALUE - a figure for the summary
fig() { echo "$3" >"$WORK/fig.$1.$2"; }
# lmtp PORT SESSIONS COUNT USERS [mailload options] - deliveries over LMTP
lmtp() {
  local port=$1 sessions=$2 count=$3 users=$4
  shift 4
  "$LOAD" -p "$port" -c "$sessions" -n "$count" -t 3600 -m "$WORK/bench.mbox" \
    -u "$users" "$@" lmtp
}
# tree_cpu PID - CPU seconds used by PID and its descendants, those they
# reaped included (a figure less shaken by other load than a rate)
tree_cpu() {
  python3 - "$1" <<'EOF'
import os, sys
tck = os.sysconf("SC_CLK_TCK")
kids, times = {}, {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    kids.setdefault(int(f[1]), []).append(int(p))
    times[int(p)] = sum(int(x) for x in f[11:15])
todo, total = [int(sys.argv[1])], 0
while todo:
    p = todo.pop()
    total += times.get(p, 0)
    todo += kids.get(p, [])
print("%.2f" % (total / tck))
EOF
}
# rate_of FILE - msg/s of a mailload line
rate_of() { sed -nE 's/.*rate=([0-9]+).*/\1/p' "$1" | tail -1; }
# ops_figs SIDE SIZE FILE - the ms column of an ops listing
ops_figs() {
  grep -E '^  [A-Z]' "$3" | while IFS= read -r line; do
    name=$(echo "${line:2:44}" | sed 's/ *$//')
    val=$(echo "${line:46}" | awk '{print ($1 == "p50") ? $2 "/" $5 : $1}')
    echo "$name|$val"
  done >"$WORK/ops.$2.$1"
}

# ------------------------------------------------------------ set-up
python3 "$SRC/bench/genmbox.py" 3000 "$WORK/bench.mbox"
RAW=$(python3 -c "
import sys; d=open('$WORK/bench.mbox','rb').read(); n=d.count(b'\r\n\r\nFrom ')+1
print(len(d)//n)")

# a Cursus configuration in DIR with its state in DIR/var
cursus_config() {
  local dir=$1
  mkdir -p "$dir"
  for f in imta.cnf job_controller.cnf aliases mappings directory.ldif; do
    cp "$SRC/config/$f" "$dir/"
  done
  # bench users: INBOX deliveries only
  for u in $(seq 0 7 | sed 's/^/bench/') grow small \
           $(seq 0 $((RCPTS - 1)) | sed 's/^/list/'); do
    cat >>"$dir/directory.ldif" <<EOF

dn: uid=$u,ou=People,o=example.com,o=cursus
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: inetOrgPerson
objectClass: inetUser
objectClass: inetMailUser
objectClass: inetLocalMailRecipient
mail: $u@example.com
uid: $u
cn: $u
sn: $u
inetUserStatus: active
mailUserStatus: active
mailDeliveryOption: mailbox
EOF
  done
  cat >"$dir/cursus.conf" <<EOF
[paths]
state_dir = $dir/var
[server]
user = $(id -un)
hostname = bench.example.org
[log]
level = notice
[directory]
module = dir_ldif
default_domain = example.com
[module dir_ldif]
file = directory.ldif
EOF
  cat >"$dir/dispatcher.cnf" <<EOF
MIN_PROCS=1
MAX_PROCS=2
INTERFACE_ADDRESS=127.0.0.1
MAX_CONNS_PER_IP=0
EOF
  [ -n "${2:-}" ] && cat >>"$dir/dispatcher.cnf" <<EOF
[SERVICE=LMTP]
PROTOCOL=lmtp
CHANNEL=tcp_lmtp
PORT=$2
EOF
  return 0
}

DPORT=$(free_port)
DIPORT=$(free_port)
dovecot_start() {
  id vmail >/dev/null 2>&1 || useradd -r -u 5000 -s /usr/sbin/nologin vmail
  mkdir -p "$WORK/vmail" "$WORK/dovecot-run"
  chown vmail "$WORK/vmail"
  cat >"$WORK/dovecot.conf" <<EOF
base_dir = $WORK/dovecot-run
instance_name = dovecot-store-bench
listen = 127.0.0.1
protocols = imap lmtp
log_path = $WORK/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = static
  args = password=pass
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$WORK/vmail/%u
}
mail_location = maildir:~/Maildir
mail_fsync = optimized
mail_max_userip_connections = 5000
default_client_limit = 6000
default_process_limit = 3000
default_vsz_limit = 1G
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DIPORT
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 1
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DPORT
  }
  process_min_avail = 2
}
service auth {
  client_limit = 12000
}
service anvil {
  client_limit = 12000
}
protocol lmtp {
  postmaster_address = postmaster@example.org
}
EOF
  dovecot -c "$WORK/dovecot.conf" || { cat "$WORK/dovecot.log" >&2; exit 1; }
  wait_port "$DPORT" && wait_port "$DIPORT"
}

# maildir_fill USER COUNT - COUNT messages of the corpus written straight
# into USER's maildir (no LMTP: a large folder in a minute)
maildir_fill() {
  python3 - "$WORK/bench.mbox" "$WORK/vmail/$1/Maildir" "$2" <<'EOF'
import os, sys
mbox, md, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(mbox, "rb").read()
msgs = [m.split(b"\r\n", 1)[1] for m in data.split(b"\r\n\r\nFrom ")]
msgs = [m + b"\r\n\r\n" if not m.endswith(b"\r\n") else m for m in msgs]
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(md, d), exist_ok=True)
for i in range(count):
    m = msgs[i % len(msgs)]
    name = "%d.M%dP1.bench,S=%d:2," % (1700000000 + i, i, len(m))
    with open(os.path.join(md, "cur", name), "wb") as f:
        f.write(m)
EOF
  chown -R vmail "$WORK/vmail/$1"
}

# dovecot_count USER - messages in USER's INBOX
dovecot_count() {
  doveadm -c "$WORK/dovecot.conf" mailbox status -u "$1" messages INBOX 2>/dev/null |
    sed 's/messages=//'
}

echo "== message store: Cursus $(git -C "$SRC" describe --always 2>/dev/null) beside $(dovecot --version | cut -d' ' -f1-1) (Dovecot maildir), $(nproc) cores, $RAW bytes per message on average"

# ------------------------------------------------------------ 0. fsync
echo "== fsync on this disk ($(df -T "$WORK" | awk 'NR==2 {print $2}'))"
python3 "$SRC/bench/fsync_probe.py" "$WORK" 2

# ------------------------------------------------------------ 1. deliveries
echo "== 1. deliveries of $N messages (8 sessions: 8 users)"
ABI=$WORK/abi
cursus_config "$ABI"
sb() { "$SB" "$ABI" "$@" --mbox "$WORK/bench.mbox"; }
sb deliver $((N / 2)) 1 --users 1 | sed 's/^/  cursus ABI   /' | tee "$WORK/d1.c"
sb deliver "$N" 8 --users 8 | sed 's/^/  cursus ABI   /' | tee "$WORK/d8.c"
fig deliver1 abi "$(grep -o '[0-9]* msg/s' "$WORK/d1.c" | cut -d' ' -f1)"
fig deliver8 abi "$(grep -o '[0-9]* msg/s' "$WORK/d8.c" | cut -d' ' -f1)"

CPORT=$(free_port)
LM=$WORK/lmtp
cursus_config "$LM" "$CPORT"
"$CURSUS" --config "$LM" start >/dev/null || { cat "$LM/var/log/cursus.log" >&2; exit 1; }
wait_port "$CPORT"
# cursus_lmtp SESSIONS COUNT ALREADY - LMTP accept rate, then the time
# until the channel jobs have stored every message
cursus_lmtp() {
  local t0 t1 t2 c0 c1 want=$(($3 + $2))
  c0=$(tree_cpu "$(cat "$LM/var/run/watcher.pid")")
  t0=$(now)
  lmtp "$CPORT" "$1" "$2" 'bench%d@example.com' >"$WORK/cl.$1"
  t1=$(now)
  want=$(($3 + $(sed -nE 's/.* ops=([0-9]+) .*/\1/p' "$WORK/cl.$1")))
  for _ in $(seq 6000); do
    [ "$(grep -c ' ims-ms D ' "$LM/var/log/mail.log")" -ge "$want" ] && break
    sleep 0.1
  done
  t2=$(now)
  c1=$(tree_cpu "$(cat "$LM/var/run/watcher.pid")")
  python3 -c "
n=$want-$3; print('  cursus LMTP  %d sessions: accepted %.0f msg/s, stored end to end %.0f msg/s, server CPU %.0f us/msg  [%s]' % ($1, n/($t1-$t0), n/($t2-$t0), ($c1-$c0)*1e6/n, open('$WORK/cl.$1').read().strip()))
open('$WORK/fig.deliver$1.lmtp', 'w').write('%.0f' % (n/($t2-$t0)))
open('$WORK/fig.cpu$1.lmtp', 'w').write('%.0f' % (($c1-$c0)*1e6/n))"
}
cursus_lmtp 1 $((N / 2)) 0
cursus_lmtp 8 "$N" $((N / 2))
"$CURSUS" --config "$LM" stop >/dev/null

# Cursus's LMTP rows remove their queue files as they go (mostly into
# the queue's spare files, which frees no inode).  On ext4 without a
# journal the inode allocator passes over inodes freed in the last
# minutes, which slows a run that creates files right after many
# deletions; at these counts it took under 0.2% of the CPU samples (perf:
# find_inode_bit, recently_deleted) of the Cursus rows, so the Dovecot
# rows after them are not held back by it.
dovecot_start
# dovecot_lmtp SESSIONS COUNT - deliveries, with the CPU time of Dovecot's
# processes per message
dovecot_lmtp() {
  local c0 c1 master
  master=$(cat "$WORK/dovecot-run/master.pid")
  c0=$(tree_cpu "$master")
  lmtp "$DPORT" "$1" "$2" 'bench%d@example.com' >"$WORK/dl.$1"
  c1=$(tree_cpu "$master")
  python3 -c "
line = open('$WORK/dl.$1').read().strip()
ops = int(line.split(' ops=')[1].split()[0])
print('%s server_cpu_us=%.0f' % (line, ($c1-$c0)*1e6/ops))"
}
dovecot_lmtp 1 $((N / 2)) | sed 's/^/  dovecot LMTP /' | tee "$WORK/d1.d"
dovecot_lmtp 8 "$N" | sed 's/^/  dovecot LMTP /' | tee "$WORK/d8.d"
fig deliver1 dovecot "$(rate_of "$WORK/d1.d")"
fig deliver8 dovecot "$(rate_of "$WORK/d8.d")"
fig cpu1 dovecot "$(sed -nE 's/.*server_cpu_us=([0-9]+).*/\1/p' "$WORK/d1.d")"
fig cpu8 dovecot "$(sed -nE 's/.*server_cpu_us=([0-9]+).*/\1/p' "$WORK/d8.d")"

if [ "$ROUNDS" -gt 0 ]; then
  echo "== 1b. $ROUNDS rounds of $N deliveries over LMTP, 8 sessions: Cursus, then Dovecot"
  "$CURSUS" --config "$LM" start >/dev/null || { cat "$LM/var/log/cursus.log" >&2; exit 1; }
  wait_port "$CPORT"
  # the rows of part 1 keep their figures
  for f in deliver8.lmtp cpu8.lmtp; do cp "$WORK/fig.$f" "$WORK/keep.$f"; done
  : >"$WORK/rounds"
  for r in $(seq "$ROUNDS"); do
    cursus_lmtp 8 "$N" "$(grep -c ' ims-ms D ' "$LM/var/log/mail.log")" |
      sed -E "s/^  /  $r: /; s/ +\[mode.*//"
    dovecot_lmtp 8 "$N" >"$WORK/dr"
    dcpu=$(sed -nE 's/.*server_cpu_us=([0-9]+).*/\1/p' "$WORK/dr")
    echo "  $r: dovecot LMTP 8 sessions: $(rate_of "$WORK/dr") msg/s, server CPU $dcpu us/msg"
    echo "$(cat "$WORK/fig.deliver8.lmtp") $(cat "$WORK/fig.cpu8.lmtp") $(rate_of "$WORK/dr") $dcpu" >>"$WORK/rounds"
  done
  "$CURSUS" --config "$LM" stop >/dev/null
  for f in deliver8.lmtp cpu8.lmtp; do cp "$WORK/keep.$f" "$WORK/fig.$f"; done
  python3 - "$WORK" <<'EOF'
import os, statistics, sys
work = sys.argv[1]
rows = [[float(x) for x in l.split()] for l in open(os.path.join(work, "rounds"))]
rate = [c / d for c, _, d, _ in rows]
cpu = [dc / cc for _, cc, _, dc in rows]
print("  ratios of the rounds: deliveries/s %s; CPU per delivery %s" % (
    " ".join("%.1f" % x for x in rate), " ".join("%.1f" % x for x in cpu)))
for key, vals in (("rounds8rate", rate), ("rounds8cpu", cpu)):
    open(os.path.join(work, "fig.%s" % key), "w").write(
        "%.1fx (%.1f-%.1f)" % (statistics.median(vals), min(vals), max(vals)))
EOF
fi

if [ -z "$DONLY" ]; then
# ------------------------------------------------------------ 2. growth
echo "== 2. one folder growing: Cursus to $GROW (ABI, one thread), Dovecot to $DGROW (LMTP, 8 sessions)"
sb grow "$GROW" "$STEP" | sed 's/^/  cursus   /' | tee "$WORK/grow.c"
lmtp "$DPORT" 8 "$DGROW" grow@example.com -S "$STEP" | sed 's/^/  dovecot  /' | tee "$WORK/grow.d"
for side in c d; do
  name=$([ $side = c ] && echo cursus || echo dovecot)
  grep -E 'messages +[0-9]+:' "$WORK/grow.$side" |
    sed -E 's/.*: ([0-9]+) msg\/s.*/\1/' >"$WORK/steps.$side"
  fig growfirst $name "$(head -1 "$WORK/steps.$side")"
  fig growlast $name "$(tail -1 "$WORK/steps.$side")"
done

# ------------------------------------------------------------ 3. folder operations
sb fill small "$SMALL" >/dev/null
maildir_fill small@example.com "$SMALL"
maildir_fill big@example.com "$GROW"
for size in small big; do
  count=$SMALL user=small
  [ $size = big ] && count=$GROW user=grow
  echo "== 3. operations on a folder of $count messages"
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  "$SB" "$ABI" ops "$user" >"$WORK/ops.c.$size"
  sed 's/^/  cursus  /' "$WORK/ops.c.$size"
  # the summary compares warm with warm: a new process, files cached
  awk '/^again, new process/ {on=1} /^again, same process/ {on=0} on' \
    "$WORK/ops.c.$size" >"$WORK/ops.c1.$size"
  ops_figs cursus "$size" "$WORK/ops.c1.$size"
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  python3 "$SRC/bench/imap_ops.py" 127.0.0.1 "$DIPORT" "$size@example.com" pass \
    "first open (index built from the maildir)" >"$WORK/ops.d0.$size"
  python3 "$SRC/bench/imap_ops.py" 127.0.0.1 "$DIPORT" "$size@example.com" pass \
    "again (index and cache built)" >"$WORK/ops.d.$size"
  sed 's/^/  dovecot /' "$WORK/ops.d0.$size" "$WORK/ops.d.$size"
  ops_figs dovecot "$size" "$WORK/ops.d.$size"
done

# ------------------------------------------------------------ 4. disk
echo "== 4. disk per delivered message: 1000 messages to $RCPTS recipients each"
# du_per DIR COUNT - apparent and allocated bytes per message below DIR
du_per() {
  python3 -c "
a=int('$(du -sb "$1" | cut -f1)'); b=int('$(du -s -B1 "$1" | cut -f1)')
print('%.0f apparent, %.0f allocated' % (a/$2, b/$2))"
}
for mode in single each; do
  D=$WORK/disk-$mode
  cursus_config "$D"
  if [ $mode = single ]; then
    "$SB" "$D" single 1000 "$RCPTS" --mbox "$WORK/bench.mbox" >/dev/null
  else
    "$SB" "$D" deliver $((1000 * RCPTS)) 1 --users "$RCPTS" --mbox "$WORK/bench.mbox" >/dev/null
  fi
  per=$(du_per "$D/var/store" $((1000 * RCPTS)))
  echo "  cursus  one transaction $([ $mode = single ] && echo "for all recipients" || echo "per recipient    "): $per bytes per delivery"
  fig "disk$mode" cursus "$(echo "$per" | awk '{print $1 "/" $3}')"
done
lmtp "$DPORT" 1 1000 'list%d@example.com' -r "$RCPTS" >/dev/null
# one recipient per transaction: session K delivers to eachK
lmtp "$DPORT" "$RCPTS" $((1000 * RCPTS)) 'each%d@example.com' >/dev/null
python3 - "$WORK/vmail" "$RCPTS" <<'EOF'
import os, sys
root, r = sys.argv[1], int(sys.argv[2])
def usage(prefix):
    a = b = 0
    seen = set()
    for d in os.listdir(root):
        if not d.startswith(prefix):
            continue
        for dp, _, files in os.walk(os.path.join(root, d)):
            for f in files:
                st = os.lstat(os.path.join(dp, f))
                if st.st_ino in seen:
                    continue
                seen.add(st.st_ino)
                a += st.st_size
                b += st.st_blocks * 512
    return a, b
for prefix, label in (("list", "for all recipients"), ("each", "per recipient    ")):
    a, b = usage(prefix)
    print("  dovecot one transaction %s: %.0f apparent, %.0f allocated bytes per delivery"
          % (label, a / (1000 * r), b / (1000 * r)))
    key = "disksingle" if prefix == "list" else "diskeach"
    open(os.path.join(os.path.dirname(root), "fig.%s.dovecot" % key), "w").write(
        "%.0f/%.0f" % (a / (1000 * r), b / (1000 * r)))
EOF
fi
doveadm -c "$WORK/dovecot.conf" stop >/dev/null 2>&1
rm -f "$WORK/dovecot.conf"

# ------------------------------------------------------------ summary
echo "== summary (Cursus | Dovecot | ratio; ms unless said)"
python3 - "$WORK" "$SMALL" "$GROW" "$DGROW" <<'EOF'
import os, sys
work, small, grow, dgrow = sys.argv[1:5]
def get(name):
    try:
        return open(os.path.join(work, name)).read().strip()
    except OSError:
        return "-"
def line(label, c, d, higher_better):
    try:
        cv, dv = float(c.split("/")[0]), float(d.split("/")[0])
        ratio = (cv / dv if higher_better else dv / cv) if cv and dv else 0
        r = "%.1fx" % ratio
    except ValueError:
        r = ""
    print("  %-60s %13s %13s %7s" % (label, c, d, r))
print("  %-60s %13s %13s %7s" % ("", "Cursus", "Dovecot", "better"))
line("deliveries/s, 1 session (Cursus ABI)", get("fig.deliver1.abi"), get("fig.deliver1.dovecot"), True)
line("deliveries/s, 1 session (Cursus LMTP, stored)", get("fig.deliver1.lmtp"), get("fig.deliver1.dovecot"), True)
line("deliveries/s, 8 sessions (Cursus ABI)", get("fig.deliver8.abi"), get("fig.deliver8.dovecot"), True)
line("deliveries/s, 8 sessions, first run (LMTP, stored)", get("fig.deliver8.lmtp"), get("fig.deliver8.dovecot"), True)
line("server CPU per delivery over LMTP, 1 session (us)", get("fig.cpu1.lmtp"), get("fig.cpu1.dovecot"), False)
line("server CPU per delivery over LMTP, 8 sessions, first run (us)", get("fig.cpu8.lmtp"), get("fig.cpu8.dovecot"), False)
if get("fig.rounds8rate") != "-":
    print("  %-60s %35s" % ("8 sessions, median of the rounds: deliveries/s (stored)", get("fig.rounds8rate")))
    print("  %-60s %35s" % ("8 sessions, median of the rounds: server CPU per delivery", get("fig.rounds8cpu")))
line("growing folder: deliveries/s, first step (1 thread / 8 sessions)", get("fig.growfirst.cursus"), get("fig.growfirst.dovecot"), True)
line("growing folder: deliveries/s, last step (%s / %s msgs)" % (grow, dgrow), get("fig.growlast.cursus"), get("fig.growlast.dovecot"), True)
for size, n in (("small", small), ("big", grow)):
    if not os.path.exists(os.path.join(work, "ops.%s.cursus" % size)):
        continue
    c = dict(l.strip().split("|") for l in open(os.path.join(work, "ops.%s.cursus" % size)))
    d = dict(l.strip().split("|") for l in open(os.path.join(work, "ops.%s.dovecot" % size)))
    for k in c:
        if k in d:
            line("%s msgs: %s" % (n, k), c[k], d[k], False)
line("bytes/delivery, single transaction (apparent/alloc)", get("fig.disksingle.cursus"), get("fig.disksingle.dovecot"), False)
line("bytes/delivery, one per recipient (apparent/alloc)", get("fig.diskeach.cursus"), get("fig.diskeach.dovecot"), False)
EOF
