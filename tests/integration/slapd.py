"""slapd - a real OpenLDAP server on loopback for tests and benchmarks.

    with Slapd(tmpdir, ldif) as ldap:
        ldap.url        # ldap://127.0.0.1:PORT
        ldap.stop()     # also done on exit

The database (mdb) is filled with slapadd before the server starts, so
large directories load fast.  Suffix dc=example, manager
cn=admin,dc=example with password "secret".
"""
import os
import socket
import subprocess
import time

from cursus_harness import free_port

SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"
SUFFIX = "dc=example"
ROOT_DN = "cn=admin,dc=example"
ROOT_PW = "secret"

BASE_LDIF = """\
dn: dc=example
objectClass: dcObject
objectClass: organization
dc: example
o: example

dn: ou=people,dc=example
objectClass: organizationalUnit
ou: people

"""


def person(uid, mail, description=None):
    lines = ["dn: uid=%s,ou=people,dc=example" % uid,
             "objectClass: inetOrgPerson", "uid: %s" % uid,
             "cn: %s" % uid, "sn: %s" % uid, "mail: %s" % mail]
    if description:
        lines.append("description: %s" % description)
    return "\n".join(lines) + "\n\n"


class Slapd:
    def __init__(self, directory, ldif=""):
        self.dir = str(directory)
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        self.port = free_port()
        self.url = "ldap://127.0.0.1:%d" % self.port
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "include %s/core.schema" % SCHEMA_DIR,
                "include %s/cosine.schema" % SCHEMA_DIR,
                "include %s/inetorgperson.schema" % SCHEMA_DIR,
                "modulepath %s" % MODULE_DIR,
                "moduleload back_mdb",
                "pidfile %s/slapd.pid" % self.dir,
                "argsfile %s/slapd.args" % self.dir,
                "database mdb",
                "maxsize 1073741824",
                "suffix \"%s\"" % SUFFIX,
                "rootdn \"%s\"" % ROOT_DN,
                "rootpw %s" % ROOT_PW,
                "directory %s/db" % self.dir,
                "index mail eq",
                "index uid eq",
                ""]))
        data = os.path.join(self.dir, "data.ldif")
        with open(data, "w") as f:
            f.write(BASE_LDIF + ldif)
        subprocess.run(["slapadd", "-q", "-f", self.conf, "-l", data],
                       check=True, capture_output=True)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["slapd", "-f", self.conf, "-h", self.url + "/", "-d", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not start on %s" % self.url)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
