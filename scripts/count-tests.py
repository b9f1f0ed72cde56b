#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Count test cases in meson testlog.json files: Check summaries, plain
'N passed, N failed' lines, else one case per meson test; a meson test
that skipped (exit 77) counts as skipped, never as passed."""
import json
import re
import sys

CHECK = re.compile(r"(\d+)%: Checks: (\d+), Failures: (\d+), Errors: (\d+)")
PLAIN = re.compile(r"^(?:\w+: )?(\d+) passed, (\d+) failed", re.M)


def count(path):
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = (t.get("stdout") or "") + (t.get("stderr") or "") + (t.get("stdo") or "")
            if t.get("result") == "SKIP":
                skipped += 1
                continue
            ok = t.get("result") in ("OK", "EXPECTEDFAIL")
            m = CHECK.findall(out)
            p = PLAIN.findall(out)
            if m:
                _, n, fl, er = map(int, m[-1])
                passed += n - fl - er
                failed += fl + er
                if not ok and fl + er == 0:
                    failed += 1  # crashed or leaked after its summary
            elif p:
                a, b = map(int, p[-1])
                passed += a
                failed += b
                if not ok and b == 0:
                    failed += 1
            elif ok:
                passed += 1
            else:
                failed += 1
    return passed, failed, skipped


if __name__ == "__main__":
    tp = tf = ts = 0
    for path in sys.argv[1:]:
        p, f, s = count(path)
        tp += p
        tf += f
        ts += s
    print(f"{tp} passed, {tf} failed, {ts} skipped")
