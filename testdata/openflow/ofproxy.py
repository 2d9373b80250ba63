#!/usr/bin/env python3
"""Records the OpenFlow messages between OVS tools and ovs-vswitchd, for
regen-messages.sh.

    ofproxy.py LISTEN TARGET LOG

Listens on the Unix socket LISTEN; each connection accepted there is
relayed to a new connection to the Unix socket TARGET, both ways, until
either side closes. Every whole message is appended to LOG as one line:
`>` (tool to switch) or `<` (switch to tool), the connection's number, and
the message in hex. Messages are framed by the length in their header;
nothing else is interpreted or changed. Runs until killed.
"""
import os
import select
import socket
import sys

listen_path, target_path, log_path = sys.argv[1:4]
if os.path.exists(listen_path):
    os.unlink(listen_path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(listen_path)
srv.listen(8)
# Tell the caller we listen (it waits for this file).
open(listen_path + ".ready", "w").close()
log = open(log_path, "a")
peers = {}
n_conns = 0
while True:
    ready, _, _ = select.select([srv] + list(peers), [], [])
    for s in ready:
        if s is srv:
            tool, _ = srv.accept()
            switch = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            switch.connect(target_path)
            n_conns += 1
            peers[tool] = (switch, f"> {n_conns}", bytearray())
            peers[switch] = (tool, f"< {n_conns}", bytearray())
            continue
        if s not in peers:
            continue
        other, tag, buf = peers[s]
        data = s.recv(65536)
        if not data:
            for x in (s, other):
                peers.pop(x, None)
                x.close()
            continue
        other.sendall(data)
        buf += data
        while len(buf) >= 4:
            n = int.from_bytes(buf[2:4], "big")
            if n < 8 or len(buf) < n:
                break
            log.write(f"{tag} {bytes(buf[:n]).hex()}\n")
            log.flush()
            del buf[:n]
