#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cma-dump: the text, JSON, statistics, hex and graph views.
"""
from clitest import *  # noqa: F401,F403


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


def table_rows(text):
    """(index, slot, delta, value) of each relocation table row in text."""
    return [tuple(int(x, 0) for x in m.groups())
            for m in re.finditer(r"^\s+(\d+)\s+(0x[0-9a-f]+)\s+"
                                 r"(?:(?:[0-9a-f]{2} )*[0-9a-f]{2}\s+|-\s+)?"
                                 r"(\d+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+$",
                                 text, re.M)]


@case
def dump_summary_by_default():
    for mode in ("relative", "absolute"):
        p = blob("list", 3000, mode)
        h = header(read(p))
        relocs = dump_json(p)[1]["relocs"]
        st, out, err = run(DUMP, p)
        eq((st, err), (0, ""))
        check(re.search(r"^Mode:\s+%s$" % mode, out, re.M), out)
        check(re.search(r"^Verdict:\s+valid$", out, re.M), out)
        # The statistics are --stats' own.
        stats = run(DUMP, "--stats", p)[1]
        check(stats in out, out)
        first, around = out.split("\nAround the root (offset 0x%x)"
                                  % h["root"])
        eq(table_rows(first), [(r["index"], r["slot"], r["delta"],
                                r["value"]) for r in relocs[:8]])
        # The four entries before the root's offset and those from it.
        before = [r for r in relocs if r["slot"] < h["root"]][-4:]
        after = [r for r in relocs if r["slot"] >= h["root"]][:4]
        check(after, "the list's root holds its next pointer")
        eq(table_rows(around), [(r["index"], r["slot"], r["delta"],
                                 r["value"]) for r in before + after])
        check("%d entries in all: --relocs or --all lists every one"
              % len(relocs) in out, out)
        # Its length does not grow with the table.
        small = run(DUMP, blob("list", 300, mode))[1]
        eq(len(small.splitlines()), len(out.splitlines()), small)


@case
def dump_all_shows_every_entry():
    p = blob("list", 3000, "relative")
    st, out, err = run(DUMP, "--all", p)
    eq((st, err), (0, ""))
    relocs = dump_json(p)[1]["relocs"]
    eq(table_rows(out), [(r["index"], r["slot"], r["delta"], r["value"])
                         for r in relocs])
    eq(out, run(DUMP, "--header", "--relocs", "--stats", p)[1])
    eq(run(DUMP, "-a", p)[1], out)
    # The object map, whole: the summary stops at its first objects.
    p = blob("list", 3000, "relative", omap=True)
    objects = [m for m in re.findall(r"^\s+\d+\s+0x[0-9a-f]+\s+\d+ bytes",
                                     run(DUMP, "--all", p)[1], re.M)]
    eq(len(objects), 3000)
    summary = run(DUMP, p)[1]
    eq(len(re.findall(r"^\s+\d+\s+0x[0-9a-f]+\s+\d+ bytes", summary,
                      re.M)), 8, summary)
    check("3000 objects (the rest cut: --limit)" in summary, summary)
    # A defective table: the summary stops at the defect, as the walk does.
    bad = variant(blob("list", 3000, "absolute"), "cut-slot.cm",
                  lambda b: put64(b, header(b)["table_offset"] + 8 * 3,
                                  1 << 40))
    st, out, err = run(DUMP, bad)
    eq(st, 1)
    eq(len(table_rows(out)), 3, out)
    check("** defect at offset" in out and "Around the root" not in out,
          out)


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


@case
def dump_pager_only_when_asked_on_a_terminal():
    """--pager sends the output through $PAGER when stdout is a terminal;
    without --pager, or to a pipe or a file, no pager runs."""
    b = blob("tree", 9, "relative")
    paged, ran = path("paged.txt"), path("pager-ran")
    env = dict(os.environ)
    env.pop("LESS", None)
    env.pop("NO_COLOR", None)
    env["PAGER"] = "echo \"$LESS\" > '%s'; cat > '%s'" % (ran, paged)
    st, plain, _ = run_tty(DUMP, b, env=env)
    eq(st, 0)
    check(not os.path.exists(ran), "no pager without --pager")
    st, shown, err = run_tty(DUMP, "--pager", b, env=env)
    eq(st, 0, err)
    eq(shown, "", "everything went to the pager")
    eq(read(paged).decode(), plain, "the pager got the terminal's output, "
       "colour included")
    eq(read(ran), b"FRX\n", "LESS=FRX when unset: one screen is not paged")
    env["LESS"] = "-S"
    run_tty(DUMP, "--pager", b, env=env)
    eq(read(ran), b"-S\n", "the user's LESS is kept")
    os.unlink(ran)
    p = subprocess.run(WRAPPER + EXE + [DUMP, "--pager", b], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(p.returncode, 0)
    check(not os.path.exists(ran), "no pager when stdout is a pipe")
    eq(p.stdout, run(DUMP, b, stdout=None)[1].encode(), "plain output")
    # A pager that exits early: the dump ends quietly, no error message.
    env["PAGER"] = "head -n 1 > /dev/null"
    st, shown, err = run_tty(DUMP, "--pager", "--relocs", blob("list", 3000),
                             env=env)
    eq(err, "", "quitting the pager is no error")


run_cases()
