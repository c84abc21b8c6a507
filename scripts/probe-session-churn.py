#!/usr/bin/env python3
"""One account identifying and dropping gateway sessions in a loop.

Each round opens a connection, identifies with TOKEN, reads the answer
(READY, op 9 or a close code), and drops the connection. Prints what the
rounds got and the server's resident memory before and after.

    scripts/probe-session-churn.py 127.0.0.1 8080 TOKEN 2000 $(pidof hearth)
"""
import importlib.util
import json
import os
import socket
import sys
import time

spec = importlib.util.spec_from_file_location(
    "probe", os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe-unidentified.py")
)
p = importlib.util.module_from_spec(spec)
spec.loader.exec_module(p)
host, port, tok, n, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def read_frame(s, buf):
    """The next server frame: (opcode, payload, rest of the buffer)."""
    while True:
        if len(buf) >= 2:
            op = buf[0] & 0x0f; ln = buf[1] & 0x7f; off = 2
            if ln == 126:
                if len(buf) < 4: pass
                else: ln = int.from_bytes(buf[2:4], 'big'); off = 4
            elif ln == 127:
                if len(buf) >= 10: ln = int.from_bytes(buf[2:10], 'big'); off = 10
            if len(buf) >= off + ln and not (buf[1]&0x7f in (126,127) and off == 2):
                return op, buf[off:off+ln], buf[off+ln:]
        c = s.recv(65536)
        if not c: return None, b'', buf
        buf += c
counts = {}
rss0 = p.rss_kib(pid); t0 = time.time()
for i in range(n):
    s = p.open_gateway(host, port, "v=10&encoding=json")
    buf = b""
    p.send_text(s, '{"op":2,"d":{"token":"%s","intents":513,"properties":{}}}' % tok)
    s.settimeout(5)
    kind = "timeout"
    try:
        while True:
            op, payload, buf = read_frame(s, buf)
            if op is None: kind = "eof"; break
            if op == 8: kind = "close %d" % int.from_bytes(payload[:2], 'big'); break
            if op == 1:
                m = json.loads(payload)
                if m["op"] == 10: continue
                kind = m.get("t") or "op %d" % m["op"]; break
    except socket.timeout:
        pass
    counts[kind] = counts.get(kind, 0) + 1
    s.close()
time.sleep(1)
print(f"{n} identify-and-drop in {time.time()-t0:.1f}s: {counts}; RSS {rss0} -> {p.rss_kib(pid)} KiB")
