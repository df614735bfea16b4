#!/usr/bin/env python3
"""Independent re-derivation of vectors/handshake/native.json from PROTOCOL.md alone.

Written from PROTOCOL.md (native protocol v1) without looking at the Rust code, so that
agreement between the two is evidence that the specification says what the code does.
Standard library only. Usage:

    python3 vectors/tools/native_rederive.py [--vectors PATH] [--self-test]

Every test is replayed as the file's header describes: for each role R in "check", R's
endpoint (PROTOCOL.md "Processing", built from the test's inputs: suite, keyring or key,
key id, context, serverName, and "random" = R's nonce) is fed the peer's recorded messages, each
followed by its "trailing" application bytes. It must send exactly R's recorded messages
(ServerHello, ClientProof with client_tag, ServerFinish with server_tag or 03 01), end
with R's recorded result, and on success have consumed no application byte. For "valid"
tests both roles must succeed, and each side's handshake hash, c2s/s2c keys and every
exporter output must equal "session" byte for byte. For "invalid" tests the recorded
verdict must be what this code computes (e.g. its own check of a tampered tag fails).
Error codes are not named by PROTOCOL.md; the mapping used here is marked in run_server
and run_client.
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
LABEL = b"hmac-handshake v1"

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


def server_hello(suite, server_nonce):
    return MAGIC + bytes([VERSION, suite.id]) + server_nonce


def t1(suite, context, server_name, sh, key_id, client_nonce):
    assert len(server_name) <= 255  # PROTOCOL.md "Server names"
    return (LABEL + suite.H(context) + suite.H(server_name) + sh + b"\x02" + lp8(key_id)
            + client_nonce)


def client_tag(keys, t1_):
    return keys.s.HMAC(keys.client_key, b"client proof" + keys.s.H(t1_))


def server_tag(keys, t2):
    return keys.s.HMAC(keys.server_key, b"server finish" + keys.s.H(t2))


def client_proof(key_id, client_nonce, tag):
    return b"\x02" + lp8(key_id) + client_nonce + tag


def handshake_hash(suite, t2, stag):
    return suite.H(t2 + b"\x03\x00" + stag)


# --- Session secrets -------------------------------------------------------------------


class Session:
    def __init__(self, keys, key_id, hh):
        s, self.keys, self.key_id, self.hh = keys.s, keys, key_id, hh
        self.c2s = s.expand_label(keys.prk, b"c2s", hh, s.L)
        self.s2c = s.expand_label(keys.prk, b"s2c", hh, s.L)
        self.exporter_secret = s.expand_label(keys.prk, b"exporter", hh, s.L)

    def export(self, label, context, n):
        s = self.keys.s
        return s.expand_label(self.exporter_secret, label, s.H(context), n)


# --- Processing: the two endpoints as PROTOCOL.md describes them ------------------------


class Fail(Exception):
    """A handshake failure, carrying the local error code."""


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
    suite = Suite(cfg["suite"])
    sh = server_hello(suite, cfg["random"])  # step 1
    keyring = cfg["keyring"]  # list of (key_id, psk)
    ids = [key_id for key_id, _ in keyring]
    if not keyring or len(set(ids)) != len(ids):
        # PROTOCOL.md "Keyring": an empty ring or one naming a key id twice is refused
        # when it is built (empty_keyring, duplicate_key_id); no handshake runs on it.
        raise ValueError("empty_keyring" if not keyring else "duplicate_key_id")
    rx = Stream(incoming)
    # Error codes (not in PROTOCOL.md): unexpected_message, key_id_length,
    # reflected_nonce, unknown_key_id, bad_tag; "incomplete" = waiting for more bytes.
    try:  # step 2: every length is checked before use
        if rx.read(1) != b"\x02":
            raise Fail("unexpected_message")
        klen = rx.read(1)[0]
        if not 1 <= klen <= 32:
            raise Fail("key_id_length")
        key_id, cnonce, ctag = rx.read(klen), rx.read(NONCE_LEN), rx.read(suite.L)
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
    t1_ = t1(suite, cfg["context"], cfg["serverName"], sh, key_id, cnonce)
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
    t2 = t1_ + ctag
    stag = server_tag(keys, t2)  # only for a client that proved itself
    sess = Session(keys, key_id, handshake_hash(suite, t2, stag))
    return [sh, b"\x03\x00" + stag], "ok", sess, rx.pos


def run_client(cfg, incoming):
    """Client steps 1-3 on the received bytes.

    Returns (messages sent, "ok" or error code, Session or None, bytes consumed)."""
    # Error codes (not in PROTOCOL.md): not_native, version_mismatch, suite_not_allowed
    # (also for a suite byte that is no suite), reflected_nonce, unexpected_message,
    # peer_rejected, unexpected_verdict, bad_tag; "incomplete" = waiting for more bytes.
    rx, sent = Stream(incoming), []
    try:
        if not 1 <= len(cfg["keyId"]) <= 32:  # Constants: a key id is 1 to 32 bytes
            raise Fail("key_id_length")
        sh = rx.read(len(MAGIC) + 2 + NONCE_LEN)  # step 1
        if sh[:4] != MAGIC:
            raise Fail("not_native")
        if sh[4] != VERSION:
            raise Fail("version_mismatch")
        name = SUITE_BY_ID.get(sh[5])
        if name is None or name not in cfg["allowed"]:
            raise Fail("suite_not_allowed")
        if sh[6:] == cfg["random"]:
            raise Fail("reflected_nonce")
        suite = Suite(name)
        keys = Keys(suite, cfg["key"])
        t1_ = t1(suite, cfg["context"], cfg["serverName"], sh, cfg["keyId"], cfg["random"])
        ctag = client_tag(keys, t1_)
        sent = [client_proof(cfg["keyId"], cfg["random"], ctag)]  # step 2
        if rx.read(1) != b"\x03":  # step 3
            raise Fail("unexpected_message")
        verdict = rx.read(1)
        if verdict == b"\x01":
            raise Fail("peer_rejected")
        if verdict != b"\x00":
            raise Fail("unexpected_verdict")
        stag = rx.read(suite.L)
        t2 = t1_ + ctag
        if not hmac.compare_digest(server_tag(keys, t2), stag):
            raise Fail("bad_tag")
    except Fail as e:
        return sent, str(e), None, rx.pos
    sess = Session(keys, cfg["keyId"], handshake_hash(suite, t2, stag))
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


def self_test():
    bad = 0
    ring = [(b"k1", bytes(range(32))), (b"k2", bytes(range(16, 48)))]
    sn, cn = bytes([0x11]) * 32, bytes([0x22]) * 32
    for name in SUITES:
        for kid, key, ctx, names, want in ((b"k2", ring[1][1], b"ctx", (b"", b""), "ok"),
                                           (b"k2", ring[1][1], b"ctx", (b"A", b"A"), "ok"),
                                           (b"k1", ring[1][1], b"ctx", (b"", b""), "bad_tag"),
                                           (b"zz", ring[0][1], b"ctx", (b"", b""), "unknown_key_id"),
                                           (b"k1", ring[0][1], b"other", (b"", b""), "bad_tag"),
                                           (b"k1", ring[0][1], b"ctx", (b"A", b"B"), "bad_tag"),
                                           (b"k1", ring[0][1], b"ctx", (b"A", b""), "bad_tag")):
            scfg = {"suite": name, "context": b"ctx", "serverName": names[0], "random": sn,
                    "keyring": ring}
            ccfg = {"keyId": kid, "key": key, "allowed": list(SUITES), "context": ctx,
                    "serverName": names[1], "random": cn}
            proof = run_client(ccfg, server_hello(Suite(name), sn))[0][0]
            s_sent, s_res, s_sess, _ = run_server(scfg, proof + b"app")
            _, c_res, c_sess, _ = run_client(ccfg, b"".join(s_sent) + b"app")
            c_want = "ok" if want == "ok" else "peer_rejected"
            ok = (s_res, c_res) == (want, c_want)
            if want == "ok":
                ok = ok and (s_sess.hh, s_sess.c2s, s_sess.s2c, s_sess.export(b"l", b"", 100)) == \
                    (c_sess.hh, c_sess.c2s, c_sess.s2c, c_sess.export(b"l", b"", 100))
            if not ok:
                bad += 1
                print("self-test %s %s: server %s client %s" % (name, want, s_res, c_res))
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
                        "keyring": bad_ring}, b"")
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
