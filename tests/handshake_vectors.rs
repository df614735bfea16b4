//! Replays every handshake transcript in `vectors/handshake/*.json` through
//! our machines, checking every byte each machine sends and its verdict.
//!
//! For each role listed in a test's `check`, the machine of that role is fed
//! every message not from it, in order, and must emit exactly the messages
//! from it, in order, then end as `serverResult` / `clientResult` says:
//! `ok` (done), an [`Error::code`](hmac_handshake::Error::code), or
//! `incomplete` (still waiting for input). Each replay runs three times:
//! whole messages, one byte at a time, and in uneven chunks, so the results
//! must not depend on chunking: the same bytes sent, the same ending, and
//! the same bytes consumed of each message, failures included. A `trailing` field holds application bytes
//! that follow the last handshake message and must be left unconsumed.
//! Each machine is then [`finish`](Handshake::finish)ed: a machine that
//! ended `ok` hands over its outcome (and, for the native profile only, a
//! session); any other is refused with its own error, or
//! [`Error::NotFinished`] while it still waits for input.
//!
//! The native profile (`vectors/handshake/native.json`) builds its machines
//! from the `server` object (suite, context, server name, keyring, nonce,
//! forward-secrecy setting and ephemeral secret) and the `client` object
//! (key id, key, allowed suites, context, server name, nonce, forward-secrecy
//! setting and ephemeral secret): the server's keyring is a [`Keyring`] of
//! keys of the server's suite, the client holds one [`NativeKey`] per
//! allowed suite (same key id and secret). For its valid tests every role
//! that finishes `ok` must also hold the `session` of the vector: key id,
//! suite, whether it has forward secrecy, handshake hash, both session keys
//! and every exporter output.

use std::path::Path;

use hmac_handshake::multiprocessing::Config as MpConfig;
use hmac_handshake::native::{self, ForwardSecrecy, Keyring, NativeKey, Session, Suite};
use hmac_handshake::{
    recipe, ClientHandshake, Digest, Error, Handshake, Key, Profile, ServerHandshake, Status,
};
use serde_json::Value;

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap_or_default()).unwrap()
}

fn digest(v: &Value) -> Digest {
    let name = v["digest"].as_str().unwrap_or("sha256");
    Digest::from_name(name.as_bytes()).unwrap_or_else(|| panic!("unknown digest {name}"))
}

/// The multiprocessing settings of one side: `challenge` (`legacy` or
/// `modern`), `digest` (of a modern challenge) and `allowMd5`. Settings the
/// library refuses (a digest CPython does not allow, MD5 without
/// `allowMd5`) are an error, as they were for the old constructor.
fn mp_config(side: &Value) -> Result<MpConfig, Error> {
    let allow_md5 = side["allowMd5"].as_bool().unwrap_or(false);
    if side["challenge"].as_str() == Some("legacy") {
        // A legacy challenge names no digest; its reply is raw HMAC-MD5.
        if digest(side) != Digest::Md5 {
            return Err(Error::UnsupportedDigest(digest(side)));
        }
        if !allow_md5 {
            return Err(Error::Md5Disabled);
        }
        return Ok(MpConfig::legacy());
    }
    let base = if allow_md5 {
        MpConfig::with_md5()
    } else {
        MpConfig::new()
    };
    base.with_digest(digest(side))
}

/// The vector's `random` as the array a pinned constructor takes.
fn random_array<const N: usize>(side: &Value) -> Result<[u8; N], String> {
    let random = hex_field(side, "random");
    random
        .as_slice()
        .try_into()
        .map_err(|_| format!("random of {} bytes, expected {N}", random.len()))
}

/// A native side's 64 pinned random bytes: its `random` (the 32-byte
/// nonce), then its `ephemeral` X25519 secret (32 bytes; zeros when the
/// vector has none, as in the cases without the forward-secrecy mode).
fn native_random(side: &Value) -> Result<[u8; 64], String> {
    let nonce: [u8; 32] = random_array(side)?;
    let ephemeral = match side.get("ephemeral") {
        Some(_) => hex_field(side, "ephemeral"),
        None => vec![0; 32],
    };
    let ephemeral: [u8; 32] = ephemeral
        .as_slice()
        .try_into()
        .map_err(|_| format!("ephemeral of {} bytes, expected 32", ephemeral.len()))?;
    let mut random = [0u8; 64];
    random[..32].copy_from_slice(&nonce);
    random[32..].copy_from_slice(&ephemeral);
    Ok(random)
}

/// A native side's `forwardSecrecy` setting (`off` when absent).
fn forward_secrecy(side: &Value) -> Result<ForwardSecrecy, String> {
    match side.get("forwardSecrecy").and_then(Value::as_str) {
        None | Some("off") => Ok(ForwardSecrecy::Off),
        Some("offered") => Ok(ForwardSecrecy::Offered),
        Some("required") => Ok(ForwardSecrecy::Required),
        Some(other) => Err(format!("forwardSecrecy {other:?}")),
    }
}

/// A native side's settings: context, server name, forward secrecy.
fn native_config(side: &Value) -> Result<native::Config, String> {
    Ok(native::Config::new(&hex_field(side, "context"))
        .with_server_name(&hex_field(side, "serverName"))
        .map_err(|e| format!("server name refused: {e:?}"))?
        .with_forward_secrecy(forward_secrecy(side)?))
}

/// A multiprocessing side's pinned random: the challenge (20 bytes legacy,
/// 40 modern) at the start of the `[u8; 40]` the constructors take.
fn mp_random(side: &Value, config: &MpConfig) -> Result<[u8; 40], String> {
    let random = hex_field(side, "random");
    if random.len() != config.challenge_len() {
        return Err(format!(
            "random of {} bytes, expected {}",
            random.len(),
            config.challenge_len()
        ));
    }
    let mut out = [0u8; 40];
    out[..random.len()].copy_from_slice(&random);
    Ok(out)
}

/// Hands out every pending output byte, in pieces of at most `chunk`.
fn drain(m: &mut dyn Handshake, chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = m.write_output(&mut buf);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Feeds `data` in pieces per `chunking`; returns bytes consumed.
fn feed(m: &mut dyn Handshake, data: &[u8], chunking: usize) -> usize {
    let mut used = 0;
    let mut step = 0;
    while used < data.len() {
        let size = match chunking {
            0 => data.len(),
            1 => 1,
            _ => [3, 1, 7, 2, 13][step % 5],
        };
        step += 1;
        let end = (used + size).min(data.len());
        let n = m.receive(&data[used..end]);
        used += n;
        if n < end - (used - n) {
            // The machine stopped consuming: done, failed, or has output.
            return used;
        }
    }
    used
}

/// Replays one role; returns the bytes consumed of each input message.
fn replay(kind: &str, test: &Value, role: &str, chunking: usize) -> Result<Vec<usize>, String> {
    if kind == "native" {
        return replay_native(test, role, chunking);
    }
    let side = &test[role];
    let key = Key::new(&hex_field(test, "key"));
    let (_, consumed, session) = match (kind, role) {
        ("recipe", "server") => {
            let config = recipe::Config {
                digest: digest(side),
            };
            let m = ServerHandshake::with_pinned_random(&key, config, &random_array(side)?);
            finish(m, test, role, chunking, Profile::Recipe)?
        }
        ("recipe", _) => {
            let config = recipe::Config {
                digest: digest(side),
            };
            let m = ClientHandshake::with_pinned_random(&key, config, &random_array(side)?);
            finish(m, test, role, chunking, Profile::Recipe)?
        }
        ("multiprocessing", "server") => {
            let config = mp_config(side).map_err(|e| e.to_string())?;
            let random = mp_random(side, &config)?;
            let m = ServerHandshake::with_pinned_random(&key, config, &random);
            finish(m, test, role, chunking, Profile::Multiprocessing)?
        }
        ("multiprocessing", _) => {
            let config = mp_config(side).map_err(|e| e.to_string())?;
            let random = mp_random(side, &config)?;
            let m = ClientHandshake::with_pinned_random(&key, config, &random);
            finish(m, test, role, chunking, Profile::Multiprocessing)?
        }
        (other, _) => panic!("unknown profile {other}"),
    };
    if session.is_some() {
        return Err(format!("profile {kind} has a native session"));
    }
    Ok(consumed)
}

/// Drives `m` through the test, then finishes it: a machine that ended
/// `ok` must finish with an outcome of `profile`; any other must refuse
/// with the error its status shows, or `NotFinished` while it waits for
/// input. Returns whether it ended done, the bytes consumed of each input
/// message, and the session, if the machine handed one over.
fn finish<H: Handshake>(
    mut m: H,
    test: &Value,
    role: &str,
    chunking: usize,
    profile: Profile,
) -> Result<(bool, Vec<usize>, Option<Session>), String> {
    let (done, consumed) = drive(&mut m, test, role, chunking)?;
    let status = format!("{:?}", m.status());
    let refusal = match m.status() {
        Status::Failed(e) => e,
        _ => Error::NotFinished,
    };
    match m.finish() {
        Ok(f) if done && f.outcome.scheme.profile() == profile => {
            Ok((done, consumed, f.into_session()))
        }
        Ok(f) => Err(format!("{status} but finish() gave {:?}", f.outcome)),
        Err(e) if !done && e == refusal => Ok((done, consumed, None)),
        Err(e) => Err(format!("{status} but finish() refused with {e:?}")),
    }
}

fn suite(name: &str) -> Suite {
    Suite::from_name(name).unwrap_or_else(|| panic!("unknown suite {name}"))
}

fn native_key(v: &Value, suite: Suite) -> NativeKey {
    NativeKey::new(&hex_field(v, "keyId"), &hex_field(v, "key"), suite).unwrap()
}

/// Replays a native-profile test; for valid tests, checks the session too.
fn replay_native(test: &Value, role: &str, chunking: usize) -> Result<Vec<usize>, String> {
    let (s, c) = (&test["server"], &test["client"]);
    let (done, consumed, session) = if role == "server" {
        let server_suite = suite(s["suite"].as_str().unwrap());
        let keyring = Keyring::new(
            s["keyring"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| native_key(k, server_suite)),
        )
        .map_err(|e| format!("keyring refused: {e:?}"))?;
        let config = native_config(s)?;
        let m = ServerHandshake::with_pinned_random(keyring, config, &native_random(s)?);
        finish(m, test, role, chunking, Profile::Native)?
    } else {
        // The old "allowed" set: one key per allowed suite, same id and secret.
        let keys: Vec<NativeKey> = c["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| native_key(c, suite(n.as_str().unwrap())))
            .collect();
        let config = native_config(c)?;
        let m = ClientHandshake::with_pinned_random(keys, config, &native_random(c)?);
        finish(m, test, role, chunking, Profile::Native)?
    };
    if done != session.is_some() {
        return Err(format!("done {done} but the session is {session:?}"));
    }
    match (&session, test.get("session")) {
        (Some(got), Some(want)) => check_session(got, want)?,
        (Some(_), None) if test["result"] == "valid" => {
            return Err("valid test without session".into())
        }
        _ => {}
    }
    Ok(consumed)
}

/// Compares a session with the vector's `session` object, byte for byte.
fn check_session(got: &Session, want: &Value) -> Result<(), String> {
    let field = |name: &str, got: &[u8]| {
        let want = hex_field(want, name);
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "session {name}: {} expected {}",
                hex::encode(got),
                hex::encode(&want)
            ))
        }
    };
    field("keyId", got.key_id().as_bytes())?;
    if got.suite() != suite(want["suite"].as_str().unwrap()) {
        return Err(format!("session suite {}", got.suite()));
    }
    let fs = want["forwardSecrecy"]
        .as_bool()
        .ok_or("session without a forwardSecrecy flag")?;
    if got.forward_secrecy() != fs {
        return Err(format!(
            "session forwardSecrecy {} expected {fs}",
            got.forward_secrecy()
        ));
    }
    field("handshakeHash", got.handshake_hash())?;
    field("c2sKey", got.client_to_server_key())?;
    field("s2cKey", got.server_to_client_key())?;
    let exports = want["exports"].as_array().unwrap();
    if exports.is_empty() {
        return Err("session without exports".into());
    }
    for (i, e) in exports.iter().enumerate() {
        let n = usize::try_from(e["length"].as_u64().unwrap()).unwrap();
        let mut out = vec![0u8; n];
        got.export(&hex_field(e, "label"), &hex_field(e, "context"), &mut out)
            .map_err(|err| format!("export {i}: {err}"))?;
        let expected = hex_field(e, "output");
        if out != expected {
            return Err(format!(
                "export {i}: {} expected {}",
                hex::encode(&out),
                hex::encode(&expected)
            ));
        }
    }
    Ok(())
}

/// Feeds the peer's messages to `m` and checks what it sends and how it
/// ends; returns whether it ended done, and the bytes consumed of each
/// input message.
fn drive(
    m: &mut dyn Handshake,
    test: &Value,
    role: &str,
    chunking: usize,
) -> Result<(bool, Vec<usize>), String> {
    let mut consumed = Vec::new();
    let out_chunk = if chunking == 1 { 1 } else { 256 };
    let expected = test[format!("{role}Result")].as_str().unwrap_or("ok");
    let messages = test["messages"].as_array().unwrap();
    for (i, msg) in messages.iter().enumerate() {
        let data = hex_field(msg, "data");
        if msg["from"].as_str() == Some(role) {
            let got = drain(m, out_chunk);
            if got != data {
                return Err(format!(
                    "message {i}: sent {} expected {}",
                    hex::encode(&got),
                    hex::encode(&data)
                ));
            }
        } else {
            let pending = drain(m, out_chunk);
            if !pending.is_empty() {
                return Err(format!(
                    "message {i}: unexpected output {}",
                    hex::encode(&pending)
                ));
            }
            let trailing = hex_field(msg, "trailing");
            let mut input = data.clone();
            input.extend_from_slice(&trailing);
            let used = feed(m, &input, chunking);
            consumed.push(used);
            if expected == "ok" && used != data.len() {
                return Err(format!(
                    "message {i}: consumed {used} of {} handshake bytes (+{} trailing)",
                    data.len(),
                    trailing.len()
                ));
            }
            if used > data.len() {
                return Err(format!("message {i}: consumed application bytes"));
            }
        }
    }
    let extra = drain(m, out_chunk);
    if !extra.is_empty() {
        return Err(format!("unexpected final output {}", hex::encode(&extra)));
    }
    let got = match m.status() {
        Status::Done(_) => "ok".to_string(),
        Status::Failed(e) => e.code().to_string(),
        Status::NeedInput => "incomplete".to_string(),
        Status::Send(_) => "send".to_string(),
        other => format!("unknown status {other:?}"),
    };
    // Errors are sticky: feeding more input changes nothing.
    if let Status::Failed(e) = m.status() {
        m.receive(&[0u8; 8]);
        if m.status() != Status::Failed(e) {
            return Err("error was not sticky".into());
        }
    }
    if got == expected {
        Ok((got == "ok", consumed))
    } else {
        Err(format!("ended {got}, expected {expected}"))
    }
}

#[test]
fn handshake_transcripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/handshake");
    let mut passed = 0;
    let mut failed = Vec::new();
    let mut per_profile = std::collections::BTreeMap::<String, usize>::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for group in doc["testGroups"].as_array().unwrap() {
            let kind = group["profile"].as_str().unwrap();
            for test in group["tests"].as_array().unwrap() {
                let mut ok = true;
                for role in test["check"].as_array().unwrap() {
                    let role = role.as_str().unwrap();
                    // Failures included, every chunking consumes the same bytes.
                    let mut first: Option<Vec<usize>> = None;
                    for chunking in 0..3 {
                        let result =
                            replay(kind, test, role, chunking).and_then(|used| match &first {
                                Some(f) if *f != used => {
                                    Err(format!("consumed {used:?}, whole messages consumed {f:?}"))
                                }
                                _ => {
                                    first = Some(used);
                                    Ok(())
                                }
                            });
                        if let Err(why) = result {
                            ok = false;
                            failed.push(format!(
                                "{} tcId {} ({}) as {role}, chunking {chunking}: {why}",
                                path.file_name().unwrap().to_string_lossy(),
                                test["tcId"],
                                test["comment"].as_str().unwrap_or_default()
                            ));
                        }
                    }
                }
                if ok {
                    passed += 1;
                    *per_profile.entry(kind.to_string()).or_default() += 1;
                }
            }
        }
    }
    println!("handshake vectors per profile: {per_profile:?}");
    println!("{passed} passed, {} failed", failed.len());
    assert!(failed.is_empty(), "{:#?}", failed);
    assert!(per_profile.get("multiprocessing").copied().unwrap_or(0) >= 40);
    assert!(per_profile.get("recipe").copied().unwrap_or(0) >= 10);
    assert!(per_profile.get("native").copied().unwrap_or(0) >= 30);
}

/// Every vector file's `vectorsVersion`, `schema` and SHA-256: a file whose
/// bytes change fails here until its version is raised (in its generator:
/// `VECTORS_VERSION` of `tests/native_vectors_gen/writer.rs` or
/// `vectors/tools/gen_handshake_vectors.py`; by hand in `vectors/hmac/`),
/// the CHANGELOG says what changed, and this table is updated
/// (vectors/README.md, "Versions").
#[rustfmt::skip]
const PINNED: [(&str, u64, &str, &str); 6] = [
    ("handshake/multiprocessing.json", 1, "handshake_multiprocessing_test_schema_v1.json", "87eb4f51f6c11734c9c87ac37757993af8b9b44e52750485dfe2dd2871369f6f"),
    ("handshake/native.json", 1, "handshake_native_test_schema_v1.json", "8e280f282ce8f5825f31e276ebc7e1fcb89bda4c6bc3a1fa9a242d8ef8720d0a"),
    ("handshake/recipe.json", 1, "handshake_recipe_test_schema_v1.json", "8466d9d7aeb3dfe4c7280c208e39cde0fd33df79d5cafcd8bc8aff918183d1dd"),
    ("hmac/rfc2104_hmac_md5.json", 1, "hmac_mac_test_schema_v1.json", "b4df7d3716e948dbfd079836c467474f3295d3a7e729b402830a80b486c3a0ae"),
    ("hmac/rfc2202_hmac_md5_sha1.json", 1, "hmac_mac_test_schema_v1.json", "0881d0cf2fffc1c3357f67fabd062e61c8cff82c11fea3237432412fbd36ce15"),
    ("hmac/rfc4231_hmac_sha2.json", 1, "hmac_mac_test_schema_v1.json", "1143fb166c3cbd61f76ea3cf7c28874cf9724bb6f87d403bf7f7a821a4ea6460"),
];

#[test]
fn vector_files_carry_their_pinned_version_and_schema() {
    use sha2::Digest as _;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut on_disk: Vec<String> = ["handshake", "hmac"]
        .iter()
        .flat_map(|sub| {
            std::fs::read_dir(dir.join(sub))
                .unwrap()
                .map(move |e| format!("{sub}/{}", e.unwrap().file_name().to_string_lossy()))
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    on_disk.sort();
    let pinned: Vec<&str> = PINNED.iter().map(|p| p.0).collect();
    assert_eq!(on_disk, pinned, "every vector file needs a row in PINNED");
    let mut stale = Vec::new();
    for (name, version, schema, sha256) in PINNED {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            doc["vectorsVersion"].as_u64(),
            Some(version),
            "{name}: vectorsVersion"
        );
        assert_eq!(doc["schema"].as_str(), Some(schema), "{name}: schema");
        assert!(
            dir.join("schema").join(schema).is_file(),
            "{name}: no vectors/schema/{schema}"
        );
        // Line endings as committed, whatever a checkout made of them.
        let got = hex::encode(sha2::Sha256::digest(text.replace("\r\n", "\n").as_bytes()));
        if got != sha256 {
            stale.push(format!("{name}: sha256 {got}"));
        }
    }
    assert!(
        stale.is_empty(),
        "vector files changed: raise their vectorsVersion, say what changed in CHANGELOG.md, \
         and update PINNED: {stale:#?}"
    );
}
