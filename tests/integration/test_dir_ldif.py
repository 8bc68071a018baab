"""The embedded directory's file: what it accepts, what it refuses (with
file:line), how provisioning rewrites it, and the shipped schema and demo
data loading into a real slapd unchanged."""
import os
import re
import subprocess

import pytest

from cursus_harness import SRCDIR
from dir_env import DEMO, DirEnv, dirtest_ldif
from ldap_harness import Slapd, have_slapd
from schema_ldif import definitions, to_ldif

HEAD = """\
version: 1

dn: o=cursus
objectClass: organization
o: cursus

dn: o=example.com,o=cursus
objectClass: organization
objectClass: sunManagedOrganization
objectClass: mailDomain
o: example.com
sunPreferredDomain: example.com

"""

USER = """\
dn: uid=joe,o=example.com,o=cursus
objectClass: inetOrgPerson
objectClass: inetMailUser
uid: joe
cn: Joe
sn: Joe
mail: joe@example.com
"""


def check(tmp_path, text):
    """(exit status, stderr) of `cursus directory check` on TEXT."""
    env = DirEnv(tmp_path, "ldif", data=text)
    env.start()
    p = env.run("directory", "check")
    return p.returncode, p.stdout + p.stderr


def test_accepts_ldapadd_syntax(tmp_path):
    text = HEAD + (
        "# a comment\n"
        "dn: uid=joe,o=example.com,o=cursus\n"
        "changetype: add\n"
        "objectClass: inetOrgPerson\n"
        "objectClass: inetMailUser\n"
        "uid: joe\n"
        "cn:: Sm/DqyBEdXJhbmQ=\n"            # base64 UTF-8: "Joë Durand"
        "sn: Du\n"
        " rand\n"                             # folded line
        "mail: joe@example.com\n"
        "jpegPhoto:: /9j/4AAQSkZJRgABAQ==\n")  # binary, ignored
    rc, out = check(tmp_path, text)
    assert rc == 0, out
    env = DirEnv(tmp_path / "2", "ldif", data=text)
    env.start()
    shown = env.tool("user", "show", "joe@example.com")[1]
    assert "cn: Joë Durand" in shown and "sn: Durand" in shown
    assert "jpegPhoto" not in shown


REFUSED = [
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "no colon here\n", 16, 'expected "attribute: value"'),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "mail: not-an-address\n", 16, 'mail "not-an-address"'),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "mailForwardingAddress: a@b@c\n", 16, "mailForwardingAddress"),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "mailUserStatus: sleeping\n", 16, "not a status"),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "mailDeliveryOption: carrier-pigeon\n", 16, "not a delivery option"),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "vacationEndDate: next week\n", 16, "not a time"),
    ("dn: cn=g,o=example.com,o=cursus\nobjectClass: inetMailGroup\n"
     "memberURL: ldap:///o=cursus??sub?(uid=*\n", 16, "filter"),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "mail:: AGFiYw==\n", 16, "binary data"),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "photo:< file:///etc/shadow\n", 16, "URL values"),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "cn:: !!!!\n", 16, "invalid base64"),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "bad name: x\n", 16, "not a valid attribute name"),
    ("dn: uid=joe,o=example.com,o=cursus\nchangetype: delete\n", 15,
     "changetype delete"),
    ("dn: not a dn\nobjectClass: top\n", 14, "not a valid DN"),
    ("dn: uid=joe,o=example.com,o=cursus\nuid: joe\n", 14, "no objectClass"),
    ("dn: o=example.com,o=cursus\nobjectClass: organization\n", 14,
     "appears twice (first at line 7)"),
    ("dn: uid=x,ou=Later,o=example.com,o=cursus\nobjectClass: account\n"
     "uid: x\n\ndn: ou=Later,o=example.com,o=cursus\n"
     "objectClass: organizationalUnit\n", 14, "before its parent"),
    ("dn: uid=joe,o=example.com,o=cursus\nobjectClass: inetOrgPerson\n"
     "cn: " + "x" * (300 * 1024) + "\n", 16, "longer than"),
]


@pytest.mark.parametrize("tail,line,why", REFUSED,
                         ids=[c[2].split()[0] for c in REFUSED])
def test_refused_with_file_and_line(tmp_path, tail, line, why):
    rc, out = check(tmp_path, HEAD + tail)
    assert rc == 1
    assert re.search(r"directory\.ldif:%d: " % line, out), out
    assert why in out


def test_bad_utf8_and_nul(tmp_path):
    env = DirEnv(tmp_path, "ldif", data=HEAD)
    env.start()
    with open(env.ldif_path, "ab") as f:
        f.write(b"dn: uid=joe,o=example.com,o=cursus\nobjectClass: top\n"
                b"cn: \xff\xfe\n")
    p = env.run("directory", "check")
    assert p.returncode == 1 and "directory.ldif:16: cn: value is not valid UTF-8" in p.stderr
    with open(env.ldif_path, "wb") as f:
        f.write(HEAD.encode() + b"dn: x=\0\n")
    p = env.run("directory", "check")
    assert p.returncode == 1 and "directory.ldif:14: NUL character" in p.stderr


def test_rewrite_keeps_comments_and_untouched_records(tmp_path):
    text = HEAD.replace("dn: o=example.com", "# our domain, keep me\ndn: o=example.com") + \
        "# joe's entry\n" + USER
    env = DirEnv(tmp_path, "ldif", data=text)
    env.start()
    assert env.tool("user", "modify", "joe@example.com", "--name", "Joseph")[0] == 0
    assert env.tool("user", "add", "ann@example.com")[0] == 0
    after = open(env.ldif_path).read()
    assert after.startswith("version: 1\n\ndn: o=cursus\n")
    assert "# our domain, keep me\ndn: o=example.com,o=cursus\n" in after
    assert "# joe's entry\ndn: uid=joe," in after
    assert "cn: Joseph\n" in after and "cn: Joe\n" not in after
    assert after.rstrip().endswith("mailDeliveryOption: mailbox")
    # the rewritten file reads back, and its mode is kept
    assert env.run("directory", "check").returncode == 0
    os.chmod(env.ldif_path, 0o640)
    env.tool("user", "delete", "ann@example.com")
    assert os.stat(env.ldif_path).st_mode & 0o777 == 0o640


def test_changes_refused_while_the_file_is_broken(tmp_path):
    env = DirEnv(tmp_path, "ldif", data=HEAD + USER + "\nbroken line\n")
    env.start()
    rc, out, err = env.tool("user", "add", "ann@example.com")
    assert rc == 1 and ("fix the file" in err or "directory.ldif:" in err)


def test_oversized_group(tmp_path):
    members = "".join("mgrpRFC822MailMember: m%d@elsewhere.example\n" % i
                      for i in range(50))
    text = HEAD + ("dn: cn=big,o=example.com,o=cursus\nobjectClass: groupOfURLs\n"
                   "objectClass: inetMailGroup\ncn: big\nmail: big@example.com\n"
                   + members)
    env = DirEnv(tmp_path, "ldif", data=text,
                 directory_extra="max_group_members = 20\n")
    env.start()
    rc, code = env.refusal("big@example.com")
    assert (rc, code) == (1, "5.2.4")
    env.directory_extra = "max_group_members = 50\n"
    env.rewrite_conf()
    assert len(env.addresses("big@example.com")) == 50


# ------------------------------------------------------------------ schema

def test_schema_forms_agree():
    schema = open(os.path.join(SRCDIR, "config", "ldap", "cursus.schema")).read()
    ldif = open(os.path.join(SRCDIR, "config", "ldap", "cursus.ldif")).read()
    assert ldif == to_ldif(schema)
    names = [re.search(r"NAME '([^']+)'", v).group(1)
             for k, v in definitions(schema) if k != "objectidentifier"]
    doc = open(os.path.join(SRCDIR, "docs", "directory.md")).read()
    missing = [n for n in names if "`%s`" % n not in doc]
    assert not missing, "attributes and classes not explained in docs/directory.md: %s" % missing


@pytest.mark.skipif(not have_slapd(), reason="slapd is not installed")
def test_schema_file_loads_in_slapd_conf_form(tmp_path):
    conf = tmp_path / "slapd.conf"
    conf.write_text(
        "include /etc/ldap/schema/core.schema\n"
        "include /etc/ldap/schema/cosine.schema\n"
        "include /etc/ldap/schema/inetorgperson.schema\n"
        "include /etc/ldap/schema/dyngroup.schema\n"
        "include %s\n"
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
        "database mdb\nsuffix o=cursus\ndirectory %s\n" % (
            os.path.join(SRCDIR, "config", "ldap", "cursus.schema"), tmp_path))
    p = subprocess.run(["/usr/sbin/slaptest", "-u", "-f", str(conf)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


@pytest.mark.skipif(not have_slapd(), reason="slapd is not installed")
def test_demo_directory_loads_with_ldapadd(tmp_path):
    s = Slapd(tmp_path / "ldap")
    s.start()
    try:
        p = s.add_file(DEMO)
        assert p.returncode == 0
        out = s.search("o=cursus", "(objectClass=inetMailUser)", "mail")
        assert sorted(re.findall(r"mail: (\S+)", out)) == [
            "alice@example.com", "bob@example.com", "carol@example.com",
            "erin@example.net"]
    finally:
        s.stop()


def test_demo_directory_reads_without_errors(tmp_path):
    rc, out = check(tmp_path, open(DEMO).read())
    assert rc == 0 and "entries 12" in out, out


@pytest.mark.skipif(not have_slapd(), reason="slapd is not installed")
def test_provisioned_file_moves_to_slapd(tmp_path):
    """What provisioning wrote into the embedded directory (hashed
    passwords, SCRAM secrets, groups, a new domain) loads into slapd with
    ldapadd -f as it is, and serves the same: logins checked by slapd,
    the same resolutions."""
    env = DirEnv(tmp_path / "ldif", "ldif", data=open(DEMO).read())
    env.start()
    for args, stdin in (
            (("domain", "add", "moved.example", "--domain-alias",
              "moved-alias.example"), None),
            (("user", "add", "mia@moved.example", "--alias",
              "m@moved.example", "--password-stdin"), "mia-secret\n"),
            (("user", "add", "ned@example.com", "--scheme", "SSHA512",
              "--option", "mailbox", "--option", "forward", "--forward",
              "ned@elsewhere.example", "--password-stdin"), "ned-secret\n"),
            (("group", "add", "crew@moved.example", "--member",
              "mia@moved.example", "--member-dn",
              "uid=ned,ou=People,o=example.com,o=cursus"), None)):
        rc, out, err = env.tool(*args, input=stdin)
        assert rc == 0, err
    s = Slapd(tmp_path / "ldap")
    s.start()
    try:
        s.add_file(env.ldif_path)
        s.add_reader()
        ldap = DirEnv(tmp_path / "ldap-cfg", "ldap", slapd=s)
        ldap.start()
        for e in (env, ldap):
            assert e.verify("mia@moved.example", "mia-secret") == (
                0, "OK mia@moved.example")
            assert e.verify("ned", "ned-secret") == (0, "OK ned")
            assert e.verify("ned", "mia-secret")[0] == 1
            assert e.addresses("crew@moved-alias.example") == [
                "mia%moved.example@ims-ms-daemon", "ned@elsewhere.example",
                "ned@ims-ms-daemon"]
    finally:
        s.stop()
