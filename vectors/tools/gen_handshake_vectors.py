#!/usr/bin/env python3
"""Generate the handshake conformance vectors from real CPython interpreters.

Writes vectors/handshake/multiprocessing.json and vectors/handshake/recipe.json
(sorted keys, indent 2, trailing newline; the same bytes on every run).

    python3.13 vectors/tools/gen_handshake_vectors.py           # (re)write both files
    python3.13 vectors/tools/gen_handshake_vectors.py --check   # exit 1 if the files differ

Nothing here computes a handshake message that CPython is supposed to have
produced.  Every message a role *sends* in a vector comes from CPython's own
multiprocessing.connection.deliver_challenge / answer_challenge (or the
Cookbook recipe's functions), executed under the interpreter named in the
test by vectors/tools/handshake_runner.py, with os.urandom pinned inside the
module namespace and a real multiprocessing Connection on a Unix socketpair
(so the 4-byte length prefixes are written by CPython's own framing code).

How a vector is made:

1. relay: the Listener side (deliver_challenge then answer_challenge) and the
   Client side (answer_challenge then deliver_challenge) run as two processes,
   possibly different interpreters; this script relays the bytes between them
   frame by frame and records each frame in wire order.  A "tamper" can alter
   one frame in transit (flip a bit, reframe, replace with a scripted message,
   cut the stream).  Each side's view (what it sent, what it received) is a
   candidate vector.
2. replay: every role listed in a vector's "check" is run again on its own in
   each listed interpreter, fed exactly the vector's messages not from that
   role (all up front, then end-of-file), and CPython must send exactly that
   role's messages and succeed/fail as the result code says (and, where it
   succeeds, leave exactly the "trailing" bytes unread).  "OurPolicy"
   cases (where the crate deliberately differs from CPython) instead assert
   CPython's actual, different reaction, which is recorded in the vector's
   "cpython" field.
3. model: a small independent model of the crate's intended state machine
   (CPython 3.12+ rules, plus the OurPolicy rules) replays the same roles and
   must agree with the vector, so a vector cannot list a role whose output is
   not determined by the messages.

Interpreters are found under $PYENV_ROOT/versions/* and /root/.pyenv/versions/*;
3.13, 3.12, 3.11 and 2.7 are required (the script stops if one is missing).
"""

import argparse
import difflib
import hashlib
import hmac
import json
import os
import re
import selectors
import socket
import struct
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent.parent
OUT_DIR = REPO / 'vectors' / 'handshake'
RUNNER = TOOLS / 'handshake_runner.py'
GENERATOR = 'vectors/tools/gen_handshake_vectors.py'
# vectorsVersion of each file: raise it (and add a CHANGELOG entry) whenever
# the file's content changes; vectors/README.md, "Versions".
VECTORS_VERSION = {'multiprocessing': 1, 'recipe': 1}
SCHEMA = 'handshake_%s_test_schema_v1.json'     # in vectors/schema/
REQUIRED = ('3.13', '3.12', '3.11', '2.7')
TIMEOUT = 60

# ---------------------------------------------------------------------------
# Interpreters


@dataclass
class Interp:
    series: str
    exe: str
    version: str


def find_interpreters():
    roots = []
    if os.environ.get('PYENV_ROOT'):
        roots.append(Path(os.environ['PYENV_ROOT']) / 'versions')
    if Path('/root/.pyenv/versions') not in roots:
        roots.append(Path('/root/.pyenv/versions'))
    found = {}
    for root in roots:
        if not root.is_dir():
            continue
        best = {}
        for entry in root.iterdir():
            m = re.fullmatch(r'(\d+)\.(\d+)\.(\d+)', entry.name)
            exe = entry / 'bin' / 'python'
            if not m or not exe.exists():
                continue
            series = '%s.%s' % (m.group(1), m.group(2))
            patch = int(m.group(3))
            if series not in best or patch > best[series][0]:
                best[series] = (patch, exe)
        for series, (_, exe) in best.items():
            found.setdefault(series, exe)     # the first root wins
    missing = [s for s in REQUIRED if s not in found]
    if missing:
        sys.exit('gen_handshake_vectors: FATAL: no CPython %s found under %s '
                 '(required: %s). Install it with pyenv.'
                 % (', '.join(missing), ' or '.join(str(r) for r in roots),
                    ', '.join(REQUIRED)))
    interps = {}
    for series in REQUIRED:
        exe = str(found[series])
        out = subprocess.run(
            [exe, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
            capture_output=True, text=True, timeout=TIMEOUT)
        version = out.stdout.strip()
        if out.returncode != 0 or not version.startswith(series + '.'):
            sys.exit('gen_handshake_vectors: FATAL: %s does not run as CPython %s: %r %r'
                     % (exe, series, out.stdout, out.stderr))
        interps[series] = Interp(series, exe, version)
    return interps


INTERPS = {}

# ---------------------------------------------------------------------------
# Wire helpers


def frame(payload):
    """A send_bytes frame: 4-byte big-endian signed length, then the payload."""
    return struct.pack('!i', len(payload)) + payload


def long_frame(payload):
    """The -1 form: 4-byte -1, 8-byte big-endian length, then the payload."""
    return struct.pack('!i', -1) + struct.pack('!Q', len(payload)) + payload


def payload_of(data):
    size, = struct.unpack('!i', data[:4])
    if size == -1:
        size, = struct.unpack('!Q', data[4:12])
        return data[12:12 + size]
    return data[4:4 + size]


def mp_frame_len(buf):
    """Length of the complete frame at the start of buf, or None."""
    if len(buf) < 4:
        return None
    size, = struct.unpack('!i', buf[:4])
    head = 4
    if size == -1:
        if len(buf) < 12:
            return None
        size, = struct.unpack('!Q', buf[4:12])
        head = 12
    if size < 0:
        raise RuntimeError('CPython sent a negative length %d' % size)
    return head + size if len(buf) >= head + size else None


def split_frames(data):
    frames = []
    while data:
        n = mp_frame_len(data)
        if n is None:
            raise RuntimeError('partial frame in CPython output: %s' % data.hex())
        frames.append(data[:n])
        data = data[n:]
    return frames


CHALLENGE, WELCOME, FAILURE = b'#CHALLENGE#', b'#WELCOME#', b'#FAILURE#'

# ---------------------------------------------------------------------------
# Parties and jobs


@dataclass(frozen=True)
class Party:
    """One side: interpreter series, key, pinned random bytes, digest_name."""
    py: str
    key: bytes
    random: bytes
    digest: str = 'sha256'     # digest_name of the challenge it delivers
    allow_md5: bool = False    # our crate's setting for this side
    trailing: bytes = b''      # application data it sends after the handshake

    @property
    def legacy(self):
        return self.py in ('3.11', '2.7')

    def config(self):
        return {'challenge': 'legacy' if self.legacy else 'modern',
                'digest': 'md5' if self.legacy else self.digest,
                'allowMd5': self.allow_md5 or self.legacy,
                'random': self.random.hex()}


@dataclass(frozen=True)
class RecipeParty:
    py: str
    key: bytes
    random: bytes = b''
    digest: str = 'md5'
    trailing: bytes = b''

    def digestmod(self):
        # md5 runs the book's two-argument hmac.new() (Python 2.7 default MD5)
        return None if self.digest == 'md5' else self.digest


def app_data(party):
    """The op that sends a party's application data after its handshake."""
    return [['send', party.trailing.hex()]] if party.trailing else []


def mp_job(party, role):
    ops = ['deliver', 'answer'] if role == 'server' else ['answer', 'deliver']
    return {'profile': 'multiprocessing', 'key': party.key.hex(),
            'random': [party.random.hex()],
            'digest_name': None if party.legacy else party.digest,
            'ops': ops + app_data(party)}


def recipe_job(party, role):
    if role == 'server':
        return {'profile': 'recipe', 'key': party.key.hex(),
                'random': [party.random.hex()], 'digestmod': party.digestmod(),
                'ops': ['recipe_server'] + app_data(party) + ['read_rest']}
    return {'profile': 'recipe', 'key': party.key.hex(), 'random': [],
            'digestmod': party.digestmod(), 'ops': ['recipe_client'] + app_data(party)}


def replay_job(profile, party, role, theirs):
    """A batch job replaying role alone on theirs: the party's own
    application data is not sent, and what the handshake leaves unread is
    read back ("rest")."""
    party = replace(party, trailing=b'')
    job = mp_job(party, role) if profile == 'multiprocessing' else recipe_job(party, role)
    if job['ops'][-1] != 'read_rest':
        job['ops'].append('read_rest')
    job['input'] = theirs.hex()
    return job


def run_batch(series, jobs):
    interp = INTERPS[series]
    proc = subprocess.run([interp.exe, '-B', str(RUNNER), '--batch'],
                          input=json.dumps({'jobs': jobs}).encode(),
                          capture_output=True, timeout=TIMEOUT * 4)
    if proc.returncode != 0:
        raise RuntimeError('runner under %s failed:\n%s' % (interp.version, proc.stderr.decode()))
    reply = json.loads(proc.stdout)
    if reply['python'] != interp.version:
        raise RuntimeError('runner reports %s, expected %s' % (reply['python'], interp.version))
    return reply['results']


# ---------------------------------------------------------------------------
# Relay: two CPython processes, this script in the middle


@dataclass
class Entry:
    frm: str
    sent: bytes
    delivered: bytes   # None: not delivered (dropped after a cut / peer gone)


@dataclass
class Transcript:
    entries: list
    results: dict
    parties: dict

    def view(self, role):
        msgs = []
        for e in self.entries:
            if e.frm == role:
                msgs.append((e.frm, e.sent))
            elif e.delivered:
                msgs.append((e.frm, e.delivered))
        return msgs

    def with_trailing(self, profile):
        """An untampered run's messages as sent, each party's application
        data (sent after its handshake: its last bytes on the wire) moved
        onto its last handshake message as "trailing".  The data's own
        delivery is not used: the peer may have closed before it arrived."""
        msgs = []
        for e in self.entries:
            if e.delivered not in (e.sent, None):
                raise RuntimeError('with_trailing on a tampered run')
            msgs.append((e.frm, e.sent))
        for role, party in self.parties.items():
            if not party.trailing:
                continue
            want = frame(party.trailing) if profile == 'multiprocessing' else party.trailing
            got = b''
            while len(got) < len(want):
                last = max(i for i, m in enumerate(msgs) if m[0] == role)
                got = msgs.pop(last)[1] + got
            if got != want:
                raise RuntimeError('%s sent %s after its handshake, not its trailing %s'
                                   % (role, got.hex(), want.hex()))
            last = max(i for i, m in enumerate(msgs) if m[0] == role)
            msgs[last] = (role, msgs[last][1], want)
        return msgs


def other(role):
    return 'client' if role == 'server' else 'server'


def relay(profile, server, client, tamper=None):
    """Run server and client concurrently, relaying (and maybe tampering)."""
    tamper = tamper or {}
    parties = {'server': server, 'client': client}
    procs, socks = {}, {}
    for role, party in parties.items():
        job = mp_job(party, role) if profile == 'multiprocessing' else recipe_job(party, role)
        ours, theirs = socket.socketpair()
        procs[role] = subprocess.Popen(
            [INTERPS[party.py].exe, '-B', str(RUNNER), '--fd', str(theirs.fileno())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=[theirs.fileno()])
        theirs.close()
        procs[role].stdin.write(json.dumps(job).encode())
        procs[role].stdin.close()
        socks[role] = ours

    def next_len(role, index, buf):
        if profile == 'multiprocessing':
            return mp_frame_len(buf)
        if index == 0:
            want = 32 if role == 'server' else hashlib.new(server.digest).digest_size
            return want if len(buf) >= want else None
        return len(buf) or None          # recipe: application bytes after the reply

    entries = []
    bufs = {'server': b'', 'client': b''}
    counts = {'server': 0, 'client': 0}
    forwarding = {'server': True, 'client': True}
    write_open = {'server': True, 'client': True}

    def shut(role):
        if write_open[role]:
            write_open[role] = False
            try:
                socks[role].shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def forward(role, data):
        index = counts[role]
        counts[role] += 1
        if not forwarding[role]:
            entries.append(Entry(role, data, None))
            return
        out, cut = data, False
        if (role, index) in tamper:
            out, cut = tamper[(role, index)](data)
        try:
            socks[other(role)].sendall(out)
        except (BrokenPipeError, ConnectionResetError):
            out = None
        entries.append(Entry(role, data, out))
        if cut:
            forwarding[role] = False
            shut(other(role))

    sel = selectors.DefaultSelector()
    for role in parties:
        sel.register(socks[role], selectors.EVENT_READ, role)
    reading = set(parties)
    try:
        while reading:
            ready = sel.select(timeout=TIMEOUT)
            if not ready:
                raise RuntimeError('relay timed out; transcript so far: %r' % entries)
            for key, _ in ready:
                role = key.data
                try:
                    chunk = socks[role].recv(65536)
                except ConnectionResetError:
                    chunk = b''
                if chunk:
                    bufs[role] += chunk
                    while bufs[role]:
                        n = next_len(role, counts[role], bufs[role])
                        if n is None:
                            break
                        data, bufs[role] = bufs[role][:n], bufs[role][n:]
                        forward(role, data)
                else:
                    sel.unregister(socks[role])
                    reading.discard(role)
                    if bufs[role]:
                        raise RuntimeError('%s closed mid-frame: %s' % (role, bufs[role].hex()))
                    shut(other(role))
    finally:
        sel.close()
        for s in socks.values():
            s.close()
    results = {}
    for role, proc in procs.items():
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=TIMEOUT)
        proc.stdout.close()
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError('%s runner failed:\n%s' % (role, err.decode()))
        reply = json.loads(out)
        if reply['python'] != INTERPS[parties[role].py].version:
            raise RuntimeError('version mismatch %r' % reply['python'])
        res = reply['result']
        if res['error'] and classify(res['error']).startswith('other'):
            raise RuntimeError('%s raised %r' % (role, res['error']))
        # What the runner says it sent must be what went over the socket.
        sent = b''.join(e.sent for e in entries if e.frm == role)
        logged = [bytes.fromhex(ev[1]) for ev in res['events'] if ev[0] == 'send']
        if profile == 'multiprocessing':
            logged = [frame(p) for p in logged]
        if b''.join(logged) != sent:
            raise RuntimeError('%s: send log and wire bytes differ' % role)
        results[role] = res
    return Transcript(entries, results, parties)


# ---------------------------------------------------------------------------
# Tampering (functions of the whole frame -> (bytes to forward, cut stream?))


def flip(pos, bit=0x01):
    """Flip one bit of the payload byte at pos (negative: from the end)."""
    def apply(data):
        head = len(data) - len(payload_of(data))
        p = bytearray(data[head:])
        p[pos] ^= bit
        return data[:head] + bytes(p), False
    return apply


def flip_raw(pos, bit=0x01):
    """Recipe (unframed) variant of flip."""
    def apply(data):
        b = bytearray(data)
        b[pos] ^= bit
        return bytes(b), False
    return apply


def replace_payload(fn):
    return lambda data: (frame(fn(payload_of(data))), False)


def replace_raw(fn):
    return lambda data: (fn(data), False)


def cut_after(n):
    return lambda data: (data[:n], True)


def hm(key, msg, digest):
    return hmac.new(key, msg, digest).digest()


# ---------------------------------------------------------------------------
# CPython exception -> class, and our result codes -> CPython class


def classify(err):
    if err is None:
        return 'ok'
    t, m = err['type'], err['message']
    if t == 'AuthenticationError':
        if m == 'digest received was wrong':
            return 'bad_tag'
        if re.match(r"expected '\w+' of length \d+ got \d+$", m):
            return 'tag_length'
        if m.startswith('unsupported message length, missing digest prefix'):
            return 'unknown_digest'
        if m.startswith('Protocol error, expected challenge'):
            return 'missing_challenge'
        if m.startswith('challenge too short'):
            return 'challenge_too_short'
        if m == 'digest sent was rejected':
            return 'rejected'
    if t == 'AssertionError' and m.startswith('message = '):
        return 'missing_challenge'          # <= 3.11: assert on #CHALLENGE#
    if t in ('OSError', 'IOError') and m == 'bad message length':
        return 'bad_message_length'
    if t == 'EOFError' or (t in ('OSError', 'IOError') and m == 'got end of file during message'):
        return 'eof'
    return 'other:%s:%s' % (t, m)


CPYTHON_CLASS = {
    'ok': 'ok', 'bad_tag': 'bad_tag', 'tag_length': 'tag_length',
    'unknown_digest': 'unknown_digest', 'missing_challenge': 'missing_challenge',
    'challenge_too_short': 'challenge_too_short', 'peer_rejected': 'rejected',
    'unexpected_verdict': 'rejected', 'message_too_long': 'bad_message_length',
    'incomplete': 'eof',
    # 2.7 reads the prefix as unsigned, so -2 is "bad message length" there;
    # 3.x differs and those vectors carry an explicit CPython expectation.
    'bad_length': 'bad_message_length',
}


def outcome_text(err):
    if err is None:
        return 'ok'
    if err['type'] == 'EOFError' and not err['message']:
        return "EOFError (it wanted the next message; this vector's input had ended)"
    return '%s: %s' % (err['type'], err['message'])


# ---------------------------------------------------------------------------
# Independent model of the crate's intended machines (for the consistency check)


class NeedInput(Exception):
    pass


class Fail(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


ALLOWED = ('md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384')


def model_mp(role, key, cfg, inp):
    """Return (list of sent frames, result code) for one role."""
    sent = []
    pos = [0]

    def take(n):
        if len(inp) - pos[0] < n:
            raise NeedInput()
        pos[0] += n
        return inp[pos[0] - n:pos[0]]

    def recv():
        size, = struct.unpack('!i', take(4))
        if size == -1:
            size, = struct.unpack('!Q', take(8))
        if size > 256:
            raise Fail('message_too_long')
        if size < 0:
            raise Fail('bad_length')
        return take(size)

    def parse(msg):
        if len(msg) in (16, 20):
            return None, msg
        if msg[:1] == b'{':
            curly = msg.find(b'}', 1, 10)
            if curly > 0 and msg[1:curly].decode('latin-1') in ALLOWED:
                return msg[1:curly].decode(), msg[curly + 1:]
        raise Fail('unknown_digest')

    own = (b'' if cfg['challenge'] == 'legacy' else b'{%s}' % cfg['digest'].encode()) \
        + bytes.fromhex(cfg['random'])

    def deliver():
        sent.append(frame(CHALLENGE + own))
        reply = recv()
        try:
            d, mac = parse(reply)
            d = d or 'md5'
            if d == 'md5' and not cfg['allowMd5']:
                raise Fail('md5_not_allowed')
            expected = hm(key, own, d)
            if len(mac) != len(expected):
                raise Fail('tag_length')
            if not hmac.compare_digest(mac, expected):
                raise Fail('bad_tag')
        except Fail:
            sent.append(frame(FAILURE))
            raise
        sent.append(frame(WELCOME))

    def answer():
        msg = recv()
        if not msg.startswith(CHALLENGE):
            raise Fail('missing_challenge')
        msg = msg[len(CHALLENGE):]
        if len(msg) < 20:
            raise Fail('challenge_too_short')
        d, _ = parse(msg)
        if (d or 'md5') == 'md5' and not cfg['allowMd5']:
            raise Fail('md5_not_allowed')
        tag = hm(key, msg, d or 'md5')
        sent.append(frame(tag if d is None else b'{%s}%s' % (d.encode(), tag)))
        verdict = recv()
        if verdict == FAILURE:
            raise Fail('peer_rejected')
        if verdict != WELCOME:
            raise Fail('unexpected_verdict')

    try:
        for step in ((deliver, answer) if role == 'server' else (answer, deliver)):
            step()
        code = 'ok'
    except NeedInput:
        code = 'incomplete'
    except Fail as f:
        code = f.code
    return sent, code, inp[pos[0]:]


def model_recipe(role, key, cfg, inp, digest):
    if role == 'server':
        challenge = bytes.fromhex(cfg['random'])
        n = hashlib.new(digest).digest_size
        if len(inp) < n:
            return [challenge], 'incomplete', inp
        ok = hmac.compare_digest(inp[:n], hm(key, challenge, digest))
        return [challenge], 'ok' if ok else 'bad_tag', inp[n:]
    if len(inp) < 32:
        return [], 'incomplete', inp
    return [hm(key, inp[:32], digest)], 'ok', inp[32:]


# ---------------------------------------------------------------------------
# Test cases


REPLAY = {'3.13': ('3.13', '3.12'), '3.12': ('3.12', '3.13'),
          '3.11': ('3.11', '2.7'), '2.7': ('2.7', '3.11')}


@dataclass
class Case:
    group: str
    comment: str
    flags: list
    parties: dict                    # role -> Party / RecipeParty
    messages: list                   # [(from, bytes)] or [(from, bytes, trailing)]
    check: list
    results: dict                    # role -> code
    replay: dict = field(default_factory=dict)    # role -> interpreter series
    cpython: dict = field(default_factory=dict)   # role -> expected class (OurPolicy)
    cpython_record: dict = field(default_factory=dict)


class Builder:
    def __init__(self, profile):
        self.profile = profile
        self.cases = []
        self.seen = set()

    def add(self, group, comment, flags, parties, messages, check, results,
            replay=None, cpython=None):
        messages = [m if len(m) == 3 else (m[0], m[1], b'') for m in messages]
        keys = {parties[r].key for r in check}
        if len(keys) != 1:
            raise RuntimeError('checked roles disagree on the key: %s' % comment)
        sig = (tuple(sorted(check)), keys.pop(), tuple(messages),
               tuple(sorted(results.items())),
               tuple(sorted((r, repr(p)) for r, p in parties.items() if r in check)))
        if sig in self.seen:
            raise RuntimeError('duplicate vector: %s' % comment)
        self.seen.add(sig)
        replay = replay or {r: REPLAY[parties[r].py] for r in check}
        self.cases.append(Case(group, comment, list(flags), dict(parties), messages,
                               list(check), dict(results), replay, cpython or {}))
        return self.cases[-1]


K = b'abracadabra'
K2 = b'open sesame'
SR40 = bytes(range(40))
SR20 = bytes(range(20))
CR40 = bytes(range(0x80, 0xa8))
CR20 = bytes(range(0x80, 0x94))


def key_of(n):
    return bytes(i % 256 for i in range(n))


def srv(py='3.13', key=K, digest='sha256', allow_md5=False, random=None):
    legacy = py in ('3.11', '2.7')
    return Party(py, key, random if random is not None else (SR20 if legacy else SR40),
                 digest, allow_md5)


def cli(py='3.13', key=K, digest='sha256', allow_md5=False, random=None):
    legacy = py in ('3.11', '2.7')
    return Party(py, key, random if random is not None else (CR20 if legacy else CR40),
                 digest, allow_md5)


def mp_cases():
    b = Builder('multiprocessing')
    MOD, LEG, MIX = 'modern', 'legacy', 'mixed'
    both = ['server', 'client']

    def full(group, comment, flags, s, c, tamper=None, check=both, view=None,
             results=None, **kw):
        t = relay('multiprocessing', s, c, tamper)
        if s.trailing or c.trailing:
            msgs = t.with_trailing('multiprocessing')
        else:
            msgs = t.view(view or check[0])
        res = results or {r: 'ok' for r in check}
        return b.add(group, comment, flags, {'server': s, 'client': c}, msgs, check, res, **kw), t

    def views(group, comment, flags, s, c, tamper, server_result=None, client_result=None,
              server_flags=(), client_flags=()):
        """One relay run, emitted as the server's view and/or the client's view."""
        t = relay('multiprocessing', s, c, tamper)
        out = []
        for role, code, extra in (('server', server_result, server_flags),
                                  ('client', client_result, client_flags)):
            if code is None:
                continue
            parties = {'server': s, 'client': c}
            out.append(b.add(group, '%s (%s view)' % (comment, role), list(flags) + list(extra),
                             parties, t.view(role), [role], {role: code}))
        return t

    # --- modern: CPython 3.13 <-> 3.13 -----------------------------------
    case, t = full(MOD, 'Known answer: modern {sha256} mutual handshake, CPython 3.13 Listener <-> 3.13 Client',
                   ['Modern', 'KnownAnswer', 'Mutual'], srv(), cli())
    assert payload_of(case.messages[1][1]) == b'{sha256}' + bytes.fromhex(
        '536016a8c32ca9231522a6e91ddbbd637ba292f333e6fd43599971f107db3002'), 'modern known answer'
    assert payload_of(case.messages[0][1]) == CHALLENGE + b'{sha256}' + SR40
    for d in ('sha384', 'sha3_256', 'sha3_384'):
        full(MOD, "Server deliver_challenge(digest_name='%s'); the client's own challenge stays {sha256}" % d,
             ['Modern', 'DigestName', 'Mutual'], srv(digest=d), cli())
    full(MOD, "Server deliver_challenge(digest_name='md5'): {md5} challenge answered with a {md5}-prefixed HMAC-MD5 (both sides need allowMd5)",
         ['Modern', 'DigestName', 'Md5', 'Mutual'], srv(digest='md5', allow_md5=True), cli(allow_md5=True))
    for n, what in ((0, 'an empty key'), (1, 'a 1-byte key'), (64, 'a 64-byte key (= SHA-256 block)'),
                    (65, 'a 65-byte key (> SHA-256 block, hashed first)'),
                    (131, 'a 131-byte key (> SHA-384 block)'), (200, 'a 200-byte key')):
        full(MOD, 'Modern mutual handshake with %s' % what,
             ['Modern', 'Mutual', 'EmptyKey' if n == 0 else 'KeySize'],
             srv(key=key_of(n)), cli(key=key_of(n)))
    full(MOD, 'Client reply sent in the -1 + 8-byte length form (send_bytes uses it only above 0x7fffffff bytes; recv_bytes accepts it for any size)',
         ['Modern', 'LongLengthForm', 'Mutual'], srv(), cli(),
         tamper={('client', 0): replace_raw(lambda d: long_frame(payload_of(d)))},
         check=['server'])
    full(MOD, 'Server challenge sent in the -1 + 8-byte length form',
         ['Modern', 'LongLengthForm', 'Mutual'], srv(), cli(),
         tamper={('server', 0): replace_raw(lambda d: long_frame(payload_of(d)))},
         check=['client'])
    full(MOD, 'Client answers the {sha256} challenge with {sha384}: CPython lets the replier pick any allowed digest (the MAC covers the {sha256} prefix, so this is no downgrade)',
         ['Modern', 'ClientChosenDigest', 'Mutual'], srv(), cli(),
         tamper={('client', 0): replace_payload(
             lambda p: b'{sha384}' + hm(K, b'{sha256}' + SR40, 'sha384'))},
         check=['server'])
    full(MOD, 'Client answers the {sha256} challenge with a {md5}-prefixed HMAC-MD5; CPython 3.13 accepts it (server allowMd5 true)',
         ['Modern', 'ClientChosenDigest', 'Md5', 'Mutual'], srv(allow_md5=True), cli(),
         tamper={('client', 0): replace_payload(
             lambda p: b'{md5}' + hm(K, b'{sha256}' + SR40, 'md5'))},
         check=['server'])

    # modern invalid: wrong key and flipped bits in every message
    views(MOD, 'Wrong key: client holds %r' % K2.decode(), ['Modern', 'WrongKey'],
          srv(), cli(key=K2), None, server_result='bad_tag')
    views(MOD, 'Wrong key: server holds %r' % K2.decode(), ['Modern', 'WrongKey'],
          srv(key=K2), cli(), None, client_result='peer_rejected')
    views(MOD, 'Bit flipped in the last random byte of the server challenge in transit',
          ['Modern', 'BitFlip'], srv(), cli(), {('server', 0): flip(-1)},
          server_result='bad_tag', client_result='peer_rejected')
    views(MOD, "Bit flipped in the last byte of the client's reply in transit",
          ['Modern', 'BitFlip'], srv(), cli(), {('client', 0): flip(-1)},
          server_result='bad_tag')   # client view = the wrong-key client view
    views(MOD, "Bit flipped in the server's #WELCOME# ('#WELCOME\"')",
          ['Modern', 'BitFlip', 'UnexpectedVerdict'], srv(), cli(), {('server', 1): flip(-1)},
          client_result='unexpected_verdict')
    views(MOD, "Bit flipped in the last random byte of the client's challenge (second half)",
          ['Modern', 'BitFlip'], srv(), cli(), {('client', 1): flip(-1)},
          server_result='peer_rejected', client_result='bad_tag')
    views(MOD, "Bit flipped in the last byte of the server's reply (second half)",
          ['Modern', 'BitFlip'], srv(), cli(), {('server', 2): flip(-1)},
          server_result='peer_rejected', client_result='bad_tag')
    views(MOD, "Bit flipped in the client's final #WELCOME#",
          ['Modern', 'BitFlip', 'UnexpectedVerdict'], srv(), cli(), {('client', 2): flip(-1)},
          server_result='unexpected_verdict')
    views(MOD, "Bit flipped in the #CHALLENGE# tag ('#cHALLENGE#')",
          ['Modern', 'BitFlip', 'MissingChallenge'], srv(), cli(), {('server', 0): flip(1, 0x20)},
          client_result='missing_challenge')
    views(MOD, "Bit flipped in the digest name ('{sha257}')",
          ['Modern', 'BitFlip', 'UnknownDigest'], srv(), cli(),
          {('server', 0): flip(len(CHALLENGE) + 6)}, client_result='unknown_digest')

    # reply length / framing
    mac = hm(K, b'{sha256}' + SR40, 'sha256')
    for payload, what, code, extra in (
            (b'{sha256}' + mac[:31], '{sha256} + 31 bytes (truncated, length prefix corrected)', 'tag_length', ['TagLength', 'Truncated']),
            (b'{sha256}' + mac + b'\x00', '{sha256} + 33 bytes', 'tag_length', ['TagLength']),
            (b'{sha384}' + mac, '{sha384} + a 32-byte tag', 'tag_length', ['TagLength']),
            (b'{sha256}' + mac + bytes(216), '{sha256} + 248 bytes (256-byte message, the largest recv_bytes(256) takes)', 'tag_length', ['TagLength', 'LengthLimit']),
            (b'{sha1}' + hm(K, b'{sha256}' + SR40, 'sha1'), '{sha1} + HMAC-SHA1', 'unknown_digest', ['UnknownDigest']),
            (b'{sha512}' + hm(K, b'{sha256}' + SR40, 'sha512'), '{sha512} + HMAC-SHA512', 'unknown_digest', ['UnknownDigest']),
            (mac, 'the raw 32-byte tag without a prefix', 'unknown_digest', ['UnknownDigest']),
            (b'', 'an empty message', 'unknown_digest', ['UnknownDigest']),
    ):
        views(MOD, 'Client reply replaced by %s' % what, ['Modern'] + extra, srv(), cli(),
              {('client', 0): replace_payload(lambda p, x=payload: x)}, server_result=code)
    views(MOD, 'Client reply replaced by 16 bytes {sha256} + 8 tag bytes: a 16-byte reply is taken as legacy raw HMAC-MD5 (CPython: wrong digest)',
          ['Modern', 'LegacyLength', 'Md5'], srv(allow_md5=True), cli(),
          {('client', 0): replace_payload(lambda p: p[:16])}, server_result='bad_tag')
    views(MOD, 'Client reply replaced by 20 bytes {sha256} + 12 tag bytes: a 20-byte reply is taken as legacy HMAC-MD5 of the wrong length',
          ['Modern', 'LegacyLength', 'Md5', 'TagLength'], srv(allow_md5=True), cli(),
          {('client', 0): replace_payload(lambda p: p[:20])}, server_result='tag_length')
    views(MOD, 'Client reply frame announces 257 bytes (payload follows): over the recv_bytes(256) limit, the server sends nothing more',
          ['Modern', 'LengthLimit'], srv(), cli(),
          {('client', 0): replace_raw(lambda d: frame(payload_of(d) + bytes(257 - len(payload_of(d)))))},
          server_result='message_too_long')
    views(MOD, 'Client reply length prefix 0x7fffffff (nothing follows)',
          ['Modern', 'LengthLimit'], srv(), cli(),
          {('client', 0): replace_raw(lambda d: struct.pack('!i', 0x7fffffff))},
          server_result='message_too_long')
    views(MOD, 'Client reply in the -1 + 8-byte form announcing 257 bytes (payload follows)',
          ['Modern', 'LengthLimit', 'LongLengthForm'], srv(), cli(),
          {('client', 0): replace_raw(lambda d: long_frame(payload_of(d) + bytes(257 - len(payload_of(d)))))},
          server_result='message_too_long')
    views(MOD, 'Client reply frame cut after 20 of its 44 bytes, then end of stream',
          ['Modern', 'Truncated', 'Incomplete'], srv(), cli(), {('client', 0): cut_after(20)},
          server_result='incomplete')
    views(MOD, 'Client reply cut inside the length prefix (2 bytes), then end of stream',
          ['Modern', 'Truncated', 'Incomplete'], srv(), cli(), {('client', 0): cut_after(2)},
          server_result='incomplete')
    views(MOD, 'Server challenge frame cut after 30 of its 63 bytes, then end of stream',
          ['Modern', 'Truncated', 'Incomplete'], srv(), cli(), {('server', 0): cut_after(30)},
          client_result='incomplete')
    views(MOD, 'Server challenge frame announces 257 bytes (payload follows)',
          ['Modern', 'LengthLimit'], srv(), cli(),
          {('server', 0): replace_raw(lambda d: frame(payload_of(d) + bytes(257 - len(payload_of(d)))))},
          client_result='message_too_long')
    views(MOD, "Server's #WELCOME# replaced by '#WELCOME#\\x00'",
          ['Modern', 'UnexpectedVerdict'], srv(), cli(),
          {('server', 1): replace_payload(lambda p: p + b'\x00')}, client_result='unexpected_verdict')
    views(MOD, "Server's #WELCOME# replaced by an empty message",
          ['Modern', 'UnexpectedVerdict'], srv(), cli(),
          {('server', 1): replace_payload(lambda p: b'')}, client_result='unexpected_verdict')

    # challenge shape
    for payload, what, code, extra in (
            (b'{sha256}' + SR40, '{sha256} + 40 bytes without the #CHALLENGE# tag', 'missing_challenge', ['MissingChallenge']),
            (CHALLENGE + SR40, '#CHALLENGE# + 40 bytes without a {digest} prefix', 'unknown_digest', ['UnknownDigest']),
            (CHALLENGE + b'{SHA256}' + SR40, "#CHALLENGE#{SHA256} (digest names are case-sensitive)", 'unknown_digest', ['UnknownDigest']),
            (CHALLENGE + SR20[:19], '#CHALLENGE# + 19 bytes', 'challenge_too_short', ['ShortChallenge']),
            (CHALLENGE + b'{sha256}' + SR40[:11], '#CHALLENGE#{sha256} + 11 bytes (19 after the tag)', 'challenge_too_short', ['ShortChallenge']),
            (CHALLENGE, '#CHALLENGE# alone', 'challenge_too_short', ['ShortChallenge']),
    ):
        views(MOD, 'Server challenge replaced by %s' % what, ['Modern'] + extra, srv(), cli(),
              {('server', 0): replace_payload(lambda p, x=payload: x)}, client_result=code)
    for d in ('sha1', 'sha512'):
        views(MOD, "Server deliver_challenge(digest_name='%s'): CPython sends it, no CPython client answers it" % d,
              ['Modern', 'UnknownDigest'], srv(digest=d), cli(), None, client_result='unknown_digest')
    views(MOD, 'Server challenge replaced by #CHALLENGE#{sha256} + 12 bytes: 20 bytes after the tag, so CPython 3.13 takes it as a LEGACY challenge and answers raw HMAC-MD5 over all 20 bytes ({sha256} included); the real server then rejects it',
          ['Modern', 'LegacyLength', 'Md5'], srv(), cli(allow_md5=True),
          {('server', 0): replace_payload(lambda p: p[:len(CHALLENGE) + 20])},
          client_result='peer_rejected')
    views(MOD, 'Server challenge replaced by #CHALLENGE#{sha256} + 13 bytes: 21 bytes is modern, answered with {sha256} (CPython does not require 40 random bytes); the real server then rejects it',
          ['Modern', 'ShortRandom'], srv(), cli(),
          {('server', 0): replace_payload(lambda p: p[:len(CHALLENGE) + 21])},
          client_result='peer_rejected')

    # OurPolicy (modern)
    t = relay('multiprocessing', srv(), cli(), {('client', 0): replace_payload(
        lambda p: b'{md5}' + hm(K, b'{sha256}' + SR40, 'md5'))})
    b.add(MOD, 'Client answers with a {md5}-prefixed HMAC-MD5 and the server does not allow MD5: our policy refuses it with #FAILURE# (CPython 3.13 would send #WELCOME#)',
          ['Modern', 'Md5', 'OurPolicy'], t.parties, t.view('server')[:2] + [('server', frame(FAILURE))],
          ['server'], {'server': 'md5_not_allowed'}, cpython={'server': 'eof'})
    t = relay('multiprocessing', srv(digest='md5', allow_md5=True), cli(allow_md5=True))
    b.add(MOD, 'Server delivers a {md5} challenge to a client with allowMd5 false: the client refuses without sending anything (CPython 3.13 answers it)',
          ['Modern', 'Md5', 'OurPolicy'], {'server': t.parties['server'], 'client': cli()},
          t.view('client')[:1], ['client'], {'client': 'md5_not_allowed'}, cpython={'client': 'eof'})
    t = relay('multiprocessing', srv(), cli(), {('server', 0): replace_payload(
        lambda p: p[:len(CHALLENGE) + 20])})
    b.add(MOD, 'Server challenge #CHALLENGE#{sha256} + 12 bytes (20 bytes: legacy) to a client with allowMd5 false: refused, nothing sent (CPython 3.13 answers raw HMAC-MD5)',
          ['Modern', 'LegacyLength', 'Md5', 'OurPolicy'], t.parties, t.view('client')[:1],
          ['client'], {'client': 'md5_not_allowed'}, cpython={'client': 'eof'})
    t = relay('multiprocessing', srv(), cli(), {('client', 0): replace_raw(
        lambda d: struct.pack('!i', -2))})
    b.add(MOD, 'Client reply length prefix -2 (0xfffffffe): our policy fails with nothing sent. CPython 3.x _recv_bytes reads a negative size as an EMPTY message and so answers #FAILURE# (unsupported message length); Python 2.7 reads it unsigned and raises "bad message length"',
          ['Modern', 'NegativeLength', 'OurPolicy'], t.parties, t.view('server')[:2],
          ['server'], {'server': 'bad_length'}, cpython={'server': 'unknown_digest'})
    assert t.view('server')[2:] == [('server', frame(FAILURE))], 'CPython 3.13 answers -2 with #FAILURE#'
    t = relay('multiprocessing', srv(), cli(), {('server', 0): replace_raw(
        lambda d: struct.pack('!i', -2))})
    b.add(MOD, 'Server challenge length prefix -2: nothing sent. CPython 3.x reads an empty message and fails "expected challenge" (also sending nothing)',
          ['Modern', 'NegativeLength', 'OurPolicy'], t.parties, t.view('client'),
          ['client'], {'client': 'bad_length'}, cpython={'client': 'missing_challenge'})

    # --- legacy: 3.11 <-> 3.11, 2.7 <-> 2.7 --------------------------------
    case, t = full(LEG, 'Known answer: legacy handshake, CPython 3.11 Listener <-> 3.11 Client (20-byte challenges, raw HMAC-MD5 replies)',
                   ['Legacy', 'KnownAnswer', 'Md5', 'Mutual'], srv('3.11'), cli('3.11'))
    assert payload_of(case.messages[1][1]) == bytes.fromhex('ff63d69f0d1055b99f32d588bd840b74'), 'legacy known answer'
    assert payload_of(case.messages[0][1]) == CHALLENGE + SR20
    full(LEG, 'Legacy handshake, CPython 2.7 Listener <-> 2.7 Client, 131-byte key',
         ['Legacy', 'Md5', 'Mutual', 'KeySize', 'Python27'], srv('2.7', key=key_of(131)), cli('2.7', key=key_of(131)))
    full(LEG, 'Legacy handshake, CPython 2.7 Listener <-> 2.7 Client, empty key',
         ['Legacy', 'Md5', 'Mutual', 'EmptyKey', 'Python27'], srv('2.7', key=b''), cli('2.7', key=b''))
    full(LEG, 'Legacy handshake, CPython 3.11 Listener <-> 3.11 Client, 200-byte key',
         ['Legacy', 'Md5', 'Mutual', 'KeySize'], srv('3.11', key=key_of(200)), cli('3.11', key=key_of(200)))
    views(LEG, 'Legacy wrong key: client holds %r' % K2.decode(), ['Legacy', 'Md5', 'WrongKey'],
          srv('3.11'), cli('3.11', key=K2), None, server_result='bad_tag')
    views(LEG, 'Legacy wrong key: server holds %r' % K2.decode(), ['Legacy', 'Md5', 'WrongKey'],
          srv('3.11', key=K2), cli('3.11'), None, client_result='peer_rejected')
    views(LEG, "Legacy: bit flipped in the client's raw MD5 reply", ['Legacy', 'Md5', 'BitFlip'],
          srv('3.11'), cli('3.11'), {('client', 0): flip(0, 0x80)}, server_result='bad_tag')
    views(LEG, 'Legacy: bit flipped in the server challenge', ['Legacy', 'Md5', 'BitFlip'],
          srv('3.11'), cli('3.11'), {('server', 0): flip(-1)}, client_result='peer_rejected')
    views(LEG, 'Legacy: client reply frame cut after 12 of its 20 bytes, then end of stream',
          ['Legacy', 'Md5', 'Truncated', 'Incomplete'], srv('3.11'), cli('3.11'),
          {('client', 0): cut_after(12)}, server_result='incomplete')
    t = relay('multiprocessing', srv('2.7'), cli('2.7'), {('client', 0): replace_raw(
        lambda d: struct.pack('!i', -2))})
    b.add(LEG, 'Client reply length prefix -2 to a Python 2.7 Listener: 2.7 reads the prefix unsigned and fails "bad message length" without sending #FAILURE#, as our policy does',
          ['Legacy', 'Md5', 'NegativeLength', 'Python27'], t.parties, t.view('server'),
          ['server'], {'server': 'bad_length'}, replay={'server': ('2.7',)})

    # --- mixed generations -------------------------------------------------
    case, t = full(MIX, 'Known answer: CPython 3.13 Listener <-> 3.11 Client. The 3.11 client answers the {sha256} challenge with raw HMAC-MD5 over all 48 bytes; the 3.13 server answers the 20-byte legacy challenge with raw HMAC-MD5',
                   ['Mixed', 'KnownAnswer', 'Md5', 'Mutual'], srv(allow_md5=True), cli('3.11'),
                   check=['server'])
    assert payload_of(case.messages[1][1]) == bytes.fromhex('7690e2569f3bc902fa21a77cf545d7f6'), 'mixed known answer'
    b.add(MIX, 'The 3.11 client\'s raw HMAC-MD5 reply to a {sha256} challenge, server allowMd5 false: our policy answers #FAILURE# (CPython 3.13 sends #WELCOME#)',
          ['Mixed', 'Md5', 'OurPolicy'], {'server': srv(), 'client': t.parties['client']},
          case.messages[:2] + [('server', frame(FAILURE))], ['server'],
          {'server': 'md5_not_allowed'}, cpython={'server': 'eof'})
    case, t = full(MIX, 'CPython 3.11 Listener <-> 3.13 Client. The 3.13 client answers the legacy challenge with raw HMAC-MD5 and delivers a {sha256} challenge, which 3.11 answers with raw HMAC-MD5 over all 48 bytes',
                   ['Mixed', 'Md5', 'Mutual'], srv('3.11'), cli(allow_md5=True), check=['client'])
    b.add(MIX, 'Legacy 20-byte challenge (CPython 3.11 Listener) to a client with allowMd5 false: refused, nothing sent (CPython 3.13 answers raw HMAC-MD5)',
          ['Mixed', 'Md5', 'OurPolicy'], {'server': t.parties['server'], 'client': cli()},
          case.messages[:1], ['client'], {'client': 'md5_not_allowed'}, cpython={'client': 'eof'})
    full(MIX, 'CPython 3.13 Listener <-> 2.7 Client, key %r' % K2.decode(),
         ['Mixed', 'Md5', 'Mutual', 'Python27'], srv(key=K2, allow_md5=True), cli('2.7', key=K2), check=['server'])
    full(MIX, 'CPython 2.7 Listener <-> 3.13 Client, key %r' % K2.decode(),
         ['Mixed', 'Md5', 'Mutual', 'Python27'], srv('2.7', key=K2), cli(key=K2, allow_md5=True), check=['client'])

    # --- appended groups (new tcIds after the last; earlier ones unchanged) --
    MOD2, LEG2 = 'modern2', 'legacy2'

    def one_view(group, comment, flags, s, c, tamper, role, code, keep=None, tail=(), **kw):
        """One relay run emitted as role's view: its first keep messages, then
        tail (what our machine sends where CPython sends something else)."""
        t = relay('multiprocessing', s, c, tamper)
        b.add(group, comment, flags, t.parties, t.view(role)[:keep] + list(tail),
              [role], {role: code}, **kw)
        return t

    # The client's deliver half: the Listener's reply (frame 4) to the
    # client's challenge, checked by the client.
    cmac = hm(K, b'{sha256}' + CR40, 'sha256')
    for payload, what, code, extra in (
            (b'{sha256}' + cmac[:31], '{sha256} + 31 bytes (truncated, length prefix corrected)', 'tag_length', ['TagLength', 'Truncated']),
            (b'{sha384}' + cmac, '{sha384} + a 32-byte tag', 'tag_length', ['TagLength']),
            (b'{sha1}' + hm(K, b'{sha256}' + CR40, 'sha1'), '{sha1} + HMAC-SHA1', 'unknown_digest', ['UnknownDigest']),
            (cmac, 'the raw 32-byte tag without a prefix', 'unknown_digest', ['UnknownDigest']),
    ):
        views(MOD2, "Server's reply to the client's challenge replaced by %s" % what, ['Modern'] + extra,
              srv(), cli(), {('server', 2): replace_payload(lambda p, x=payload: x)}, client_result=code)
    for payload, what in (
            (b'{md5}' + hm(K, b'{sha256}' + CR40, 'md5'), 'a {md5}-prefixed HMAC-MD5'),
            (hm(K, b'{sha256}' + CR40, 'md5'), 'a raw 16-byte HMAC-MD5 (a legacy reply, as a 3.11 Listener sends)'),
    ):
        one_view(MOD2, "Server answers the client's {sha256} challenge with %s and the client does not allow MD5: our policy refuses it with #FAILURE# (CPython 3.13 sends #WELCOME#)" % what,
                 ['Modern', 'Md5', 'OurPolicy'], srv(), cli(), {('server', 2): replace_payload(lambda p, x=payload: x)},
                 'client', 'md5_not_allowed', keep=5, tail=[('client', frame(FAILURE))], cpython={'client': 'ok'})
    views(MOD2, "Server's reply to the client's challenge cut after 20 of its 44 bytes, then end of stream",
          ['Modern', 'Truncated', 'Incomplete'], srv(), cli(), {('server', 2): cut_after(20)},
          client_result='incomplete')
    views(MOD2, "Server's reply to the client's challenge announces 257 bytes (payload follows): over the recv_bytes(256) limit, the client sends nothing more",
          ['Modern', 'LengthLimit'], srv(), cli(),
          {('server', 2): replace_raw(lambda d: frame(payload_of(d) + bytes(257 - len(payload_of(d)))))},
          client_result='message_too_long')
    t = one_view(MOD2, "Server's reply to the client's challenge has length prefix -2 (0xfffffffe): our policy fails with nothing sent. CPython 3.x reads an EMPTY message and so answers #FAILURE# (unsupported message length)",
                 ['Modern', 'NegativeLength', 'OurPolicy'], srv(), cli(),
                 {('server', 2): replace_raw(lambda d: struct.pack('!i', -2))},
                 'client', 'bad_length', keep=5, cpython={'client': 'unknown_digest'})
    assert t.view('client')[5:] == [('client', frame(FAILURE))], 'CPython 3.13 answers -2 with #FAILURE#'

    # The server's answer half: the client's challenge (frame 3), checked by
    # the server (its verdict, frame 5, is covered above).
    views(MOD2, "Bit flipped in the #CHALLENGE# tag of the client's challenge ('#cHALLENGE#')",
          ['Modern', 'BitFlip', 'MissingChallenge'], srv(), cli(), {('client', 1): flip(1, 0x20)},
          server_result='missing_challenge')
    views(MOD2, "Client's challenge frame cut after 30 of its 63 bytes, then end of stream",
          ['Modern', 'Truncated', 'Incomplete'], srv(), cli(), {('client', 1): cut_after(30)},
          server_result='incomplete')
    for payload, what, code, extra in (
            (CHALLENGE + CR20[:19], '#CHALLENGE# + 19 bytes', 'challenge_too_short', ['ShortChallenge']),
            (CHALLENGE + CR40, '#CHALLENGE# + 40 bytes without a {digest} prefix', 'unknown_digest', ['UnknownDigest']),
    ):
        views(MOD2, "Client's challenge replaced by %s" % what, ['Modern'] + extra, srv(), cli(),
              {('client', 1): replace_payload(lambda p, x=payload: x)}, server_result=code)
    for d in ('sha1', 'sha512'):
        views(MOD2, "Client deliver_challenge(digest_name='%s'): CPython sends it, no CPython Listener answers it" % d,
              ['Modern', 'UnknownDigest'], srv(), cli(digest=d), None, server_result='unknown_digest')
    views(MOD2, "Client's challenge frame announces 257 bytes (payload follows): over the recv_bytes(256) limit, the server sends nothing more",
          ['Modern', 'LengthLimit'], srv(), cli(),
          {('client', 1): replace_raw(lambda d: frame(payload_of(d) + bytes(257 - len(payload_of(d)))))},
          server_result='message_too_long')
    one_view(MOD2, "Client delivers a {md5} challenge (deliver_challenge(digest_name='md5')) to a server with allowMd5 false: the server refuses without sending anything (CPython 3.13 answers it)",
             ['Modern', 'Md5', 'OurPolicy'], srv(), cli(digest='md5', allow_md5=True), None,
             'server', 'md5_not_allowed', keep=4, cpython={'server': 'eof'})
    one_view(MOD2, "Client's challenge replaced by #CHALLENGE#{sha256} + 12 bytes (20 bytes: legacy) to a server with allowMd5 false: refused, nothing sent (CPython 3.13 answers raw HMAC-MD5)",
             ['Modern', 'LegacyLength', 'Md5', 'OurPolicy'], srv(), cli(),
             {('client', 1): replace_payload(lambda p: p[:len(CHALLENGE) + 20])},
             'server', 'md5_not_allowed', keep=4, cpython={'server': 'eof'})
    one_view(MOD2, "Client's challenge length prefix -2: nothing sent. CPython 3.x reads an empty message and fails \"expected challenge\" (also sending nothing)",
             ['Modern', 'NegativeLength', 'OurPolicy'], srv(), cli(),
             {('client', 1): replace_raw(lambda d: struct.pack('!i', -2))},
             'server', 'bad_length', cpython={'server': 'missing_challenge'})

    # Application data right behind a side's last handshake message.
    app_c, app_s = b'GET /after-handshake\n', b'200 after-handshake\n'
    full(MOD2, "The Client's application data (one send_bytes frame) right behind its final #WELCOME#: the server must leave it unread",
         ['Modern', 'Mutual', 'TrailingData'], srv(), replace(cli(), trailing=app_c))
    full(MOD2, "The Listener's application data (one send_bytes frame, written once answer_challenge returned) right behind its reply to the client's challenge, its last message: the client must leave it unread",
         ['Modern', 'Mutual', 'TrailingData'], replace(srv(), trailing=app_s), cli())
    full(LEG2, 'Legacy handshake, CPython 2.7 Listener <-> 2.7 Client, each side\'s application data (one send_bytes frame) right behind its last message',
         ['Legacy', 'Md5', 'Mutual', 'TrailingData', 'Python27'],
         replace(srv('2.7'), trailing=app_s), replace(cli('2.7'), trailing=app_c))

    # legacy: the client's deliver half and the server's answer half
    views(LEG2, "Legacy: bit flipped in the Listener's raw MD5 reply to the client's challenge", ['Legacy', 'Md5', 'BitFlip'],
          srv('3.11'), cli('3.11'), {('server', 2): flip(0, 0x80)}, client_result='bad_tag')
    views(LEG2, "Legacy: the Listener's reply to the client's challenge cut after 12 of its 20 bytes, then end of stream",
          ['Legacy', 'Md5', 'Truncated', 'Incomplete'], srv('3.11'), cli('3.11'),
          {('server', 2): cut_after(12)}, client_result='incomplete')
    views(LEG2, "Legacy: bit flipped in the #CHALLENGE# tag of the client's challenge ('#cHALLENGE#'; CPython 3.11 and 2.7 fail an assert)",
          ['Legacy', 'Md5', 'BitFlip', 'MissingChallenge'], srv('3.11'), cli('3.11'),
          {('client', 1): flip(1, 0x20)}, server_result='missing_challenge')
    one_view(LEG2, "Listener's reply length prefix -2 to a Python 2.7 Client: 2.7 reads the prefix unsigned and fails \"bad message length\" without sending #FAILURE#, as our policy does",
             ['Legacy', 'Md5', 'NegativeLength', 'Python27'], srv('2.7'), cli('2.7'),
             {('server', 2): replace_raw(lambda d: struct.pack('!i', -2))},
             'client', 'bad_length', replay={'client': ('2.7',)})
    return b.cases


def recipe_cases():
    b = Builder('recipe')
    Z32 = bytes(32)
    R32 = bytes(range(32))

    def S(py, key, random, digest, trailing=b''):
        return RecipeParty(py, key, random, digest, trailing)

    def C(py, key, digest, trailing=b''):
        return RecipeParty(py, key, b'', digest, trailing)

    def py_for(digest):
        return '2.7' if digest == 'md5' else '3.13'

    def replay_for(digest):
        return ('2.7',) if digest == 'md5' else ('3.13', '3.12')

    def run(comment, flags, digest, key, random, ckey=None, tamper=None, trailing=b'',
            server_trailing=b'', check=('server', 'client'), results=None, view='server',
            cpython=None, group=None, keep=None):
        py = py_for(digest)
        s = S(py, key, random, digest, server_trailing)
        c = C(py, key if ckey is None else ckey, digest, trailing)
        t = relay('recipe', s, c, tamper)
        msgs = t.with_trailing('recipe') if trailing or server_trailing else t.view(view)
        msgs = msgs[:keep]
        res = results or {r: 'ok' for r in check}
        flags = ['Md5' if digest == 'md5' else 'Sha256'] + flags
        return b.add(group or ('md5' if digest == 'md5' else 'sha256'), comment, flags,
                     {'server': s, 'client': c}, msgs, list(check), res,
                     replay={r: replay_for(digest) for r in check}, cpython=cpython)

    case = run('Known answer: key "peekaboo", 32 zero bytes, HMAC-MD5 (the book\'s hmac.new(key, msg), Python 2.7)',
               ['KnownAnswer'], 'md5', b'peekaboo', Z32)
    assert case.messages[1][1] == bytes.fromhex('9d98b93e73866fa9d85a3b9aed30f340'), 'recipe known answer'
    run('Key "abracadabra", challenge 00..1f, HMAC-MD5', [], 'md5', K, R32)
    run('Empty key, HMAC-MD5', ['EmptyKey'], 'md5', b'', R32)
    run('200-byte key, HMAC-MD5', ['KeySize'], 'md5', key_of(200), R32)
    run('Key "peekaboo", 32 zero bytes, HMAC-SHA256 (digestmod=\'sha256\', Python 3.13)', [], 'sha256', b'peekaboo', Z32)
    run('Key "abracadabra", challenge 00..1f, HMAC-SHA256', [], 'sha256', K, R32)
    run('Empty key, HMAC-SHA256', ['EmptyKey'], 'sha256', b'', R32)
    run('131-byte key, HMAC-SHA256', ['KeySize'], 'sha256', key_of(131), R32)
    for d in ('md5', 'sha256'):
        run('Wrong key: client holds %r; the server returns False and sends nothing' % K2.decode(),
            ['WrongKey'], d, K, R32, ckey=K2, check=['server'], results={'server': 'bad_tag'})
        run('Bit flipped in the last byte of the reply', ['BitFlip'], d, K, R32,
            tamper={('client', 0): flip_raw(-1)}, check=['server'], results={'server': 'bad_tag'})
        run('Bit flipped in the first byte of the challenge in transit (server view)', ['BitFlip'], d, K, R32,
            tamper={('server', 0): flip_raw(0, 0x80)}, check=['server'], results={'server': 'bad_tag'})
        run('Reply cut after 8 bytes, then end of stream: our machine waits for more input. The recipe\'s single recv() returns the 8 bytes and compare_digest fails',
            ['Truncated', 'Incomplete', 'RecipeShortRead'], d, K, R32,
            tamper={('client', 0): cut_after(8)}, check=['server'], results={'server': 'incomplete'},
            cpython={'server': 'bad_tag'})
        run('Reply followed by application bytes in the same write; the handshake must consume only the tag and leave "trailing" unconsumed (CPython\'s recv(len(digest)) leaves them in the socket)',
            ['TrailingData'], d, K, R32, trailing=b'GET /after-handshake\n',
            check=['server'])
    # appended groups (new tcIds after the last): the client's side
    for d in ('md5', 'sha256'):
        run('Challenge cut after 8 bytes, then end of stream: our client waits for the rest and sends nothing. The recipe\'s single recv(32) returns the 8 bytes and it sends the HMAC of them',
            ['Truncated', 'Incomplete', 'RecipeShortRead'], d, K, R32,
            tamper={('server', 0): cut_after(8)}, check=['client'], results={'client': 'incomplete'},
            view='client', keep=1, cpython={'client': 'ok'}, group=d + '2')
        run('Challenge followed by the server\'s application bytes (sent once server_authenticate returned); the client must consume only the 32 challenge bytes and leave "trailing" unconsumed (CPython\'s recv(32) leaves them in the socket)',
            ['TrailingData'], d, K, R32, server_trailing=b'200 after-handshake\n', group=d + '2')
    return b.cases


# ---------------------------------------------------------------------------
# Verification: CPython replay and the model


def role_messages(case, role):
    """What role sends, what it is fed, and the trailing bytes it must leave."""
    mine = b''.join(m[1] for m in case.messages if m[0] == role)
    theirs = b''.join(m[1] + m[2] for m in case.messages if m[0] != role)
    trailing = b''.join(m[2] for m in case.messages if m[0] != role)
    return mine, theirs, trailing


def verify(profile, cases):
    jobs = {}
    for i, case in enumerate(cases):
        for role in case.check:
            _, theirs, _ = role_messages(case, role)
            job = replay_job(profile, case.parties[role], role, theirs)
            for series in case.replay[role]:
                jobs.setdefault(series, []).append(((i, role), job))
    results = {}
    for series, items in jobs.items():
        for ((i, role), _), res in zip(items, run_batch(series, [j for _, j in items])):
            results.setdefault((i, role), []).append((series, res))

    for i, case in enumerate(cases):
        where = '%s case %r' % (profile, case.comment)
        pythons = set()
        for role in case.check:
            party = case.parties[role]
            mine, theirs, trailing = role_messages(case, role)
            code = case.results[role]
            if role in case.cpython:
                expected_class = case.cpython[role]
            elif code in CPYTHON_CLASS:
                expected_class = CPYTHON_CLASS[code]
            else:
                raise RuntimeError('%s: %s needs an explicit CPython expectation' % (where, code))
            for series, res in results[(i, role)]:
                pythons.add(INTERPS[series].version)
                output = bytes.fromhex(res['output'])
                if profile == 'multiprocessing':
                    got = classify(res['error'])
                else:
                    if res['error']:
                        raise RuntimeError('%s: recipe raised %r' % (where, res['error']))
                    got = 'ok' if role == 'client' or res.get('returned') else 'bad_tag'
                if code == 'ok' == got and bytes.fromhex(res['rest']) != trailing:
                    raise RuntimeError('%s: CPython %s as %s left %s unread, not the trailing %s'
                                       % (where, INTERPS[series].version, role, res['rest'],
                                          trailing.hex()))
                if got != expected_class:
                    raise RuntimeError('%s: CPython %s as %s: expected %s, got %s (%r)'
                                       % (where, INTERPS[series].version, role, expected_class,
                                          got, res['error']))
                if role in case.cpython:
                    # OurPolicy: CPython deliberately differs; record what it did.
                    rec = {'python': INTERPS[series].version,
                           'sends': [f.hex() for f in (split_frames(output) if profile == 'multiprocessing' else [output])],
                           'outcome': outcome_text(res['error'])
                           if profile == 'multiprocessing' or role == 'client'
                           else 'server_authenticate returned %s' % res.get('returned')}
                    prev = case.cpython_record.get(role)
                    if prev is None:
                        case.cpython_record[role] = rec
                    elif (prev['sends'], prev['outcome']) != (rec['sends'], rec['outcome']):
                        raise RuntimeError('%s: CPython versions disagree: %r vs %r' % (where, prev, rec))
                    if 'OurPolicy' not in case.flags and 'RecipeShortRead' not in case.flags:
                        raise RuntimeError('%s: CPython expectation without a policy flag' % where)
                    continue
                if output != mine:
                    raise RuntimeError('%s: CPython %s as %s sent\n  %s\nexpected\n  %s'
                                       % (where, INTERPS[series].version, role, output.hex(), mine.hex()))
                # Ordering: each send follows exactly the peer messages before it.
                sends = [ev for ev in res['events'] if ev[0] in ('send', 'recv')]
                recvd, order = 0, []
                for ev in sends:
                    if ev[0] == 'recv':
                        recvd += 1
                    else:
                        order.append(recvd)
                want, seen = [], 0
                for m in case.messages:
                    if m[0] == role:
                        want.append(seen)
                    else:
                        seen += 1
                if order != want:
                    raise RuntimeError('%s: message order differs from CPython %s' % (where, order))
            # The independent model of our machine must agree exactly.
            cfg = party.config() if profile == 'multiprocessing' else {'random': party.random.hex()}
            if profile == 'multiprocessing':
                sent, mcode, rest = model_mp(role, party.key, cfg, theirs)
            else:
                sent, mcode, rest = model_recipe(role, party.key, cfg, theirs, party.digest)
            if b''.join(sent) != mine or mcode != code:
                raise RuntimeError('%s: model of our %s gives %s / %s, vector says %s / %s'
                                   % (where, role, b''.join(sent).hex(), mcode, mine.hex(), code))
            if code == 'ok' and rest != trailing:
                raise RuntimeError('%s: model left %r unconsumed' % (where, rest))
        for role, party in case.parties.items():
            if role not in case.check or profile == 'recipe':
                pythons.add(INTERPS[party.py].version)
        case.pythons = sorted(pythons, key=lambda v: tuple(int(x) for x in v.split('.')))


# ---------------------------------------------------------------------------
# JSON


NOTES_MP = {
    'Modern': ('FUNCTIONALITY', 'CPython 3.12+ format: #CHALLENGE#{digest} + 40 random bytes; replies {digest} + HMAC over everything after #CHALLENGE#, prefix included.'),
    'Legacy': ('LEGACY', 'CPython <= 3.11 format: #CHALLENGE# + 20 random bytes; replies are the raw 16-byte HMAC-MD5. Needs allowMd5.'),
    'Mixed': ('LEGACY', 'A 3.12+ side talking to a <= 3.11 side: a legacy peer answers any challenge with raw HMAC-MD5 over all of it; a modern peer answers a 20-byte challenge with raw HMAC-MD5.'),
    'KnownAnswer': ('FUNCTIONALITY', 'Contains a pinned known answer (legacy tag ff63d69f..., {sha256} tag 536016a8..., 3.11 raw MD5 tag 7690e256...), asserted by the generator.'),
    'Mutual': ('FUNCTIONALITY', 'The whole six-frame mutual handshake: server challenge, client reply, server verdict, client challenge, server reply, client verdict.'),
    'DigestName': ('FUNCTIONALITY', "The server delivers its challenge with deliver_challenge(..., digest_name=X) for X other than the default sha256."),
    'Md5': ('LEGACY', 'HMAC-MD5 is involved (legacy raw or {md5}); the side that accepts or produces it needs allowMd5 true.'),
    'ClientChosenDigest': ('FUNCTIONALITY', "CPython's _verify_challenge lets the reply name any allowed digest, whatever the challenge named; the MAC covers the challenge's own {digest} prefix."),
    'EmptyKey': ('EDGE_CASE', 'The authkey is empty (CPython accepts b"").'),
    'KeySize': ('EDGE_CASE', 'Key length at, just over or well over an HMAC block (64 bytes for MD5/SHA-256, 128 for SHA-384, 136 for SHA3-256); longer keys are hashed first.'),
    'LongLengthForm': ('FUNCTIONALITY', 'A frame uses the -1 + 8-byte big-endian length form. CPython 3.8+ recv_bytes accepts it for any size; Python 2.7 does not know it.'),
    'WrongKey': ('AUTH_BYPASS', 'The two sides hold different keys ("peerKey" is the other side\'s key). The verifier sees bad_tag and sends #FAILURE#; the prover sees peer_rejected.'),
    'BitFlip': ('AUTH_BYPASS', 'One bit of one frame was flipped in transit (by the generator relaying between two CPython processes).'),
    'UnexpectedVerdict': ('MODIFIED_PARAMETER', 'The verdict frame is neither #WELCOME# nor #FAILURE#. CPython raises "digest sent was rejected" for it as for #FAILURE#.'),
    'MissingChallenge': ('MODIFIED_PARAMETER', 'The frame where a challenge is due (the server\'s first, read by the client; the client\'s second, read by the server) does not start with #CHALLENGE#. (CPython <= 3.11 uses an assert there.)'),
    'UnknownDigest': ('MODIFIED_PARAMETER', 'A message has no allowed {digest} prefix (allowed: md5, sha256, sha384, sha3_256, sha3_384) and is not 16 or 20 bytes long.'),
    'ShortChallenge': ('MODIFIED_PARAMETER', 'Fewer than 20 bytes follow #CHALLENGE# (CPython 3.12+ refuses; 3.11 and older would answer).'),
    'ShortRandom': ('EDGE_CASE', 'A modern challenge with far fewer than 40 random bytes; CPython answers it.'),
    'LegacyLength': ('EDGE_CASE', 'A 16- or 20-byte message is taken as legacy HMAC-MD5 by its length alone, even if it starts with {sha256}.'),
    'TagLength': ('MODIFIED_PARAMETER', 'The reply tag has the wrong length for the digest it names (CPython: "expected \'sha256\' of length 32 got N").'),
    'LengthLimit': ('MODIFIED_PARAMETER', 'Length prefix at or over the recv_bytes(256) limit. Over it CPython raises OSError("bad message length") before any verdict, so nothing more is sent.'),
    'Truncated': ('MODIFIED_PARAMETER', 'A message was shortened.'),
    'Incomplete': ('FUNCTIONALITY', 'The stream ends mid-message; our machine is still waiting for input (result "incomplete"). CPython raises EOFError / OSError("got end of file during message") and sends nothing more.'),
    'NegativeLength': ('MODIFIED_PARAMETER', 'A 4-byte length prefix is negative and not -1. CPython 3.x _recv_bytes then reads zero bytes and returns an empty message; Python 2.7 reads the prefix unsigned ("bad message length").'),
    'OurPolicy': ('DEFINED', 'The expected result is this crate\'s policy, not CPython behaviour; the "cpython" field records what CPython actually does when fed this vector. A verification-stage rejection sends #FAILURE# then fails (like _verify_challenge); a framing error sends nothing (like recv_bytes raising before the try).'),
    'Python27': ('LEGACY', 'Produced or checked with Python 2.7.'),
    'TrailingData': ('FUNCTIONALITY', 'Application data ("trailing", one send_bytes frame the application wrote once the handshake returned) follows a side\'s last handshake message in the same stream. The receiver must consume exactly its handshake frames and leave it unconsumed (CPython\'s recv_bytes reads one frame and buffers nothing more).'),
}

NOTES_RECIPE = {
    'Md5': ('LEGACY', 'HMAC-MD5: the recipe as printed, hmac.new(key, msg) with its pre-3.8 MD5 default, run under Python 2.7.'),
    'Sha256': ('FUNCTIONALITY', "HMAC-SHA256: the recipe with hmac.new(key, msg, 'sha256'), run under Python 3.13."),
    'KnownAnswer': ('FUNCTIONALITY', 'Key "peekaboo", 32 zero bytes, HMAC-MD5 = 9d98b93e73866fa9d85a3b9aed30f340 (asserted by the generator).'),
    'EmptyKey': ('EDGE_CASE', 'The key is empty.'),
    'KeySize': ('EDGE_CASE', 'Key longer than the hash block (64 bytes).'),
    'WrongKey': ('AUTH_BYPASS', 'The client holds a different key ("peerKey"); the server\'s compare_digest fails. The recipe sends no verdict, so the server sends nothing after its challenge.'),
    'BitFlip': ('AUTH_BYPASS', 'One bit flipped in transit.'),
    'Truncated': ('MODIFIED_PARAMETER', 'A message (the reply, or the challenge) was shortened.'),
    'Incomplete': ('FUNCTIONALITY', 'The stream ends mid-message; our machine is still waiting for input (result "incomplete").'),
    'RecipeShortRead': ('DEFINED', 'The recipe does one recv() and does not loop, so at end of stream the server (recv(len(digest))) compares the short read and returns False, and the client (recv(32)) sends the HMAC of the short challenge; the "cpython" field records that. Our machine waits for the whole message instead.'),
    'TrailingData': ('FUNCTIONALITY', 'Application bytes ("trailing") follow a side\'s message in the same stream: the client\'s after its reply, or the server\'s after its challenge (sent once server_authenticate returned). The receiver must consume exactly the tag or the 32 challenge bytes and leave them unconsumed (CPython\'s recv(len(digest)) and recv(32) do).'),
}


def versions(series):
    """The full versions of some interpreter series, oldest first."""
    return sorted((INTERPS[s].version for s in series),
                  key=lambda v: tuple(int(x) for x in v.split('.')))


def case_json(profile, case, tc_id):
    check = [r for r in ('server', 'client') if r in case.check]
    key = case.parties[check[0]].key
    msgs = []
    for frm, data, trailing in case.messages:
        m = {'from': frm, 'data': data.hex()}
        if trailing:
            m['trailing'] = trailing.hex()
        msgs.append(m)
    t = {'tcId': tc_id, 'comment': case.comment, 'flags': case.flags, 'key': key.hex(),
         'messages': msgs, 'check': check,
         'result': 'valid' if all(case.results[r] == 'ok' for r in check) else 'invalid',
         'python': ', '.join(case.pythons),
         'replayedOn': {r: versions(case.replay[r]) for r in check}}
    for role in ('server', 'client'):
        p = case.parties[role]
        if profile == 'multiprocessing':
            t[role] = p.config()
        else:
            t[role] = {'digest': p.digest}
            if role == 'server':
                t[role]['random'] = p.random.hex()
        if role in check:
            t[role + 'Result'] = case.results[role]
    others = {case.parties[r].key for r in ('server', 'client')} - {key}
    if others:
        t['peerKey'] = others.pop().hex()
    if case.cpython_record:
        t['cpython'] = case.cpython_record
    return t


GROUPS_MP = [
    ('modern', 'CPython {3.13} multiprocessing.connection deliver_challenge/answer_challenge (3.12+ {digest} protocol); every checked role replayed on CPython {3.12}'),
    ('legacy', 'CPython {3.11} and {2.7} multiprocessing.connection deliver_challenge/answer_challenge (20-byte challenge, raw HMAC-MD5); every checked role replayed on both'),
    ('mixed', 'CPython {3.13} against CPython {3.11} / {2.7} multiprocessing.connection (modern <-> legacy interoperation); checked roles replayed on {3.13} and {3.12}'),
    ('modern2', 'CPython {3.13} multiprocessing.connection (3.12+ {digest} protocol): the client\'s deliver_challenge (checking the Listener\'s reply to its challenge), the server\'s answer_challenge (reading the client\'s challenge), and application data right behind the handshake; every checked role replayed on CPython {3.12}'),
    ('legacy2', 'CPython {3.11} and {2.7} multiprocessing.connection (20-byte challenge, raw HMAC-MD5): the client\'s deliver_challenge, the server\'s answer_challenge, and application data right behind the handshake; every checked role replayed on both, the -2 length prefix on {2.7} alone'),
]
GROUPS_RECIPE = [
    ('md5', 'Python Cookbook 3rd ed. recipe 11.9 "Authenticating Clients Simply", code as printed (hmac.new(key, msg) = HMAC-MD5), run under CPython {2.7}'),
    ('sha256', "Python Cookbook recipe 11.9 with hmac.new(key, msg, 'sha256'), run under CPython {3.13}; replayed on CPython {3.12}"),
    ('md52', 'Python Cookbook recipe 11.9 as printed (HMAC-MD5), run under CPython {2.7}: the client\'s side (a short challenge, the server\'s application data after it)'),
    ('sha2562', "Python Cookbook recipe 11.9 with hmac.new(key, msg, 'sha256'), run under CPython {3.13}, replayed on CPython {3.12}: the client's side (a short challenge, the server's application data after it)"),
]


def source_text(template):
    return re.sub(r'\{(\d\.\d+)\}', lambda m: INTERPS[m.group(1)].version, template)


HEADER_MP = [
    'Handshake conformance vectors for the CPython multiprocessing.connection profile.',
    'Produced by vectors/tools/gen_handshake_vectors.py from CPython itself: messages are what',
    "CPython's deliver_challenge/answer_challenge sent over a real socketpair (os.urandom pinned",
    'in the module namespace), relayed between a Listener-side and a Client-side process; tampered',
    'messages were altered in transit by the relay. Every role in "check" was replayed in the',
    'interpreters "replayedOn" names for it and CPython reacted exactly as the vector says',
    '(OurPolicy vectors record CPython\'s different reaction in "cpython"); "python" names every',
    'interpreter involved, peers included. Every field is described in vectors/README.md.',
    'Each message "data" is the whole wire frame: 4-byte big-endian signed length (or -1 and an',
    '8-byte length), then the payload. All binary fields are lowercase hex.',
    'Replay: the machine for role R (server = Listener: deliver then answer; client = Client:',
    'answer then deliver), configured from the "server"/"client" object and "key", is fed every',
    'message not from R in order and must emit exactly the messages from R in order, ending with',
    'R\'s result ("ok" or an Error::code(); "incomplete" = still waiting for input).',
    '"challenge": "legacy" configures a 20-byte legacy challenge (allowMd5 is then always true);',
    'replies always follow CPython 3.12+ rules. "random" is the 40 (modern) or 20 (legacy) bytes',
    'after #CHALLENGE# and the {digest} prefix. Roles not in "check" are described for',
    'information only (e.g. a 3.11 peer); "peerKey" is the other side\'s key when it differs.',
]

HEADER_RECIPE = [
    'Handshake conformance vectors for the Python Cookbook recipe 11.9 ("Authenticating Clients',
    'Simply") profile: the server sends os.urandom(32) raw (no framing), the client replies with',
    'the raw hmac.new(key, challenge).digest(), the server compares with hmac.compare_digest and',
    'sends no verdict. Produced by vectors/tools/gen_handshake_vectors.py by running the recipe\'s',
    'own server_authenticate/client_authenticate over a socketpair (os.urandom pinned in the',
    "recipe module's namespace), relayed and optionally tampered between the two processes, and",
    'replayed per checked role in the interpreters "replayedOn" names for it. Every field is',
    'described in vectors/README.md.',
    'Replay as for multiprocessing.json: role R is fed every message not from R (including any',
    '"trailing" bytes, which are application data that follow the handshake in the same stream',
    'and must be left unconsumed) and must emit exactly the messages from R, ending with R\'s',
    'result. The client learns nothing from the handshake: its result is "ok", or "incomplete"',
    'when the challenge is cut short.',
]


def build_doc(profile, cases):
    notes_src = NOTES_MP if profile == 'multiprocessing' else NOTES_RECIPE
    groups_src = GROUPS_MP if profile == 'multiprocessing' else GROUPS_RECIPE
    used = sorted({f for c in cases for f in c.flags})
    unknown = [f for f in used if f not in notes_src]
    if unknown:
        raise RuntimeError('flags without a note: %s' % unknown)
    groups, tc = [], 0
    for name, source in groups_src:
        tests = []
        for case in cases:
            if case.group == name:
                tc += 1
                tests.append(case_json(profile, case, tc))
        groups.append({'type': 'HandshakeTest', 'profile': profile,
                       'source': source_text(source), 'tests': tests})
    if tc != len(cases):
        raise RuntimeError('cases outside the known groups')
    return {
        'algorithm': 'hmac-handshake %s profile' % profile,
        'schema': SCHEMA % profile,
        'vectorsVersion': VECTORS_VERSION[profile],
        'generator': GENERATOR,
        'numberOfTests': tc,
        'header': HEADER_MP if profile == 'multiprocessing' else HEADER_RECIPE,
        'notes': {f: {'bugType': notes_src[f][0], 'description': notes_src[f][1]} for f in used},
        'testGroups': groups,
    }


def render(doc):
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + '\n'


def generate():
    mp = mp_cases()
    verify('multiprocessing', mp)
    rc = recipe_cases()
    verify('recipe', rc)
    return {'multiprocessing.json': render(build_doc('multiprocessing', mp)),
            'recipe.json': render(build_doc('recipe', rc))}


def summarize_diff(name, old, new):
    lines = ['%s differs from a fresh generation' % name]
    try:
        o, n = json.loads(old), json.loads(new)
        ot = {t['tcId']: t for g in o.get('testGroups', []) for t in g.get('tests', [])}
        nt = {t['tcId']: t for g in n.get('testGroups', []) for t in g.get('tests', [])}
        changed = sorted(i for i in set(ot) & set(nt) if ot[i] != nt[i])
        lines.append('  tests on disk: %d, generated: %d; changed tcIds: %s; only on disk: %s; only generated: %s'
                     % (len(ot), len(nt), changed[:20] or '-', sorted(set(ot) - set(nt))[:20] or '-',
                        sorted(set(nt) - set(ot))[:20] or '-'))
    except ValueError:
        lines.append('  (file on disk is not valid JSON)')
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(),
                                     'disk/' + name, 'generated/' + name, lineterm='', n=1))
    lines.extend('  ' + d for d in diff[:40])
    if len(diff) > 40:
        lines.append('  ... %d more diff lines' % (len(diff) - 40))
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--check', action='store_true',
                    help='regenerate in memory; exit 1 if the files on disk differ')
    args = ap.parse_args()
    INTERPS.update(find_interpreters())
    files = generate()
    if args.check:
        bad = []
        for name, text in files.items():
            path = OUT_DIR / name
            old = path.read_text() if path.exists() else ''
            if old != text:
                bad.append(summarize_diff(name, old, text) if old else '%s is missing' % path)
        if bad:
            print('\n'.join(bad), file=sys.stderr)
            print('FAIL: vectors/handshake is stale; run python3 %s' % GENERATOR, file=sys.stderr)
            return 1
        print('OK: %s match a fresh generation (%s)' % (
            ', '.join(sorted(files)), ', '.join(i.version for i in INTERPS.values())))
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT_DIR / name).write_text(text)
        print('wrote %s: %d tests' % (OUT_DIR / name, json.loads(text)['numberOfTests']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
