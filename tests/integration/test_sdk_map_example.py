"""The SDK's example mapping source (sdk/examples/map_csv) built out of
the tree against the SDK headers only, loaded by the server like any
third-party module, and used by rewrite rules as a database, a mapping
table source and a function."""
import os
import shutil
import subprocess

from cursus_harness import SRCDIR

IMTA = """\
example.com             $(people,$U)
lower.example           $[map_csv,lower,$U]%lower.example@tcp-daemon
dom.example             $U%$[map_csv,domain,$U@Sub.Dom.example]@tcp-daemon
.                       $U%$H@tcp-daemon

l
localhost

tcp_local slave
tcp-daemon

tcp_intranet slave
tcp_intranet-daemon
"""


def build_example(tmp_path):
    src = os.path.join(SRCDIR, "sdk", "examples", "map_csv")
    work = tmp_path / "map_csv"
    shutil.copytree(src, work)
    os.chmod(work, 0o755)
    p = subprocess.run(
        ["make", "-C", str(work),
         "CURSUS_SDK_CFLAGS=-I%s" % os.path.join(SRCDIR, "sdk", "include"),
         "CFLAGS=-O2 -Wall -Wextra -Werror"],
        capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    so = work / "map_csv.so"
    syms = subprocess.run(["nm", "-D", "--defined-only", str(so)],
                          capture_output=True, text=True).stdout
    exported = [l.split()[-1] for l in syms.splitlines()
                if l.split()[1] in ("T", "D", "R", "B")]
    assert exported == ["cursus_module"], syms
    return str(work)


def test_example_module(cursus, tmp_path):
    moddir = build_example(tmp_path)
    srv = cursus(imta=IMTA, module_path_extra=[moddir],
                 conf_extra="[databases]\npeople = csv:people.csv\n",
                 files={"people.csv": "# people\n"
                        "joe,$U%joe.example.com@tcp_intranet-daemon\n"
                        "ann,$U%a,b@tcp-daemon\n",
                        "mappings": "PEOPLE csv:people.csv\n\n"})
    p = srv.cursus("modules")
    assert "map_csv" in p.stdout and "Example Ltd" in p.stdout
    p = srv.cursus("config", "check")
    assert p.returncode == 0, p.stderr
    assert "map_csv is installed but not used" not in p.stdout
    p = srv.cursus("test-rewrite", "-q", "--noexpand", "joe@example.com",
                   "Mixed.Case@lower.example", "x@dom.example",
                   "nobody@example.com")
    out = p.stdout
    assert "envelope To: address      = joe@joe.example.com" in out
    assert "channel                   = tcp_intranet" in out
    assert "envelope To: address      = mixed.case@lower.example" in out
    assert "envelope To: address      = x@sub.dom.example" in out
    # no row: the $(...) rule fails and the '.' rule takes the address
    assert "envelope To: address      = nobody@example.com" in out
    # as a mapping table the values are mapping templates: $U is a flag
    p = srv.cursus("test-mapping", "PEOPLE", "JOE")
    assert "output                    = %joe.example.com@tcp_intranet-daemon" \
        in p.stdout
    assert "flags                     = $U" in p.stdout
