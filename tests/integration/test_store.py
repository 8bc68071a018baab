"""The message store from the outside: the admin tools (cursus mbox,
quota, reconstruct, snapshot, expire), the housekeeping process, and
crash safety: processes killed with SIGKILL in the middle of appends,
expunges and renames leave every mailbox readable and consistent.

The store is driven by `cursus` itself and by bench/store-bench, a C
program that uses the store ABI as the delivery channel and the IMAP
server do."""
import glob
import os
import random
import signal
import subprocess
import time

import pytest

from cursus_harness import BUILDDIR

BENCH = os.path.join(BUILDDIR, "bench", "store-bench")

MSG = (b"From: Fred <fred@example.org>\r\nTo: joe@example.org\r\n"
       b"Subject: hello\r\nDate: Mon, 3 Nov 2025 10:00:00 +0100\r\n\r\n"
       b"Just a few words.\r\n")


def ok(srv, *args, **kw):
    p = srv.cursus(*args, **kw)
    assert p.returncode == 0, "%s:\n%s%s" % (args, p.stdout, p.stderr)
    return p.stdout


def append(srv, name, data=MSG, *flags):
    args = ["mbox", "append", name]
    for f in flags:
        args += ["--flag", f]
    return ok(srv, *args, input=data.decode("latin-1"))


def store_files(srv, pattern):
    return glob.glob(os.path.join(srv.state, "store", "partition", "*",
                                  "=user", "*", "*", pattern))


def bench(srv, *args, timeout=300):
    env = dict(os.environ)
    env.update(srv.env)
    return subprocess.run([BENCH, srv.config] + list(args), env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_mbox_tools(cursus):
    srv = cursus()
    assert "created the store of joe" in ok(srv, "mbox", "create", "user/joe")
    ok(srv, "mbox", "create", "user/joe/Sent", "--special-use", "\\Sent")
    ok(srv, "mbox", "create", "user/joe/Projects/2025")
    assert "appended uid 1 to user/joe/INBOX" in append(srv, "user/joe")
    # LF line ends are stored as CRLF
    append(srv, "user/joe/Sent", MSG.replace(b"\r\n", b"\n"), "\\Seen", "done")
    out = ok(srv, "mbox", "list", "-x")
    lines = {l.split()[0]: l for l in out.splitlines()}
    assert set(lines) == {"user/joe/INBOX", "user/joe/Projects",
                          "user/joe/Projects/2025", "user/joe/Sent"}
    assert " 1 msgs" in lines["user/joe/INBOX"]
    assert "folder of folders" in lines["user/joe/Projects"]
    show = ok(srv, "mbox", "show", "user/joe/Sent")
    assert "messages     1 (0 unseen" in show
    assert "size         %d bytes" % len(MSG) in show
    assert "special use  \\Sent" in show
    assert "acl          joe lrswipkxtea" in show
    # ACLs
    ok(srv, "mbox", "acl", "user/joe/Sent", "bob", "lr")
    ok(srv, "mbox", "acl", "user/joe/Sent", "bob", "+s")
    assert "bob lrs" in ok(srv, "mbox", "acl", "user/joe/Sent")
    ok(srv, "mbox", "acl", "user/joe/Sent", "bob", "none")
    assert "bob" not in ok(srv, "mbox", "acl", "user/joe/Sent")
    p = srv.cursus("mbox", "acl", "user/joe/Sent", "bob", "lrz")
    assert p.returncode == 1 and "letters of lrswipkxtea" in p.stderr
    # rename, expunge, delete
    ok(srv, "mbox", "rename", "user/joe/Projects", "user/joe/Old")
    assert "user/joe/Old/2025" in ok(srv, "mbox", "list")
    append(srv, "user/joe", MSG, "\\Deleted")
    assert "1 messages expunged" in ok(srv, "mbox", "expunge", "user/joe")
    ok(srv, "mbox", "delete", "user/joe/Old/2025")
    assert "user/joe/Old/2025" not in ok(srv, "mbox", "list", "-u", "joe")
    # public folders
    ok(srv, "mbox", "create", "shared/News")
    assert "shared/News" in ok(srv, "mbox", "list")
    # errors: bad names, missing mailboxes, missing users
    p = srv.cursus("mbox", "show", "joe/INBOX")
    assert p.returncode == 2 and "user/ID" in p.stderr
    p = srv.cursus("mbox", "show", "user/joe/Nope")
    assert p.returncode == 1 and "doesn't exist" in p.stderr
    p = srv.cursus("mbox", "show", "user/nobody")
    assert p.returncode == 1 and "nobody has no mailboxes" in p.stderr
    p = srv.cursus("mbox", "create", "user/joe/a//b")
    assert p.returncode == 1 and "invalid mailbox name" in p.stderr
    p = srv.cursus("mbox", "frobnicate")
    assert p.returncode == 2
    assert "primary" in ok(srv, "mbox", "partitions")
    # a user's whole store
    assert "deleted the store of joe" in ok(srv, "mbox", "delete", "user/joe")
    assert store_files(srv, "=joe") == []


def test_quota_tools_and_warning(cursus):
    srv = cursus(conf_extra="[store]\ndefault_quota = 1K\n"
                            "default_message_quota = 4\nquota_warn = 50\n")
    ok(srv, "mbox", "create", "user/joe")
    ok(srv, "mbox", "create", "user/ann")
    for _ in range(3):
        append(srv, "user/joe")
    out = ok(srv, "quota")
    joe = [l for l in out.splitlines() if l.startswith("joe ")][0].split()
    assert joe[1] == "1" and joe[2] == "1" and joe[4] == "3" and joe[5] == "4"
    assert joe[7] == "WARN"
    assert "joe" in ok(srv, "quota", "-w") and "ann" not in ok(srv, "quota", "-w")
    assert "joe" not in ok(srv, "quota", "-o")
    # -n warns once, into the INBOX, over the limit if need be
    assert "warned" in ok(srv, "quota", "-n", "-u", "joe")
    assert "warned" not in ok(srv, "quota", "-n", "-u", "joe")
    assert "4 msgs" in ok(srv, "mbox", "list", "-x", "-u", "joe")
    assert "OVER" in ok(srv, "quota", "-o")
    p = srv.cursus("mbox", "append", "user/joe", input=MSG.decode())
    assert p.returncode == 1 and "Quota exceeded" in p.stderr
    ok(srv, "mbox", "append", "user/joe", "--ignore-quota", input=MSG.decode())
    # a template of our own with the classic substitutions
    srv.write("warn.txt", "From: ops@example.org\nSubject: [ID] at [PERCENT]%\n"
                          "\n[NUMMSG] of [MSGQUOTA] messages\n")
    srv.write("cursus.conf", open(os.path.join(srv.config, "cursus.conf")).read()
              + "quota_warn_message = warn.txt\n")
    ok(srv, "mbox", "create", "user/bob")
    for _ in range(3):
        append(srv, "user/bob")
    ok(srv, "quota", "-n", "-u", "bob")
    files = store_files(srv, "=bob/4.msg")
    text = open(files[0], "rb").read()
    assert b"Subject: bob at 75%\r\n" in text
    assert b"\r\n3 of 4 messages\r\n" in text
    assert b"Auto-Submitted: auto-generated\r\n" in text


def test_reconstruct(cursus):
    srv = cursus()
    ok(srv, "mbox", "create", "user/joe")
    ok(srv, "mbox", "create", "user/joe/Work")
    for i in range(5):
        append(srv, "user/joe/Work", MSG + b"%d\r\n" % i, "\\Flagged")
    before = ok(srv, "mbox", "show", "user/joe/Work")
    assert ok(srv, "reconstruct").strip() == "no problems found"
    work = [d for d in store_files(srv, "=joe/=Work")][0]
    for f in ("store.idx", "store.cache", "store.log"):
        os.unlink(os.path.join(work, f))
    out = ok(srv, "reconstruct", "-n", "user/joe/Work")
    assert "would rebuild" in out
    out = ok(srv, "reconstruct", "user/joe/Work")
    assert "rebuilding from 5 message files" in out
    after = ok(srv, "mbox", "show", "user/joe/Work")
    for key in ("messages     5", "uidvalidity", "uidnext      6"):
        assert [l for l in before.splitlines() if key in l] == \
               [l for l in after.splitlines() if key in l]
    # a file the index does not know, and an indexed message without one
    os.link(os.path.join(work, "1.msg"), os.path.join(work, "9.msg"))
    os.unlink(os.path.join(work, "2.msg"))
    out = ok(srv, "reconstruct", "user/joe/Work")
    assert "message 2 has no file" in out
    assert "message file 9 is not in the index" in out
    assert "messages     5" in ok(srv, "mbox", "show", "user/joe/Work")
    # the whole system area lost
    os.unlink(os.path.join(srv.state, "store", "mboxlist", "folders.tcb"))
    p = srv.cursus("mbox", "show", "user/joe/Work")
    assert p.returncode != 0 or "messages     5" in p.stdout
    out = ok(srv, "reconstruct", "-m", "-q")
    assert "messages     5" in ok(srv, "mbox", "show", "user/joe/Work")
    assert "user/joe/Work" in ok(srv, "mbox", "list")
    assert ok(srv, "reconstruct", "-n").strip() == "no problems found"


def test_snapshot_and_recovery(cursus):
    srv = cursus()
    ok(srv, "mbox", "create", "user/joe")
    ok(srv, "mbox", "create", "user/joe/Keep")
    ok(srv, "mbox", "create", "user/joe/Drop")
    name = ok(srv, "snapshot", "create").split()[1]
    assert name in ok(srv, "snapshot", "list")
    ok(srv, "mbox", "create", "user/joe/New")
    ok(srv, "mbox", "delete", "user/joe/Drop")
    ok(srv, "mbox", "create", "user/newbie")
    out = ok(srv, "snapshot", "restore")
    assert "restored the mailbox list from snapshot " + name in out
    # fast recovery brought it up to date with the partitions
    listing = ok(srv, "mbox", "list")
    assert "user/joe/New" in listing and "user/newbie/INBOX" in listing
    assert "user/joe/Drop" not in listing and "user/joe/Keep" in listing
    # a damaged mailbox list recovers by itself at the next open
    with open(os.path.join(srv.state, "store", "mboxlist", "folders.tcb"),
              "wb") as f:
        f.write(b"\0" * 512)
    listing = ok(srv, "mbox", "list")
    assert "user/joe/New" in listing and "user/joe/Keep" in listing
    time.sleep(1.1)
    ok(srv, "snapshot", "create")
    ok(srv, "snapshot", "prune", "1")
    assert len(ok(srv, "snapshot", "list").splitlines()) == 1


def test_expire_rules(cursus):
    rules = ("! expire what is read and deleted, keep 3 in Trash\n"
             "read.folderpattern: user/[^/]+/INBOX\n"
             "read.deleted: yes\n"
             "read.seen: yes\n"
             "read.messagedays: 0\n"
             "trash.folderpattern: user/.*/Trash\n"
             "trash.messagecount: 3\n"
             "trash.exclusive: yes\n"
             "big.folderpattern: .*\n"
             "big.messagesize: 10K\n")
    srv = cursus(files={"expire.rules": rules})
    ok(srv, "mbox", "create", "user/joe")
    ok(srv, "mbox", "create", "user/joe/Trash")
    append(srv, "user/joe", MSG, "\\Seen", "\\Deleted")
    append(srv, "user/joe", MSG, "\\Deleted")
    append(srv, "user/joe", MSG + b"x" * 20000 + b"\r\n")
    for i in range(5):
        append(srv, "user/joe/Trash", MSG + b"x" * 20000 + b"\r\n")
    time.sleep(1.1)
    out = ok(srv, "expire", "-n")
    assert "user/joe/INBOX: would expire 2 messages" in out
    assert "user/joe/Trash: would expire 2 messages" in out
    assert "5 msgs" in ok(srv, "mbox", "list", "-x", "-u", "joe")
    out = ok(srv, "expire")
    assert "expired 4 messages" in out
    listing = ok(srv, "mbox", "list", "-x", "-u", "joe")
    assert [l for l in listing.splitlines() if "INBOX" in l][0].split()[1] == "1"
    assert [l for l in listing.splitlines() if "Trash" in l][0].split()[1] == "3"
    # a bad rules file is reported where it is wrong
    srv.write("expire.rules", "x.folderpattern: (\ny.messagedays: soon\n")
    p = srv.cursus("config", "check")
    assert p.returncode != 0
    assert "expire.rules:1: rule x: bad folderpattern" in p.stdout + p.stderr
    assert "expire.rules:2: rule y: messagedays needs a number" in \
        p.stdout + p.stderr


def test_user_move_between_partitions(cursus):
    srv = cursus(conf_extra="[module store_cursus]\n"
                            "partitions = primary=part/one, second=part/two\n"
                            "default_partition = primary\n")
    ok(srv, "mbox", "create", "user/joe")
    ok(srv, "mbox", "create", "user/joe/Keep")
    append(srv, "user/joe")
    append(srv, "user/joe/Keep", MSG, "\\Seen")
    out = ok(srv, "mbox", "partitions")
    assert "primary" in out and "second" in out
    ok(srv, "mbox", "move", "user/joe", "second")
    assert glob.glob(os.path.join(srv.state, "store", "part", "one", "=user",
                                  "*", "*", "=joe")) == []
    moved = glob.glob(os.path.join(srv.state, "store", "part", "two", "=user",
                                   "*", "*", "=joe", "=Keep", "1.msg"))
    assert len(moved) == 1
    show = ok(srv, "mbox", "show", "user/joe/Keep")
    assert "messages     1 (0 unseen" in show
    append(srv, "user/joe")
    assert "2 msgs" in ok(srv, "mbox", "list", "-x", "-u", "joe")
    p = srv.cursus("mbox", "move", "user/joe", "nowhere")
    assert p.returncode == 1 and "not configured" in p.stderr


def test_stored_housekeeping(cursus):
    srv = cursus(conf_extra="[store]\ndefault_message_quota = 4\n"
                            "quota_warn = 50\nquota_check_interval = 2\n"
                            "snapshot_interval = 3600\n")
    ok(srv, "mbox", "create", "user/joe")
    for _ in range(3):
        append(srv, "user/joe")
    # what interrupted deliveries left in tmp (in the writers' slots or
    # not) goes when it is an hour old, the slots stay
    tmp = glob.glob(os.path.join(srv.state, "store", "partition", "*",
                                 "tmp"))[0]
    os.makedirs(os.path.join(tmp, "slot3"), exist_ok=True)
    left = {name: os.path.join(tmp, name)
            for name in ("slot3/old.tmp", "slot3/new.tmp", "old.tmp")}
    for name, path in left.items():
        with open(path, "wb") as f:
            f.write(MSG)
        if "old" in name:
            os.utime(path, (time.time() - 7200, time.time() - 7200))
    srv.start()
    # a snapshot at start (none was newer than the interval)
    assert srv.wait_until(lambda: srv.cursus("snapshot", "list").stdout.strip())
    assert [n for n, p in sorted(left.items()) if os.path.exists(p)] == \
        ["slot3/new.tmp"]
    # the quota pass warns joe
    assert srv.wait_for_log("warned at joe", timeout=15)
    assert "4 msgs" in ok(srv, "mbox", "list", "-x", "-u", "joe")
    srv.stop()


def kill_bench(srv, seconds, rounds):
    """Run churn processes and kill them with SIGKILL at random moments."""
    env = dict(os.environ)
    env.update(srv.env)
    rnd = random.Random(7)
    for _ in range(rounds):
        procs = [subprocess.Popen([BENCH, srv.config, "churn", "joe", "30"],
                                  env=env, stdout=subprocess.DEVNULL,
                                  stderr=open("/tmp/churn.err", "a"))
                 for _ in range(3)]
        time.sleep(rnd.uniform(0.2, seconds))
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()


def test_kill9_during_appends_expunges_renames(cursus):
    srv = cursus()
    ok(srv, "mbox", "create", "user/joe")
    kill_bench(srv, 1.5, 20)
    # the churn did work before it was killed
    peer = ok(srv, "mbox", "list", "-x", "-u", "churn-peer")
    assert int(peer.split()[1]) > 10, peer
    # every mailbox readable, its index agreeing with its files and the
    # quota usage with the messages
    v = bench(srv, "verify")
    assert v.returncode == 0, v.stdout + v.stderr
    # what the kills left is finished by the next writer or reconstruct,
    # and nothing else is wrong
    ok(srv, "reconstruct")
    assert ok(srv, "reconstruct", "-n", "-q").strip() == "no problems found"
    v = bench(srv, "verify")
    assert v.returncode == 0, v.stdout + v.stderr
    assert "0 problems" in v.stdout


def test_threads_delivering_to_one_user(cursus):
    """Eight threads of one process delivering to the same user take turns
    at the user's lock (they wait in line in the process rather than
    napping on the file lock): every message is stored once, and the
    usage and the indexes agree with the files."""
    srv = cursus()
    p = bench(srv, "deliver", "400", "8", "--users", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "deliveries 400 threads 8 users 1" in p.stdout, p.stdout + p.stderr
    assert "400 msgs" in ok(srv, "mbox", "list", "-x", "-u", "bench0")
    v = bench(srv, "verify")
    assert v.returncode == 0, v.stdout + v.stderr
    assert "0 problems" in v.stdout
