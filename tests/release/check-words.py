#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails when text a user reads speaks the project's private words.

Usage: check-words.py SOURCE-ROOT TOOL... [--bench CMA-BENCH]

Scanned: every file that is installed or read as documentation (README,
NEWS, CONTRIBUTING, doc/, the man page sources, cma.h, examples/, the bash
completions) and the output of every tool (--help, --usage, --version and
the messages of a few failures), plus cma-bench's help and a tiny run.

Private words: "seed" meaning the project libcma grew from (its hash's
"seed 0", the fuzzers' "seed corpus" and "seeds", and a PRNG's "fixed
seed" are ordinary words), "LEGACY-FORMAT" (a file users do not have),
"issue N" and "target N". Prints one line per hit, then "N passed, N
failed" over the texts scanned.
"""
import os
import re
import subprocess
import sys
import tempfile

PRIVATE = [
    (re.compile(r"\bseed\b(?! 0\b)(?! corpus)", re.I), "seed"),
    (re.compile(r"LEGACY-FORMAT"), "LEGACY-FORMAT"),
    (re.compile(r"\bissues? #?[0-9]", re.I), "issue number"),
    (re.compile(r"\btargets? #?[0-9]", re.I), "target number"),
]
ALLOWED_BEFORE = re.compile(r"fixed[- ]$", re.I)

SOURCES = ["README.md", "NEWS.md", "CONTRIBUTING.md", "LICENSE", "doc",
           "include", "examples", "completions"]
TEXT_SUFFIXES = (".md", ".scd", ".h", ".c", ".sh", ".build", "LICENSE")


def hits(text):
    """(line number, word, line) for each private word in text."""
    for no, line in enumerate(text.splitlines(), 1):
        for rx, word in PRIVATE:
            for m in rx.finditer(line):
                if word == "seed" and ALLOWED_BEFORE.search(
                        line[:m.start()]):
                    continue
                yield no, word, line.strip()


def source_texts(root):
    for name in SOURCES:
        top = os.path.join(root, name)
        if os.path.isfile(top):
            yield name, top
            continue
        for d, _, files in os.walk(top):
            for f in sorted(files):
                p = os.path.join(d, f)
                if d.startswith(os.path.join(root, "completions")) or \
                        f.endswith(TEXT_SUFFIXES):
                    yield os.path.relpath(p, root), p


def run(argv, stdin=None):
    r = subprocess.run(argv, input=stdin, capture_output=True, timeout=120)
    return (r.stdout + r.stderr).decode("utf-8", "replace")


def tool_outputs(tools, bench, tmp):
    """(label, output) of each tool in the situations a user meets."""
    junk = os.path.join(tmp, "notes.txt")
    with open(junk, "w") as f:
        f.write("not a blob\n")
    empty = os.path.join(tmp, "empty")
    open(empty, "w").close()
    missing = os.path.join(tmp, "missing.cm")
    out = os.path.join(tmp, "out.cm")
    for tool in tools:
        name = os.path.basename(tool)
        cases = [["--help"], ["--usage"], ["--version"], ["--bogus"], [],
                 [missing], [junk], [empty], ["-"]]
        if name == "cma-convert":
            cases += [[junk, "-o", out], ["--from-legacy", junk, "-o", out],
                      ["--from-legacy", empty, "-o", out]]
        else:
            cases += [["--json", junk], ["--json", missing]]
        for args in cases:
            yield " ".join([name] + args), run([tool] + args, stdin=b"junk")
    if bench:
        for args in (["--help"], ["--version"], ["--tiny"]):
            yield "cma-bench " + " ".join(args), run([bench] + args)


def self_check():
    """The patterns catch what they must and leave the ordinary words."""
    bad = ["the seed's spelling", "Seed project", "issue 5 targets",
           "target 8 divides", "see LEGACY-FORMAT.md", "seed-style-list"]
    good = ["XXH3-64, seed 0, of", "a seed corpus in", "fixed-seed order",
            "(splitmix64, fixed seed)", "the defective seeds", "issues",
            "targets a live object", "legacy-format.md"]
    wrong = [t for t in bad if not list(hits(t))]
    wrong += [t for t in good if list(hits(t))]
    for t in wrong:
        print(f"pattern self-check: wrong verdict on {t!r}")
    return not wrong


def main():
    if not self_check():
        print("0 passed, 1 failed")
        return 1
    args = sys.argv[1:]
    bench = None
    if "--bench" in args:
        i = args.index("--bench")
        bench = args[i + 1]
        del args[i:i + 2]
    root, tools = args[0], args[1:]
    passed = failed = 0
    texts = []
    for label, p in source_texts(root):
        with open(p, encoding="utf-8", errors="replace") as f:
            texts.append((label, f.read()))
    with tempfile.TemporaryDirectory(prefix="cma-words-") as tmp:
        texts += list(tool_outputs(tools, bench, tmp))
    for label, text in texts:
        found = list(hits(text))
        for no, word, line in found:
            print(f"{label}:{no}: {word}: {line}")
        if found:
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
