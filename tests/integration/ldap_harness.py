"""ldap_harness - a real OpenLDAP slapd for a test.

A Slapd runs Debian's /usr/sbin/slapd in its own temporary directory, on
a free loopback port (and an ldapi:// socket, and ldaps:// when TLS is
asked), with a cn=config built from the shipped schema
(config/ldap/cursus.ldif after core, cosine, inetorgperson, dyngroup),
the pw-sha2 and argon2 password modules, and one mdb database for
o=cursus:

    slapd = Slapd(tmp_path / "ldap")
    slapd.start()
    slapd.add_file(".../directory.ldif")     # ldapadd -f, unchanged
    ... slapd.uri ...
    slapd.stop()

Identities: cn=admin,o=cursus (password "secret") may do anything;
cn=reader,o=cursus (password "reader") reads everything but passwords;
the local root user over ldapi:// (SASL EXTERNAL) is mapped to
cn=reader,o=cursus.  Users may bind with their own password.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

from cursus_harness import SRCDIR, free_port

SLAPD = "/usr/sbin/slapd"
SCHEMA_DIR = "/etc/ldap/schema"
ADMIN_DN = "cn=admin,o=cursus"
ADMIN_PW = "secret"
READER_DN = "cn=reader,o=cursus"
READER_PW = "reader"


def have_slapd():
    return os.path.exists(SLAPD) and shutil.which("ldapadd") is not None


CONFIG = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {dir}/slapd.pid
olcArgsFile: {dir}/slapd.args
olcAuthzRegexp: {{0}}"gidNumber=[0-9]+\\+uidNumber={uid},cn=peercred,cn=external,cn=auth" "{reader}"
{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: pw-sha2
olcModuleLoad: argon2

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://{schema}/core.ldif

include: file://{schema}/cosine.ldif

include: file://{schema}/inetorgperson.ldif

include: file://{schema}/dyngroup.ldif

include: file://{cursus}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: unlimited

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {dir}/data
olcSuffix: o=cursus
olcRootDN: {admin}
olcRootPW: {admin_pw}
olcDbMaxSize: 4294967296
olcSizeLimit: unlimited
olcDbIndex: objectClass eq
olcDbIndex: mail,mailAlternateAddress,mailEquivalentAddress eq
olcDbIndex: uid,sunPreferredDomain,associatedDomain,msgVanityDomain eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by dn.exact="{admin}" write by dn.exact="{reader}" read by * none
olcAccess: {{1}}to attrs=authPassword by dn.exact="{admin}" write by dn.exact="{reader}" read by * none
olcAccess: {{2}}to * by dn.exact="{admin}" write by * read
"""

ROOT = """\
dn: o=cursus
objectClass: top
objectClass: organization
o: cursus
"""

READER = """\
dn: {reader}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: {reader_pw}
"""


class Slapd:
    """One slapd in DIRECTORY."""

    def __init__(self, directory, tls=None, schema=None):
        """TLS: (cert, key) PEM files to serve ldaps:// and StartTLS."""
        self.dir = str(directory)
        self.tls = tls
        self.schema = schema or os.path.join(SRCDIR, "config", "ldap",
                                             "cursus.ldif")
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.sock = os.path.join(self.dir, "ldapi")
        self.proc = None
        self.started = False
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "slapd.d"), exist_ok=True)

    @property
    def uri(self):
        return "ldap://127.0.0.1:%d" % self.port

    @property
    def ldaps_uri(self):
        return "ldaps://127.0.0.1:%d" % self.tls_port

    @property
    def ldapi_uri(self):
        return "ldapi://" + self.sock.replace("/", "%2F")

    def configure(self):
        tls = ""
        if self.tls:
            tls = "olcTLSCertificateFile: %s\nolcTLSCertificateKeyFile: %s\n" % self.tls
        text = CONFIG.format(dir=self.dir, uid=os.geteuid(), reader=READER_DN,
                             tls=tls, schema=SCHEMA_DIR, cursus=self.schema,
                             admin=ADMIN_DN, admin_pw=ADMIN_PW)
        path = os.path.join(self.dir, "config.ldif")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run(["/usr/sbin/slapadd", "-n0", "-F",
                            os.path.join(self.dir, "slapd.d"), "-l", path],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("slapadd of cn=config failed:\n" + p.stderr)

    def start(self, new_port=None):
        """Start slapd; ready when both its TCP port and its ldapi://
        socket answer.  A first start whose port another process took
        in the meantime (free_port cannot reserve it) tries fresh ports;
        NEW_PORT=True does so on a restart too (for tests whose servers
        are configured by the ldapi:// URI only)."""
        if not os.listdir(os.path.join(self.dir, "slapd.d")):
            self.configure()
        if new_port is None:
            new_port = not self.started
        for attempt in range(3):
            if self._start_once():
                self.started = True
                return self
            if not new_port or attempt == 2:
                break
            self.port = free_port()
            if self.tls:
                self.tls_port = free_port()
        raise AssertionError("slapd did not start:\n" + self.read_log())

    def _listening(self):
        """True when slapd answers on its TCP port and its socket."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5):
                pass
            with socket.socket(socket.AF_UNIX) as u:
                u.settimeout(0.5)
                u.connect(self.sock)
            return True
        except OSError:
            return False

    def _start_once(self):
        """One start of slapd: True when it serves, False when it
        exited (its port taken, say)."""
        urls = [self.uri + "/", "ldapi://" + self.sock.replace("/", "%2F") + "/"]
        if self.tls:
            urls.append(self.ldaps_uri + "/")
        self.log = open(os.path.join(self.dir, "slapd.log"), "a")
        self.proc = subprocess.Popen(
            [SLAPD, "-d", "0", "-F", os.path.join(self.dir, "slapd.d"),
             "-h", " ".join(urls)],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            # another process on the port answers too: slapd must still
            # be alive once its socket answers as well
            if self._listening() and self.proc.poll() is None:
                return True
            time.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log.close()
        return False

    def add_root(self):
        """The top entry o=cursus (data files may bring their own)."""
        self.add_text(ROOT)

    def add_reader(self):
        """cn=reader,o=cursus, the identity the server binds as."""
        self.add_text(READER.format(reader=READER_DN, reader_pw=READER_PW))

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "slapd.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def kill(self):
        """Kill -9: the server dies as in a crash."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.log.close()

    def ldap(self, tool, *args, input=None, check=True):
        p = subprocess.run([tool, "-x", "-H", self.uri, "-D", ADMIN_DN, "-w",
                            ADMIN_PW] + list(args), input=input,
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("%s %s failed (%d): %s%s" % (
                tool, " ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def add_file(self, path, check=True):
        return self.ldap("ldapadd", "-f", path, check=check)

    def add_text(self, text, check=True):
        return self.ldap("ldapadd", input=text, check=check)

    def search(self, base, filt="(objectClass=*)", *attrs):
        return self.ldap("ldapsearch", "-LLL", "-b", base, filt, *attrs).stdout


def make_certs(directory, name="127.0.0.1"):
    """A CA and a server certificate for NAME (an IP address) signed by it,
    made with GnuTLS's certtool.  Returns (ca.pem, cert.pem, key.pem)."""
    d = str(directory)
    os.makedirs(d, exist_ok=True)

    def certtool(*args, template=None):
        cmd = ["certtool"] + list(args)
        if template is not None:
            tpath = os.path.join(d, "template")
            with open(tpath, "w") as f:
                f.write(template)
            cmd += ["--template", tpath]
        subprocess.run(cmd, check=True, capture_output=True)

    ca_key, ca = os.path.join(d, "ca-key.pem"), os.path.join(d, "ca.pem")
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", ca_key)
    certtool("--generate-self-signed", "--load-privkey", ca_key, "--outfile",
             ca, template="cn = Test CA\nca\ncert_signing_key\n"
                          "expiration_days = 30\n")
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", key)
    certtool("--generate-certificate", "--load-privkey", key,
             "--load-ca-certificate", ca, "--load-ca-privkey", ca_key,
             "--outfile", cert,
             template="cn = %s\nip_address = %s\ndns_name = localhost\n"
                      "tls_www_server\nexpiration_days = 30\n" % (name, name))
    os.chmod(key, 0o644)
    return ca, cert, key


class SilentServer:
    """A TCP listener that accepts connections and never answers: a
    server that hangs."""

    def __init__(self):
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    @property
    def uri(self):
        return "ldap://127.0.0.1:%d" % self.port

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()
