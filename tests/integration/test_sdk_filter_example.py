"""The SDK's example content filter (sdk/examples/filter_tag) built out of
the tree against the SDK headers only, loaded by the server like any
third-party module, and run on mail over SMTP."""
import os
import shutil
import smtplib
import subprocess

from cursus_harness import SRCDIR
from mta_harness import make_mta, shipped, wait_queued, queued


def build_example(tmp_path):
    src = os.path.join(SRCDIR, "sdk", "examples", "filter_tag")
    work = tmp_path / "filter_tag"
    shutil.copytree(src, work)
    os.chmod(work, 0o755)
    p = subprocess.run(
        ["make", "-C", str(work),
         "CURSUS_SDK_CFLAGS=-I%s" % os.path.join(SRCDIR, "sdk", "include"),
         "CFLAGS=-O2 -Wall -Wextra -Werror"],
        capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    syms = subprocess.run(["nm", "-D", "--defined-only",
                           str(work / "filter_tag.so")],
                          capture_output=True, text=True).stdout
    exported = [l.split()[-1] for l in syms.splitlines()
                if l.split()[1] in ("T", "D", "R", "B")]
    assert exported == ["cursus_module"], syms
    return str(work)


def test_example_filter(cursus, tmp_path):
    moddir = build_example(tmp_path)
    imta = shipped("imta.cnf").replace(
        "\ntcp_local smtp mx", "\ntcp_local smtp mx contentfilter tag")
    srv = make_mta(cursus, module_path_extra=[moddir],
                   imta=imta, conf_extra=(
                       "[contentfilter tag]\nmodule = filter_tag\n"
                       "header = X-Checked-By\nmax_size = 2K\n"
                       "refuse_header = X-Spam-Flag\n"))
    p = srv.cursus("modules")
    assert "filter_tag" in p.stdout and "Example Ltd" in p.stdout
    p = srv.cursus("modules", "-v")
    assert "filter settings ([contentfilter NAME] in cursus.conf)" in p.stdout
    assert "refuse_header" in p.stdout
    with smtplib.SMTP("127.0.0.1", srv.port("SMTP")) as s:
        s.ehlo("client.example.org")
        ok = b"Subject: fine\r\n\r\nsmall\r\n"
        assert s.sendmail("joe@example.org", ["alice@example.com"], ok) == {}
        f = wait_queued(srv, 1)[0]
        assert f.header("X-Checked-By") == \
            "tag (Cursus example filter) for %s" % f.id
        os.unlink(f.path)
        for data, code in ((b"Subject: big\r\n\r\n" + b"x" * 3000 + b"\r\n", 552),
                           (b"X-Spam-Flag: YES\r\n\r\nspam\r\n", 550)):
            try:
                s.sendmail("joe@example.org", ["alice@example.com"], data)
                assert False, "accepted"
            except smtplib.SMTPDataError as e:
                assert e.smtp_code == code
    assert queued(srv) == []
