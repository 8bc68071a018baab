"""doc_examples - reading the examples out of a document of docs/."""
import re


def console_commands(text):
    """(command, expected output lines) of the `console` blocks of TEXT,
    in order: each "$ " line is a command, the lines up to the next one
    its output."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            lines = part.rstrip("\n").split("\n")
            out.append((lines[0], lines[1:]))
    return out
