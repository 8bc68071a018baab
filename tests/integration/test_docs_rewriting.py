"""The examples of docs/rewriting.md: every `$ cursus ...` line of a
console block is run against the test configuration tests/data/rewrite,
and every line shown under it must appear in the output, in order (an
output line may go on after the text shown)."""
import os
import shlex

import pytest

from cursus_harness import SRCDIR, run_cursus

DOC = os.path.join(SRCDIR, "docs", "rewriting.md")
DATA = os.path.join(SRCDIR, "tests", "data", "rewrite")


def examples():
    out = []
    in_console = False
    cur = None
    with open(DOC, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("```"):
                in_console = line.strip() == "```console"
                cur = None
                continue
            if not in_console:
                continue
            if line.startswith("$ cursus "):
                cur = (n, shlex.split(line[len("$ cursus "):]), [])
                out.append(cur)
            elif cur is not None and line.strip():
                cur[2].append(line)
    return out


EXAMPLES = examples()


def test_the_guide_has_examples():
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("line,args,expect", EXAMPLES,
                         ids=["rewriting.md:%d" % e[0] for e in EXAMPLES])
def test_example(line, args, expect):
    p = run_cursus(DATA, *args)
    got = p.stdout.splitlines()
    i = 0
    for want in expect:
        while i < len(got) and not got[i].startswith(want):
            i += 1
        assert i < len(got), "rewriting.md:%d: %r not in the output:\n%s%s" % (
            line, want, p.stdout, p.stderr)
        i += 1
