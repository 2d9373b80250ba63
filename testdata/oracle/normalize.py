#!/usr/bin/env python3
"""Reference-oracle helper for flowc (stdlib only, Python >= 3.9).

Used by testdata/regen-reference.sh.  Sub-commands:

  snapshot WORK PHASE
      Dump the live NB and SB databases of the scenario running in WORK
      (sockets WORK/nb.sock and WORK/sb.sock) into WORK/raw/PHASE/:
      nb.json and sb.json (raw `select` results of every table) and
      lflows.txt (raw `ovn-sbctl lflow-list`).

  emit WORK OUTDIR PHASE...
      Relabel the uuids of every recorded phase (mappings persist from one
      phase to the next), then write OUTDIR/PHASE/{nb.db,sb.json,lflows.txt}.
      Each nb.db is then read back with `ovsdb-tool query` and compared with
      the (relabelled) live NB state of that phase.

See testdata/README.md for the formats and the normalisation rules.
"""

import hashlib
import json
import os
import re
import subprocess
import sys

NB_SCHEMA_PATH = os.environ.get("OVN_NB_SCHEMA", "/usr/share/ovn/ovn-nb.ovsschema")
SB_SCHEMA_PATH = os.environ.get("OVN_SB_SCHEMA", "/usr/share/ovn/ovn-sb.ovsschema")

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HEX8_RE = re.compile(r"^[0-9a-f]{8}$")
# Fixed ("pinned") NB uuids chosen by scenarios start with this.
PINNED_PREFIX = "00000000-0000-4000-8000-"

# Canonical uuid suffixes: the last 12 hex digits tell which database a
# canonical uuid belongs to.
NB_SUFFIX = "00000000000a"
SB_SUFFIX = "00000000000b"

# Values that are not determined by the scenario input (wall-clock time or
# random numbers drawn by northd).  They are replaced by 0 in every output
# (both in the reference files and in the state nb.db is checked against).
VOLATILE = {
    "nb": {
        ("NB_Global", "nb_cfg_timestamp"),   # wall clock (msec) of nb_cfg
        ("NB_Global", "sb_cfg_timestamp"),   # wall clock (msec) of sb_cfg
        ("NB_Global", "hv_cfg_timestamp"),   # wall clock (msec) of hv_cfg
    },
    "sb": {
        ("Chassis_Private", "nb_cfg_timestamp"),  # wall clock, set by chassis
        ("MAC_Binding", "timestamp"),             # wall clock of learning
        ("BFD", "disc"),                          # random_uint32() in northd
    },
}


class OracleError(Exception):
    pass


# ---------------------------------------------------------------------------
# OVSDB types and values
# ---------------------------------------------------------------------------

class ColType:
    __slots__ = ("key", "value", "min", "max", "persistent")

    def __init__(self, coldef):
        t = coldef["type"]
        if isinstance(t, str):
            t = {"key": t}
        k = t["key"]
        self.key = k if isinstance(k, str) else k["type"]
        v = t.get("value")
        self.value = None if v is None else (v if isinstance(v, str) else v["type"])
        self.min = t.get("min", 1)
        mx = t.get("max", 1)
        self.max = float("inf") if mx == "unlimited" else mx
        self.persistent = not coldef.get("ephemeral", False)

    @property
    def composite(self):
        return self.max > 1


def load_schema(path):
    with open(path, "rb") as f:
        raw = f.read()
    schema = json.loads(raw)
    types = {t: {c: ColType(cd) for c, cd in td["columns"].items()}
             for t, td in schema["tables"].items()}
    return schema, types


class U(str):
    """A uuid atom (as opposed to a plain string atom)."""
    __slots__ = ()


DEFAULT_ATOM = {"integer": 0, "real": 0.0, "boolean": False, "string": "",
                "uuid": U("00000000-0000-0000-0000-000000000000")}


def parse_atom(j):
    if isinstance(j, list):
        if len(j) == 2 and j[0] == "uuid":
            return U(j[1])
        raise OracleError("unexpected atom %r" % (j,))
    return j


def atom_json(a):
    if isinstance(a, U):
        return ["uuid", str(a)]
    return a


def atom_sort_key(a):
    # ovsdb_atom_compare_3way: numbers numerically, false < true, strings by
    # bytes (strcmp on UTF-8), uuids by their parts == their lowercase string.
    if isinstance(a, U):
        return str(a).lower().encode()
    if isinstance(a, str):
        return a.encode("utf-8")
    return a


def parse_datum(j, ct):
    """JSON (RFC 7047 notation) -> sorted list of atoms or of (key, value)."""
    if ct.value is not None:
        if not (isinstance(j, list) and j[0] == "map"):
            raise OracleError("map expected, got %r" % (j,))
        d = [(parse_atom(k), parse_atom(v)) for k, v in j[1]]
    elif isinstance(j, list) and len(j) == 2 and j[0] == "set":
        d = [parse_atom(x) for x in j[1]]
    else:
        d = [parse_atom(j)]
    return sort_datum(d, ct)


def sort_datum(d, ct):
    if ct.value is not None:
        return sorted(d, key=lambda kv: atom_sort_key(kv[0]))
    return sorted(d, key=atom_sort_key)


def datum_json(d, ct):
    if ct.value is not None:
        return ["map", [[atom_json(k), atom_json(v)] for k, v in d]]
    if len(d) == 1:
        return atom_json(d[0])
    return ["set", [atom_json(a) for a in d]]


def datum_is_default(d, ct):
    if len(d) != ct.min:
        return False
    dk = DEFAULT_ATOM[ct.key]
    for x in d:
        if ct.value is not None:
            if x[0] != dk or x[1] != DEFAULT_ATOM[ct.value]:
                return False
        elif x != dk:
            return False
    return True


def datum_diff(old, new, ct):
    """ovsdb_datum_diff(): what ovsdb-server writes for a changed column
    when it logs with "_is_diff": true."""
    if not ct.composite:
        return list(new)
    if ct.value is None:
        so, sn = set(old), set(new)
        return sort_datum([a for a in old if a not in sn] +
                          [a for a in new if a not in so], ct)
    om, nm = dict(old), dict(new)
    out = [(k, v) for k, v in old if k not in nm]
    out += [(k, v) for k, v in new if k not in om or om[k] != v]
    return sort_datum(out, ct)


def dump_json(obj):
    """Compact JSON, byte-compatible with OVS's json_to_ds(json, 0)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------
# snapshot
# ---------------------------------------------------------------------------

def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise OracleError("command failed (%d): %s\n%s" % (
            p.returncode, " ".join(cmd), p.stderr.decode(errors="replace")))
    return p.stdout


def select_all_request(schema):
    ops = [schema["name"]]
    for t in sorted(schema["tables"]):
        ops.append({"op": "select", "table": t, "where": []})
    return ops


def query_db(remote, schema):
    req = select_all_request(schema)
    out = run(["ovsdb-client", "transact", remote, json.dumps(req)])
    return results_to_tables(json.loads(out), req)


def results_to_tables(results, req):
    tables = {}
    for op, res in zip(req[1:], results):
        if "error" in res:
            raise OracleError("select %s failed: %r" % (op["table"], res))
        tables[op["table"]] = res["rows"]
    return tables


def cmd_snapshot(work, phase):
    nb_schema, _ = load_schema(NB_SCHEMA_PATH)
    sb_schema, _ = load_schema(SB_SCHEMA_PATH)
    outdir = os.path.join(work, "raw", phase)
    os.makedirs(outdir, exist_ok=True)
    nb = query_db("unix:%s/nb.sock" % work, nb_schema)
    sb = query_db("unix:%s/sb.sock" % work, sb_schema)
    lflows = run(["ovn-sbctl", "--db=unix:%s/sb.sock" % work, "lflow-list"])
    with open(os.path.join(outdir, "nb.json"), "w") as f:
        json.dump(nb, f, sort_keys=True, indent=1)
    with open(os.path.join(outdir, "sb.json"), "w") as f:
        json.dump(sb, f, sort_keys=True, indent=1)
    with open(os.path.join(outdir, "lflows.txt"), "wb") as f:
        f.write(lflows)


# ---------------------------------------------------------------------------
# Database state model
# ---------------------------------------------------------------------------

class DbState:
    """{table: {uuid: {column: datum}}} of one database at one phase."""

    def __init__(self, which, types, raw):
        self.which = which          # "nb" or "sb"
        self.types = types
        self.tables = {t: {} for t in types}
        for t, rows in raw.items():
            if t not in types:
                raise OracleError("unknown table %s" % t)
            for r in rows:
                u = r["_uuid"][1]
                row = {}
                for c, ct in types[t].items():
                    if c not in r:
                        raise OracleError("%s %s lacks column %s" % (t, u, c))
                    row[c] = parse_datum(r[c], ct)
                for c, ct in types[t].items():
                    if (t, c) in VOLATILE[which]:
                        row[c] = [0] if ct.min == 1 else []
                self.tables[t][u] = row

    def rows(self):
        for t in sorted(self.tables):
            for u, row in self.tables[t].items():
                yield t, u, row

    def table_of(self):
        return {u: t for t, u, _ in self.rows()}


# ---------------------------------------------------------------------------
# UUID relabelling
# ---------------------------------------------------------------------------

def is_stage_hint(column, key, value):
    # Logical_Flow external_ids:stage-hint holds the first 8 hex digits of
    # the uuid of the NB row a flow was generated for.
    return (column == "external_ids" and key == "stage-hint"
            and isinstance(value, str) and HEX8_RE.match(value) is not None)


class Relabeller:
    """Assigns canonical uuids to rows, content-derived and persistent."""

    def __init__(self):
        self.maps = {"nb": {}, "sb": {}}      # original uuid -> canonical
        self.next = {"nb": 1, "sb": 1}
        self.hint_map = {}                     # NB uuid[:8] -> canonical[:8]
        self.warnings = []

    @staticmethod
    def canonical(which, n):
        return "%08x-0000-4000-8000-%s" % (n, NB_SUFFIX if which == "nb" else SB_SUFFIX)

    # -- the token a uuid occurrence stands for while computing labels -----
    def _resolver(self, which, own_uuids, labels):
        own_map = self.maps[which]
        nb_map = self.maps["nb"]

        def tok(u):
            ul = u.lower()
            if ul in labels:
                return "L:" + labels[ul]
            if ul in own_map:
                return "C:" + own_map[ul]
            if which == "sb" and ul in nb_map:
                return "C:" + nb_map[ul]
            raise OracleError("%s: uuid %s refers to no known row" % (which, u))
        return tok

    def _render(self, table, row, types, tok, refs=None):
        """Row -> text with every uuid occurrence replaced by tok(uuid).
        If refs is a list, (column, target uuid) pairs are appended to it."""

        def ratom(a, col):
            if isinstance(a, U):
                if refs is not None:
                    refs.append((col, a.lower()))
                return ["uuid", tok(a)]
            if isinstance(a, str):
                def sub(m):
                    if refs is not None:
                        refs.append((col, m.group(0).lower()))
                    return "<" + tok(m.group(0)) + ">"
                return UUID_RE.sub(sub, a)
            return a

        out = []
        for c in sorted(row):
            ct = types[table][c]
            d = row[c]
            if ct.value is not None:
                items = []
                for k, v in d:
                    rk = ratom(k, c)
                    if is_stage_hint(c, k, v):
                        rv = "hint:" + self._hint(v)
                    else:
                        rv = ratom(v, c)
                    items.append([rk, rv])
                items.sort(key=lambda x: json.dumps(x, sort_keys=True))
                out.append([c, items])
            else:
                items = [ratom(a, c) for a in d]
                items.sort(key=lambda x: json.dumps(x, sort_keys=True))
                out.append([c, items])
        return json.dumps([table, out], sort_keys=True, ensure_ascii=False)

    def _hint(self, v):
        if v in self.hint_map:
            return self.hint_map[v]
        raise OracleError("stage-hint %s matches no NB row" % v)

    def update(self, state):
        """Assign canonical uuids to the rows of 'state' that have none."""
        which = state.which
        own = self.maps[which]
        all_rows = [(t, u.lower(), row) for t, u, row in state.rows()]
        uuids = {u for _, u, _ in all_rows}
        new = [(t, u, row) for t, u, row in all_rows if u not in own]
        if not new:
            return
        new_ids = {u for _, u, _ in new}

        # label 0: content with references to still-unlabelled rows masked
        masked = {u: "?" for u in new_ids}
        tok0 = self._resolver(which, uuids, masked)
        text0 = {}
        refs = {}
        for t, u, row in all_rows:
            rl = []
            text0[u] = self._render(t, row, state.types, tok0, rl)
            refs[u] = rl
        # back references: target -> [(referrer table, column, referrer)]
        back = {u: [] for u in new_ids}
        for t, u, row in all_rows:
            for col, target in refs[u]:
                if target in back:
                    back[target].append((t, col, u))

        def h(s):
            return hashlib.sha1(s.encode("utf-8")).hexdigest()

        # Primary key: the row's content with each reference replaced by the
        # label of its target, iterated to a fixed point (reached after
        # "depth of the reference graph" rounds; capped in case of cycles).
        # It only depends on what a row (transitively) refers to, so an
        # unrelated difference elsewhere does not reorder rows.
        fwd = {u: h(text0[u]) for u in new_ids}
        for _ in range(64):
            tok = self._resolver(which, uuids, fwd)
            nxt = {u: h(self._render(t, row, state.types, tok)) for t, u, row in new}
            if nxt == fwd:
                break
            fwd = nxt

        # Tie-breaker for rows with identical content and identical targets
        # (e.g. the same NAT rule on two routers): colour refinement that
        # also looks at who refers to a row, until the partition is stable.
        labels = dict(fwd)
        n_classes = len(set(labels.values()))
        for _ in range(64):
            tok = self._resolver(which, uuids, labels)
            nxt = {}
            for t, u, row in new:
                text = self._render(t, row, state.types, tok)
                br = sorted("%s.%s=%s" % (bt, bc, tok(bu)) for bt, bc, bu in back[u])
                nxt[u] = h(fwd[u] + text + "\n" + "\n".join(br))
            labels = nxt
            n = len(set(labels.values()))
            if n == n_classes:
                break
            n_classes = n

        # Rows with fixed ("pinned") uuids come first, in the order of those
        # uuids, so that their canonical uuids keep that order.
        def sort_key(x):
            t, u, _ = x
            pin = u if u.startswith(PINNED_PREFIX) else "~"
            return (t, pin, text0[u], fwd[u], labels[u])
        order = sorted(new, key=sort_key)
        for i in range(len(order) - 1):
            a, b = order[i], order[i + 1]
            if a[0] == b[0] and labels[a[1]] == labels[b[1]]:
                self.warnings.append(
                    "%s: rows %s and %s of %s cannot be told apart"
                    % (which, a[1], b[1], a[0]))
        for t, u, row in order:
            own[u] = self.canonical(which, self.next[which])
            self.next[which] += 1
            if which == "nb":
                self.hint_map[u[:8]] = own[u][:8]

    def check_pinned(self, state):
        """Scenarios create NB rows whose relative uuid order matters to
        northd (e.g. ECMP route member numbering) with fixed uuids starting
        with PINNED_PREFIX.  Their canonical uuids must be in the same order
        as the fixed ones, or the reference would not be reproducible from
        the relabelled nb.db.  New pinned rows are numbered first and in
        uuid order; this catches a row pinned in change() whose uuid sorts
        before one pinned in initial()."""
        for t, rows in state.tables.items():
            pinned = sorted(u.lower() for u in rows if u.lower().startswith(PINNED_PREFIX))
            canon = [self.maps["nb"][u] for u in pinned]
            if canon != sorted(canon):
                raise OracleError(
                    "pinned %s uuids are not relabelled in order: %s -> %s"
                    % (t, pinned, canon))

    # -- apply ---------------------------------------------------------------
    def map_uuid(self, which, u):
        ul = u.lower()
        if ul in self.maps[which]:
            return self.maps[which][ul]
        if which == "sb" and ul in self.maps["nb"]:
            return self.maps["nb"][ul]
        raise OracleError("%s: uuid %s refers to no known row" % (which, u))

    def map_text(self, which, s):
        return UUID_RE.sub(lambda m: self.map_uuid(which, m.group(0)), s)

    def relabel_state(self, state):
        """-> {table: {canonical uuid: {column: datum}}}, sets re-sorted."""
        which = state.which

        def atom(a):
            if isinstance(a, U):
                return U(self.map_uuid(which, a))
            if isinstance(a, str):
                return self.map_text(which, a)
            return a

        out = {}
        for t in sorted(state.tables):
            rows = {}
            for u, row in state.tables[t].items():
                nrow = {}
                for c, d in row.items():
                    ct = state.types[t][c]
                    if ct.value is not None:
                        nd = []
                        for k, v in d:
                            if is_stage_hint(c, k, v):
                                nd.append((atom(k), self._hint(v)))
                            else:
                                nd.append((atom(k), atom(v)))
                    else:
                        nd = [atom(a) for a in d]
                    nrow[c] = sort_datum(nd, ct)
                rows[self.map_uuid(which, u)] = nrow
            out[t] = dict(sorted(rows.items()))
        return out


# ---------------------------------------------------------------------------
# Output writers
# ---------------------------------------------------------------------------

def normalize_shared_hints(nb, sb, rl):
    """A logical flow that northd generates identically for several
    datapaths is stored once, with a Logical_DP_Group.  When its stage-hint
    names the datapath's own NB row (a Logical_Switch or Logical_Router),
    northd keeps the hint of whichever datapath it happened to process
    first, an order that follows hashes of the random NB uuids.  Such hints
    are replaced by the one of the group's datapath whose NB row has the
    smallest canonical uuid.  Their `source` (northd.c line) is dropped,
    for the same reason: two code paths can produce the same flow for
    different datapaths, and the row keeps the line of the first one."""
    nb_table = {u.lower(): t for t, u, _ in nb.rows()}
    by_prefix = {}
    for u, t in nb_table.items():
        if t in ("Logical_Switch", "Logical_Router"):
            by_prefix[u[:8]] = u
    dp_nb = {}
    for u, row in sb.tables["Datapath_Binding"].items():
        ids = dict(row["external_ids"])
        ref = ids.get("logical-switch") or ids.get("logical-router")
        if ref:
            dp_nb[u.lower()] = ref.lower()
    groups = {u.lower(): [str(a).lower() for a in row["datapaths"]]
              for u, row in sb.tables["Logical_DP_Group"].items()}
    for row in sb.tables["Logical_Flow"].values():
        if not row["logical_dp_group"]:
            continue
        ids = dict(row["external_ids"])
        # The source line is that of the first datapath processed too: two
        # code paths can produce the same flow for different datapaths.
        if "source" in ids:
            del ids["source"]
            row["external_ids"] = sorted(ids.items(), key=lambda kv: atom_sort_key(kv[0]))
        hint = ids.get("stage-hint")
        if hint is None or hint not in by_prefix:
            continue
        members = [dp_nb[d] for d in groups[str(row["logical_dp_group"][0]).lower()]
                   if d in dp_nb]
        if by_prefix[hint] not in members:
            continue
        best = min(members, key=lambda u: rl.maps["nb"][u])
        ids["stage-hint"] = best[:8]
        row["external_ids"] = sorted(ids.items(), key=lambda kv: atom_sort_key(kv[0]))


def state_to_json(tables, types):
    return {t: {u: {c: datum_json(d, types[t][c]) for c, d in row.items()}
                for u, row in rows.items()}
            for t, rows in tables.items()}


def write_sb_json(path, tables, types):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(state_to_json(tables, types), sort_keys=True, indent=1) + "\n")


def log_record(obj):
    data = (dump_json(obj) + "\n").encode("utf-8")
    header = "OVSDB JSON %d %s\n" % (len(data), hashlib.sha1(data).hexdigest())
    return header.encode("ascii") + data


def insert_txn(tables, types, comment):
    txn = {}
    for t in sorted(tables):
        trows = {}
        for u, row in tables[t].items():
            trows[u] = {c: datum_json(d, types[t][c]) for c, d in sorted(row.items())
                        if types[t][c].persistent
                        and not datum_is_default(d, types[t][c])}
        if trows:
            txn[t] = dict(sorted(trows.items()))
    txn["_comment"] = comment
    txn["_is_diff"] = True
    return txn


def diff_txn(old, new, types, comment):
    txn = {}
    for t in sorted(new):
        trows = {}
        o, n = old.get(t, {}), new[t]
        for u in sorted(set(o) | set(n)):
            if u not in n:
                trows[u] = None
            elif u not in o:
                trows[u] = {c: datum_json(d, types[t][c]) for c, d in sorted(n[u].items())
                            if types[t][c].persistent
                            and not datum_is_default(d, types[t][c])}
            else:
                ch = {}
                for c in sorted(n[u]):
                    ct = types[t][c]
                    if ct.persistent and o[u][c] != n[u][c]:
                        ch[c] = datum_json(datum_diff(o[u][c], n[u][c], ct), ct)
                if ch:
                    trows[u] = ch
        if trows:
            txn[t] = trows
    txn["_comment"] = comment
    txn["_is_diff"] = True
    return txn


def relabel_lflows(text, rl):
    """Relabel the datapath uuids in `lflow-list` output and put the
    per-datapath blocks in an order that does not depend on uuid values
    (the tool sorts by datapath name, then datapath uuid)."""
    lines = rl.map_text("sb", text).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    hdr = re.compile(r'^Datapath: (.*) \(([0-9a-f-]{36})\)  Pipeline: (ingress|egress)$')
    blocks = []
    for line in lines:
        m = hdr.match(line)
        if m:
            name = m.group(1)
            key = (name.encode("utf-8"), m.group(2), 0 if m.group(3) == "ingress" else 1)
            blocks.append((key, [line]))
        elif blocks and line.startswith("  "):
            blocks[-1][1].append(line)
        else:
            raise OracleError("unexpected lflow-list line %r" % line)
    blocks.sort(key=lambda b: b[0])
    return "".join(l + "\n" for _, b in blocks for l in b)


def verify_nb_db(path, expected, schema, types):
    """Read nb.db back with ovsdb-tool and compare with 'expected'."""
    req = select_all_request(schema)
    out = run(["ovsdb-tool", "query", path, json.dumps(req)])
    got_raw = results_to_tables(json.loads(out), req)
    got = {}
    for t, rows in got_raw.items():
        got[t] = {}
        for r in rows:
            got[t][r["_uuid"][1]] = {c: parse_datum(r[c], types[t][c]) for c in types[t]}
    exp = {}
    for t, rows in expected.items():
        exp[t] = {}
        for u, row in rows.items():
            exp[t][u] = {c: (d if types[t][c].persistent else
                             ([DEFAULT_ATOM[types[t][c].key]] * types[t][c].min))
                         for c, d in row.items()}
    if got != exp:
        for t in sorted(set(got) | set(exp)):
            g, e = got.get(t, {}), exp.get(t, {})
            for u in sorted(set(g) | set(e)):
                if g.get(u) != e.get(u):
                    sys.stderr.write("nb.db mismatch %s %s:\n file: %r\n live: %r\n"
                                     % (t, u, g.get(u), e.get(u)))
        raise OracleError("%s does not yield the live NB state" % path)


def cmd_emit(work, outdir, phases):
    nb_schema, nb_types = load_schema(NB_SCHEMA_PATH)
    sb_schema, sb_types = load_schema(SB_SCHEMA_PATH)
    rl = Relabeller()
    records = [log_record(nb_schema)]
    prev_nb = None
    for phase in phases:
        rawdir = os.path.join(work, "raw", phase)
        with open(os.path.join(rawdir, "nb.json")) as f:
            nb = DbState("nb", nb_types, json.load(f))
        with open(os.path.join(rawdir, "sb.json")) as f:
            sb = DbState("sb", sb_types, json.load(f))
        with open(os.path.join(rawdir, "lflows.txt"), encoding="utf-8") as f:
            lflows = f.read()

        rl.update(nb)
        rl.check_pinned(nb)
        normalize_shared_hints(nb, sb, rl)
        rl.update(sb)
        nb_rel = rl.relabel_state(nb)
        sb_rel = rl.relabel_state(sb)

        pdir = os.path.join(outdir, phase)
        os.makedirs(pdir, exist_ok=True)
        comment = "flowc oracle: " + phase
        if prev_nb is None:
            records.append(log_record(insert_txn(nb_rel, nb_types, comment)))
        else:
            records.append(log_record(diff_txn(prev_nb, nb_rel, nb_types, comment)))
        prev_nb = nb_rel
        db_path = os.path.join(pdir, "nb.db")
        with open(db_path, "wb") as f:
            f.write(b"".join(records))
        verify_nb_db(db_path, nb_rel, nb_schema, nb_types)
        write_sb_json(os.path.join(pdir, "sb.json"), sb_rel, sb_types)
        with open(os.path.join(pdir, "lflows.txt"), "w", encoding="utf-8") as f:
            f.write(relabel_lflows(lflows, rl))
    for w in rl.warnings:
        sys.stderr.write("warning: %s\n" % w)


def main(argv):
    if len(argv) >= 3 and argv[0] == "snapshot":
        cmd_snapshot(argv[1], argv[2])
    elif len(argv) >= 4 and argv[0] == "emit":
        cmd_emit(argv[1], argv[2], argv[3:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OracleError as e:
        sys.stderr.write("normalize.py: error: %s\n" % e)
        sys.exit(1)
