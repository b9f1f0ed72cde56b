#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The pointer scan from the command line: a producer that stores pointers
with '=' (the original cma's WRONG pattern) is caught by cma-verify and
marked by cma-dump; its correct twin, full of integers that are no
address in the data, passes without a word.

    cli-scan.py CASE|all CMA-DUMP CMA-VERIFY CMA-CONVERT MAKE-BLOB PRODUCER
"""
from clitest import *

PRODUCER = (sys.argv[6:7] + [None])[0]
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
HINT = " (stored with '=' instead of cm_ptr_to()?)"
MODES = ("relative", "absolute")


def produce(kind, mode, wrong=1, nodes=1000):
    """A blob from the producer: (path, [(slot, target)] of its '=')."""
    p = path("%s-%s-%d-%d.cm" % (kind, mode, nodes, wrong))
    r = subprocess.run(EXE + [PRODUCER, kind, mode, str(nodes), str(wrong),
                              p],
                       check=True, capture_output=True, text=True)
    hits = [tuple(int(x, 16) for x in line.split())
            for line in r.stdout.splitlines()]
    eq(len(hits), wrong if kind == "wrong" else 0, "words stored with '='")
    return p, hits


def hit_line(p, slot, target):
    base = header(read(p))["base"]
    return ("%s: offset 0x%x: word 0x%x points into the data (offset 0x%x) "
            "but is not a recorded pointer slot%s" %
            (p, slot, base + target, target, HINT))


@case
def wrong_fails_naming_the_slot():
    for mode in MODES:
        p, [(slot, target)] = produce("wrong", mode)
        st, out, err = run(VERIFY, p)
        eq(st, 1, "%s: exit status" % mode)
        eq(out, hit_line(p, slot, target) + "\n", mode)
        eq(err, "", "no note besides the verdict")
        # The same blob is otherwise sound: only the scan refuses it.
        st, out, err = run(VERIFY, "--strict", p)
        eq(st, 1, "--strict scans too")


@case
def twin_passes_without_a_warning():
    for mode in MODES:
        p, _ = produce("twin", mode)
        for opts in ([], ["--strict"], ["--all-errors"]):
            st, out, err = run(VERIFY, *opts, p)
            eq((st, err), (0, ""), "%s %s: %s" % (mode, opts, out))
            check(re.match(r"^%s: OK \(%s, 2999 pointers, " %
                           (re.escape(p), mode), out), out)
        st, out, _ = run(VERIFY, "--json", p)
        doc = json.loads(out)[0]
        eq((doc["valid"], doc["pointer_scan"], doc["errors"]),
           (True, "on", []), "json")


@case
def no_pointer_scan_passes_the_wrong_ones():
    for mode in MODES:
        p, _ = produce("wrong", mode, wrong=3)
        st, out, err = run(VERIFY, "--no-pointer-scan", p)
        eq((st, err), (0, ""), out)
        check(out.startswith("%s: OK (" % p), out)
        st, out, _ = run(VERIFY, "--no-pointer-scan", "--json", p)
        eq(json.loads(out)[0]["pointer_scan"], "off")


@case
def all_errors_lists_every_hit():
    for mode in MODES:
        p, hits = produce("wrong", mode, wrong=3)
        st, out, _ = run(VERIFY, p)
        eq((st, out), (1, hit_line(p, *hits[0]) + "\n"), "the first only")
        st, out, _ = run(VERIFY, "--all-errors", p)
        eq(st, 1)
        eq(out, "".join(hit_line(p, *h) + "\n" for h in hits), mode)
        st, out, _ = run(VERIFY, "--max-errors", "2", p)
        eq(out, "".join(hit_line(p, *h) + "\n" for h in hits[:2]), mode)


@case
def json_carries_the_hits():
    p, hits = produce("wrong", "absolute", wrong=3)
    st, out, _ = run(VERIFY, "--json", "--all-errors", p)
    eq(st, 1)
    doc = json.loads(out)[0]
    eq((doc["valid"], doc["status"], doc["pointer_scan"]),
       (False, 1, "on"))
    eq([(e["name"], e["code"], e["offset"], e["index"])
        for e in doc["errors"]],
       [("CM_E_UNRECORDED", 22, s, None) for s, _ in hits])
    for e, (s, t) in zip(doc["errors"], hits):
        check("(offset 0x%x)" % t in e["message"], e["message"])


@case
def low_base_skips_the_scan_with_one_note():
    src, [(slot, target)] = produce("wrong", "relative")
    p = path("wrong-at-0.cm")
    convert_ok(src, "-o", p, "--rebase", "0")
    for opts in ([], ["--all-errors"], ["--strict"]):
        st, out, err = run(VERIFY, *opts, p)
        eq(st, 0, "%s: skipped is not an error" % opts)
        check(out.startswith("%s: OK (" % p), out)
        eq(err, "cma-verify: %s: note: pointer scan skipped: the recorded "
           "base 0x0 is below 4 GiB, where small integers look like "
           "addresses\n" % p, "one note")
    eq(run(VERIFY, "--quiet", p), (0, "", ""), "--quiet")
    st, out, err = run(VERIFY, "--json", p)
    eq((st, err), (0, ""))
    eq(json.loads(out)[0]["pointer_scan"], "skipped")
    eq(run(VERIFY, "--no-pointer-scan", p)[2], "", "off: no note")
    # At 4 GiB the scan runs: the word, pointing there, is caught again.
    high = path("wrong-at-4g.cm")
    convert_ok(p, "-o", high, "--rebase", hex(1 << 32))
    b = bytearray(read(high))
    put64(b, slot, (1 << 32) + target)
    rechecksum(write(high, bytes(b)))
    eq(run(VERIFY, high)[:2], (1, hit_line(high, slot, target) + "\n"))


@case
def dump_marks_the_words():
    p, hits = produce("wrong", "relative", wrong=2)
    (s0, t0), (s1, t1) = hits
    base = header(read(p))["base"]
    st, out, err = run(DUMP, p)
    eq(st, 1)
    check(err.startswith("cma-dump: %s: offset 0x%x: word " % (p, s0)), err)
    check(err.rstrip().endswith(HINT), err)
    check(re.search(r"^Pointer scan:\s+2 unrecorded pointers$", out, re.M),
          out)
    table = out[out.index("Unrecorded pointers:"):]
    check(re.search(r"^  0x%08x  0x%016x  0x%08x$" % (s0, base + t0, t0),
                    table, re.M), table)
    check(re.search(r"^  0x%08x  0x%016x  0x%08x$" % (s1, base + t1, t1),
                    table, re.M), table)
    st, out, _ = run(DUMP, "--hex=0x%x,16" % (s0 & ~15), p)
    check("unrecorded@+%d->0x%x" % (s0 % 16, t0) in out, out)
    st, out, _ = run(DUMP, "--graph=dot", "--limit", "5000", p)
    eq(out.count("unrecorded\", style=dashed, color=red"), 2, out)
    st, doc, _ = dump_json(p)
    eq(doc["pointer_scan"], "on")
    eq(doc["unrecorded"], [{"offset": s, "value": base + t, "target": t}
                           for s, t in hits])
    check("CM_E_UNRECORDED" in [e["name"] for e in doc["errors"]])
    st, doc, _ = dump_json(p, "--no-pointer-scan")
    eq((st, doc["pointer_scan"], doc["unrecorded"]), (0, "off", []))
    twin, _ = produce("twin", "relative")
    st, out, _ = run(DUMP, "-H", twin)
    eq(st, 0)
    check(re.search(r"^Pointer scan:\s+no unrecorded pointers$", out, re.M),
          out)


@case
def every_sample_blob_passes():
    """What make-blob writes and the golden blobs, moved to a real base."""
    for shape in ("list", "tree", "graph", "flat", "dangling"):
        for mode in MODES:
            for omap in (False, True):
                p = blob(shape, 40, mode, omap)
                st, out, err = run(VERIFY, p)
                eq((st, err), (0, ""), "%s %s %s: %s" % (shape, mode, omap,
                                                         out))
    for name in sorted(os.listdir(DATA)):
        if not name.endswith(".cm"):
            continue
        high = path("high-" + name)
        convert_ok(os.path.join(DATA, name), "-o", high, "--rebase",
                   "0x7f0000000000")
        st, out, err = run(VERIFY, high)
        eq((st, err), (0, ""), "%s: %s" % (name, out))


run_cases()
