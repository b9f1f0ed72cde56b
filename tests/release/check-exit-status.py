#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Each tool's man page lists every exit status the tools use.

Usage: check-exit-status.py SOURCE-DIR

The statuses: the values of enum tool_status in tools/tool-common.h. Each
doc/cma-*.1.scd needs an EXIT STATUS section with a "*N*" entry for each.
"""
import glob
import os
import re
import sys


def statuses(header):
    with open(header) as f:
        text = f.read()
    body = re.search(r"enum tool_status \{(.*?)\};", text, re.S).group(1)
    return {int(v) for v in re.findall(r"TOOL_\w+ = (\d+)", body)}


def listed(page):
    with open(page) as f:
        text = f.read()
    m = re.search(r"^# EXIT STATUS\n(.*?)(?=^# |\Z)", text, re.M | re.S)
    if not m:
        return None
    return {int(v) for v in re.findall(r"^\*(\d+)\*", m.group(1), re.M)}


def main():
    source = sys.argv[1]
    want = statuses(os.path.join(source, "tools", "tool-common.h"))
    pages = sorted(glob.glob(os.path.join(source, "doc", "cma-*.1.scd")))
    passed = failed = 0
    for page in pages:
        have = listed(page)
        name = os.path.basename(page)
        if have is None:
            print("%s: no EXIT STATUS section" % name)
            failed += 1
        elif want - have:
            print("%s: EXIT STATUS lacks %s" % (name, sorted(want - have)))
            failed += 1
        else:
            passed += 1
    if not want or len(pages) < 3:
        failed += 1
        print("found %d statuses and %d pages" % (len(want), len(pages)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
