#![cfg(feature = "cli")]
//! `hmac-handshake conformance` (issue 12, items 1 and 2) against our own
//! `serve` and `connect` in every profile: every case that applies runs
//! and passes, the report's lines, totals, JSON and exit status agree, and
//! a peer with another key fails the honest cases (exit 1).

mod conformance;
mod support;

use conformance::cases::{
    MP_CLIENT, MP_SERVER, NATIVE_CLIENT_ALL_SUITES, NATIVE_SERVER, RECIPE_CLIENT, RECIPE_SERVER,
};
use conformance::{conformance, KEY, TIMEOUT};
use support::cli::{Server, BIN};

fn ids(prefix: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{prefix}.{n}")).collect()
}

/// Every server case of each profile passes against our `serve`.
#[test]
fn our_serve_passes_every_case() {
    for (profile, names) in [
        ("recipe", RECIPE_SERVER),
        ("multiprocessing", MP_SERVER),
        ("native", NATIVE_SERVER),
    ] {
        let server = Server::spawn(profile, &[], Some(KEY));
        let v = conformance(&[
            "server",
            &server.port(),
            "--profile",
            profile,
            "--timeout",
            TIMEOUT,
        ]);
        assert_eq!(v.not_ok(), Default::default(), "{profile}: {}", v.stdout);
        assert_eq!(
            v.ids(),
            ids(&format!("{profile}.server"), names),
            "{}",
            v.stdout
        );
        assert_eq!(v.json["mode"], "server");
        assert_eq!(v.json["profile"], profile);
        assert_eq!(v.json["target"], server.port());
    }
}

/// With `--allow-md5` on both sides, the MD5 honest case runs, and the
/// server's taking a raw MD5 reply to a modern challenge is a warning, not
/// a failure (exit 0); with forward secrecy required, the native server
/// gets the case for it.
#[test]
fn md5_and_forward_secrecy_servers() {
    let server = Server::spawn("multiprocessing", &["--allow-md5"], Some(KEY));
    let v = conformance(&[
        "server",
        &server.port(),
        "--profile",
        "multiprocessing",
        "--allow-md5",
        "--timeout",
        TIMEOUT,
    ]);
    assert_eq!(
        v.not_ok(),
        [(
            "multiprocessing.server.md5_reply".to_string(),
            "warn".to_string()
        )]
        .into(),
        "{}",
        v.stdout
    );
    assert_eq!(v.result("multiprocessing.server.honest.md5"), Some("ok"));
    assert_eq!(v.code, Some(0));

    let server = Server::spawn(
        "native",
        &["--forward-secrecy", "--suite", "hmac-sha384"],
        Some(KEY),
    );
    let v = conformance(&[
        "server",
        &server.port(),
        "--profile",
        "native",
        "--timeout",
        TIMEOUT,
    ]);
    assert_eq!(v.not_ok(), Default::default(), "{}", v.stdout);
    assert_eq!(
        v.result("native.server.forward_secrecy_required"),
        Some("ok")
    );
    assert!(v.stdout.contains("(hmac-sha384, mode 02)"), "{}", v.stdout);
}

/// Every client case of each profile passes against our `connect`, which
/// gets the address and message through `{addr}` and `{message}`.
#[test]
fn our_connect_passes_every_case() {
    for (profile, names) in [
        ("recipe", RECIPE_CLIENT),
        ("multiprocessing", MP_CLIENT),
        ("native", NATIVE_CLIENT_ALL_SUITES),
    ] {
        let v = conformance(&[
            "client",
            "--profile",
            profile,
            "--timeout",
            TIMEOUT,
            "--",
            BIN,
            "connect",
            "--profile",
            profile,
            "{addr}",
            "--message",
            "{message}",
            "--timeout",
            TIMEOUT,
        ]);
        assert_eq!(v.not_ok(), Default::default(), "{profile}: {}", v.stdout);
        assert_eq!(
            v.ids(),
            ids(&format!("{profile}.client"), names),
            "{}",
            v.stdout
        );
        assert_eq!(v.json["mode"], "client");
    }
    // The environment variables, through a shell, and forward secrecy
    // required of the server side.
    let v = conformance(&[
        "client",
        "--profile",
        "native",
        "--forward-secrecy",
        "--suite",
        "hmac-sha3_256",
        "--timeout",
        TIMEOUT,
        "--",
        "sh",
        "-c",
        &format!(
            "exec {BIN} connect --profile native \"$HMAC_HANDSHAKE_ADDR\" --message \
             \"$HMAC_HANDSHAKE_MESSAGE\" --timeout {TIMEOUT}"
        ),
    ]);
    assert_eq!(v.not_ok(), Default::default(), "{}", v.stdout);
    assert_eq!(
        v.result("native.client.forward_secrecy_required"),
        Some("ok")
    );
    assert_eq!(v.result("native.client.honest.hmac-sha3_256"), Some("ok"));
    assert_eq!(v.result("native.client.honest.hmac-sha256"), None);
}

/// A peer with another key fails every honest case: the report says so
/// case by case, and the exit status is 1.
#[test]
fn a_peer_with_another_key_fails() {
    let other = "hex:ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let server = Server::spawn("multiprocessing", &[], Some(other));
    let v = conformance(&[
        "server",
        &server.port(),
        "--profile",
        "multiprocessing",
        "--timeout",
        TIMEOUT,
    ]);
    assert_eq!(v.code, Some(1));
    let failed: Vec<&str> = v
        .cases
        .iter()
        .filter(|(_, r, _)| r == "FAIL")
        .map(|(id, _, _)| id.as_str())
        .collect();
    for id in [
        "multiprocessing.server.honest.sha256",
        "multiprocessing.server.pipelined",
    ] {
        assert!(failed.contains(&id), "{}", v.stdout);
    }
    assert!(
        v.stdout.contains(
            "FAIL multiprocessing.server.honest.sha256  answered our honest reply with #FAILURE#"
        ),
        "{}",
        v.stdout
    );
    // A client with another key: its reply does not verify.
    let v = conformance(&[
        "client",
        "--profile",
        "recipe",
        "--timeout",
        TIMEOUT,
        "--",
        "sh",
        "-c",
        &format!(
            "HMAC_HANDSHAKE_KEY={other} exec {BIN} connect --profile recipe \"$HMAC_HANDSHAKE_ADDR\" \
             --message \"$HMAC_HANDSHAKE_MESSAGE\" --timeout {TIMEOUT}"
        ),
    ]);
    assert_eq!(v.code, Some(1));
    assert_eq!(
        v.result("recipe.client.honest"),
        Some("FAIL"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("does not verify under our key"),
        "{}",
        v.stdout
    );
}
