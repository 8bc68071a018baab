"""The examples of docs/store.md, run: the `ini` block through `cursus
config check`, the `console` blocks in order against a server configured
with it and the shipped demo directory (output compared line by line;
"..." in an expected line stands for any text)."""
import os
import re
import subprocess

from cursus_harness import CURSUS, SRCDIR, run_cursus
from doc_examples import console_commands
from mta_harness import shipped

DOC = os.path.join(SRCDIR, "docs", "store.md")


def blocks(kind):
    with open(DOC) as f:
        return re.findall(r"```%s\n(.*?)```" % kind, f.read(), re.S)


def commands():
    with open(DOC) as f:
        return console_commands(f.read())


def matches(expected, got):
    if len(expected) != len(got):
        return False
    for e, g in zip(expected, got):
        pattern = ".*".join(re.escape(piece) for piece in e.split("..."))
        if not re.fullmatch(pattern, g):
            return False
    return True


def server(cursus):
    ini = blocks("ini")[0]
    return cursus(conf_extra="[directory]\nmodule = dir_ldif\n"
                             "default_domain = example.com\n"
                             "[module dir_ldif]\nfile = directory.ldif\n" + ini,
                  files={"directory.ldif": shipped("directory.ldif")})


def test_every_setting_is_documented(tmp_path):
    """Each [store] key and each setting of store_cursus and channel_store
    has its row in the tables."""
    with open(DOC) as f:
        text = f.read()
    p = run_cursus(str(tmp_path), "modules", "-v")
    assert p.returncode == 0, p.stderr
    names, module = [], None
    for line in p.stdout.splitlines():
        if not line.startswith(" "):
            module = line.split()[0] if line.strip() else None
        elif module in ("store_cursus", "channel_store") and \
                line.startswith("      "):
            names.append(line.split()[0])
    assert "partitions" in names and "subaddress_separator" in names
    for name in names:
        assert "`%s`" % name in text, name
    with open(os.path.join(SRCDIR, "core", "config", "conf.c")) as f:
        keys = re.findall(r'K\("store", "(\w+)"', f.read())
    assert len(keys) > 10
    for key in keys:
        assert "| `%s` |" % key in text, key


def test_config_example(cursus):
    srv = server(cursus)
    p = srv.cursus("config", "check")
    assert p.returncode == 0, p.stdout + p.stderr


def test_console_examples(cursus):
    srv = server(cursus)
    env = dict(os.environ, **srv.env)
    env["CONFIG"] = srv.config
    prelude = 'cursus() { "%s" --config "%s" "$@"; }\n' % (CURSUS, srv.config)
    ran = 0
    for cmd, expected in commands():
        p = subprocess.run(["bash", "-c", prelude + cmd + " 2>&1"],
                           capture_output=True, text=True, env=env,
                           timeout=60)
        got = p.stdout.rstrip("\n").split("\n") if p.stdout else []
        assert matches(expected, got), "$ %s\n%s" % (cmd, p.stdout)
        ran += 1
    assert ran >= 20
