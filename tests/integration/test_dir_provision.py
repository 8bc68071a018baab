"""Provisioning with `cursus user|group|domain ...`: the same commands and
checks against the LDIF file and a real slapd."""
import os
import re

import pytest

from dir_env import DirEnv
from ldap_harness import have_slapd

BACKENDS = ["ldif", pytest.param("ldap", marks=pytest.mark.skipif(
    not have_slapd(), reason="slapd is not installed"))]


@pytest.fixture(scope="module", params=BACKENDS)
def env(request, tmp_path_factory):
    e = DirEnv(tmp_path_factory.mktemp("prov-" + request.param), request.param)
    e.start()
    yield e
    e.stop()


def ok(env, *args, input=None):
    rc, out, err = env.tool(*args, input=input)
    assert rc == 0, "cursus %s: %s%s" % (" ".join(args), out, err)
    return out


def refused(env, *args, input=None):
    rc, out, err = env.tool(*args, input=input)
    assert rc != 0, "cursus %s succeeded: %s" % (" ".join(args), out)
    return err


def stored(env, dn):
    """The entry as the backend stores it (not as `show` prints it)."""
    if env.backend == "ldif":
        text = open(env.ldif_path).read()
        start = text.index("dn: " + dn)
        end = text.find("\n\n", start)
        return text[start:end if end > 0 else None].replace("\n ", "")
    return env.slapd.search(dn, "(objectClass=*)", "*").replace("\n ", "")


def test_domain_add_list_delete(env):
    out = ok(env, "domain", "add", "new.example", "--domain-alias",
             "new-alias.example", "--catchall", "alice@example.com")
    assert "added o=new.example,o=cursus" in out
    assert "new.example new-alias.example (active)" in ok(env, "domain", "list")
    # mail for unknown users goes to the catch-all, in both names
    assert env.addresses("x@new-alias.example") == ["alice@ims-ms-daemon"]
    assert "already used" in refused(env, "domain", "add", "new.example")
    assert "already used" in refused(env, "domain", "add", "other.example",
                                     "--domain-alias", "example.org")
    assert "not a domain name" in refused(env, "domain", "add", "bad_name!")
    ok(env, "domain", "delete", "new.example")
    assert env.resolve("x@new.example")[0] == 3


def test_user_lifecycle(env):
    ok(env, "domain", "add", "life.example")
    out = ok(env, "user", "add", "zoe@life.example", "--name", "Zoe Zed",
             "--alias", "z@life.example", "--quota", "2M",
             "--password-stdin", input="zoe-secret-1\n")
    assert "uid=zoe,ou=People,o=life.example,o=cursus" in out
    assert env.verify("zoe@life.example", "zoe-secret-1") == (
        0, "OK zoe@life.example")
    assert env.addresses("z@life.example") == ["zoe%life.example@ims-ms-daemon"]
    shown = ok(env, "user", "show", "zoe@life.example")
    assert "mailQuota: 2097152" in shown and "sn: Zed" in shown
    # the service may not read userPassword in slapd; show hides it anyway
    assert "authPassword: (hidden)" in shown and "zoe-secret-1" not in shown
    assert env.backend == "ldap" or "userPassword: (hidden)" in shown
    raw = stored(env, "uid=zoe,ou=People,o=life.example,o=cursus")
    assert "zoe-secret-1" not in raw
    assert re.search(r"userPassword:?: ", raw)
    assert "authPassword: SCRAM-SHA-256$4096:" in raw

    ok(env, "user", "modify", "zoe@life.example", "--add",
       "mailAlternateAddress=zed@life.example", "--option", "mailbox",
       "--option", "forward", "--forward", "zoe@elsewhere.example")
    assert env.addresses("zed@life.example") == [
        "zoe%life.example@ims-ms-daemon", "zoe@elsewhere.example"]
    ok(env, "user", "modify", "zoe@life.example", "--remove",
       "mailForwardingAddress", "--set", "mailDeliveryOption=mailbox")
    assert env.addresses("zoe@life.example") == ["zoe%life.example@ims-ms-daemon"]

    ok(env, "user", "modify", "zoe@life.example", "--password-stdin",
       input="zoe-secret-2\n")
    assert env.verify("zoe@life.example", "zoe-secret-2")[0] == 0
    assert env.verify("zoe@life.example", "zoe-secret-1")[0] == 1

    assert "still has 1 user" in refused(env, "domain", "delete", "life.example")
    ok(env, "user", "delete", "zoe@life.example")
    assert env.refusal("zoe@life.example")[1] == "5.1.1"
    ok(env, "domain", "delete", "life.example")


@pytest.mark.parametrize("scheme,prefix", [
    ("CRYPT", "{CRYPT}$6$"), ("SSHA512", "{SSHA512}"), ("ARGON2", "{ARGON2}$argon2id$")])
def test_password_schemes(env, scheme, prefix):
    name = "pw-" + scheme.lower()
    ok(env, "user", "add", name + "@example.com", "--scheme", scheme,
       "--password-stdin", input="scheme-password\n")
    raw = stored(env, "uid=%s,ou=People,o=example.com,o=cursus" % name)
    value = re.search(r"userPassword(::? )(\S+)", raw)
    text = value.group(2)
    if value.group(1) == ":: ":
        import base64
        text = base64.b64decode(text).decode()
    assert text.startswith(prefix)
    # dir_ldap: slapd itself checks the hash when the user binds
    assert env.verify(name, "scheme-password") == (0, "OK " + name)
    assert env.verify(name, "wrong-password")[0] == 1


@pytest.mark.parametrize("args,why", [
    (["user", "add", "x@not-hosted.example"], "not a hosted domain"),
    (["user", "add", "y@example.org"], "alias of example.com"),
    (["user", "add", "bad address@example.com"], "not an address"),
    (["user", "add", "n1@example.com", "--alias", "postmaster@example.com"],
     "already used by uid=alice"),
    (["user", "add", "n2@example.com", "--alias", "staff@example.com"],
     "already used by cn=staff"),
    (["user", "add", "n3@example.com", "--uid", "alice"],
     "uid alice is already used"),
    (["user", "add", "n4@example.com", "--status", "sleepy"], "not a status"),
    (["user", "add", "n5@example.com", "--option", "teleport"],
     "not a delivery option"),
    (["user", "add", "n6@example.com", "--forward", "nowhere"],
     "not an address"),
    (["user", "add", "n7@example.com", "--quota", "lots"], "not a size"),
    (["user", "add", "n8@example.com", "--set", "userPassword=plain"],
     "--password-stdin"),
    (["user", "add", "n9@example.com", "--vacation-start", "tomorrow"],
     "not a time"),
    (["group", "add", "g1@example.com", "--member", "not an address"],
     "not an address"),
    (["group", "add", "g2@example.com", "--alias", "bob@example.com"],
     "already used"),
    (["user", "modify", "nobody@example.com", "--name", "X"], "no user"),
    (["user", "delete", "nobody@example.com"], "no user"),
    (["user", "frobnicate", "alice"], "unknown action"),
    (["user", "add", "n10@example.com", "--no-such-option", "1"],
     "unknown option"),
])
def test_bad_input(env, args, why):
    assert why in refused(env, *args)


def test_uid_unique_per_domain_only(env):
    # wendy exists in example.com and in example.net; a third domain may
    # have one too
    ok(env, "domain", "add", "third.example")
    ok(env, "user", "add", "wendy@third.example")
    ok(env, "user", "delete", "wendy@third.example")
    ok(env, "domain", "delete", "third.example")


def test_group_lifecycle(env):
    ok(env, "group", "add", "team@example.com", "--member", "alice@example.com",
       "--member-dn", "uid=bob,ou=People,o=example.com,o=cursus",
       "--errors-to", "alice@example.com")
    rc, lines = env.resolve("team@example.com")
    assert rc == 0 and sorted(l.strip() for l in lines[1:]) == [
        "alice@example.com", "bob@example.com"]
    ok(env, "group", "modify", "team@example.com", "--add",
       "mgrpRFC822MailMember=erin@example.net")
    rc, lines = env.resolve("team@example.com")
    assert "erin@example.net" in [l.strip() for l in lines[1:]]
    assert "team@example.com" in ok(env, "group", "list", "example.com")
    ok(env, "group", "delete", "team@example.com")
    assert env.refusal("team@example.com")[1] == "5.1.1"


def test_show_and_list(env):
    shown = ok(env, "user", "show", "alice")
    assert shown.startswith("dn: uid=alice,ou=People,o=example.com,o=cursus")
    assert "mail: alice@example.com" in shown
    users = ok(env, "user", "list", "example.net")
    assert "erin@example.net uid=erin,ou=People,o=example.net,o=cursus (active)" in users
    assert "alice@example.com" not in users
    assert "example.com example.org (active)" in ok(env, "domain", "list")


def test_domain_default_quotas(env):
    # users without mailQuota / mailMsgQuota get their domain's
    ok(env, "domain", "add", "quota.example", "--domain-quota", "2M",
       "--domain-msg-quota", "7")
    ok(env, "user", "add", "una@quota.example")
    ok(env, "user", "add", "ole@quota.example", "--quota", "1M")
    for user in ("una", "ole"):
        ok(env, "mbox", "create", "user/%s@quota.example" % user)
    limits = {l.split()[0]: (l.split()[2], l.split()[5])
              for l in ok(env, "quota").splitlines()[1:]}
    assert limits["una@quota.example"] == ("2048", "7")
    assert limits["ole@quota.example"] == ("1024", "7")
    for user in ("una", "ole"):
        ok(env, "mbox", "delete", "user/%s@quota.example" % user)
        ok(env, "user", "delete", "%s@quota.example" % user)
    ok(env, "domain", "delete", "quota.example")
