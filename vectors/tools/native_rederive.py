#!/usr/bin/env python3
"""Independent re-derivation of vectors/handshake/native.json from PROTOCOL.md alone.

Written from PROTOCOL.md (native protocol v1) without looking at the Rust code, so that
agreement between the two is evidence that the specification says what the code does.
Standard library only (X25519 included: RFC 7748 section 5 in plain integers), Python 3.7
or later. Usage:

    python3 vectors/tools/native_rederive.py [--vectors PATH] [--self-test]

Every test is replayed as the file's header describes: for each role R in "check", R's
endpoint (PROTOCOL.md "Processing", built from the test's inputs: suite, keyring or key,
key id, context, serverName, "random" = R's nonce, and for a side with the forward-secrecy
mode its "forwardSecrecy" setting and "ephemeral" X25519 secret) is fed the peer's recorded
messages, each followed by its "trailing" application bytes. It must send exactly R's
recorded messages (ServerHello with its mode byte, ClientProof of type 02 or 04 with
client_tag, ServerFinish with server_share and server_tag, or 03 01), end with R's recorded
result, and on success have consumed no application byte. For "valid" tests both roles
must succeed, and each side's handshake hash, c2s/s2c keys, every exporter output and
whether the keys have forward secrecy must equal "session". For "invalid" tests the
recorded verdict must be what this code computes (e.g. its own check of a tampered tag
fails, or its own X25519 of a low-order share is all zeros). The error codes are
PROTOCOL.md's ("Error names"); where each is raised is marked in run_server and run_client.
--self-test checks the code without vectors: X25519 against RFC 7748 sections 5.2 and 6.1,
HKDF against RFC 5869, and both endpoints against each other.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys

# --- Suites --------------------------------------------------------------------------

SUITES = {  # name -> (id, H)
    "hmac-sha256": (0x01, hashlib.sha256),
    "hmac-sha384": (0x02, hashlib.sha384),
    "hmac-sha512": (0x03, hashlib.sha512),
    "hmac-sha3_256": (0x04, hashlib.sha3_256),
}
SUITE_BY_ID = {sid: name for name, (sid, _) in SUITES.items()}

# --- Constants -----------------------------------------------------------------------

MAGIC = b"HMHS"
VERSION = 0x01
NONCE_LEN = 32
SHARE_LEN = 32  # an X25519 public key
LABEL = b"hmac-handshake v1"
# The mode byte of ServerHello: a server's forward-secrecy setting (PROTOCOL.md "Constants",
# "Forward secrecy").
MODES = {"off": 0x00, "offered": 0x01, "required": 0x02}

# --- X25519, RFC 7748 section 5, in plain integers -----------------------------------

P25519 = 2 ** 255 - 19
A24 = 121665  # (486662 - 2) / 4


def decode_little_endian(b):
    return sum(b[i] << (8 * i) for i in range(len(b)))


def decode_u_coordinate(u):
    # The most significant bit of the final byte is masked (ignored); values of p and over
    # (non-canonical) are accepted and reduced by the arithmetic.
    u = bytearray(u)
    u[31] &= 0x7F
    return decode_little_endian(u)


def encode_u_coordinate(u):
    u %= P25519
    return bytes((u >> (8 * i)) & 0xFF for i in range(32))


def decode_scalar25519(k):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return decode_little_endian(k)


def cswap(swap, x2, x3):
    # Constant time does not matter here: the inputs are public test vectors.
    dummy = (0 - swap) & (x2 ^ x3)
    return x2 ^ dummy, x3 ^ dummy


def x25519(k, u):
    """X25519(k, u): the Montgomery ladder of RFC 7748 section 5; 32-byte strings."""
    assert len(k) == 32 and len(u) == 32
    k, x1 = decode_scalar25519(k), decode_u_coordinate(u)
    p = P25519
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in range(254, -1, -1):
        k_t = (k >> t) & 1
        swap ^= k_t
        x2, x3 = cswap(swap, x2, x3)
        z2, z3 = cswap(swap, z2, z3)
        swap = k_t
        a = (x2 + z2) % p
        aa = a * a % p
        b = (x2 - z2) % p
        bb = b * b % p
        e = (aa - bb) % p
        c = (x3 + z3) % p
        d = (x3 - z3) % p
        da = d * a % p
        cb = c * b % p
        x3 = (da + cb) * (da + cb) % p
        z3 = x1 * (da - cb) * (da - cb) % p
        x2 = aa * bb % p
        z2 = e * (aa + A24 * e) % p
    x2, x3 = cswap(swap, x2, x3)
    z2, z3 = cswap(swap, z2, z3)
    return encode_u_coordinate(x2 * pow(z2, p - 2, p))


BASE_POINT = bytes([9]) + bytes(31)

# --- Notation ------------------------------------------------------------------------


def lp8(x):
    assert len(x) <= 255
    return bytes([len(x)]) + x


class Suite:
    def __init__(self, name):
        self.name = name
        self.id, self.hash = SUITES[name]
        self.L = self.hash().digest_size

    def H(self, m):
        return self.hash(m).digest()

    def HMAC(self, k, m):
        return hmac.new(k, m, self.hash).digest()

    def extract(self, salt, ikm):  # RFC 5869 section 2.2
        return self.HMAC(salt, ikm)

    def expand(self, prk, info, n):  # RFC 5869 section 2.3
        assert n <= 255 * self.L
        out, t, i = b"", b"", 1
        while len(out) < n:
            t = self.HMAC(prk, t + info + bytes([i]))
            out, i = out + t, i + 1
        return out[:n]

    def hkdf_label(self, label, context, n):  # PROTOCOL.md "Key schedule"
        return n.to_bytes(2, "big") + LABEL + bytes([self.id]) + lp8(label) + lp8(context)

    def expand_label(self, secret, label, context, n):  # Expand(secret, label, context, n)
        return self.expand(secret, self.hkdf_label(label, context, n), n)


# --- Key schedule (per PSK and suite) --------------------------------------------------


class Keys:
    def __init__(self, suite, psk):
        self.s = suite
        self.prk = suite.extract(LABEL, psk)
        self.client_key = suite.expand_label(self.prk, b"client key", b"", suite.L)
        self.server_key = suite.expand_label(self.prk, b"server key", b"", suite.L)


# --- Messages, transcript and tags -----------------------------------------------------


def server_hello(suite, mode, server_nonce):
    return MAGIC + bytes([VERSION, suite.id, mode]) + server_nonce  # 39 bytes


def proof_head(key_id, client_nonce, client_share):
    """ClientProof without client_tag: type 04 with a share, else type 02."""
    kind = b"\x02" if client_share is None else b"\x04"
    return kind + lp8(key_id) + client_nonce + (client_share or b"")


def t1(suite, context, server_name, sh, head):
    assert len(server_name) <= 255  # PROTOCOL.md "Server names"
    return LABEL + suite.H(context) + suite.H(server_name) + sh + head


def client_tag(keys, t1_):
    return keys.s.HMAC(keys.client_key, b"client proof" + keys.s.H(t1_))


def finish_head(server_share):
    """ServerFinish (accept) without server_tag: 03 00, then the share after a 04 proof."""
    return b"\x03\x00" + (server_share or b"")


def t2(t1_, ctag, server_share):
    return t1_ + ctag + finish_head(server_share)


def server_tag(keys, t2_):
    return keys.s.HMAC(keys.server_key, b"server finish" + keys.s.H(t2_))


def handshake_hash(suite, t2_, stag):
    return suite.H(t2_ + stag)


# --- Forward secrecy -------------------------------------------------------------------


class Fail(Exception):
    """A handshake failure, carrying the local error code."""


def client_sends_share(setting, mode):
    """The table of PROTOCOL.md "Forward secrecy": whether a client with `setting` sends a
    share to a server announcing `mode` (a known mode byte), or the error."""
    if (setting, mode) in (("required", 0x00), ("off", 0x02)):
        raise Fail("forward_secrecy_required")
    return setting != "off" and mode != 0x00


def dh_secret(ephemeral, peer_share):
    dh = x25519(ephemeral, peer_share)
    if dh == bytes(32):  # a low-order share (RFC 7748 section 6.1)
        raise Fail("zero_shared_secret")
    return dh


def session_prk(keys, dh):
    """PRK_fs = HKDF-Extract(salt = Expand(PRK, "derived", "", L), ikm = dh_secret)."""
    s = keys.s
    derived = s.expand_label(keys.prk, b"derived", b"", s.L)
    return s.extract(derived, dh)


# --- Session secrets -------------------------------------------------------------------


class Session:
    def __init__(self, keys, key_id, hh, dh=None):
        s, self.keys, self.key_id, self.hh = keys.s, keys, key_id, hh
        self.forward_secrecy = dh is not None
        prk = session_prk(keys, dh) if dh is not None else keys.prk
        self.c2s = s.expand_label(prk, b"c2s", hh, s.L)
        self.s2c = s.expand_label(prk, b"s2c", hh, s.L)
        self.exporter_secret = s.expand_label(prk, b"exporter", hh, s.L)

    def export(self, label, context, n):
        s = self.keys.s
        return s.expand_label(self.exporter_secret, label, s.H(context), n)


# --- Processing: the two endpoints as PROTOCOL.md describes them ------------------------


class Stream:
    """The bytes one side receives, read strictly in order; bytes never read stay unread."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, n):
        if self.pos + n > len(self.data):
            raise Fail("incomplete")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def run_server(cfg, incoming):
    """Server steps 1-3 on the received bytes.

    Returns (messages sent, "ok" or error code, Session or None, bytes consumed)."""
    keyring = cfg["keyring"]  # list of (key_id, psk)
    ids = [key_id for key_id, _ in keyring]
    if not keyring or len(set(ids)) != len(ids):
        # PROTOCOL.md "Keyring": an empty ring or one naming a key id twice is refused
        # when it is built (empty_keyring, duplicate_key_id); no handshake runs on it.
        raise ValueError("empty_keyring" if not keyring else "duplicate_key_id")
    suite = Suite(cfg["suite"])
    mode = MODES[cfg["forwardSecrecy"]]
    sh = server_hello(suite, mode, cfg["random"])  # step 1
    rx = Stream(incoming)
    try:  # step 2: every length is checked before use
        kind = rx.read(1)[0]  # 2.1, as soon as it arrives
        if kind == 0x02 and mode == 0x02:
            raise Fail("forward_secrecy_required")
        if not ((kind == 0x02 and mode in (0x00, 0x01)) or (kind == 0x04 and mode in (0x01, 0x02))):
            raise Fail("unexpected_message")
        klen = rx.read(1)[0]
        if not 1 <= klen <= 32:  # 2.2, as soon as it arrives
            raise Fail("key_id_length")
        key_id, cnonce = rx.read(klen), rx.read(NONCE_LEN)
        cshare = rx.read(SHARE_LEN) if kind == 0x04 else None
        ctag = rx.read(suite.L)
    except Fail as e:
        if str(e) == "incomplete":  # still waiting for the rest of ClientProof
            return [sh], "incomplete", None, rx.pos
        return [sh, b"\x03\x01"], str(e), None, rx.pos  # step 3, reject
    psk = dict(keyring).get(key_id)
    # Unknown key id: compute and compare with a stand-in key anyway (PROTOCOL.md, server
    # step 2; any key of the suite does, here the first one's); the proof is rejected
    # whatever that comparison gives.
    dummy = keyring[0][1]
    keys = Keys(suite, psk if psk is not None else dummy)
    t1_ = t1(suite, cfg["context"], cfg["serverName"], sh, proof_head(key_id, cnonce, cshare))
    tag_ok = hmac.compare_digest(client_tag(keys, t1_), ctag)
    error = None
    # PROTOCOL.md server step 2, checks 3 to 5 in order.
    if psk is None:
        error = "unknown_key_id"
    elif cnonce == cfg["random"]:
        error = "reflected_nonce"
    elif not tag_ok:
        error = "bad_tag"
    if error:
        return [sh, b"\x03\x01"], error, None, rx.pos  # step 3, reject
    # Only for a client that proved itself: X25519 for a 04 proof, then server_tag.
    sshare = dh = None
    if cshare is not None:
        sshare = x25519(cfg["ephemeral"], BASE_POINT)
        try:
            dh = dh_secret(cfg["ephemeral"], cshare)
        except Fail as e:
            return [sh, b"\x03\x01"], str(e), None, rx.pos  # zero_shared_secret
    t2_ = t2(t1_, ctag, sshare)
    stag = server_tag(keys, t2_)
    sess = Session(keys, key_id, handshake_hash(suite, t2_, stag), dh)
    return [sh, finish_head(sshare) + stag], "ok", sess, rx.pos


def run_client(cfg, incoming):
    """Client steps 1-3 on the received bytes.

    Returns (messages sent, "ok" or error code, Session or None, bytes consumed)."""
    rx, sent = Stream(incoming), []
    try:
        if not 1 <= len(cfg["keyId"]) <= 32:  # Constants: a key id is 1 to 32 bytes
            raise Fail("invalid_key_id")
        # Step 1: each byte checked as it arrives, in order.
        for want in MAGIC:
            if rx.read(1)[0] != want:
                raise Fail("not_native")
        if rx.read(1)[0] != VERSION:
            raise Fail("version_mismatch")
        name = SUITE_BY_ID.get(rx.read(1)[0])
        if name is None or name not in cfg["allowed"]:
            raise Fail("suite_not_allowed")
        mode = rx.read(1)[0]
        if mode not in MODES.values():
            raise Fail("unknown_mode")
        share = client_sends_share(cfg["forwardSecrecy"], mode)  # forward_secrecy_required
        snonce = rx.read(NONCE_LEN)
        if snonce == cfg["random"]:
            raise Fail("reflected_nonce")
        sh = incoming[:rx.pos]
        suite = Suite(name)
        keys = Keys(suite, cfg["key"])
        cshare = x25519(cfg["ephemeral"], BASE_POINT) if share else None
        head = proof_head(cfg["keyId"], cfg["random"], cshare)
        t1_ = t1(suite, cfg["context"], cfg["serverName"], sh, head)
        ctag = client_tag(keys, t1_)
        sent = [head + ctag]  # step 2
        if rx.read(1) != b"\x03":  # step 3
            raise Fail("unexpected_message")
        verdict = rx.read(1)
        if verdict == b"\x01":
            raise Fail("peer_rejected")
        if verdict != b"\x00":
            raise Fail("unexpected_verdict")
        sshare = rx.read(SHARE_LEN) if share else None
        stag = rx.read(suite.L)
        t2_ = t2(t1_, ctag, sshare)
        if not hmac.compare_digest(server_tag(keys, t2_), stag):
            raise Fail("bad_tag")
        # The share is authenticated now; only then X25519.
        dh = dh_secret(cfg["ephemeral"], sshare) if share else None  # zero_shared_secret
    except Fail as e:
        return sent, str(e), None, rx.pos
    sess = Session(keys, cfg["keyId"], handshake_hash(suite, t2_, stag), dh)
    return sent, "ok", sess, rx.pos


# --- Checking native.json ---------------------------------------------------------------


def unhex(x):
    return bytes.fromhex(x)


def configs(test):
    s, c = test["server"], test["client"]
    server = {
        "suite": s["suite"],
        "context": unhex(s["context"]),
        "serverName": unhex(s.get("serverName", "")),
        "random": unhex(s["random"]),
        "keyring": [(unhex(k["keyId"]), unhex(k["key"])) for k in s["keyring"]],
    }
    client = {
        "keyId": unhex(c["keyId"]),
        "key": unhex(c["key"]),
        "allowed": c.get("allowed", list(SUITES)),
        "context": unhex(c["context"]),
        "serverName": unhex(c.get("serverName", "")),
        "random": unhex(c["random"]),
    }
    for cfg, side in ((server, s), (client, c)):
        # A side without the mode has neither field; its ephemeral secret is never used.
        cfg["forwardSecrecy"] = side.get("forwardSecrecy", "off")
        if cfg["forwardSecrecy"] not in MODES:
            raise ValueError("forwardSecrecy %r" % cfg["forwardSecrecy"])
        cfg["ephemeral"] = unhex(side.get("ephemeral", "00" * 32))
        if len(cfg["ephemeral"]) != 32:
            raise ValueError("ephemeral of %d bytes" % len(cfg["ephemeral"]))
    return server, client


def replay(test, role, cfg):
    """Feed `role` every recorded message of its peer (plus trailing application bytes);
    it must send exactly the recorded messages of `role` and end with the recorded result."""
    errs = []
    peer = [m for m in test["messages"] if m["from"] != role]
    incoming = b"".join(unhex(m["data"]) + unhex(m.get("trailing", "")) for m in peer)
    run = run_server if role == "server" else run_client
    sent, res, sess, used = run(cfg, incoming)
    mine = [m.hex() for m in sent]
    theirs = [m["data"] for m in test["messages"] if m["from"] == role]
    for i in range(max(len(mine), len(theirs))):
        a = mine[i] if i < len(mine) else None
        b = theirs[i] if i < len(theirs) else None
        if a != b:
            errs.append("%s message %d: mine %s != file %s" % (role, i, a, b))
    if res != test.get(role + "Result"):
        errs.append("%sResult: mine %s != file %s" % (role, res, test.get(role + "Result")))
    if res == "ok" and used != sum(len(m["data"]) // 2 for m in peer):
        errs.append("%s consumed %d bytes, more or less than the peer's messages" % (role, used))
    return errs, sess


def check_session(test, role, sess):
    exp, errs = test["session"], []
    pairs = [("keyId", sess.key_id.hex(), exp["keyId"]),
             ("suite", sess.keys.s.name, exp["suite"]),
             ("forwardSecrecy", sess.forward_secrecy, exp["forwardSecrecy"]),
             ("handshakeHash", sess.hh.hex(), exp["handshakeHash"]),
             ("c2sKey", sess.c2s.hex(), exp["c2sKey"]),
             ("s2cKey", sess.s2c.hex(), exp["s2cKey"])]
    for j, ex in enumerate(exp["exports"]):
        out = sess.export(unhex(ex["label"]), unhex(ex["context"]), ex["length"])
        pairs.append(("exports[%d].output" % j, out.hex(), ex["output"]))
    for name, mine, theirs in pairs:
        if mine != theirs:
            errs.append("%s session.%s: mine %s != file %s" % (role, name, mine, theirs))
    return errs


def check_test(test):
    scfg, ccfg = configs(test)
    errs, results = [], {}
    roles = test.get("check", ["server", "client"])
    for role in roles:
        e, sess = replay(test, role, scfg if role == "server" else ccfg)
        errs += e
        results[role] = sess
    if test["result"] == "valid":
        if set(roles) != {"server", "client"}:
            errs.append("a valid test must check both roles")
        for role, sess in results.items():
            if sess is None:
                errs.append("%s derived no session" % role)
            else:
                errs += check_session(test, role, sess)
    elif all(test.get(r + "Result") == "ok" for r in roles):
        errs.append("invalid test, yet every checked role's result is ok")
    return errs


def check_file(path):
    with open(path) as f:
        doc = json.load(f)
    passed = failed = valid_checked = 0
    for group in doc["testGroups"]:
        for test in group["tests"]:
            try:
                errs = check_test(test)
            except Exception as e:  # a malformed test is a failure, not a crash
                errs = ["exception %s: %s" % (type(e).__name__, e)]
            if errs:
                failed += 1
                print("tcId %s FAILED (%s): %s" % (test.get("tcId"), test.get("comment", ""),
                                                   "; ".join(errs)))
            else:
                passed += 1
                valid_checked += test["result"] == "valid"
    return passed, failed, valid_checked


# --- Self-test (no vectors needed): both endpoints must agree ---------------------------


def x25519_self_test():
    """RFC 7748 section 5.2 (both single vectors, the iterated results after 1 and 1000
    rounds) and section 6.1 (Alice and Bob), and the low-order points of section 6.1."""
    bad = 0

    def check(what, got, want):
        if got != unhex(want):
            print("self-test X25519 %s: %s, expected %s" % (what, got.hex(), want))
            return 1
        return 0

    for k, u, out in (
            ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
             "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
             "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
            ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
             "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
             "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")):
        bad += check("5.2 %s.." % k[:8], x25519(unhex(k), unhex(u)), out)
    # Iterated: k = u = 9; then k, u = X25519(k, u), k.
    k = u = BASE_POINT
    for i in range(1, 1001):
        k, u = x25519(k, u), k
        if i == 1:
            bad += check("5.2 after 1 iteration", k,
                         "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
    bad += check("5.2 after 1000 iterations", k,
                 "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
    a = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    b = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    a_pub, b_pub = x25519(a, BASE_POINT), x25519(b, BASE_POINT)
    bad += check("6.1 Alice's public key", a_pub,
                 "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    bad += check("6.1 Bob's public key", b_pub,
                 "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    bad += check("6.1 K = X25519(a, X25519(b, 9))", x25519(a, b_pub), shared)
    bad += check("6.1 K = X25519(b, X25519(a, 9))", x25519(b, a_pub), shared)
    # Low-order u (0, 1, the order-8 points, p - 1, p, p + 1, each also with bit 255 set):
    # X25519 of any secret is all zeros, which dh_secret refuses.
    x8a = 325606250916557431795983626356110631294008115727848805560023387167927233504
    x8b = 39382357235489614581723060781553021112529911719440698176882885853963445705823
    for v in (0, 1, x8a, x8b, P25519 - 1, P25519, P25519 + 1):
        for top in (0, 2 ** 255):
            point = (v + top).to_bytes(32, "little")
            for secret in (a, b, bytes(32)):
                try:
                    dh_secret(secret, point)
                    bad += 1
                    print("self-test: X25519 of low-order %s is not all zeros" % point.hex())
                except Fail as e:
                    if str(e) != "zero_shared_secret":
                        bad += 1
                        print("self-test: low-order %s gave %s" % (point.hex(), e))
    return bad


def self_test():
    bad = x25519_self_test()
    ring = [(b"k1", bytes(range(32))), (b"k2", bytes(range(16, 48)))]
    sn, cn = bytes([0x11]) * 32, bytes([0x22]) * 32
    se, ce = bytes([0x33]) * 32, bytes([0x44]) * 32
    plain = ("off", "off", False, None)
    # (server setting, client setting, forward secrecy, the client's error or None)
    matrix = (("off", "offered", False, None), ("off", "required", False, "forward_secrecy_required"),
              ("offered", "off", False, None), ("offered", "offered", True, None),
              ("offered", "required", True, None), ("required", "off", False, "forward_secrecy_required"),
              ("required", "offered", True, None), ("required", "required", True, None))
    for name in SUITES:
        runs = [(plain,) + r for r in ((b"k2", ring[1][1], b"ctx", (b"", b""), "ok"),
                                       (b"k2", ring[1][1], b"ctx", (b"A", b"A"), "ok"),
                                       (b"k1", ring[1][1], b"ctx", (b"", b""), "bad_tag"),
                                       (b"zz", ring[0][1], b"ctx", (b"", b""), "unknown_key_id"),
                                       (b"k1", ring[0][1], b"other", (b"", b""), "bad_tag"),
                                       (b"k1", ring[0][1], b"ctx", (b"A", b"B"), "bad_tag"),
                                       (b"k1", ring[0][1], b"ctx", (b"A", b""), "bad_tag"))]
        runs += [(fs, b"k1", ring[0][1], b"ctx", (b"", b""), "ok") for fs in matrix]
        runs += [(fs, b"k1", ring[1][1], b"ctx", (b"", b""), "bad_tag") for fs in matrix[3:5]]
        for (sfs, cfs, fs, c_err), kid, key, ctx, names, want in runs:
            scfg = {"suite": name, "context": b"ctx", "serverName": names[0], "random": sn,
                    "keyring": ring, "forwardSecrecy": sfs, "ephemeral": se}
            ccfg = {"keyId": kid, "key": key, "allowed": list(SUITES), "context": ctx,
                    "serverName": names[1], "random": cn, "forwardSecrecy": cfs, "ephemeral": ce}
            sh = server_hello(Suite(name), MODES[sfs], sn)
            sent, res, _, _ = run_client(ccfg, sh)
            if c_err is not None:
                if (sent, res) != ([], c_err):
                    bad += 1
                    print("self-test %s %s/%s: client %s, expected %s" % (name, sfs, cfs, res, c_err))
                continue
            proof = sent[0]
            s_sent, s_res, s_sess, _ = run_server(scfg, proof + b"app")
            _, c_res, c_sess, _ = run_client(ccfg, b"".join(s_sent) + b"app")
            c_want = "ok" if want == "ok" else "peer_rejected"
            ok = (s_res, c_res) == (want, c_want)
            if want == "ok":
                ok = ok and (s_sess.hh, s_sess.c2s, s_sess.s2c, s_sess.export(b"l", b"", 100)) == \
                    (c_sess.hh, c_sess.c2s, c_sess.s2c, c_sess.export(b"l", b"", 100))
                ok = ok and s_sess.forward_secrecy == c_sess.forward_secrecy == fs
                # The wire shapes of PROTOCOL.md "Messages".
                L = Suite(name).L
                ok = ok and len(sh) == 39 and proof[0] == (0x04 if fs else 0x02)
                ok = ok and len(proof) == 2 + len(kid) + 32 + (32 if fs else 0) + L
                ok = ok and len(s_sent[1]) == 2 + (32 if fs else 0) + L
                if fs:
                    ok = ok and proof[2 + len(kid) + 32:][:32] == x25519(ce, BASE_POINT)
                    ok = ok and s_sent[1][2:34] == x25519(se, BASE_POINT)
            if not ok:
                bad += 1
                print("self-test %s %s/%s %s: server %s client %s" % (name, sfs, cfs, want, s_res,
                                                                       c_res))
    # The X25519 secret goes into the session keys: the same handshake hash with and without
    # it gives other keys.
    s = Suite("hmac-sha256")
    k = Keys(s, bytes(32))
    if Session(k, b"k", bytes(32), bytes([1]) * 32).c2s == Session(k, b"k", bytes(32)).c2s:
        bad += 1
        print("self-test: the X25519 secret does not change the session keys")
    # The output length and the suite id are in every HkdfLabel: 16 exported bytes are not
    # the first 16 of 48, and another suite id gives other keys from the same PRK.
    s = Suite("hmac-sha256")
    k = Keys(s, bytes(32))
    sess = Session(k, b"k", bytes(32))
    if sess.export(b"l", b"", 16) == sess.export(b"l", b"", 48)[:16]:
        bad += 1
        print("self-test: export(16) is a prefix of export(48)")
    other = Suite("hmac-sha256")
    other.id = 0x7f
    if other.expand_label(k.prk, b"client key", b"", 32) == k.client_key:
        bad += 1
        print("self-test: the suite id does not change the derived keys")
    # A keyring naming a key id twice, or none, is refused before any handshake.
    for bad_ring, code in (([(b"k1", bytes(32)), (b"k1", bytes(range(32)))], "duplicate_key_id"),
                           ([], "empty_keyring")):
        try:
            run_server({"suite": "hmac-sha256", "context": b"", "serverName": b"", "random": sn,
                        "keyring": bad_ring, "forwardSecrecy": "off", "ephemeral": se}, b"")
            bad += 1
            print("self-test: a keyring that must be refused (%s) was used" % code)
        except ValueError as e:
            if str(e) != code:
                bad += 1
                print("self-test: refused with %s, not %s" % (e, code))
    # RFC 5869 test case 1 (SHA-256) for the HKDF code.
    s = Suite("hmac-sha256")
    prk = s.extract(bytes(range(13)), b"\x0b" * 22)
    okm = s.expand(prk, bytes(range(0xf0, 0xfa)), 42)
    if okm.hex() != ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                     "34007208d5b887185865"):
        bad += 1
        print("self-test RFC 5869 case 1 failed")
    return bad


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", default=os.path.join(here, "..", "handshake", "native.json"))
    ap.add_argument("--self-test", action="store_true", help="check the code without vectors")
    args = ap.parse_args()
    if args.self_test:
        bad = self_test()
        print("self-test: %s" % ("ok" if not bad else "%d failed" % bad))
        return 1 if bad else 0
    passed, failed, valid = check_file(args.vectors)
    print("%d passed, %d failed" % (passed, failed))
    if valid < 30:
        print("only %d valid tests checked (need at least 30)" % valid, file=sys.stderr)
    return 0 if failed == 0 and valid >= 30 else 1


if __name__ == "__main__":
    sys.exit(main())
