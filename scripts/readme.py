#!/usr/bin/env python3
"""Write the README's key tables from the registry of actions (dindtui/actions.py): the text
between the marker line and the next `## ` heading. `--check`: only say whether they differ
(status 1), as the test does."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dindtui import actions  # noqa: E402

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")
MARKER = "<!-- the key tables below are generated from the registry of actions"


def main() -> int:
    text = open(README, encoding="utf-8").read()
    start = text.index(MARKER)
    body = text.index("\n", start) + 1
    end = text.index("\n## ", body) + 1
    new = text[:body] + actions.markdown("###") + "\n" + text[end:]
    if "--check" in sys.argv[1:]:
        print("README key tables are up to date" if new == text else "README key tables differ")
        return 0 if new == text else 1
    if new != text:
        open(README, "w", encoding="utf-8").write(new)
        print("README key tables written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
