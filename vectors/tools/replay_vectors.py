# -*- coding: utf-8 -*-
"""Replay vectors/handshake/recipe.json and multiprocessing.json against CPython itself.

    python2.7 vectors/tools/replay_vectors.py [--vectors DIR]
    python3.13 vectors/tools/replay_vectors.py [--vectors DIR]

A consumer's runner, written from vectors/README.md alone: it takes the two
files as input and judges them with the running interpreter's own code, not
this crate's. For every test and every role in its "check":

- the role applies only if the running CPython's series (major.minor) is
  the series of one of the versions "replayedOn" lists for it; otherwise it
  is skipped, and counted;
- every message not from the role, each followed by its "trailing" bytes,
  is written up front to one end of a Unix socketpair, which is then shut
  for writing; the role runs on the other end: the multiprocessing server
  is deliver_challenge(conn, key[, digest_name]) then answer_challenge(conn,
  key) on a real multiprocessing Connection, the client the other way
  round; the recipe's server and client are server_authenticate /
  client_authenticate of vectors/tools/cookbook_recipe.py (the book's code)
  on the socket itself;
- os.urandom is pinned inside the module that calls it (the module's "os"
  global, not the process's) to return the side's "random";
- every byte CPython writes must be the role's messages, in order, and
  its verdict must be the role's result as vectors/README.md maps results
  to CPython ("Replaying with CPython"); where the test records CPython's
  own reaction ("cpython", this crate's policy differs), CPython must
  send exactly those bytes and end with that outcome instead.

Prints one line per profile, "recipe: N passed, M skipped, F failed (role
replays on CPython X.Y.Z)", and exits 1 on any mismatch. Standard library
only; runs on Python 2.7 and 3.x.
"""
from __future__ import print_function

import argparse
import binascii
import json
import os
import re
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import multiprocessing.connection as mpc  # noqa: E402
import cookbook_recipe  # noqa: E402

PY2 = sys.version_info[0] == 2
SERIES = '%d.%d' % sys.version_info[:2]
VERSION = '%d.%d.%d' % sys.version_info[:3]
SCHEMAS = {'recipe': 'handshake_recipe_test_schema_v1.json',
           'multiprocessing': 'handshake_multiprocessing_test_schema_v1.json'}

# vectors/README.md, "Replaying with CPython": the result of a role -> what
# CPython's own functions do. Each entry: (exception type names, message
# pattern) or None for "returns normally" (recipe: returns True).
CPYTHON_ENDS = {
    'ok': [None],
    'incomplete': [(('EOFError',), r''),
                   (('OSError', 'IOError'), r'got end of file during message$')],
    'bad_tag': [(('AuthenticationError',), r'digest received was wrong$'), 'returned False'],
    'peer_rejected': [(('AuthenticationError',), r'digest sent was rejected$')],
    'unexpected_verdict': [(('AuthenticationError',), r'digest sent was rejected$')],
    'tag_length': [(('AuthenticationError',), r"expected '\w+' of length \d+ got \d+$")],
    'unknown_digest': [(('AuthenticationError',), r'unsupported message length, missing digest prefix')],
    'missing_challenge': [(('AuthenticationError',), r'Protocol error, expected challenge'),
                          (('AssertionError',), r'message = ')],
    'challenge_too_short': [(('AuthenticationError',), r'challenge too short')],
    'message_too_long': [(('OSError', 'IOError'), r'bad message length$')],
    'bad_length': [(('OSError', 'IOError'), r'bad message length$')],
}


def unhex(text):
    return binascii.unhexlify(text.encode('ascii'))


def tohex(data):
    return binascii.hexlify(bytes(data)).decode('ascii')


class PinnedOs(object):
    """A module's "os": urandom hands out the pinned blobs, in order."""

    def __init__(self, real, blobs):
        self.real, self.blobs = real, list(blobs)

    def urandom(self, n):
        if not self.blobs or len(self.blobs[0]) != n:
            raise RuntimeError('os.urandom(%d), but the vector pins %r' % (
                n, [len(b) for b in self.blobs]))
        return self.blobs.pop(0)

    def __getattr__(self, name):
        return getattr(self.real, name)


def read_to_eof(fd):
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:         # reset by a peer that closed with unread data
            break
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)
    return b''.join(chunks)


def outcome_of(exc, returned):
    """CPython's ending as the "cpython" field writes it."""
    if exc is None:
        return 'ok' if returned is None else 'server_authenticate returned %s' % returned
    if type(exc).__name__ == 'EOFError' and not str(exc):
        return "EOFError (it wanted the next message; this vector's input had ended)"
    return '%s: %s' % (type(exc).__name__, exc)


def ends_as(result, exc, returned):
    """Whether CPython's ending is the one vectors/README.md gives for result."""
    for end in CPYTHON_ENDS.get(result, []):
        if end is None:
            if exc is None and returned in (None, True):
                return True
        elif end == 'returned False':
            if exc is None and returned is False:
                return True
        elif exc is not None and type(exc).__name__ in end[0] and re.match(end[1], str(exc)):
            return True
    return False


def run_role(profile, test, role):
    """Runs CPython as role; returns (bytes it wrote, exception, returned, rest)."""
    side = test[role]
    key = unhex(test['key'])
    feed = b''.join(unhex(m['data']) + unhex(m.get('trailing', ''))
                    for m in test['messages'] if m['from'] != role)
    ours, peer = socket.socketpair()
    peer.sendall(feed)
    peer.shutdown(socket.SHUT_WR)
    exc = returned = None
    rest = b''
    try:
        if profile == 'recipe':
            module, conn, fd = cookbook_recipe, ours, ours.fileno()
        else:
            module = mpc
            if PY2:
                import _multiprocessing
                fd = os.dup(ours.fileno())
                ours.close()
                conn = _multiprocessing.Connection(fd)
            else:
                conn = mpc.Connection(ours.detach())
                fd = conn.fileno()
        real_os = module.os
        module.os = PinnedOs(real_os, [unhex(side['random'])] if 'random' in side else [])
        try:
            if profile == 'recipe':
                # md5: the book's two-argument hmac.new (CPython <= 3.7).
                digestmod = None if side['digest'] == 'md5' else side['digest']
                if role == 'server':
                    returned = bool(cookbook_recipe.server_authenticate(conn, key, digestmod))
                else:
                    cookbook_recipe.client_authenticate(conn, key, digestmod)
            else:
                deliver = lambda: (mpc.deliver_challenge(conn, key, digest_name=side['digest'])
                                   if side['challenge'] == 'modern' else mpc.deliver_challenge(conn, key))
                answer = lambda: mpc.answer_challenge(conn, key)
                for step in ((deliver, answer) if role == 'server' else (answer, deliver)):
                    step()
            rest = read_to_eof(fd)
        except Exception as e:      # noqa: BLE001 - CPython's verdict is the point
            exc = e
        finally:
            module.os = real_os
            conn.close()
        wrote = read_to_eof(peer.fileno())
    finally:
        peer.close()
    return wrote, exc, returned, rest


def first_difference(wrote, expected):
    """Where CPython's bytes leave the expected messages, for the report."""
    pos = 0
    for i, msg in enumerate(expected):
        if wrote[pos:pos + len(msg)] != msg:
            return 'message %d of the role: CPython wrote %s, expected %s' % (
                i, tohex(wrote[pos:pos + len(msg)]) or '(nothing)', tohex(msg))
        pos += len(msg)
    return 'CPython wrote %s more after the expected messages' % tohex(wrote[pos:])


def judge(profile, test, role):
    """None if CPython behaves as the test says for role, else why not."""
    wrote, exc, returned, rest = run_role(profile, test, role)
    recorded = (test.get('cpython') or {}).get(role)
    if recorded is not None:
        expected = [unhex(s) for s in recorded['sends']]
    else:
        expected = [unhex(m['data']) for m in test['messages'] if m['from'] == role]
    if wrote != b''.join(expected):
        return first_difference(wrote, expected)
    if recorded is not None:
        got = outcome_of(exc, returned)
        if got != recorded['outcome']:
            return 'CPython ended %r, the vector records %r' % (got, recorded['outcome'])
        return None
    result = test[role + 'Result']
    if not ends_as(result, exc, returned):
        return 'CPython ended %r, which is not %s' % (outcome_of(exc, returned), result)
    trailing = b''.join(unhex(m.get('trailing', '')) for m in test['messages'] if m['from'] != role)
    if result == 'ok' and rest != trailing:
        return 'left %s unread, expected the trailing bytes %s' % (tohex(rest) or 'nothing', tohex(trailing))
    return None


def replay_file(path, profile):
    with open(path) as f:
        doc = json.load(f)
    if doc.get('schema') != SCHEMAS[profile]:
        print('%s: schema %r, this runner reads %s' % (path, doc.get('schema'), SCHEMAS[profile]),
              file=sys.stderr)
        return None
    passed = skipped = 0
    failed = []
    for group in doc['testGroups']:
        for test in group['tests']:
            for role in test['check']:
                series = ['.'.join(v.split('.')[:2]) for v in test['replayedOn'][role]]
                if SERIES not in series:
                    skipped += 1
                    continue
                try:
                    why = judge(profile, test, role)
                except Exception as e:      # noqa: BLE001 - a broken vector, reported
                    why = 'the replay itself failed: %s: %s' % (type(e).__name__, e)
                if why is None:
                    passed += 1
                else:
                    failed.append('%s tcId %s as %s (%s): %s' % (
                        os.path.basename(path), test['tcId'], role, test['comment'][:60], why))
    for line in failed:
        print('FAIL ' + line, file=sys.stderr)
    print('%s: %d passed, %d skipped, %d failed (role replays of %d tests on CPython %s; vectorsVersion %s)'
          % (profile, passed, skipped, len(failed), doc['numberOfTests'], VERSION, doc.get('vectorsVersion')))
    return passed, skipped, len(failed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--vectors', default=os.path.join(HERE, '..'),
                    help='the vectors directory (holding handshake/); default: this one')
    args = ap.parse_args()
    bad = False
    total = 0
    for profile in ('recipe', 'multiprocessing'):
        counts = replay_file(os.path.join(args.vectors, 'handshake', profile + '.json'), profile)
        if counts is None or counts[2]:
            bad = True
        else:
            total += counts[0]
    if bad:
        print('FAIL: CPython %s does not behave as the vectors say' % VERSION, file=sys.stderr)
        return 1
    if total == 0:
        print('FAIL: no test applies to CPython %s (nothing was replayed)' % VERSION, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
