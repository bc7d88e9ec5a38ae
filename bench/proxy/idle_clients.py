#!/usr/bin/env python3
"""Opens N client connections to a PostgreSQL-protocol server, completes the
startup (trust auth) on each, holds them idle for HOLD seconds, prints how many
reached ReadyForQuery. Usage: idle_clients.py PORT N HOLD [USER]"""
import selectors, socket, struct, sys, time

port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
user = sys.argv[4] if len(sys.argv) > 4 else "postgres"
params = b"user\0" + user.encode() + b"\0database\0postgres\0\0"
startup = struct.pack("!II", 8 + len(params), 196608) + params
sel = selectors.DefaultSelector()
socks, ready, bufs = [], 0, {}
deadline = time.time() + 120
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    socks.append(s)
    sel.register(s, selectors.EVENT_WRITE)
    bufs[s] = b""
    if i % 500 == 499:  # let the server keep up
        time.sleep(0.05)
pending = set(socks)
sent = set()
while pending and time.time() < deadline:
    for key, ev in sel.select(timeout=1):
        s = key.fileobj
        if ev & selectors.EVENT_WRITE and s not in sent:
            try:
                s.send(startup)
            except OSError:
                pending.discard(s); sel.unregister(s); continue
            sent.add(s)
            sel.modify(s, selectors.EVENT_READ)
        elif ev & selectors.EVENT_READ:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                pending.discard(s); sel.unregister(s); continue
            bufs[s] += data
            if b"Z\0\0\0\x05I" in bufs[s]:
                ready += 1
                pending.discard(s); sel.unregister(s)
print(ready, flush=True)
time.sleep(hold)
