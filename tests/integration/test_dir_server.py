"""The directory and authentication services inside a running server: a
worker serving the test_dirproto protocol module (tests/modules) asks
host->auth and host->directory, with the test_auth SASL module loaded.
Both backends; then the embedded directory's reload on refresh."""
import base64
import hashlib
import hmac
import os
import time

import pytest

from dir_env import DirEnv
from ldap_harness import have_slapd
from test_dir_ldap import Client

BACKENDS = ["ldif", pytest.param("ldap", marks=pytest.mark.skipif(
    not have_slapd(), reason="slapd is not installed"))]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    e = DirEnv(tmp_path_factory.mktemp("srv-" + request.param), request.param,
               services={"DIR": "dirproto"},
               directory_extra="[auth]\nfailures_free = 2\n"
                               "failure_delay_ms = 100\n")
    e.start()
    e.srv.start()
    yield e
    e.stop()


@pytest.fixture
def client(server):
    c = Client(server.srv.port("DIR"))
    yield c
    c.close()


def b64(data):
    return base64.b64encode(data).decode()


def test_password_logins(client):
    assert client.cmd("LOGIN alice alice-password") == "+OK alice"
    assert client.cmd("LOGIN erin@example.net erin-password") == "+OK erin@example.net"
    assert client.cmd("LOGIN alice wrong").startswith("-NO wrong password")
    assert client.cmd("LOGIN ghost x").startswith("-NO")


def test_failed_logins_slow_down(tmp_path):
    env = DirEnv(tmp_path, "ldif", services={"DIR": "dirproto"},
                 directory_extra="[auth]\nfailures_free = 2\n"
                                 "failure_delay_ms = 100\n"
                                 "failure_delay_max = 1\n")
    env.start()
    try:
        env.srv.start()
        c = Client(env.srv.port("DIR"))
        delays = []
        for _ in range(7):
            reply = c.cmd("LOGIN throttled@example.com nope")
            delays.append(int(reply.rsplit("delay=", 1)[1]))
        # two free failures, then 100 ms doubling up to the maximum
        assert delays == [0, 0, 100, 200, 400, 800, 1000]
        # the address is throttled too, whatever login it tries
        reply = c.cmd("LOGIN other@example.com nope")
        assert int(reply.rsplit("delay=", 1)[1]) == 1000
        c.close()
    finally:
        env.stop()


def test_sasl_dispatch(client):
    mechs = client.cmd("MECHS").split()[1:]
    assert "X-TEST-PLAIN" in mechs and "X-TEST-ECHO" in mechs
    assert "X-TEST-TLS" not in mechs          # offered only over TLS
    assert client.cmd("AUTH X-TEST-PLAIN " + b64(b"bob\0bob-password")) == "+OK bob"
    assert client.cmd("AUTH X-TEST-PLAIN " + b64(b"bob\0nope")).startswith("-NO")
    assert client.cmd("AUTH X-TEST-ECHO") == "+ " + b64(b"hello")
    assert client.cmd(b64(b"carol")) == "+OK carol"
    assert client.cmd("AUTH X-TEST-TLS " + b64(b"bob\0bob-password")).startswith(
        "-BAD unrecognized")
    assert client.cmd("AUTH NONESUCH").startswith("-BAD unrecognized")


def test_directory_access(client):
    assert client.cmd("FIND a.liddell@example.org") == (
        "+OK uid=alice,ou=People,o=example.com,o=cursus alice")
    assert client.cmd("FIND erin@example.net") == (
        "+OK uid=erin,ou=People,o=example.net,o=cursus erin@example.net")
    assert client.cmd("FIND nobody@example.com").startswith("-NO")
    assert client.cmd("DOMAIN example.org").startswith("+OK o=example.com,o=cursus")


def test_scram_secret_is_right(client):
    reply = client.cmd("SCRAM alice")
    assert reply.startswith("+OK alice ")
    iterations, salt, stored, server_key = reply.split()[2].split(":")
    salted = hashlib.pbkdf2_hmac("sha256", b"alice-password",
                                 base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    assert base64.b64decode(stored) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_key) == hmac.new(
        salted, b"Server Key", "sha256").digest()
    # users without SCRAM secrets (hashes written by hand) have none
    assert client.cmd("SCRAM wendy").startswith("-NO")


def test_autoreply_decided_in_the_server(server, client, tmp_path):
    msg = tmp_path / "msg"
    msg.write_bytes(b"From: Friend <friend@else.example>\r\n"
                    b"To: Carol <carol@example.com>\r\nSubject: Hi\r\n"
                    b"Message-ID: <1@else.example>\r\n\r\nHello\r\n")
    bulk = tmp_path / "bulk"
    bulk.write_bytes(msg.read_bytes().replace(b"Subject:", b"Precedence: bulk\r\nSubject:"))
    assert client.cmd("AUTOREPLY carol@example.com - %s" % msg) == "-NO null sender"
    assert client.cmd("AUTOREPLY carol@example.com friend@else.example %s" % bulk) == (
        "-NO the message is bulk mail")
    assert client.cmd("AUTOREPLY bob@example.com friend@else.example %s" % msg) == (
        "-NO the user has no autoreply option")
    # a reply is due: enqueued to the sender, with the null sender
    assert client.cmd("AUTOREPLY carol@example.com friend@else.example %s" % msg) == (
        "+OK replied")
    replies = queued(server, b"Auto-Submitted: auto-replied")
    assert len(replies) == 1
    assert b"To: friend@else.example" in replies[0]
    assert b"Subject: Away: Hi" in replies[0]
    assert b"In-Reply-To: <1@else.example>" in replies[0]
    # once per sender per interval (remembered on disk)
    assert client.cmd("AUTOREPLY carol@example.com friend@else.example %s" % msg) == (
        "-NO the sender had a reply within the interval")
    assert len(queued(server, b"Auto-Submitted: auto-replied")) == 1
    assert os.path.exists(os.path.join(server.srv.state, "autoreply.tch"))


def queued(server, marker):
    """The contents of queue files holding MARKER."""
    found = []
    for root, _, files in os.walk(os.path.join(server.srv.state, "queue")):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            if marker in data:
                found.append(data)
    return found


# ------------------------------------------------- embedded: reload on refresh

NEW_USER = """
dn: uid=newbie,ou=People,o=example.com,o=cursus
objectClass: top
objectClass: inetOrgPerson
objectClass: inetMailUser
uid: newbie
cn: Newbie
sn: Newbie
mail: newbie@example.com
"""


def test_ldif_reload_keeps_old_data_on_errors(tmp_path):
    env = DirEnv(tmp_path, "ldif", services={"DIR": "dirproto"},
                 ldap_extra="")
    env.module_conf = lambda: ("[module dir_ldif]\nfile = directory.ldif\n"
                               "check_interval = 0\n")
    env.start()
    try:
        env.srv.start()
        c = Client(env.srv.port("DIR"))
        assert c.cmd("FIND newbie").startswith("-NO")
        with open(env.ldif_path, "a") as f:
            f.write(NEW_USER)
        assert c.cmd("FIND newbie").startswith("-NO")   # not before refresh
        assert env.srv.cursus("refresh").returncode == 0
        def found():
            # a session opened while the refresh retires the old worker
            # may be closed by it: try again on a new one
            try:
                return Client(env.srv.port("DIR")).cmd("FIND newbie").startswith("+OK")
            except OSError:
                return False
        assert env.srv.wait_until(found)
        c.close()
        # a broken file: refused with its line, the old data stays
        with open(env.ldif_path, "a") as f:
            f.write("\ndn: uid=broken,ou=People,o=example.com,o=cursus\n"
                    "this line has no colon\n")
        bad_line = open(env.ldif_path).read().splitlines().index(
            "this line has no colon") + 1
        assert env.srv.cursus("refresh").returncode == 0
        assert env.srv.wait_for_log("directory.ldif:%d: expected" % bad_line)
        assert "still using the data read before" in env.srv.log()
        c = Client(env.srv.port("DIR"))
        assert c.cmd("FIND newbie").startswith("+OK")
        assert c.cmd("LOGIN alice alice-password") == "+OK alice"
        c.close()
    finally:
        env.stop()


def test_ldif_changes_seen_without_refresh(tmp_path):
    env = DirEnv(tmp_path, "ldif", services={"DIR": "dirproto"})
    env.module_conf = lambda: ("[module dir_ldif]\nfile = directory.ldif\n"
                               "check_interval = 1\n")
    env.start()
    try:
        env.srv.start()
        c = Client(env.srv.port("DIR"))
        assert c.cmd("FIND newbie").startswith("-NO")
        # provisioning rewrites the file; the worker notices within a second
        rc, out, err = env.tool("user", "add", "newbie@example.com")
        assert rc == 0, err
        deadline = time.time() + 10
        while not c.cmd("FIND newbie").startswith("+OK"):
            assert time.time() < deadline
            time.sleep(0.2)
        c.close()
    finally:
        env.stop()
