#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cm_alloc() and cm_ptr_to() are checked by the compiler.

Usage: check-macros.py COMPILER c|c++ SOURCE-ROOT

With COMPILER (gcc, clang, g++, clang++): tests/macros/macro-uses.c
compiles with -Wall -Wextra -Werror; its WRONG_ALLOC use (the & forgotten)
is an error even without -Werror; its WRONG_PTR_TO use (a char * slot given
a struct node *) fails under -Wall -Werror; both refusals point at the
wrong line. A C compiler also builds every examples/*.c cleanly. Exits 77
(skipped) when COMPILER is not installed.
"""
import os
import shutil
import subprocess
import sys
import tempfile

compiler, lang, root = sys.argv[1], sys.argv[2], sys.argv[3]
if shutil.which(compiler) is None:
    print(f"{compiler} not installed: skipped")
    sys.exit(77)

source = os.path.join(root, "tests", "macros", "macro-uses.c")
# -O2: -Wstrict-aliasing and the other optimiser-fed warnings run too.
warnings = ["-O2", "-Wall", "-Wextra"]
standards = (["-std=gnu11"], ["-std=c99", "-pedantic"]) if lang == "c" \
    else ([], ["-std=c++11", "-pedantic"])
failed = passed = 0


def compile_one(path, flags):
    """Compile path to an object; (exit status, diagnostics)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [compiler, "-x", lang, "-I", os.path.join(root, "include"),
               *flags, "-c", path, "-o", os.path.join(tmp, "out.o")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        return r.returncode, " ".join(cmd) + "\n" + r.stdout + r.stderr


def line_of(text):
    """The line of macro-uses.c that holds text."""
    with open(source) as f:
        for number, line in enumerate(f, 1):
            if text in line:
                return number
    raise SystemExit(f"{source}: no line holds {text!r}")


def expect(name, ok, output):
    global failed, passed
    if ok:
        passed += 1
        print(f"ok: {name}")
    else:
        failed += 1
        print(f"FAIL: {name}\n{output}")


wrong = {
    "WRONG_ALLOC": (line_of("cm_alloc(mem, n, sizeof *n)"), []),
    "WRONG_PTR_TO": (line_of("cm_ptr_to(mem, &n->name, other)"),
                     ["-Werror"]),
}
for std in standards:
    tag = f"{compiler} {' '.join(std) or 'default'}"
    status, out = compile_one(source, std + warnings + ["-Werror"])
    expect(f"{tag}: the right uses compile cleanly", status == 0, out)
    for macro, (line, extra) in wrong.items():
        status, out = compile_one(source, std + warnings + extra +
                                  ["-D" + macro])
        where = f"macro-uses.c:{line}:"
        expect(f"{tag}: {macro} refused at line {line}",
               status != 0 and where in out, out)

if lang == "c":
    examples = os.path.join(root, "examples")
    for name in sorted(os.listdir(examples)):
        if name.endswith(".c"):
            status, out = compile_one(
                os.path.join(examples, name),
                ["-std=gnu11", "-D_GNU_SOURCE"] + warnings +
                ["-Werror"])
            expect(f"{compiler}: examples/{name} compiles cleanly",
                   status == 0, out)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
