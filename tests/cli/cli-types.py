#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Typed views and checks from the producer's debug info: producers built
here with -g (DWARF 5 and 4, gcc and clang when installed) write blobs of
lists, trees, a DAG, a cycle, arrays of structs, unions, enums, bitfields
and anonymous members, each printing what cma-dump --json must show; the
original cma's WRONG cases are refused with their path from the root.

    cli-types.py CASE|all CMA-DUMP CMA-VERIFY CMA-CONVERT MAKE-BLOB
                 PRODUCER.c CONSUMER.c INCLUDE-DIR LIBCMA.so CACHE-DIR
                 SANITIZE CC-ID

SANITIZE is the build's b_sanitize and CC-ID its compiler: a sanitized
libcma needs its sanitizers' runtime in the program, so the producers are
then built by that compiler only, with the same -fsanitize.
"""
import shutil

from clitest import *

PRODUCER_C, CONSUMER_C, INCLUDE, LIBCMA, CACHE, SANITIZE, CC_ID = \
    (sys.argv[6:13] + [None] * 7)[:7]
SANITIZE_FLAGS = (["-fsanitize=" + SANITIZE]
                  if SANITIZE and SANITIZE != "none" else [])
LIBCMA = LIBCMA and os.path.abspath(LIBCMA)  # producers run anywhere
GOOD = ("list", "cycle", "tree", "dag", "arrays", "union", "anon",
        "data_srv", "data")
WRONG = {  # shape: what typed verification says (the start of it)
    "assign": "pointer field holds 0x",
    "foreign": "pointer field holds 0x",
    "fnptr": "function pointer 0x",
    "layout": "recorded slot lies at no pointer field",
    "past-end": "string at 0x",
    "no-fit": "target object (struct rec, 48 bytes) at 0x",
    "small": "the allocation at 0x",
}


def compilers():
    """(name, path) of each C compiler installed, gcc first."""
    names = [CC_ID] if SANITIZE_FLAGS else ["gcc", "clang"]
    found = [(c, shutil.which(c)) for c in names]
    found = [(c, p) for c, p in found if p]
    if EXE:
        raise Skip("a cross build: the producers are built for the host")
    if not found:
        raise Skip("no C compiler to build the producers")
    return found


def build(source, name, flags):
    """The program built from source with flags, cached by name (an atomic
    rename: meson runs the cases in parallel)."""
    os.makedirs(CACHE, exist_ok=True)
    out = os.path.join(CACHE, name)
    if (os.path.exists(out) and
            os.path.getmtime(out) >= os.path.getmtime(source)):
        return out
    tmp = out + ".%d" % os.getpid()
    compile_program(source, tmp, flags)
    os.rename(tmp, out)
    return out


def compile_program(source, out, flags, cwd=None):
    """Compile source into out against this libcma: flags[0] the compiler,
    the rest its options (the build's sanitizers added)."""
    lib = ["-L" + os.path.dirname(LIBCMA), "-Wl,-rpath," +
           os.path.dirname(LIBCMA), "-l:" + os.path.basename(LIBCMA)]
    subprocess.run([flags[0]] + flags[1:] + SANITIZE_FLAGS +
                   ["-O0", "-I" + INCLUDE, source, "-o", out] + lib,
                   check=True, capture_output=True, cwd=cwd)


def producers():
    """Every producer build: (label, program). Under a tool wrapper
    (valgrind: the tools' memory, not the compilers' DWARF, is on trial)
    one build a DWARF version, by a different compiler each if there are
    two."""
    out = []
    ccs = [cc for cc, _ in compilers()]
    for i, cc in enumerate(ccs):
        for dwarf in ("5", "4"):
            if WRAPPER and len(ccs) > 1 and (i == 0) != (dwarf == "5"):
                continue
            label = "%s-dwarf%s" % (cc, dwarf)
            out.append((label, build(PRODUCER_C, "producer-" + label,
                                     [cc, "-g", "-gdwarf-" + dwarf])))
    return out


def produce(prog, shape):
    """A blob of one shape: (path, the producer's expectation)."""
    p = path("%s-%s.cm" % (os.path.basename(prog), shape))
    r = subprocess.run([prog, shape, p], check=True, capture_output=True,
                       text=True)
    return p, json.loads(r.stdout)


def typed_args(prog, exp):
    return ["--types=" + prog, "--root-type=" + exp["root"]]


def typed_json(*args):
    st, out, err = run(DUMP, "--json", *args)
    eq((st, err), (0, ""), "cma-dump --json %s" % (args,))
    return json.loads(out)


def first_typed_error(p, *args):
    """cma-verify's one refusal line: (path, offset, message)."""
    st, out, err = run(VERIFY, *args, p)
    eq(st, 1, "%s: exit status (%s%s)" % (p, out, err))
    m = re.match(r"^%s: (.*), offset 0x([0-9a-f]+): (.*)$" % re.escape(p),
                 out.splitlines()[0])
    check(m, "no typed refusal in %r" % out)
    return m.group(1), int(m.group(2), 16), m.group(3)


def type_section(data):
    """(payload offset, payload size) of a blob's type section."""
    h = header(data)
    at, end = h["sections_offset"], h["sections_offset"] + h["sections_size"]
    while at < end:
        kind, _, size = struct.unpack_from("<IIQ", data, at)
        if kind == 2:
            return at + 16, size
        at += 16 + size + (-size % 8)
    raise AssertionError("no type section")


# ---- good shapes ----

@case
def good_shapes_dump_as_the_producer_wrote():
    for label, prog in producers():
        for shape in GOOD:
            p, exp = produce(prog, shape)
            got = typed_json(*typed_args(prog, exp), p)
            eq(got, exp["json"], "%s %s" % (label, shape))


@case
def good_shapes_pass_typed_verification():
    for label, prog in producers():
        for shape in GOOD:
            p, exp = produce(prog, shape)
            st, out, err = run(VERIFY, *typed_args(prog, exp), p)
            eq((st, err), (0, ""), "%s %s: %s" % (label, shape, out))
            check(re.match(r"^%s: typed OK \(%s from " % (
                re.escape(p), re.escape(exp["json"]["$type"])), out), out)
            check("warning" not in out, "%s %s: %s" % (label, shape, out))


@case
def attached_types_need_no_binary():
    for label, prog in producers():
        for shape in GOOD:
            p, exp = produce(prog, shape)
            t = path("%s-%s-typed.cm" % (label, shape))
            convert_ok("--attach-types=" + prog, "--root-type=" +
                       exp["root"], p, "-o", t)
            st, out, err = run(VERIFY, t)  # the plain check still passes
            eq((st, err), (0, ""), out)
            check("typed OK (%s from the blob's types" % exp["json"]["$type"]
                  in out, out)
            eq(typed_json("--typed", t), exp["json"], "%s %s" % (label, shape))
            s = path("%s-%s-stripped.cm" % (label, shape))
            convert_ok("--strip-types", t, "-o", s)
            eq(read(s), read(p), "stripping gives back the blob")
            st, out, err = run(DUMP, "--typed", s)
            eq(st, 2, "no types to show")
            check("carries no types" in err, err)


# ---- wrong shapes ----

@case
def wrong_cases_refused_with_their_path():
    for label, prog in producers():
        for shape, message in WRONG.items():
            p, exp = produce(prog, shape)
            [(want_path, want_off)] = exp["errors"]
            got = first_typed_error(p, "--no-pointer-scan",
                                    *typed_args(prog, exp))
            eq(got[:2], (want_path, want_off), "%s %s" % (label, shape))
            check(got[2].startswith(message), "%s: %s" % (shape, got[2]))
            if shape == "fnptr":  # the dump shows it as an error
                doc = typed_json(*typed_args(prog, exp), p)
                eq(doc["next"]["fn"], {"$error": "function pointer: never "
                                       "valid in a blob"})
            st, out, _ = run(VERIFY, "--json", "--no-pointer-scan",
                             *typed_args(prog, exp), p)
            doc = json.loads(out)[0]
            eq((st, doc["valid"], doc["errors"][0]["path"],
                doc["errors"][0]["offset"]), (1, False, want_path, want_off),
               "json")


@case
def assign_is_caught_by_the_scan_and_foreign_only_by_types():
    prog = producers()[0][1]
    p, exp = produce(prog, "assign")
    st, out, _ = run(VERIFY, p)
    eq(st, 1, "the scan sees a pointer into the data: " + out)
    check("not a recorded pointer slot" in out, out)
    p, exp = produce(prog, "foreign")
    st, out, _ = run(VERIFY, p)
    eq(st, 0, "a pointer outside the data is no word a scan can see")
    got = first_typed_error(p, *typed_args(prog, exp))
    eq(got[:2], tuple(exp["errors"][0]))


@case
def all_errors_in_every_object_stays_linear():
    """A defect in each of 300 objects: the first 100 with their path (each
    a second walk), the rest naming their object."""
    prog = producers()[0][1]
    p, exp = produce(prog, "many")
    st, out, _ = run(VERIFY, "--all-errors", *typed_args(prog, exp), p)
    eq(st, 1)
    lines = out.splitlines()
    eq(len(lines), 300)
    for i, (line, off) in enumerate(zip(lines, exp["errors"])):
        where = ("root" + ("->next" * i if i <= 3 else
                           "->next (x%d)" % i) + "->other") if i < 100 \
            else "the object at 0x%x" % (off - 40)
        check(line.startswith("%s: %s, offset 0x%x: pointer field holds" %
                              (p, where, off)), "%d: %s" % (i, line))


@case
def unreachable_slots_are_a_warning():
    for label, prog in producers():
        p, exp = produce(prog, "unreachable")
        st, out, err = run(VERIFY, *typed_args(prog, exp), p)
        eq((st, err), (0, ""), label)
        check(out.startswith("%s: warning: %d recorded slots lie in no object"
                             " reached from the root" % (p, exp["unreachable"])),
              out)


@case
def layout_diff_data_srv_against_data_cli():
    cc = compilers()[0][0]
    prog = producers()[0][1]
    for name, shape in (("data_cli", "data_srv"), ("data", "data")):
        good = build(CONSUMER_C, "consumer-" + name,
                     [cc, "-g", "-DNAME=" + name])
        wrong = build(CONSUMER_C, "consumer-wrong-" + name,
                      [cc, "-g", "-DNAME=" + name, "-DWRONG"])
        p, exp = produce(prog, shape)
        t = path(shape + "-typed.cm")
        convert_ok("--attach-types=" + prog, "--root-type=" + exp["root"],
                   p, "-o", t)
        root = ["--root-type=struct " + name] if name != "data" else []
        st, out, err = run(VERIFY, "--types=" + good, *root, t)
        eq((st, err), (0, ""), "identical layouts pass: " + out)
        st, out, err = run(VERIFY, "--types=" + wrong, *root, t)
        eq(st, 1, out + err)
        blob_name = exp["json"]["$type"]
        eq(out.splitlines()[:2], [
            "%s: %s: field 's' at offset 8 in the blob, 16 in %s" % (
                t, blob_name, wrong),
            "%s: %s: field 'next' at offset 16 in the blob, 8 in %s" % (
                t, blob_name, wrong)], "the differences by name")
        # Without types in the blob: the walk by the consumer's layout.
        got = first_typed_error(p, "--types=" + wrong,
                                "--root-type=struct " + name)
        eq(got[:2], tuple(exp["wrong_consumer"][0]))
        check("smaller than struct %s (24 bytes)" % name in got[2], got[2])


# ---- the views ----

@case
def text_view_and_its_bounds():
    prog = producers()[0][1]
    p, exp = produce(prog, "cycle")
    args = typed_args(prog, exp)
    st, out, err = run(DUMP, *args, p)
    eq((st, err), (0, ""))
    lines = [l.strip() for l in out.splitlines()]
    eq(lines[0], "root: struct node @0x%x {" % exp["json"]["$offset"])
    for want in ('c = BLUE', 'ok = true', 'bits = 3', 'sbits = -3',
                 'tag = "t1\\""', 's = "s1\\n\\ttab"',
                 "next = -> @0x%x (seen)" % exp["json"]["$offset"]):
        check(want in lines, "%r not in %s" % (want, lines))
    st, out, _ = run(DUMP, *args, "--path", "root->next->next->s", p)
    eq((st, out), (0, 'root->next->next->s: "s2\\n\\ttab"\n'))
    st, out, _ = run(DUMP, *args, "--path", "root->next->c", "--hex", p)
    eq(out, "root->next->c: GREEN\n")
    st, out, _ = run(DUMP, *args, "--path", "root->next->v", "--hex", p)
    eq(out, "root->next->v: 0x4\n")
    st, out, err = run(DUMP, *args, "--path", "root->nxt", p)
    eq(st, 2)
    check("no such field" in err, err)
    doc = typed_json(*args, "--depth", "1", p)
    eq(doc["next"]["next"], {"$ref": exp["json"]["next"]["next"]["$offset"],
                             "$cut": True}, "--depth 1")
    doc = typed_json(*args, "--max-objects", "2", p)
    check(doc["next"]["next"].get("$cut"), "--max-objects 2")
    doc = typed_json(*args, "--string-max", "2", p)
    eq(doc["s"], {"$string": "s0", "$length": 7})


@case
def dot_graph_has_an_edge_a_pointer():
    prog = producers()[0][1]
    p, exp = produce(prog, "dag")
    st, out, err = run(DUMP, "--dot", *typed_args(prog, exp), p)
    eq((st, err), (0, ""))
    check(out.startswith("digraph"), out)
    eq(len(re.findall(r"^  n[0-9a-f]+ \[label=", out, re.M)), 4, "nodes")
    eq(len(re.findall(r" -> n[0-9a-f]+ ", out)), 4, "edges between structs")


@case
def unknown_type_lists_the_closest_names():
    prog = producers()[0][1]
    p, _ = produce(prog, "list")
    st, out, err = run(DUMP, "--types=" + prog, "--root-type=struct nod", p)
    eq(st, 2)
    check(re.search(r"no type named 'struct nod'; closest: 'struct node'",
                    err), err)
    st, out, err = run(DUMP, "--types=" + prog, "--root-type=tnode", p)
    eq(st, 0, "'tnode' finds struct tnode: " + err)


@case
def long_list_without_recursion():
    """A 200000-node list under a 64 KiB stack: no recursion anywhere."""
    prog = producers()[0][1]
    p = path("long.cm")
    subprocess.run([prog, "long", p], check=True, capture_output=True)
    small_stack = lambda: resource.setrlimit(resource.RLIMIT_STACK,
                                             (256 << 10, 256 << 10))
    st, out, err = run(VERIFY, "--types=" + prog, "--root-type=struct tnode",
                       p, preexec_fn=small_stack)
    eq((st, err), (0, ""), out)
    check("200000 objects" in out, out)
    st, out, err = run(DUMP, "--json", "--types=" + prog,
                       "--root-type=struct tnode", p, preexec_fn=small_stack)
    eq((st, err), (0, ""))
    eq(out.count('"$type": "struct tnode"'), 200000)
    eq(out.count("{"), out.count("}"))
    deep = "root" + "->left" * 10000 + "->key"  # an argument's bound
    st, out, err = run(DUMP, "--types=" + prog, "--root-type=struct tnode",
                       "--path", deep, p, preexec_fn=small_stack)
    eq((st, out), (0, deep + ": 100000\n"))


# ---- bad input ----

@case
def no_dwarf_says_rebuild_with_g():
    cc = compilers()[0][0]
    bare = build(PRODUCER_C, "producer-no-g", [cc])
    p, exp = produce(bare, "list")
    for tool in (DUMP, VERIFY):
        st, out, err = run(tool, "--types=" + bare, "--root-type=struct node",
                           p)
        eq(st, 2)
        eq(err, "%s: %s: ELF has no DWARF; rebuild the producer with -g\n" % (
            os.path.basename(tool), bare))
    st, out, err = run(DUMP, "--types=" + p, "--root-type=struct node", p)
    eq(st, 2)
    check("not an ELF file" in err, err)
    prog = producers()[0][1]
    cut = write(path("truncated-producer"), read(prog)[:3000])
    st, out, err = run(DUMP, "--types=" + cut, "--root-type=struct node", p)
    eq(st, 2, "a truncated ELF: " + err)
    check(err.startswith("cma-dump: %s: " % cut), err)


@case
def one_name_two_layouts_is_reported():
    cc = compilers()[0][0]
    work = os.path.join(CACHE, "odr-%d" % os.getpid())
    os.makedirs(work)
    try:
        objs = []
        for unit, flags in (("one", []), ("two", ["-DWRONG", "-DSECOND"])):
            o = os.path.join(work, unit + ".o")
            subprocess.run([cc, "-g", "-c", "-DNAME=data"] + flags +
                           [CONSUMER_C, "-o", o], check=True)
            objs.append(o)
        exe = os.path.join(work, "two-layouts")
        subprocess.run([cc] + objs + ["-o", exe], check=True)
        p, _ = produce(producers()[0][1], "data")
        st, out, err = run(VERIFY, "--types=" + exe, "--root-type=struct data",
                           p)
        eq(st, 2)
        check("'struct data' is defined differently in" in err and
              "C has no one-definition rule" in err, err)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@case
def compressed_debug_sections():
    prog = producers()[0][1]
    objcopy = shutil.which("objcopy")
    if not objcopy:
        raise Skip("no objcopy")
    p, exp = produce(prog, "list")
    zlib = path("zlib-producer")
    subprocess.run([objcopy, "--compress-debug-sections=zlib", prog, zlib],
                   check=True)
    eq(typed_json("--types=" + zlib, "--root-type=struct node", p),
       exp["json"], "zlib sections are read")
    zstd = path("zstd-producer")
    r = subprocess.run([objcopy, "--compress-debug-sections=zstd", prog,
                        zstd], capture_output=True)
    if r.returncode:
        raise Skip("objcopy cannot write zstd sections")
    st, out, err = run(DUMP, "--types=" + zstd, "--root-type=struct node", p)
    if st == 0:
        eq(json.loads(run(DUMP, "--json", "--types=" + zstd,
                          "--root-type=struct node", p)[1]), exp["json"])
        return  # this libdw reads zstd
    eq(st, 2)
    check("zstd-compressed" in err and
          "objcopy --decompress-debug-sections" in err, err)


@case
def split_dwarf_and_dwp():
    cc = compilers()[0][0]
    work = os.path.join(CACHE, "split-%d" % os.getpid())
    os.makedirs(work)
    exe = os.path.join(work, "producer")
    try:
        # DWARF 4: Debian 12's dwp cannot pack gcc's DWARF 5 split units.
        compile_program(PRODUCER_C, exe,
                        [cc, "-g", "-gdwarf-4", "-gsplit-dwarf"], cwd=work)
        p, exp = produce(exe, "list")
        eq(typed_json("--types=" + exe, "--root-type=struct node", p),
           exp["json"], "split DWARF beside its .dwo")
        dwp = shutil.which("dwp") or shutil.which("llvm-dwp")
        if not dwp:
            raise Skip("no dwp tool")
        pkg = exe + ".dwp"
        subprocess.run([dwp, "-e", exe, "-o", pkg], check=True, cwd=work,
                       capture_output=True)
        st, out, err = run(DUMP, "--types=" + pkg, "--root-type=struct node",
                           p)
        eq(st, 2)
        check("a DWARF package (.dwp) cannot be read here" in err, err)
        for dwo in os.listdir(work):
            if dwo.endswith(".dwo"):
                os.remove(os.path.join(work, dwo))
        st, out, err = run(DUMP, "--types=" + exe, "--root-type=struct node",
                           p)
        eq(st, 2)
        check("split DWARF is packed in %s, which this libdw cannot read" %
              pkg in err, err)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@case
def hostile_type_sections_refused():
    prog = producers()[0][1]
    p, exp = produce(prog, "list")
    t = path("list-typed.cm")
    convert_ok("--attach-types=" + prog, "--root-type=struct node", p,
               "-o", t)
    data = read(t)
    at, size = type_section(data)
    ntypes, nmembers = struct.unpack_from("<II", data, at + 8)
    members = at + 24 + 32 * ntypes
    root_rec = at + 24 + 32 * struct.unpack_from("<I", data, at + 4)[0]

    def first_field_of_root(b):
        return members + 24 * struct.unpack_from("<I", b, root_rec + 24)[0]

    edits = {  # what the refusal says: an edit
        "disagree with its": lambda b: struct.pack_into(
            "<I", b, at + 8, 0xffffffff),  # an absurd type count
        "field outside the type": lambda b: put64(
            b, first_field_of_root(b) + 8, 1 << 40),
        "not defined before its struct": lambda b: struct.pack_into(
            "<I", b, first_field_of_root(b) + 4, ntypes - 1),  # a cycle
        "does not fit in the data at the root": lambda b: put64(
            b, root_rec + 8, 1 << 30),
        "unknown kind": lambda b: b.__setitem__(root_rec, 99),
    }
    for why, edit in edits.items():
        v = rechecksum(variant(t, "hostile.cm", edit))
        for tool, args in ((VERIFY, []), (DUMP, ["--typed"])):
            st, out, err = run(tool, *args, v)
            check(st in (1, 2) and why in out + err,
                  "%s: %s %s %s" % (why, st, out, err))
            check(re.search(r"offset 0x[0-9a-f]+", out + err), out + err)


run_cases()
