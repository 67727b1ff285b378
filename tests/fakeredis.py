#!/usr/bin/env python3
"""fakeredis -- a misbehaving Redis server, for tests/it/fleet-hostile*.sh.

    fakeredis.py MODE PORT COUNTFILE

Listens on 127.0.0.1:PORT and serves every connection in its own thread.
It answers AUTH, SELECT, PING and SUBSCRIBE like Redis, then misbehaves the
way MODE says. A real redis-server cannot be made to do any of this; the
tests use the real one for everything else.

    silent    accepts, reads and never answers anything
    huge      answers GETRANGE with a 1 GiB bulk string, sent as fast as it can
    bigarray  answers GETRANGE with an array of 20,000,000 integers
    extra     answers PING twice (a reply to no command)
    unsub     on the subscriber connection, confirms SUBSCRIBE and then says
              "unsubscribe" (never asked) and sends a message

Other commands: EVAL is answered :-1 (the lease is won), SET +OK, PUBLISH
:0. Appends one line "accept" to COUNTFILE per connection, writes the file
PORT-file COUNTFILE.port once it listens. Runs until killed.
"""
import socket
import sys
import threading


def commands(conn):
    """Yields each command (a list of bytes) the client sends."""
    buf = b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            data = conn.recv(65536)
            if not data:
                raise EOFError
            buf += data

    def line():
        nonlocal buf
        while b"\r\n" not in buf:
            need(len(buf) + 1)
        ln, buf = buf.split(b"\r\n", 1)
        return ln

    while True:
        head = line()
        if not head.startswith(b"*"):
            yield head.split()
            continue
        args = []
        for _ in range(int(head[1:])):
            n = int(line()[1:])
            need(n + 2)
            args.append(buf[:n])
            buf = buf[n + 2:]
        yield args


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def serve(mode, conn):
    try:
        for args in commands(conn):
            if mode == "silent":
                continue
            cmd = args[0].upper() if args else b""
            if cmd in (b"AUTH", b"SELECT"):
                conn.sendall(b"+OK\r\n")
            elif cmd == b"PING":
                conn.sendall(b"+PONG\r\n+OK\r\n" if mode == "extra" else b"+PONG\r\n")
            elif cmd == b"SUBSCRIBE":
                ch = args[1]
                conn.sendall(b"*3\r\n" + bulk(b"subscribe") + bulk(ch) + b":1\r\n")
                if mode == "unsub":
                    conn.sendall(b"*3\r\n" + bulk(b"unsubscribe") + bulk(ch) + b":0\r\n")
                    conn.sendall(b"*3\r\n" + bulk(b"message") + bulk(ch) + bulk(b"00"))
            elif cmd == b"GETRANGE" and mode == "huge":
                conn.sendall(b"$1073741824\r\n")
                chunk = b"x" * 65536
                while True:
                    conn.sendall(chunk)
            elif cmd == b"GETRANGE" and mode == "bigarray":
                conn.sendall(b"*20000000\r\n")
                chunk = b":1\r\n" * 16384
                while True:
                    conn.sendall(chunk)
            elif cmd == b"GETRANGE":
                conn.sendall(b"$-1\r\n")
            elif cmd == b"EVAL":
                conn.sendall(b":-1\r\n")
            elif cmd == b"PUBLISH":
                conn.sendall(b":0\r\n")
            else:
                conn.sendall(b"+OK\r\n")
    except (OSError, EOFError, ValueError):
        pass
    finally:
        conn.close()


def main():
    modes = ("silent", "huge", "bigarray", "extra", "unsub")
    if len(sys.argv) != 4 or sys.argv[1] not in modes:
        sys.stderr.write(__doc__)
        sys.exit(2)
    mode, port, countfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    with open(countfile + ".port", "w") as f:
        f.write("%d\n" % port)
    while True:
        conn, _ = srv.accept()
        with open(countfile, "a") as f:
            f.write("accept\n")
        threading.Thread(target=serve, args=(mode, conn), daemon=True).start()


if __name__ == "__main__":
    main()
