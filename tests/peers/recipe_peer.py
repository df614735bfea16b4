#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Interop peer: Python Cookbook 3rd ed., recipe 11.9
"Authenticating Clients Simply" (raw-socket HMAC challenge/response).

Spawned by the Rust integration tests.  Runs unchanged on CPython 2.7 and
3.6 .. 3.13 (no f-strings, no walrus, argparse only).

    recipe_peer.py --role server [--port N] --key-hex HEX
                   [--digest md5|sha256|default] [--trickle-ms MS]
    recipe_peer.py --role client --port N --key-hex HEX
                   [--digest md5|sha256|default] [--message-hex HEX]
                   [--pipelined] [--reply-hex HEX]

Wire format (exactly the recipe): server sends 32 random bytes; client sends
the raw HMAC (16 bytes for MD5, 32 for SHA-256) of them; no verdict is sent,
the server just keeps talking or closes.

stdout protocol (one line each, flushed):
    PORT <n>                         server is listening (port 0 -> real port)
    AUTH_OK                          server: digest verified;
                                     client: digest sent (verdict unknown)
    AUTH_FAILED bad digest           server: wrong / short digest (exit 3)
    AUTH_FAILED <class>: <message>   peer vanished during auth (exit 3)
    ECHO <hex>                       server: one chunk received and echoed;
                                     client: all bytes read back ('' if none)
    DONE                             clean end (exit 0)
    TIMEOUT                          --deadline hit or socket timeout (exit 4)
    ERROR <repr>                     anything else, e.g. --digest default on
                                     3.8+ (exit 1)
The key is never printed.  See README.md in this directory.
"""

import argparse
import hashlib
import hmac
import os
import socket
import sys
import time

# peer_common.py sits next to this file: importable from any working
# directory (also under python -I), and without leaving bytecode behind.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
from peer_common import (  # noqa: E402
    EXIT_AUTH_FAILED, EXIT_OK, GONE_ERRNOS, HOST, IO_TIMEOUT, emit, finish,
    from_hex, one_line, run_main, to_hex)

CHALLENGE_LEN = 32


def peer_gone(exc):
    return (isinstance(exc, EnvironmentError) and
            not isinstance(exc, socket.timeout) and
            getattr(exc, 'errno', None) in GONE_ERRNOS)


class AuthAborted(Exception):
    """The peer went away in the middle of the handshake."""
    def __init__(self, exc):
        Exception.__init__(self, exc)
        self.exc = exc


def make_hmac_factory(digest):
    """Return new_hmac(key, msg) for --digest.  'default' is the recipe's
    bare hmac.new(key, msg): HMAC-MD5 up to 3.7, TypeError from 3.8 on."""
    if digest == 'md5':
        return lambda key, msg: hmac.new(key, msg, hashlib.md5)
    if digest == 'sha256':
        return lambda key, msg: hmac.new(key, msg, hashlib.sha256)
    return lambda key, msg: hmac.new(key, msg)


def recv_exactly(sock, n):
    """Read until n bytes or EOF; may return fewer at EOF."""
    chunks = []
    got = 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b''.join(chunks)


# --- the recipe -----------------------------------------------------------

def client_authenticate(connection, secret_key, new_hmac, reply=None):
    message = recv_exactly(connection, CHALLENGE_LEN)  # recipe: recv(32)
    if len(message) != CHALLENGE_LEN:
        raise AuthAborted(EOFError(
            'challenge truncated: got %d of %d bytes'
            % (len(message), CHALLENGE_LEN)))
    hash = new_hmac(secret_key, message)
    digest = hash.digest()
    if reply is not None:
        digest = reply  # --reply-hex: deliberately wrong answer
    return digest       # caller sends it (maybe pipelined with data)


def server_authenticate(connection, secret_key, new_hmac, trickle_s=None):
    message = os.urandom(CHALLENGE_LEN)
    if trickle_s is None:
        connection.sendall(message)
    else:
        for i in range(len(message)):
            if i:
                time.sleep(trickle_s)
            connection.sendall(message[i:i + 1])
    hash = new_hmac(secret_key, message)
    digest = hash.digest()
    response = recv_exactly(connection, len(digest))  # recipe: recv(len)
    return hmac.compare_digest(digest, response)

# -------------------------------------------------------------------------


def run_server(args, key, new_hmac):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if args.port:
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((HOST, args.port or 0))
        srv.listen(1)
        emit('PORT %d' % srv.getsockname()[1])
        conn, _addr = srv.accept()
    finally:
        srv.close()
    try:
        conn.settimeout(IO_TIMEOUT)
        trickle_s = None
        if args.trickle_ms is not None:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            trickle_s = args.trickle_ms / 1000.0
        try:
            ok = server_authenticate(conn, key, new_hmac, trickle_s)
        except EnvironmentError as exc:
            if peer_gone(exc):
                raise AuthAborted(exc)
            raise
        if not ok:
            conn.close()
            finish(EXIT_AUTH_FAILED, 'AUTH_FAILED bad digest')
        emit('AUTH_OK')
        while True:
            data = conn.recv(4096)
            if not data:
                break
            emit('ECHO ' + to_hex(data))
            conn.sendall(data)
    finally:
        conn.close()
    emit('DONE')
    return EXIT_OK


def run_client(args, key, new_hmac):
    if not args.port:
        raise ValueError('--port is required for --role client')
    message = b''
    if args.message_hex is not None:
        message = from_hex(args.message_hex, '--message-hex')
    reply = None
    if args.reply_hex is not None:
        reply = from_hex(args.reply_hex, '--reply-hex')
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.connect((HOST, args.port))
        try:
            digest = client_authenticate(sock, key, new_hmac, reply)
            if args.pipelined:
                sock.sendall(digest + message)
            else:
                sock.sendall(digest)
        except EnvironmentError as exc:
            if peer_gone(exc):
                raise AuthAborted(exc)
            raise
        emit('AUTH_OK')
        try:
            if message and not args.pipelined:
                sock.sendall(message)
            echoed = recv_exactly(sock, len(message))
        except EnvironmentError as exc:
            # A server that rejected us closes; with our data still unread
            # in its buffer Linux turns that close into a RST.  Either way
            # the answer is "nothing came back".
            if not peer_gone(exc):
                raise
            echoed = b''
        emit('ECHO ' + to_hex(echoed))
    finally:
        sock.close()
    emit('DONE')
    return EXIT_OK


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='Python Cookbook 11.9 HMAC handshake interop peer')
    p.add_argument('--role', required=True, choices=('server', 'client'))
    p.add_argument('--port', type=int, default=0,
                   help='server: port to bind (default 0 = any); '
                        'client: port to connect to (required)')
    p.add_argument('--key-hex', required=True,
                   help='secret key as hex (may be the empty string)')
    p.add_argument('--digest', choices=('md5', 'sha256', 'default'),
                   default='md5',
                   help="HMAC hash (default md5); 'default' = bare "
                        "hmac.new(key, msg), an error on 3.8+")
    p.add_argument('--message-hex', default=None, metavar='HEX',
                   help='client: payload to send after the digest')
    p.add_argument('--pipelined', action='store_true',
                   help='client: send digest+payload in one sendall()')
    p.add_argument('--reply-hex', default=None, metavar='HEX',
                   help='client: send these bytes instead of the digest')
    p.add_argument('--trickle-ms', type=float, default=None, metavar='MS',
                   help='server: send the challenge 1 byte at a time, '
                        'sleeping MS ms between bytes (TCP_NODELAY)')
    p.add_argument('--deadline', type=float, default=20.0,
                   help='overall limit in seconds (default 20)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def body():
        key = from_hex(args.key_hex, '--key-hex')  # bytes (str on 2.7)
        new_hmac = make_hmac_factory(args.digest)
        # Fail before listening/connecting if this interpreter cannot do
        # the requested digest ('default' on 3.8+: digestmod required).
        new_hmac(key, b'').digest()
        try:
            if args.role == 'server':
                return run_server(args, key, new_hmac)
            return run_client(args, key, new_hmac)
        except AuthAborted as exc:
            finish(EXIT_AUTH_FAILED, 'AUTH_FAILED %s: %s'
                   % (type(exc.exc).__name__, one_line(exc.exc)))
    run_main(args.deadline, body)


if __name__ == '__main__':
    main()
