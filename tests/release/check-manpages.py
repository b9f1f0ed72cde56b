#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every function the shared library exports has a section-3 man page.

Usage: check-manpages.py LIBCMA.SO LIBCMA.MAP MAN-BUILD-DIR

The names: the library's exported functions (nm -D) and every name the
version script lists, plus the function-like macros cma.h documents
(cm_alloc, cm_ptr_to). Each needs MAN-BUILD-DIR/NAME.3, either a page whose
NAME section lists it or a ".so man3/PAGE.3" link to such a page. Exits 77
(skipped) when no man page was built (scdoc missing).
"""
import os
import re
import subprocess
import sys

MACROS = ["cm_alloc", "cm_ptr_to"]


def exported(lib, version_script):
    out = subprocess.run(["nm", "-D", "--defined-only", lib],
                         capture_output=True, text=True, check=True).stdout
    names = {line.split()[2].split("@")[0] for line in out.splitlines()
             if len(line.split()) == 3 and line.split()[1] in "TW"}
    with open(version_script) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    for m in re.finditer(r"global:(.*?)(?:local:|\})", text, re.S):
        names |= {n.strip() for n in m.group(1).split(";")
                  if n.strip() and not re.search(r"[*?\[]", n)}
    return sorted(names | set(MACROS))


def name_section(text):
    """The names a roff page's NAME section lists."""
    m = re.search(r'^\.SH "?NAME"?\s*\n(.*?)^\.SH', text, re.M | re.S)
    if not m:
        return set()
    head = m.group(1).replace("\\-", "-").split(" - ")[0]
    return {n.strip() for n in re.sub(r"\\f[BIRP]|^\.[A-Z]+.*$", "", head,
                                      flags=re.M).split(",")}


def main():
    lib, version_script, mandir = sys.argv[1:4]
    if not os.path.exists(os.path.join(mandir, "libcma.3")):
        print("no man pages built (scdoc missing): skipped")
        return 77
    passed = failed = 0
    for name in exported(lib, version_script):
        page = os.path.join(mandir, name + ".3")
        why = None
        if not os.path.exists(page):
            why = "no page " + name + ".3"
        else:
            with open(page) as f:
                text = f.read()
            link = re.match(r"\.so\s+(\S+)", text)
            if link:
                target = os.path.join(mandir, os.path.basename(link.group(1)))
                if not os.path.exists(target):
                    why = f"{name}.3 links to missing {link.group(1)}"
                else:
                    with open(target) as f:
                        text = f.read()
            if not why and name not in name_section(text):
                why = f"the page for {name} does not name it under NAME"
        if why:
            print("missing:", why)
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
