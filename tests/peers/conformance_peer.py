#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Honest CPython peers for `hmac-handshake conformance server|client`.

    conformance_peer.py --role listener [--profile multiprocessing|recipe]
                        [--deadline S] [--io-timeout S]
    conformance_peer.py --role client [--profile multiprocessing|recipe]
                        [--timeout S]

The interop target itself: the real multiprocessing.connection Listener and
Client with authkey (--profile multiprocessing, the default), or the Python
Cookbook recipe 11.9 with HMAC-SHA256 over raw sockets (--profile recipe,
recipe_peer.py's functions).  Runs unchanged on CPython 2.7 and 3.6 .. 3.13
(no f-strings, no walrus).  Only 127.0.0.1; the key is never printed.

Key, both roles: env HMAC_HANDSHAKE_KEY, `hex:HEX` or else its bytes (the
text's UTF-8).

listener: binds 127.0.0.1:0, prints `PORT <n>` (flushed), then accepts
forever (until --deadline, default 300 s): multiprocessing runs CPython's
handshake inside Listener.accept() in the main thread, and every exception
from accept() (a failed handshake) is ignored; each authenticated
connection echoes recv_bytes/send_bytes in a daemon thread until EOF or an
error.  The recipe listener authenticates and echoes raw bytes in a thread
per connection.  A client that stalls the handshake costs at most 10 s
(--io-timeout): the listening socket gets SO_RCVTIMEO and SO_SNDTIMEO,
which accepted sockets inherit on Linux (socket.setdefaulttimeout alone is
not enough: SocketListener.accept() makes the accepted socket blocking).

client: env HMAC_HANDSHAKE_ADDR (host:port), HMAC_HANDSHAKE_KEY,
HMAC_HANDSHAKE_MESSAGE (text).  multiprocessing: Client(addr, authkey=key),
send_bytes(message), recv_bytes(); recipe: the recipe's answer, then the
message raw, then len(message) bytes back.  Exit 0 iff the reply is the
message, 1 for another reply, 3 on any exception or a close before the
whole reply (one line on stderr), 2 for usage errors.  SIGALRM bounds
the whole run at --timeout (10 s).
"""

import argparse
import binascii
import os
import signal
import socket
import struct
import sys
import threading
import time

from multiprocessing.connection import Client, Listener

# recipe_peer.py and peer_common.py sit next to this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import recipe_peer  # noqa: E402
from peer_common import HOST, one_line  # noqa: E402

IO_TIMEOUT = 10

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_FAILED = 3


class Timeout(Exception):
    """--timeout ran out (SIGALRM)."""


def env_bytes(name):
    """An environment variable's bytes (str on 2.7); None when unset."""
    environb = getattr(os, 'environb', None)
    if environb is not None:
        return environb.get(name.encode('ascii'))
    return os.environ.get(name)


def decode_key(raw):
    if raw.startswith(b'hex:'):
        try:
            return binascii.unhexlify(raw[4:].strip())
        except (TypeError, ValueError, binascii.Error):
            # Deliberately not echoing the value.
            raise ValueError('HMAC_HANDSHAKE_KEY: hex: is followed by '
                             'something that is not hex')
    return raw


def fail(rc, text):
    sys.stderr.write('conformance_peer: %s\n' % one_line(text))
    sys.stderr.flush()
    return rc


def start_deadline(seconds):
    def run():
        time.sleep(seconds)
        os._exit(EXIT_OK)
    t = threading.Thread(target=run, name='deadline')
    t.daemon = True
    t.start()


def set_io_timeouts(sock, seconds):
    """SO_RCVTIMEO and SO_SNDTIMEO: blocking reads and writes on `sock`, and
    on the sockets accepted from it, fail with EAGAIN after `seconds`."""
    tv = struct.pack('ll', int(seconds), 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


def print_port(port):
    sys.stdout.write('PORT %d\n' % port)
    sys.stdout.flush()


# --- multiprocessing ---------------------------------------------------------

def mp_echo(conn):
    try:
        while True:
            try:
                data = conn.recv_bytes()
            except EOFError:
                break
            conn.send_bytes(data)
    except Exception:
        pass  # reset, or SO_RCVTIMEO ran out: drop the connection
    finally:
        conn.close()


def mp_listener(key, io_timeout):
    # The listening socket times out (accept() comes back every 10 s) ...
    socket.setdefaulttimeout(io_timeout)
    listener = Listener((HOST, 0), authkey=key)
    # ... and its SO_RCVTIMEO bounds the handshake run inside accept().
    sock = getattr(getattr(listener, '_listener', None), '_socket', None)
    if sock is not None:
        set_io_timeouts(sock, io_timeout)
    else:
        fail(0, 'note: no socket to set a timeout on; a silent client '
                'stalls accept()')
    if not key and sys.version_info < (3, 13):
        fail(0, 'note: empty authkey; this CPython (%s) Listener does NOT '
                'authenticate' % sys.version.split()[0])
    print_port(listener.address[1])
    while True:
        try:
            conn = listener.accept()
        except Exception:
            # The handshake failed, or nobody came within 10 s.  On 2.7 the
            # pending exception's traceback keeps the failed connection
            # alive (and open) until the next one: drop it now.
            if hasattr(sys, 'exc_clear'):
                sys.exc_clear()
            continue
        t = threading.Thread(target=mp_echo, args=(conn,))
        t.daemon = True
        t.start()


def mp_client(address, key, message):
    conn = Client(address, authkey=key)
    try:
        conn.send_bytes(message)
        return conn.recv_bytes()
    finally:
        conn.close()


# --- recipe ------------------------------------------------------------------

NEW_HMAC = recipe_peer.make_hmac_factory('sha256')


def recipe_serve(conn, key, io_timeout):
    try:
        conn.settimeout(io_timeout)
        if recipe_peer.server_authenticate(conn, key, NEW_HMAC):
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                conn.sendall(data)
    except Exception:
        pass  # reset or timeout: drop the connection
    finally:
        conn.close()


def recipe_listener(key, io_timeout):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind((HOST, 0))
    srv.listen(64)
    srv.settimeout(io_timeout)
    print_port(srv.getsockname()[1])
    while True:
        try:
            conn, _addr = srv.accept()
        except Exception:
            continue
        t = threading.Thread(target=recipe_serve,
                             args=(conn, key, io_timeout))
        t.daemon = True
        t.start()


def recipe_client(address, key, message):
    sock = socket.create_connection(address, IO_TIMEOUT)
    try:
        sock.settimeout(IO_TIMEOUT)
        # Raises (sending nothing) when the challenge is cut short.
        digest = recipe_peer.client_authenticate(sock, key, NEW_HMAC)
        sock.sendall(digest)
        sock.sendall(message)
        echoed = recipe_peer.recv_exactly(sock, len(message))
        if len(echoed) < len(message):
            # No verdict in the recipe: a close before the echo is a refusal.
            raise EOFError('the server closed after %d of %d bytes of the '
                           'echo' % (len(echoed), len(message)))
        return echoed
    finally:
        sock.close()


# --- main --------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        description='honest CPython peers for hmac-handshake conformance')
    p.add_argument('--role', required=True, choices=('listener', 'client'))
    p.add_argument('--profile', default='multiprocessing',
                   choices=('multiprocessing', 'recipe'))
    p.add_argument('--deadline', type=float, default=300.0,
                   help='listener: exit after S seconds (default 300)')
    p.add_argument('--timeout', type=int, default=IO_TIMEOUT,
                   help='client: give up after S seconds (default 10)')
    p.add_argument('--io-timeout', type=int, default=IO_TIMEOUT,
                   help='listener: socket timeout per connection in whole '
                        'seconds (default 10)')
    return p.parse_args(argv)


def run_client(args, key):
    addr = env_bytes('HMAC_HANDSHAKE_ADDR')
    message = env_bytes('HMAC_HANDSHAKE_MESSAGE')
    if not addr or message is None:
        return fail(EXIT_USAGE, 'HMAC_HANDSHAKE_ADDR and '
                                'HMAC_HANDSHAKE_MESSAGE must be set')
    host, _, port = addr.decode('ascii', 'replace').rpartition(':')
    try:
        address = (str(host.strip('[]')), int(port))
    except ValueError:
        return fail(EXIT_USAGE, 'HMAC_HANDSHAKE_ADDR is not host:port')

    def on_alarm(signum, frame):
        raise Timeout('no result within %d s' % args.timeout)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, args.timeout))
    try:
        if args.profile == 'recipe':
            reply = recipe_client(address, key, message)
        else:
            reply = mp_client(address, key, message)
    except recipe_peer.AuthAborted as exc:
        return fail(EXIT_FAILED, '%s: %s' % (type(exc.exc).__name__, exc.exc))
    except Exception as exc:
        return fail(EXIT_FAILED, '%s: %s' % (type(exc).__name__, exc))
    finally:
        signal.alarm(0)
    if reply != message:
        return fail(EXIT_MISMATCH, 'the reply (%d bytes) is not the message '
                                   '(%d bytes)' % (len(reply), len(message)))
    return EXIT_OK


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    raw = env_bytes('HMAC_HANDSHAKE_KEY')
    if raw is None:
        return fail(EXIT_USAGE, 'HMAC_HANDSHAKE_KEY is not set')
    try:
        key = decode_key(raw)
    except ValueError as exc:
        return fail(EXIT_USAGE, str(exc))
    if args.role == 'client':
        return run_client(args, key)
    start_deadline(args.deadline)
    if args.profile == 'recipe':
        recipe_listener(key, args.io_timeout)
    else:
        mp_listener(key, args.io_timeout)
    return EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
