#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cma-convert --from-legacy: pre-1.0 cma blobs imported, and every
inconsistent one refused, each for its own reason.
"""
from clitest import *  # noqa: F401,F403


def imported_pointers(data_slots_targets):
    """The (slot, value) pairs a default import lists: offsets and values
    move up by the 1.0 header, the recorded base is B itself."""
    return [(s + LEGACY_SHIFT, LEGACY_BASE + LEGACY_SHIFT + t)
            for s, t in sorted(data_slots_targets.items())]


@case
def legacy_absolute_import():
    data, slots, targets = legacy_list(LEGACY_BASE, 5, nulls=True)
    p = write(path("legacy-abs.bin"), legacy_absolute(data, slots,
                                                      LEGACY_BASE))
    out = path("legacy-abs.cm")
    convert_ok("--from-legacy", p, "-o", out)
    h = header(read(out))
    eq(h["mode_value"], 2, "the legacy blob's own mode")
    # Offsets move up by the header; the base is B, page-aligned, so the
    # blob can be mapped where the original lived.
    eq(h["base"], LEGACY_BASE)
    eq(h["base"] % 4096, 0, "a page-aligned base")
    eq(h["root"], 8 + LEGACY_SHIFT)
    eq(run(VERIFY, out)[0], 0)
    ptrs = blob_pointers(out)
    eq(len(ptrs), len(targets), "NULL slots are dropped")
    eq(ptrs, imported_pointers(targets))
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
    eq(blob_pointers(out), imported_pointers(targets))
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
    eq(blob_pointers(out), [(104 + LEGACY_SHIFT, LEGACY_BASE + 136)])


@case
def legacy_repeated_slot_kept():
    """A slot registered twice imports once, and the slots registered
    after it are kept: in relative mode the repeat is a zero delta, which
    reads like the table's end."""
    data, slots, targets = legacy_list(LEGACY_BASE, 6)
    twice = slots[:2] + [slots[1]] + slots[2:]
    for mode, raw in (("relative", legacy_relative(data, twice,
                                                   LEGACY_BASE)),
                      ("absolute", legacy_absolute(data, twice,
                                                   LEGACY_BASE))):
        p = write(path("legacy-twice-%s.bin" % mode), raw)
        out = path("legacy-twice-%s.cm" % mode)
        convert_ok("--from-legacy", p, "-o", out)
        eq(blob_pointers(out), imported_pointers(targets), mode)
        eq(run(VERIFY, out)[0], 0, mode)


def legacy_refusals():
    """(name, blob, what the message says)."""
    b = LEGACY_BASE
    data, slots, _ = legacy_list(b, 4)
    yield "null-root", legacy_absolute(bytes(8) + data[8:], slots, b), \
        "NULL root"
    d = bytearray(data)
    put64(d, 0, b + 0x100000)
    yield "root-outside", legacy_absolute(d, slots, b), "root"
    d = bytearray(data)
    put64(d, slots[1], b + 0x100000)
    yield "target-outside", legacy_absolute(d, slots, b), "outside"
    yield "target-outside-rel", legacy_relative(d, slots, b), "outside"
    yield "slot-unaligned", legacy_absolute(data, [slots[0] + 4], b), \
        "without CM_ALIGNED"
    yield "slot-unaligned-rel", legacy_relative(data, [slots[0] + 4], b), \
        "without CM_ALIGNED"
    yield "slot-in-root", legacy_absolute(data, [0] + slots, b), "root word"
    yield "slot-in-root-rel", legacy_relative(data, [16, 0], b), "root word"
    yield "slot-at-end", legacy_absolute(data, slots + [len(data)], b), \
        "not inside"
    yield "slot-past-end-rel", legacy_relative(data, [len(data) + 64], b), \
        "not inside"
    yield "unsorted", legacy_absolute(data, [slots[1], slots[0]], b), \
        "below the previous"
    yield "junk", legacy_absolute(data, slots + [0xdeadbeefdeadbeef], b), \
        "not inside"
    yield "count-too-large", legacy_absolute(data, slots, b, n=1 << 40), \
        "too large"
    # Six bytes with bit 7 set: a delta longer than six bytes.
    yield "delta-7-bytes", legacy_relative(
        data, None, b, raw_table=[0x81] * 6 + [1, 0]), "longer than 6"
    # 0x82 0x80 0x80 0x80 0x80 0x00: 2^31, over 2^31 - 1.
    yield "delta-over-32-bits", legacy_relative(
        data, None, b, raw_table=[0x82, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00]), \
        "outside 32 bits"
    yield "continuation-bit-6", legacy_relative(
        data, None, b, raw_table=[0xc1, 0x08, 0x00]), "bit 6"
    yield "minus-zero", legacy_relative(data, None, b,
                                        raw_table=[0x18, 0x40]), "minus zero"
    # No terminator: every byte below the tail is non-zero.
    d = bytearray(b"\x11" * 64)
    put64(d, 0, b + 8)
    yield "no-terminator", bytes(d) + struct.pack("<QQ", 0, b), "terminator"
    yield "too-short", b"\0" * 12, "too short"
    # The table lost a slot (a byte of it zeroed, the count decreased):
    # its word keeps the producer's address; refused at the word.
    yield "lost-slot", legacy_absolute(data, slots[1:], b), \
        "offset 0x%x: word 0x%x points into the data (offset 0x%x) but is " \
        "not a recorded pointer slot" % (slots[0], b + 24, 24)
    yield "lost-slot-rel", legacy_relative(data, slots[:-1], b), \
        "offset 0x%x: word" % slots[-1]
    # A pointer at an unaligned offset (an allocation made without
    # CM_ALIGNED) that no slot lists.
    d = bytearray(data) + bytes(16)
    put64(d, len(data) + 3, b + 8)
    yield "unaligned-word", legacy_relative(d, slots, b), \
        "offset 0x%x: unaligned word" % (len(data) + 3)


@case
def legacy_refusals_exit_1():
    out = path("legacy-refused.cm")
    for name, raw, what in legacy_refusals():
        p = write(path("legacy-" + name + ".bin"), raw)
        st, _, err = run(CONVERT, "--from-legacy", p, "-o", out)
        eq(st, 1, "%s: %s" % (name, err))
        check(re.match(r"cma-convert: %s: offset 0x[0-9a-f]+: \S" %
                       re.escape(p), err), "%s: %r" % (name, err))
        check(what in err, "%s: %r lacks %r" % (name, err, what))
        check(not os.path.exists(out), name + ": no output")


@case
def legacy_truncated():
    """A blob cut short anywhere in its tail (n and B) is reported as a
    truncated legacy blob of its mode, at the end of the file."""
    data, slots, _ = legacy_list(LEGACY_BASE, 5)
    out = path("legacy-cut.cm")
    for mode, raw, most in (
            ("relative", legacy_relative(data, slots, LEGACY_BASE), 16),
            ("absolute", legacy_absolute(data, slots, LEGACY_BASE), 15)):
        for cut in range(1, most + 1):
            p = write(path("legacy-cut.bin"), raw[:-cut])
            st, _, err = run(CONVERT, "--from-legacy", p, "-o", out)
            eq(st, 1, "%s cut %d: %s" % (mode, cut, err))
            want = "offset 0x%x: truncated %s legacy blob: its last %d " \
                   "bytes" % (len(raw) - cut, mode, cut)
            check(want in err, "%s cut %d: %r" % (mode, cut, err))
            check(not os.path.exists(out))


@case
def legacy_newer_bitmap_format():
    """The original cma's later format (a header of bitmap offset and
    length, base and root; the data; a bitmap of its pointer words) is
    named, not read as a pre-1.0 blob with an absurd pointer count."""
    b = LEGACY_BASE
    size = 32 + 64
    bits = 8 * ((size >> 9) + 1)
    raw = bytearray(size + bits)
    put64(raw, 0, size)
    put64(raw, 8, bits)
    put64(raw, 16, b)
    put64(raw, 24, b + 32)           # root: the first object
    put64(raw, 40, b + 48)           # a pointer word ...
    raw[size] = 1 << (40 // 8)       # ... and its bit
    p = write(path("bitmap.bin"), bytes(raw))
    out = path("bitmap.cm")
    st, _, err = run(CONVERT, "--from-legacy", p, "-o", out)
    eq(st, 1, err)
    check("offset 0x0: not a legacy cma blob: this looks like the newer "
          "bitmap format, which is not supported" in err, err)
    check(not os.path.exists(out))


run_cases()
