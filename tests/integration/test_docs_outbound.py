"""docs/channels.md and docs/job-controller.md stay true: every keyword and
setting of the channel modules is documented, and every example
configuration in them passes `cursus config check`."""
import os
import re

import pytest

from cursus_harness import SRCDIR, run_cursus

CHANNEL_MODULES = ["channel_smtp", "channel_lmtp", "channel_file",
                   "channel_pipe", "channel_bitbucket", "channel_reprocess",
                   "channel_hold"]


def doc(name):
    with open(os.path.join(SRCDIR, "docs", name)) as f:
        return f.read()


def module_listing(tmp_path):
    conf = tmp_path / "empty"
    conf.mkdir()
    p = run_cursus(str(conf), "modules", "-v")
    assert p.returncode == 0, p.stderr
    blocks = {}
    current = None
    for line in p.stdout.splitlines():
        m = re.match(r"^(\S+)\s+\S+\s+\d+\.\d+\s", line)
        if m:
            current = m.group(1)
            blocks[current] = {"keywords": [], "settings": []}
            kind = None
        elif current and line.strip().startswith("channel keywords"):
            kind = "keywords"
        elif current and line.strip().startswith("settings"):
            kind = "settings"
        elif current and kind and line.startswith("      "):
            blocks[current][kind].append(line.split()[0])
    return blocks


def test_every_channel_keyword_and_setting_is_documented(tmp_path):
    text = doc("channels.md")
    blocks = module_listing(tmp_path)
    for mod in CHANNEL_MODULES:
        assert mod in blocks, "module %s not built" % mod
        assert "## %s" % mod in text, mod
        for kw in blocks[mod]["keywords"]:
            assert re.search(r"\| `%s( <[a-z]+>)?` \|" % re.escape(kw), text), (mod, kw)
        for st in blocks[mod]["settings"]:
            assert "| `%s` |" % st in text, (mod, st)


def examples(name, kind):
    return re.findall(r"```%s\n(.*?)```" % re.escape(kind), doc(name), re.S)


@pytest.mark.parametrize("example", range(len(examples("channels.md", "imta.cnf"))))
def test_channel_examples_pass_config_check(cursus, example):
    imta = examples("channels.md", "imta.cnf")[example]
    extra = examples("channels.md", "cursus.conf")[0]
    srv = cursus(imta=imta, conf_extra=extra,
                 jobc="[POOL=DEFAULT]\nJOB_LIMIT=4\n[POOL=SMTP_POOL]\nJOB_LIMIT=4\n"
                      "[POOL=IMS_POOL]\nJOB_LIMIT=2\n")
    p = srv.cursus("config", "check")
    assert p.returncode == 0, p.stderr


def test_job_controller_example_passes_config_check(cursus):
    jobc = examples("job-controller.md", "job_controller.cnf")[0]
    srv = cursus(jobc=jobc, imta=".  $U%$H@tcp-daemon\n\nl\nlocalhost\n\n"
                 "tcp_local smtp pool SMTP_POOL\ntcp-daemon\n\n"
                 "pipe\npipe-daemon\n",
                 files={"pipe.programs": "store /bin/true\n"})
    p = srv.cursus("config", "check")
    assert p.returncode == 0, p.stderr
