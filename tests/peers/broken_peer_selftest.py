#!/usr/bin/env python3
"""Self-test of broken_peer.py and conformance_peer.py, without the Rust
tester.

    broken_peer_selftest.py [--pairs] [--matrix] [--interop] [--cpython]
                            [--only PREFIX] [--timeout S] [-v]

--pairs    each profile's honest (`none`) broken_peer server and client
           complete against each other, and a few flaws do what they say
           (fixed_challenge sends one challenge twice, empty_key_backdoor
           takes an empty-key reply, challenge_pool4 repeats after 4, ...).
--matrix   a small Python model of the conformance cases
           (/work/spec/conformance.md), run against every broken peer: the
           honest one passes every case, each flaw fails exactly the case it
           is listed under (accept_md5: a warn on md5_reply) and passes
           the rest.  The model is this file's reading of the contract, not
           the Rust tester.
--interop  conformance_peer.py's listener and client against each other on
           CPython 2.7, 3.11 and 3.13 (both profiles; every other installed
           CPython against 3.13, both ways), against broken_peer's honest
           peers, and a silent client that must not stall its listener for
           longer than --io-timeout.
--cpython  informational: the case model against conformance_peer.py on
           2.7 and 3.13 (prints the results, checks nothing).
Without a selection it runs --pairs, --matrix and --interop.  --only limits
--matrix to the peers whose `profile role flaw` starts with PREFIX, e.g.
`--only "native server"`.  Exit 0 when everything checked holds.
Python 3.7+ (run it with 3.13); CPythons from /root/.pyenv/versions.
"""

import argparse
import hashlib
import hmac
import os
import select
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'vectors', 'tools'))
import broken_peer as bp  # noqa: E402
import native_rederive as nr  # noqa: E402

HOST = '127.0.0.1'
PYENV = '/root/.pyenv/versions'
BROKEN = os.path.join(HERE, 'broken_peer.py')
HONEST = os.path.join(HERE, 'conformance_peer.py')
KEY = hashlib.sha256(b'broken_peer_selftest key').digest()
ENV_KEY = 'hex:' + KEY.hex()
MSG = b'conformance message 0123456789ab'  # 32 bytes
T = 2.0  # the tester's --timeout (set by --timeout)
VERBOSE = False

CH, WELCOME, FAILURE = b'#CHALLENGE#', b'#WELCOME#', b'#FAILURE#'
BAD_WELCOME = b'#WELCOME"'  # last bit flipped


def log(text):
    if VERBOSE:
        print('    ' + text)


def python(version):
    path = os.path.join(PYENV, version, 'bin', 'python')
    return path if os.path.exists(path) else None


def find_version(prefix):
    if not os.path.isdir(PYENV):
        return None
    for v in sorted(os.listdir(PYENV)):
        if v.startswith(prefix):
            return python(v)
    return None


# --- the tester's side of a connection ---------------------------------------


class End(Exception):
    """A read ended without what it asked for: kind is closed, silent,
    broken or toolong; got is how many bytes of it came."""

    def __init__(self, kind, got=0):
        Exception.__init__(self, '%s after %d bytes' % (kind, got))
        self.kind, self.got = kind, got


class TLink:
    def __init__(self, sock):
        self.sock = sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.held = b''

    @classmethod
    def connect(cls, port):
        return cls(socket.create_connection((HOST, port), timeout=T))

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.settimeout(T)
        self.sock.sendall(data)

    def send_bytewise(self, data):
        for i in range(len(data)):
            self.send(data[i:i + 1])
            time.sleep(0.001)

    def half_close(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        data = self.sock.recv(4096)
        self.held += data
        return len(data)

    def read_exact(self, n, wait=None):
        deadline = time.monotonic() + (T if wait is None else wait)
        while len(self.held) < n:
            before = len(self.held)
            try:
                if not self.fill(deadline):
                    raise End('closed', before)
            except socket.timeout:
                raise End('silent', before)
            except OSError:
                raise End('broken', before)
        out, self.held = self.held[:n], self.held[n:]
        return out

    def read_frame(self, limit=256):
        (n,) = struct.unpack('!i', self.read_exact(4))
        if n == -1:
            (n,) = struct.unpack('!Q', self.read_exact(8))
        if n < 0 or n > limit:
            raise End('toolong')
        return self.read_exact(n)

    def drain(self, wait=None):
        """What arrives until the peer closes or is silent for T."""
        deadline = time.monotonic() + (T if wait is None else wait)
        while True:
            try:
                if not self.fill(deadline):
                    break
            except (socket.timeout, OSError):
                break
        out, self.held = self.held, b''
        return out

    def peek_for(self, wait):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if not self.fill(deadline):
                    break
            except (socket.timeout, OSError):
                break
        return self.held


def frame(payload):
    return struct.pack('!i', len(payload)) + payload


def flip(data, at):
    b = bytearray(data)
    b[at] ^= 1
    return bytes(b)


def flip_last_bit(data):
    return flip(data, len(data) - 1)


def ok(seen):
    return ('ok', seen)


def failed(seen):
    return ('FAIL', seen)


def warn(seen):
    return ('warn', seen)


# --- recipe, server mode -----------------------------------------------------


def rtag(key, challenge):
    return hmac.new(key, challenge, hashlib.sha256).digest()


def r_echo(link, msg=MSG):
    try:
        got = link.read_exact(len(msg))
    except End as e:
        return failed('no echo: %s' % e)
    return ok('echo') if got == msg else failed('wrong echo')


def r_no_echo(link):
    data = link.drain()
    return failed('echoed %d bytes' % len(data)) if data else ok('no echo')


def rs_honest(port):
    link = TLink.connect(port)
    tag = rtag(KEY, link.read_exact(32))
    link.send(tag)
    time.sleep(0.05)
    link.send(MSG)
    return r_echo(link)


def rs_one_byte(port):
    link = TLink.connect(port)
    link.send_bytewise(rtag(KEY, link.read_exact(32)))
    time.sleep(0.05)
    link.send(MSG)
    return r_echo(link)


def rs_pipelined(port):
    link = TLink.connect(port)
    link.send(rtag(KEY, link.read_exact(32)) + MSG)
    return r_echo(link)


def rs_reject(port, make_tag):
    link = TLink.connect(port)
    link.send(make_tag(link.read_exact(32)))
    time.sleep(0.05)
    link.send(MSG)
    return r_no_echo(link)


def rs_wrong_key(port):
    for k in (os.urandom(32), b''):
        v = rs_reject(port, lambda ch: rtag(k, ch))
        if v[0] != 'ok':
            return v
    return ok('no echo for either key')


def rs_bitflip(port):
    return rs_reject(port, lambda ch: flip_last_bit(rtag(KEY, ch)))


def rs_truncated(port):
    link = TLink.connect(port)
    link.send(rtag(KEY, link.read_exact(32))[:16])
    time.sleep(0.1)
    link.send(MSG)
    link.half_close()
    return r_no_echo(link)


def rs_replay(port):
    link = TLink.connect(port)
    tag = rtag(KEY, link.read_exact(32))
    link.send(tag)
    time.sleep(0.05)
    link.send(MSG)
    v = r_echo(link)
    link.close()
    if v[0] != 'ok':
        return failed('conn 1: %s' % v[1])
    return rs_reject(port, lambda ch: tag)


def fresh(read_one):
    seen = set()
    for _ in range(8):
        seen.add(read_one())
    return ok('8 distinct') if len(seen) == 8 else failed(
        '%d distinct of 8' % len(seen))


def rs_fresh(port):
    def one():
        link = TLink.connect(port)
        try:
            return link.read_exact(32)
        finally:
            link.close()
    return fresh(one)


# --- multiprocessing, server mode --------------------------------------------


def mp_reply(key, message, digest='sha256'):
    return b'{%s}%s' % (digest.encode(), hmac.new(key, message,
                                                   digest).digest())


def our_challenge(digest):
    if digest == 'md5':
        return os.urandom(20)
    return b'{%s}%s' % (digest.encode(), os.urandom(40))


def answer_ok(key, ours, ans, digest):
    if digest == 'md5':
        return hmac.compare_digest(ans, hmac.new(key, ours, 'md5').digest())
    return hmac.compare_digest(ans, mp_reply(key, ours, digest))


def read_challenge(link):
    ch = link.read_frame()
    if not ch.startswith(CH):
        raise End('not a challenge')
    return ch[len(CH):]


def mp_refused(link, prompt=False):
    """'reject': FAILURE or a close; never WELCOME."""
    try:
        v = link.read_frame()
    except End as e:
        if prompt and e.kind == 'silent':
            return failed('silent for %s s' % T)
        return ok('refused: %s' % e)
    if v == WELCOME:
        return failed('#WELCOME#')
    return ok('refused: %r' % v[:16])


def ms_full(port, digest='sha256', bytewise=False, pipelined=False,
            keep=None):
    link = TLink.connect(port)
    send = link.send_bytewise if bytewise else link.send
    try:
        reply = mp_reply(KEY, read_challenge(link))
        if keep is not None:
            keep.append(reply)
        send(frame(reply))
        if link.read_frame() != WELCOME:
            return failed('our reply was not welcomed')
        ours = our_challenge(digest)
        send(frame(CH + ours))
        if not answer_ok(KEY, ours, link.read_frame(), digest):
            return failed('wrong answer in %s' % digest)
        if pipelined:
            send(frame(WELCOME) + frame(MSG))
        else:
            # The pause keeps the two apart for the server's reads, as the
            # recipe's honest case has it (otherwise flaw drop_after_welcome
            # cannot tell them from pipelined ones).
            send(frame(WELCOME))
            time.sleep(0.05)
            send(frame(MSG))
        return ok('echo') if link.read_frame(1 << 16) == MSG else failed(
            'wrong echo')
    except End as e:
        return failed(str(e))


def ms_honest(digest):
    return lambda port: ms_full(port, digest)


def ms_reject_reply(port, make_reply, prompt=False, raw=False):
    link = TLink.connect(port)
    message = read_challenge(link)
    data = make_reply(message)
    link.send(data if raw else frame(data))
    return mp_refused(link, prompt)


def ms_wrong_key(port):
    for k in (os.urandom(32), b''):
        v = ms_reject_reply(port, lambda m: mp_reply(k, m))
        if v[0] != 'ok':
            return v
    return ok('refused both')


def ms_bitflip_reply(port):
    return ms_reject_reply(port, lambda m: flip_last_bit(mp_reply(KEY, m)))


def ms_until_our_challenge(port):
    link = TLink.connect(port)
    link.send(frame(mp_reply(KEY, read_challenge(link))))
    if link.read_frame() != WELCOME:
        raise End('not welcomed')
    return link


def ms_bitflip_challenge(port):
    link = ms_until_our_challenge(port)
    link.send(frame(flip(CH + our_challenge('sha256'), 5)))
    try:
        link.read_frame()
    except End as e:
        return ok('no answer: %s' % e)
    return failed('answered a challenge with a bad tag')


def ms_bitflip_welcome(port):
    link = ms_until_our_challenge(port)
    ours = our_challenge('sha256')
    link.send(frame(CH + ours))
    if not answer_ok(KEY, ours, link.read_frame(), 'sha256'):
        return failed('wrong answer')
    link.send(frame(BAD_WELCOME))
    link.send(frame(MSG))
    try:
        link.read_frame(1 << 16)
    except End as e:
        return ok('no echo: %s' % e)
    return failed('echoed after a bad verdict')


def ms_truncated(port):
    def half(m):
        r = mp_reply(KEY, m)
        return struct.pack('!i', len(r)) + r[:len(r) // 2]
    link = TLink.connect(port)
    link.send(half(read_challenge(link)))
    link.half_close()
    return mp_refused(link)


def ms_length(header):
    return lambda port: ms_reject_reply(port, lambda m: header, prompt=True,
                                        raw=True)


def ms_replay(port):
    keep = []
    v = ms_full(port, keep=keep)
    if v[0] != 'ok':
        return failed('conn 1: %s' % v[1])
    return ms_reject_reply(port, lambda m: keep[0])


def ms_fresh(port):
    def one():
        link = TLink.connect(port)
        try:
            return read_challenge(link)
        finally:
            link.close()
    return fresh(one)


def ms_md5_reply(port):
    v = ms_reject_reply(port, lambda m: hmac.new(KEY, m, 'md5').digest())
    return warn('#WELCOME# for an MD5 reply') if v[0] == 'FAIL' else v


# --- native, server mode -----------------------------------------------------

SUITE = nr.Suite('hmac-sha256')
KEYS = nr.Keys(SUITE, KEY)


def ns_hello(link):
    sh = link.read_exact(39)
    if sh[:6] != nr.MAGIC + bytes([1, 1]) or sh[6] not in (0, 1):
        raise End('unexpected ServerHello %s' % sh[:7].hex())
    return sh


def ns_proof(sh, keys=KEYS, key_id=b'default', cnonce=None):
    cnonce = os.urandom(32) if cnonce is None else cnonce
    head = nr.proof_head(key_id, cnonce, None)
    t1 = nr.t1(SUITE, b'', b'', sh, head)
    ctag = nr.client_tag(keys, t1)
    return head, ctag, t1


def ns_refused(link, prompt=False):
    try:
        v = link.read_exact(2)
    except End as e:
        if prompt and e.kind == 'silent':
            return failed('silent for %s s' % T)
        return ok('refused: %s' % e)
    return failed('03 00') if v == b'\x03\x00' else ok('refused: %s' % v.hex())


def ns_full(port, bytewise=False, pipelined=False, keep=None):
    link = TLink.connect(port)
    try:
        sh = ns_hello(link)
        head, ctag, t1 = ns_proof(sh)
        if keep is not None:
            keep.append(head + ctag)
        if bytewise:
            link.send_bytewise(head + ctag + frame(MSG))
        elif pipelined:
            link.send(head + ctag + frame(MSG))
        else:
            link.send(head + ctag)
        fin = link.read_exact(2 + 32)
        if fin != b'\x03\x00' + nr.server_tag(KEYS, nr.t2(t1, ctag, None)):
            return failed('ServerFinish %s' % fin[:2].hex())
        if not bytewise and not pipelined:
            link.send(frame(MSG))
        return ok('echo') if link.read_frame(1 << 16) == MSG else failed(
            'wrong echo')
    except End as e:
        return failed(str(e))


def ns_reject(port, make, prompt=False, half_close=False):
    link = TLink.connect(port)
    link.send(make(ns_hello(link)))
    if half_close:
        link.half_close()
    return ns_refused(link, prompt)


def ns_proof_bytes(sh, **kw):
    head, ctag, _ = ns_proof(sh, **kw)
    return head + ctag


def ns_all(port, makers, **kw):
    for make in makers:
        v = ns_reject(port, make, **kw)
        if v[0] != 'ok':
            return v
    return ok('refused all')


def ns_wrong_key(port):
    return ns_all(port, [
        lambda sh: ns_proof_bytes(sh, keys=nr.Keys(SUITE, os.urandom(32))),
        lambda sh: ns_proof_bytes(sh, keys=nr.Keys(SUITE, bytes(32)))])


def ns_unknown_key_id(port):
    return ns_reject(port, lambda sh: ns_proof_bytes(
        sh, key_id=b'conformance-unknown-id'))


def ns_key_id_length(port):
    return ns_all(port, [lambda sh, n=n: bytes([2, n]) for n in (0, 33, 255)],
                  prompt=True)


def ns_unexpected_message(port):
    return ns_all(port, [lambda sh: b'\x07', lambda sh: b'\x03'], prompt=True)


def ns_truncated(port):
    return ns_reject(port, lambda sh: ns_proof_bytes(sh)[:-16],
                     half_close=True)


def ns_bitflip(port):
    return ns_all(port, [lambda sh: flip(ns_proof_bytes(sh), 2),
                         lambda sh: flip(ns_proof_bytes(sh), 2 + 7),
                         lambda sh: flip_last_bit(ns_proof_bytes(sh))])


def ns_reflected(port):
    return ns_reject(port, lambda sh: ns_proof_bytes(sh, cnonce=sh[7:39]))


def ns_role_reflection(port):
    def make(sh):
        head, ctag, t1 = ns_proof(sh)
        return head + nr.server_tag(KEYS, nr.t2(t1, ctag, None))
    return ns_reject(port, make)


def ns_replay(port):
    keep = []
    v = ns_full(port, keep=keep)
    if v[0] != 'ok':
        return failed('conn 1: %s' % v[1])
    return ns_reject(port, lambda sh: keep[0])


def ns_fresh(port):
    def one():
        link = TLink.connect(port)
        try:
            return ns_hello(link)[7:]
        finally:
            link.close()
    return fresh(one)


SERVER_CASES = {
    'recipe': [
        ('recipe.server.honest', rs_honest),
        ('recipe.server.one_byte', rs_one_byte),
        ('recipe.server.pipelined', rs_pipelined),
        ('recipe.server.wrong_key', rs_wrong_key),
        ('recipe.server.bitflip', rs_bitflip),
        ('recipe.server.truncated', rs_truncated),
        ('recipe.server.replay', rs_replay),
        ('recipe.server.fresh', rs_fresh),
    ],
    'multiprocessing': [
        ('multiprocessing.server.honest.' + d, ms_honest(d))
        for d in ('sha256', 'sha384', 'sha3_256', 'sha3_384', 'md5')] + [
        ('multiprocessing.server.one_byte',
         lambda p: ms_full(p, bytewise=True)),
        ('multiprocessing.server.pipelined',
         lambda p: ms_full(p, pipelined=True)),
        ('multiprocessing.server.wrong_key', ms_wrong_key),
        ('multiprocessing.server.bitflip.reply', ms_bitflip_reply),
        ('multiprocessing.server.bitflip.challenge', ms_bitflip_challenge),
        ('multiprocessing.server.bitflip.welcome', ms_bitflip_welcome),
        ('multiprocessing.server.truncated', ms_truncated),
        ('multiprocessing.server.oversized', ms_length(b'\x7f\xff\xff\xff')),
        ('multiprocessing.server.negative', ms_length(b'\xff\xff\xff\xfe')),
        ('multiprocessing.server.long_form',
         ms_length(b'\xff\xff\xff\xff' + struct.pack('!Q', 1 << 40))),
        ('multiprocessing.server.replay', ms_replay),
        ('multiprocessing.server.fresh', ms_fresh),
        ('multiprocessing.server.md5_reply', ms_md5_reply),
    ],
    'native': [
        ('native.server.honest', ns_full),
        ('native.server.one_byte', lambda p: ns_full(p, bytewise=True)),
        ('native.server.pipelined', lambda p: ns_full(p, pipelined=True)),
        ('native.server.wrong_key', ns_wrong_key),
        ('native.server.unknown_key_id', ns_unknown_key_id),
        ('native.server.key_id_length', ns_key_id_length),
        ('native.server.unexpected_message', ns_unexpected_message),
        ('native.server.truncated', ns_truncated),
        ('native.server.bitflip', ns_bitflip),
        ('native.server.reflected_nonce', ns_reflected),
        ('native.server.role_reflection', ns_role_reflection),
        ('native.server.replay', ns_replay),
        ('native.server.fresh', ns_fresh),
    ],
}


# --- client mode: the tester is the server of each run -----------------------


class Run:
    """One run of the client command against a listening socket of ours."""

    def __init__(self, cmd):
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind((HOST, 0))
        self.srv.listen(1)
        env = dict(os.environ)
        env.update(HMAC_HANDSHAKE_ADDR='%s:%d' % (HOST,
                                                  self.srv.getsockname()[1]),
                   HMAC_HANDSHAKE_KEY=ENV_KEY,
                   HMAC_HANDSHAKE_MESSAGE=MSG.decode())
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.srv.settimeout(T + 3)  # interpreter start-up
        sock, _ = self.srv.accept()
        self.srv.close()
        self.link = TLink(sock)

    def rc(self, wait=None):
        """The exit code, or None when it was killed at the timeout."""
        try:
            return self.proc.wait(T if wait is None else wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.link.close()
            err = self.proc.stderr.read().decode(errors='replace').strip()
            self.proc.stderr.close()
            if err:
                log('client stderr: ' + err.splitlines()[-1])


def client_case(cmd, body, runs=1):
    state = {}
    verdict = None
    for i in range(runs):
        try:
            run = Run(cmd)
        except socket.timeout:
            return failed('the client did not connect')
        try:
            verdict = body(run, i, state)
        except End as e:
            verdict = ('END', str(e))
        if verdict[0] == 'END':  # the body's reads failed: judge by exit
            rc = run.rc()
            verdict = failed('%s, exit %s' % (verdict[1], rc))
        if verdict[0] != 'ok' or i == runs - 1:
            break
    return verdict


def must_succeed(run, seen='exit 0'):
    rc = run.rc()
    return ok(seen) if rc == 0 else failed('exit %s' % rc)


def must_fail(run, forbid_any=True, prompt=False):
    """The client exits non-zero (killed: a failure of the case only when
    prompt) and sends nothing (when forbid_any)."""
    data = run.link.drain() if forbid_any else b''
    rc = run.rc(0.5 if forbid_any else None)
    if data:
        return failed('it sent %d more bytes (%s)' % (len(data),
                                                       data[:12].hex()))
    if rc is None:
        return failed('killed at the timeout') if prompt else ok('killed')
    return ok('exit %d' % rc) if rc else failed('exit 0')


# recipe

def rc_full(bytewise=False, pipelined=False):
    def body(run, i, state):
        ch = os.urandom(32)
        link = run.link
        if bytewise:
            link.send_bytewise(ch)
        elif pipelined:
            link.send(ch + MSG)
        else:
            link.send(ch)
        if link.read_exact(32) != rtag(KEY, ch):
            return failed('wrong tag')
        if link.read_exact(len(MSG)) != MSG:
            return failed('not the message')
        if not pipelined:
            link.send(MSG)
        return must_succeed(run)
    return body


def rc_short(run, i, state):
    run.link.send(os.urandom(32)[:16])
    run.link.half_close()
    return must_fail(run)


# multiprocessing

def mc_until_its_challenge(run, digest='sha256', send=None):
    link = run.link
    send = send or link.send
    ours = our_challenge(digest)
    send(frame(CH + ours))
    if not answer_ok(KEY, ours, link.read_frame(), digest):
        return None, failed('wrong answer in %s' % digest)
    send(frame(WELCOME))
    return read_challenge(link), None


def mc_full(digest='sha256', bytewise=False, pipelined=False, early=False):
    def body(run, i, state):
        link = run.link
        send = link.send_bytewise if bytewise else link.send
        theirs, bad = mc_until_its_challenge(run, digest, send)
        if bad:
            return bad
        if early:
            got = link.peek_for(0.3)
            if got:
                return failed('%d bytes before our answer' % len(got))
        reply = mp_reply(KEY, theirs)
        if pipelined:
            send(frame(reply) + frame(MSG))
        else:
            send(frame(reply))
        if link.read_frame() != WELCOME:
            return failed('not welcomed')
        if link.read_frame(1 << 16) != MSG:
            return failed('not the message')
        if not pipelined:
            send(frame(MSG))
        return must_succeed(run)
    return body


def mc_bad_answer(make):
    def body(run, i, state):
        theirs, bad = mc_until_its_challenge(run)
        if bad:
            return bad
        run.link.send(frame(make(theirs, i, state)) + frame(MSG))
        try:
            v = run.link.read_frame()
        except End:
            v = None
        if v == WELCOME:
            run.rc()
            return failed('#WELCOME# for a wrong answer')
        return must_fail(run, forbid_any=False)
    return body


def mc_wrong_answer_key(theirs, i, state):
    return mp_reply(os.urandom(32) if i == 0 else b'', theirs)


def mc_bitflip_answer(theirs, i, state):
    return flip_last_bit(mp_reply(KEY, theirs))


def mc_replayed_answer(run, i, state):
    theirs, bad = mc_until_its_challenge(run)
    if bad:
        return bad
    if i == 0:
        state['answer'] = mp_reply(KEY, theirs)
        return mc_full_rest(run, state['answer'])
    return mc_replay_second(run, state['answer'])


def mc_full_rest(run, reply):
    link = run.link
    link.send(frame(reply))
    if link.read_frame() != WELCOME:
        return failed('run 1: not welcomed')
    if link.read_frame(1 << 16) != MSG:
        return failed('run 1: not the message')
    link.send(frame(MSG))
    return must_succeed(run)


def mc_replay_second(run, reply):
    run.link.send(frame(reply) + frame(MSG))
    try:
        v = run.link.read_frame()
    except End:
        v = None
    if v == WELCOME:
        run.rc()
        return failed('#WELCOME# for run 1\'s answer')
    return must_fail(run, forbid_any=False)


def mc_bitflip_challenge(run, i, state):
    run.link.send(frame(flip(CH + our_challenge('sha256'), 5)))
    return must_fail(run)


def mc_bitflip_welcome(run, i, state):
    ours = our_challenge('sha256')
    run.link.send(frame(CH + ours))
    if not answer_ok(KEY, ours, run.link.read_frame(), 'sha256'):
        return failed('wrong answer')
    run.link.send(frame(BAD_WELCOME))
    return must_fail(run)


def mc_missing_answer(run, i, state):
    theirs, bad = mc_until_its_challenge(run)
    if bad:
        return bad
    run.link.half_close()
    return must_fail(run)


def mc_oversized_answer(run, i, state):
    theirs, bad = mc_until_its_challenge(run)
    if bad:
        return bad
    run.link.send(b'\x7f\xff\xff\xff')
    return must_fail(run, forbid_any=False, prompt=True)


# native

def nc_hello(mode=0, magic=nr.MAGIC, version=1, suite=1):
    return magic + bytes([version, suite, mode]) + os.urandom(32)


def nc_read_proof(link, sh):
    head = link.read_exact(2)
    if head[0] != 2:
        raise End('proof type %d' % head[0])
    rest = link.read_exact(head[1] + 32 + 32)
    key_id, cnonce, ctag = rest[:head[1]], rest[head[1]:-32], rest[-32:]
    t1 = nr.t1(SUITE, b'', b'', sh, nr.proof_head(key_id, cnonce, None))
    if not hmac.compare_digest(ctag, nr.client_tag(KEYS, t1)):
        raise End('bad client tag')
    return t1, ctag


def nc_full(mode=0, bytewise=False, pipelined=False):
    def body(run, i, state):
        link = run.link
        send = link.send_bytewise if bytewise else link.send
        sh = nc_hello(mode)
        send(sh)
        t1, ctag = nc_read_proof(link, sh)
        fin = b'\x03\x00' + nr.server_tag(KEYS, nr.t2(t1, ctag, None))
        if i == 0:
            state['sh'], state['fin'] = sh, fin
        send(fin + frame(MSG) if pipelined else fin)
        if link.read_frame(1 << 16) != MSG:
            return failed('not the message')
        if not pipelined:
            send(frame(MSG))
        return must_succeed(run)
    return body


def nc_bad_hello(**kw):
    def body(run, i, state):
        run.link.send(nc_hello(**kw))
        return must_fail(run)
    return body


def nc_bad_finish(make):
    def body(run, i, state):
        sh = nc_hello()
        run.link.send(sh)
        t1, ctag = nc_read_proof(run.link, sh)
        stag = nr.server_tag(KEYS, nr.t2(t1, ctag, None))
        run.link.send(make(stag) + frame(MSG))
        return must_fail(run)
    return body


def nc_missing_finish(run, i, state):
    sh = nc_hello()
    run.link.send(sh)
    nc_read_proof(run.link, sh)
    run.link.half_close()
    return must_fail(run)


def nc_replayed_finish(run, i, state):
    if i == 0:
        return nc_full()(run, i, state)
    run.link.send(state['sh'])
    run.link.read_exact(2 + 7 + 32 + 32)
    run.link.send(state['fin'] + frame(MSG))
    return must_fail(run)


CLIENT_CASES = {
    'recipe': [
        ('recipe.client.honest', rc_full(), 1),
        ('recipe.client.one_byte', rc_full(bytewise=True), 1),
        ('recipe.client.pipelined', rc_full(pipelined=True), 1),
        ('recipe.client.short_challenge', rc_short, 1),
    ],
    'multiprocessing': [
        ('multiprocessing.client.honest.' + d, mc_full(d), 1)
        for d in ('sha256', 'sha384', 'sha3_256', 'sha3_384', 'md5')] + [
        ('multiprocessing.client.one_byte', mc_full(bytewise=True), 1),
        ('multiprocessing.client.pipelined', mc_full(pipelined=True), 1),
        ('multiprocessing.client.wrong_answer',
         mc_bad_answer(mc_wrong_answer_key), 2),
        ('multiprocessing.client.bitflip.answer',
         mc_bad_answer(mc_bitflip_answer), 1),
        ('multiprocessing.client.bitflip.challenge', mc_bitflip_challenge, 1),
        ('multiprocessing.client.bitflip.welcome', mc_bitflip_welcome, 1),
        ('multiprocessing.client.missing_answer', mc_missing_answer, 1),
        ('multiprocessing.client.oversized_answer', mc_oversized_answer, 1),
        ('multiprocessing.client.replayed_answer', mc_replayed_answer, 2),
        ('multiprocessing.client.early', mc_full(early=True), 1),
    ],
    'native': [
        ('native.client.honest.hmac-sha256', nc_full(), 1),
        ('native.client.forward_secrecy_offered', nc_full(mode=1), 1),
        ('native.client.one_byte', nc_full(bytewise=True), 1),
        ('native.client.pipelined', nc_full(pipelined=True), 1),
        ('native.client.not_native', nc_bad_hello(magic=b'IMHS'), 1),
        ('native.client.version', nc_bad_hello(version=2), 1),
        ('native.client.suite', nc_bad_hello(suite=0), 1),
        ('native.client.unknown_mode', nc_bad_hello(mode=0x80), 1),
        ('native.client.rejected',
         nc_bad_finish(lambda stag: b'\x03\x01' + stag), 1),
        ('native.client.unexpected_verdict',
         nc_bad_finish(lambda stag: b'\x03\x80' + stag), 1),
        ('native.client.unexpected_message',
         nc_bad_finish(lambda stag: b'\x02\x00' + stag), 1),
        ('native.client.bitflip',
         nc_bad_finish(lambda stag: b'\x03\x00' + flip_last_bit(stag)), 1),
        ('native.client.missing_finish', nc_missing_finish, 1),
        ('native.client.replayed_finish', nc_replayed_finish, 2),
    ],
}


# --- running the model -------------------------------------------------------


def start_server(cmd):
    env = dict(os.environ, HMAC_HANDSHAKE_KEY=ENV_KEY)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    r, _, _ = select.select([proc.stdout], [], [], 10)
    line = proc.stdout.readline().decode() if r else ''
    if not line.startswith('PORT '):
        proc.kill()
        proc.wait()
        raise RuntimeError('%s printed %r' % (' '.join(cmd), line))
    return proc, int(line.split()[1])


def stop(proc):
    proc.kill()
    proc.wait()
    err = proc.stderr.read().decode(errors='replace').strip()
    for s in (proc.stdout, proc.stderr):
        s.close()
    return err


def run_server_cases(cmd, profile):
    proc, port = start_server(cmd)
    results = []
    try:
        for cid, fn in SERVER_CASES[profile]:
            try:
                v = fn(port)
            except (End, OSError) as e:
                v = failed('%s: %s' % (type(e).__name__, e))
            results.append((cid, v))
    finally:
        err = stop(proc)
        if err:
            log('server stderr: ' + err.replace('\n', ' | '))
    return results


def run_client_cases(cmd, profile):
    results = []
    for cid, body, runs in CLIENT_CASES[profile]:
        try:
            v = client_case(cmd, body, runs)
        except OSError as e:
            v = failed('%s: %s' % (type(e).__name__, e))
        results.append((cid, v))
    return results


def run_cases(cmd, profile, role):
    if role == 'server':
        return run_server_cases(cmd, profile)
    return run_client_cases(cmd, profile)


def expected(profile, role, flaw):
    """{case id: verdict} that differ from 'ok' for this flaw."""
    if flaw == 'none':
        return {}
    cid = bp.FLAWS[(profile, role)][flaw].split(':')[0].split()[0]
    if flaw == 'accept_md5':
        return {cid: 'warn'}
    if cid.endswith('.honest.D'):
        base = cid[:-1]
        return {base + d: 'FAIL' for d in ('sha384', 'sha3_256', 'sha3_384',
                                           'md5')}
    want = {cid: 'FAIL'}
    for also in bp.ALSO_FAILS.get((profile, role, flaw), ()):
        want[also] = 'FAIL'
    return want


def print_results(title, results):
    print(title)
    for cid, (verdict, seen) in results:
        print('  %-4s %s  %s' % (verdict, cid, seen))


def matrix(only):
    bad = 0
    for (profile, role) in sorted(bp.FLAWS):
        for flaw in ['none'] + sorted(bp.FLAWS[(profile, role)]):
            name = '%s %s %s' % (profile, role, flaw)
            if only and not name.startswith(only):
                continue
            cmd = [sys.executable, BROKEN, '--role', role, '--profile',
                   profile, '--flaw', flaw, '--deadline', '120']
            t0 = time.monotonic()
            results = run_cases(cmd, profile, role)
            want = expected(profile, role, flaw)
            got = {cid: v[0] for cid, v in results if v[0] != 'ok'}
            good = got == want
            bad += not good
            print('%s %-50s %5.1fs  %s' % (
                'ok  ' if good else 'BAD ', name, time.monotonic() - t0,
                ' '.join('%s=%s' % kv for kv in sorted(got.items()))
                or 'all ok'))
            if not good or VERBOSE:
                for cid, (verdict, seen) in results:
                    if verdict != 'ok' or cid in want or VERBOSE:
                        print('      %-4s %s  %s' % (verdict, cid, seen))
    return bad


# --- pairs: the peers against each other -------------------------------------


def run_client_cmd(cmd, port, message=MSG, key=ENV_KEY, timeout=25):
    env = dict(os.environ, HMAC_HANDSHAKE_ADDR='%s:%d' % (HOST, port),
               HMAC_HANDSHAKE_KEY=key, HMAC_HANDSHAKE_MESSAGE=message.decode())
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stderr.decode(errors='replace').strip()


def check(bad, what, cond, detail=''):
    print('%s %s%s' % ('ok  ' if cond else 'BAD ', what,
                       ('  (%s)' % detail) if detail and (VERBOSE or not cond)
                       else ''))
    return bad + (not cond)


def broken_cmd(role, profile, flaw='none'):
    return [sys.executable, BROKEN, '--role', role, '--profile', profile,
            '--flaw', flaw, '--deadline', '60']


def pairs():
    bad = 0
    for profile in ('recipe', 'multiprocessing', 'native'):
        proc, port = start_server(broken_cmd('server', profile))
        try:
            rc, err = run_client_cmd(broken_cmd('client', profile), port)
            bad = check(bad, 'broken_peer %s: honest client and server '
                        'complete' % profile, rc == 0, err)
            rc, err = run_client_cmd(broken_cmd('client', profile), port,
                                     key='wrong key, not ours')
            bad = check(bad, 'broken_peer %s: a wrong key fails (exit 3)'
                        % profile, rc == 3, err)
            rc, err = run_client_cmd(broken_cmd('client', profile), port,
                                     message=b'')
            bad = check(bad, 'broken_peer %s: an empty message echoes'
                        % profile, rc == 0, err)
        finally:
            stop(proc)
    # A few flaws, by hand.
    proc, port = start_server(broken_cmd('server', 'recipe',
                                         'empty_key_backdoor'))
    try:
        link = TLink.connect(port)
        link.send(rtag(b'', link.read_exact(32)) + MSG)
        v = r_echo(link)
        bad = check(bad, 'recipe empty_key_backdoor server echoes after an '
                    'empty-key tag', v[0] == 'ok', v[1])
    finally:
        stop(proc)
    proc, port = start_server(broken_cmd('server', 'multiprocessing',
                                         'empty_key_backdoor'))
    try:
        link = TLink.connect(port)
        link.send(frame(mp_reply(b'', read_challenge(link))))
        v = link.read_frame()
        bad = check(bad, 'multiprocessing empty_key_backdoor server welcomes '
                    'an empty-key reply', v == WELCOME, repr(v))
    finally:
        stop(proc)
    for profile, flaw, read_one in (
            ('recipe', 'challenge_pool4', lambda l: l.read_exact(32)),
            ('multiprocessing', 'challenge_pool4', read_challenge),
            ('native', 'nonce_pool4', lambda l: ns_hello(l)[7:])):
        proc, port = start_server(broken_cmd('server', profile, flaw))
        try:
            seen = []
            for _ in range(8):
                link = TLink.connect(port)
                seen.append(read_one(link))
                link.close()
            bad = check(bad, '%s %s server repeats after 4' % (profile, flaw),
                        seen[:4] == seen[4:] and len(set(seen)) == 4)
        finally:
            stop(proc)
    # fixed_challenge: the client sends the same challenge in two runs.
    for flaw, same in (('fixed_challenge', True), ('none', False)):
        got = []
        for _ in range(2):
            run = Run(broken_cmd('client', 'multiprocessing', flaw))
            theirs, _bad = mc_until_its_challenge(run)
            got.append(theirs)
            run.link.close()
            run.rc()
        bad = check(bad, 'multiprocessing %s client: its challenge is %s in '
                    'two runs' % (flaw, 'the same' if same else 'fresh'),
                    (got[0] == got[1]) == same)
    for flaw, same in (('fixed_nonce', True), ('none', False)):
        got = []
        for _ in range(2):
            run = Run(broken_cmd('client', 'native', flaw))
            sh = nc_hello()
            run.link.send(sh)
            got.append(run.link.read_exact(2 + 7 + 32)[-32:])
            run.link.close()
            run.rc()
        bad = check(bad, 'native %s client: its nonce is %s in two runs'
                    % (flaw, 'the same' if same else 'fresh'),
                    (got[0] == got[1]) == same)
    proc, port = start_server(broken_cmd('server', 'native',
                                         'zero_key_backdoor'))
    try:
        v = ns_reject(port, lambda sh: ns_proof_bytes(
            sh, keys=nr.Keys(SUITE, bytes(32))))
        bad = check(bad, 'native zero_key_backdoor server accepts a zero-key '
                    'proof', v[0] == 'FAIL', v[1])
    finally:
        stop(proc)
    return bad


# --- interop: conformance_peer.py --------------------------------------------


def interop():
    bad = 0
    versions = [v for v in (find_version('2.7'), find_version('3.11'),
                            find_version('3.13')) if v]
    if len(versions) < 3:
        print('note: not every CPython of 2.7, 3.11, 3.13 is installed')

    def name(py):
        return 'py' + py.split('/versions/')[1].split('/')[0]

    for profile in ('multiprocessing', 'recipe'):
        for lpy in versions:
            proc, port = start_server([lpy, HONEST, '--role', 'listener',
                                       '--profile', profile,
                                       '--deadline', '120'])
            try:
                for cpy in versions:
                    rc, err = run_client_cmd([cpy, HONEST, '--role', 'client',
                                              '--profile', profile], port)
                    bad = check(bad, 'conformance_peer %s: %s listener, %s '
                                'client' % (profile, name(lpy), name(cpy)),
                                rc == 0, err)
                rc, err = run_client_cmd([versions[-1], HONEST, '--role',
                                          'client', '--profile', profile],
                                         port, key='wrong key, not ours')
                bad = check(bad, 'conformance_peer %s: %s listener refuses a '
                            'wrong key (client exit 3)' % (profile, name(lpy)),
                            rc == 3, err)
                # Modern broken_peer against this CPython: a legacy one
                # (<= 3.11) answers our {sha256} challenge with raw MD5,
                # which the honest broken_peer refuses.
                legacy = profile == 'multiprocessing' and (
                    '/2.' in lpy or '/3.11' in lpy)
                rc, err = run_client_cmd(broken_cmd('client', profile), port)
                bad = check(bad, 'broken_peer %s client against %s listener: '
                            '%s' % (profile, name(lpy), 'refused (legacy MD5)'
                                    if legacy else 'completes'),
                            (rc == 3) if legacy else (rc == 0), err)
            finally:
                stop(proc)
        proc, port = start_server(broken_cmd('server', profile))
        try:
            for cpy in versions:
                legacy = profile == 'multiprocessing' and (
                    '/2.' in cpy or '/3.11' in cpy)
                rc, err = run_client_cmd([cpy, HONEST, '--role', 'client',
                                          '--profile', profile], port)
                bad = check(bad, 'conformance_peer %s %s client against '
                            'broken_peer server: %s' % (
                                profile, name(cpy), 'refused (legacy MD5)'
                                if legacy else 'completes'),
                            (rc == 3) if legacy else (rc == 0), err)
        finally:
            stop(proc)
    # Every other installed CPython against the newest, both ways.
    others = [python(v) for v in sorted(os.listdir(PYENV))
              if python(v) and python(v) not in versions] if versions else []
    for profile in ('multiprocessing', 'recipe'):
        for py in others:
            proc, port = start_server([py, HONEST, '--role', 'listener',
                                       '--profile', profile,
                                       '--deadline', '60'])
            try:
                rc, err = run_client_cmd([versions[-1], HONEST, '--role',
                                          'client', '--profile', profile],
                                         port)
                bad = check(bad, 'conformance_peer %s: %s listener, %s client'
                            % (profile, name(py), name(versions[-1])),
                            rc == 0, err)
            finally:
                stop(proc)
            proc, port = start_server([versions[-1], HONEST, '--role',
                                       'listener', '--profile', profile,
                                       '--deadline', '60'])
            try:
                rc, err = run_client_cmd([py, HONEST, '--role', 'client',
                                          '--profile', profile], port)
                bad = check(bad, 'conformance_peer %s: %s listener, %s client'
                            % (profile, name(versions[-1]), name(py)),
                            rc == 0, err)
            finally:
                stop(proc)
    # A silent client costs the listener at most --io-timeout.
    for lpy in versions:
        proc, port = start_server([lpy, HONEST, '--role', 'listener',
                                   '--io-timeout', '1', '--deadline', '60'])
        try:
            silent = socket.create_connection((HOST, port))
            time.sleep(0.2)
            t0 = time.monotonic()
            rc, err = run_client_cmd([versions[-1], HONEST, '--role',
                                      'client'], port)
            took = time.monotonic() - t0
            silent.close()
            bad = check(bad, 'conformance_peer %s listener: a silent client '
                        'stalls it %.1f s (io-timeout 1 s), then the next '
                        'completes' % (name(lpy), took),
                        rc == 0 and took < 4, err)
        finally:
            stop(proc)
    return bad


def cpython_report():
    for py in (find_version('2.7'), find_version('3.13')):
        if not py:
            continue
        for profile in ('multiprocessing', 'recipe'):
            results = run_server_cases([py, HONEST, '--role', 'listener',
                                        '--profile', profile, '--deadline',
                                        '120'], profile)
            print_results('conformance_peer listener %s on %s' % (profile,
                                                                  py),
                          results)
            results = run_client_cases([py, HONEST, '--role', 'client',
                                        '--profile', profile], profile)
            print_results('conformance_peer client %s on %s' % (profile, py),
                          results)


def main():
    global T, VERBOSE
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--pairs', action='store_true')
    p.add_argument('--matrix', action='store_true')
    p.add_argument('--interop', action='store_true')
    p.add_argument('--cpython', action='store_true')
    p.add_argument('--only', default='')
    p.add_argument('--timeout', type=float, default=2.0)
    p.add_argument('-v', '--verbose', action='store_true')
    args = p.parse_args()
    T, VERBOSE = args.timeout, args.verbose
    if not (args.pairs or args.matrix or args.interop or args.cpython):
        args.pairs = args.matrix = args.interop = True
    bad = 0
    if args.pairs:
        bad += pairs()
    if args.matrix:
        bad += matrix(args.only)
    if args.interop:
        bad += interop()
    if args.cpython:
        cpython_report()
    print('self-test: %s' % ('ok' if not bad else '%d BAD' % bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
