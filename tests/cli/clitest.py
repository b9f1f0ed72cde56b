#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Shared by the command-line tests (cli-*.py): how a tool is run, sample
blobs, the checks, and the runner meson drives one case at a time.

A test file: `from clitest import *`, then cases marked `@case`, then
`run_cases()`. It is run as

    cli-AREA.py CASE|all CMA-DUMP CMA-VERIFY CMA-CONVERT MAKE-BLOB

and exits 0 (passed), 1 (failed) or 77 (skipped: raise Skip("why")).
tests/cli/meson.build reads the case names from the file, so each case is
a meson test of its own. Set CMA_TOOL_WRAPPER (e.g. "valgrind -q
--error-exitcode=99") to run every tool under a wrapper. In a cross build
meson sets MESON_EXE_WRAPPER (e.g. qemu-aarch64-static): every program the
build made, tools and helpers, runs under it.
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


DUMP, VERIFY, CONVERT, MAKE_BLOB = (sys.argv[2:6] + [None] * 4)[:4]
WRAPPER = shlex.split(os.environ.get("CMA_TOOL_WRAPPER", ""))
EXE = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))
TMP = tempfile.mkdtemp(prefix="cma-cli-")
CASES = []
SKIPPED = 77  # what meson counts as a skip

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


class Skip(Exception):
    """Raised by a case that cannot run here; the reason is printed."""


def case(fn):
    CASES.append(fn)
    return fn


# ---- helpers ----

def run(tool, *args, stdin=None, preexec_fn=None, cwd=None, stdout=None,
        env=None):
    """Run a tool; return (status, stdout text, stderr text)."""
    p = subprocess.run(WRAPPER + EXE + [tool] + [str(a) for a in args],
                       input=stdin, stdout=stdout or subprocess.PIPE,
                       stderr=subprocess.PIPE, preexec_fn=preexec_fn,
                       cwd=cwd, env=env)
    out = p.stdout.decode("utf-8", "replace") if p.stdout else ""
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


def run_tty(tool, *args, stderr_tty=False, env=None):
    """Run a tool with stdout (and stderr with stderr_tty) on a pseudo
    terminal; return (status, what the terminal got, stderr text), with
    the terminal's CR LF line ends read as LF."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(WRAPPER + EXE + [tool] + [str(a) for a in args],
                         stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=slave if stderr_tty else subprocess.PIPE,
                         env=env)
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        got += chunk
    err = b"" if stderr_tty else p.stderr.read()
    p.wait()
    os.close(master)
    text = got.decode("utf-8", "replace").replace("\r\n", "\n")
    return p.returncode, text, err.decode("utf-8", "replace")


def helper(*args):
    """Run a helper program the build made (make-blob); it must succeed."""
    subprocess.run(EXE + [str(a) for a in args], check=True)


def path(name):
    return os.path.join(TMP, name)


_blobs = {}


def blob(shape="list", n=5, mode="relative", omap=False):
    """A sample blob file from make-blob (built once per kind)."""
    key = (shape, n, mode, omap)
    if key not in _blobs:
        p = path("%s-%d-%s%s.cm" % (shape, n, mode, "-map" if omap else ""))
        helper(MAKE_BLOB, shape, n, mode, p, *(["map"] if omap else []))
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
    helper(MAKE_BLOB, "rechecksum", p)
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


# ---- pre-1.0 cma blobs (doc/legacy-format.md) ----

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


# ---- runner ----

def run_cases():
    """Run the case named on the command line, or every case ("all")."""
    want = sys.argv[1] if len(sys.argv) > 1 else "all"
    chosen = [fn for fn in CASES if want in ("all", fn.__name__)]
    if not chosen:
        print("no case named %r" % want)
        sys.exit(1)
    failed = skipped = 0
    for fn in chosen:
        try:
            fn()
        except Skip as why:
            skipped += 1
            print("skip %s: %s" % (fn.__name__, why))
        except Exception:
            failed += 1
            print("FAIL %s" % fn.__name__)
            traceback.print_exc(file=sys.stdout)
        else:
            print("ok   %s" % fn.__name__)
        sys.stdout.flush()
    if failed:
        print("files kept in " + TMP)
    else:
        subprocess.run(["rm", "-rf", TMP])
    if failed:
        sys.exit(1)
    sys.exit(SKIPPED if skipped == len(chosen) else 0)
