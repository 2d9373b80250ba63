"""The SB that regen.sh writes, as ovsdb-client transact requests.

`base`: one logical switch datapath (key 1) with ports lp1 (key 1), lp2 (2)
and lp3 (3), the multicast group _MC_flood (32768), port groups `1_pg1`
(lp1, lp3: the datapath-scoped SB name of `@pg1`) and `pgplain` (lp2: found
through the bare-name fallback), and the address set `as1` (with an entry
that is not an address, which ovn-controller skips).
`flows CASES`: one Logical_Flow per case (see cases.txt).
"""
import json
import sys

DB = "OVN_Southbound"


def base():
    ops = [
        {"op": "insert", "table": "Datapath_Binding", "uuid-name": "dp",
         "row": {"tunnel_key": 1,
                 "external_ids": ["map", [["logical-switch", "5c4f2a8e-6e0c-4c47-9c6f-000000000001"],
                                          ["name", "sw0"]]]}},
    ]
    for name, key in (("lp1", 1), ("lp2", 2), ("lp3", 3)):
        ops.append({"op": "insert", "table": "Port_Binding", "uuid-name": name,
                    "row": {"logical_port": name, "tunnel_key": key, "datapath": ["named-uuid", "dp"],
                            "mac": ["set", ["00:00:00:00:00:0%d 10.0.0.%d" % (key, key)]]}})
    ops.append({"op": "insert", "table": "Multicast_Group",
                "row": {"name": "_MC_flood", "tunnel_key": 32768, "datapath": ["named-uuid", "dp"],
                        "ports": ["set", [["named-uuid", "lp1"], ["named-uuid", "lp2"], ["named-uuid", "lp3"]]]}})
    ops.append({"op": "insert", "table": "Port_Group",
                "row": {"name": "1_pg1", "ports": ["set", ["lp1", "lp3"]]}})
    ops.append({"op": "insert", "table": "Port_Group",
                "row": {"name": "pgplain", "ports": ["set", ["lp2"]]}})
    ops.append({"op": "insert", "table": "Address_Set",
                "row": {"name": "as1", "addresses": ["set", ["10.0.0.1", "10.0.1.0/24", "10.0.0.1/32",
                                                               "bad-entry", "192.168.0.0/255.255.0.0"]]}})
    return [DB] + ops


def flows(path):
    rows = []
    i = 0
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pipeline, match, actions = [x.strip() for x in line.split(" | ")]
        rows.append((i, pipeline, match, actions))
        i += 1
    return rows


if __name__ == "__main__":
    if sys.argv[1] == "base":
        print(json.dumps(base()))
    else:
        rows = flows(sys.argv[2])
        import subprocess
        dp = subprocess.check_output(["ovn-sbctl", "--bare", "--columns=_uuid", "find",
                                      "Datapath_Binding", "tunnel_key=1"]).decode().strip()
        ops = [DB]
        for i, pipeline, match, actions in rows:
            ops.append({"op": "insert", "table": "Logical_Flow",
                        "row": {"logical_datapath": ["uuid", dp], "pipeline": pipeline, "table_id": 0,
                                "priority": 1000 + i, "match": match, "actions": actions,
                                "external_ids": ["map", [["case", str(i)]]]}})
        print(json.dumps(ops))
