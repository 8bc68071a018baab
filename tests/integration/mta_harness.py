"""mta_harness - a Cursus MTA for the SMTP and LMTP tests.

make_mta() builds a server from the shipped configuration (config/imta.cnf,
config/job_controller.cnf, config/directory.ldif) with free loopback ports
for SMTP, submission (with implicit TLS) and LMTP (TCP and a UNIX socket),
a TLS certificate made for the test run, and test mapping tables in which
127.0.0.1 is an *external* client (so relaying from the tests is refused
unless a test says otherwise).  Helpers read the queue files (qfile.py)
and the message log.
"""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from cursus_harness import SRCDIR
from qfile import queue_files

SHIPPED = os.path.join(SRCDIR, "config")

TEST_MAPPINGS = """\
INTERNAL_IP

  $(10.99.0.0/16)    $Y
  *                  $N

ORIG_SEND_ACCESS

  tcp_local|*|tcp_local|*    $N550$ 5.7.1$ Relaying$ not$ allowed
"""

# Pools that run no job: what is accepted stays in the queue files for the
# tests to read (the job controller would deliver it otherwise).
NO_DELIVERY_JOBC = """\
[POOL=DEFAULT]
JOB_LIMIT=0
[POOL=LOCAL_POOL]
JOB_LIMIT=0
[POOL=IMS_POOL]
JOB_LIMIT=0
[POOL=SMTP_POOL]
JOB_LIMIT=0
"""

_tls = {}


def tls_pair():
    """A self-signed certificate and key for mail.test.example (made once
    per test run)."""
    if "pair" not in _tls:
        d = tempfile.mkdtemp(prefix="cursus-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=mail.test.example"],
                       check=True, capture_output=True)
        _tls["pair"] = (open(cert).read(), open(key).read())
        shutil.rmtree(d)
    return _tls["pair"]


def shipped(name):
    with open(os.path.join(SHIPPED, name)) as f:
        return f.read()


def default_services(tls=True):
    sub = {"PROTOCOL": "smtp", "CHANNEL": "tcp_submit"}
    if tls:
        sub["TLS_PORT"] = "auto"
    return {
        "SMTP": {"PROTOCOL": "smtp", "CHANNEL": "tcp_local"},
        "SMTP_SUBMIT": sub,
        "LMTP": {"PROTOCOL": "lmtp", "CHANNEL": "tcp_lmtp",
                 "UNIX_SOCKET": "lmtp.sock"},
    }


def make_mta(cursus, tls=True, imta=None, mappings=None, conf_extra="",
             smtp_settings="", services=None, dispatcher_global="",
             files=None, start=True, deliver=False, module_path_extra=()):
    """A started MTA (see the module comment).  Unless DELIVER, the job
    controller runs no delivery job."""
    all_files = {"directory.ldif": shipped("directory.ldif"),
                 "mappings": mappings if mappings is not None else TEST_MAPPINGS}
    extra = ("[directory]\nmodule = dir_ldif\ndefault_domain = example.com\n"
             "[module dir_ldif]\nfile = directory.ldif\n"
             "[auth]\nmodules = auth_sasl\n")
    if tls:
        cert, key = tls_pair()
        all_files["tls/cert.pem"] = cert
        all_files["tls/key.pem"] = key
        extra += "[tls]\ncertificate = tls/cert.pem\nkey = tls/key.pem\n"
    if smtp_settings:
        extra += "[module proto_smtp]\n" + smtp_settings
    all_files.update(files or {})
    srv = cursus(services=services if services is not None else default_services(tls),
                 imta=imta if imta is not None else shipped("imta.cnf"),
                 jobc=shipped("job_controller.cnf") if deliver else NO_DELIVERY_JOBC,
                 conf_extra=extra + conf_extra,
                 dispatcher_global=dispatcher_global, files=all_files,
                 module_path_extra=module_path_extra)
    for name in all_files:
        if name.endswith("key.pem"):
            os.chmod(os.path.join(srv.config, name), 0o600)
    srv.queue_dir = os.path.join(srv.state, "queue")
    srv.lmtp_socket = os.path.join(srv.state, "run", "lmtp.sock")
    if start:
        srv.start()
    return srv


def queued(srv, channel=None):
    return queue_files(srv.queue_dir, channel)


def maillog(srv):
    """The message log's lines, each split into its fields (the last,
    the diagnostic, keeps its spaces)."""
    path = os.path.join(srv.state, "log", "mail.log")
    try:
        with open(path) as f:
            return [l.rstrip("\n").split(" ", 13) for l in f if l.strip()]
    except OSError:
        return []


def wait_queued(srv, n, channel=None, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        files = queued(srv, channel)
        if len(files) >= n:
            return files
        time.sleep(0.05)
    return queued(srv, channel)


class Raw:
    """A raw SMTP connection: send exactly what the test says, read
    replies (multi-line ones whole)."""

    def __init__(self, port, host="127.0.0.1", timeout=10, tls=False,
                 unix=None):
        if unix is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            self.starttls()
        self.buf = b""

    def starttls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; got %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def reply(self):
        """(code, [lines]) of one reply."""
        lines = []
        while True:
            l = self.line()
            lines.append(l[4:])
            if len(l) < 4 or l[3] != "-":
                return int(l[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closed the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
