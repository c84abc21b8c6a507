#!/usr/bin/env python3
"""Memory a node spends per gateway connection.

Opens N WebSocket connections to a running `hearth` on loopback (with
`compress=zstd-stream` unless --plain), reads each one's Hello, holds them
all, and prints the server's resident memory before and after, read from
/proc/<pid>/status. With --token, each connection also identifies (then the
user's session limit must allow N sessions). Standard library only.

    scripts/probe-unidentified.py --pid $(pidof hearth) --addr 127.0.0.1:8080 -n 1000
"""

import argparse
import base64
import os
import socket
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def send_text(s, text):
    """One masked client text frame."""
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def open_gateway(host, port, query, token=None):
    s = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET /gateway?{query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed during the handshake")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(head.decode(errors="replace"))
    # Hello: one small unmasked server frame (2-byte header for < 126 bytes).
    while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7F):
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed before Hello")
        rest += chunk
    if token:
        send_text(s, '{"op":2,"d":{"token":"%s","intents":513,"properties":{}}}' % token)
        # READY and the GUILD_CREATEs are left unread in the socket buffers.
    return s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--addr", default="127.0.0.1:8080")
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--plain", action="store_true", help="no compression")
    p.add_argument("--token", help="identify every connection with this token")
    a = p.parse_args()
    host, port = a.addr.rsplit(":", 1)
    query = "v=10&encoding=json" + ("" if a.plain else "&compress=zstd-stream")
    before = rss_kib(a.pid)
    conns = [open_gateway(host, int(port), query, a.token) for _ in range(a.n)]
    time.sleep(1)
    after = rss_kib(a.pid)
    print(
        f"{a.n} {'identified' if a.token else 'unidentified'} connections ({query}): RSS {before} KiB -> {after} KiB, "
        f"{(after - before) / a.n:.1f} KiB per connection"
    )
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()
