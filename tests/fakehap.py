#!/usr/bin/env python3
"""fakehap -- a misbehaving HAProxy admin socket, for tests/it/trust-haproxy-*.sh.

    fakehap.py MODE SOCKET COUNTFILE

Listens on the unix socket SOCKET (removed first) and serves every
connection in its own thread, the way MODE says. A real HAProxy cannot be
made to do any of this; the tests use the real one for everything else.

    silent    accepts, reads and never answers
    stream    sends bytes without ever a prompt, as fast as it can
    flood     sends empty answers ("\\n> ") as fast as it can
    close     closes each connection as soon as it is accepted
    stopping  answers like a HAProxy worker that is being replaced: every
              "show info" says "Stopping: 1", pushes are "updated"

Appends one line "accept" to COUNTFILE per connection (the tests count
them), and creates SOCKET only once it listens. Runs until killed.
"""
import os
import socket
import sys
import threading


def serve(mode, conn):
    try:
        if mode == "close":
            return
        if mode == "stream":
            chunk = b"x" * 65536
            while True:
                conn.sendall(chunk)
        if mode == "flood":
            chunk = b"\n> " * 20000
            while True:
                conn.sendall(chunk)
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            if mode == "silent":
                continue
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line == b"show info":
                    conn.sendall(b"Name: HAProxy\nVersion: 2.6.12\nPid: 4242\n"
                                 b"Stopping: 1\n\n> ")
                elif line.startswith(b"set ssl ocsp-response "):
                    conn.sendall(b"OCSP Response updated!\n\n> ")
                elif line == b"prompt" or line.startswith(b"set timeout cli "):
                    conn.sendall(b"\n> ")
                else:
                    conn.sendall(b"Unknown command.\n\n> ")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("silent", "stream", "flood", "close", "stopping"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    mode, path, countfile = sys.argv[1:]
    tmp = path + ".tmp"
    for p in (path, tmp):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    srv.listen(64)
    os.rename(tmp, path)	# the socket appears once it listens
    while True:
        conn, _ = srv.accept()
        with open(countfile, "a") as f:
            f.write("accept\n")
        threading.Thread(target=serve, args=(mode, conn), daemon=True).start()


if __name__ == "__main__":
    main()
