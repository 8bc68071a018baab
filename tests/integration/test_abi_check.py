"""The ABI baseline check (sdk/abi/check.sh): a member moved inside a table
is caught as incompatible, a member appended at the end is accepted, the
unchanged headers match their own record, and the headers of the tree are
compatible with the baseline stored when the ABI was frozen at 1.0."""
import os
import shutil
import subprocess

import pytest

from cursus_harness import SRCDIR

CHECK = os.path.join(SRCDIR, "sdk", "abi", "check.sh")
HEADERS = os.path.join(SRCDIR, "sdk", "include")

pytestmark = pytest.mark.skipif(shutil.which("abidw") is None,
                                reason="abigail-tools not installed")


def run(*args):
    return subprocess.run([CHECK] + list(args), capture_output=True, text=True)


@pytest.fixture
def baseline(tmp_path):
    out = tmp_path / "base.abi"
    p = run(HEADERS, "--dump", str(out))
    assert p.returncode == 0, p.stderr
    return out


def edited_headers(tmp_path, file, old, new):
    dst = tmp_path / "inc"
    shutil.copytree(HEADERS, dst)
    path = dst / "cursus" / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return dst


def test_unchanged_headers_match(baseline):
    p = run(HEADERS, "--baseline", str(baseline))
    assert p.returncode == 0
    assert "module ABI: compatible with" in p.stdout


def test_reordered_members_are_incompatible(baseline, tmp_path):
    inc = edited_headers(
        tmp_path, "channel.h",
        "  const char *address;  /* active envelope address, after rewriting       */\n"
        "  const char *original; /* as the sender gave it (before rewriting)       */\n",
        "  const char *original;\n  const char *address;\n")
    p = run(str(inc), "--baseline", str(baseline))
    assert p.returncode == 1
    assert "INCOMPATIBLE" in p.stdout


def test_appended_member_is_compatible(baseline, tmp_path):
    inc = edited_headers(
        tmp_path, "channel.h",
        "\n} cursus_queue_ops;",
        "\n  int (*later)(void);\n} cursus_queue_ops;")
    p = run(str(inc), "--baseline", str(baseline))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "compatible additions" in p.stdout


def test_frozen_abi_needs_its_baseline():
    p = run(HEADERS, "--baseline", "/nonexistent/baseline.abi")
    assert p.returncode == 1
    assert "has no baseline" in p.stderr


def test_headers_are_compatible_with_the_stored_baseline():
    p = run(HEADERS)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "module ABI: compatible with" in p.stdout
