#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cma-verify: OK lines, exit statuses, --quiet, stdin, --json,
--all-errors, --no-checksum, --strict, many files, --junit.
"""
from clitest import *  # noqa: F401,F403


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
def verify_large_blob_verdicts():
    # Over 4 MiB the tools check the structure and the checksum on two
    # threads: each verdict must still be the one walk's first defect.
    for mode in ("relative", "absolute"):
        good = blob("list", 400000, mode)
        h = header(read(good))
        check(len(read(good)) > 4 << 20)
        st, out, err = run(VERIFY, good)
        eq((st, err), (0, ""))
        check(out.startswith(good + ": OK (%s" % mode), out)
        slots = [s for s, _ in blob_pointers(good)]
        cases = {
            "sum": lambda b: b.__setitem__(h["root"] + 4, b[h["root"] + 4]
                                           ^ 1),
            "slot": lambda b: put64(b, slots[1000], 8),
            "stray": lambda b: put64(b, slots[2000] - 8,
                                     struct.unpack_from("<Q", b,
                                                        slots[2000])[0]),
        }
        for name, edit in cases.items():
            p = variant(good, "large-%s-%s.cm" % (mode, name), edit)
            st, out, err = run(VERIFY, p)
            st1, out1, _ = run(VERIFY, "--max-errors", "1", p)
            eq((st, out), (st1, out1), name)
            eq(st, 1, name)
            check(out.startswith(p + ": offset 0x"), out)


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


# ---- --junit ----

def junit_cases(xml_text):
    """The report parsed: (the <testsuite> element, its cases by name)."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(xml_text)
    eq(root.tag, "testsuites")
    suites = root.findall("testsuite")
    eq(len(suites), 1, "one suite")
    suite = suites[0]
    for attr in ("tests", "failures", "errors"):
        eq(root.get(attr), suite.get(attr), "testsuites " + attr)
    return suite, {c.get("name"): c for c in suite.findall("testcase")}


@case
def verify_junit_report():
    good = blob("tree", 9, "absolute")
    bad = variant(blob(), "ju-bad.cm",
                  lambda b: b.__setitem__(113, b[113] ^ 0xff))
    cut = write(path("ju-cut.cm"), read(blob())[:-8])
    notcma = write(path("ju-notcma.cm"), b"plain text, no magic")
    missing = path("ju-missing.cm")
    # Markup, quotes and a control character in a name: escaped, or
    # replaced where XML 1.0 has no way to say them.
    odd = write(path("ju <&\"'\x01>.cm"), read(good))
    report = path("report.xml")
    files = [good, bad, cut, notcma, missing, odd]
    st, out, err = run(VERIFY, "--junit=" + report, *files)
    eq(st, 4, "the status is the highest, as without --junit: " + err)
    eq(len(out.splitlines()), 5, "the verdict lines are still printed")
    suite, cases = junit_cases(read(report))
    eq(suite.get("name"), "cma-verify")
    eq((suite.get("tests"), suite.get("failures"), suite.get("errors")),
       ("6", "3", "1"))
    eq(len(cases), 6, "one test case per blob: %s" % list(cases))
    for c in suite.findall("testcase"):
        eq(c.get("classname"), "cma-verify")
        check(float(c.get("time")) >= 0, "a time")
    eq(list(cases[good]), [], "a valid blob passes")
    eq(list(cases[path("ju <&\"'\ufffd>.cm")]), [], "the odd name")
    f = cases[bad].find("failure")
    eq(f.get("type"), "CM_E_CHECKSUM")
    check(f.get("message").startswith("offset 0x70: "), f.get("message"))
    check(f.get("message") in f.text, "the text lists the defect")
    eq(cases[cut].find("failure").get("type"), "CM_E_TRUNCATED")
    eq(cases[notcma].find("failure").get("type"), "CM_E_MAGIC")
    e = cases[missing].find("error")
    eq(list(cases[missing])[0].tag, "error", "an I/O error is an error")
    eq(e.get("type"), "io")
    check("No such file" in e.get("message"), e.get("message"))
    # Only valid blobs: a report with no failure at all.
    st, _, _ = run(VERIFY, "--quiet", "--junit", report, good, good)
    eq(st, 0)
    suite, cases = junit_cases(read(report))
    eq((suite.get("tests"), suite.get("failures"), suite.get("errors")),
       ("2", "0", "0"), "the report was replaced")


@case
def verify_junit_all_errors():
    src = blob("list", 9, "absolute")
    slots = [s for s, _ in blob_pointers(src)]

    def corrupt(b):
        for s in slots[:3]:
            put64(b, s, 0x10)
    p = variant(src, "ju-multi.cm", corrupt)
    report = path("ju-multi.xml")
    st, out, _ = run(VERIFY, "--no-checksum", "--all-errors",
                     "--junit=" + report, p)
    eq(st, 1)
    _, cases = junit_cases(read(report))
    failures = cases[p].findall("failure")
    eq(len(failures), 1, "one failure element a test case")
    lines = failures[0].text.strip().splitlines()
    eq(lines, [line.split(": ", 1)[1] for line in out.splitlines()],
       "every defect, as the verdict lines give them")
    check(len(lines) >= 3)
    eq(failures[0].get("type"), "CM_E_POINTER")
    eq(failures[0].get("message"), lines[0])


@case
def verify_junit_to_stdout():
    bad = write(path("jo-cut.cm"), read(blob())[:-8])
    st, out, err = run(VERIFY, "--junit=-", "-", bad, stdin=read(blob()))
    eq(st, 1)
    eq(err, "", "the defects are in the report")
    check(out.startswith("<?xml "), "stdout holds the report alone")
    suite, cases = junit_cases(out)
    eq(sorted(cases), sorted(["<stdin>", bad]))
    eq(list(cases["<stdin>"]), [])
    eq(cases[bad].find("failure").get("type"), "CM_E_TRUNCATED")
    st, out, err = run(VERIFY, "--json", "--junit=-", bad)
    eq(st, 2, "--json and --junit=- both want stdout")


@case
def verify_junit_written_atomically():
    """A report that cannot be written whole leaves the old one in place
    and no temporary file behind: the file size limit cuts the write."""
    report = path("atomic/report.xml")
    os.mkdir(os.path.dirname(report))
    write(report, b"old report\n")
    files = [write(path("ja-%d.cm" % i), read(blob())) for i in range(40)]

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
    p = subprocess.run(WRAPPER + EXE + [VERIFY, "-q", "--junit=" + report]
                       + files, preexec_fn=small_files,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(p.returncode, 3, "a report not written is an I/O error")
    err = p.stderr.decode()
    check(report in err and "cannot write the JUnit report" in err, err)
    eq(read(report), b"old report\n", "the old report is untouched")
    eq(os.listdir(os.path.dirname(report)), ["report.xml"],
       "no temporary left")
    st, _, err = run(VERIFY, "--junit", path("no-such-dir/r.xml"), files[0])
    eq(st, 3, err)
    check(not os.path.exists(path("no-such-dir")))


run_cases()
