#!/usr/bin/env python3
"""Test peers for `hmac-handshake conformance`, honest but for one flaw.

    broken_peer.py --role server --profile P --flaw F [--port N] [--deadline S]
                   [--mode 00|01|02]                  (native only)
    broken_peer.py --role client --profile P --flaw F [--deadline S]
                   [--forward-secrecy off|offered|required]  (native only)
    broken_peer.py --list

P is recipe, multiprocessing or native; F is `none` (a fully honest peer) or
one of the flaws below (`--list` prints them with their case; the table in
tests/conformance_broken.rs pairs each with the case that must catch it).  Each
peer is honest in every respect but its flaw, so that `conformance server`
(or `client`) fails exactly the case the flaw is listed under.

Key: env HMAC_HANDSHAKE_KEY, its UTF-8 bytes, or `hex:HEX`.  Never printed.

server: binds 127.0.0.1 (port 0 unless --port), prints `PORT <n>` (flushed)
and serves every connection in its own thread until killed or until
--deadline (default 300 s): the handshake, then the echo (recipe: every raw
byte back until EOF; multiprocessing and native: every send_bytes frame back
as a frame until EOF).  A failed handshake sends the profile's failure
message where it has one (#FAILURE#, 03 01) and closes.

client: env HMAC_HANDSHAKE_ADDR (host:port) and HMAC_HANDSHAKE_MESSAGE
(text); one connection: the handshake, the message (recipe: raw bytes;
others: one frame), one reply (recipe: len(message) bytes; others: one
frame).  Exit 0 iff the reply is the message, 1 for another reply, 3 when
the handshake or the connection fails, 4 on a timeout, 2 for usage errors;
every failure writes one line on stderr.

Profiles, as the honest peers speak them:
  recipe           Python Cookbook 11.9 with HMAC-SHA256: 32-byte challenge,
                   32-byte raw tag (hmac.compare_digest), no verdict.
  multiprocessing  CPython 3.12+ (modern) multiprocessing.connection:
                   `#CHALLENGE#{sha256}` + 40 random bytes; answers a
                   challenge in the digest it names (md5 sha256 sha384
                   sha3_256 sha3_384; a legacy 20-byte challenge with raw
                   HMAC-MD5); handshake frames at most 256 bytes.  Unlike
                   CPython it refuses an MD5 reply (raw or `{md5}`) to its
                   own modern challenge (flaws accept_md5 and
                   accept_any16 take it; accept_any16 takes any 16 bytes).
  native           PROTOCOL.md with vectors/tools/native_rederive.py: suite
                   hmac-sha256, key id `default`, empty context and server
                   name.  The server announces --mode (default 00: no
                   forward secrecy; 01 offered: takes a 02 or a 04 proof; 02
                   required: takes a 04 proof only, and refuses a 02 type
                   byte as soon as it arrives).  After a 04 proof it sends
                   `03 00 || server_share || server_tag`, T2 holding the
                   share, and refuses an all-zero X25519 result (03 01).  The
                   client has --forward-secrecy (PROTOCOL.md "Forward
                   secrecy"; default offered: a 02 proof under mode 00, a 04
                   proof under 01 and 02; off: 02 proofs, refuses mode 02;
                   required: 04 proofs, refuses mode 00).

The client flaws challenge_pool4 and nonce_pool4 cycle through 4 fixed values
across runs (each run is a new process): run k of a flaw uses value k mod 4,
k counted in a state file, env BROKEN_PEER_STATE if set, else
broken_peer.PROFILE.FLAW.state in the temporary directory.  The *_from_server
flaws derive the client's challenge or nonce from the server's instead.

Every socket times out after 10 s (--io-timeout).  Python 3 only (3.7+).
"""

import argparse
import functools
import hashlib
import hmac
import os
import select
import socket
import struct
import sys
import tempfile
import threading
import time

try:
    import fcntl
except ImportError:  # not on Unix: the state file is not locked
    fcntl = None

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, '..', '..', 'vectors', 'tools'))
import native_rederive as nr  # noqa: E402

HOST = '127.0.0.1'

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_TIMEOUT = 4

# --- the flaws, per profile and role (the contract's right-hand column) ------

FLAWS = {
    ('recipe', 'server'): {
        'one_recv': 'recipe.server.one_byte: the tag is read with one '
                    'recv(4096) (extra bytes kept)',
        'drop_pipelined': 'recipe.server.pipelined: bytes after the tag in '
                          'the same recv are dropped (reads until it has 32)',
        'empty_key_backdoor': 'recipe.server.wrong_key: also accepts the '
                              'HMAC under the empty key',
        'prefix31': 'recipe.server.bitflip: compares only the first 31 tag '
                    'bytes',
        'short_read_prefix': 'recipe.server.truncated: reads until 32 bytes '
                             'or a 50 ms gap, accepts a prefix of the tag',
        'remember_last': 'recipe.server.replay: also accepts the last '
                         'accepted tag',
        'challenge_pool4': 'recipe.server.fresh: challenges cycle through 4 '
                           'values',
    },
    ('recipe', 'client'): {
        'no_echo_check': 'recipe.client.echo_check: exits 0 whatever the '
                         'reply to its message',
        'one_recv': 'recipe.client.one_byte: the challenge is read with one '
                    'recv; a short one is given up (nothing sent)',
        'answer_short': 'recipe.client.short_challenge: at EOF it answers '
                        'the part of the challenge it got',
    },
    ('multiprocessing', 'server'): {
        'sha256_only': 'multiprocessing.server.honest.D: answers every '
                       'challenge with {sha256}',
        'one_recv': 'multiprocessing.server.one_byte: each handshake frame '
                    'payload is read with one recv',
        'drop_after_welcome': 'multiprocessing.server.pipelined: bytes after '
                              'the #WELCOME# frame in the same recv are '
                              'dropped',
        'empty_key_backdoor': 'multiprocessing.server.wrong_key: also '
                              'accepts a reply under the empty key',
        'prefix8': 'multiprocessing.server.bitflip.reply: compares the first '
                   '8 MAC bytes',
        'no_challenge_tag_check': 'multiprocessing.server.bitflip.challenge: '
                                  'strips 11 bytes unchecked',
        'ignore_verdict': 'multiprocessing.server.bitflip.welcome: does not '
                          'check the client\'s verdict',
        'accept_prefix_at_eof': 'multiprocessing.server.truncated: at EOF '
                                'mid-frame compares the partial payload as '
                                'a prefix',
        'unbounded_length': 'multiprocessing.server.oversized: no bound on '
                            '4-byte lengths',
        'negative_as_long_form': 'multiprocessing.server.negative: any '
                                 'negative length reads an 8-byte long form',
        'unbounded_long_form': 'multiprocessing.server.long_form: bounds '
                               '4-byte lengths but not long-form ones',
        'remember_last': 'multiprocessing.server.replay: also accepts the '
                         'last accepted reply',
        'challenge_pool4': 'multiprocessing.server.fresh: challenges cycle '
                           'through 4 values',
        'accept_md5': 'multiprocessing.server.md5_reply (warn): accepts a '
                      'raw HMAC-MD5 reply to its modern challenge',
        'accept_any16': 'multiprocessing.server.wrong_key and bitflip.reply: '
                        'welcomes any 16-byte reply as a legacy raw HMAC-MD5 '
                        'one, unchecked (md5_reply warns too)',
    },
    ('multiprocessing', 'client'): {
        'no_echo_check': 'multiprocessing.client.echo_check: exits 0 whatever the '
                         'reply to its message',
        'sha256_only': 'multiprocessing.client.honest.D: answers with '
                       '{sha256} whatever the digest',
        'one_recv': 'multiprocessing.client.one_byte: each handshake frame '
                    'payload is read with one recv',
        'drop_after_answer': 'multiprocessing.client.pipelined: bytes after '
                             'the answer frame in the same recv are dropped',
        'empty_key_backdoor': 'multiprocessing.client.wrong_answer: also '
                              'accepts an answer under the empty key',
        'prefix8': 'multiprocessing.client.bitflip.answer: compares the '
                   'first 8 MAC bytes',
        'no_challenge_tag_check': 'multiprocessing.client.bitflip.challenge:'
                                  ' strips 11 bytes unchecked',
        'ignore_verdict': 'multiprocessing.client.bitflip.welcome: does not '
                          'check the server\'s verdict',
        'eof_is_ok': 'multiprocessing.client.missing_answer: on EOF reading '
                     'the answer, sends #WELCOME# and its message',
        'unbounded_length': 'multiprocessing.client.oversized_answer: no '
                            'bound on 4-byte lengths',
        'accept_any16': 'multiprocessing.client.wrong_answer: takes any '
                        '16-byte answer to its challenge, unchecked',
        'challenge_pool4': 'multiprocessing.client.fresh: its challenge '
                           'cycles through 4 values across runs (a state '
                           'file counts the runs)',
        'challenge_from_server': 'multiprocessing.client.replayed_answer: its '
                                 'challenge is derived from the server\'s '
                                 'challenge, not random',
        'send_early': 'multiprocessing.client.early: sends its message '
                      'before the answer to its challenge, when that answer '
                      'has not begun to arrive 100 ms after the challenge',
    },
    ('native', 'server'): {
        'one_recv': 'native.server.one_byte: the proof is read with one recv',
        'drop_after_proof': 'native.server.pipelined: bytes after the proof '
                            'in the same recv are dropped',
        'zero_key_backdoor': 'native.server.wrong_key: also accepts proofs '
                             'under the all-zero 32-byte key',
        'ignore_key_id': 'native.server.unknown_key_id: takes any key id as '
                         '`default`',
        'no_key_id_bound': 'native.server.key_id_length: no bound on the key '
                           'id length',
        'ignore_type': 'native.server.unexpected_message: parses any type as '
                       '02',
        'accept_prefix_at_eof': 'native.server.truncated: at EOF in the tag '
                                'compares the partial tag as a prefix',
        'prefix16': 'native.server.bitflip: compares the first 16 tag bytes',
        'accept_server_tag': 'native.server.role_reflection: also accepts the '
                             'server tag of the transcript as client tag',
        'remember_last': 'native.server.replay: also accepts the last '
                         'accepted proof',
        'nonce_pool4': 'native.server.fresh: nonces cycle through 4 values',
        'offered_refuses_plain': 'native.server.honest.without_forward_secrecy '
                                 '(needs --mode 01): a 02 proof is refused '
                                 'although the mode only offers forward '
                                 'secrecy',
        'fs_accepts_plain': 'native.server.forward_secrecy_required (needs '
                            '--mode 02): a 02 type byte is not refused at '
                            'once; the rest is read as a plain proof and '
                            'judged as mode 01 would',
        'mode00_takes_share': 'native.server.unexpected_message (mode 00): a '
                              '04 type byte is not refused at once; the '
                              'proof, share included, is read and judged as '
                              'mode 01 would',
    },
    ('native', 'client'): {
        'no_echo_check': 'native.client.echo_check: exits 0 whatever the '
                         'reply to its message',
        'refuse_offered': 'native.client.forward_secrecy_offered: refuses a '
                          'hello of mode 01 (offered)',
        'one_recv': 'native.client.one_byte: hello and finish each read with '
                    'one recv',
        'drop_after_finish': 'native.client.pipelined: bytes after the '
                             'ServerFinish in the same recv are dropped',
        'no_magic_check': 'native.client.not_native: the magic is not '
                          'checked',
        'no_version_check': 'native.client.version: the version is not '
                            'checked',
        'no_suite_check': 'native.client.suite: an unknown suite is taken as '
                          'hmac-sha256',
        'no_mode_check': 'native.client.unknown_mode: an unknown mode is '
                         'taken as 00',
        'ignore_verdict': 'native.client.rejected: reads a tag whatever the '
                          'verdict (01 included)',
        'verdict_not_one_ok': 'native.client.unexpected_verdict: only 01 is '
                              'a rejection',
        'no_type_check': 'native.client.unexpected_message: the type byte of '
                         'ServerFinish is not checked',
        'prefix16': 'native.client.bitflip: compares the first 16 server tag '
                    'bytes',
        'eof_is_ok': 'native.client.missing_finish: exits 0 when the server '
                     'closes before ServerFinish',
        'any_known_suite': 'native.client.suite: accepts every suite it '
                           'knows (not only hmac-sha256) and proves with its '
                           'hash',
        'nonce_pool4': 'native.client.fresh: its nonce cycles through 4 '
                       'values across runs (a state file counts the runs)',
        'nonce_from_server': 'native.client.replayed_finish: its nonce is '
                             'derived from the server nonce, not random',
        'accept_downgrade': 'native.client.forward_secrecy_downgrade (needs '
                            '--forward-secrecy required): takes a mode 00 '
                            'hello and sends a plain 02 proof',
    },
}


# --- shared ------------------------------------------------------------------


class Failed(Exception):
    """The handshake failed on the peer's bytes (we refuse, or it closed)."""


class Eof(Exception):
    """The peer closed before the bytes asked for; .partial has what came."""

    def __init__(self, partial):
        Exception.__init__(self, 'the peer closed after %d bytes of a message'
                           % len(partial))
        self.partial = partial


class EofMidFrame(Eof):
    """EOF inside a frame's payload (after its header)."""


def decode_key(text):
    """HMAC_HANDSHAKE_KEY: `hex:HEX`, else the text's UTF-8 bytes."""
    if text.startswith('hex:'):
        try:
            return bytes.fromhex(text[4:])
        except ValueError:
            raise ValueError('HMAC_HANDSHAKE_KEY: hex: is followed by '
                             'something that is not hex')
    return text.encode('utf-8', 'surrogateescape')


def env_bytes(name):
    """An environment variable's raw bytes (None when unset)."""
    env = getattr(os, 'environb', None)
    if env is not None:
        value = env.get(name.encode('ascii'))
        return None if value is None else value.decode('utf-8',
                                                       'surrogateescape')
    return os.environ.get(name)


def frame(payload):
    """send_bytes: a 4-byte big-endian signed length, then the payload."""
    return struct.pack('!i', len(payload)) + payload


class Link:
    """A socket with a receive buffer: bytes read beyond a message are kept
    for the next read (the flaws drop them deliberately)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''

    def send(self, data):
        self.sock.sendall(data)

    def fill(self):
        """One recv(4096) into the buffer; its size (0 at EOF)."""
        data = self.sock.recv(4096)
        self.buf += data
        return len(data)

    def take(self, n):
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self.fill():
                raise Eof(self.take(len(self.buf)))
        return self.take(n)

    def one_recv(self):
        """Flaw one_recv: one recv if nothing is buffered; what a message is
        then read from is only what is buffered (see Chunk)."""
        if not self.buf:
            self.fill()

    def watch(self):
        """For the drop_after_* flaws, before reading a message: one recv if
        nothing is buffered, and how many bytes it brought (None when bytes
        were already buffered)."""
        if self.buf:
            return None
        return self.fill()

    def unwatch(self, mark, used):
        """After reading a message of `used` bytes: if the recv of watch()
        held the whole message and more, drop the rest of it (only that
        recv's bytes are buffered then: no other recv was needed)."""
        if mark is not None and mark > used:
            self.buf = b''

    def arrives(self, seconds):
        """True if the socket has bytes (or EOF) within `seconds`."""
        r, _, _ = select.select([self.sock], [], [], seconds)
        return bool(r)

    def wait_readable(self, seconds):
        """True if bytes are buffered or arrive within `seconds`."""
        return bool(self.buf) or self.arrives(seconds)


class Chunk:
    """Reads from what is already buffered only (flaw one_recv): a message
    that is not wholly there is taken as malformed."""

    def __init__(self, link):
        self.link = link

    def read_exact(self, n):
        if len(self.link.buf) < n:
            raise Failed('the message was not whole in one recv')
        return self.link.take(n)


def echo_frames(link, limit=1 << 24):
    """Send every frame back as a frame, until EOF."""
    while True:
        try:
            head = link.read_exact(4)
        except Eof:
            return
        (n,) = struct.unpack('!i', head)
        if n == -1:
            (n,) = struct.unpack('!Q', link.read_exact(8))
        if n < 0 or n > limit:
            return
        link.send(frame(link.read_exact(n)))


def read_frame(link, limit):
    """An application frame (the clients' reply), at most `limit` bytes."""
    (n,) = struct.unpack('!i', link.read_exact(4))
    if n == -1:
        (n,) = struct.unpack('!Q', link.read_exact(8))
    if n < 0 or n > limit:
        raise Failed('reply frame length %d' % n)
    return link.read_exact(n)


class Shared:
    """What a server's connections share: a pool of 4 values for the
    *_pool4 flaws, and the last accepted message for remember_last."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.pool = {}
        self.last = None

    def fresh(self, n, pooled):
        if not pooled:
            return os.urandom(n)
        with self.lock:
            if n not in self.pool:
                self.pool[n] = [os.urandom(n) for _ in range(4)]
            i = self.count
            self.count += 1
            return self.pool[n][i % 4]

    def remember(self, value):
        with self.lock:
            self.last = value

    def is_last(self, value):
        with self.lock:
            return self.last is not None and value == self.last


def state_path(profile, flaw):
    """The state file of the client *_pool4 flaws: env BROKEN_PEER_STATE,
    else broken_peer.PROFILE.FLAW.state in the temporary directory."""
    return env_bytes('BROKEN_PEER_STATE') or os.path.join(
        tempfile.gettempdir(), 'broken_peer.%s.%s.state' % (profile, flaw))


def next_run(profile, flaw):
    """The client *_pool4 flaws (each run is a new process): how many runs
    drew from the pool before this one, counted in the state file (read,
    incremented and written back under an exclusive lock)."""
    fd = os.open(state_path(profile, flaw), os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, 'r+b') as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released at close
        try:
            k = int(f.read().strip() or b'0')
        except ValueError:
            k = 0
        f.seek(0)
        f.truncate()
        f.write(b'%d\n' % (k + 1))
        f.flush()
    return k


# --- recipe ------------------------------------------------------------------

RECIPE_LEN = 32


def recipe_tag(key, challenge):
    return hmac.new(key, challenge, hashlib.sha256).digest()


def recipe_server(link, key, flaw, shared):
    challenge = shared.fresh(RECIPE_LEN, flaw == 'challenge_pool4')
    link.send(challenge)
    if flaw == 'one_recv':
        link.fill()
        tag = link.take(RECIPE_LEN)
    elif flaw == 'drop_pipelined':
        while len(link.buf) < RECIPE_LEN and link.fill():
            pass
        tag = link.take(RECIPE_LEN)
        link.buf = b''
    elif flaw == 'short_read_prefix':
        if link.fill():
            while (len(link.buf) < RECIPE_LEN and link.arrives(0.05)
                   and link.fill()):
                pass
        tag = link.take(RECIPE_LEN)
    else:
        try:
            tag = link.read_exact(RECIPE_LEN)
        except Eof:
            raise Failed('the tag was cut short')
    expected = recipe_tag(key, challenge)
    if flaw == 'prefix31':
        ok = (len(tag) == RECIPE_LEN and
              hmac.compare_digest(expected[:31], tag[:31]))
    elif flaw == 'short_read_prefix':
        ok = 1 <= len(tag) and hmac.compare_digest(expected[:len(tag)], tag)
    else:
        ok = hmac.compare_digest(expected, tag)
    if not ok and flaw == 'empty_key_backdoor':
        ok = hmac.compare_digest(recipe_tag(b'', challenge), tag)
    if not ok and flaw == 'remember_last':
        ok = shared.is_last(tag)
    if not ok:
        raise Failed('wrong tag')
    shared.remember(tag)
    if link.buf:
        link.send(link.take(len(link.buf)))
    while link.fill():
        link.send(link.take(len(link.buf)))


def recipe_client(link, key, message, flaw):
    if flaw == 'one_recv':
        link.one_recv()
        challenge = Chunk(link).read_exact(RECIPE_LEN)
    elif flaw == 'answer_short':
        try:
            challenge = link.read_exact(RECIPE_LEN)
        except Eof as e:
            if not e.partial:
                raise
            challenge = e.partial
    else:
        challenge = link.read_exact(RECIPE_LEN)
    link.send(recipe_tag(key, challenge))
    link.send(message)
    # No verdict in the recipe: a server that closes before the echo has
    # refused us (an Eof, exit 3).
    return link.read_exact(len(message))


# --- multiprocessing ---------------------------------------------------------

CHALLENGE = b'#CHALLENGE#'
WELCOME = b'#WELCOME#'
FAILURE = b'#FAILURE#'
HANDSHAKE_MAX = 256  # CPython's recv_bytes(256)
ALLOWED = (b'md5', b'sha256', b'sha384', b'sha3_256', b'sha3_384')
LEGACY_CHALLENGE_LEN = 20
MD5_LEN = 16
# flaw send_early: how long the client waits for the answer to its challenge
# before it sends its message anyway
EARLY_AFTER = 0.1
# flaw challenge_pool4 (client): the 4 challenges its runs cycle through
CHALLENGE_POOL = [hashlib.sha512(b'broken_peer challenge_pool4 %d' % i)
                  .digest()[:40] for i in range(4)]


def read_handshake_frame(link, flaw):
    """recv_bytes(256), with the length flaws; EofMidFrame carries the part
    of the payload that came before EOF."""
    (n,) = struct.unpack('!i', link.read_exact(4))
    if n == -1 or (n < 0 and flaw == 'negative_as_long_form'):
        (n,) = struct.unpack('!Q', link.read_exact(8))
        if n > HANDSHAKE_MAX and flaw != 'unbounded_long_form':
            raise Failed('long-form frame length %d, over 256' % n)
    elif n < 0:
        raise Failed('negative frame length %d' % n)
    elif n > HANDSHAKE_MAX and flaw != 'unbounded_length':
        raise Failed('frame length %d, over 256' % n)
    if flaw == 'one_recv':
        if len(link.buf) < n:
            link.fill()
        return link.take(n)
    try:
        return link.read_exact(n)
    except Eof as e:
        raise EofMidFrame(e.partial)


def split_reply(reply):
    """A reply's digest name and MAC (CPython's _get_digest_name_and_payload
    for a reply): a raw 16-byte one is MD5; None when it names no allowed
    digest."""
    if len(reply) == MD5_LEN:
        return 'md5', reply
    if reply.startswith(b'{'):
        curly = reply.find(b'}', 1, max(len(d) for d in ALLOWED) + 2)
        if curly > 0 and reply[1:curly] in ALLOWED:
            return reply[1:curly].decode('ascii'), reply[curly + 1:]
    return None


def reply_ok(key, message, reply, flaw, prefix=False):
    """Whether `reply` answers our modern challenge `message` (the bytes
    after #CHALLENGE#).  prefix: `reply` is the start of a reply cut short
    by EOF (flaw accept_prefix_at_eof)."""
    if flaw == 'accept_any16' and not prefix and len(reply) == MD5_LEN:
        return True  # "a legacy raw HMAC-MD5 reply", never checked
    parsed = split_reply(reply)
    if parsed is None:
        return False
    name, mac = parsed
    if name == 'md5' and flaw != 'accept_md5':
        return False  # no MD5 for a modern challenge
    keys = [key, b''] if flaw == 'empty_key_backdoor' else [key]
    for k in keys:
        expected = hmac.new(k, message, name).digest()
        if prefix:
            if 1 <= len(mac) < len(expected) and hmac.compare_digest(
                    expected[:len(mac)], mac):
                return True
            continue
        if len(expected) != len(mac):
            continue
        if flaw == 'prefix8':
            if hmac.compare_digest(expected[:8], mac[:8]):
                return True
        elif hmac.compare_digest(expected, mac):
            return True
    return False


def answer(key, challenge, flaw):
    """answer_challenge's response to a #CHALLENGE# frame's payload; Failed
    for a malformed challenge."""
    if (not challenge.startswith(CHALLENGE) and
            flaw != 'no_challenge_tag_check'):
        raise Failed('not a #CHALLENGE#')
    message = challenge[len(CHALLENGE):]
    if len(message) < LEGACY_CHALLENGE_LEN:
        raise Failed('challenge too short')
    if flaw == 'sha256_only':
        return b'{sha256}' + hmac.new(key, message, 'sha256').digest()
    if len(message) == LEGACY_CHALLENGE_LEN:
        return hmac.new(key, message, 'md5').digest()  # legacy: raw MD5
    parsed = split_reply(message)
    if parsed is None or len(message) == MD5_LEN:
        raise Failed('challenge names no allowed digest')
    name = parsed[0]
    return b'{%s}%s' % (name.encode('ascii'),
                        hmac.new(key, message, name).digest())


def mp_server(link, key, flaw, shared):
    # deliver_challenge
    message = b'{sha256}' + shared.fresh(40, flaw == 'challenge_pool4')
    link.send(frame(CHALLENGE + message))
    try:
        reply = read_handshake_frame(link, flaw)
        ok = reply_ok(key, message, reply, flaw)
    except EofMidFrame as e:
        if flaw != 'accept_prefix_at_eof':
            raise
        reply = None
        ok = reply_ok(key, message, e.partial, flaw, prefix=True)
    if not ok and flaw == 'remember_last':
        ok = shared.is_last(reply)
    if not ok:
        link.send(frame(FAILURE))
        raise Failed('wrong reply')
    shared.remember(reply)
    link.send(frame(WELCOME))
    # answer_challenge
    link.send(frame(answer(key, read_handshake_frame(link, flaw), flaw)))
    mark = link.watch() if flaw == 'drop_after_welcome' else None
    verdict = read_handshake_frame(link, flaw)
    link.unwatch(mark, 4 + len(verdict))
    if verdict != WELCOME and flaw != 'ignore_verdict':
        raise Failed('our answer was not welcomed')
    echo_frames(link)


def mp_client(link, key, message, flaw):
    # answer_challenge
    theirs = read_handshake_frame(link, flaw)
    link.send(frame(answer(key, theirs, flaw)))
    if read_handshake_frame(link, flaw) != WELCOME and (
            flaw != 'ignore_verdict'):
        raise Failed('the server did not welcome our answer')
    # deliver_challenge
    if flaw == 'challenge_pool4':
        mine = CHALLENGE_POOL[next_run('multiprocessing', flaw) % 4]
    elif flaw == 'challenge_from_server':  # fresh only if theirs is
        mine = hashlib.sha512(b'derived' + theirs).digest()[:40]
    else:
        mine = os.urandom(40)
    mine = b'{sha256}' + mine
    link.send(frame(CHALLENGE + mine))
    early = flaw == 'send_early' and not link.wait_readable(EARLY_AFTER)
    if early:
        link.send(frame(message))
    mark = link.watch() if flaw == 'drop_after_answer' else None
    try:
        reply = read_handshake_frame(link, flaw)
        ok = reply_ok(key, mine, reply, flaw)
    except Eof:
        if flaw != 'eof_is_ok':
            raise
        reply, ok = b'', True
    link.unwatch(mark, 4 + len(reply))
    if not ok:
        link.send(frame(FAILURE))
        raise Failed('wrong answer to our challenge')
    link.send(frame(WELCOME))
    if not early:
        link.send(frame(message))
    return read_frame(link, max(len(message), 1 << 16))


# --- native ------------------------------------------------------------------

SUITE = nr.Suite('hmac-sha256')
KEY_ID = b'default'
CONTEXT = b''
SERVER_NAME = b''
L = SUITE.L
# flaw nonce_pool4 (client): the 4 nonces its runs cycle through
NONCE_POOL = [hashlib.sha256(b'broken_peer nonce_pool4 %d' % i).digest()
              for i in range(4)]


def proof_has_share(kind, mode, flaw):
    """Server check 2.1, on the type byte as soon as it arrives: whether a
    proof of type `kind` carries a share under `mode`; Failed for a type
    the mode refuses."""
    if kind == 0x02 and mode in (0x00, 0x01):
        if mode == 0x01 and flaw == 'offered_refuses_plain':
            raise Failed('a plain proof under mode 01')
        return False
    if kind == 0x04 and mode in (0x01, 0x02):
        return True
    if kind == 0x04 and flaw == 'mode00_takes_share':  # under mode 00
        return True  # read and judged as mode 01 would
    if kind == 0x02:  # under mode 02
        if flaw == 'fs_accepts_plain':
            return False  # read and judged as a plain proof
        raise Failed('forward_secrecy_required')
    if flaw == 'ignore_type':  # parsed as the mode's own type
        return mode == 0x02
    raise Failed('unexpected_message')


def native_server(link, key, flaw, shared, mode=0x00):
    keys = nr.Keys(SUITE, key)
    snonce = shared.fresh(nr.NONCE_LEN, flaw == 'nonce_pool4')
    sh = nr.server_hello(SUITE, mode, snonce)
    link.send(sh)
    mark = link.watch() if flaw == 'drop_after_proof' else None
    if flaw == 'one_recv':
        link.one_recv()
        rx = Chunk(link)
    else:
        rx = link
    try:
        kind = rx.read_exact(1)[0]
        share = proof_has_share(kind, mode, flaw)
        klen = rx.read_exact(1)[0]
        if not 1 <= klen <= 32 and flaw != 'no_key_id_bound':
            raise Failed('key_id_length')
        key_id = rx.read_exact(klen)
        cnonce = rx.read_exact(nr.NONCE_LEN)
        cshare = rx.read_exact(nr.SHARE_LEN) if share else None
        prefix = False
        try:
            ctag = rx.read_exact(L)
        except Eof as e:
            if flaw != 'accept_prefix_at_eof' or not e.partial:
                raise
            ctag, prefix = e.partial, True
    except (Failed, Eof):
        link.send(b'\x03\x01')
        raise
    link.unwatch(mark, 2 + klen + nr.NONCE_LEN + (nr.SHARE_LEN if share else 0)
                 + L)
    proof = bytes([kind, klen]) + key_id + cnonce + (cshare or b'') + ctag
    t1 = nr.t1(SUITE, CONTEXT, SERVER_NAME, sh,
               nr.proof_head(key_id, cnonce, cshare))
    # The tag is computed and compared whatever the key id (a stand-in key
    # for an unknown one: ours, and the proof is refused anyway).
    expected = nr.client_tag(keys, t1)
    if prefix:
        tag_ok = hmac.compare_digest(expected[:len(ctag)], ctag)
    elif flaw == 'prefix16':
        tag_ok = hmac.compare_digest(expected[:16], ctag[:16])
    else:
        tag_ok = hmac.compare_digest(expected, ctag)
    signer = keys
    if not tag_ok and flaw == 'zero_key_backdoor':
        zero = nr.Keys(SUITE, bytes(32))
        if hmac.compare_digest(nr.client_tag(zero, t1), ctag):
            tag_ok, signer = True, zero
    if not tag_ok and flaw == 'accept_server_tag':
        # The server tag of this transcript (T2 with the genuine client tag),
        # or the client proof MACed with the server key: the role confusion.
        # (After a 04 proof the genuine T2 holds a server share, and the
        # one a reflecting client took its tag from is not ours: the first
        # candidate, T2 without a share, then matches nothing.)
        for t in (nr.server_tag(keys, nr.t2(t1, expected, None)),
                  keys.s.HMAC(keys.server_key,
                              b'client proof' + keys.s.H(t1))):
            if hmac.compare_digest(t, ctag):
                tag_ok = True
    if not tag_ok and flaw == 'remember_last':
        tag_ok = shared.is_last(proof)
    known = key_id == KEY_ID or flaw == 'ignore_key_id'
    reflected = cnonce == snonce
    if not (known and not reflected and tag_ok):
        link.send(b'\x03\x01')
        raise Failed('proof refused')
    shared.remember(proof)
    if prefix:  # the tag we compared against, for the transcript
        ctag = expected
    sshare = None
    if cshare is not None:  # only now, for a client that proved itself
        ephemeral = shared.fresh(nr.SHARE_LEN, False)
        sshare = nr.x25519(ephemeral, nr.BASE_POINT)
        try:
            nr.dh_secret(ephemeral, cshare)
        except nr.Fail as e:  # zero_shared_secret
            link.send(b'\x03\x01')
            raise Failed(str(e))
    link.send(nr.finish_head(sshare) +
              nr.server_tag(signer, nr.t2(t1, ctag, sshare)))
    echo_frames(link)


def native_client(link, key, message, flaw, setting='offered'):
    if flaw == 'nonce_pool4':
        cnonce = NONCE_POOL[next_run('native', flaw) % 4]
    elif flaw == 'nonce_from_server':
        cnonce = None  # derived from the server nonce once it is in
    else:
        cnonce = os.urandom(nr.NONCE_LEN)
    if flaw == 'one_recv':
        link.one_recv()
        rx = Chunk(link)
    else:
        rx = link
    magic = rx.read_exact(4)
    if magic != nr.MAGIC and flaw != 'no_magic_check':
        raise Failed('not_native')
    version = rx.read_exact(1)[0]
    if version != nr.VERSION and flaw != 'no_version_check':
        raise Failed('version_mismatch: %d' % version)
    suite = rx.read_exact(1)[0]
    if flaw == 'any_known_suite' and suite in nr.SUITE_BY_ID:
        ours = nr.Suite(nr.SUITE_BY_ID[suite])  # allowed, whichever it is
    elif suite == SUITE.id or (flaw == 'no_suite_check' and
                               suite not in nr.SUITE_BY_ID):
        ours = SUITE
    else:
        raise Failed('suite_not_allowed: %d' % suite)
    keys = nr.Keys(ours, key)
    mode = rx.read_exact(1)[0]
    if mode not in (0x00, 0x01, 0x02):
        if flaw != 'no_mode_check':
            raise Failed('unknown_mode: %d' % mode)
        known = 0x00
    else:
        known = mode
    if mode == 0x01 and flaw == 'refuse_offered':
        raise Failed('mode 01 refused')
    try:
        share = nr.client_sends_share(setting, known)
    except nr.Fail as e:  # forward_secrecy_required
        if not (flaw == 'accept_downgrade' and known == 0x00):
            raise Failed(str(e))
        share = False  # the downgrade taken: a plain proof
    snonce = rx.read_exact(nr.NONCE_LEN)
    if cnonce is None:  # fresh only if the server's is
        cnonce = hashlib.sha256(b'derived' + snonce).digest()
    if snonce == cnonce:
        raise Failed('reflected_nonce')
    sh = magic + bytes([version, suite, mode]) + snonce
    ephemeral = os.urandom(nr.SHARE_LEN) if share else None
    cshare = nr.x25519(ephemeral, nr.BASE_POINT) if share else None
    head = nr.proof_head(KEY_ID, cnonce, cshare)
    t1 = nr.t1(ours, CONTEXT, SERVER_NAME, sh, head)
    ctag = nr.client_tag(keys, t1)
    link.send(head + ctag)
    # ServerFinish
    mark = link.watch() if flaw == 'drop_after_finish' else None
    if flaw == 'one_recv':
        link.one_recv()
    try:
        kind = rx.read_exact(1)[0]
    except Eof:
        if flaw == 'eof_is_ok':
            return message  # "the server closed: done"
        raise
    if kind != 0x03 and flaw != 'no_type_check':
        raise Failed('unexpected_message')
    verdict = rx.read_exact(1)[0]
    if verdict == 0x01 and flaw != 'ignore_verdict':
        raise Failed('peer_rejected')
    if verdict not in (0x00, 0x01) and flaw != 'verdict_not_one_ok':
        raise Failed('unexpected_verdict: %d' % verdict)
    sshare = rx.read_exact(nr.SHARE_LEN) if share else None
    stag = rx.read_exact(ours.L)
    link.unwatch(mark, 2 + (nr.SHARE_LEN if share else 0) + ours.L)
    expected = nr.server_tag(keys, nr.t2(t1, ctag, sshare))
    if flaw == 'prefix16':
        ok = hmac.compare_digest(expected[:16], stag[:16])
    else:
        ok = hmac.compare_digest(expected, stag)
    if not ok:
        raise Failed('bad_tag')
    if share:  # the share is authenticated now; only then X25519
        try:
            nr.dh_secret(ephemeral, sshare)
        except nr.Fail as e:  # zero_shared_secret
            raise Failed(str(e))
    link.send(frame(message))
    return read_frame(link, max(len(message), 1 << 16))


# --- running -----------------------------------------------------------------

SERVERS = {'recipe': recipe_server, 'multiprocessing': mp_server,
           'native': native_server}
CLIENTS = {'recipe': recipe_client, 'multiprocessing': mp_client,
           'native': native_client}


def watchdog(seconds, rc, why):
    def run():
        time.sleep(seconds)
        try:
            sys.stderr.write('broken_peer: %s\n' % why)
            sys.stderr.flush()
        finally:
            os._exit(rc)
    t = threading.Thread(target=run, name='deadline', daemon=True)
    t.start()


def serve_one(sock, handler, key, flaw, shared, io_timeout):
    sock.settimeout(io_timeout)
    try:
        handler(Link(sock), key, flaw, shared)
    except (Failed, Eof, OSError):
        pass  # the handshake failed, the peer went away, or a timeout
    except Exception as e:  # a bug here: say so, keep serving
        sys.stderr.write('broken_peer: connection failed: %r\n' % (e,))
    finally:
        sock.close()


def run_server(args, key):
    handler = SERVERS[args.profile]
    if args.profile == 'native':
        handler = functools.partial(handler, mode=int(args.mode, 16))
    shared = Shared()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if args.port:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, args.port))
    srv.listen(64)
    sys.stdout.write('PORT %d\n' % srv.getsockname()[1])
    sys.stdout.flush()
    watchdog(args.deadline, EXIT_OK, 'deadline reached, exiting')
    srv.settimeout(1.0)
    while True:
        try:
            sock, _ = srv.accept()
        except socket.timeout:
            continue
        except OSError as e:
            sys.stderr.write('broken_peer: accept: %s\n' % e)
            time.sleep(0.05)
            continue
        threading.Thread(target=serve_one, daemon=True,
                         args=(sock, handler, key, args.flaw, shared,
                               args.io_timeout)).start()


def run_client(args, key):
    addr = env_bytes('HMAC_HANDSHAKE_ADDR')
    message = env_bytes('HMAC_HANDSHAKE_MESSAGE')
    if not addr or message is None:
        sys.stderr.write('broken_peer: HMAC_HANDSHAKE_ADDR and '
                         'HMAC_HANDSHAKE_MESSAGE must be set\n')
        return EXIT_USAGE
    host, _, port = addr.rpartition(':')
    message = message.encode('utf-8', 'surrogateescape')
    watchdog(args.deadline, EXIT_TIMEOUT, 'deadline reached')
    try:
        sock = socket.create_connection((host.strip('[]'), int(port)),
                                        timeout=args.io_timeout)
    except (OSError, ValueError) as e:
        sys.stderr.write('broken_peer: connect %s: %s\n' % (addr, e))
        return EXIT_FAILED
    try:
        sock.settimeout(args.io_timeout)
        handler = CLIENTS[args.profile]
        if args.profile == 'native':
            handler = functools.partial(handler, setting=args.forward_secrecy)
        reply = handler(Link(sock), key, message, args.flaw)
    except socket.timeout:
        sys.stderr.write('broken_peer: timed out\n')
        return EXIT_TIMEOUT
    except (Failed, Eof, OSError) as e:
        sys.stderr.write('broken_peer: handshake or connection failed: %s\n'
                         % (e,))
        return EXIT_FAILED
    finally:
        sock.close()
    if reply != message and args.flaw != 'no_echo_check':
        sys.stderr.write('broken_peer: the reply (%d bytes) is not the '
                         'message (%d bytes)\n' % (len(reply), len(message)))
        return EXIT_MISMATCH
    return EXIT_OK


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='hmac-handshake conformance test peers, honest but for '
                    'one flaw (--flaw none: fully honest)')
    p.add_argument('--list', action='store_true',
                   help='print every profile, role and flaw, and exit')
    p.add_argument('--role', choices=('server', 'client'))
    p.add_argument('--profile', choices=('recipe', 'multiprocessing',
                                         'native'))
    p.add_argument('--flaw', default=None,
                   help='none, or a flaw of the profile and role (--list)')
    p.add_argument('--mode', choices=('00', '01', '02'), default=None,
                   help='native server: the forward-secrecy mode it announces '
                        '(00 off, the default; 01 offered: takes 02 and 04 '
                        'proofs; 02 required: takes 04 proofs only)')
    p.add_argument('--forward-secrecy', choices=('off', 'offered', 'required'),
                   default=None,
                   help='native client: its forward-secrecy setting (default '
                        'offered: a 02 proof under mode 00, a 04 proof under '
                        '01 and 02; off: 02 proofs, refuses mode 02; '
                        'required: 04 proofs, refuses mode 00)')
    p.add_argument('--port', type=int, default=0,
                   help='server: port to bind on 127.0.0.1 (default 0)')
    p.add_argument('--deadline', type=float, default=None,
                   help='exit after S seconds (server: default 300; client: '
                        'default 60)')
    p.add_argument('--io-timeout', type=float, default=10.0,
                   help='socket timeout in seconds (default 10)')
    args = p.parse_args(argv)
    if args.list:
        return args
    if not args.role or not args.profile or not args.flaw:
        p.error('--role, --profile and --flaw are required')
    if args.flaw != 'none' and args.flaw not in FLAWS[(args.profile,
                                                       args.role)]:
        p.error('no flaw %r for --profile %s --role %s (there are: none %s)'
                % (args.flaw, args.profile, args.role,
                   ' '.join(sorted(FLAWS[(args.profile, args.role)]))))
    native = args.profile == 'native'
    if args.mode is not None and not (native and args.role == 'server'):
        p.error('--mode is for --role server --profile native only')
    if args.forward_secrecy is not None and not (native and
                                                 args.role == 'client'):
        p.error('--forward-secrecy is for --role client --profile native '
                'only')
    if args.mode is None:
        args.mode = '00'
    if args.forward_secrecy is None:
        args.forward_secrecy = 'offered'
    if args.flaw == 'offered_refuses_plain' and args.mode != '01':
        p.error('flaw offered_refuses_plain needs --mode 01')
    if args.flaw == 'fs_accepts_plain' and args.mode != '02':
        p.error('flaw fs_accepts_plain needs --mode 02 (it changes only how '
                'a mode 02 server takes a 02 proof)')
    if args.flaw == 'mode00_takes_share' and args.mode != '00':
        p.error('flaw mode00_takes_share needs --mode 00 (it changes only '
                'how a mode 00 server takes a 04 proof)')
    if args.flaw == 'accept_downgrade' and args.forward_secrecy != 'required':
        p.error('flaw accept_downgrade needs --forward-secrecy required (it '
                'changes only how such a client takes a mode 00 hello)')
    if args.deadline is None:
        args.deadline = 300.0 if args.role == 'server' else 60.0
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        for (profile, role), flaws in sorted(FLAWS.items()):
            for name, what in sorted(flaws.items()):
                sys.stdout.write('%s %s %s  %s\n' % (profile, role, name,
                                                     what))
        return EXIT_OK
    text = env_bytes('HMAC_HANDSHAKE_KEY')
    if text is None:
        sys.stderr.write('broken_peer: HMAC_HANDSHAKE_KEY is not set\n')
        return EXIT_USAGE
    try:
        key = decode_key(text)
    except ValueError as e:
        sys.stderr.write('broken_peer: %s\n' % e)
        return EXIT_USAGE
    if args.role == 'server':
        return run_server(args, key)
    return run_client(args, key)


if __name__ == '__main__':
    sys.exit(main())
