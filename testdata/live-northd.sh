#!/usr/bin/env bash
# Runs scenarios live with flowc-northd in place of ovn-northd (same
# private ovsdb-servers, same ovn-nbctl --wait=sb commands as the oracle)
# and checks that it leaves NB and SB exactly as the reference did:
# lflows.txt and nb.db byte for byte, sb.json equal except for
# Logical_Flow external_ids:source (testdata/oracle/compare_sb.py).
#
#   bash testdata/live-northd.sh [SCENARIO...]
#
# Without arguments: the scenarios flowc-northd supports exactly today
# (switches, ACLs, port groups, address sets, DHCP/DNS, localnet).
set -euo pipefail
cd "$(dirname "$0")/.."
SUPPORTED=(01 02 08 10)
[ $# -gt 0 ] && SUPPORTED=("$@")

cargo build -q --locked -p northd --bin flowc-northd
NORTHD=$PWD/target/debug/flowc-northd
OUT=$(mktemp -d /tmp/flowc-live.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

NORTHD=$NORTHD OUT_DIR=$OUT bash testdata/regen-reference.sh "${SUPPORTED[@]}"

status=0
for d in "$OUT"/*/; do
    name=$(basename "$d")
    for phase in initial change; do
        ref=testdata/reference/$name/$phase
        got=$OUT/$name/$phase
        for f in lflows.txt nb.db; do
            if ! cmp -s "$ref/$f" "$got/$f"; then
                echo "$name/$phase/$f differs from the reference:"; diff "$ref/$f" "$got/$f" | head -20 || true
                status=1
            fi
        done
        if ! python3 testdata/oracle/compare_sb.py "$ref/sb.json" "$got/sb.json"; then
            echo "$name/$phase/sb.json differs from the reference"; status=1
        fi
        [ $status -eq 0 ] && echo "$name/$phase: flowc-northd == ovn-northd"
    done
done
exit $status
