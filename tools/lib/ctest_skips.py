# SPDX-License-Identifier: MIT
"""
Lists the skipped tests of one ctest run, from its JUnit file
(ctest --output-junit, with --test-output-size-passed large enough to keep
each test's whole output). Used by ./tools/test: a skip is not a pass.

A skipped test is
  - a ctest test that did not run (status "notrun"/"disabled": its
    SKIP_RETURN_CODE, e.g. integration.pos_disk_full --skip-code=77), or
  - a cmocka case that called skip() ("[  SKIPPED ] name") inside a ctest
    test that passed.
Other lines with SKIPPED in a passing test's output (a test that skipped a
part of itself, e.g. pos_hygiene's core dump under ASan) are printed as notes.

  python3 ctest_skips.py JUNIT.xml [ALLOW_REGEX]

Prints one line per skip, then "skips: N ALLOWED": N skipped tests, ALLOWED
of them matched by ALLOW_REGEX (against "ctest-name" or "ctest-name/case").
"""

import re
import sys
import xml.etree.ElementTree as ET

CMOCKA_SKIP = re.compile(r"^\[\s+SKIPPED\s+\]\s+(\S+)\s*$")
CMOCKA_SUMMARY = re.compile(r"^\[\s+SKIPPED\s+\]\s+\d+ test\(s\)|^\s*\d+ SKIPPED TEST")
MARK = re.compile(r"\bSKIPPED\b")


def main():
    allow = re.compile(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None
    skipped = allowed = 0

    def skip(what, why):
        nonlocal skipped, allowed
        ok = bool(allow and allow.search(what))
        skipped += 1
        allowed += ok
        print("  SKIPPED%s: %s: %s" % (" (allowed by SL_TEST_ALLOW_SKIP)" if ok else "",
                                      what, why[:300]))

    for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
        name, status = tc.get("name"), tc.get("status")
        lines = "".join(e.text or "" for e in tc.iter("system-out")).splitlines()
        marked = [ln.strip() for ln in lines if MARK.search(ln)]
        if status in ("notrun", "disabled"):
            said = marked or [ln.strip() for ln in lines if ln.strip()] or ["(ctest: Not Run)"]
            skip(name, said[-1])
            continue
        cases = []
        for ln in lines:
            m = CMOCKA_SKIP.match(ln.strip())
            if m and not CMOCKA_SUMMARY.match(ln.strip()) and m.group(1) not in cases:
                cases.append(m.group(1))
        for c in cases:
            skip("%s/%s" % (name, c), "cmocka skip()")
        for ln in marked:
            if not CMOCKA_SKIP.match(ln) and not CMOCKA_SUMMARY.match(ln):
                print("  note: part of %s skipped: %s" % (name, ln[:300]))
    print("skips: %d %d" % (skipped, allowed))


if __name__ == "__main__":
    main()
