//! The JSON writer: the flag notes, one case's tests (each a view of its
//! live run), and the document, with sorted keys, as it is committed.

use hmac_handshake::native::ForwardSecrecy;
use serde_json::{json, Map, Value};

use crate::cases::cases;
use crate::machines::{check_shapes, run};
use crate::model::{Case, Export, Msg, Role, SessionValues};

/// The file's `vectorsVersion`: raise it (with a CHANGELOG entry) whenever
/// the output changes; `tests/handshake_vectors.rs` pins it and the file's
/// SHA-256, so a change without a raise fails there (vectors/README.md).
pub const VECTORS_VERSION: u64 = 1;

fn notes() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("AllowedSuites", "FUNCTIONALITY", "The client allows only some suites (\"allowed\"); the default is all four."),
        ("BitFlip", "AUTH_BYPASS", "One bit of one message was flipped in transit, between our two machines."),
        ("ChangedClientProof", "MODIFIED_PARAMETER", "The ClientProof was changed in transit: the client's view holds it as sent, the server's as received."),
        ("ChangedServerFinish", "MODIFIED_PARAMETER", "The ServerFinish was changed in transit: the server's view holds it as sent, the client's as received."),
        ("ChangedServerHello", "MODIFIED_PARAMETER", "The ServerHello was changed in transit: the server's view holds it as sent, the client's as received."),
        ("Context", "FUNCTIONALITY", "A non-empty application context (\"billing-workers/v3\", or 300 bytes); it is hashed into every tag and never sent."),
        ("ContextMismatch", "AUTH_BYPASS", "Server and client pass different contexts: the server's check of the client tag fails and it sends 03 01."),
        ("CrossProfile", "MODIFIED_PARAMETER", "The peer speaks another profile of this crate."),
        ("EphemeralEdge", "EDGE_CASE", "An ephemeral secret of all 00 or all ff bytes: X25519 clamps every secret (RFC 7748 section 5, decodeScalar25519: the low three bits and bit 255 cleared, bit 254 set), so these work as any other."),
        ("ForwardSecrecy", "FUNCTIONALITY", "The forward-secrecy mode (PROTOCOL.md, \"Forward secrecy\") is on at one or both sides (\"forwardSecrecy\" offered or required, with the side's 32-byte X25519 secret \"ephemeral\"). When both use it, ClientProof has type 04 and client_share, ServerFinish carries server_share, and the session secrets come from PRK_fs = HKDF-Extract(Expand(PRK, \"derived\", \"\", L), X25519 secret); \"session\" says whether they do (forwardSecrecy)."),
        ("ForwardSecrecyRequired", "MODIFIED_PARAMETER", "One side requires the forward-secrecy mode and the other does not use it, as set or as the relay made it look: a client refuses the hello and sends nothing, a server refuses a plain proof (type 02) at its type byte (03 01); error forward_secrecy_required."),
        ("Honest", "FUNCTIONALITY", "Our server and client with matching keys and contexts; every message delivered unchanged. \"session\" holds what both sides derive."),
        ("HostilePeer", "AUTH_BYPASS", "A message was made not by our machine but by a party holding the key (the generator's tests/support/fs_peer.rs, which follows PROTOCOL.md with the hmac, sha2 and sha3 crates): its tags verify, so the receiver's other checks are what is tested. Only the receiver's view is a test."),
        ("Incomplete", "FUNCTIONALITY", "The stream ends mid-message; the machine still waits for input (result \"incomplete\")."),
        ("KeyId", "EDGE_CASE", "A key id of 1 or 32 bytes (the bounds), not UTF-8, or a prefix of another key id on the ring."),
        ("KeyIdLength", "MODIFIED_PARAMETER", "The ClientProof key id length byte is outside 1..32: the server rejects (03 01) before reading further."),
        ("KeySize", "EDGE_CASE", "A pre-shared key of 16 bytes (the minimum), 64 or 200 bytes; the PSK is HKDF-Extract's input keying material, so any length from 16 up works the same way."),
        ("Keyring", "FUNCTIONALITY", "The server holds several keys (rotation); the client uses one that is not the first, or names one by a changed key id."),
        ("LowOrderShare", "EDGE_CASE", "The peer's X25519 share is a low-order point (RFC 7748 section 6.1; Wycheproof's x25519 LowOrderPublic cases): 0, 1, the two points of order 8, p - 1, p, p + 1, each also with bit 255 set. X25519 of it is all zeros whatever the secret; the receiver fails zero_shared_secret (the server sends 03 01) once the share's tag verified; under a bad tag it fails bad_tag, as X25519 runs only after the tag check."),
        ("ModeAdded", "MODIFIED_PARAMETER", "The ServerHello mode byte was raised in transit (00 to 01 or 02, or 01 to 02): the mode byte is in T1, so the server's check of the client tag fails (bad_tag), or it rejects a proof type its own mode does not take (unexpected_message); a client without the mode refuses a server that requires it (forward_secrecy_required)."),
        ("ModeStripped", "AUTH_BYPASS", "The ServerHello mode byte was lowered in transit (02 or 01 to 00, 02 to 01): a downgrade. The mode byte is in T1, so the server's check of the client tag fails (bad_tag, the client sees peer_rejected); a client that requires the mode refuses mode 00 at once, a server that requires it refuses a plain proof."),
        ("ModifiedMessage", "MODIFIED_PARAMETER", "A message was replaced or changed in transit by more than one bit."),
        ("NonCanonicalShare", "EDGE_CASE", "The low-order share is encoded non-canonically: p or p + 1 (0 and 1 mod p), or with bit 255 set, which X25519 masks (RFC 7748 section 5, decodeUCoordinate)."),
        ("NonceEdge", "EDGE_CASE", "The two nonces differ in a single bit: not a reflection."),
        ("NotNative", "MODIFIED_PARAMETER", "The first bytes from the server are not the HMHS magic; the client fails at the first wrong byte and sends nothing."),
        ("Pipelined", "FUNCTIONALITY", "The client sends application bytes right behind its ClientProof (\"trailing\"), before ServerFinish arrives; the server must leave them unconsumed."),
        ("ReflectedNonce", "AUTH_BYPASS", "A nonce equals the receiver's own: the client refuses a hello with its nonce (sending nothing); the server rejects a proof with its nonce (03 01)."),
        ("Replay", "AUTH_BYPASS", "A message recorded from another handshake (other nonces) is replayed."),
        ("Rfc7748Keys", "FUNCTIONALITY", "The ephemeral secrets are RFC 7748 section 6.1's (client: Alice's, server: Bob's), so the shares on the wire are their public keys and the X25519 secret is the RFC's shared K."),
        ("RoleReflection", "AUTH_BYPASS", "A tag made by one role is presented as the other role's: client and server tags use different keys, so it cannot verify."),
        ("ServerName", "FUNCTIONALITY", "Both sides set the same server name (the server its own, the client the one it expects); it is hashed into every tag like the context and never sent."),
        ("ServerNameMismatch", "AUTH_BYPASS", "The client expects another server name than the server's own (or one side sets none): the server's check of the client tag fails and it sends 03 01, as for a wrong key. This is what stops a selfie or a redirect to another holder of the key."),
        ("ShareChanged", "MODIFIED_PARAMETER", "A bit of client_share or server_share was flipped in transit: each share is covered by its side's tag, so the receiver fails bad_tag (X25519 is never computed on it)."),
        ("SuiteChanged", "AUTH_BYPASS", "The hello's suite byte was changed to another suite the client allows: the client follows it, and the suite in the transcript makes the server's check fail."),
        ("SuiteNotAllowed", "MODIFIED_PARAMETER", "The server's suite is not in the client's allowed set, or not a suite at all: the client sends nothing."),
        ("TrailingData", "FUNCTIONALITY", "Application bytes follow the server's accepting ServerFinish (\"trailing\"); the client must leave them unconsumed."),
        ("Truncated", "MODIFIED_PARAMETER", "A message was cut short in transit, then the stream ended."),
        ("UnexpectedMessage", "MODIFIED_PARAMETER", "A message has the wrong type byte. The server rejects (03 01); the client sends nothing."),
        ("UnexpectedVerdict", "MODIFIED_PARAMETER", "The ServerFinish verdict byte is neither 00 (accept) nor 01 (reject)."),
        ("UnknownKeyId", "AUTH_BYPASS", "The key id is not on the server's keyring. The server rejects exactly as for a wrong tag (03 01); only its local error differs."),
        ("UnknownMode", "MODIFIED_PARAMETER", "The ServerHello mode byte is none of 00, 01, 02: the client fails unknown_mode at that byte and sends nothing."),
        ("VersionMismatch", "MODIFIED_PARAMETER", "The ServerHello version byte is not 01."),
        ("WrongKey", "AUTH_BYPASS", "The client holds another secret under the key id: the server fails bad_tag and sends 03 01, the client fails peer_rejected."),
    ]
}

fn hex(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}

fn session_json(s: &SessionValues, exports: &[Export]) -> Value {
    json!({
        "keyId": hex(&s.key_id),
        "suite": s.suite.name(),
        "forwardSecrecy": s.forward_secrecy,
        "handshakeHash": hex(&s.handshake_hash),
        "c2sKey": hex(&s.c2s),
        "s2cKey": hex(&s.s2c),
        "exports": exports.iter().zip(&s.exports).map(|((label, context, n), out)| json!({
            "label": hex(label),
            "context": hex(context),
            "length": n,
            "output": hex(out),
        })).collect::<Vec<_>>(),
    })
}

/// A side's forward-secrecy fields: `forwardSecrecy` and `ephemeral` when
/// its setting is not off; nothing otherwise (then its ephemeral secret is
/// never used, and the generator keeps it all zeros).
fn forward_secrecy_json(o: &mut Value, setting: ForwardSecrecy, ephemeral: &[u8; 32]) {
    let name = match setting {
        ForwardSecrecy::Off => {
            assert_eq!(
                ephemeral, &[0; 32],
                "an ephemeral secret on a side without the mode"
            );
            return;
        }
        ForwardSecrecy::Offered => "offered",
        ForwardSecrecy::Required => "required",
    };
    o["forwardSecrecy"] = Value::String(name.into());
    o["ephemeral"] = hex(ephemeral);
}

fn spec_json(case: &Case) -> (Value, Value) {
    let s = &case.server;
    let c = &case.client;
    let mut server = json!({
        "suite": s.suite.name(),
        "context": hex(&s.context),
        "serverName": hex(&s.server_name),
        "keyring": s.keyring.iter().map(|(id, key)| json!({"keyId": hex(id), "key": hex(key)})).collect::<Vec<_>>(),
        "random": hex(&s.random),
    });
    forward_secrecy_json(&mut server, s.forward_secrecy, &s.ephemeral);
    let mut client = json!({
        "keyId": hex(&c.key_id),
        "key": hex(&c.key),
        "allowed": c.allowed.iter().map(|s| s.name()).collect::<Vec<_>>(),
        "context": hex(&c.context),
        "serverName": hex(&c.server_name),
        "random": hex(&c.random),
    });
    forward_secrecy_json(&mut client, c.forward_secrecy, &c.ephemeral);
    (server, client)
}

/// The tests one case yields: one checking every view role when both sides
/// saw the same bytes, else one per view role.
fn tests_of(case: &Case) -> Vec<Value> {
    let run = run(&case.server, &case.client, &case.tamper, &case.exports);
    assert_eq!(
        (run.server.as_str(), run.client.as_str()),
        case.expect,
        "case {:?}: machines ended differently from PROTOCOL.md",
        case.comment
    );
    check_shapes(case, &run);
    let changed = run.messages.iter().any(|m| m.sent != m.delivered);
    let mut flags = case.flags.clone();
    for (i, m) in run.messages.iter().enumerate() {
        if m.sent != m.delivered {
            flags.push(
                [
                    "ChangedServerHello",
                    "ChangedClientProof",
                    "ChangedServerFinish",
                ][i],
            );
        }
    }
    let groups: Vec<Vec<Role>> = if changed {
        case.views.iter().map(|&r| vec![r]).collect()
    } else {
        vec![case.views.clone()]
    };
    let (server, client) = spec_json(case);
    groups
        .into_iter()
        .map(|roles| {
            let view = |m: &Msg| -> Vec<u8> {
                if changed && m.from != roles[0] {
                    m.delivered.clone()
                } else {
                    m.sent.clone()
                }
            };
            let messages: Vec<Value> = run
                .messages
                .iter()
                .map(|m| {
                    let mut o = json!({"from": m.from.name(), "data": hex(&view(m))});
                    if !m.trailing.is_empty() {
                        o["trailing"] = hex(&m.trailing);
                    }
                    o
                })
                .collect();
            let comment = if changed {
                format!("{} ({} view)", case.comment, roles[0].name())
            } else {
                case.comment.clone()
            };
            let mut t = json!({
                "comment": comment,
                "flags": flags,
                "server": server,
                "client": client,
                "messages": messages,
                "check": roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
            });
            let mut all_ok = true;
            for r in &roles {
                let got = match r {
                    Role::Server => &run.server,
                    Role::Client => &run.client,
                };
                all_ok &= got == "ok";
                t[format!("{}Result", r.name())] = Value::String(got.clone());
            }
            t["result"] = Value::String(if all_ok { "valid" } else { "invalid" }.into());
            if all_ok {
                assert!(!changed, "a changed transcript must not be a valid test");
                let s = run.server_session.as_ref().unwrap();
                assert_eq!(Some(s), run.client_session.as_ref(), "sessions differ");
                assert_eq!(s.handshake_hash.len(), case.server.suite.mac_len());
                // The mode is used exactly when both sides have it on.
                assert_eq!(
                    s.forward_secrecy,
                    case.server.forward_secrecy != ForwardSecrecy::Off
                        && case.client.forward_secrecy != ForwardSecrecy::Off
                );
                t["session"] = session_json(s, &case.exports);
            }
            t
        })
        .collect()
}

/// Rebuilds objects with keys inserted in sorted order, so the output is
/// sorted whether or not serde_json preserves insertion order.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

pub fn generate() -> String {
    let mut tests = Vec::new();
    for case in cases() {
        tests.extend(tests_of(&case));
    }
    let mut used: Vec<&str> = Vec::new();
    for (i, t) in tests.iter_mut().enumerate() {
        t["tcId"] = json!(i + 1);
        for f in t["flags"].as_array().unwrap() {
            used.push(f.as_str().unwrap());
        }
    }
    let notes = notes();
    for f in &used {
        assert!(notes.iter().any(|n| n.0 == *f), "flag {f} has no note");
    }
    for n in &notes {
        assert!(used.contains(&n.0), "note {} is unused", n.0);
    }
    let doc = json!({
        "algorithm": "hmac-handshake native protocol v1",
        "schema": "handshake_native_test_schema_v1.json",
        "vectorsVersion": VECTORS_VERSION,
        "generator": "tests/native_vectors_gen/",
        "numberOfTests": tests.len(),
        "header": [
            "Handshake conformance vectors for the native protocol, version 1 (PROTOCOL.md).",
            "Produced by tests/native_vectors_gen/ (cargo test --test native_vectors_gen -- --ignored)",
            "by running this crate's native server and client against each other with pinned random",
            "bytes (nonces, ephemeral secrets) and fixed keys; tampered messages were changed in transit",
            "by a relay between the two machines, and the receiving machine's reply and end state",
            "recorded. When a message was changed the two sides saw different bytes, so each side's",
            "view is its own test, named \"(server view)\" or \"(client view)\": there the checked role's",
            "own messages are as it sent them and the others as it received them. All binary fields",
            "are lowercase hex.",
            "\"server\": suite, context, serverName (its own name), keyring (keyId/key pairs) and \"random\"",
            "(the 32-byte server_nonce). \"client\": keyId, key, allowed suites, context, serverName (the",
            "name it expects) and \"random\" (the 32-byte client_nonce). An empty serverName is unset.",
            "A side with the forward-secrecy mode (PROTOCOL.md, \"Forward secrecy\") has \"forwardSecrecy\"",
            "(\"offered\" or \"required\"; absent = off) and \"ephemeral\", its 32-byte X25519 secret (the",
            "Rust machines' 64 random bytes are random || ephemeral; all zeros for a side without it).",
            "Replay: the machine for role R (in \"check\") is fed every message not from R in order, each",
            "followed by its \"trailing\" application bytes, which it must leave unconsumed; it must emit",
            "exactly the messages from R in order and end with R's result (\"ok\", an Error::code(), or",
            "\"incomplete\" = still waiting for input). Valid tests carry \"session\": the key id, suite,",
            "handshake_hash, c2s_key, s2c_key and exporter outputs both sides derive (PROTOCOL.md,",
            "\"Session secrets\"), and forwardSecrecy (true when the keys mix in the X25519 secret);",
            "export labels and contexts are hex. Tests flagged HostilePeer have a message made not by our",
            "machine but by the generator's own key holder (tests/support/fs_peer.rs), with valid tags.",
            "Every field is described in vectors/README.md."
        ],
        "notes": notes.iter().map(|(flag, bug, desc)| (flag.to_string(), json!({"bugType": bug, "description": desc}))).collect::<Map<_, _>>(),
        "testGroups": [{
            "type": "HandshakeTest",
            "profile": "native",
            "source": "PROTOCOL.md",
            "tests": tests,
        }],
    });
    let mut out = serde_json::to_string_pretty(&sorted(doc)).unwrap();
    out.push('\n');
    out
}
