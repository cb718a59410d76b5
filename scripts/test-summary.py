#!/usr/bin/env python3
"""Prints one closing line for the test runs: 'tests: N passed, N failed'."""
import json, sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:
                failed += 1
tail = f", {skipped} skipped" if skipped else ""
print(f"tests: {passed} passed, {failed} failed{tail}")
sys.exit(1 if failed or passed == 0 else 0)
