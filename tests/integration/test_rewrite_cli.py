"""The table of rewriting cases (tests/data/rewrite/cases) through
`cursus test-rewrite`, the command admins use: the same decisions the unit
tests check through resolve.c, here from the command line's output.

Cases marked `unit` need the unit tests' directory stand-in and are not run
here; cases marked `cli` are run only here.
"""
import collections
import os

import pytest

from cursus_harness import SRCDIR, run_cursus

DATA = os.path.join(SRCDIR, "tests", "data", "rewrite")

Case = collections.namedtuple("Case", "line ctx address expect")


def read_cases():
    cases = []
    with open(os.path.join(DATA, "cases"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            ctx, address, expect = [x.strip() for x in line.split(" | ", 2)]
            words = ctx.split()
            if "unit" in words:
                continue
            cases.append(Case(n, words, address, expect))
    return cases


CASES = read_cases()


def options(ctx):
    opts = []
    for w in ctx:
        if w.startswith("src="):
            opts += ["--source-channel", w[4:]]
        elif w.startswith("dst="):
            opts += ["--destination-channel", w[4:]]
        elif w.startswith("tag="):
            opts += ["--tag", w[4:]]
        elif w == "reprocess":
            opts.append("--reprocess")
        elif w == "nomap":
            opts.append("--nomapping")
    if "expand" not in ctx:
        opts.append("--noexpand")
    return opts


def blocks(output):
    """One dict per address: key = value lines, plus the submitted list."""
    out = []
    cur = None
    in_list = False
    for line in output.splitlines():
        if line.startswith("envelope From: address"):
            cur = {"routes": []}
            out.append(cur)
            in_list = False
        if cur is None:
            continue
        if line.startswith("Submitted address list:"):
            in_list = True
            continue
        if in_list and line.startswith("  ") and not line.startswith("  skipped"):
            if line.strip().startswith("("):
                continue
            channel, address = line.split()[:2]
            cur["routes"].append("%s->%s" % (address, channel))
            continue
        if " = " in line and not line.startswith(" "):
            key, value = line.split("= ", 1)
            cur[key.strip()] = value.strip()
            in_list = False
    return out


def outcome(case, b):
    """The case's outcome in the notation of the cases file."""
    ctx = case.ctx
    if "hdr" in ctx:
        v = b["header From: address" if "from" in ctx else "header To: address"]
        if " (kept: " in v:
            return "! " + v.split(" (kept: ", 1)[1].rstrip(")")
        return v
    if "from" in ctx:
        if "envelope From: error" in b:
            return "! " + b["envelope From: error"]
        return b["envelope From: address"]
    if "error" in b:
        return "! " + b["error"]
    if "expand" in ctx or "noexpand" in ctx:
        return " ".join(b["routes"]) or "(none)"
    return "%s %s %s" % (b["envelope To: address"], b["routing host"],
                         b["channel"])


def matches(expect, got):
    if expect.startswith("!"):
        if not got.startswith("!"):
            return False
        want = expect[2:].split(" ", 1)
        err = got[2:]
        return err.startswith(want[0]) and (len(want) == 1 or want[1] in err)
    e, g = expect.split(" "), got.split(" ")
    return len(e) == len(g) and all(a == "*" or a == b for a, b in zip(e, g))


def groups():
    """Cases that can share one run of test-rewrite."""
    g = collections.OrderedDict()
    for c in CASES:
        key = tuple(options(c.ctx)) + (("from",) if "from" in c.ctx and
                                       "hdr" not in c.ctx else ())
        if "from" in c.ctx and "hdr" not in c.ctx:
            key += (c.address,)
        g.setdefault(key, []).append(c)
    return list(g.items())


def test_enough_cases():
    assert len(CASES) >= 150


@pytest.mark.parametrize("key,cases", groups(),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_cases(key, cases):
    args = ["test-rewrite", "-q"] + options(cases[0].ctx)
    sender_case = "from" in cases[0].ctx and "hdr" not in cases[0].ctx
    if sender_case:
        args += ["--from", cases[0].address, "x@example.org"]
    else:
        args += [c.address for c in cases]
    p = run_cursus(DATA, *args)
    assert "error(s) in the configuration" not in p.stderr, p.stderr
    bs = blocks(p.stdout)
    assert len(bs) == (1 if sender_case else len(cases)), p.stdout + p.stderr
    failures = []
    for i, c in enumerate(cases):
        got = outcome(c, bs[0 if sender_case else i])
        if not matches(c.expect, got):
            failures.append("cases:%d: %s\n  want: %s\n  got:  %s" % (
                c.line, c.address, c.expect, got))
    assert not failures, "\n".join(failures)


def test_trace_shows_rules_and_mappings():
    p = run_cursus(DATA, "test-rewrite", "joe@a.map.example",
                   "postmaster@localhost")
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "try .map.example (%s/imta.cnf:" % DATA in out
    assert 'DOMAINMAP "a": entry' in out
    assert "-> joe@mapped-a.example via hub-daemon: channel hub" in out
    assert "channel official host     = hub-daemon" in out
    assert "expanded by aliases, alias postmaster (%s/aliases:2)" % DATA in out
    assert "  ims-ms joe@siroe.com (routing host ims-ms-daemon, expanded from " \
           "postmaster@localhost)" in out


def test_exit_status_and_stdin():
    p = run_cursus(DATA, "test-rewrite", "-q", "nosuch@localhost")
    assert p.returncode == 1
    assert "error                     = 5.1.1 nosuch@localhost: no such user" \
        in p.stdout
    p = run_cursus(DATA, "test-rewrite", "-q", input="joe@siroe.com\n\n"
                   "joe@example.org\n")
    assert p.returncode == 0
    assert p.stdout.count("status                    = OK") == 2
    p = run_cursus(DATA, "test-rewrite", "--bogus", "x@y")
    assert p.returncode == 2


def test_mapping_command():
    p = run_cursus(DATA, "test-mapping", "ORIG_SEND_ACCESS",
                   "tcp_local|a@b|tcp_local|c@d", "l|a@b|tcp_local|c@d")
    assert p.returncode == 0, p.stderr
    assert "verdict                   = REJECT 550 5.7.1 Relaying not " \
           "allowed" in p.stdout
    assert "delay                     = 300 ms" in p.stdout
    assert "output                    = (no entry matched)" in p.stdout
    assert "verdict                   = ALLOW" in p.stdout
    p = run_cursus(DATA, "test-mapping", "--flags", "T", "MAIL_ACCESS",
                   "TCP|1|25|2|3|ESMTP/x|MAIL|tcp_local|a@b|l|tls-only@x")
    assert "verdict                   = ALLOW" in p.stdout
    p = run_cursus(DATA, "test-mapping", "NOSUCH", "x")
    assert p.returncode == 1
    assert "no mapping table NOSUCH" in p.stderr


def test_default_configuration(tmp_path):
    """The shipped configuration (config/) routes hosted users through the
    directory to the store, the postmaster alias, the rest to the
    Internet, and refuses relaying."""
    import shutil
    from cursus_harness import BUILDDIR
    cfg = tmp_path / "config"
    cfg.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(cfg, 0o755)
    for name in ("imta.cnf", "dispatcher.cnf", "job_controller.cnf",
                 "mappings", "aliases", "directory.ldif"):
        shutil.copy(os.path.join(SRCDIR, "config", name), cfg / name)
    shutil.copy(os.path.join(BUILDDIR, "config", "cursus.conf"),
                cfg / "cursus.conf")
    for f in cfg.iterdir():
        os.chmod(f, 0o644)
    p = run_cursus(str(cfg), "config", "check")
    assert p.returncode == 0, p.stderr
    p = run_cursus(str(cfg), "test-rewrite", "-q", "postmaster@localhost",
                   "bob@example.com", "joe@elsewhere.example",
                   "nobody@example.com")
    out = p.stdout
    assert "  ims-ms alice@ims-ms-daemon (routing host ims-ms-daemon, " \
           "expanded from postmaster@localhost)" in out
    assert "  ims-ms bob@ims-ms-daemon (routing host ims-ms-daemon, " \
           "expanded from bob@example.com)" in out
    assert "  tcp_local joe@elsewhere.example (routing host tcp-daemon)" in out
    assert "error                     = 5.1.1 <nobody@example.com>: no " \
           "such user" in out
    p = run_cursus(str(cfg), "test-mapping", "ORIG_SEND_ACCESS",
                   "tcp_local|a@b.example|tcp_local|c@d.example")
    assert "verdict                   = REJECT 550 5.7.1 Relaying not " \
           "allowed" in p.stdout
