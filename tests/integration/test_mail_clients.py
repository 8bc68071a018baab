"""Real mail clients against Cursus, over TLS, with the results checked
message by message: mbsync (isync) synchronising a mailbox both ways,
fetchmail reading over POP3, getmail6 reading over IMAP."""
import email
import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import mailaccess
from test_imap import append, login, simple

pytestmark = pytest.mark.skipif(shutil.which("mbsync") is None,
                                reason="isync is not installed")


@pytest.fixture
def srv(cursus):
    s = mailaccess.access_server(cursus, plaintext=False)
    s.start()
    mailaccess.wait_ready(s)
    return s


def server_messages(srv, box, user="alice", password="alice-password"):
    """{Subject: (flags, body bytes)} of BOX, read over IMAP."""
    import imaplib
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.port("IMAP", "TLS_PORT"),
                          ssl_context=mailaccess.client_tls())
    m.login(user, password)
    typ, _ = m.select('"%s"' % box, readonly=True)
    assert typ == "OK", box
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])") if int(_[0]) else ("OK", [])
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = set(imaplib.ParseFlags(item[0])) - {b"\\Recent"}
        msg = email.message_from_bytes(item[1])
        out[msg["Subject"]] = (flags, item[1])
    m.logout()
    return out


def normal(data):
    """A message with LF line ends and without mbsync's X-TUID header, to
    compare what clients store locally with what was sent."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    added = (b"X-TUID: ", b"Return-Path: ", b"X-getmail-retrieved-from-mailbox: ")
    return b"\n".join(l for l in lines if not l.startswith(added))


def maildir_messages(path):
    """{Subject: (flags letters, body bytes)} of a Maildir folder."""
    out = {}
    for f in glob.glob(os.path.join(path, "cur", "*")) + \
            glob.glob(os.path.join(path, "new", "*")):
        with open(f, "rb") as fh:
            data = fh.read()
        info = f.rsplit(":2,", 1)[1] if ":2," in f else ""
        out[email.message_from_bytes(data)["Subject"]] = (set(info), data)
    return out


def test_mbsync_both_ways(srv, tmp_path):
    c = login(srv, tls=True)
    sent = {}
    for i in range(12):
        m = simple("inbox %d" % i, "body of message %d\r\n" % i)
        flags = "(\\Seen)" if i % 3 == 0 else ("(\\Flagged)" if i % 3 == 1 else "")
        append(c, "INBOX", m, flags, tag="A%d" % i)
        sent["inbox %d" % i] = m.encode()
    c.cmd("c", "CREATE Work")
    for i in range(4):
        append(c, "Work", simple("work %d" % i, "work body %d\r\n" % i),
               tag="W%d" % i)
    c.cmd("z", "LOGOUT")

    local = tmp_path / "mail"
    local.mkdir()
    cert = os.path.join(srv.config, "cert.pem")
    rc = tmp_path / "mbsyncrc"
    rc.write_text("""\
IMAPAccount cursus
Host 127.0.0.1
Port {port}
User alice
Pass alice-password
SSLType IMAPS
CertificateFile {cert}
AuthMechs LOGIN

IMAPStore remote
Account cursus

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""".format(port=srv.port("IMAP", "TLS_PORT"), cert=cert, local=local))

    def mbsync():
        p = subprocess.run(["mbsync", "-c", str(rc), "-a"], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr

    # pull: every message arrives intact, with its flags
    mbsync()
    got = maildir_messages(local / "INBOX")
    assert set(got) == set(sent)
    for subject, body in sent.items():
        flags, data = got[subject]
        assert normal(data) == normal(body), subject
        i = int(subject.split()[1])
        assert ("S" in flags) == (i % 3 == 0), (subject, flags)
        assert ("F" in flags) == (i % 3 == 1), (subject, flags)
    assert set(maildir_messages(local / "Work")) == {"work %d" % i for i in range(4)}

    # push: new local messages, a new folder, a flag change, a deletion
    new = local / "INBOX" / "new"
    for i in range(3):
        (new / ("%d.local%d.host" % (time.time(), i))).write_bytes(
            simple("local %d" % i, "written locally %d\r\n" % i).encode())
    folder = local / "Notes"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "new" / ("%d.note.host" % time.time())).write_bytes(
        simple("note", "a note\r\n").encode())
    files = glob.glob(str(local / "INBOX" / "cur" / "*")) + \
        glob.glob(str(local / "INBOX" / "new" / "*"))
    by_subject = {email.message_from_bytes(open(f, "rb").read())["Subject"]: f
                  for f in files}
    f = by_subject["inbox 2"]
    base = os.path.basename(f).split(":2,")[0]
    os.rename(f, str(local / "INBOX" / "cur" / (base + ":2,FS")))  # \Flagged \Seen
    os.unlink(by_subject["inbox 5"])            # deleted locally
    mbsync()
    server = server_messages(srv, "INBOX")
    assert "inbox 5" not in server
    assert {b"\\Seen", b"\\Flagged"} <= server["inbox 2"][0]
    for i in range(3):
        assert server["local %d" % i][1].endswith(
            ("written locally %d\r\n" % i).encode())
    notes = server_messages(srv, "Notes")
    assert list(notes) == ["note"] and notes["note"][1].endswith(b"a note\r\n")

    # a change on the server comes back down on the next run
    c = mailaccess.Raw(srv.port("IMAP", "TLS_PORT"), tls=True)
    c.line()
    c.cmd("l", "LOGIN alice alice-password")
    c.cmd("s", "SELECT INBOX")
    c.cmd("d", "UID SEARCH SUBJECT \"inbox 7\"")
    r = c.cmd("f", "SEARCH SUBJECT \"inbox 7\"")
    seq = r[0].split()[-1]
    c.cmd("g", "STORE %s +FLAGS (\\Deleted)" % seq)
    c.cmd("h", "EXPUNGE")
    c.cmd("z", "LOGOUT")
    mbsync()
    assert "inbox 7" not in maildir_messages(local / "INBOX")
    # a sync with nothing to do changes nothing
    before = maildir_messages(local / "INBOX")
    mbsync()
    assert maildir_messages(local / "INBOX") == before


def test_fetchmail_over_pop3(srv, tmp_path):
    c = login(srv, tls=True)
    sent = []
    for i in range(6):
        m = simple("fetch %d" % i, ".dotted line\r\nbody %d\r\n" % i)
        append(c, "INBOX", m, tag="A%d" % i)
        sent.append(m.encode())
    c.cmd("z", "LOGOUT")
    out = tmp_path / "out"
    out.mkdir()
    mda = tmp_path / "mda.sh"
    mda.write_text("#!/bin/sh\ncat > %s/$(date +%%s%%N).eml\n" % out)
    mda.chmod(0o755)
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        # the certificate names localhost (fetchmail checks the name)
        'poll localhost protocol pop3 port {port} user "alice" password '
        '"alice-password" ssl sslcertfile "{cert}" sslcertck '
        'mda "{mda}" no rewrite\n'.format(
            port=srv.port("POP3", "TLS_PORT"),
            cert=os.path.join(srv.config, "cert.pem"), mda=mda))
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILUSER="root")
    p = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "-v",
                        "--pidfile", str(tmp_path / "fm.pid")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    got = sorted(open(f, "rb").read() for f in glob.glob(str(out / "*.eml")))
    assert len(got) == 6
    for m in sent:
        # fetchmail puts its Received: line first; the message follows
        assert any(normal(g).endswith(normal(m)) for g in got), m
    # fetchmail deletes what it fetched: at QUIT, from the store
    assert server_messages(srv, "INBOX") == {}


def test_getmail_over_imap(srv, tmp_path):
    getmail = shutil.which("getmail")
    if getmail is None:
        pytest.skip("getmail6 is not installed")
    c = login(srv, tls=True)
    sent = {}
    for i in range(5):
        m = simple("getmail %d" % i, "via imap %d\r\n" % i)
        append(c, "INBOX", m, tag="A%d" % i)
        sent["getmail %d" % i] = m.encode()
    c.cmd("z", "LOGOUT")
    import tempfile
    # getmail will not deliver as root: as nobody, into a folder nobody
    # can reach
    md = Path(tempfile.mkdtemp(prefix="cursus-getmail-")) / "Maildir"
    os.chmod(md.parent, 0o755)
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    gdir = tmp_path / "getmail"
    gdir.mkdir()
    (gdir / "getmailrc").write_text("""\
[retriever]
type = SimpleIMAPSSLRetriever
server = 127.0.0.1
port = {port}
username = alice
password = alice-password
mailboxes = ("INBOX",)
ca_certs = {cert}
ssl_cert_hostname = localhost

[destination]
type = Maildir
path = {md}/
{user}
[options]
read_all = true
delete = false
delivered_to = false
received = false
""".format(port=srv.port("IMAP", "TLS_PORT"),
           cert=os.path.join(srv.config, "cert.pem"), md=md,
           # getmail will not deliver as root
           user="user = nobody" if os.geteuid() == 0 else ""))
    if os.geteuid() == 0:
        for d in [md] + [md / sub for sub in ("cur", "new", "tmp")]:
            os.chmod(d, 0o777)
    p = subprocess.run([getmail, "--getmaildir", str(gdir), "--rcfile",
                        "getmailrc"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    got = maildir_messages(md)
    shutil.rmtree(md.parent)
    assert set(got) == set(sent)
    for subject, body in sent.items():
        assert normal(got[subject][1]).endswith(normal(body)), subject
