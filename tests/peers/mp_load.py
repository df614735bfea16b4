#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Load and latency peer: many multiprocessing.connection clients in one
process, or a CPython Listener echo server to compare against.

Spawned by tests/serve_load.rs and benches/serve.rs (CPython 3.13 there;
it runs on any 3.x).  Only the standard library; 127.0.0.1 only; the key
is never printed.

    mp_load.py --role clients --port N --key-hex HEX --count N
               [--prefix TEXT] [--nodelay] [--deadline S]
    mp_load.py --role listener --key-hex HEX [--nodelay] [--deadline S]

clients: N clients one after the other.  Client i connects, authenticates
(Client(address, authkey=key): answer_challenge then deliver_challenge),
sends the message PREFIX + '%04d' % i with send_bytes, reads the echo with
recv_bytes and closes.  With --nodelay it does what Client() does by hand
(SocketClient, then the two challenges) with TCP_NODELAY set between
connect and handshake: the reference for what Nagle's algorithm costs.
Times are time.perf_counter() inside this process, so interpreter start-up
is not in them.  One line per client:

    OK <i> <handshake_s> <total_s> <echo_hex>
    FAIL <i> <Class>: <message>

handshake_s runs from before connect to the end of the handshake, total_s
from before connect to after close.  Then DONE (exit 0, even when some
clients failed: the caller counts the FAIL lines).

listener: PORT <n>, then serves connections one at a time until killed:
Listener.accept() (deliver_challenge then answer_challenge), then echoes
each recv_bytes until EOF.  --nodelay sets TCP_NODELAY on each accepted
connection (after the handshake: Listener gives no earlier hook).
"""

import argparse
import os
import socket
import sys
import time

from multiprocessing.connection import (
    Client, Listener, SocketClient, answer_challenge, deliver_challenge)

# peer_common.py sits next to this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
from peer_common import (  # noqa: E402
    EXIT_OK, HOST, emit, from_hex, one_line, run_main, to_hex)


def set_nodelay(conn):
    """TCP_NODELAY on the socket behind a multiprocessing Connection."""
    s = socket.fromfd(conn.fileno(), socket.AF_INET, socket.SOCK_STREAM)
    try:
        # The duplicate shares the file description, and run_main's default
        # timeout made it non-blocking: the Connection needs it blocking.
        s.setblocking(True)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    finally:
        s.close()  # a duplicate descriptor: the connection stays open


def connect(address, key, nodelay):
    """Client(address, authkey=key), optionally with TCP_NODELAY first."""
    if not nodelay:
        return Client(address, authkey=key)
    conn = SocketClient(address)
    try:
        set_nodelay(conn)
        answer_challenge(conn, key)
        deliver_challenge(conn, key)
    except Exception:
        conn.close()
        raise
    return conn


def one_client(address, key, message, nodelay):
    """Returns (handshake_s, total_s, echo) for one client."""
    start = time.perf_counter()
    conn = connect(address, key, nodelay)
    try:
        handshake = time.perf_counter() - start
        conn.send_bytes(message)
        echo = conn.recv_bytes()
    finally:
        conn.close()
    return handshake, time.perf_counter() - start, echo


def run_clients(args, key):
    address = (HOST, args.port)
    for i in range(args.count):
        message = (args.prefix + '%04d' % i).encode('ascii')
        try:
            handshake, total, echo = one_client(
                address, key, message, args.nodelay)
        except Exception as exc:
            emit('FAIL %d %s: %s' % (i, type(exc).__name__, one_line(exc)))
            continue
        emit('OK %d %.6f %.6f %s' % (i, handshake, total, to_hex(echo)))
    emit('DONE')
    return EXIT_OK


def run_listener(args, key):
    listener = Listener((HOST, 0), authkey=key, backlog=128)
    emit('PORT %d' % listener.address[1])
    while True:
        try:
            conn = listener.accept()
        except socket.timeout:
            continue  # the default timeout of run_main: no client yet
        except Exception as exc:
            sys.stderr.write('accept: %r\n' % (exc,))
            continue
        try:
            if args.nodelay:
                set_nodelay(conn)
            while True:
                conn.send_bytes(conn.recv_bytes())
        except (EOFError, OSError):
            pass
        finally:
            conn.close()


def parse_args(argv):
    p = argparse.ArgumentParser(description='multiprocessing load peer')
    p.add_argument('--role', required=True, choices=('clients', 'listener'))
    p.add_argument('--port', type=int, default=0,
                   help='clients: the port to connect to (required)')
    p.add_argument('--key-hex', required=True, help='authkey as hex')
    p.add_argument('--count', type=int, default=1,
                   help='clients: how many, one after the other')
    p.add_argument('--prefix', default='py-',
                   help="clients: message i is PREFIX + '%%04d' %% i")
    p.add_argument('--nodelay', action='store_true',
                   help='set TCP_NODELAY (clients: before the handshake)')
    p.add_argument('--deadline', type=float, default=60.0,
                   help='overall limit in seconds (default 60)')
    return p.parse_args(argv)


def main():
    args = parse_args(sys.argv[1:])

    def body():
        key = from_hex(args.key_hex, '--key-hex')
        if args.role == 'listener':
            return run_listener(args, key)
        if not args.port:
            raise ValueError('--port is required for --role clients')
        return run_clients(args, key)
    run_main(args.deadline, body)


if __name__ == '__main__':
    main()
