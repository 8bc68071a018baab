"""The examples of docs/directory.md, run: every `console` block against
the shipped demo directory (commands in order, output compared line by
line), every `ini` block through `cursus config check`, every `ldif`
block through dir_ldif and, when slapd is there, ldapadd."""
import os
import re
import subprocess

import pytest

from cursus_harness import CURSUS, SRCDIR
from dir_env import DEMO, DirEnv, read
from doc_examples import console_commands
from ldap_harness import Slapd, have_slapd

DOC = os.path.join(SRCDIR, "docs", "directory.md")


def blocks(kind):
    return re.findall(r"```%s\n(.*?)```" % kind, read(DOC), re.S)


def commands():
    """(command, expected output lines) of the console blocks, in order."""
    return console_commands(read(DOC))


def test_console_examples(tmp_path):
    env = DirEnv(tmp_path, "ldif", data=read(DEMO))
    env.start()
    shell_env = dict(os.environ, **env.srv.env)
    prelude = 'cursus() { "%s" --config "%s" "$@"; }\n' % (CURSUS, env.srv.config)
    ran = 0
    for cmd, expected in commands():
        p = subprocess.run(["bash", "-c", prelude + cmd + " 2>&1"],
                           capture_output=True, text=True, env=shell_env,
                           timeout=60)
        assert p.stdout.rstrip("\n").split("\n") == expected, \
            "$ %s\n%s" % (cmd, p.stdout)
        ran += 1
    assert ran >= 20


BASE = """\
[paths]
state_dir = {state}
[server]
hostname = mail.example.com
"""


@pytest.mark.parametrize("n", range(len(blocks("ini"))))
def test_config_examples(tmp_path, n):
    env = DirEnv(tmp_path, "ldif", data=read(DEMO))
    env.start()
    text = BASE.format(state=tmp_path / "var") + blocks("ini")[n]
    if "[directory]" not in text:
        text += "[directory]\nmodule = dir_ldif\n"
    env.srv.write("cursus.conf", text)
    p = env.run("config", "check")
    assert p.returncode == 0, p.stdout + p.stderr


def test_ldif_examples(tmp_path):
    data = read(DEMO).rstrip("\n") + "\n\n" + "\n".join(blocks("ldif"))
    env = DirEnv(tmp_path, "ldif", data=data)
    env.start()
    p = env.run("directory", "check")
    assert p.returncode == 0, p.stderr
    if have_slapd():
        s = Slapd(tmp_path / "ldap")
        s.start()
        try:
            path = tmp_path / "all.ldif"
            path.write_text(data)
            s.add_file(str(path))
        finally:
            s.stop()
