#!/usr/bin/env python3
"""Normalize `ovs-ofctl -O OpenFlow15 dump-flows --no-stats` output (and
the matching `dump-groups` / `dump-meters`) so that dumps of the same flow
tables compare equal whatever ids the switch's controller picked from the
order it met SB rows (random uuids).  Stdlib only.

    ofnormalize.py [--groups GROUPS] [--meters METERS]
                   [--out-groups FILE] [--out-meters FILE] < FLOWS > OUT

Rules (testdata/README.md, "Controller flows"):

- `cookie=...` is removed; header lines (`OFPST_...`, `NXST_...`) are
  dropped; leading blanks are stripped.
- Group ids (`group_id=N` in the group dump, `group:N` in flows) and
  meter ids (`meter=N` in the meter dump, `meter:N` and `meter_id=N` in
  flows) are renumbered 1..n: first the ones flows use, in the order of
  the sorted lines of the flows that use them (that id written `@`, other
  group/meter and conjunction ids `#`), ties broken by the group's or
  meter's content; then unused ones, by content.  Without --groups /
  --meters, flows are numbered the same way (unless two groups have the
  same users).  Flows and groups/meters are rewritten consistently.
- Conjunction ids (`conj_id=N` in matches, `conjunction(N,k/m)` in
  actions) are renumbered 1..n in the order of a canonical label: the
  sorted lines of the flows that mention the id, that id written `@` and
  every other conjunction id written as its current label's rank, refined
  until the number of distinct labels no longer grows.  A flow's
  consecutive `conjunction(...)` actions are then sorted.
- In a multicast group's flow, each maximal run of per-port output blocks
  `[set_field:V->reg13,]set_field:V->reg15,resubmit(,T)` (one per port, in
  the order ovn-controller met the ports) is sorted; tunnel outputs
  (`set_field:V[/M]->tun_id,...,output:P` blocks) likewise.
- Conntrack zones are NOT masked (they are inputs, see chassis.txt).
- Lines are sorted.
"""

import argparse
import re
import sys

COOKIE = re.compile(r"cookie=0x[0-9a-f]+, ?")
GROUP_REF = re.compile(r"\bgroup:(\d+)")
METER_REF = re.compile(r"\b(meter:|meter_id=)(\d+)")
CONJ_REF = re.compile(r"(conj_id=|conjunction\()(\d+)")


def read_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("OFPST_", "NXST_", "OFPT_")):
            continue
        out.append(COOKIE.sub("", line))
    return out


def parse_groups(text):
    """group id -> content without the id."""
    groups = {}
    for line in read_lines(text):
        m = re.match(r"group_id=(\d+),?(.*)$", line)
        if not m:
            sys.exit(f"unexpected group line: {line}")
        groups[int(m.group(1))] = m.group(2)
    return groups


def parse_meters(text):
    """meter id -> content (continuation lines joined) without the id."""
    meters = {}
    cur = None
    for line in read_lines(text):
        m = re.match(r"meter=(\d+)\s*(.*)$", line)
        if m:
            cur = int(m.group(1))
            meters[cur] = m.group(2)
        elif cur is not None:
            meters[cur] += " " + line
        else:
            sys.exit(f"unexpected meter line: {line}")
    return meters


def refs(lines, pattern, idgroup):
    """id -> sorted lines mentioning it, with that id written '@', other
    ids of the same kind '#' and conjunction ids '#'."""
    by_id = {}
    for line in lines:
        ids = {int(m.group(idgroup)) for m in pattern.finditer(line)}
        if not ids:
            continue
        line = CONJ_REF.sub(lambda m: m.group(1) + "#", line)
        for i in ids:
            masked = pattern.sub(
                lambda m: m.group(0)[: m.start(idgroup) - m.start(0)]
                + ("@" if int(m.group(idgroup)) == i else "#"), line)
            by_id.setdefault(i, []).append(masked)
    return {i: sorted(v) for i, v in by_id.items()}


def substitute(line, pattern, idgroup, mapping):
    def rep(m):
        old = int(m.group(idgroup))
        return m.group(0)[: m.start(idgroup) - m.start(0)] + str(mapping.get(old, old)) \
            + m.group(0)[m.end(idgroup) - m.start(0):]
    return pattern.sub(rep, line)


def key(referrers, content):
    return (0, tuple(referrers), content) if referrers else (1, (), content)


def ranks(keys):
    """id -> 1-based rank of its key (ties in id order, stable)."""
    order = sorted(keys, key=lambda i: (keys[i], i))
    return {old: new for new, old in enumerate(order, 1)}


def renumber_conj(lines):
    mentioned = {}
    for line in lines:
        ids = {int(m.group(2)) for m in CONJ_REF.finditer(line)}
        for i in ids:
            mentioned.setdefault(i, []).append(line)
    label = {i: 0 for i in mentioned}
    classes = 1
    while True:
        sig = {}
        for i, ls in mentioned.items():
            def rep(m, i=i):
                j = int(m.group(2))
                return m.group(1) + ("@" if j == i else f"#{label[j]}")
            sig[i] = tuple(sorted(CONJ_REF.sub(rep, line) for line in ls))
        distinct = sorted(set(sig.values()))
        index = {s: n for n, s in enumerate(distinct)}
        label = {i: index[sig[i]] for i in sig}
        if len(distinct) <= classes:
            break
        classes = len(distinct)
    mapping = ranks({i: (label[i],) for i in label})
    return [substitute(line, CONJ_REF, 2, mapping) for line in lines]


CONJ_ACTIONS = re.compile(r"(?:conjunction\(\d+,\d+/\d+\),?)+")
PORT_BLOCK = r"(?:set_field:0x[0-9a-f]+->reg13,)?set_field:0x[0-9a-f]+->reg15,resubmit\(,\d+\),?"
PORT_RUN = re.compile(f"(?:{PORT_BLOCK}){{2,}}")
TUN_BLOCK = r"set_field:0x[0-9a-f]+(?:/0x[0-9a-f]+)?->tun_id,set_field:0x[0-9a-f]+->tun_metadata0,(?:move:[^,]+,)*output:\d+,?"
TUN_RUN = re.compile(f"(?:{TUN_BLOCK}){{2,}}")


def sort_run(run_re, block_re, acts):
    def rep(m):
        run = m.group(0)
        trailing = run.endswith(",")
        blocks = [b.rstrip(",") for b in re.findall(block_re, run)]
        return ",".join(sorted(blocks)) + ("," if trailing else "")
    return run_re.sub(rep, acts)


def canonical_actions(line):
    head, sep, acts = line.partition("actions=")
    if not sep:
        return line

    def sort_conj(m):
        run = m.group(0)
        trailing = run.endswith(",")
        items = re.findall(r"conjunction\((\d+),(\d+)/(\d+)\)", run)
        items.sort(key=lambda t: tuple(int(x) for x in t))
        return ",".join(f"conjunction({a},{b}/{c})" for a, b, c in items) + ("," if trailing else "")
    acts = CONJ_ACTIONS.sub(sort_conj, acts)
    acts = sort_run(PORT_RUN, PORT_BLOCK, acts)
    acts = sort_run(TUN_RUN, TUN_BLOCK, acts)
    return head + sep + acts


def normalize(flows_text, groups_text=None, meters_text=None):
    flows = read_lines(flows_text)

    # Groups and meters: referenced ones first, in the order of their
    # referrers (so that a dump without the group or meter table numbers
    # them the same way), then by content.
    groups = parse_groups(groups_text) if groups_text is not None else {}
    grefs = refs(flows, GROUP_REF, 1)
    gmap = ranks({g: key(grefs.get(g), groups.get(g, "")) for g in set(groups) | set(grefs)})
    flows = [substitute(line, GROUP_REF, 1, gmap) for line in flows]

    meters = parse_meters(meters_text) if meters_text is not None else {}
    mrefs = refs(flows, METER_REF, 2)
    mmap = ranks({m: key(mrefs.get(m), meters.get(m, "")) for m in set(meters) | set(mrefs)})
    flows = [substitute(line, METER_REF, 2, mmap) for line in flows]

    # Conjunctions, then action order.
    flows = renumber_conj(flows)
    flows = sorted(canonical_actions(line) for line in flows)

    out_groups = sorted(f"group_id={gmap[g]},{c}" for g, c in groups.items())
    out_meters = sorted(f"meter={mmap[i]} {c}" for i, c in meters.items())
    return flows, out_groups, out_meters


def write(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups")
    ap.add_argument("--meters")
    ap.add_argument("--out-groups")
    ap.add_argument("--out-meters")
    a = ap.parse_args()
    gtext = open(a.groups).read() if a.groups else None
    mtext = open(a.meters).read() if a.meters else None
    flows, groups, meters = normalize(sys.stdin.read(), gtext, mtext)
    sys.stdout.write("".join(line + "\n" for line in flows))
    if a.out_groups:
        write(a.out_groups, groups or [])
    if a.out_meters:
        write(a.out_meters, meters or [])


if __name__ == "__main__":
    main()
