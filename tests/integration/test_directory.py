"""Address resolution, groups, statuses and logins: the same behaviour
with the embedded LDIF directory and with a real slapd (dir_ldap).

Every test runs twice, once per backend, against the same entries
(config/directory.ldif + data/dirtest.ldif)."""
import pytest

from dir_env import DirEnv
from ldap_harness import have_slapd

BACKENDS = ["ldif", pytest.param("ldap", marks=pytest.mark.skipif(
    not have_slapd(), reason="slapd is not installed"))]


@pytest.fixture(scope="module", params=BACKENDS)
def env(request, tmp_path_factory):
    e = DirEnv(tmp_path_factory.mktemp("dir-" + request.param), request.param)
    e.start()
    yield e
    e.stop()


# ---------------------------------------------------------------- users

@pytest.mark.parametrize("address,expected", [
    ("alice@example.com", ["alice@ims-ms-daemon"]),
    ("ALICE@Example.COM", ["alice@ims-ms-daemon"]),
    ("a.liddell@example.com", ["alice@ims-ms-daemon"]),       # alternate
    ("postmaster@example.com", ["alice@ims-ms-daemon"]),
    ("alice@example.org", ["alice@ims-ms-daemon"]),           # alias domain
    ("alice+Work@example.com", ["alice+Work@ims-ms-daemon"]), # subaddress
    ("alice@localhost", ["alice@ims-ms-daemon"]),              # this host
    ("alice@mail.test.example", ["alice@ims-ms-daemon"]),
    ("erin@example.net", ["erin%example.net@ims-ms-daemon"]),  # other domain
    ("bob@example.com", ["bob@elsewhere.example", "bob@ims-ms-daemon"]),
    ("ken@example.com", ["ken@routed.example"]),               # routing
    ("frank@example.com", ["@hold-daemon:frank@example.com"]), # on hold
    ("ivan@example.com", ["@mail2.example.com:ivan@example.com"]),
    ("judy@example.com", ["judy@elsewhere.example"]),          # forward only
    ("rita@remote.example", ["@store9.remote.example:rita@remote.example"]),
    ("anyone@held.example", ["@hold-daemon:anyone@held.example"]),
    ("hello@niaj.example", ["niaj@ims-ms-daemon"]),            # vanity
    ("stranger@example.net", ["wendy%example.net@ims-ms-daemon"]),
    ("stranger@catchall.example", ["alice@ims-ms-daemon"]),
    ("stranger@smart.example",
     ["@relay.smart.example:stranger@smart.example"]),
    ("u.m.a@example.com", ["uma@ims-ms-daemon"]),             # equivalent
    ("pat@based.example", ["pat%based.example@ims-ms-daemon"]),  # base DN
])
def test_user_addresses(env, address, expected):
    assert env.addresses(address) == sorted(expected)


@pytest.mark.parametrize("address,code", [
    ("nobody@example.com", "5.1.1"),
    ("dave@example.com", "4.2.1"),       # inactive
    ("eve@example.com", "5.1.1"),        # deleted
    ("grace@example.com", "4.2.2"),      # over quota
    ("henry@example.com", "5.2.1"),      # disabled account
    ("leo@example.com", "5.7.1"),        # program delivery not allowed
    ("x@inactive.example", "4.2.1"),
    ("x@deleted.example", "5.1.2"),
    ("sleeping@example.com", "4.2.1"),   # inactive group
    ("erin@example.com", "5.1.1"),       # erin is example.net's
    ("erin@example.org", "5.1.1"),       # nor found through an alias
])
def test_refusals(env, address, code):
    rc, got = env.refusal(address)
    assert got == code
    assert rc == (75 if code.startswith("4") else 1)


def test_not_hosted(env):
    rc, lines = env.resolve("someone@not-hosted.example")
    assert rc == 3 and "not a hosted address" in lines[0]


def test_autoreply_copy_only_for_real_senders(env):
    assert env.addresses("carol@example.com", "--sender", "x@else.example") == [
        "@autoreply-daemon:carol@example.com", "carol@ims-ms-daemon"]
    # the null sender (bounces) never gets an autoreply
    assert env.addresses("carol@example.com") == ["carol@ims-ms-daemon"]
    # outside the vacation dates: no autoreply
    assert env.addresses("peggy@example.com", "--sender", "x@else.example") == [
        "peggy@ims-ms-daemon"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_program_delivery_where_allowed(tmp_path, backend):
    # leo@example.com is refused 5.7.1 by default (test_refusals)
    e = DirEnv(tmp_path, backend, directory_extra="allow_program = yes\n")
    e.start()
    try:
        assert e.addresses("leo@example.com") == ["leo%procmail@pipe-daemon"]
    finally:
        e.stop()


# --------------------------------------------------------------- groups

def test_static_and_dn_members(env):
    rc, lines = env.resolve("staff@example.com")
    assert rc == 0 and "errors-to postmaster@example.com" in lines[0]
    assert env.addresses("staff@example.org") == sorted([
        "alice@ims-ms-daemon", "bob@ims-ms-daemon", "bob@elsewhere.example",
        "carol@ims-ms-daemon"])


def test_dynamic_members(env):
    assert env.addresses("all@example.com") == sorted([
        "alice@ims-ms-daemon", "bob@ims-ms-daemon", "bob@elsewhere.example",
        "wendy@ims-ms-daemon"])


def test_nested_group_expanded_once(env):
    rc, lines = env.resolve("nested@example.com")
    assert rc == 0
    members = sorted(l.strip() for l in lines[1:])
    assert members == sorted(["alice@example.com", "bob@example.com",
                              "carol@example.com", "erin@example.net",
                              "outsider@elsewhere.example"])


def test_group_loop_detected(env):
    rc, lines = env.resolve("loop-a@example.com")
    assert rc == 0
    assert sorted(l.strip() for l in lines[1:]) == ["alice@example.com",
                                                    "bob@example.com"]


@pytest.mark.parametrize("sender,ok", [
    ("alice@example.com", True),         # mailto: broadcaster
    ("carol@example.com", True),         # member of the ldap: URL group
    ("someone@example.net", True),       # allowed domain
    ("someone@sub.example.net", True),   # below the allowed domain
    ("mallory@elsewhere.example", False),
    ("", False),                         # the null sender
])
def test_allowed_broadcasters(env, sender, ok):
    rc, lines = env.resolve("announce@example.com", "--sender", sender)
    if ok:
        assert rc == 0, lines
    else:
        assert rc == 1 and "5.7.1 announcements come from alice only" in lines[0]


@pytest.mark.parametrize("sender,ok", [
    ("someone@else.example", True),
    ("mallory@elsewhere.example", False),   # mailto: denied
    ("carol@example.com", False),           # member of a denied group
])
def test_disallowed_broadcasters_and_deliver_to(env, sender, ok):
    if ok:
        assert env.addresses("closed@example.com", "--sender", sender) == [
            "uma@ims-ms-daemon"]
    else:
        assert env.refusal("closed@example.com", "--sender", sender) == (
            1, "5.7.1")


def test_moderated_group(env):
    assert env.addresses("moderated@example.com", "--sender",
                         "alice@example.com") == [
        "@autoreply-daemon:carol@example.com", "carol@ims-ms-daemon"]
    rc, lines = env.resolve("moderated@example.com", "--sender",
                            "mallory@elsewhere.example")
    assert rc == 0 and "moderators" in lines[0]
    assert [l.strip() for l in lines[1:]] == ["bob@example.com"]


def test_auth_required_group(env):
    assert env.refusal("authonly@example.com", "--sender", "a@b.example")[1] == "5.7.1"
    rc, _ = env.resolve("authonly@example.com", "--sender", "a@b.example",
                        "--auth-user", "alice")
    assert rc == 0


def test_disallowed_domain(env):
    assert env.refusal("nospam@example.com", "--sender", "x@spam.example")[1] == "5.7.1"
    assert env.resolve("nospam@example.com", "--sender", "x@ok.example")[0] == 0


def test_group_size_limit(env):
    assert env.refusal("small@example.com", "--size", "5000")[1] == "5.3.4"
    assert env.resolve("small@example.com", "--size", "500")[0] == 0


def test_members_offline_deferred_to_reprocess(env):
    rc, lines = env.resolve("offline@example.com")
    assert rc == 0 and lines[1].strip() == "@reprocess-daemon:offline@example.com"
    rc, lines = env.resolve("offline@example.com", "--source-channel", "reprocess")
    assert rc == 0 and lines[1].strip() == "bob@example.com"


# ------------------------------------------------------ hostile addresses

@pytest.mark.parametrize("address", [
    "*@example.com",                       # a filter wildcard
    "alice*@example.com",
    '"alice)(mail=*"@example.com',         # quoted: valid, but must not match
    '"*)(|(uid=*"@example.com',
    '"\\\\2a"@example.com',
])
def test_filter_injection(env, address):
    rc, code = env.refusal(address)
    assert (rc, code) == (1, "5.1.1")


@pytest.mark.parametrize("login", ["*", "ali*", "alice)(uid=*", "*)(|(uid=*"])
def test_login_injection(env, login):
    rc, out = env.verify(login, "alice-password")
    assert rc == 1 and out.startswith("refused")


# --------------------------------------------------------------- logins

@pytest.mark.parametrize("login,password,user", [
    ("alice", "alice-password", "alice"),
    ("alice@example.com", "alice-password", "alice"),
    ("alice@example.org", "alice-password", "alice"),   # alias domain
    ("ALICE@EXAMPLE.COM", "alice-password", "alice"),
    ("erin@example.net", "erin-password", "erin@example.net"),
    ("wendy", "test-password", "wendy"),                # default domain's
    ("sam", "ssha-password", "sam"),                     # {SSHA512}
    ("arnold", "argon-password", "arnold"),              # {ARGON2}
])
def test_login_ok(env, login, password, user):
    assert env.verify(login, password) == (0, "OK " + user)


@pytest.mark.parametrize("login,password", [
    ("alice", "wrong"),
    ("alice", ""),
    ("nobody", "x"),
    ("dave", "test-password"),      # inactive
    ("henry", "anything"),
    ("alice@not-hosted.example", "alice-password"),
    ("alice@example.net", "alice-password"),        # another domain's
    ("erin", "erin-password"),                      # not the default's
])
def test_login_refused(env, login, password):
    rc, out = env.verify(login, password)
    assert rc in (1, 2) and not out.startswith("OK")


def test_service_access(env):
    assert env.verify("victor", "test-password", "--service", "imap",
                      "--ip", "127.0.0.1") == (0, "OK victor")
    assert env.verify("victor", "test-password", "--service", "imap",
                      "--ip", "192.0.2.7")[0] == 1
    assert env.verify("victor", "test-password", "--service", "pop3",
                      "--ip", "127.0.0.1")[0] == 1
