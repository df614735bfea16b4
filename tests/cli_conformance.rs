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
    assert_eq!(v.result("multiprocessing.server.honest.legacy"), Some("ok"));
    assert!(v.stdout.contains("to our {md5} challenge"), "{}", v.stdout);
    assert!(
        v.stdout.contains("to our legacy (HMAC-MD5) challenge"),
        "{}",
        v.stdout
    );
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
    // The environment variables, through a shell; a client that allows one
    // suite and requires forward secrecy: every case runs mode 02 in that
    // suite, a server naming another suite or offering no forward secrecy
    // is refused.
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
             \"$HMAC_HANDSHAKE_MESSAGE\" --timeout {TIMEOUT} --suite hmac-sha3_256 \
             --forward-secrecy"
        ),
    ]);
    assert_eq!(v.not_ok(), Default::default(), "{}", v.stdout);
    assert_eq!(
        v.result("native.client.forward_secrecy_downgrade"),
        Some("ok")
    );
    assert_eq!(v.result("native.client.honest.hmac-sha3_256"), Some("ok"));
    assert_eq!(v.result("native.client.honest.hmac-sha256"), None);
    assert!(v.stdout.contains("hmac-sha3_256 (mode 02)"), "{}", v.stdout);
    assert!(
        v.stdout
            .contains("naming hmac-sha256, not an allowed suite"),
        "{}",
        v.stdout
    );
    // The same client without --forward-secrecy follows a mode 00 server:
    // the downgrade case catches it.
    let v = conformance(&[
        "client",
        "--profile",
        "native",
        "--forward-secrecy",
        "--timeout",
        TIMEOUT,
        "--",
        BIN,
        "connect",
        "--profile",
        "native",
        "{addr}",
        "--message",
        "{message}",
        "--timeout",
        TIMEOUT,
    ]);
    assert_eq!(
        v.not_ok(),
        [(
            "native.client.forward_secrecy_downgrade".to_string(),
            "FAIL".to_string()
        )]
        .into(),
        "{}",
        v.stdout
    );
}

/// Errors before any case: a command-line error exits 2, a server that is
/// not there is one error (exit 1), not a FAIL per case; a closed stdout
/// does not panic.
#[test]
fn errors_before_the_cases() {
    use support::cli::run;
    for (args, code, say) in [
        (
            &[
                "conformance",
                "server",
                "127.0.0.1:1",
                "--profile",
                "recipe",
                "--suite",
                "hmac-sha256",
            ][..],
            2,
            "error: --suite needs --profile native\n",
        ),
        (
            &["conformance", "server", "127.0.0.1", "--profile", "recipe"][..],
            2,
            "error: ADDR 127.0.0.1: invalid socket address",
        ),
        (
            &[
                "conformance",
                "server",
                "127.0.0.1:1",
                "--profile",
                "recipe",
            ][..],
            1,
            "error: cannot connect to 127.0.0.1:1:",
        ),
    ] {
        let r = run(args, Some(KEY));
        assert_eq!(r.code, Some(code), "{args:?}: {r:?}");
        assert!(r.stderr.starts_with(say), "{args:?}: {r:?}");
        assert_eq!(r.stdout(), "", "{args:?}");
    }
    // A legacy server (MD5) without --allow-md5.
    let server = Server::spawn(
        "multiprocessing",
        &["--allow-md5", "--digest", "md5"],
        Some(KEY),
    );
    let r = run(
        &[
            "conformance",
            "server",
            &server.port(),
            "--profile",
            "multiprocessing",
        ],
        Some(KEY),
    );
    let _ = r;
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
    // The first honest case fails, and no other runs: a peer that
    // refuses every key would pass most hostile cases.
    assert_eq!(v.code, Some(1));
    assert_eq!(
        v.ids(),
        ["multiprocessing.server.honest.sha256"],
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains(
            "FAIL multiprocessing.server.honest.sha256  answered our honest reply with #FAILURE#"
        ),
        "{}",
        v.stdout
    );
    assert!(
        v.stderr
            .contains("the first honest handshake failed, so no other case ran"),
        "{}",
        v.stderr
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

/// Each wait is bounded: a server that sends its `ServerFinish` one byte
/// every 300 ms (well within `--timeout 1` per byte, far over it for the
/// message) fails the honest case, and a CMD that leaves a process behind
/// (`sleep 400 &`) is killed with it, so the run ends at once.
#[test]
fn waits_are_bounded() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let server = Server::spawn("native", &[], Some(KEY));
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap().to_string();
    let upstream = server.addr;
    std::thread::spawn(move || {
        for client in proxy.incoming().take(64) {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(upstream) else {
                return;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let mut byte = [0u8; 1];
                let mut n = 0;
                while s_in.read_exact(&mut byte).is_ok() {
                    if n >= 39 {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                    }
                    n += 1;
                    if c_out.write_all(&byte).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let v = conformance(&[
        "server",
        &proxy_addr,
        "--profile",
        "native",
        "--timeout",
        "1",
    ]);
    assert_eq!(
        v.result("native.server.honest"),
        Some("FAIL"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout
            .contains("FAIL native.server.honest  no ServerFinish: it sent"),
        "{}",
        v.stdout
    );

    let v = conformance(&[
        "client",
        "--profile",
        "recipe",
        "--timeout",
        "1",
        "--",
        "sh",
        "-c",
        "sleep 400 & echo left a sleep behind >&2; exit 1",
    ]);
    assert_eq!(v.result("recipe.client.honest"), Some("FAIL"));
    assert!(
        v.stdout
            .contains("the client exited 1 without connecting (its stderr: left a sleep behind)"),
        "{}",
        v.stdout
    );
}
