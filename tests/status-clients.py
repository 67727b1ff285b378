#!/usr/bin/env python3
"""Hostile and busy HTTP clients of ocspd's HTTP servers: the status server
(tests/it/trust-status.sh) and the local OCSP responder (responder-hostile.sh).

status-clients.py slow PORT N SRC READYFILE
    N connections from address SRC, each sends a partial request and holds
    it; a connection the server closes is opened again 1 s later.
status-clients.py noread PORT N SRCS READYFILE
    N connections spread over SRCS (comma-separated), each with a 4 KiB
    receive buffer, sends GET /status and never reads.
status-clients.py poll PORT N SRCS COUNTFILE
    N threads, thread i from SRCS[i % len(SRCS)]: GET /status in a loop,
    reading each whole answer; the number of answers so far in COUNTFILE.
status-clients.py idle PORT N SRC STATSFILE
    N connections from address SRC that never send a byte, never reopened;
    STATSFILE says "open N" (connections the server has not closed yet)
    every 0.5 s, the first time once every connection was tried.
status-clients.py drip PORT 1 SRC STATSFILE
    one connection from SRC sending a POST request one byte a second
    (every byte is progress: no idle timeout applies); STATSFILE says
    "dripping N" while it is open, then "closed after S s, answer B bytes".

READYFILE is written once every connection was tried. Runs until killed.
"""
import os, selectors, socket, sys, threading, time

mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srcs, out = sys.argv[4].split(","), sys.argv[5]

def conn(src, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s

def touch(path, text="ready\n"):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)

if mode == "slow":
    sel = selectors.DefaultSelector()
    pending = []            # (time to reconnect)
    def open_one():
        try:
            s = conn(srcs[0])
            s.setblocking(False)
            s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            pending.append(time.time() + 1)
    for _ in range(n):
        open_one()
    touch(out)
    while True:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                sel.unregister(s)
                s.close()
                pending.append(time.time() + 1)
        now = time.time()
        due = [t for t in pending if t <= now]
        pending[:] = [t for t in pending if t > now]
        for _ in due:
            open_one()
elif mode == "noread":
    held = []
    for i in range(n):
        s = conn(srcs[i % len(srcs)], rcvbuf=4096)
        s.send(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        held.append(s)
    touch(out)
    while True:
        time.sleep(1)
elif mode == "poll":
    count = [0]
    lock = threading.Lock()
    def loop(src):
        while True:
            try:
                s = conn(src)
                s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                while s.recv(1 << 20):
                    pass
                s.close()
                with lock:
                    count[0] += 1
            except OSError:
                time.sleep(0.05)
    for i in range(n):
        threading.Thread(target=loop, args=(srcs[i % len(srcs)],), daemon=True).start()
    while True:
        time.sleep(0.5)
        touch(out, "%d\n" % count[0])
elif mode == "idle":
    sel = selectors.DefaultSelector()
    for _ in range(n):
        try:
            s = conn(srcs[0])
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            pass
    left = len(sel.get_map())
    touch(out, "open %d\n" % left)
    while True:
        for key, _ in sel.select(timeout=0.5):
            try:
                d = key.fileobj.recv(4096)
            except OSError:
                d = b""
            if not d:
                sel.unregister(key.fileobj)
                key.fileobj.close()
        touch(out, "open %d\n" % len(sel.get_map()))
elif mode == "drip":
    req = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: 200\r\n\r\n" + b"0" * 200
    s = conn(srcs[0])
    s.settimeout(1)
    start, got, sent = time.time(), b"", 0
    try:
        while sent < len(req):
            s.send(req[sent:sent + 1])
            sent += 1
            touch(out, "dripping %d\n" % sent)
            try:
                d = s.recv(4096)
                if not d:
                    break
                got += d
            except socket.timeout:
                pass
    except OSError:
        pass
    touch(out, "closed after %.0f s, answer %d bytes\n" % (time.time() - start, len(got)))
    while True:
        time.sleep(1)
