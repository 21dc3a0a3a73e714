"""Adds up the `RACE name: trials=N violations=V` lines the race tests print (`make races`);
passes pytest's own summary through and exits non-zero if pytest failed or anything broke."""

from __future__ import annotations

import re
import sys
from collections import defaultdict

LINE = re.compile(r"RACE (?P<name>.+): trials=(?P<trials>\d+) violations=(?P<violations>\d+)")


def main() -> int:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    failed = False
    for line in sys.stdin:
        found = LINE.search(line)
        if found:
            row = totals[found["name"]]
            row[0] += 1
            row[1] += int(found["trials"])
            row[2] += int(found["violations"])
        elif re.search(r"\b(passed|failed|error)\b", line) and " in " in line:
            print(line.strip())
            failed |= "failed" in line or "error" in line
    print(f"{'race':58} {'rounds':>6} {'trials':>7} {'violations':>10}")
    for name, (rounds, trials, violations) in sorted(totals.items()):
        print(f"{name:58} {rounds:6} {trials:7} {violations:10}")
    return 1 if failed or not totals or any(v for _, _, v in totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
