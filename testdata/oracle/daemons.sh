# Shell helpers shared by the oracle and live scripts (source it): stop a
# daemon we started, by pid or by the pid in its pidfile. A detached daemon
# is reparented to init, which may take a while to reap it: a zombie counts
# as stopped.
daemon_alive() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

stop_pid() {
    local pid=$1 i
    case $pid in ''|*[!0-9]*) return 0 ;; esac
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        daemon_alive "$pid" || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_daemon() {
    [ -s "$1" ] || return 0
    stop_pid "$(cat "$1" 2>/dev/null)"
}

# start_ovs_br_int WORK [DATAPATH_TYPE]: a private Open vSwitch in WORK
# (ovsdb-server on WORK/ovs.sock, ovs-vswitchd with dummy devices in place
# of system ones) and a userspace br-int (fail-mode=secure). Sets OVS_DB
# and defines vsctl (ovs-vsctl on that database).
# DATAPATH_TYPE netdev (default): --enable-dummy=override, every device
# type but patch is a dummy (tunnel ports too: no tunnel semantics).
# DATAPATH_TYPE dummy: --enable-dummy, br-int datapath_type=dummy: its
# internal ports are dummies, its tunnel ports real Geneve vports.
start_ovs_br_int() {
    local work=$1 dp_type=${2:-netdev} dummy=--enable-dummy=override
    [ "$dp_type" = netdev ] || dummy=--enable-dummy
    OVS_DB=unix:$work/ovs.sock
    ovsdb-tool create "$work/ovs.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-server --detach --no-chdir --pidfile="$work/ovs.pid" --log-file="$work/ovs.log" \
        --unixctl="$work/ovs.ctl" --remote=punix:"$work/ovs.sock" "$work/ovs.db"
    vsctl() { ovs-vsctl --db="$OVS_DB" --timeout=30 "$@"; }
    vsctl --no-wait init
    ovs-vswitchd --detach --no-chdir --pidfile="$work/vswitchd.pid" --log-file="$work/vswitchd.log" \
        --unixctl="$work/vswitchd.ctl" "$dummy" --disable-system --disable-system-route \
        "$OVS_DB"
    vsctl add-br br-int -- set Bridge br-int datapath_type="$dp_type" fail-mode=secure \
        other_config:disable-in-band=true
}
