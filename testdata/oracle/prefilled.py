#!/usr/bin/env python3
"""The "NB filled before start" order of the live northd checks
(testdata/live-northd.sh --prefilled).  Stdlib only.

A recorded reference phase (testdata/reference/SCENARIO/PHASE) holds the
NB database as the reference ovn-northd left it (nb.db, a real OVSDB file
with canonical uuids) and the SB it wrote (sb.json).  The check starts a
northd under test on a copy of that nb.db and an SB that holds only what
other components write (chassis, encaps, the bindings ovn-controller
sets), lets it compute everything at once, and compares the result with
the reference.  Tunnel keys may differ (they are allocated in another
order), so the SB is compared with every row reference resolved into the
referenced row's content and tunnel keys left out.

Sub-commands:

  sb-inputs REF_SB_JSON
      Print an OVSDB transaction (for `ovsdb-client transact`) that
      inserts the rows of the tables other components own (Chassis,
      Encap, Chassis_Private), with their recorded uuids.  Fails on rows
      of input tables this check cannot prefill (they refer to rows
      northd creates).

  bindings REF_SB_JSON
      Print a transaction that sets on each Port_Binding the columns
      ovn-controller owns (chassis, up, encap, ...) as recorded, or
      nothing when no binding has any.

  compare-json REF_SB_JSON OTHER_SB_JSON
      Compare two recorded sb.json files the same way, but with tunnel
      keys and every counter included: only uuids (and so the canonical
      numbering of rows whose content is equal, which depends on
      referrers' `external_ids:source`) and `Logical_Flow
      external_ids:source` are left out.

  dump SB_REMOTE OUT_JSON
      Write the live SB as an sb.json file (every table, every row).

  compare-key-free REF_SB_JSON OTHER_SB_JSON
      Compare two SB dumps of northds run on the same NB the way
      `compare` compares the live SB (tunnel keys aside), a referenced
      row standing for a digest of its content (so that a flow on a
      datapath group of a hundred switches is not rendered a hundred
      switches long).  Prints the differences; exit status 1 if any.

  compare REF_DIR NB_REMOTE SB_REMOTE
      Compare the live NB with REF_DIR/nb.db (same uuids; NB_Global's
      cfg counters and timestamps aside) and the live SB with
      REF_DIR/sb.json (key-free, see above, the routers' VIP address sets
      named by their datapath's content too; Logical_Flow
      external_ids:stage-hint aside, which in the reference depends on the
      order its flows were created in; SB_Global.nb_cfg aside), and
      check that the live tunnel keys are unique.  Exit 1 on a
      difference.
"""

import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import normalize as N  # noqa: E402

# SB tables whose rows come from ovn-controller / the operator, not northd.
INPUT_TABLES = ["Chassis", "Encap", "Chassis_Private"]
# Input tables whose rows refer to rows northd creates: not prefillable.
UNSUPPORTED_INPUTS = ["MAC_Binding", "FDB", "IGMP_Group", "Controller_Event"]
# Port_Binding columns ovn-controller writes.
CONTROLLER_COLUMNS = ["chassis", "encap", "up", "additional_chassis",
                      "additional_encap", "virtual_parent"]
# Tunnel keys: allocated by northd, their values may differ. So may those
# of the other numbers northd allocates: a BFD session's UDP source port
# (the lowest free one when northd meets the session) and discriminator
# (random).
KEY_COLUMNS = {("Datapath_Binding", "tunnel_key"), ("Port_Binding", "tunnel_key"),
               ("BFD", "src_port"), ("BFD", "disc")}
# Counters that move with the extra `--wait=sb sync` of the check.
NB_IGNORED = {("NB_Global", c) for c in (
    "nb_cfg", "sb_cfg", "hv_cfg", "nb_cfg_timestamp", "sb_cfg_timestamp",
    "hv_cfg_timestamp")}
SB_IGNORED = {("SB_Global", "nb_cfg"), ("Chassis_Private", "nb_cfg_timestamp")}


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def cmd_sb_inputs(ref_sb):
    sb = load_json(ref_sb)
    for t in UNSUPPORTED_INPUTS:
        if sb.get(t):
            fail("%s: %d %s rows cannot be prefilled" % (ref_sb, len(sb[t]), t))
    ops = ["OVN_Southbound"]
    for t in INPUT_TABLES:
        for u, row in sorted(sb.get(t, {}).items()):
            ops.append({"op": "insert", "table": t, "uuid": u, "row": row})
    print(json.dumps(ops))


def cmd_bindings(ref_sb):
    sb = load_json(ref_sb)
    ops = ["OVN_Southbound"]
    for row in sorted(sb.get("Port_Binding", {}).values(), key=lambda r: r["logical_port"]):
        set_cols = {c: row[c] for c in CONTROLLER_COLUMNS
                    if c in row and row[c] not in (["set", []], False)}
        if set_cols:
            ops.append({"op": "update", "table": "Port_Binding",
                        "where": [["logical_port", "==", row["logical_port"]]],
                        "row": set_cols})
    if len(ops) > 1:
        print(json.dumps(ops))


def parse_rows(rows_by_uuid, types, table):
    out = {}
    for u, row in rows_by_uuid.items():
        out[u] = {c: N.parse_datum(v, types[table][c])
                  for c, v in row.items() if not c.startswith("_")}
    return out


def from_select(tables, types):
    """`select` results ({table: [row]}) -> {table: {uuid: {col: datum}}}."""
    return {t: parse_rows({r["_uuid"][1]: r for r in rows}, types, t)
            for t, rows in tables.items()}


def from_sb_json(doc, types):
    return {t: parse_rows(rows, types, t) for t, rows in doc.items()}


class KeyFree:
    """Renders SB rows with references replaced by the referenced row's own
    (recursively rendered) content and tunnel keys left out (unless
    `keys`)."""

    def __init__(self, db, keys=False):
        self.db = db
        self.keys = keys
        self.table_of = {u: t for t, rows in db.items() for u in rows}
        self.memo = {}
        # Port_Group names are "<datapath key>_<name>".
        self.dp_by_key = {}
        for u, row in db.get("Datapath_Binding", {}).items():
            for k in row.get("tunnel_key", []):
                self.dp_by_key[str(k)] = u

    def atom(self, table, col, a):
        if isinstance(a, N.U):
            t = self.table_of.get(str(a))
            if t is None:
                return ["dangling", str(a)]
            return [t, self.row(t, str(a))]
        if table == "Port_Group" and col == "name" and isinstance(a, str) and not self.keys:
            m = re.match(r"^(\d+)_(.*)$", a)
            if m and m.group(1) in self.dp_by_key:
                return ["pg", self.row("Datapath_Binding", self.dp_by_key[m.group(1)]), m.group(2)]
        # A router's VIP address sets are "_rtr_lb_<datapath key>_ip4/6",
        # named so in flows' matches too: the key becomes the router.
        if table == "Address_Set" and col == "name" and isinstance(a, str) and not self.keys:
            m = re.match(r"^_rtr_lb_(\d+)_(ip[46])$", a)
            if m and m.group(1) in self.dp_by_key:
                return ["rtr_lb", self.router_of_key(m.group(1)), m.group(2)]
        if table == "Logical_Flow" and col == "match" and isinstance(a, str) and not self.keys:
            return re.sub(r"\$_rtr_lb_(\d+)_(ip[46])",
                          lambda m: "$_rtr_lb_<%s>_%s" % (self.router_of_key(m.group(1)), m.group(2)), a)
        return a

    def router_of_key(self, key):
        """The NB router (external_ids:logical-router) of the datapath with
        tunnel key `key`, or the key when there is none."""
        u = self.dp_by_key.get(key)
        ids = dict(self.db["Datapath_Binding"][u].get("external_ids", [])) if u else {}
        return str(ids.get("logical-router", key))

    def row(self, table, u):
        key = (table, u)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = ["cycle", table]
        out = {}
        for c, d in sorted(self.db[table][u].items()):
            if not self.keys and ((table, c) in KEY_COLUMNS or (table, c) in SB_IGNORED):
                continue
            if table == "Logical_Flow" and c == "external_ids":
                # Key-free (a northd started on a filled NB): no stage-hint
                # either. An SB flow keeps the hint it was created with, so
                # the reference's hints depend on the order its flows
                # appeared in (a flow several NB rows make names the first
                # one's); and the hints of pinned rows, whose uuids share
                # their first 8 hex digits, name one row for all of them.
                d = [(k, v) for k, v in d if k != "source" and (self.keys or k != "stage-hint")]
            vals = []
            for x in d:
                if isinstance(x, tuple):
                    v = [self.atom(table, c, x[0]), self.atom(table, c, x[1])]
                    dangling = any(isinstance(e, list) and e[:1] == ["dangling"] for e in v)
                else:
                    v = self.atom(table, c, x)
                    dangling = isinstance(v, list) and v[:1] == ["dangling"]
                # A reference to a row that does not exist (a weak reference
                # ovsdb-server 3.1 left behind after deleting its row) is no
                # reference for a client: its IDL skips it.
                if not dangling:
                    vals.append(v)
            out[c] = sorted(vals, key=lambda v: json.dumps(v, sort_keys=True))
        self.memo[key] = out
        return out

    def table(self, t):
        return sorted(json.dumps(self.row(t, u), sort_keys=True) for u in self.db.get(t, {}))


class DigestKeyFree(KeyFree):
    """`KeyFree` with each referenced row rendered as a digest of its own
    rendering: the same equality, in bounded size."""

    def __init__(self, db, keys=False):
        super().__init__(db, keys)
        self.digests = {}

    def atom(self, table, col, a):
        if isinstance(a, N.U):
            t = self.table_of.get(str(a))
            if t is None:
                return ["dangling", str(a)]
            key = (t, str(a))
            if key not in self.digests:
                self.digests[key] = ["cycle", t]
                rendered = json.dumps(self.row(t, str(a)), sort_keys=True)
                self.digests[key] = [t, hashlib.sha256(rendered.encode()).hexdigest()]
            return self.digests[key]
        return super().atom(table, col, a)


def compare_sb(ref, live, keys=False, render=KeyFree):
    a, b = render(ref, keys), render(live, keys)
    bad = 0
    for t in sorted(set(ref) | set(live)):
        ra, rb = a.table(t), b.table(t)
        if ra != rb:
            bad = 1
            print("SB %s: %d rows in the reference, %d live" % (t, len(ra), len(rb)))
            sa, sb = set(ra), set(rb)
            for r in sorted(sa - sb)[:3]:
                print("  missing:", r[:400])
            for r in sorted(sb - sa)[:3]:
                print("  extra:  ", r[:400])
    # The keys themselves: unique datapath keys, unique port keys per datapath.
    dps = [k for r in live.get("Datapath_Binding", {}).values() for k in r["tunnel_key"]]
    if len(dps) != len(set(dps)):
        print("SB Datapath_Binding: duplicate tunnel keys %s" % dps)
        bad = 1
    ports = [(str(r["datapath"]), tuple(r["tunnel_key"])) for r in live.get("Port_Binding", {}).values()]
    if len(ports) != len(set(ports)):
        print("SB Port_Binding: duplicate tunnel keys within a datapath")
        bad = 1
    # BFD: source ports unique and in RFC 5881's range, discriminators
    # unique (and nonzero when not normalized away).
    bfd = live.get("BFD", {}).values()
    src_ports = [k for r in bfd for k in r["src_port"]]
    if len(src_ports) != len(set(src_ports)) or any(not 49152 <= p <= 65535 for p in src_ports):
        print("SB BFD: source ports not unique or out of range: %s" % sorted(src_ports))
        bad = 1
    discs = [k for r in bfd for k in r["disc"]]
    if not keys and (len(discs) != len(set(discs)) or 0 in discs):
        print("SB BFD: discriminators not unique and nonzero: %s" % sorted(discs))
        bad = 1
    return bad


def compare_nb(ref, live):
    bad = 0
    for t in sorted(set(ref) | set(live)):
        ra, rb = ref.get(t, {}), live.get(t, {})
        for u in sorted(set(ra) | set(rb)):
            x, y = ra.get(u), rb.get(u)
            if x is not None and y is not None:
                x = {c: d for c, d in x.items() if (t, c) not in NB_IGNORED}
                y = {c: d for c, d in y.items() if (t, c) not in NB_IGNORED}
            if x != y:
                bad = 1
                print("NB %s %s:\n  reference: %s\n  live:      %s" % (t, u, x, y))
    return bad


def cmd_compare(ref_dir, nb_remote, sb_remote):
    nb_schema, nb_types = N.load_schema(N.NB_SCHEMA_PATH)
    sb_schema, sb_types = N.load_schema(N.SB_SCHEMA_PATH)
    req = N.select_all_request(nb_schema)
    ref_nb = from_select(N.results_to_tables(json.loads(N.run(
        ["ovsdb-tool", "query", os.path.join(ref_dir, "nb.db"), json.dumps(req)])), req), nb_types)
    live_nb = from_select(N.query_db(nb_remote, nb_schema), nb_types)
    ref_sb = from_sb_json(load_json(os.path.join(ref_dir, "sb.json")), sb_types)
    live_sb = from_select(N.query_db(sb_remote, sb_schema), sb_types)
    bad = compare_nb(ref_nb, live_nb) | compare_sb(ref_sb, live_sb)
    sys.exit(bad)


def cmd_compare_json(ref_path, other_path):
    _, sb_types = N.load_schema(N.SB_SCHEMA_PATH)
    ref = from_sb_json(load_json(ref_path), sb_types)
    other = from_sb_json(load_json(other_path), sb_types)
    sys.exit(compare_sb(ref, other, keys=True))


def cmd_dump(sb_remote, out_path):
    sb_schema, _ = N.load_schema(N.SB_SCHEMA_PATH)
    tables = N.query_db(sb_remote, sb_schema)
    doc = {t: {r["_uuid"][1]: {c: v for c, v in r.items() if not c.startswith("_")} for r in rows}
           for t, rows in tables.items()}
    with open(out_path, "w") as f:
        json.dump(doc, f)


def cmd_compare_key_free(ref_path, other_path):
    _, sb_types = N.load_schema(N.SB_SCHEMA_PATH)
    ref = from_sb_json(load_json(ref_path), sb_types)
    other = from_sb_json(load_json(other_path), sb_types)
    sys.exit(compare_sb(ref, other, render=DigestKeyFree))


def main(argv):
    if len(argv) == 3 and argv[0] == "dump":
        return cmd_dump(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "compare-key-free":
        return cmd_compare_key_free(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "compare-json":
        return cmd_compare_json(argv[1], argv[2])
    if len(argv) == 2 and argv[0] == "sb-inputs":
        return cmd_sb_inputs(argv[1])
    if len(argv) == 2 and argv[0] == "bindings":
        return cmd_bindings(argv[1])
    if len(argv) == 4 and argv[0] == "compare":
        return cmd_compare(*argv[1:])
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
