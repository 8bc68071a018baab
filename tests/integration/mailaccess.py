"""mailaccess - Cursus servers for the IMAP and POP3 tests.

A server with IMAP (plain port with STARTTLS, implicit TLS port) and POP3
(the same), the embedded directory with the demo users of
config/directory.ldif, a store, and a self-signed certificate made with
GnuTLS' certtool.  Clients connect with Python's imaplib/poplib, curl,
mbsync and fetchmail.
"""
import base64
import hashlib
import os
import socket
import ssl
import subprocess
import textwrap
import time

import cursus_harness

USERS = {
    "alice@example.com": "alice-password",
    "bob@example.com": "bob-password",
    "carol@example.com": "carol-password",
    "erin@example.net": "erin-password",
}


def make_cert(directory):
    """A self-signed certificate and key for mail.test.example in DIRECTORY;
    returns (cert, key)."""
    key = os.path.join(directory, "key.pem")
    cert = os.path.join(directory, "cert.pem")
    tmpl = os.path.join(directory, "cert.tmpl")
    if os.path.exists(cert):
        return cert, key
    with open(tmpl, "w") as f:
        f.write('cn = "mail.test.example"\ndns_name = "mail.test.example"\n'
                'dns_name = "localhost"\nip_address = "127.0.0.1"\n'
                'expiration_days = 30\ntls_www_server\nsigning_key\n'
                'encryption_key\n')
    subprocess.run(["certtool", "--generate-privkey", "--key-type=ecdsa",
                    "--outfile", key], check=True, capture_output=True)
    subprocess.run(["certtool", "--generate-self-signed", "--load-privkey",
                    key, "--template", tmpl, "--outfile", cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def client_tls():
    """A client TLS context that accepts the test certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def ssha512(password):
    """An OpenLDAP {SSHA512} value of PASSWORD."""
    salt = os.urandom(8)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def user_ldif(uid, password="pass", domain="example.com", **attrs):
    """A directory entry for UID@DOMAIN; ATTRS become more attribute lines
    (a list value gives several lines)."""
    lines = ["dn: uid=%s,ou=People,o=%s,o=cursus" % (uid, domain),
             "objectClass: top", "objectClass: person",
             "objectClass: organizationalPerson", "objectClass: inetOrgPerson",
             "objectClass: inetUser", "objectClass: inetMailUser",
             "objectClass: inetLocalMailRecipient",
             "mail: %s@%s" % (uid, domain), "uid: %s" % uid,
             "cn: %s" % uid, "sn: %s" % uid, "mailDeliveryOption: mailbox",
             "userPassword: %s" % ssha512(password)]
    attrs.setdefault("inetUserStatus", "active")
    attrs.setdefault("mailUserStatus", "active")
    for k, v in attrs.items():
        for value in (v if isinstance(v, list) else [v]):
            lines.append("%s: %s" % (k, value))
    return "\n".join(lines) + "\n\n"


def directory_ldif(extra=""):
    with open(os.path.join(cursus_harness.SRCDIR, "config",
                           "directory.ldif")) as f:
        return f.read() + "\n" + extra


def access_server(cursus, imap_settings="", pop3_settings="", tls=True,
                  services=None, conf_extra="", plaintext=True, users="",
                  **kw):
    """A server with IMAP and POP3 services.  IMAP_SETTINGS and
    POP3_SETTINGS are lines for [module proto_imap] / [module proto_pop3];
    PLAINTEXT allows passwords without TLS (loopback tests); USERS is
    more LDIF for the directory (see user_ldif)."""
    svc = services or {
        "IMAP": {"PROTOCOL": "imap", "PORT": "auto", "TLS_PORT": "auto"},
        "POP3": {"PROTOCOL": "pop3", "PORT": "auto", "TLS_PORT": "auto"},
    }
    if not tls:
        for spec in svc.values():
            spec.pop("TLS_PORT", None)
    srv = cursus(services=svc, files={"directory.ldif": directory_ldif(users)},
                 **kw)
    extra = textwrap.dedent("""\
        [store]
        module = store_cursus
        [directory]
        module = dir_ldif
        default_domain = example.com
        base_dn = o=cursus
        [module dir_ldif]
        file = directory.ldif
        [module proto_imap]
        allow_plaintext_login = {pt}
        {imap}
        [module proto_pop3]
        allow_plaintext_login = {pt}
        {pop3}
        """).format(pt="yes" if plaintext else "no", imap=imap_settings,
                    pop3=pop3_settings)
    if tls:
        cert, key = make_cert(srv.config)
        extra += "[tls]\ncertificate = %s\nkey = %s\n" % (cert, key)
    with open(os.path.join(srv.config, "cursus.conf"), "a") as f:
        f.write(extra + conf_extra)
    return srv


class Raw:
    """A line-oriented client for exact protocol checks."""

    def __init__(self, port, tls=False, timeout=10):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            s = client_tls().wrap_socket(s)
        self.sock = s
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; got %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def until(self, prefix):
        """Lines up to and including the first that starts with PREFIX."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(prefix):
                return lines

    def cmd(self, tag, text):
        """Send "TAG TEXT" and return every line up to the tagged reply."""
        self.send("%s %s\r\n" % (tag, text))
        return self.until(tag + " ")

    def closed(self, timeout=5):
        """True when the server closes the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def wait_ready(srv, service="IMAP"):
    assert cursus_harness.wait_port(srv.port(service)), srv.log()
    time.sleep(0.05)
