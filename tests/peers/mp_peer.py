#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Interop peer: CPython multiprocessing.connection Listener / Client.

Spawned by the Rust integration tests.  Runs unchanged on CPython 2.7 and
3.6 .. 3.13 (no f-strings, no walrus, argparse only).

    mp_peer.py --role listener [--port N] --key-hex HEX [--count N]
    mp_peer.py --role client --port N --key-hex HEX [--message-hex HEX ...]
               [--count N]

stdout protocol (one line each, flushed):
    PORT <n>                         listener is bound (port 0 -> real port)
    AUTH_OK                          handshake completed
    AUTH_FAILED <class>: <message>   handshake failed (exit 3)
    ECHO <hex>                       one message echoed / received
    DONE                             clean end (exit 0)
    TIMEOUT                          --deadline hit or socket timeout (exit 4)
    ERROR <repr>                     anything else (exit 1)
The key is never printed.  See README.md in this directory.
"""

import argparse
import os
import sys

from multiprocessing.connection import Client, Listener

try:
    from multiprocessing import AuthenticationError
except ImportError:  # pragma: no cover - very old layouts
    from multiprocessing.context import AuthenticationError

# peer_common.py sits next to this file: importable from any working
# directory (also under python -I), and without leaving bytecode behind.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
from peer_common import (  # noqa: E402
    EXIT_AUTH_FAILED, EXIT_OK, GONE_ERRNOS, HOST, emit, finish, from_hex,
    one_line, run_main, to_hex)


def auth_failure(exc):
    """True if exc, raised while the handshake runs, means the handshake
    failed because of the peer (wrong key, #FAILURE#, peer closed, garbage).
    """
    if isinstance(exc, (AuthenticationError, EOFError)):
        return True
    # <= 3.11 answer_challenge() checks the '#CHALLENGE#' prefix with assert.
    if isinstance(exc, AssertionError):
        return True
    if isinstance(exc, EnvironmentError):
        if getattr(exc, 'errno', None) in GONE_ERRNOS:
            return True
        # Oversized handshake message (> 256 bytes): 3.x raises
        # OSError('bad message length'), 2.7 IOError('bad message length').
        if 'bad message length' in str(exc):
            return True
    return False


def auth_failed_line(exc):
    return 'AUTH_FAILED %s: %s' % (type(exc).__name__, one_line(exc))


def run_listener(args, key):
    listener = Listener((HOST, args.port or 0), authkey=key)
    try:
        emit('PORT %d' % listener.address[1])
        if not key:
            sys.stderr.write(
                'mp_peer: note: empty authkey; this CPython (%s) listener %s '
                'authenticate\n' % (
                    sys.version.split()[0],
                    'does' if sys.version_info >= (3, 13) else 'does NOT'))
            sys.stderr.flush()
        try:
            conn = listener.accept()
        except Exception as exc:
            if auth_failure(exc):
                finish(EXIT_AUTH_FAILED, auth_failed_line(exc))
            raise
    finally:
        listener.close()
    emit('AUTH_OK')
    n = 0
    try:
        while args.count is None or n < args.count:
            try:
                data = conn.recv_bytes()
            except EOFError:
                break
            emit('ECHO ' + to_hex(data))
            conn.send_bytes(data)
            n += 1
    finally:
        conn.close()
    emit('DONE')
    return EXIT_OK


def run_client(args, key):
    if not args.port:
        raise ValueError('--port is required for --role client')
    try:
        conn = Client((HOST, args.port), authkey=key)
    except Exception as exc:
        if auth_failure(exc):
            finish(EXIT_AUTH_FAILED, auth_failed_line(exc))
        raise
    emit('AUTH_OK')
    messages = []
    for group in args.message_hex or []:
        for m in group:
            messages.append(from_hex(m, '--message-hex'))
    rounds = 1 if args.count is None else args.count
    try:
        for _ in range(rounds):
            for data in messages:
                conn.send_bytes(data)
                reply = conn.recv_bytes()
                emit('ECHO ' + to_hex(reply))
    finally:
        conn.close()
    emit('DONE')
    return EXIT_OK


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='multiprocessing.connection interop peer')
    p.add_argument('--role', required=True, choices=('listener', 'client'))
    p.add_argument('--port', type=int, default=0,
                   help='listener: port to bind (default 0 = any); '
                        'client: port to connect to (required)')
    p.add_argument('--key-hex', required=True,
                   help='authkey as hex (may be the empty string)')
    p.add_argument('--message-hex', action='append', nargs='*',
                   metavar='HEX',
                   help='client: message(s) to send, in order; repeatable')
    p.add_argument('--count', type=int, default=None,
                   help='listener: stop after N messages; '
                        'client: send the message list N times (default 1)')
    p.add_argument('--deadline', type=float, default=20.0,
                   help='overall limit in seconds (default 20)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def body():
        key = from_hex(args.key_hex, '--key-hex')  # bytes (str on 2.7)
        if args.role == 'listener':
            return run_listener(args, key)
        return run_client(args, key)
    run_main(args.deadline, body)


if __name__ == '__main__':
    main()
