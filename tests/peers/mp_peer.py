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
import binascii
import errno
import os
import socket
import sys
import threading
import time

from multiprocessing.connection import Client, Listener

try:
    from multiprocessing import AuthenticationError
except ImportError:  # pragma: no cover - very old layouts
    from multiprocessing.context import AuthenticationError

IO_TIMEOUT = 10.0
HOST = '127.0.0.1'

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_AUTH_FAILED = 3
EXIT_TIMEOUT = 4

# errno values that mean "the peer went away" (e.g. a Rust peer that
# rejected us and simply closed the connection).
_GONE_ERRNOS = (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)

_out_lock = threading.Lock()
_finished = [False]


def emit(line):
    _out_lock.acquire()
    try:
        if not _finished[0]:
            sys.stdout.write(line + '\n')
            sys.stdout.flush()
    finally:
        _out_lock.release()


def _final_locked(rc, line):
    """Caller holds _out_lock.  Print the last line and leave at once (no
    atexit / daemon-thread shutdown noise; sockets are already closed)."""
    if not _finished[0]:
        _finished[0] = True
        try:
            if line is not None:
                sys.stdout.write(line + '\n')
            sys.stdout.flush()
        except Exception:
            pass  # stdout gone (test stopped reading): nothing to report to
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(rc)


def finish(rc, line=None):
    _out_lock.acquire()
    _final_locked(rc, line)


def start_deadline(seconds):
    def watchdog():
        time.sleep(seconds)
        # If the main thread is stuck inside a stdout write (the test stopped
        # draining our pipe) it holds the lock: give it a moment, then exit
        # anyway without printing.  Lock.acquire(timeout=) is 3.x only.
        for _ in range(100):
            if _out_lock.acquire(False):
                _final_locked(EXIT_TIMEOUT, 'TIMEOUT')
            time.sleep(0.01)
        os._exit(EXIT_TIMEOUT)
    t = threading.Thread(target=watchdog, name='deadline')
    t.daemon = True
    t.start()


def to_hex(data):
    return str(binascii.hexlify(data).decode('ascii'))


def from_hex(text, what):
    try:
        return binascii.unhexlify(text.strip())
    except (TypeError, ValueError, binascii.Error):
        # Deliberately not echoing the value (it may be the key).
        raise ValueError('%s is not valid hex' % what)


def one_line(text):
    return ' '.join(str(text).splitlines())


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
        if getattr(exc, 'errno', None) in _GONE_ERRNOS:
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
    socket.setdefaulttimeout(IO_TIMEOUT)
    start_deadline(args.deadline)
    try:
        key = from_hex(args.key_hex, '--key-hex')  # bytes (str on 2.7)
        if args.role == 'listener':
            rc = run_listener(args, key)
        else:
            rc = run_client(args, key)
    except socket.timeout:
        finish(EXIT_TIMEOUT, 'TIMEOUT')
    except Exception as exc:
        finish(EXIT_ERROR, 'ERROR ' + one_line(repr(exc)))
    finish(rc)


if __name__ == '__main__':
    main()
