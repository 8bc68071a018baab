"""The SDK as an outside vendor sees it: install the headers and
cursus-sdk.pc into a temporary prefix, build the example channel with
nothing but cc and pkg-config, and have the server load it."""
import os
import shutil
import subprocess

import pytest

import cursus_harness
from cursus_harness import BUILDDIR, SRCDIR, module_path, run_cursus


@pytest.fixture(scope="module")
def sdk(tmp_path_factory):
    dest = tmp_path_factory.mktemp("sdk-dest")
    p = subprocess.run(["make", "-C", BUILDDIR, "install-cursusincludeHEADERS",
                        "install-pkgconfigDATA", "DESTDIR=%s" % dest],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    pcs = [os.path.join(r, f) for r, _, fs in os.walk(dest) for f in fs
           if f == "cursus-sdk.pc"]
    assert len(pcs) == 1
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
               PKG_CONFIG_SYSROOT_DIR=str(dest))
    return dest, env


def test_pkg_config_gives_only_the_installed_headers(sdk):
    dest, env = sdk
    cflags = subprocess.run(["pkg-config", "--cflags", "cursus-sdk"], env=env,
                            capture_output=True, text=True, check=True).stdout
    assert str(dest) in cflags
    assert "-fvisibility=hidden" in cflags
    incs = [f[2:] for f in cflags.split() if f.startswith("-I")]
    assert len(incs) == 1
    inc = incs[0]
    assert inc.startswith(str(dest))
    assert os.path.realpath(inc) != os.path.realpath(os.path.join(SRCDIR, "sdk", "include"))
    assert os.path.isfile(os.path.join(inc, "cursus", "cursus.h"))


def build_example(sdk, tmp_path):
    dest, env = sdk
    work = tmp_path / "vendor"
    shutil.copytree(os.path.join(SRCDIR, "sdk", "examples", "channel_drop"), work)
    p = subprocess.run(["make", "-C", str(work), "CC=cc"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    # built from the installed headers, not the source tree
    assert "-I%s" % os.path.join(SRCDIR, "sdk") not in p.stdout
    so = work / "channel_drop.so"
    assert so.exists()
    os.chmod(work, 0o755)
    return work


def test_example_builds_out_of_tree_and_is_listed(sdk, tmp_path):
    work = build_example(sdk, tmp_path)
    syms = subprocess.run(["nm", "-D", "--defined-only", str(work / "channel_drop.so")],
                          capture_output=True, text=True, check=True).stdout
    exported = [l.split()[-1] for l in syms.splitlines() if l.split()[1] in "DdRrTtBb"]
    assert exported == ["cursus_module"], exported
    conf = tmp_path / "conf"
    conf.mkdir()
    p = run_cursus(str(conf), "modules", "-v",
                   env={"CURSUS_MODULE_PATH": str(work)})
    assert p.returncode == 0
    line = [l for l in p.stdout.splitlines() if l.startswith("channel_drop")][0]
    assert line.split()[:4] == ["channel_drop", "1.0.0", cursus_harness.abi_version(), "channel"]
    assert "MIT" in line and "Example Mail Integrations" in line
    assert "dropdir <path>" in p.stdout
    assert "Refused" not in p.stdout


def test_config_check_validates_the_example_keywords(sdk, tmp_path, cursus):
    work = build_example(sdk, tmp_path)
    srv = cursus(services={}, module_path_extra=(str(work),),
                 imta="\nl\nlocalhost\n\ndrop dropdir %s/spool\ndrop-daemon\n" % tmp_path)
    p = srv.cursus("config", "check")
    assert p.returncode == 0, p.stderr
    srv.write("imta.cnf", "\nl\nlocalhost\n\ndrop dropdir\ndrop-daemon\n")
    p = srv.cursus("config", "check")
    assert p.returncode == 1
    assert "imta.cnf:5: channel drop: keyword 'dropdir' needs 1 value (path)" in p.stderr


def test_example_channel_delivers_mail(sdk, tmp_path, cursus):
    """The vendor's channel runs under the job controller: mail for a
    domain routed to it by a rewrite rule lands in its drop directory."""
    import smtplib
    import time
    from mta_harness import make_mta, shipped
    work = build_example(sdk, tmp_path)
    spool = tmp_path / "spool"
    rules, channels = shipped("imta.cnf").split("\n\n", 1)
    imta = ("drop.example            $U%drop.example@drop-daemon\n" + rules +
            "\n\n" + channels.rstrip("\n") +
            "\n\ndrop dropdir %s\ndrop-daemon\n" % spool)
    mta = make_mta(cursus, tls=False, imta=imta, deliver=True,
                   services={"SMTP": {"PROTOCOL": "smtp", "CHANNEL": "tcp_local"}},
                   module_path_extra=(str(work),))
    with smtplib.SMTP("127.0.0.1", mta.port("SMTP"), timeout=20) as s:
        s.sendmail("vendor@example.org", ["ops@drop.example", "audit@drop.example"],
                   b"Subject: dropped\r\n\r\nfor the other system\r\n")
    want = [spool / "ops@drop.example", spool / "audit@drop.example"]
    deadline = time.time() + 30
    while time.time() < deadline and not all(
            d.is_dir() and any(f.suffix == ".eml" for f in d.iterdir()) for d in want):
        time.sleep(0.1)
    for d in want:
        files = [f for f in d.iterdir() if f.suffix == ".eml"]
        assert len(files) == 1, (d, list(d.iterdir()) if d.is_dir() else None)
        assert b"for the other system" in files[0].read_bytes()
