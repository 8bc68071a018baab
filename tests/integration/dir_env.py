"""dir_env - a Cursus configuration whose directory is either the
embedded LDIF file (dir_ldif) or a real slapd (dir_ldap) holding the same
entries, for tests that must behave the same on both.

    env = DirEnv(tmp_path, "ldap")      # or "ldif"
    env.start()                          # slapd started and loaded
    rc, out = env.resolve("alice@example.com")
    env.stop()

The entries are config/directory.ldif (the shipped demo) followed by
tests/integration/data/dirtest.ldif: loaded unchanged with ldapadd into
slapd, or concatenated into dir_ldif's file.
"""
import os
import re
import subprocess

from cursus_harness import SRCDIR, Server
from ldap_harness import ADMIN_DN, ADMIN_PW, Slapd

DEMO = os.path.join(SRCDIR, "config", "directory.ldif")
TESTDATA = os.path.join(SRCDIR, "tests", "integration", "data",
                        "dirtest.ldif")


# mail leaves through tcp_local (no master program here: it stays queued)
IMTA = """\
.                       $U%$H@tcp_local-daemon

l
localhost

tcp_local slave
tcp_local-daemon
"""


def read(path):
    with open(path) as f:
        return f.read()


def dirtest_ldif():
    """The demo directory and the test entries as one LDIF text."""
    return read(DEMO).rstrip("\n") + "\n\n" + read(TESTDATA)


class DirEnv:
    """A configuration directory with a directory backend."""

    def __init__(self, tmp, backend, directory_extra="", ldap_extra="",
                 data=None, services=None, slapd=None):
        self.tmp = tmp
        self.backend = backend
        self.slapd = slapd
        self.own_slapd = slapd is None
        self.data = dirtest_ldif() if data is None else data
        self.directory_extra = directory_extra
        self.ldap_extra = ldap_extra
        self.services = services
        self.srv = None

    def module_conf(self):
        if self.backend == "ldif":
            return "[module dir_ldif]\nfile = directory.ldif\n"
        return ("[module dir_ldap]\nuri = %s\nbase_dn = o=cursus\n"
                "sasl_mech = EXTERNAL\ntimeout = 3\n"
                "write_bind_dn = %s\nwrite_bind_password = %s\n%s" % (
                    self.slapd.ldapi_uri, ADMIN_DN, ADMIN_PW,
                    self.ldap_extra))

    def conf_extra(self):
        return ("[directory]\nmodule = dir_%s\ndefault_domain = example.com\n"
                "base_dn = o=cursus\nautoreply_db = autoreply.tch\n%s\n%s" % (
                    self.backend, self.directory_extra, self.module_conf()))

    def start(self):
        files = {}
        if self.backend == "ldif":
            files["directory.ldif"] = self.data
        elif self.slapd is None:
            self.slapd = Slapd(self.tmp / "ldap")
            self.slapd.start()
            path = self.tmp / "data.ldif"
            path.write_text(self.data)
            self.slapd.add_file(str(path))
            self.slapd.add_reader()
        os.makedirs(self.tmp / "srv", exist_ok=True)
        self.srv = Server(self.tmp / "srv", services=self.services,
                          conf_extra=self.conf_extra(), files=files,
                          imta=IMTA)
        return self

    def rewrite_conf(self):
        """Write cursus.conf again after a change of the settings."""
        text = read(os.path.join(self.srv.config, "cursus.conf"))
        head = text.split("[directory]")[0]
        self.srv.write("cursus.conf", head + self.conf_extra())

    def stop(self):
        if self.srv is not None:
            self.srv.stop()
        if self.slapd is not None and self.own_slapd:
            self.slapd.stop()

    @property
    def ldif_path(self):
        return os.path.join(self.srv.config, "directory.ldif")

    def run(self, *args, input=None, timeout=60):
        return self.srv.cursus(*args, input=input, timeout=timeout)

    def resolve(self, address, *opts):
        """(exit status, output lines) of `cursus directory resolve`."""
        p = self.run("directory", "resolve", *opts, address)
        return p.returncode, (p.stdout + p.stderr).splitlines()

    def addresses(self, address, *opts):
        """The addresses ADDRESS expands to, recursively (the leaves)."""
        rc, lines = self.resolve(address, "--recursive", *opts)
        assert rc == 0, "\n".join(lines)
        return sorted(l.strip() for l in lines[1:] if "->" not in l)

    def refusal(self, address, *opts):
        """(exit status, the "x.y.z" code) of a failed resolution."""
        rc, lines = self.resolve(address, *opts)
        m = re.search(r"(\d\.\d+\.\d+) ", lines[0]) if lines else None
        return rc, m.group(1) if m else lines

    def verify(self, login, password, *opts):
        p = self.run("directory", "verify", login, *opts,
                     input=password + "\n")
        return p.returncode, p.stdout.strip()

    def tool(self, *args, input=None):
        p = self.run(*args, input=input)
        return p.returncode, p.stdout, p.stderr
