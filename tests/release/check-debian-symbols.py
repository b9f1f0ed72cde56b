#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""debian/libcma1.symbols lists exactly what libcma.so.1 exports.

Usage: check-debian-symbols.py LIBCMA.SO SYMBOLS-FILE

Each exported symbol (nm -D: the functions and the version node, with
their version, cm_open@CMA_1.0) must have a line in the symbols file, and
each line must name an exported symbol: a function added to lib/libcma.map
without its line would fail the package build (dpkg-gensymbols is told to
fail on any difference), so it fails here first. Exits 77 without nm.
"""
import re
import shutil
import subprocess
import sys


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib],
                         capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] not in "TWDBRA":
            continue
        name = parts[2].replace("@@", "@")
        # A version node (type A) is listed as NODE@NODE.
        names.add(name if "@" in name else name + "@" + name)
    return names


def listed(symbols_file):
    with open(symbols_file) as f:
        return {m.group(1) for m in
                (re.match(r"^ (\S+@\S+) ", line) for line in f) if m}


def main():
    lib, symbols_file = sys.argv[1:3]
    if not shutil.which("nm"):
        print("nm not found: skipped")
        return 77
    have, want = exported(lib), listed(symbols_file)
    for name in sorted(have - want):
        print("exported but not in %s: %s" % (symbols_file, name))
    for name in sorted(want - have):
        print("in %s but not exported: %s" % (symbols_file, name))
    ok = len(have & want)
    bad = len(have ^ want)
    print("%d passed, %d failed" % (ok, bad))
    return 1 if bad or not ok else 0


if __name__ == "__main__":
    sys.exit(main())
