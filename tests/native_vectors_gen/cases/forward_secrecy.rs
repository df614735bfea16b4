//! The forward-secrecy mode (PROTOCOL.md, "Forward secrecy"): honest runs
//! of every suite with each combination of the two settings that uses it,
//! then the invalid cases: the two sides disagree, the mode changed in
//! flight, a proof or finish with a changed share or tag, and hostile
//! peers (tests/support/fs_peer.rs) that send low-order shares under valid
//! tags.

use hmac_handshake::native::ForwardSecrecy::{self, Off, Offered, Required};
use hmac_handshake::native::Suite;

use crate::fixtures::*;
use crate::fs_peer::{low_order_shares, KeyHolder};
use crate::machines::{honest_messages, share_of};
use crate::model::{invalid, valid, Case, ClientSpec, Role, ServerSpec};
use crate::tamper::{at, flip, pass, replace, set_byte, trailing, truncate};

/// Offsets in the baseline type-04 `ClientProof` (7-byte key id, SHA-256).
const P_SHARE: usize = P_NONCE + 32;
const P_FS_TAG: usize = P_SHARE + 32;
const P_FS_LEN: usize = P_FS_TAG + 32;

/// A client that holds the client's key, context and server name, and
/// builds its own proofs.
fn hostile_client(s: &ServerSpec, c: &ClientSpec) -> KeyHolder {
    KeyHolder::new(s.suite, &c.key, &c.context, &c.server_name)
}

/// A server that holds the key the client names, and builds its own finish.
fn hostile_server(s: &ServerSpec, c: &ClientSpec) -> KeyHolder {
    let (_, psk) = s.keyring.iter().find(|(id, _)| *id == c.key_id).unwrap();
    KeyHolder::new(s.suite, psk, &s.context, &s.server_name)
}

fn settings(s: &ServerSpec, c: &ClientSpec) -> String {
    format!(
        "server {}, client {}",
        setting_name(s.forward_secrecy),
        setting_name(c.forward_secrecy)
    )
}

/// Valid: the mode over every suite, and its edge cases.
pub fn valid_cases(v: &mut Vec<Case>) {
    let combos = [
        (Offered, Offered),
        (Offered, Required),
        (Required, Offered),
        (Required, Required),
    ];
    for suite in Suite::ALL {
        let name = suite_title(suite);
        for (k, (sfs, cfs)) in combos.into_iter().enumerate() {
            let (parties, what, flags): (_, _, &[&'static str]) = match k {
                0 => (
                    pair(suite, b"a", key16(), Vec::new()),
                    "1-byte key id, 16-byte key, empty context",
                    &["KeyId", "KeySize"],
                ),
                1 => (
                    pair(suite, &id32(), key32(), billing()),
                    "32-byte key id, context \"billing-workers/v3\"",
                    &["KeyId", "Context"],
                ),
                2 => (
                    (
                        server(suite, billing(), keyring3()),
                        client(b"2026-q2", key32(), billing()),
                    ),
                    "three-key ring, the client uses the 2nd key, context \"billing-workers/v3\"",
                    &["Keyring", "Context"],
                ),
                _ => (
                    pair(suite, &id_binary(), key64(), ctx300()),
                    "key id ff fe 00 80 c3, 64-byte key, 300-byte context",
                    &["KeyId", "KeySize", "Context"],
                ),
            };
            let (s, c) = with_fs(parties, sfs, cfs);
            let mut all = vec!["Honest", "ForwardSecrecy"];
            all.extend_from_slice(flags);
            v.push(valid(
                &format!(
                    "{name}, forward secrecy ({}): mode {:02x}, a type-04 proof with client_share, server_share in ServerFinish, session keys from PRK_fs; {what}",
                    settings(&s, &c),
                    crate::machines::mode(sfs)
                ),
                &all,
                s,
                c,
            ));
        }
    }
    let (s, c) = fs_base(SHA256, Offered, Off);
    v.push(valid(
        "HMAC-SHA-256, the server offers forward secrecy (mode 01), the client has it off: a plain proof (type 02) is accepted, no share travels, the session has no forward secrecy",
        &["Honest", "ForwardSecrecy", "Keyring", "Context"],
        s,
        c,
    ));
    let (s, c) = fs_base(SHA256, Off, Offered);
    v.push(valid(
        "HMAC-SHA-256, the client offers forward secrecy, the server has it off (mode 00): the client sends a plain proof, the session has no forward secrecy",
        &["Honest", "ForwardSecrecy", "Keyring", "Context"],
        s,
        c,
    ));
    let (mut s, mut c) = fs_base(SHA256, Required, Required);
    c.ephemeral = hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        .unwrap()
        .try_into()
        .unwrap();
    s.ephemeral = hex::decode("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
        .unwrap()
        .try_into()
        .unwrap();
    v.push(valid(
        "HMAC-SHA-256, forward secrecy required on both sides, with RFC 7748 section 6.1's secrets: the client's is Alice's, the server's Bob's, so the shares are their public keys (8520f009.., de9edb7d..) and the X25519 secret is the RFC's K (4a5d9d5b..)",
        &["Honest", "ForwardSecrecy", "Rfc7748Keys", "Keyring", "Context"],
        s,
        c,
    ));
    let (mut s, mut c) = fs_base(SHA3, Offered, Required);
    s.ephemeral = [0xff; 32];
    c.ephemeral = [0x00; 32];
    v.push(valid(
        "HMAC-SHA3-256, forward secrecy (server offered, client required) with ephemeral secrets ff..ff (server) and 00..00 (client): X25519 clamps both (decodeScalar25519), so they work as any other",
        &["Honest", "ForwardSecrecy", "EphemeralEdge", "Keyring", "Context"],
        s,
        c,
    ));
    let (s, c) = fs_base(SHA384, Required, Required);
    let mut t = valid(
        "HMAC-SHA-384, forward secrecy required on both sides: the client pipelines application bytes right behind its type-04 ClientProof; the server leaves them unconsumed",
        &["Honest", "ForwardSecrecy", "Pipelined", "Keyring", "Context"],
        s,
        c,
    );
    t.tamper = trailing(PROOF, b"GET /status HTTP/1.1\r\n\r\n");
    v.push(t);
    let (s, c) = fs_base(SHA512, Required, Offered);
    let mut t = valid(
        "HMAC-SHA-512, forward secrecy (server required, client offered): application bytes right behind the ServerFinish with its share; the client leaves them unconsumed",
        &["Honest", "ForwardSecrecy", "TrailingData", "Keyring", "Context"],
        s,
        c,
    );
    t.tamper = trailing(FINISH, b"\x00\x00\x00\x05hello");
    v.push(t);
    let (mut s, mut c) = fs_base(SHA3, Required, Offered);
    s.server_name = b"billing-a".to_vec();
    c.server_name = b"billing-a".to_vec();
    v.push(valid(
        "HMAC-SHA3-256, forward secrecy (server required, client offered) with server name \"billing-a\" on both sides",
        &["Honest", "ForwardSecrecy", "ServerName", "Keyring", "Context"],
        s,
        c,
    ));
}

/// Invalid: the settings disagree, or the mode byte changed in flight.
pub fn mode_cases(v: &mut Vec<Case>) {
    use Role::{Client as C, Server as S};
    let both = &[S, C][..];
    v.push(invalid(
        "The client requires forward secrecy, the server has it off (mode 00): the client refuses the hello and sends nothing",
        &["ForwardSecrecy", "ForwardSecrecyRequired"],
        fs_base(SHA256, Off, Required),
        pass(),
        both,
        ("incomplete", "forward_secrecy_required"),
    ));
    v.push(invalid(
        "The server requires forward secrecy (mode 02), the client has it off: the client refuses the hello and sends nothing",
        &["ForwardSecrecy", "ForwardSecrecyRequired"],
        fs_base(SHA256, Required, Off),
        pass(),
        both,
        ("incomplete", "forward_secrecy_required"),
    ));
    let (s, mut c) = fs_base(SHA384, Required, Required);
    c.key = pattern(32, 0x41, 1);
    v.push(invalid(
        "Wrong key with forward secrecy required on both sides (HMAC-SHA-384): the server computes no X25519 for an unproven client and sends 03 01, without a share",
        &["ForwardSecrecy", "WrongKey"],
        (s, c),
        pass(),
        both,
        ("bad_tag", "peer_rejected"),
    ));
    let (s, mut c) = fs_base(SHA512, Offered, Required);
    c.key_id = b"2025-q4".to_vec();
    v.push(invalid(
        "Unknown key id 2025-q4 in a type-04 proof (HMAC-SHA-512, server offered, client required): 03 01 as for a wrong key",
        &["ForwardSecrecy", "UnknownKeyId", "Keyring"],
        (s, c),
        pass(),
        both,
        ("unknown_key_id", "peer_rejected"),
    ));
    // (parties, new mode byte, views, expected, flags, comment)
    #[allow(clippy::type_complexity)]
    let changed: [(
        (ServerSpec, ClientSpec),
        u8,
        &[Role],
        (&'static str, &'static str),
        &[&'static str],
        &str,
    ); 11] = [
        (fs_base(SHA256, Offered, Offered), 0x00, both, ("bad_tag", "peer_rejected"), &["ModeStripped"],
         "Mode stripped in flight (01 -> 00), both sides offering: the client sends a plain proof over a transcript with mode 00, the server's has 01"),
        (fs_base(SHA256, Required, Required), 0x00, &[C], ("incomplete", "forward_secrecy_required"), &["ModeStripped", "ForwardSecrecyRequired"],
         "Mode stripped in flight (02 -> 00) to a client that requires the mode: it refuses the hello and sends nothing"),
        (fs_base(SHA256, Required, Offered), 0x00, both, ("forward_secrecy_required", "peer_rejected"), &["ModeStripped", "ForwardSecrecyRequired"],
         "Mode stripped in flight (02 -> 00) to a client that offers the mode: it sends a plain proof, which the server requiring the mode refuses at the type byte"),
        (fs_base(SHA384, Required, Offered), 0x01, both, ("bad_tag", "peer_rejected"), &["ModeStripped"],
         "Mode lowered in flight (02 -> 01), client offered (HMAC-SHA-384): the client still sends a share, over a transcript with mode 01; the server's check of the client tag fails"),
        (fs_base(SHA3, Required, Required), 0x01, both, ("bad_tag", "peer_rejected"), &["ModeStripped"],
         "Mode lowered in flight (02 -> 01), client required (HMAC-SHA3-256): the transcripts differ in the mode byte"),
        (fs_base(SHA256, Off, Offered), 0x01, both, ("unexpected_message", "peer_rejected"), &["ModeAdded"],
         "Mode added in flight (00 -> 01) to a client that offers it: it sends a type-04 proof, which the server without the mode refuses at the type byte"),
        (fs_base(SHA256, Off, Offered), 0x02, both, ("unexpected_message", "peer_rejected"), &["ModeAdded"],
         "Mode added in flight (00 -> 02) to a client that offers it: a type-04 proof to a server without the mode"),
        (fs_base(SHA256, Off, Off), 0x02, &[C], ("incomplete", "forward_secrecy_required"), &["ModeAdded", "ForwardSecrecyRequired"],
         "Mode raised in flight (00 -> 02) to a client without the mode: it refuses a server that requires it and sends nothing"),
        (fs_base(SHA512, Offered, Offered), 0x02, both, ("bad_tag", "peer_rejected"), &["ModeAdded"],
         "Mode raised in flight (01 -> 02), both sides offering (HMAC-SHA-512): the client's type-04 proof covers a hello with mode 02; the server's check fails"),
        (fs_base(SHA256, Offered, Offered), 0x03, &[C], ("incomplete", "unknown_mode"), &["UnknownMode"],
         "Mode byte 03 (no such mode) in the hello to a client that offers the mode: it sends nothing"),
        (fs_base(SHA256, Required, Off), 0xff, &[C], ("incomplete", "unknown_mode"), &["UnknownMode"],
         "Mode byte ff to a client without the mode: unknown_mode, not forward_secrecy_required (the byte's value is checked first)"),
    ];
    for (parties, mode, views, expect, flags, comment) in changed {
        let bits = (crate::machines::mode(parties.0.forward_secrecy) ^ mode).count_ones();
        let how = if bits == 1 {
            "BitFlip"
        } else {
            "ModifiedMessage"
        };
        let mut all = vec!["ForwardSecrecy", how];
        all.extend_from_slice(flags);
        v.push(invalid(
            comment,
            &all,
            parties,
            set_byte(HELLO, 6, mode),
            views,
            expect,
        ));
    }
}

/// Invalid, the stream ending right after the mode byte: the client checks
/// the byte as it arrives, without waiting for the nonce.
pub fn early_mode_cases(v: &mut Vec<Case>) {
    v.push(invalid(
        "ServerHello of a server that requires the mode, cut after the mode byte (7 of 39 bytes), to a client without the mode: it fails at once, without waiting for the nonce",
        &["ForwardSecrecy", "Truncated", "ForwardSecrecyRequired"],
        fs_base(SHA256, Required, Off),
        truncate(HELLO, 7),
        &[Role::Client],
        ("incomplete", "forward_secrecy_required"),
    ));
    v.push(invalid(
        "ServerHello with mode byte 03, cut right after it (7 of 39 bytes): the client fails unknown_mode at once",
        &["ForwardSecrecy", "Truncated", "UnknownMode", "ModifiedMessage"],
        fs_base(SHA256, Offered, Offered),
        at(HELLO, |m| {
            let mut m = m[..7].to_vec();
            m[6] = 0x03;
            m
        }),
        &[Role::Client],
        ("incomplete", "unknown_mode"),
    ));
}

/// Invalid: the type-04 proof or the ServerFinish with a share changed in
/// flight, and hostile peers with valid tags.
pub fn message_cases(v: &mut Vec<Case>) {
    use Role::{Client as C, Server as S};
    v.push(invalid(
        "ClientProof type 04 -> 02 in transit (server offered): the server reads a plain proof, whose tag is the first 32 bytes of the share, and rejects it",
        &["ForwardSecrecy", "ModifiedMessage"],
        fs_base(SHA256, Offered, Offered),
        set_byte(PROOF, 0, 0x02),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "ClientProof type 04 -> 02 in transit to a server that requires the mode: refused at the type byte",
        &["ForwardSecrecy", "ModifiedMessage", "ForwardSecrecyRequired"],
        fs_base(SHA256, Required, Offered),
        set_byte(PROOF, 0, 0x02),
        &[S],
        ("forward_secrecy_required", "peer_rejected"),
    ));
    v.push(invalid(
        "ClientProof type 02 -> 04 in transit (server offered, client off): the server waits for the 32 bytes of a share that never come",
        &["ForwardSecrecy", "ModifiedMessage", "Incomplete"],
        fs_base(SHA256, Offered, Off),
        set_byte(PROOF, 0, 0x04),
        &[S],
        ("incomplete", "incomplete"),
    ));
    v.push(invalid(
        "ClientProof type 02 -> 04 in transit to a server without the mode (mode 00): refused at the type byte",
        &["ModifiedMessage", "UnexpectedMessage"],
        base(),
        set_byte(PROOF, 0, 0x04),
        &[S],
        ("unexpected_message", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the first byte of client_share: the client tag covers the share",
        &["ForwardSecrecy", "BitFlip", "ShareChanged"],
        fs_base(SHA256, Required, Required),
        flip(PROOF, P_SHARE, 0x01),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit 255 of client_share flipped (X25519 ignores it, RFC 7748 decodeUCoordinate): the client tag still covers the byte",
        &["ForwardSecrecy", "BitFlip", "ShareChanged"],
        fs_base(SHA256, Offered, Required),
        flip(PROOF, P_SHARE + 31, 0x80),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the last byte of the client tag of a type-04 proof",
        &["ForwardSecrecy", "BitFlip"],
        fs_base(SHA256, Required, Required),
        flip(PROOF, P_FS_LEN - 1, 0x01),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    v.push(invalid(
        "Type-04 ClientProof cut inside client_share (57 of its 105 bytes), then end of stream",
        &["ForwardSecrecy", "Truncated", "Incomplete"],
        fs_base(SHA256, Required, Required),
        truncate(PROOF, P_SHARE + 16),
        &[S],
        ("incomplete", "incomplete"),
    ));
    let (s, c) = fs_base(SHA256, Required, Required);
    let mut other = s.clone();
    other.random = nonce(0x20);
    let old_proof = honest_messages(&other, &c)[PROOF].clone();
    v.push(invalid(
        "Replay: a type-04 ClientProof recorded in an accepted handshake with server nonce 20 21 .. 3f, replayed to this server (nonce 00 01 .. 1f)",
        &["ForwardSecrecy", "Replay"],
        (s, c),
        replace(PROOF, old_proof),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    let (s, c) = fs_base(SHA256, Required, Offered);
    let hello = honest_messages(&s, &c)[HELLO].clone();
    let plain = hostile_client(&s, &c).client_proof(&hello, &c.key_id, &c.random, None);
    v.push(invalid(
        "Hostile client: a plain proof (type 02) with a valid client tag to a server that requires the mode: refused at the type byte",
        &["ForwardSecrecy", "HostilePeer", "ForwardSecrecyRequired"],
        (s, c),
        replace(PROOF, plain),
        &[S],
        ("forward_secrecy_required", "peer_rejected"),
    ));
    let (s, c) = fs_base(SHA256, Off, Offered);
    let hello = honest_messages(&s, &c)[HELLO].clone();
    let share = share_of(&client_ephemeral());
    let proof = hostile_client(&s, &c).client_proof(&hello, &c.key_id, &c.random, Some(&share));
    v.push(invalid(
        "Hostile client: a type-04 proof with a valid client tag to a server without the mode (mode 00): refused at the type byte",
        &["ForwardSecrecy", "HostilePeer", "UnexpectedMessage"],
        (s, c),
        replace(PROOF, proof),
        &[S],
        ("unexpected_message", "peer_rejected"),
    ));
    v.push(invalid(
        "Bit flipped in the first byte of server_share: the server tag covers the share",
        &["ForwardSecrecy", "BitFlip", "ShareChanged"],
        fs_base(SHA256, Required, Required),
        flip(FINISH, 2, 0x01),
        &[C],
        ("ok", "bad_tag"),
    ));
    v.push(invalid(
        "Bit 255 of server_share flipped (X25519 ignores it): the server tag still covers the byte",
        &["ForwardSecrecy", "BitFlip", "ShareChanged"],
        fs_base(SHA256, Offered, Offered),
        flip(FINISH, 33, 0x80),
        &[C],
        ("ok", "bad_tag"),
    ));
    v.push(invalid(
        "Bit flipped in the last byte of the server tag after server_share (HMAC-SHA-512: byte 97 of 98)",
        &["ForwardSecrecy", "BitFlip"],
        fs_base(SHA512, Required, Required),
        flip(FINISH, 2 + 32 + 64 - 1, 0x01),
        &[C],
        ("ok", "bad_tag"),
    ));
    v.push(invalid(
        "ServerFinish cut inside server_share (20 of its 66 bytes), then end of stream",
        &["ForwardSecrecy", "Truncated", "Incomplete"],
        fs_base(SHA256, Required, Required),
        truncate(FINISH, 20),
        &[C],
        ("ok", "incomplete"),
    ));
    let (s, c) = fs_base(SHA256, Required, Required);
    let m = honest_messages(&s, &c);
    let finish = hostile_server(&s, &c).server_finish(&m[HELLO], &m[PROOF], None);
    v.push(invalid(
        "Hostile server: an accepting ServerFinish without server_share (its tag valid over a T2 without one) after a type-04 proof: the client takes the tag for the share and waits for 32 more bytes",
        &["ForwardSecrecy", "HostilePeer", "Incomplete"],
        (s, c),
        replace(FINISH, finish),
        &[C],
        ("ok", "incomplete"),
    ));
}

/// Invalid: hostile peers send each low-order share under a valid tag; the
/// X25519 result is all zeros, which each side refuses.
pub fn low_order_cases(v: &mut Vec<Case>) {
    use Role::{Client as C, Server as S};
    let shares = low_order_shares();
    let flags = |name: &str| {
        let mut f = vec!["ForwardSecrecy", "HostilePeer", "LowOrderShare"];
        if name.contains("non-canonical") || name.contains("bit 255") {
            f.push("NonCanonicalShare");
        }
        f
    };
    for (i, (name, share)) in shares.iter().enumerate() {
        let suite = Suite::ALL[i % 4];
        let sfs: ForwardSecrecy = if (i / 4) % 2 == 0 { Offered } else { Required };
        let (s, c) = fs_base(suite, sfs, Required);
        let hello = honest_messages(&s, &c)[HELLO].clone();
        let proof = hostile_client(&s, &c).client_proof(&hello, &c.key_id, &c.random, Some(share));
        v.push(invalid(
            &format!(
                "Hostile client: client_share is the low-order point {name} ({}), under a valid client tag ({}, {}): X25519 gives all zeros, the server sends 03 01",
                hex::encode(share),
                suite_title(suite),
                settings(&s, &c)
            ),
            &flags(name),
            (s, c),
            replace(PROOF, proof),
            &[S],
            ("zero_shared_secret", "peer_rejected"),
        ));
    }
    for (i, (name, share)) in shares.iter().enumerate() {
        let suite = Suite::ALL[(i + 1) % 4];
        let cfs: ForwardSecrecy = if (i / 4) % 2 == 0 { Required } else { Offered };
        let (s, c) = fs_base(suite, Offered, cfs);
        let m = honest_messages(&s, &c);
        let finish = hostile_server(&s, &c).server_finish(&m[HELLO], &m[PROOF], Some(share));
        v.push(invalid(
            &format!(
                "Hostile server: server_share is the low-order point {name} ({}), under a valid server tag ({}, {}): X25519 gives all zeros, the client fails",
                hex::encode(share),
                suite_title(suite),
                settings(&s, &c)
            ),
            &flags(name),
            (s, c),
            replace(FINISH, finish),
            &[C],
            ("ok", "zero_shared_secret"),
        ));
    }
    // The same shares under a bad tag: the tag is checked first, and X25519
    // is never computed for an unproven peer.
    let (name, share) = &shares[0];
    let (s, c) = fs_base(SHA256, Required, Required);
    let hello = honest_messages(&s, &c)[HELLO].clone();
    let mut proof = hostile_client(&s, &c).client_proof(&hello, &c.key_id, &c.random, Some(share));
    *proof.last_mut().unwrap() ^= 0x01;
    v.push(invalid(
        &format!("Hostile client: client_share is the low-order point {name}, under a client tag with its last bit flipped: bad_tag, not zero_shared_secret (the tag is checked before any X25519)"),
        &flags(name),
        (s, c),
        replace(PROOF, proof),
        &[S],
        ("bad_tag", "peer_rejected"),
    ));
    let (name, share) = &shares[5];
    let (s, c) = fs_base(SHA384, Offered, Offered);
    let m = honest_messages(&s, &c);
    let mut finish = hostile_server(&s, &c).server_finish(&m[HELLO], &m[PROOF], Some(share));
    *finish.last_mut().unwrap() ^= 0x01;
    v.push(invalid(
        &format!("Hostile server: server_share is the low-order point {name}, under a server tag with its last bit flipped (HMAC-SHA-384): bad_tag, not zero_shared_secret (the tag is checked before any X25519)"),
        &flags(name),
        (s, c),
        replace(FINISH, finish),
        &[C],
        ("ok", "bad_tag"),
    ));
}
