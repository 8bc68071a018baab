"""dir_ldap against real slapd servers: failover between servers, a
server killed during lookups, a server that never answers, TLS (ldaps://
and StartTLS), simple bind, password compare, and the in-process cache
with its positive and negative lifetimes.

A directory that cannot answer must give a temporary failure (exit 75,
4.4.3, "-TEMP"), never "no such user"."""
import os
import socket
import subprocess
import time

import pytest

from dir_env import DirEnv, dirtest_ldif
from ldap_harness import (READER_DN, READER_PW, SilentServer, Slapd,
                          have_slapd, make_certs)

pytestmark = pytest.mark.skipif(not have_slapd(), reason="slapd is not installed")


def loaded_slapd(path, tls=None):
    s = Slapd(path, tls=tls)
    s.start()
    data = path / "data.ldif"
    data.write_text(dirtest_ldif())
    s.add_file(str(data))
    s.add_reader()
    return s


@pytest.fixture
def slapd(tmp_path):
    s = loaded_slapd(tmp_path / "ldap1")
    yield s
    s.stop()


def ldap_env(tmp_path, slapd, settings, services=None):
    """A dir_ldap configuration whose [module dir_ldap] is SETTINGS."""
    # a short path: UNIX socket paths are limited to 107 bytes
    env = DirEnv(tmp_path / "c", "ldap", slapd=slapd, services=services)
    env.module_conf = lambda: "[module dir_ldap]\nbase_dn = o=cursus\n" + settings
    return env.start()


class Client:
    """A line client of the test_dirproto protocol module."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rb")
        assert self.line().startswith("+OK dirproto")

    def line(self):
        return self.f.readline().decode().rstrip("\r\n")

    def cmd(self, text):
        self.sock.sendall((text + "\r\n").encode())
        return self.line()

    def close(self):
        self.f.close()
        self.sock.close()


# -------------------------------------------------------------- failover

def test_first_server_down(tmp_path, slapd):
    dead = "ldap://127.0.0.1:%d" % __import__("cursus_harness").free_port()
    env = ldap_env(tmp_path, slapd, "uri = %s %s\nsasl_mech = EXTERNAL\n"
                   "timeout = 2\n" % (dead, slapd.ldapi_uri))
    assert env.addresses("alice@example.com") == ["alice@ims-ms-daemon"]
    assert env.verify("alice", "alice-password") == (0, "OK alice")


def test_server_that_never_answers(tmp_path, slapd):
    silent = SilentServer()
    try:
        env = ldap_env(tmp_path, slapd, "uri = %s %s\nsasl_mech = EXTERNAL\n"
                       "timeout = 1\n" % (silent.uri, slapd.ldapi_uri))
        start = time.time()
        assert env.addresses("alice@example.com") == ["alice@ims-ms-daemon"]
        assert time.time() - start < 10
        # the only server hangs: a temporary failure, in about the timeout
        env2 = ldap_env(tmp_path / "2", slapd,
                        "uri = %s\ntimeout = 1\n" % silent.uri)
        start = time.time()
        rc, code = env2.refusal("alice@example.com")
        assert (rc, code) == (75, "4.4.3")
        assert time.time() - start < 10
        rc, out = env2.verify("alice", "alice-password")
        assert rc == 75 and out.startswith("temporary failure")
    finally:
        silent.close()


def test_all_servers_down_is_temporary(tmp_path, slapd):
    env = ldap_env(tmp_path, slapd, "uri = ldap://127.0.0.1:1 ldapi://%2Fnonexistent\n"
                   "timeout = 1\n")
    for address in ("alice@example.com", "nobody@example.com"):
        assert env.refusal(address) == (75, "4.4.3")
    assert env.verify("alice", "alice-password")[0] == 75
    rc, out, err = env.tool("user", "add", "x@example.com")
    assert rc == 75 and "no directory server answers" in err
    assert "ldap://127.0.0.1:1" in err


def test_server_killed_during_lookups(tmp_path):
    one = loaded_slapd(tmp_path / "one")
    two = loaded_slapd(tmp_path / "two")
    env = ldap_env(tmp_path, one,
                   "uri = %s %s\nsasl_mech = EXTERNAL\ntimeout = 2\n"
                   "retry_after = 1\ncache_size = 0\nconnections = 2\n" % (
                       one.ldapi_uri, two.ldapi_uri),
                   services={"DIR": "dirproto"})
    try:
        env.srv.start()
        c = Client(env.srv.port("DIR"))
        assert c.cmd("FIND alice").startswith("+OK uid=alice,")
        one.kill()
        # the next lookups go to the other server, without a failure
        for _ in range(5):
            assert c.cmd("FIND alice@example.com").startswith("+OK uid=alice,")
            assert c.cmd("LOGIN bob bob-password") == "+OK bob"
        two.kill()
        reply = c.cmd("FIND alice")
        assert reply.startswith("-TEMP"), reply
        assert c.cmd("LOGIN bob bob-password").startswith("-TEMP")
        # back: the next lookup finds it (servers that failed are tried
        # when no other answers, retry_after or not).  The directory is
        # configured by the ldapi:// socket, so slapd may take a fresh TCP
        # port: the old one may be another test's by now.
        one.start(new_port=True)
        assert c.cmd("FIND alice").startswith("+OK uid=alice,")
        c.close()
    finally:
        env.stop()
        one.stop()
        two.stop()


# ---------------------------------------------------------- binds and TLS

def test_simple_bind(tmp_path, slapd):
    env = ldap_env(tmp_path, slapd, "uri = %s\nbind_dn = %s\n"
                   "bind_password = %s\n" % (slapd.uri, READER_DN, READER_PW))
    assert env.addresses("alice@example.com") == ["alice@ims-ms-daemon"]
    assert env.verify("bob", "bob-password") == (0, "OK bob")
    # a refused service bind is an outage, not "no such user"
    bad = ldap_env(tmp_path / "bad", slapd, "uri = %s\nbind_dn = %s\n"
                   "bind_password = wrong\ntimeout = 1\n" % (slapd.uri, READER_DN))
    assert bad.refusal("alice@example.com") == (75, "4.4.3")


def test_bind_password_file(tmp_path, slapd):
    pw = tmp_path / "pw"
    pw.write_text(READER_PW + "\n")
    env = ldap_env(tmp_path, slapd, "uri = %s\nbind_dn = %s\n"
                   "bind_password_file = %s\n" % (slapd.uri, READER_DN, pw))
    assert env.addresses("alice@example.com") == ["alice@ims-ms-daemon"]


def test_password_hash_mode(tmp_path, slapd):
    env = ldap_env(tmp_path, slapd, "uri = %s\nsasl_mech = EXTERNAL\n"
                   "auth = hash\n" % slapd.ldapi_uri)
    assert env.verify("alice", "alice-password") == (0, "OK alice")
    assert env.verify("alice", "nope")[0] == 1
    assert env.verify("sam", "ssha-password") == (0, "OK sam")


def test_ldaps_and_starttls(tmp_path):
    ca, cert, key = make_certs(tmp_path / "tls")
    s = loaded_slapd(tmp_path / "ldap", tls=(cert, key))
    try:
        env = ldap_env(tmp_path / "a", s, "uri = %s\nbind_dn = %s\n"
                       "bind_password = %s\ntls_ca = %s\n" % (
                           s.ldaps_uri, READER_DN, READER_PW, ca))
        assert env.addresses("alice@example.com") == ["alice@ims-ms-daemon"]
        assert env.verify("alice", "alice-password") == (0, "OK alice")
        env = ldap_env(tmp_path / "b", s, "uri = %s\nstarttls = yes\n"
                       "bind_dn = %s\nbind_password = %s\ntls_ca = %s\n" % (
                           s.uri, READER_DN, READER_PW, ca))
        assert env.addresses("bob@example.com") == [
            "bob@elsewhere.example", "bob@ims-ms-daemon"]
        # a certificate nobody vouches for: refused, temporarily
        other_ca = make_certs(tmp_path / "other")[0]
        env = ldap_env(tmp_path / "c", s, "uri = %s\nbind_dn = %s\n"
                       "bind_password = %s\ntls_ca = %s\ntimeout = 2\n" % (
                           s.ldaps_uri, READER_DN, READER_PW, other_ca))
        assert env.refusal("alice@example.com") == (75, "4.4.3")
    finally:
        s.stop()


def test_bad_settings_refused(tmp_path, slapd):
    env = ldap_env(tmp_path, slapd, "uri = http://example.com\n")
    rc, out, err = env.tool("directory", "check")
    assert rc == 1 and "is not an ldap://" in err
    env = ldap_env(tmp_path / "2", slapd, "uri = %s\nauth = guess\n" % slapd.uri)
    assert "auth is bind or hash" in env.tool("directory", "check")[2]


# ------------------------------------------------------------------ cache

def test_cache_lifetimes(tmp_path, slapd):
    env = ldap_env(tmp_path, slapd,
                   "uri = %s\nsasl_mech = EXTERNAL\ncache_ttl = 2\n"
                   "cache_negative_ttl = 2\n" % slapd.ldapi_uri,
                   services={"DIR": "dirproto"})
    try:
        env.srv.start()
        c = Client(env.srv.port("DIR"))
        assert c.cmd("FIND carol").startswith("+OK uid=carol,")
        assert c.cmd("FIND newbie").startswith("-NO")
        slapd.ldap("ldapdelete", "uid=carol,ou=People,o=example.com,o=cursus")
        slapd.add_text("dn: uid=newbie,ou=People,o=example.com,o=cursus\n"
                       "objectClass: inetOrgPerson\nobjectClass: inetMailUser\n"
                       "uid: newbie\ncn: N\nsn: N\nmail: newbie@example.com\n")
        # answers from the cache while they live...
        assert c.cmd("FIND carol").startswith("+OK uid=carol,")
        assert c.cmd("FIND newbie").startswith("-NO")
        time.sleep(2.5)
        # ...and from the server afterwards
        assert c.cmd("FIND carol").startswith("-NO")
        assert c.cmd("FIND newbie").startswith("+OK uid=newbie,")
        c.close()
        st = env.tool("directory", "stats")[1]
        assert "server %s up" % slapd.ldapi_uri in st
    finally:
        env.stop()


def test_cache_size_bounds_it(tmp_path, slapd):
    # 16 entries in all: after 400 other answers (misses are cached too)
    # carol's is no longer there, and her deletion shows at once
    env = ldap_env(tmp_path, slapd,
                   "uri = %s\nsasl_mech = EXTERNAL\ncache_size = 16\n"
                   "cache_ttl = 3600\ncache_negative_ttl = 3600\n" %
                   slapd.ldapi_uri, services={"DIR": "dirproto"})
    try:
        env.srv.start()
        c = Client(env.srv.port("DIR"))
        assert c.cmd("FIND carol").startswith("+OK uid=carol,")
        slapd.ldap("ldapdelete", "uid=carol,ou=People,o=example.com,o=cursus")
        assert c.cmd("FIND carol").startswith("+OK uid=carol,")  # cached
        c.sock.sendall(b"".join(b"FIND nosuch%04d\r\n" % i for i in range(400)))
        for _ in range(400):
            assert c.line().startswith("-NO")
        assert c.cmd("FIND carol").startswith("-NO")
        c.close()
    finally:
        env.stop()


def test_pool_shared_by_threads_across_a_failover(tmp_path):
    """Six threads share two connections (bench/dirbench, the lookups a
    channel job's threads make) while the first server is killed: every
    resolution succeeds, on the second server."""
    from cursus_harness import BUILDDIR, module_path
    one = loaded_slapd(tmp_path / "one")
    two = loaded_slapd(tmp_path / "two")
    try:
        env = ldap_env(tmp_path, one,
                       "uri = %s %s\nsasl_mech = EXTERNAL\ntimeout = 5\n"
                       "cache_size = 0\nconnections = 2\n" % (
                           one.ldapi_uri, two.ldapi_uri))
        addresses = tmp_path / "addresses"
        addresses.write_text("alice@example.com\nbob@example.com\n"
                             "a.liddell@example.com\nerin@example.net\n"
                             "staff@example.com\nwendy@example.net\n")
        bench = subprocess.Popen(
            [os.path.join(BUILDDIR, "bench", "dirbench"), "--config",
             env.srv.config, "--addresses", str(addresses), "--mode",
             "resolve", "--threads", "6", "--seconds", "3"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, CURSUS_MODULE_PATH=module_path()))
        time.sleep(1)
        one.kill()
        out, err = bench.communicate(timeout=60)
        fields = out.split()
        assert bench.returncode == 0 and fields[-1] == "0", out + err
        assert int(fields[2]) > 100, out
    finally:
        one.stop()
        two.stop()


def test_values_that_are_not_addresses(tmp_path, slapd):
    """slapd stores any IA5 string; an entry whose value is not an address
    holds its mail (4.3.5, logged with the DN) until the data is fixed,
    neither sending it to a broken address nor returning it."""
    slapd.add_text(
        "dn: uid=broken,ou=People,o=example.com,o=cursus\n"
        "objectClass: inetOrgPerson\nobjectClass: inetMailUser\n"
        "objectClass: inetLocalMailRecipient\nuid: broken\ncn: B\nsn: B\n"
        "mail: broken@example.com\nmailDeliveryOption: forward\n"
        "mailForwardingAddress: alice@example.com)(uid=*\n\n"
        "dn: cn=badlist,ou=Groups,o=example.com,o=cursus\n"
        "objectClass: groupOfURLs\nobjectClass: inetMailGroup\n"
        "objectClass: inetLocalMailRecipient\ncn: badlist\n"
        "mail: badlist@example.com\nmgrpRFC822MailMember: bob@example.com\n"
        "mgrpRFC822MailMember: not an address\n")
    env = ldap_env(tmp_path, slapd, "uri = %s\nsasl_mech = EXTERNAL\n" %
                   slapd.ldapi_uri)
    for address, attr in (("broken@example.com", "mailForwardingAddress"),
                          ("badlist@example.com", "mgrpRFC822MailMember")):
        rc, lines = env.resolve(address, "--recursive")
        assert rc == 75 and "4.3.5" in lines[0] and attr in lines[0] \
            and "is not an address" in lines[0], lines
