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
