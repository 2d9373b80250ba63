#!/usr/bin/env python3
"""Compares two sb.json files written by the oracle (testdata/README.md):
one from the reference ovn-northd, one from another northd under test.

Every table must be equal, except that Logical_Flow rows are compared as a
multiset without their uuids and without `external_ids:source` (the
reference records its own C source line there; nothing reads it) -- the
canonical uuids of flows depend on that text, so they may be numbered
differently while everything else is the same.

Usage: compare_sb.py REFERENCE.json OTHER.json   (exit 1 on a difference)
"""

import json
import sys


def flows(table):
    out = []
    for row in table.values():
        row = dict(row)
        ids = row.get("external_ids", ["map", []])
        row["external_ids"] = ["map", [kv for kv in ids[1] if kv[0] != "source"]]
        out.append(json.dumps(row, sort_keys=True))
    return sorted(out)


def main():
    with open(sys.argv[1]) as f:
        ref = json.load(f)
    with open(sys.argv[2]) as f:
        other = json.load(f)
    bad = 0
    for t in sorted(set(ref) | set(other)):
        a, b = ref.get(t, {}), other.get(t, {})
        if t == "Logical_Flow":
            fa, fb = flows(a), flows(b)
            if fa != fb:
                sa, sb = set(fa), set(fb)
                print("%s: %d rows vs %d" % (t, len(fa), len(fb)))
                for r in sorted(sa - sb)[:5]:
                    print("  missing:", r[:300])
                for r in sorted(sb - sa)[:5]:
                    print("  extra:  ", r[:300])
                bad = 1
        elif a != b:
            print("%s differs (%d rows vs %d)" % (t, len(a), len(b)))
            for u in sorted(set(a) | set(b)):
                if a.get(u) != b.get(u):
                    print("  %s:\n    ref:   %s\n    other: %s" % (u, json.dumps(a.get(u), sort_keys=True)[:400],
                                                                 json.dumps(b.get(u), sort_keys=True)[:400]))
                    break
            bad = 1
    sys.exit(bad)


if __name__ == "__main__":
    main()
