#!/usr/bin/env bash
# Extract OVN 23.03.1's own action-encoding test vectors:
#
#   bash testdata/actions/regen-ovn-at.sh [OVN_SOURCE]
#
# OVN_SOURCE is a git clone of ovn-org/ovn (default: the mirror under
# /work/.mirror, else $OVN_SRC); the files are read at tag v23.03.1.
#
# - ovn-at-action-parsing.txt: the `test-cases.txt' block of the
#   "action parsing" test in tests/ovn.at, verbatim: unindented lines are
#   logical actions, indented lines what `ovstest test-ovn parse-actions'
#   prints for them ("encodes as OPENFLOW", "uses group: id(N),
#   name(DESC)", "formats as", "has prereqs", or an error).
# - test-ovn-params.txt: the inputs test-ovn encodes with (tests/test-ovn.c):
#   `dhcp NAME CODE TYPE' / `dhcpv6 NAME CODE TYPE' (create_gen_opts) and
#   `port NAME KEY' (the ports of test_parse_actions).
set -euo pipefail
export LC_ALL=C
OUT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${1:-${OVN_SRC:-/work/.mirror/ovn-org+ovn/repo}}
TAG=v23.03.1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
git -C "$SRC" show "$TAG:tests/ovn.at" >"$TMP/ovn.at"
git -C "$SRC" show "$TAG:tests/test-ovn.c" >"$TMP/test-ovn.c"

awk '
    /^AT_SETUP\(\[action parsing\]\)/ { in_test = 1 }
    in_test && /^AT_DATA\(\[test-cases.txt\],/ { in_data = 1; next }
    in_data && /^\]\]\)/ { exit }
    in_data { sub(/^\[\[/, ""); print }
' "$TMP/ovn.at" >"$OUT/ovn-at-action-parsing.txt"

{
    echo "# Inputs of ovstest test-ovn parse-actions (OVN $TAG tests/test-ovn.c)."
    awk '/^create_gen_opts/ { on = 1 } on && /^}/ { exit } on' "$TMP/test-ovn.c" |
        sed -nE 's/.*dhcp_opt_add\((dhcp_opts|dhcpv6_opts), *"([^"]+)", *([0-9]+), *"([^"]+)"\);.*/\1 \2 \3 \4/p' |
        sed -E 's/^dhcp_opts /dhcp /; s/^dhcpv6_opts /dhcpv6 /'
    awk '/^test_parse_actions/ { on = 1 } on && /^}/ { exit } on' "$TMP/test-ovn.c" |
        sed -nE 's/.*simap_put\(&ports, *"([^"]+)", *(.+)\);.*/port \1 \2/p' |
        sed -E 's/ofp_to_u16\(OFPP_LOCAL\)/65534/'
} >"$OUT/test-ovn-params.txt"

echo "$(grep -c 'encodes as' "$OUT/ovn-at-action-parsing.txt") encodings, $(grep -c . "$OUT/test-ovn-params.txt") parameter lines" >&2
