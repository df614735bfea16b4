#!/usr/bin/env python3
"""Writes the fuzz seed corpus, fuzz/corpus/<target>/seed-*, from the
handshake conformance vectors in vectors/handshake/*.json.

Each target reads an explicit byte layout (documented on the `decode`
functions in fuzz/src/*.rs and in fuzz/README.md); this script writes the
same layout: the config, key and randomness of one role of a vector (for a
native side: its forward-secrecy setting, nonce and ephemeral secret, then the
other side's ephemeral secret, for the oracle's honest peer), and the other
role's messages as the peer bytes. Valid vectors thus start the fuzzer
from complete, successful handshakes. A few seeds per target also carry a
byte-by-byte chunking plan. The `pair` seeds take the configuration of the
valid vectors; the `framing` seeds take the frame headers of the
multiprocessing vectors plus hand-picked edge cases.

Run from anywhere: python3 fuzz/seed_corpus.py   (Python 3.8+, stdlib only)
It removes the seed-* files it wrote before and leaves other files alone.
A vectors file that is missing is skipped with a note.
"""

import json
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

DIGESTS = ["md5", "sha256", "sha384", "sha512", "sha3_256", "sha3_384"]  # Digest::ALL
MP_DIGESTS = ["md5", "sha256", "sha384", "sha3_256", "sha3_384"]  # CPython's allowed
SUITES = ["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha3_256"]  # Suite::ALL


def lp8(b):
    b = bytes(b)[:255]
    return bytes([len(b)]) + b


def lp16(b):
    b = bytes(b)
    assert len(b) <= 300, len(b)
    return struct.pack("<H", len(b)) + b


def pad(b, n):
    b = bytes(b)[:n]
    return b + bytes(n - len(b))


def plan(chunks=b"", writes=b"", pokes=0):
    return lp8(chunks) + lp8(writes) + bytes([pokes])


PLANS = [
    plan(),  # everything at once
    plan(b"\x01", b"\x01", 0x07),  # byte by byte, every probe
    plan(b"\x03\x00\x11", b"\x05\x00", 0x01),
]

h = bytes.fromhex


def load(name):
    path = ROOT / "vectors" / "handshake" / (name + ".json")
    if not path.exists():
        print(f"note: {path} missing, no {name} seeds", file=sys.stderr)
        return []
    d = json.loads(path.read_text())
    return [t for g in d["testGroups"] for t in g["tests"]]


def peer(t, frm):
    return b"".join(h(m["data"]) for m in t["messages"] if m["from"] == frm)


def plan_for(t, i):
    # Mostly whole; every 7th vector chunked.
    return PLANS[0] if i % 7 else PLANS[1 + (i // 7) % 2]


def recipe_seeds():
    server, client, pair = {}, {}, {}
    for i, t in enumerate(load("recipe")):
        key = h(t["key"])
        d = DIGESTS.index(t["server"]["digest"])
        ch = h(t["server"]["random"])
        server[f"tc{t['tcId']:02d}"] = bytes([d]) + lp16(key) + pad(ch, 32) + plan_for(t, i) + peer(t, "client")
        dc = DIGESTS.index(t["client"]["digest"])
        client[f"tc{t['tcId']:02d}"] = bytes([dc]) + lp16(key) + bytes(32) + plan_for(t, i) + peer(t, "server")
        if t["result"] == "valid" and t.get("clientResult") == "ok":
            pair[f"recipe-tc{t['tcId']:02d}"] = pair_input(
                0, [d, 0, 0, 0], key, b"", b"", pad(ch, 40), bytes(40), i
            )
    return server, client, pair


def mp_cfg(side):
    # A digest this crate lacks (sha1 in a client-view vector) seeds as sha512,
    # which Config::with_digest refuses (UnsupportedDigest).
    d = DIGESTS.index(side["digest"]) if side["digest"] in DIGESTS else DIGESTS.index("sha512")
    flags = (1 if side["allowMd5"] else 0) | (2 if side["challenge"] == "legacy" else 0)
    return d, flags


def mp_seeds():
    server, client, pair = {}, {}, {}
    for i, t in enumerate(load("multiprocessing")):
        key = h(t["key"])
        if len(key) > 300:
            continue
        sd, sf = mp_cfg(t["server"])
        cd, cf = mp_cfg(t["client"])
        sr, cr = h(t["server"]["random"]), h(t["client"]["random"])
        name = f"tc{t['tcId']:02d}"
        server[name] = bytes([sd, sf]) + lp16(key) + pad(sr, 40) + plan_for(t, i) + peer(t, "client")
        client[name] = bytes([cd, cf]) + lp16(key) + pad(cr, 40) + plan_for(t, i) + peer(t, "server")
        if (
            t["result"] == "valid"
            and t.get("serverResult") == "ok"
            and t.get("clientResult") == "ok"
            and t["server"]["digest"] in MP_DIGESTS
            and t["client"]["digest"] in MP_DIGESTS
        ):
            c = [
                MP_DIGESTS.index(t["server"]["digest"]),
                (sf >> 1) | (2 if sf & 1 else 0),
                MP_DIGESTS.index(t["client"]["digest"]),
                cf >> 1,
            ]
            pair[f"mp-{name}"] = pair_input(1, c, key, b"", b"", pad(sr, 40), pad(cr, 40), i)
    return server, client, pair


FS = ["off", "offered", "required"]  # the layouts' forward-secrecy byte


def fs_byte(side):
    return FS.index(side.get("forwardSecrecy", "off"))


def ephemeral(side):
    # A side without the mode has no "ephemeral" (its secret is never used): zeros.
    return pad(h(side.get("ephemeral", "")), 32)


def native_seeds():
    server, client, pair = {}, {}, {}
    for i, t in enumerate(load("native")):
        s, c = t["server"], t["client"]
        name = f"tc{t['tcId']:02d}"
        ring = s.get("keyring", [])
        if len(ring) <= 3 and all(len(h(k["key"])) <= 300 for k in ring):
            # The ring byte: the key count, bit 7 clear (every key of the suite).
            body = bytes([SUITES.index(s["suite"]), len(ring)])
            for k in ring:
                kid = h(k["keyId"])
                body += bytes([len(kid)]) + kid + lp16(h(k["key"]))
            body += lp8(h(s["context"])) + lp8(h(s.get("serverName", "")))
            # The setting, the 64 random bytes (nonce, ephemeral), then the
            # ephemeral of the oracle's honest client: the vector's client's.
            body += bytes([fs_byte(s)]) + pad(h(s["random"]), 32) + ephemeral(s) + ephemeral(c)
            server[name] = body + plan_for(t, i) + peer(t, "client")
        # One client key per allowed suite (bit i = SUITES[i]).
        allowed = sum(1 << SUITES.index(a) for a in c.get("allowed", SUITES))
        kid, key = h(c["keyId"]), h(c["key"])
        if len(kid) <= 33 and len(key) <= 300:
            body = bytes([allowed, len(kid)]) + kid + lp16(key) + lp8(h(c["context"]))
            body += lp8(h(c.get("serverName", "")))
            # The setting, the 64 random bytes, the oracle's honest server's ephemeral.
            body += bytes([fs_byte(c)]) + pad(h(c["random"]), 32) + ephemeral(c) + ephemeral(s)
            client[name] = body + plan_for(t, i) + peer(t, "server")
        if t["result"] == "valid" and len(key) <= 300 and 1 <= len(kid) <= 32:
            ids = [h(k["keyId"]) for k in ring]
            place = ids.index(kid) if kid in ids else 0
            decoys = max(len(ring) - 1, 0)
            cfg = [SUITES.index(s["suite"]), allowed, decoys | fs_byte(s) << 4 | fs_byte(c) << 6, place]
            # A native side's random: the nonce (first 32 of 40), the ephemeral (last 32).
            srandom = pad(h(s["random"]), 32) + ephemeral(s)[24:]
            crandom = pad(h(c["random"]), 32) + ephemeral(c)[24:]
            pair[f"native-{name}"] = pair_input(
                2, cfg, key, kid, h(c["context"]), srandom, crandom, i
            )
    return server, client, pair


def pair_input(profile, c, key, key_id, context, srandom, crandom, i):
    plans = [PLANS[0], PLANS[0]] if i % 3 == 0 else [plan(b"\x01"), plan(b"\x07\x02", b"\x03")]
    tamper = struct.pack("<HB", (i * 37) % 65536, 1 << (i % 8))
    app_c2s = lp8(b"GET / HTTP/1.0\r\n" if i % 2 else b"")
    app_s2c = b"\x00\x00\x00\x05hello" if i % 2 else b""
    return (
        bytes([profile]) + bytes(c) + lp16(key) + lp8(key_id) + lp8(context)
        + srandom + crandom + plans[0] + plans[1] + tamper + app_c2s + app_s2c
    )


def framing_seeds():
    out = {}

    def seed(name, sel, maxsize, n, data, chunks=b""):
        out[name] = bytes([sel]) + struct.pack("<QQ", maxsize, n) + lp8(chunks) + data

    headers = set()
    for t in load("multiprocessing"):
        for m in t["messages"]:
            headers.add(h(m["data"])[:16])
    for j, data in enumerate(sorted(headers)[:40]):
        seed(f"mp-header-{j:02d}", 0 | 4, 256, 65, data, b"\x01" if j % 2 else b"")
    seed("short-max", 0, 256, 0x7FFF_FFFF, b"\x00\x00\x01\x01")  # 257 > 256
    seed("negative", 0, 256, 0, b"\xff\xff\xff\xfe")  # -2
    seed("long-form", 3, 2**64 - 1, 2**63, b"\xff\xff\xff\xff\x00\x00\x00\x01\x00\x00\x00\x00", b"\x05")
    seed("long-form-small", 0, 300, 20, b"\xff\xff\xff\xff" + bytes(7) + b"\x20" + b"payload")
    seed("long-form-partial", 1, 2**20, 2**31, b"\xff\xff\xff\xff\x00\x00")
    seed("boundary", 2 | 4, 0, 0x7FFF_FFFF, b"\x7f\xff\xff\xff")
    seed("boundary-over", 2, 0, 0x8000_0000, b"\x80\x00\x00\x00")
    seed("empty", 0, 0, 0, b"")
    return out


def write(target, seeds):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    for name, data in sorted(seeds.items()):
        (d / f"seed-{name}").write_bytes(data)
    print(f"{target}: {len(seeds)} seeds")


def main():
    rs, rc, rp = recipe_seeds()
    ms, mc, mpair = mp_seeds()
    ns, nc, npair = native_seeds()
    write("recipe_server", rs)
    write("recipe_client", rc)
    write("mp_server", ms)
    write("mp_client", mc)
    write("native_server", ns)
    write("native_client", nc)
    write("pair", {**rp, **mpair, **npair})
    write("framing", framing_seeds())


if __name__ == "__main__":
    main()
