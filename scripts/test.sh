#!/usr/bin/env bash
# Runs every test of flowc: the Rust suite (unit, property and live tests
# against the real OVN 23.03 / OVS 3.1 daemons), 300 random NBs compiled by
# flowc and by the reference ovn-northd and 60 more, with changes, read by
# flowc-northd and ovn-northd at once (testdata/oracle/fuzz.py), and the
# check that the reference oracle regenerates the committed outputs
# byte-identically.
# Installs the Debian packages the live tests need when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=0
for tool in ovsdb-server ovsdb-tool ovsdb-client ovs-appctl ovs-vsctl ovs-vswitchd ovs-ofctl \
    ovn-nbctl ovn-sbctl ovn-northd ovn-controller; do
  command -v "$tool" >/dev/null 2>&1 || need_pkgs=1
done
if [ "$need_pkgs" = 1 ]; then
  echo "== installing ovn-central ovn-host openvswitch-switch (Debian) =="
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq ovn-central ovn-host openvswitch-switch >/dev/null
fi
# jemalloc (the binaries' allocator, built from source by tikv-jemalloc-sys)
# needs a C compiler and make.
if ! command -v make >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
  echo "== installing make gcc (Debian) =="
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq make gcc >/dev/null
fi

echo "== cargo test (workspace, live tests required) =="
FLOWC_REQUIRE_LIVE=1 cargo test --workspace --locked

echo "== random NBs: flowc compile gives the reference ovn-northd's flows (fixed seeds) =="
cargo build -q --locked -p northd --bin flowc
fuzz_log=$(mktemp)
if python3 testdata/oracle/fuzz.py --flowc target/debug/flowc --known testdata/fuzz-known.txt 1-300 >"$fuzz_log" 2>&1; then
  tail -1 "$fuzz_log"; rm -f "$fuzz_log"
else
  grep -v ': ok:' "$fuzz_log"; rm -f "$fuzz_log"; exit 1
fi
echo "== random NBs and changes read by ovn-northd and flowc-northd at once: same flows and SB after each change =="
cargo build -q --locked -p northd --bin flowc-northd
if python3 testdata/oracle/fuzz.py --live target/debug/flowc-northd --known testdata/fuzz-known.txt 1-60 >"$fuzz_log" 2>&1; then
  tail -1 "$fuzz_log"; rm -f "$fuzz_log"
else
  grep -v ': ok:' "$fuzz_log"; rm -f "$fuzz_log"; exit 1
fi

echo "== reference oracle reproduces testdata/reference byte for byte =="
bash testdata/regen-reference.sh --check

echo "== a real ovn-controller reproduces testdata/controller: flows and traces (the controller's oracle) =="
bash testdata/regen-controller.sh --check

echo "== a real ovn-controller reproduces testdata/controller-matches =="
bash testdata/controller-matches/regen.sh --check

echo "== flowc-northd, live in place of ovn-northd, leaves NB and SB as the reference did (both orders) =="
bash testdata/live-northd.sh

echo "== flowc-northd under faults (two instances, kills, SB edited behind its back, bad rows) =="
bash testdata/live-northd-faults.sh

echo "== a real ovn-controller accepts flowc-northd's SB (claims ports, same OpenFlow flows) =="
bash testdata/live-controller.sh
