# -*- coding: utf-8 -*-
"""Runs CPython's own handshake code for gen_handshake_vectors.py.

This file is executed by *other* interpreters (Python 2.7 and 3.x) through
subprocess; it must stay Python 2.7 compatible and use only the standard
library.  It never computes a handshake message itself: it calls

  multiprocessing.connection.deliver_challenge(conn, authkey[, digest_name])
  multiprocessing.connection.answer_challenge(conn, authkey)
  cookbook_recipe.server_authenticate / client_authenticate

on a real connection (a multiprocessing Connection built on one end of a
Unix socketpair, so CPython's own framing code writes the length prefixes),
with ``os.urandom`` pinned *inside the module namespace* (the module's ``os``
global is swapped for a proxy whose urandom returns the pinned bytes; the
process-wide os.urandom is untouched).  A thin proxy around the connection
logs every send/recv call so the generator can check message ordering.

Modes (job descriptions are JSON on stdin, results JSON on stdout):

  --batch   {"jobs": [job, ...]}  ->  {"python": "X.Y.Z", "results": [...]}
            Each job runs on a fresh socketpair.  job["input"] (hex) is
            written to the peer end up front and that end is then shut down
            for writing, so CPython sees end-of-file if it wants more than
            the scripted input.  Everything CPython writes is returned as
            result["output"] (hex, whole wire frames).
  --fd N    job  ->  {"python": "X.Y.Z", "result": {...}}
            The job talks over inherited file descriptor N (one end of a
            socketpair whose other end the generator relays to a peer).

job: {"profile": "multiprocessing"|"recipe", "key": hex, "random": [hex...],
      "digest_name": str|null, "digestmod": str|null,
      "ops": ["deliver", "answer", "recipe_server", "recipe_client",
              "read_rest", ["send", hex]], "input": hex (batch only)}
"""
from __future__ import print_function

import binascii
import errno
import json
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import multiprocessing.connection as mpc  # noqa: E402
import cookbook_recipe  # noqa: E402

PY2 = sys.version_info[0] == 2


def unhex(text):
    return binascii.unhexlify(text.encode('ascii'))


def tohex(data):
    return binascii.hexlify(bytes(data)).decode('ascii')


class PinnedOs(object):
    """Replacement for a module's ``os`` global: urandom returns pinned bytes,
    every other attribute is the real os module's."""

    def __init__(self, real, blobs):
        self._real = real
        self._blobs = list(blobs)
        self.calls = []

    def urandom(self, n):
        if not self._blobs:
            raise RuntimeError('unpinned os.urandom(%d) call' % n)
        blob = self._blobs.pop(0)
        if len(blob) != n:
            raise RuntimeError('os.urandom(%d) called but %d bytes pinned'
                               % (n, len(blob)))
        self.calls.append(n)
        return blob

    def __getattr__(self, name):
        return getattr(self._real, name)


class ConnectionLog(object):
    """Delegates to a multiprocessing Connection, logging each call."""

    def __init__(self, conn, events):
        self._conn = conn
        self._events = events

    def send_bytes(self, buf, *args):
        self._conn.send_bytes(buf, *args)
        self._events.append(['send', tohex(buf)])

    def recv_bytes(self, *args):
        try:
            data = self._conn.recv_bytes(*args)
        except BaseException:
            self._events.append(['recv-error'])
            raise
        self._events.append(['recv', tohex(data)])
        return data

    def send_raw(self, data):
        # Application bytes after the handshake, framed the normal way.
        self.send_bytes(data)

    def read_rest(self):
        # Whatever the handshake left unread (recv_bytes reads exactly one
        # frame and buffers nothing, so these bytes are still in the socket).
        return read_fd_to_eof(self._conn.fileno())


class SocketLog(object):
    """Delegates to a socket (the recipe's "connection"), logging calls."""

    def __init__(self, sock, events):
        self._sock = sock
        self._events = events

    def send(self, data):
        n = self._sock.send(data)
        self._events.append(['send', tohex(data[:n])])
        return n

    def recv(self, size):
        try:
            data = self._sock.recv(size)
        except BaseException:
            self._events.append(['recv-error'])
            raise
        self._events.append(['recv', tohex(data)])
        return data

    def send_raw(self, data):
        self._sock.sendall(data)
        self._events.append(['send', tohex(data)])

    def read_rest(self):
        return read_to_eof(self._sock)


def read_to_eof(sock):
    return read_all(lambda: sock.recv(65536))


def read_fd_to_eof(fd):
    return read_all(lambda: os.read(fd, 65536))


def read_all(read):
    chunks = []
    while True:
        try:
            chunk = read()
        except (socket.error, OSError) as exc:
            if exc.errno == errno.ECONNRESET:   # peer closed with unread data
                break
            raise
        if not chunk:
            break
        chunks.append(chunk)
    return b''.join(chunks)


def mp_connection(fd):
    if PY2:
        import _multiprocessing
        return _multiprocessing.Connection(fd)
    return mpc.Connection(fd)


def run_job(job, fd):
    key = unhex(job['key'])
    blobs = [unhex(r) for r in job.get('random') or []]
    events = []
    result = {'events': events, 'error': None}
    if job['profile'] == 'recipe':
        sock = socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM)
        os.close(fd)
        conn = SocketLog(sock, events)
        close = sock.close
        module = cookbook_recipe
    else:
        raw = mp_connection(fd)
        conn = ConnectionLog(raw, events)
        close = raw.close
        module = mpc
    real_os = module.os
    pinned = PinnedOs(real_os, blobs)
    module.os = pinned
    try:
        for op in job['ops']:
            if op == 'deliver':
                if job.get('digest_name') is not None:
                    mpc.deliver_challenge(conn, key,
                                          digest_name=job['digest_name'])
                else:
                    mpc.deliver_challenge(conn, key)
            elif op == 'answer':
                mpc.answer_challenge(conn, key)
            elif op == 'recipe_server':
                result['returned'] = bool(cookbook_recipe.server_authenticate(
                    conn, key, job.get('digestmod')))
            elif op == 'recipe_client':
                cookbook_recipe.client_authenticate(
                    conn, key, job.get('digestmod'))
            elif op == 'read_rest':
                result['rest'] = tohex(conn.read_rest())
            elif isinstance(op, list) and op[0] == 'send':
                conn.send_raw(unhex(op[1]))
            else:
                raise ValueError('unknown op %r' % (op,))
    except Exception as exc:
        result['error'] = {'type': type(exc).__name__, 'message': str(exc)}
    finally:
        module.os = real_os
        close()
    result['urandomCalls'] = pinned.calls
    result['unusedRandom'] = len(pinned._blobs)
    return result


def run_batch_job(job):
    ours, peer = socket.socketpair()
    try:
        peer.sendall(unhex(job.get('input', '')))
        peer.shutdown(socket.SHUT_WR)
        if PY2:
            fd = os.dup(ours.fileno())
            ours.close()
        else:
            fd = ours.detach()
        result = run_job(job, fd)
        result['output'] = tohex(read_to_eof(peer))
    finally:
        peer.close()
    return result


def python_version():
    return '%d.%d.%d' % tuple(sys.version_info[:3])


def main(argv):
    request = json.loads(sys.stdin.read())
    if argv[1:] == ['--batch']:
        reply = {'python': python_version(),
                 'results': [run_batch_job(job) for job in request['jobs']]}
    elif len(argv) == 3 and argv[1] == '--fd':
        reply = {'python': python_version(),
                 'result': run_job(request, int(argv[2]))}
    else:
        sys.stderr.write(__doc__)
        return 2
    sys.stdout.write(json.dumps(reply, sort_keys=True))
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
