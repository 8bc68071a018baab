"""map_ldap against a real slapd: $]ldap:...[ in rewrite rules, LDAP
lists in the alias file, a mapping table served by LDAP, the answer cache
(a cached answer survives the server going away, an uncached lookup then
fails for now: 4xx, never a bounce) and reconnection."""
import pytest

from slapd import Slapd, person
from test_rewrite_server import Lookup

IMTA = """\
ldap.example            $U%$]ldap:///ou=people,dc=example?description?sub?(mail=$U@ldap.example)[@tcp-daemon
ldap.example            $5001001?No$ such$ user$ in$ the$ directory
localhost               $U@localhost
.                       $U%$H@tcp-daemon

l
localhost

tcp_local slave
tcp-daemon
"""

PEOPLE = (person("joe", "joe@ldap.example", "joehost.example") +
          person("ann", "ann@ldap.example", "annhost.example") +
          person("t1", "t1@team.example", "team") +
          person("t2", "t2@team.example", "team"))


def ldap_server(cursus, slapd, **kw):
    conf = ("[module map_ldap]\nserver = %s\ntimeout = 3\n"
            "cache_timeout = 600\ncache_negative = 0\n" % slapd.url)
    return cursus(imta=IMTA, conf_extra=conf, files={
        "aliases": "team: <ldap:///ou=people,dc=example?mail?sub?"
                   "(description=team)\n",
        "mappings": "UIDHOST ldap:///ou=people,dc=example?description?sub?"
                    "(uid=$0)\n\n"}, **kw)


@pytest.fixture
def slapd(tmp_path):
    with Slapd(tmp_path / "ldap", PEOPLE) as s:
        yield s


def test_rules_aliases_and_tables(cursus, slapd):
    srv = ldap_server(cursus, slapd)
    p = srv.cursus("config", "check")
    assert p.returncode == 0, p.stderr
    p = srv.cursus("test-rewrite", "-q", "--noexpand", "joe@ldap.example",
                   "nobody@ldap.example")
    assert "envelope To: address      = joe@joehost.example" in p.stdout
    assert "error                     = 5.1.1 No such user in the directory" \
        in p.stdout
    p = srv.cursus("test-rewrite", "joe@ldap.example")
    assert "$]ldap:///ou=people,dc=example?description?sub?" \
           "(mail=joe@ldap.example)[ -> joehost.example" in p.stdout
    p = srv.cursus("test-rewrite", "-q", "team@localhost")
    assert "tcp_local t1@team.example" in p.stdout
    assert "tcp_local t2@team.example" in p.stdout
    p = srv.cursus("test-mapping", "UIDHOST", "ann", "*", "nobody")
    assert "output                    = annhost.example" in p.stdout
    # the input is quoted for the filter: '*' finds nobody
    assert p.stdout.count("(no entry matched)") == 2


def test_cache_outage_and_reconnect(cursus, slapd):
    srv = ldap_server(cursus, slapd, services={
        "LOOKUP": {"PROTOCOL": "lookup", "CHANNEL": "tcp_local"}})
    srv.start()
    c = Lookup(srv.port("LOOKUP"))
    assert c.ask("RCPT joe@ldap.example") == \
        "+OK joe@joehost.example tcp_local | joe@joehost.example->tcp_local"
    slapd.stop()
    # cached: answered without the server
    assert c.ask("RCPT joe@ldap.example") == \
        "+OK joe@joehost.example tcp_local | joe@joehost.example->tcp_local"
    # not cached: a temporary failure, so the client retries later
    r = c.ask("RCPT ann@ldap.example")
    assert r.startswith("-ERR 451 4.4.3 "), r
    slapd.start()
    assert c.ask("RCPT ann@ldap.example") == \
        "+OK ann@annhost.example tcp_local | ann@annhost.example->tcp_local"
    assert c.ask("RCPT nobody@ldap.example") == \
        "-ERR 550 5.1.1 No such user in the directory"
    c.close()
