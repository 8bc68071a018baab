"""peers - real servers the outbound tests deliver to, on loopback.

    sink = SmtpSink(tmp_path, "-r", "RCPT")   # Postfix's smtp-sink, options
    dns = Dnsmasq(tmp_path, mx={"example.com": [(10, "mx1.example.com")]},
                  a={"mx1.example.com": "127.0.0.1"})
    bhm = Bhm(tmp_path, {"ok@b.test": None, "later@b.test": "d"})
    lmtp = DovecotLmtp(tmp_path)

Each starts in its own directory below the test's tmp_path, on a free
port, and stops with .stop() (the fixtures in test_outbound.py do it).
"""
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import textwrap
import time

from cursus_harness import free_port, wait_port


def _shared_dir(prefix):
    """A directory other users (postfix, mail) can reach: pytest keeps its
    own tree private (mode 0700), so daemons that drop privileges get a
    directory of their own in /tmp, removed by their stop()."""
    import tempfile
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)
    return d


def _user():
    return pwd.getpwuid(os.geteuid()).pw_name


def free_udp_port():
    """A port free for both UDP and TCP on 127.0.0.1 (DNS uses both)."""
    return free_port(udp=True)


class _Proc:
    proc = None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class SmtpSink(_Proc):
    """Postfix's smtp-sink: saves each message (-d) and misbehaves on
    request (-r/-f/-q CMD: 4xx, 5xx, disconnect; -w N: slow DATA)."""

    def __init__(self, directory, *options, host="127.0.0.1", port=None,
                 lmtp=False):
        self.dir = os.path.join(str(directory), "sink-%d" % time.time_ns())
        os.makedirs(self.dir)
        self.port = port or free_port()
        self.host = host
        self.options = list(options)
        self.lmtp = lmtp
        self.start()

    def start(self, *options):
        if options:
            self.options = list(options)
        self._run()

    def _run(self):
        addr = "[%s]:%d" % (self.host, self.port) if ":" in self.host else \
            "%s:%d" % (self.host, self.port)
        argv = ["smtp-sink", "-u", _user(), "-d",
                os.path.join(self.dir, "%Y%m%d%H/%M.")] + self.options
        if self.lmtp:
            argv.append("-L")
        argv += [addr, "128"]
        self.log = open(os.path.join(self.dir, "..", "sink-%d.log" % self.port), "a")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
                with socket.socket(fam) as s:
                    s.settimeout(1)
                    s.connect((self.host, self.port))
                    s.recv(100)
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("smtp-sink did not start")

    def restart(self, *options):
        """Stop, then start again with OPTIONS (none: a well-behaved sink)."""
        self.stop()
        self.options = list(options)
        self._run()

    def messages(self):
        """The saved messages (each the dump smtp-sink wrote; a session
        without data leaves an empty file, not counted)."""
        out = []
        for f in sorted(glob.glob(os.path.join(self.dir, "*", "*"))):
            with open(f, "rb") as fh:
                data = fh.read()
            if data:
                out.append(data)
        return out


class Dnsmasq(_Proc):
    """A real DNS server on a loopback UDP/TCP port answering MX, A, AAAA
    and TXT records for test domains (and nothing else): names below the
    local domains that it has no record for are NXDOMAIN."""

    def __init__(self, directory, mx=None, a=None, aaaa=None, txt=None):
        self.port = free_udp_port()
        conf = os.path.join(str(directory), "dnsmasq-%d.conf" % self.port)
        lines = ["port=%d" % self.port, "listen-address=127.0.0.1",
                 "bind-interfaces", "no-resolv", "no-hosts", "no-poll",
                 "log-queries", "local=/test/", "local=/example.com/",
                 "local=/example.net/", "local=/example.org/"]
        for domain, hosts in (mx or {}).items():
            for pref, target in hosts:
                lines.append("mx-host=%s,%s,%d" % (domain, target, pref))
        names = set(a or {}) | set(aaaa or {})
        for name in sorted(names):
            addrs = []
            if a and name in a:
                addrs += a[name] if isinstance(a[name], list) else [a[name]]
            if aaaa and name in aaaa:
                addrs += aaaa[name] if isinstance(aaaa[name], list) else [aaaa[name]]
            lines.append("host-record=%s,%s" % (name, ",".join(addrs)))
        for name, text in (txt or {}).items():
            lines.append('txt-record=%s,"%s"' % (name, text))
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(conf + ".log", "w")
        self.proc = subprocess.Popen(
            ["dnsmasq", "--keep-in-foreground", "--log-facility=-",
             "--user=" + _user(), "--pid-file=", "-C", conf],
            stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready(conf)

    def _wait_ready(self, conf):
        """Poll until dnsmasq answers on its TCP port (it opens UDP and TCP
        together)."""
        deadline = time.time() + 10
        while time.time() < deadline:
            assert self.proc.poll() is None, open(conf + ".log").read()
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("dnsmasq did not start")

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port


class Bhm(_Proc):
    """postal's bhm: accepts, defers (d), rejects (r) recipients per a
    user list."""

    def __init__(self, directory, users):
        self.port = free_port()
        users_file = os.path.join(str(directory), "bhm-users-%d" % self.port)
        with open(users_file, "w") as f:
            for addr, action in users.items():
                f.write("%s x%s\n" % (addr, " " + action if action else ""))
        self.debug = os.path.join(str(directory), "bhm-%d" % self.port)
        self.proc = subprocess.Popen(
            ["bhm", "-t", "4", "-b", "127.0.0.1", "-p", str(self.port),
             "-Z", self.debug, users_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        assert wait_port(self.port), "bhm did not start"

    def transcripts(self):
        out = ""
        for f in sorted(glob.glob(self.debug + "*")):
            with open(f, errors="replace") as fh:
                out += fh.read()
        return out


class DovecotLmtp(_Proc):
    """Dovecot's LMTP server on a TCP port (and a UNIX socket) delivering
    to Maildirs below its directory, any user accepted."""

    def __init__(self, directory, tls_cert=None, tls_key=None):
        # mail is stored as the "mail" user: dovecot never delivers as root
        self.dir = _shared_dir("cursus-dovecot-")
        for sub in ("mail", "home"):
            os.makedirs(os.path.join(self.dir, sub))
            shutil.chown(os.path.join(self.dir, sub), "mail", "mail")
        self.port = free_port()
        self.socket = os.path.join(self.dir, "lmtp.sock")
        user = _user()
        ssl = "no"
        ssl_lines = ""
        if tls_cert:
            ssl = "yes"
            ssl_lines = "ssl_cert = <%s\nssl_key = <%s\n" % (tls_cert, tls_key)
        conf = textwrap.dedent("""\
            base_dir = {d}/run
            state_dir = {d}/state
            log_path = {d}/dovecot.log
            protocols = lmtp
            listen = 127.0.0.1
            ssl = {ssl}
            {ssl_lines}
            default_login_user = {user}
            default_internal_user = {user}
            default_internal_group = {group}
            mail_location = maildir:{d}/mail/%u
            passdb {{
              driver = static
              args = nopassword=y
            }}
            userdb {{
              driver = static
              args = uid=mail gid=mail home={d}/home/%u
            }}
            service lmtp {{
              inet_listener lmtp {{
                address = 127.0.0.1
                port = {port}
              }}
              unix_listener {sock} {{
                mode = 0666
              }}
            }}
            lmtp_save_to_detail_mailbox = no
            first_valid_uid = 1
            first_valid_gid = 1
            """).format(d=self.dir, ssl=ssl, ssl_lines=ssl_lines, user=user,
                        group=_group(), port=self.port, sock=self.socket)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        if not wait_port(self.port):
            raise AssertionError("dovecot did not start:\n" + self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def mailbox(self, user):
        """Messages in USER's INBOX (new/)."""
        out = []
        for f in sorted(glob.glob(os.path.join(self.dir, "mail", user, "new", "*"))):
            with open(f, "rb") as fh:
                out.append(fh.read())
        return out


def _group():
    import grp
    return grp.getgrgid(os.getegid()).gr_name


class Postfix(_Proc):
    """A private Postfix instance (its own configuration and queue below
    the test directory) on a loopback port, run in the foreground.
    MAIN adds main.cf lines; ACCESS maps recipients to replies
    (check_recipient_access), so the peer defers or rejects chosen
    recipients the way a real MTA does."""

    def __init__(self, directory, main="", access=None, port=None):
        # postfix's own user must reach its data directory
        self.dir = _shared_dir("cursus-postfix-")
        os.makedirs(os.path.join(self.dir, "queue"))
        os.makedirs(os.path.join(self.dir, "data"))
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        self.port = port or free_port()
        access_file = os.path.join(self.dir, "access")
        with open(access_file, "w") as f:
            for addr, reply in (access or {}).items():
                f.write("%s %s\n" % (addr, reply))
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(textwrap.dedent("""\
                queue_directory = {d}/queue
                data_directory = {d}/data
                mail_owner = postfix
                setgid_group = postdrop
                inet_interfaces = 127.0.0.1
                inet_protocols = ipv4
                myhostname = peer.test
                mydestination =
                mynetworks = 127.0.0.0/8
                smtpd_recipient_restrictions = check_recipient_access texthash:{a}, permit_mynetworks, reject
                maillog_file = /dev/stdout
                compatibility_level = 3.6
                smtp_tls_security_level = none
                """).format(d=self.dir, a=access_file) + main)
        with open("/etc/postfix/master.cf") as f:
            master = f.read()
        master = re.sub(r"(?m)^smtp\s+inet\s+n\s+-\s+\S+\s+-\s+-\s+smtpd",
                        "%d inet n - n - - smtpd" % self.port, master)
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(master)
        subprocess.run(["postfix", "-c", self.dir, "set-permissions"],
                       capture_output=True)
        self.logfile = open(os.path.join(self.dir, "maillog"), "w")
        self.proc = subprocess.Popen(["postfix", "-c", self.dir, "start-fg"],
                                     stdout=self.logfile, stderr=subprocess.STDOUT)
        if not wait_port(self.port, timeout=20):
            raise AssertionError("postfix did not start:\n" + self.log())

    def log(self):
        with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is not None:
            subprocess.run(["postfix", "-c", self.dir, "stop"], capture_output=True)
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SilentDns:
    """A DNS "server" that reads queries and never answers: a UDP port
    for timeout tests.  .stop() closes it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.sock.close()
