#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Command-line tests of cma-dump, cma-verify and cma-convert.

Usage: test-cli.py CMA-DUMP CMA-VERIFY CMA-CONVERT MAKE-BLOB

Runs the tools as a user would and checks exit status, stdout, stderr and
the files they leave. The last line printed is "N passed, N failed".
Set CMA_TOOL_WRAPPER (e.g. "valgrind -q --error-exitcode=99") to run every
tool under a wrapper.
"""
import json
import os
import re
import resource
import shlex
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import traceback

DUMP, VERIFY, CONVERT, MAKE_BLOB = sys.argv[1:5]
WRAPPER = shlex.split(os.environ.get("CMA_TOOL_WRAPPER", ""))
TMP = tempfile.mkdtemp(prefix="cma-cli-")
CASES = []

MAGIC = b"\x89CMA\r\n\x1a\n"
HEADER_FIELDS = [  # name, offset, struct format (doc/format.md)
    ("version_major", 8, "<H"), ("version_minor", 10, "<H"),
    ("header_size", 12, "<I"), ("mode_value", 16, "<I"),
    ("required_flags", 20, "<I"), ("optional_flags", 24, "<I"),
    ("base", 32, "<Q"), ("capacity", 40, "<Q"), ("root", 48, "<Q"),
    ("data_end", 56, "<Q"), ("table_offset", 64, "<Q"),
    ("table_size", 72, "<Q"), ("pointer_count", 80, "<Q"),
    ("sections_offset", 88, "<Q"), ("sections_size", 96, "<Q"),
    ("blob_size", 104, "<Q"), ("checksum", 112, "<Q"),
]
LEGACY_SHIFT = 120  # v1 header size minus the legacy root word


def case(fn):
    CASES.append(fn)
    return fn


# ---- helpers ----

def run(tool, *args, stdin=None, preexec_fn=None, cwd=None, stdout=None):
    """Run a tool; return (status, stdout text, stderr text)."""
    p = subprocess.run(WRAPPER + [tool] + [str(a) for a in args],
                       input=stdin, stdout=stdout or subprocess.PIPE,
                       stderr=subprocess.PIPE, preexec_fn=preexec_fn,
                       cwd=cwd)
    out = p.stdout.decode("utf-8", "replace") if p.stdout else ""
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


def path(name):
    return os.path.join(TMP, name)


_blobs = {}


def blob(shape="list", n=5, mode="relative", omap=False):
    """A sample blob file from make-blob (built once per kind)."""
    key = (shape, n, mode, omap)
    if key not in _blobs:
        p = path("%s-%d-%s%s.cm" % (shape, n, mode, "-map" if omap else ""))
        args = [MAKE_BLOB, shape, str(n), mode, p] + (["map"] if omap else [])
        subprocess.run(args, check=True)
        _blobs[key] = p
    return _blobs[key]


def read(p):
    with open(p, "rb") as f:
        return f.read()


def write(p, data):
    with open(p, "wb") as f:
        f.write(data)
    return p


def header(data):
    return {name: struct.unpack_from(fmt, data, off)[0]
            for name, off, fmt in HEADER_FIELDS}


def variant(src, name, edit):
    """A copy of blob src with edit(bytearray) applied."""
    b = bytearray(read(src))
    edit(b)
    return write(path(name), bytes(b))


def put64(b, off, v):
    struct.pack_into("<Q", b, off, v)


def rechecksum(p):
    subprocess.run([MAKE_BLOB, "rechecksum", p], check=True)
    return p


def dump_json(p, *args):
    st, out, err = run(DUMP, "--json", *args, p)
    return st, json.loads(out), err


def leb128(v):
    out = bytearray()
    while True:
        byte = v & 0x7f
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: %r != %r" % (what, a, b))


def blob_pointers(p):
    """(slot, value) pairs as cma-dump --json reports them."""
    st, doc, _ = dump_json(p)
    eq(st, 0, "dump status")
    return [(r["slot"], r["value"]) for r in doc["relocs"]]


# ---- legacy blobs (the seed's LEGACY-FORMAT.md) ----

def legacy_delta(d):
    """One signed delta, in the order the reader reads it (downwards)."""
    m = abs(d)
    digits = []
    while True:
        digits.append(m & 0x3f)
        m >>= 6
        if not m:
            break
    digits.reverse()
    out = [x | 0x80 for x in digits[:-1]]
    out.append(digits[-1] | (0x40 if d < 0 else 0))
    return out


def legacy_relative(data, slots, base, raw_table=None):
    """data: the bytes from offset 0 (root word included); slots in
    registration order. The table is stored backwards below n and B."""
    if raw_table is None:
        read_order, prev = [], 0
        for s in slots:
            read_order += legacy_delta(s - prev)
            prev = s
        read_order.append(0)
    else:
        read_order = raw_table
    return (bytes(data) + bytes(reversed(read_order)) +
            struct.pack("<QQ", 0, base))


def legacy_absolute(data, slots, base, n=None):
    data = bytes(data) + bytes(-len(data) % 8)
    table = b"".join(struct.pack("<Q", s) for s in slots)
    return data + table + struct.pack("<QQ", len(slots) if n is None else n,
                                      base)


def legacy_list(base, nodes=4, nulls=False):
    """A list of 16-byte nodes {value, next} from offset 8; root word at 0.
    Returns (data, slots in registration order, targets by slot)."""
    data = bytearray(8 + 16 * nodes)
    put64(data, 0, base + 8)
    slots, targets = [], {}
    for i in range(nodes):
        off = 8 + 16 * i
        put64(data, off, 100 + i)
        if i + 1 < nodes:
            put64(data, off + 8, base + off + 16)
            targets[off + 8] = off + 16
            slots.append(off + 8)
        elif nulls:
            slots.append(off + 8)  # a NULL slot: listed, value 0
    return data, slots, targets


LEGACY_BASE = 0x7f0000001000


def convert_ok(*args):
    st, out, err = run(CONVERT, *args)
    eq(st, 0, "convert %s: %s" % (args, err))
    eq(out, "", "convert prints nothing on success")


# ---- common to the three tools ----

@case
def help_usage_version():
    for tool in (DUMP, VERIFY, CONVERT):
        st, out, _ = run(tool, "--help")
        eq(st, 0, tool + " --help")
        check("Report bugs to" in out, "bug-report line")
        check("Exit status" in out, "exit status in --help")
        st, out, _ = run(tool, "--usage")
        eq(st, 0, tool + " --usage")
        check(out.startswith("Usage:"), "--usage output")
        st, out, _ = run(tool, "--version")
        eq(st, 0, tool + " --version")
        check(re.search(r"\(libcma\) \d+\.\d+\.\d+", out), out)
    st, out, _ = run(DUMP, "--help")
    for group in ("What to show", "Output:", "Verdict:"):
        check(group in out, "option group " + group)


@case
def usage_errors_exit_2():
    b = blob()
    for args in ([DUMP], [DUMP, "--bogus", b], [DUMP, b, b],
                 [DUMP, "--limit", "x", b], [DUMP, "--graph=svg", b],
                 [DUMP, "--graph=dot", "--json", b],
                 [DUMP, "--hex", "--json", b], [DUMP, "--hex=zz", b],
                 [VERIFY], [VERIFY, "--bogus", b],
                 [VERIFY, "--max-errors", "-1", b],
                 [CONVERT, b], [CONVERT, "--bogus", b, "-o", path("u")],
                 [CONVERT, b, "-o", path("u"), "--in-place"],
                 [CONVERT, b, "-o", "-"],
                 [CONVERT, b, "-o", path("u"), "--absolute", "--relative"],
                 [CONVERT, b, "-o", path("u"), "--rebase", "4097"],
                 [CONVERT, b, "-o", path("u"), "--rebase", "12abc"],
                 [CONVERT, b, "-o", path("u"), "--rebase", "-4096"],
                 [CONVERT, b, "-o", path("u"), "--rebase", hex(1 << 47)],
                 [CONVERT, "-", "--in-place"]):
        st, out, err = run(*args)
        eq(st, 2, "usage error for %s (stderr %s)" % (args[1:], err))
        check(err, "a usage error says something")
    check(not os.path.exists(path("u")), "no output after usage errors")


@case
def convert_rebase_past_2_47_is_usage():
    b = blob()
    size = len(read(b))
    top = ((1 << 47) - size) & ~4095
    st, _, err = run(CONVERT, b, "-o", path("r47"), "--rebase",
                     hex(top + 4096))
    eq(st, 2, "ADDR + length past 2^47: " + err)
    check(not os.path.exists(path("r47")))
    convert_ok(b, "-o", path("r47"), "--rebase", hex(top))
    eq(header(read(path("r47")))["base"], top, "rebased at the top")


@case
def convert_output_naming_input_is_usage():
    b = write(path("self.cm"), read(blob()))
    os.link(b, path("self-link.cm"))
    for out in (b, path("self-link.cm"), os.path.join(TMP, ".", "self.cm")):
        st, _, err = run(CONVERT, b, "-o", out, "--absolute")
        eq(st, 2, "-o naming the input: " + err)
    eq(read(b), read(blob()), "input untouched")


@case
def io_errors_exit_3():
    missing = path("does-not-exist.cm")
    for args in ([DUMP, missing], [VERIFY, missing], [DUMP, TMP],
                 [VERIFY, TMP], [CONVERT, missing, "-o", path("x.cm")]):
        st, out, err = run(*args)
        eq(st, 3, "I/O error for %s" % args[1:])
        check(err.startswith(os.path.basename(args[0]) + ": "), err)
    check(not os.path.exists(path("x.cm")))


@case
def stdout_write_error_exit_3():
    b = blob()
    if not os.path.exists("/dev/full"):
        return
    for args in ([DUMP, b], [DUMP, "--json", b], [VERIFY, b],
                 [VERIFY, "--json", b], [DUMP, "--help"]):
        with open("/dev/full", "wb") as full:
            st, _, err = run(*args, stdout=full)
        eq(st, 3, "write error on stdout: %s" % args[1:])
        check("write error" in err, err)


def not_cma_inputs():
    good = read(blob())
    yield "empty", b""
    yield "short", b"\x89CM"
    yield "text", b"hello, this is not a blob at all\n" * 8
    b = bytearray(good)
    b[1] = ord("c")
    yield "magic", bytes(b)
    b = bytearray(good)
    struct.pack_into("<H", b, 8, 2)
    yield "version", bytes(b)
    b = bytearray(good)
    struct.pack_into("<I", b, 20, 0x100)
    yield "required-flag", bytes(b)


@case
def not_a_blob_exit_4():
    for name, data in not_cma_inputs():
        p = write(path("notcma-" + name), data)
        for args in ([VERIFY, p], [DUMP, p], [DUMP, "--json", p],
                     [CONVERT, p, "-o", path("nc.cm")]):
            st, out, err = run(*args)
            eq(st, 4, "%s: %s (%s)" % (name, args[:-1], err))
        check(not os.path.exists(path("nc.cm")), "no output for " + name)
        st, out, _ = run(VERIFY, "--json", p)
        doc = json.loads(out)
        eq(doc[0]["status"], 4)
        check(doc[0]["errors"][0]["name"] in
              ("CM_E_MAGIC", "CM_E_VERSION", "CM_E_REQUIRED_FLAG"), name)


def invalid_inputs():
    """(name, bytes, error code name or None) of blobs with a good magic."""
    good = read(blob("tree", 7, "relative"))
    h = header(good)
    yield "checksum", good[:112] + bytes([good[112] ^ 1]) + good[113:], \
        "CM_E_CHECKSUM"
    yield "trailing", good + b"\0", "CM_E_LENGTH"
    for cut in (9, 64, 127, 128, h["data_end"], len(good) - 1):
        yield "cut%d" % cut, good[:cut], None
    b = bytearray(good)
    b[28] = 1
    yield "reserved", bytes(b), None


@case
def invalid_blob_exit_1():
    for name, data, code in invalid_inputs():
        p = write(path("bad-" + name), data)
        st, out, err = run(VERIFY, p)
        eq(st, 1, "verify " + name)
        check(re.match(re.escape(p) + r": offset 0x[0-9a-f]+: .+\n$", out),
              "verify line for %s: %r" % (name, out))
        st, out, err = run(DUMP, p)
        eq(st, 1, "dump " + name)
        check(re.match(r"cma-dump: " + re.escape(p) +
                       r": offset 0x[0-9a-f]+: ", err), err)
        st, doc, _ = dump_json(p)
        eq(st, 1)
        eq(doc["valid"], False)
        check(doc["errors"], "errors array")
        if code:
            eq(doc["errors"][0]["name"], code, name)
        st, _, err = run(CONVERT, p, "-o", path("inv.cm"), "--absolute")
        eq(st, 1, "convert " + name)
        check(not os.path.exists(path("inv.cm")), "no output")


@case
def one_verdict_everywhere():
    """dump and convert refuse with the message verify prints."""
    for name, data, _ in invalid_inputs():
        p = write(path("verdict-" + name), data)
        _, vout, _ = run(VERIFY, p)
        _, _, derr = run(DUMP, "--header", p)
        _, _, cerr = run(CONVERT, p, "-o", path("v.cm"))
        msg = vout.strip()
        check(("cma-dump: " + msg) in derr, "%s: %r vs %r" % (name, msg,
                                                              derr))
        check(("cma-convert: " + msg) in cerr, "%s: %r" % (name, cerr))


# ---- cma-verify ----

@case
def verify_ok_lines():
    files = [blob(s, n, m, o) for s, n in (("list", 5), ("tree", 9),
                                           ("graph", 6), ("flat", 3))
             for m in ("relative", "absolute") for o in (False, True)]
    st, out, err = run(VERIFY, *files)
    eq(st, 0, err)
    lines = out.splitlines()
    eq(len(lines), len(files), "one line per file")
    for f, line in zip(files, lines):
        h = header(read(f))
        mode = "relative" if h["mode_value"] == 1 else "absolute"
        n = h["pointer_count"]
        size = len(read(f))
        eq(line, "%s: OK (%s, %d pointer%s, %d B)" %
           (f, mode, n, "" if n == 1 else "s", size))


@case
def verify_status_is_the_highest():
    good = blob()
    bad = write(path("hi-bad.cm"), read(good)[:-1])
    notcma = write(path("hi-notcma.cm"), b"")
    missing = path("hi-missing.cm")
    for files, want in (([good, good], 0), ([good, bad], 1),
                        ([bad, missing, good], 3),
                        ([missing, notcma, bad], 4), ([notcma, good], 4)):
        st, out, _ = run(VERIFY, *files)
        eq(st, want, "files %s" % [os.path.basename(f) for f in files])


@case
def verify_quiet():
    st, out, err = run(VERIFY, "--quiet", blob())
    eq((st, out, err), (0, "", ""))
    bad = write(path("q-bad.cm"), read(blob())[:-3])
    st, out, err = run(VERIFY, "-q", bad, path("q-missing"))
    eq((st, out, err), (3, "", ""))


@case
def verify_stdin():
    st, out, _ = run(VERIFY, "-", stdin=read(blob()))
    eq(st, 0)
    check(out.startswith("<stdin>: OK (relative"), out)
    st, out, _ = run(VERIFY, "-", stdin=b"")
    eq(st, 4)
    st, out, _ = run(VERIFY, "-", stdin=read(blob())[:-1])
    eq(st, 1)


@case
def verify_json_fields():
    good = blob("graph", 7, "absolute", True)
    bad = variant(blob(), "vj-bad.cm",
                  lambda b: b.__setitem__(113, b[113] ^ 0xff))
    missing = path("vj-missing.cm")
    st, out, err = run(VERIFY, "--json", good, bad, missing)
    eq(st, 3)
    doc = json.loads(out)
    eq(len(doc), 3)
    g, b, m = doc
    h = header(read(good))
    eq(g["file"], good)
    eq(g["valid"], True)
    eq(g["status"], 0)
    eq(g["mode"], "absolute")
    eq(g["version"], "1.0")
    eq(g["file_size"], len(read(good)))
    eq(g["blob_size"], h["blob_size"])
    eq(g["data_size"], h["data_end"] - h["header_size"])
    eq(g["table_size"], h["table_size"])
    eq(g["pointer_count"], h["pointer_count"])
    eq(g["errors"], [])
    eq(g["io_error"], None)
    eq(b["valid"], False)
    eq(b["status"], 1)
    eq(b["mode"], "relative")
    eq(len(b["errors"]), 1)
    e = b["errors"][0]
    eq(e["code"], 15)
    eq(e["name"], "CM_E_CHECKSUM")
    eq(e["offset"], 112)
    check(isinstance(e["message"], str) and e["message"])
    check("index" in e)
    eq(m["status"], 3)
    eq(m["valid"], False)
    check(m["io_error"], "io_error says why")
    eq(m["mode"], None)


@case
def verify_all_errors_and_max():
    src = blob("list", 9, "absolute")
    h = header(read(src))
    slots = [s for s, _ in blob_pointers(src)]

    def corrupt(b):
        for s in slots[:3]:  # three pointers far outside the data
            put64(b, s, 0x10)
    p = variant(src, "multi.cm", corrupt)
    flags = ["--no-checksum"]
    st, out, _ = run(VERIFY, *flags, p)
    eq(st, 1)
    eq(len(out.splitlines()), 1, "first defect only by default")
    st, out, _ = run(VERIFY, *flags, "--all-errors", p)
    eq(st, 1)
    lines = out.splitlines()
    check(len(lines) >= 3, "all defects: %r" % out)
    for s, line in zip(slots, lines):
        check(line.startswith("%s: offset 0x%x: " % (p, s)), line)
    st, out, _ = run(VERIFY, *flags, "--max-errors", "2", p)
    eq(len(out.splitlines()), 2, "--max-errors 2")
    st, out, _ = run(VERIFY, *flags, "--json", "--max-errors", "1", p)
    doc = json.loads(out)
    eq(len(doc[0]["errors"]), 1)
    eq(doc[0]["errors"][0]["name"], "CM_E_POINTER")
    eq(doc[0]["errors"][0]["offset"], slots[0])
    st, out, _ = run(VERIFY, *flags, "--json", "--all-errors", p)
    errs = json.loads(out)[0]["errors"]
    check(len(errs) >= 3)
    eq([x["offset"] for x in errs[:3]], slots[:3])
    del h


@case
def verify_no_checksum():
    p = variant(blob(), "nock.cm", lambda b: b.__setitem__(112, b[112] ^ 1))
    eq(run(VERIFY, p)[0], 1)
    eq(run(VERIFY, "--no-checksum", p)[0], 0)
    eq(run(DUMP, "--no-checksum", p)[0], 0)
    convert_ok("--no-checksum", p, "-o", path("nock-out.cm"))
    eq(run(VERIFY, path("nock-out.cm"))[0], 0, "convert writes a good sum")


@case
def verify_strict():
    p = blob("dangling", 5, "relative", True)
    eq(run(VERIFY, p)[0], 0, "dangling is valid without --strict")
    st, out, _ = run(VERIFY, "--strict", p)
    eq(st, 1)
    st, out, _ = run(VERIFY, "--strict", "--json", p)
    eq(json.loads(out)[0]["errors"][0]["name"], "CM_E_DANGLING")
    eq(run(DUMP, "--strict", p)[0], 1)
    eq(run(CONVERT, "--strict", p, "-o", path("strict.cm"))[0], 1)
    check(not os.path.exists(path("strict.cm")))
    eq(run(VERIFY, "--strict", blob("graph", 6, "absolute", True))[0], 0)


@case
def verify_many_files():
    files = [write(path("many-%d.cm" % i), read(blob())) for i in range(300)]
    st, out, _ = run(VERIFY, *files)
    eq(st, 0)
    eq(len(out.splitlines()), 300)


# ---- cma-dump ----

@case
def dump_default_text():
    p = blob("list", 5, "relative")
    h = header(read(p))
    st, out, err = run(DUMP, p)
    eq((st, err), (0, ""))
    check(re.search(r"^Format version:\s+1\.0$", out, re.M))
    check(re.search(r"^Mode:\s+relative$", out, re.M))
    check(re.search(r"^Base:\s+0x%x$" % h["base"], out, re.M))
    check(re.search(r"^Root offset:\s+0x%x$" % h["root"], out, re.M))
    check(re.search(r"^Data:.*%d bytes$" % (h["data_end"] - 128), out, re.M))
    check(re.search(r"^Table:.*%d bytes, 1\.00 bytes/pointer$" %
                    h["table_size"], out, re.M), out)
    check(re.search(r"^Pointer count:\s+%d$" % h["pointer_count"], out,
                    re.M))
    check(re.search(r"^Checksum:\s+stored 0x%016x, computed 0x%016x "
                    r"\(match\)$" % (h["checksum"], h["checksum"]), out,
                    re.M), out)
    rows = re.findall(r"^\s+(\d+)\s+0x([0-9a-f]+)\s+((?:[0-9a-f]{2} ?)+)"
                      r"\s+(\d+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)$", out, re.M)
    eq(len(rows), h["pointer_count"], "one row per pointer")
    prev = 0
    for i, (idx, slot, enc, delta, value, target) in enumerate(rows):
        slot, delta = int(slot, 16), int(delta)
        eq(int(idx), i)
        eq(delta, slot - prev)
        eq(bytes.fromhex(enc), leb128(delta // 8), "encoded bytes")
        eq(int(value, 16) - h["base"], int(target, 16))
        prev = slot
    st, out, _ = run(DUMP, blob("list", 5, "absolute"))
    check(re.search(r"^Mode:\s+absolute$", out, re.M))
    check("8.00 bytes/pointer" in out)


@case
def dump_header_relocs_limit():
    p = blob("list", 9, "absolute")
    _, out, _ = run(DUMP, "--header", p)
    check("Mode:" in out and "Relocation table" not in out)
    _, out, _ = run(DUMP, "--relocs", p)
    check("Mode:" not in out and "Relocation table: 8 entries" in out, out)
    _, out, _ = run(DUMP, "--relocs", "--limit", "3", p)
    eq(len(re.findall(r"^\s+\d+\s+0x", out, re.M)), 3)
    check("5 more (--limit)" in out, out)
    st, doc, _ = dump_json(p, "--limit", "3")
    eq(st, 0)
    eq(len(doc["relocs"]), 3)
    eq(doc["relocs_shown"], 3)
    eq(doc["relocs_truncated"], True)
    st, doc, _ = dump_json(p, "--header")
    check("header" in doc and "relocs" not in doc)


@case
def dump_json_schema():
    for mode in ("relative", "absolute"):
        p = blob("graph", 6, mode)
        data = read(p)
        h = header(data)
        st, doc, err = dump_json(p)
        eq((st, err), (0, ""))
        eq(doc["schema"], "cma-dump/1")
        eq(doc["file"], p)
        eq(doc["file_size"], len(data))
        eq(doc["valid"], True)
        eq(doc["status"], 0)
        eq(doc["errors"], [])
        jh = doc["header"]
        for name, _, _ in HEADER_FIELDS:
            eq(jh[name], h[name], name)
        eq(jh["mode"], mode)
        eq(jh["data_start"], h["header_size"])
        eq(jh["data_size"], h["data_end"] - h["header_size"])
        eq(jh["checksum_computed"], h["checksum"])
        eq(jh["checksum_ok"], True)
        eq(jh["object_map"], False)
        check(abs(jh["bytes_per_pointer"] -
                  h["table_size"] / h["pointer_count"]) < 1e-3)
        relocs = doc["relocs"]
        eq(len(relocs), h["pointer_count"])
        eq(doc["relocs_truncated"], False)
        prev, at = 0, h["table_offset"]
        for i, r in enumerate(relocs):
            eq(r["index"], i)
            eq(r["delta"], r["slot"] - prev)
            eq(r["value"], struct.unpack_from("<Q", data, r["slot"])[0])
            eq(r["target"], r["value"] - h["base"])
            eq(r["encoded_at"], at)
            enc = bytes.fromhex(r["encoded"])
            eq(data[at:at + len(enc)], enc, "encoded bytes are the table's")
            if mode == "relative":
                eq(enc, leb128(r["delta"] // 8))
            else:
                eq(enc, struct.pack("<Q", r["slot"]))
            at += len(enc)
            prev = r["slot"]
        eq(at, h["table_offset"] + h["table_size"])
        check(any(r["target"] == h["data_end"] for r in relocs),
              "the one-past-the-end pointer is listed")


@case
def dump_json_defective():
    src = blob("list", 6, "absolute")
    h = header(read(src))
    slots = [s for s, _ in blob_pointers(src)]
    # The fourth table entry goes backwards: the table decodes up to it.
    p = variant(src, "dj-order.cm",
                lambda b: put64(b, h["table_offset"] + 24, 8))
    st, doc, err = dump_json(p)
    eq(st, 1)
    eq(doc["valid"], False)
    eq(doc["status"], 1)
    check(doc["header"] is not None)
    eq(doc["header"]["checksum_computed"], None)
    eq([r["slot"] for r in doc["relocs"]], slots[:3], "decoded up to it")
    names = [e["name"] for e in doc["errors"]]
    check(names and names[0] in ("CM_E_ORDER", "CM_E_SLOT"), names)
    eq(doc["errors"][0]["offset"], h["table_offset"] + 24)
    eq(doc["errors"][0]["code"], {"CM_E_ORDER": 11, "CM_E_SLOT": 12}[names[0]])
    check(err.startswith("cma-dump: %s: offset 0x%x: " %
                         (p, h["table_offset"] + 24)), err)
    st, out, _ = run(DUMP, p)
    eq(st, 1)
    check("** defect at offset 0x%x" % (h["table_offset"] + 24) in out, out)
    eq(len(re.findall(r"^\s+\d+\s+0x", out, re.M)), 3)
    # A checksum mismatch: stored and computed differ in the dump.
    p = variant(src, "dj-sum.cm", lambda b: put64(b, 112, 0x1234))
    st, doc, _ = dump_json(p)
    eq(st, 1)
    eq(doc["header"]["checksum"], 0x1234)
    eq(doc["header"]["checksum_computed"], h["checksum"])
    eq(doc["header"]["checksum_ok"], False)
    st, out, _ = run(DUMP, "--header", p)
    check("MISMATCH" in out)
    # A header that does not decode: header null, status 1.
    p = write(path("dj-cut.cm"), read(src)[:100])
    st, doc, _ = dump_json(p)
    eq((st, doc["header"], doc["valid"]), (1, None, False))
    eq(doc["relocs"], [])
    eq(doc["errors"][0]["name"], "CM_E_TRUNCATED")
    # Cut after the header: the header still shows, the table meets the cut.
    p = write(path("dj-cut2.cm"), read(src)[:h["data_end"] + 8])
    st, doc, _ = dump_json(p)
    eq((st, doc["valid"]), (1, False))
    eq(doc["header"]["blob_size"], h["blob_size"])
    eq(doc["header"]["checksum_computed"], None)
    eq(doc["errors"][0]["name"], "CM_E_TRUNCATED")
    st, out, _ = run(DUMP, p)
    check(re.search(r"^Pointer count:\s+%d$" % h["pointer_count"], out, re.M))
    check("** defect at offset" in out)
    st, doc, _ = dump_json(write(path("dj-empty.cm"), b""))
    eq((st, doc["header"], doc["errors"][0]["name"]), (4, None, "CM_E_MAGIC"))


@case
def dump_stats():
    for mode in ("relative", "absolute"):
        p = blob("tree", 15, mode)
        h = header(read(p))
        st, doc, _ = dump_json(p, "--stats")
        eq(st, 0)
        s = doc["stats"]
        check("relocs" not in doc)
        relocs = dump_json(p)[1]["relocs"]
        n = len(relocs)
        eq(s["pointers"], n)
        eq(s["complete"], True)
        eq(s["absolute_size"], 8 * n)
        eq(s["relative_size"], sum(len(leb128(r["delta"] // 8))
                                   for r in relocs))
        eq(s["table_size"], h["table_size"])
        eq(s["largest_delta"], max(r["delta"] for r in relocs))
        eq(s["data_size"], h["data_end"] - h["header_size"])
        check(abs(s["density"] - n / (s["data_size"] // 8)) < 1e-5)
        check(abs(s["relative_bytes_per_pointer"] -
                  s["relative_size"] / n) < 1e-3)
        eq(s["absolute_bytes_per_pointer"], 8.0)
        st, out, _ = run(DUMP, "--stats", p)
        check(re.search(r"relative table:\s+%d bytes" % s["relative_size"],
                        out), out)
        check(re.search(r"absolute table:\s+%d bytes" % (8 * n), out))
        check("(this blob)" in out and "largest delta:" in out)


@case
def dump_hex():
    p = blob("list", 5, "relative")
    data = read(p)
    h = header(data)
    st, out, _ = run(DUMP, "--hex", p)
    eq(st, 0)
    lines = [x for x in out.splitlines() if re.match(r"^[0-9a-f]{8} ", x)]
    eq(len(lines), (len(data) + 15) // 16)
    for line in lines:
        off = int(line[:8], 16)
        hexpart = line[10:58].split()
        eq(bytes.fromhex("".join(hexpart)), data[off:off + 16], line)
    marks = re.findall(r"ptr@\+(\d+)->0x([0-9a-f]+)", out)
    eq(len(marks), h["pointer_count"], "each slot marked once")
    for line in lines:
        for m in re.finditer(r"ptr@\+(\d+)->0x([0-9a-f]+)", line):
            slot = int(line[:8], 16) + int(m.group(1))
            value = struct.unpack_from("<Q", data, slot)[0]
            eq(value - h["base"], int(m.group(2), 16))
    for part in ("header", "data", "relocation table"):
        check("-- %s at" % part in out, part)
    st, out, _ = run(DUMP, "--hex=0x90,0x20", p)
    lines = [x for x in out.splitlines() if re.match(r"^[0-9a-f]{8} ", x)]
    eq([x[:8] for x in lines], ["00000090", "000000a0"])
    st, out, _ = run(DUMP, "--hex=0x%x" % (len(data) + 1), p)
    eq(st, 2, "--hex past the end")
    # Not a blob: still a hexdump, no marks, status 4.
    q = write(path("hex-text"), b"plain text, not a blob")
    st, out, _ = run(DUMP, "--hex", q)
    eq(st, 4)
    check("plain text, not " in out)


@case
def dump_graph_regions():
    p = blob("list", 5, "relative")
    h = header(read(p))
    st, out, err = run(DUMP, "--graph=dot", p)
    eq((st, err), (0, ""))
    check(out.startswith("digraph") and out.rstrip().endswith("}"))
    nodes = re.findall(r'^\tn(\d+) \[label="0x([0-9a-f]+)\\n(\d+) B', out,
                       re.M)
    eq(len(nodes), 5, "a list's regions are its nodes")
    for _, off, size in nodes:
        eq(int(size), 16)
    edges = re.findall(r'^\tn(\d+) -> n(\d+) \[label="\+(\d+)"\];', out,
                       re.M)
    eq(len(edges), 4)
    for a, b, off in edges:
        eq(int(off), 8, "next is at +8 in a node")
    check("root" in out)
    st, out, err = run(DUMP, "--graph=dot", "--limit", "2", p)
    eq(st, 0)
    eq(len(re.findall(r'^\tn\d+ \[', out, re.M)), 2)
    check("graph cut at 2 nodes" in out and "graph cut at 2 nodes" in err)
    g = blob("graph", 6, "absolute")
    st, out, _ = run(DUMP, "--graph=dot", g)
    check("data_end" in out, "one-past-the-end edge")
    eq(len(re.findall(r" -> ", out)), header(read(g))["pointer_count"])
    del h


@case
def dump_graph_object_map():
    p = blob("tree", 7, "relative", True)
    st, doc, _ = dump_json(p)
    eq(st, 0)
    eq(doc["header"]["object_map"], True)
    objs = doc["objects"]
    eq(len(objs), 7)
    eq(doc["objects_total"], 7)
    for o in objs:
        eq(o["size"], 24)
    st, out, _ = run(DUMP, "--graph=dot", p)
    nodes = re.findall(r'^\tn\d+ \[label="0x([0-9a-f]+)\\n(\d+) B', out, re.M)
    eq([(int(a, 16), int(b)) for a, b in nodes],
       [(o["offset"], o["size"]) for o in objs])
    eq(len(re.findall(" -> ", out)), 6)
    st, out, _ = run(DUMP, p)
    check("Object map:" in out and "7 objects" in out)
    d = blob("dangling", 5, "relative", True)
    st, out, _ = run(DUMP, "--graph=dot", d)
    check("dangling" in out, "an edge into no object")


@case
def dump_stdin_and_color_off():
    st, out, _ = run(DUMP, "-", stdin=read(blob()))
    eq(st, 0)
    check("<stdin>" in out)
    check("\033[" not in out, "no colour when stdout is not a terminal")


# ---- cma-convert ----

@case
def convert_round_trips():
    for shape, n, omap in (("list", 7, False), ("tree", 12, True),
                           ("graph", 9, False), ("graph", 9, True),
                           ("flat", 4, False)):
        for first, second in (("relative", "absolute"),
                              ("absolute", "relative")):
            src = blob(shape, n, first, omap)
            a, b = path("rt-a.cm"), path("rt-b.cm")
            convert_ok(src, "-o", a, "--" + second)
            h = header(read(a))
            eq(h["mode_value"], 1 if second == "relative" else 2)
            eq(run(VERIFY, a)[0], 0)
            eq(blob_pointers(a), blob_pointers(src), "same pointers")
            convert_ok(a, "-o", b, "--" + first)
            eq(read(b), read(src), "%s %s round trip" % (shape, first))
            convert_ok(src, "-o", b)
            eq(read(b), read(src), "no mode option: a copy")


@case
def convert_rebase():
    src = blob("graph", 8, "relative")
    out = path("rebased.cm")
    convert_ok(src, "-o", out, "--rebase", "0x10000")
    h = header(read(out))
    eq(h["base"], 0x10000)
    old = blob_pointers(src)
    base0 = header(read(src))["base"]
    eq(blob_pointers(out), [(s, v - base0 + 0x10000) for s, v in old])
    convert_ok(src, "-o", out, "--rebase", "65536", "--absolute")
    eq(header(read(out))["base"], 65536)
    # Two runs of one program: different bases, same canonical bytes.
    a, b = path("canon-1.cm"), path("canon-2.cm")
    subprocess.run([MAKE_BLOB, "tree", "9", "relative", a], check=True)
    subprocess.run([MAKE_BLOB, "tree", "9", "relative", b], check=True)
    convert_ok(a, "-o", path("canon-1.out"), "--rebase", "0")
    convert_ok(b, "-o", path("canon-2.out"), "--rebase", "0")
    eq(read(path("canon-1.out")), read(path("canon-2.out")))
    eq(header(read(path("canon-1.out")))["base"], 0)


@case
def convert_in_place_and_permissions():
    p = write(path("inplace.cm"), read(blob("list", 5, "relative")))
    os.chmod(p, 0o640)
    ino = os.stat(p).st_ino
    convert_ok(p, "--in-place", "--absolute")
    st = os.stat(p)
    eq(stat.S_IMODE(st.st_mode), 0o640, "--in-place keeps the mode")
    check(st.st_ino != ino, "replaced by rename, not rewritten")
    eq(header(read(p))["mode_value"], 2)
    convert_ok(p, "-i", "--relative")
    eq(read(p), read(blob("list", 5, "relative")))
    for mask, want in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        out = path("perm-%o.cm" % mask)
        st_, _, err = run(CONVERT, blob(), "-o", out,
                          preexec_fn=lambda m=mask: os.umask(m))
        eq(st_, 0, err)
        eq(stat.S_IMODE(os.stat(out).st_mode), want, "umask %o" % mask)
    eq(sorted(x for x in os.listdir(TMP) if x.startswith(".")), [],
       "no temporary file left")


@case
def convert_replaces_existing_output():
    out = write(path("existing.cm"), b"old bytes")
    convert_ok(blob("tree", 5, "absolute"), "-o", out, "--relative")
    eq(run(VERIFY, out)[0], 0)
    eq(header(read(out))["mode_value"], 1)


@case
def convert_refusals_keep_output():
    out = write(path("keep.cm"), b"precious")
    for data, want in ((read(blob())[:-1], 1), (b"", 4), (b"nope" * 9, 4)):
        p = write(path("refused.cm"), data)
        st, o, err = run(CONVERT, p, "-o", out, "--absolute")
        eq(st, want, err)
        eq(read(out), b"precious", "OUT keeps its bytes")
        check(err.startswith("cma-convert: %s: offset 0x" % p), err)
    st, _, _ = run(CONVERT, path("refused.cm"), "-o", path("never.cm"))
    check(not os.path.exists(path("never.cm")), "a missing OUT stays so")
    eq([x for x in os.listdir(TMP) if x.startswith(".")], [])


@case
def convert_stdin_input():
    out = path("from-stdin.cm")
    st, _, err = run(CONVERT, "-", "-o", out, "--absolute",
                     stdin=read(blob()))
    eq(st, 0, err)
    eq(blob_pointers(out), blob_pointers(blob()))


@case
def convert_parent_is_a_file():
    parent = write(path("not-a-dir"), b"x")
    st, out, err = run(CONVERT, blob(), "-o", os.path.join(parent, "o.cm"))
    eq(st, 3, err)
    check(err.startswith("cma-convert: "), err)
    eq(read(parent), b"x")
    st, _, _ = run(CONVERT, blob(), "-o", path("no-such-dir/o.cm"))
    eq(st, 3)
    check(not os.path.exists(path("no-such-dir")))


def limit_fsize(limit):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


@case
def convert_file_size_limit():
    src = blob("tree", 200, "relative")
    d = os.path.join(TMP, "fsize")
    os.mkdir(d)
    out = write(os.path.join(d, "out.cm"), b"old contents")
    before = sorted(os.listdir(d))
    st, _, err = run(CONVERT, src, "-o", out, "--absolute",
                     preexec_fn=limit_fsize(4096))
    eq(st, 3, err)
    check("File too large" in err or "cannot write" in err, err)
    eq(read(out), b"old contents", "OUT intact")
    eq(sorted(os.listdir(d)), before, "no temporary file left")
    st, _, err = run(CONVERT, src, "-o", os.path.join(d, "new.cm"),
                     preexec_fn=limit_fsize(4096))
    eq(st, 3, err)
    eq(sorted(os.listdir(d)), before, "a missing OUT stays missing")
    # In place: the input survives.
    p = write(os.path.join(d, "in.cm"), read(src))
    st, _, _ = run(CONVERT, p, "--in-place", "--absolute",
                   preexec_fn=limit_fsize(4096))
    eq(st, 3)
    eq(read(p), read(src))


@case
def convert_relative_over_2gib_refused():
    """A sparse absolute blob whose data passes 2 GiB: --relative refused."""
    base = 0x7f0000000000
    data_end = (1 << 31) + 4096
    p = path("huge.cm")
    h = bytearray(128)
    h[0:8] = MAGIC
    struct.pack_into("<HHIII", h, 8, 1, 0, 128, 2, 0)
    struct.pack_into("<QQQQQQQQQQQ", h, 32, base, data_end + 8, 128,
                     data_end, data_end, 8, 1, 0, 0, data_end + 8, 0)
    with open(p, "wb") as f:
        f.write(h)
        f.write(struct.pack("<QQ", 0, base + 128))  # slot 0x88 -> 0x80
        f.seek(data_end)
        f.write(struct.pack("<Q", 136))
    eq(run(VERIFY, "--no-checksum", p)[0], 0, "the huge blob is well formed")
    out = path("huge-rel.cm")
    st, _, err = run(CONVERT, "--no-checksum", p, "-o", out, "--relative")
    eq(st, 1, err)
    check("2 GiB" in err or "relative" in err, err)
    check(not os.path.exists(out), "no output")
    eq([x for x in os.listdir(TMP) if x.startswith(".huge")], [])
    os.unlink(p)


# ---- legacy import ----

@case
def legacy_absolute_import():
    data, slots, targets = legacy_list(LEGACY_BASE, 5, nulls=True)
    p = write(path("legacy-abs.bin"), legacy_absolute(data, slots,
                                                      LEGACY_BASE))
    out = path("legacy-abs.cm")
    convert_ok("--from-legacy", p, "-o", out)
    h = header(read(out))
    eq(h["mode_value"], 2, "the legacy blob's own mode")
    # Offsets move up by the header; addresses stay: the base moves down.
    eq(h["base"], LEGACY_BASE - LEGACY_SHIFT)
    eq(h["root"], 8 + LEGACY_SHIFT)
    eq(run(VERIFY, out)[0], 0)
    ptrs = blob_pointers(out)
    eq(len(ptrs), len(targets), "NULL slots are dropped")
    eq(ptrs, [(s + LEGACY_SHIFT, LEGACY_BASE + t)
              for s, t in sorted(targets.items())])
    convert_ok("--from-legacy", p, "-o", out, "--relative", "--rebase", "0")
    h = header(read(out))
    eq((h["mode_value"], h["base"]), (1, 0))
    eq(run(VERIFY, out)[0], 0)


@case
def legacy_relative_import_negative_deltas():
    data, slots, targets = legacy_list(LEGACY_BASE, 6, nulls=True)
    order = list(reversed(slots))  # registered back to front: deltas < 0
    raw = legacy_relative(data, order, LEGACY_BASE)
    p = write(path("legacy-rel.bin"), raw)
    out = path("legacy-rel.cm")
    convert_ok("--from-legacy", p, "-o", out)
    h = header(read(out))
    eq(h["mode_value"], 1)
    eq(run(VERIFY, out)[0], 0)
    eq(blob_pointers(out),
       [(s + LEGACY_SHIFT, LEGACY_BASE + t)
        for s, t in sorted(targets.items())])
    convert_ok("--from-legacy", "--absolute", p, "-o", out)
    eq(header(read(out))["mode_value"], 2)
    # The worked example of the legacy format: one slot at 104.
    data = bytearray(120)
    put64(data, 0, LEGACY_BASE + 8)
    put64(data, 104, LEGACY_BASE + 16)
    raw = legacy_relative(data, [104], LEGACY_BASE)
    eq(raw[120:123], bytes([0x00, 0x28, 0x81]), "the documented bytes")
    p = write(path("legacy-104.bin"), raw)
    convert_ok("--from-legacy", p, "-o", out)
    eq(blob_pointers(out), [(104 + LEGACY_SHIFT, LEGACY_BASE + 16)])


def legacy_refusals():
    b = LEGACY_BASE
    data, slots, _ = legacy_list(b, 4)
    yield "null-root", legacy_absolute(bytes(8) + data[8:], slots, b)
    d = bytearray(data)
    put64(d, 0, b + 0x100000)
    yield "root-outside", legacy_absolute(d, slots, b)
    d = bytearray(data)
    put64(d, slots[1], b + 0x100000)
    yield "target-outside", legacy_absolute(d, slots, b)
    yield "target-outside-rel", legacy_relative(d, slots, b)
    yield "slot-unaligned", legacy_absolute(data, [slots[0] + 4], b)
    yield "slot-unaligned-rel", legacy_relative(data, [slots[0] + 4], b)
    yield "slot-in-root", legacy_absolute(data, [0] + slots, b)
    yield "slot-in-root-rel", legacy_relative(data, [16, 0], b)
    yield "slot-at-end", legacy_absolute(data, slots + [len(data)], b)
    yield "slot-past-end-rel", legacy_relative(data, [len(data) + 64], b)
    yield "unsorted", legacy_absolute(data, [slots[1], slots[0]], b)
    yield "duplicated", legacy_absolute(data, [slots[0], slots[0]], b)
    yield "junk", legacy_absolute(data, slots + [0xdeadbeefdeadbeef], b)
    yield "count-too-large", legacy_absolute(data, slots, b, n=1 << 40)
    # Six bytes with bit 7 set: a delta longer than six bytes.
    yield "delta-7-bytes", legacy_relative(data, None, b,
                                           raw_table=[0x81] * 6 + [1, 0])
    # 0x81 0x80 0x80 0x80 0x80 0x00: 1 << 30 ... over 2^31 - 1.
    yield "delta-over-32-bits", legacy_relative(
        data, None, b, raw_table=[0x82, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00])
    yield "continuation-bit-6", legacy_relative(
        data, None, b, raw_table=[0xc1, 0x08, 0x00])
    yield "minus-zero", legacy_relative(data, None, b,
                                        raw_table=[0x18, 0x40])
    # No terminator: every byte below the tail is non-zero.
    yield "no-terminator", (b"\x11" * 64) + struct.pack("<QQ", 0, b)
    yield "too-short", b"\0" * 12


@case
def legacy_refusals_exit_1():
    out = path("legacy-refused.cm")
    for name, raw in legacy_refusals():
        p = write(path("legacy-" + name + ".bin"), raw)
        st, _, err = run(CONVERT, "--from-legacy", p, "-o", out)
        eq(st, 1, "%s: %s" % (name, err))
        check(re.match(r"cma-convert: %s: offset 0x[0-9a-f]+: \S" %
                       re.escape(p), err), "%s: %r" % (name, err))
        check(not os.path.exists(out), name + ": no output")


# ---- runner ----

def main():
    passed = failed = 0
    for fn in CASES:
        try:
            fn()
        except Exception:
            failed += 1
            print("FAIL %s" % fn.__name__)
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print("ok   %s" % fn.__name__)
        sys.stdout.flush()
    if not failed:
        subprocess.run(["rm", "-rf", TMP])
    else:
        print("files kept in " + TMP)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
