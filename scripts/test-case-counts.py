#!/usr/bin/env python3
"""Prints the case counts of the hostile-input and tenancy suites from the TRX files of one `dotnet test` run.

Hostile cases are generated inside a few test methods, which report their count in their output
("N hostile cases ..."); tenancy cases are theory rows, one TRX result each.
"""
import glob
import re
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
TENANCY = ("TenancyMatrixTests", "OperatorApiTenancyTests", "CrossProjectLeakTests", "TokenNonDisclosureTests")

hostile_cases = hostile_tests = hostile_failed = 0
tenancy = {}
for path in glob.glob(f"{sys.argv[1]}/**/*.trx", recursive=True):
    for result in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", NS):
        name, outcome = result.get("testName", ""), result.get("outcome", "")
        if ".Hostile.HostileInputTests." in name:
            hostile_tests += 1
            hostile_failed += outcome != "Passed"
            out = result.find(".//t:StdOut", NS)
            match = re.search(r"(\d+) hostile cases", out.text or "") if out is not None else None
            hostile_cases += int(match.group(1)) if match else 0
        for suite in TENANCY:
            if f".{suite}." in name:
                passed, total = tenancy.get(suite, (0, 0))
                tenancy[suite] = (passed + (outcome == "Passed"), total + 1)

print(f"Hostile input: {hostile_cases} generated cases in {hostile_tests} tests, {hostile_failed} failed")
for suite, (passed, total) in sorted(tenancy.items()):
    print(f"Tenancy {suite}: {passed} of {total} cases passed")
