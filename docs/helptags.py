#!/usr/bin/env python3
"""helptags.py OUT HELPFILE... — the `tags` file Vim's and Neovim's :helptags would write for the
help files, so that an installed plugin's :help works in a folder its user cannot write to.

A tag is `*name*` where the stars stand at the line's start or after a space or tab, and a space, a
tab or the line's end follows; name has no space, tab, `|` or `*`. The lines are
`name<TAB>file<TAB>/*name*`, sorted by bytes; a tag defined twice is an error, as in Vim."""
import os
import re
import sys

TAG = re.compile(r"(?:^|(?<=[ \t]))\*([^ \t|*]+)\*(?=[ \t]|$)")


def main(out, files):
    tags = {}
    for path in files:
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                for tag in TAG.findall(line.rstrip("\n")):
                    if tag in tags:
                        sys.exit(f"{path}:{n}: tag {tag} is also in {tags[tag][0]}")
                    tags[tag] = (name, "/*" + re.sub(r"([\\/])", r"\\\1", tag) + "*")
    with open(out, "w", encoding="utf-8") as f:
        for tag in sorted(tags, key=lambda t: t.encode()):
            f.write(f"{tag}\t{tags[tag][0]}\t{tags[tag][1]}\n")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
