#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cma-convert --from-legacy: pre-1.0 cma blobs imported, and every
inconsistent one refused.
"""
from clitest import *  # noqa: F401,F403


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


run_cases()
