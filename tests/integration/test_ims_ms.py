"""Delivery into the message store by the ims-ms channel: mail accepted
over LMTP and SMTP goes through the queue and a channel job into the
recipients' INBOXes (one copy on disk for all of them), folders by
subaddress, quota hold and return, the guaranteed channel, and channel
jobs killed with SIGKILL in the middle of deliveries (nothing lost, every
mailbox consistent)."""
import glob
import os
import signal
import smtplib
import subprocess
import time

from cursus_harness import BUILDDIR
from mta_harness import make_mta, maillog, queued, shipped

BENCH = os.path.join(BUILDDIR, "bench", "store-bench")


def msg(n, size=0):
    body = b"message %d\r\n" % n + b"x" * size + b"\r\n"
    return (b"From: Joe <joe@example.org>\r\nTo: alice@example.com\r\n"
            b"Subject: delivery %d\r\nMessage-ID: <%d.ims@example.org>\r\n\r\n"
            % (n, n) + body)


def ok(srv, *args, **kw):
    p = srv.cursus(*args, **kw)
    assert p.returncode == 0, "%s:\n%s%s" % (args, p.stdout, p.stderr)
    return p.stdout


def messages(srv, mailbox):
    """The message count of MAILBOX ("user/alice/INBOX"), 0 when absent."""
    p = srv.cursus("mbox", "show", mailbox)
    for line in p.stdout.splitlines():
        if line.strip().startswith("messages "):
            return int(line.split()[1])
    return 0


def wait_messages(srv, mailbox, n, timeout=30):
    srv.wait_until(lambda: messages(srv, mailbox) >= n, timeout=timeout,
                   interval=0.2)
    return messages(srv, mailbox)


def store_files(srv, user, name):
    return glob.glob(os.path.join(srv.state, "store", "partition", "*",
                                  "=user", "*", "*", "=" + user, name))


def smtp(srv, rcpts, data, sender="joe@example.org"):
    """Submit DATA over SMTP (smtplib's LMTP reads one reply after DATA:
    it is for single recipients only)."""
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP")) as s:
        s.ehlo("relay.example.org")
        return s.sendmail(sender, rcpts, data)


def reported(srv, user, text):
    """Has a message with TEXT (a delivery report) reached USER's INBOX?"""
    return any(text in open(f, "rb").read()
               for f in store_files(srv, user, "*.msg"))


def lmtp(srv, rcpt, data, sender="joe@example.org"):
    with smtplib.LMTP("127.0.0.1", srv.port("LMTP")) as s:
        s.ehlo("relay.example.org")
        return s.sendmail(sender, [rcpt], data)


def log_lines(srv, channel, kind):
    """Message log lines of events KIND (D, Q, R ...) on CHANNEL."""
    return [l for l in maillog(srv) if len(l) > 4 and l[3] == channel
            and l[4].startswith(kind)]


def test_delivery_single_copy_and_folders(cursus):
    srv = make_mta(cursus, deliver=True)
    users = ("alice", "carol", "erin@example.net")
    assert smtp(srv, ["alice@example.com", "carol@example.com",
                      "erin@example.net"], msg(1)) == {}
    for user in users:
        assert wait_messages(srv, "user/%s/INBOX" % user, 1) == 1
    # one file, three names: a single copy on the partition
    files = [store_files(srv, u, "1.msg")[0] for u in users]
    inodes = {os.stat(f).st_ino for f in files}
    assert len(inodes) == 1 and os.stat(files[0]).st_nlink == 3
    text = open(files[0], "rb").read()
    assert text.startswith(b"Return-Path: <joe@example.org>\r\n")
    assert text.endswith(msg(1))
    # a folder by subaddress; a missing folder falls back to the INBOX
    ok(srv, "mbox", "create", "user/alice/Lists")
    assert lmtp(srv, "alice+Lists@example.com", msg(2)) == {}
    assert wait_messages(srv, "user/alice/Lists", 1) == 1
    assert lmtp(srv, "alice+Nowhere@example.com", msg(3)) == {}
    assert wait_messages(srv, "user/alice/INBOX", 2) == 2
    delivered = log_lines(srv, "ims-ms", "D")
    assert len(delivered) >= 5
    assert any("delivered to user/alice/Lists" in l[-1] for l in delivered)


def assert_returned(srv, data, diag, status):
    """DATA sent to carol comes back to the sender, alice (she has a quota
    of her own in the directory), with DIAG in the log and STATUS in the
    report."""
    assert lmtp(srv, "carol@example.com", data,
                sender="alice@example.com") == {}
    srv.wait_until(lambda: log_lines(srv, "ims-ms", "R"), timeout=20)
    returned = log_lines(srv, "ims-ms", "R")
    assert returned and diag in returned[0][-1]
    assert srv.wait_until(lambda: reported(srv, "alice", b"Status: " + status))


def test_quota_hold_then_return(cursus):
    # grace of an hour: a full mailbox holds the message for retry
    srv = make_mta(cursus, deliver=True,
                   conf_extra="[store]\ndefault_quota = 3K\nquota_grace = 1h\n"
                              "quota_warn = 50\n")
    assert lmtp(srv, "carol@example.com", msg(1, 1800)) == {}
    # over the warning threshold: the message and a warning in the INBOX
    assert wait_messages(srv, "user/carol/INBOX", 2) == 2
    assert lmtp(srv, "carol@example.com", msg(2, 1800)) == {}
    srv.wait_until(lambda: log_lines(srv, "ims-ms", "Q"), timeout=20)
    held = log_lines(srv, "ims-ms", "Q")
    assert held and "full; held for retry" in held[0][-1]
    assert len(queued(srv, "ims-ms")) == 1
    # too big for the whole quota: returned at once
    assert_returned(srv, msg(3, 5000), "larger than the mailbox", b"5.2.3")
    srv.stop()
    # no grace: over quota is returned (5.2.2)
    srv2 = make_mta(cursus, deliver=True,
                    conf_extra="[store]\ndefault_quota = 3K\n"
                               "quota_grace = 0\n")
    assert lmtp(srv2, "carol@example.com", msg(1, 2500)) == {}
    # the message and a warning (over the default threshold)
    assert wait_messages(srv2, "user/carol/INBOX", 2) == 2
    assert_returned(srv2, msg(2, 1000), "is full", b"5.2.2")
    assert messages(srv2, "user/carol/INBOX") == 2


def test_noexquota_returns_at_once(cursus):
    # a grace of an hour, but the channel says noexquota
    imta = shipped("imta.cnf").replace("\nims-ms subdirs", "\nims-ms noexquota subdirs")
    assert "ims-ms noexquota" in imta
    srv = make_mta(cursus, deliver=True, imta=imta,
                   conf_extra="[store]\ndefault_quota = 3K\nquota_grace = 1h\n")
    assert lmtp(srv, "carol@example.com", msg(1, 2500)) == {}
    assert wait_messages(srv, "user/carol/INBOX", 2) == 2
    assert_returned(srv, msg(2, 1000), "is full", b"5.2.2")
    assert not log_lines(srv, "ims-ms", "Q")


def test_guaranteed_channel_ignores_quota(cursus):
    imta = shipped("imta.cnf").replace(
        "ims-ms-daemon           $U@ims-ms-daemon",
        "ims-ms-daemon           $U@ims-ms-daemon\n"
        "ims-ms-guaranteed-daemon $U@ims-ms-guaranteed-daemon") + (
        "\nims-ms-guaranteed guaranteed pool IMS_POOL\n"
        "ims-ms-guaranteed-daemon\n")
    srv = make_mta(cursus, deliver=True, imta=imta,
                   conf_extra="[store]\ndefault_quota = 1K\nquota_grace = 0\n")
    assert lmtp(srv, "carol@ims-ms-guaranteed-daemon", msg(1, 3000)) == {}
    assert lmtp(srv, "carol@ims-ms-guaranteed-daemon", msg(2, 3000)) == {}
    srv.wait_until(lambda: len(log_lines(srv, "ims-ms-guaranteed", "D")) == 2,
                   timeout=20)
    assert len(log_lines(srv, "ims-ms-guaranteed", "D")) == 2
    # the two messages and a quota warning
    assert messages(srv, "user/carol/INBOX") == 3
    assert "OVER" in ok(srv, "quota", "-o")


def test_channel_jobs_killed_during_deliveries(cursus):
    # messages of a killed job are retried after the channel's backoff
    imta = shipped("imta.cnf").replace(
        'backoff "pt5m" "pt10m" "pt30m" "pt1h" "pt2h" "pt4h"\nims-ms-daemon',
        'backoff "pt1s"\nims-ms-daemon')
    srv = make_mta(cursus, deliver=True, imta=imta)
    total = 0
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP")) as s:
        s.ehlo("relay.example.org")
        for round_ in range(6):
            for _ in range(40):
                total += 1
                assert s.sendmail("joe@example.org",
                                  ["alice@example.com", "carol@example.com"],
                                  msg(total, 500)) == {}
            # the channel jobs, in the middle of their deliveries
            # (children of this server's job controller only)
            p = subprocess.run(["pgrep", "-P", str(srv.pid("job-controller"))],
                               capture_output=True, text=True)
            for pid in p.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
    # every message arrives (a delivery cut after the store's commit may
    # arrive twice, never zero times)
    for user in ("alice", "carol"):
        got = wait_messages(srv, "user/%s/INBOX" % user, total, timeout=120)
        assert got >= total, "%s has %d of %d" % (user, got, total)
    srv.wait_until(lambda: not queued(srv, "ims-ms"), timeout=60)
    assert queued(srv, "ims-ms") == []
    env = dict(os.environ)
    env.update(srv.env)
    v = subprocess.run([BENCH, srv.config, "verify"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert v.returncode == 0, v.stdout + v.stderr


def test_quota_from_user_domain_and_server(cursus):
    # the user's own quota, else the hosted domain's, else [store]'s
    ldif = shipped("directory.ldif").replace(
        "mailDomainStatus: active\n",
        "mailDomainStatus: active\nmailDomainDiskQuota: 5000\n"
        "mailDomainMsgQuota: 7\n", 1)
    srv = make_mta(cursus, start=False, files={"directory.ldif": ldif},
                   conf_extra="[store]\ndefault_quota = 1M\n"
                              "default_message_quota = 9\n")
    for user in ("alice", "carol", "erin@example.net"):
        ok(srv, "mbox", "create", "user/" + user)

    def limits(user):
        row = ok(srv, "quota", "-u", user).splitlines()[1].split()
        return row[2], row[5]
    assert limits("alice") == ("1048576", "7")
    assert limits("carol") == ("5", "7")
    assert limits("erin@example.net") == ("1024", "9")


def test_kept_session_outlived_by_the_store(cursus):
    """A channel job keeps a recipient's store session for the next
    delivery (an hour here); the user's whole store deleted meanwhile, the
    next message is stored all the same, in a store made anew."""
    srv = make_mta(cursus, deliver=True,
                   conf_extra="[module channel_store]\nkeep_sessions = 3600\n")
    assert lmtp(srv, "alice@example.com", msg(1)) == {}
    assert wait_messages(srv, "user/alice/INBOX", 1) == 1
    ok(srv, "mbox", "delete", "user/alice")
    assert messages(srv, "user/alice/INBOX") == 0
    assert lmtp(srv, "alice@example.com", msg(2)) == {}
    assert wait_messages(srv, "user/alice/INBOX", 1) == 1
    delivered = log_lines(srv, "ims-ms", "D")
    assert len(delivered) == 2
    assert not log_lines(srv, "ims-ms", "R")
    files = store_files(srv, "alice", "1.msg")
    assert len(files) == 1 and open(files[0], "rb").read().endswith(msg(2))
