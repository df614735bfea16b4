#![cfg(feature = "cli")]
//! The conformance tester catches broken peers (issue 12, "Done when"):
//! `tests/peers/broken_peer.py` is an honest peer of each profile and
//! role but for one flaw chosen with `--flaw`, and for every flaw exactly
//! the case written against it fails (or warns, for the MD5 reply that
//! CPython 3.12+ takes), every other case passes; the flawless peer passes
//! them all. Together the flaws give every case of `conformance server`
//! and `conformance client` a broken peer that it alone catches.

mod conformance;
#[path = "support/serve_kit.rs"]
mod kit;
mod support;

use std::collections::BTreeMap;

use conformance::{cases, conformance, peers_dir, start_peer, TIMEOUT};
use kit::cpython;

/// A flaw and what it must give: the case ids (after `PROFILE.ROLE.`)
/// that are not `ok`, with their result.
type Flaw = (&'static str, &'static [(&'static str, &'static str)]);

const F: &str = "FAIL";

/// Every flaw of a server under `conformance server`.
const RECIPE_SERVER: &[Flaw] = &[
    ("none", &[]),
    ("one_recv", &[("one_byte", F)]),
    ("drop_pipelined", &[("pipelined", F)]),
    ("empty_key_backdoor", &[("wrong_key", F)]),
    ("prefix31", &[("bitflip", F)]),
    ("short_read_prefix", &[("truncated", F)]),
    ("remember_last", &[("replay", F)]),
    ("challenge_pool4", &[("fresh", F)]),
];

const MP_SERVER: &[Flaw] = &[
    ("none", &[]),
    (
        "sha256_only",
        &[
            ("honest.sha384", F),
            ("honest.sha3_256", F),
            ("honest.sha3_384", F),
        ],
    ),
    ("one_recv", &[("one_byte", F)]),
    ("drop_after_welcome", &[("pipelined", F)]),
    ("empty_key_backdoor", &[("wrong_key", F)]),
    ("prefix8", &[("bitflip.reply", F)]),
    ("no_challenge_tag_check", &[("bitflip.challenge", F)]),
    ("ignore_verdict", &[("bitflip.welcome", F)]),
    ("accept_prefix_at_eof", &[("truncated", F)]),
    ("unbounded_length", &[("oversized", F)]),
    ("negative_as_long_form", &[("negative", F)]),
    ("unbounded_long_form", &[("long_form", F)]),
    ("remember_last", &[("replay", F)]),
    ("challenge_pool4", &[("fresh", F)]),
    ("accept_md5", &[("md5_reply", "warn")]),
    (
        "accept_any16",
        &[
            ("wrong_key", F),
            ("bitflip.reply", F),
            ("md5_reply", "warn"),
        ],
    ),
];

const NATIVE_SERVER: &[Flaw] = &[
    ("none", &[]),
    ("one_recv", &[("one_byte", F)]),
    ("drop_after_proof", &[("pipelined", F)]),
    ("zero_key_backdoor", &[("wrong_key", F)]),
    ("ignore_key_id", &[("unknown_key_id", F)]),
    ("no_key_id_bound", &[("key_id_length", F)]),
    ("ignore_type", &[("unexpected_message", F)]),
    ("mode00_takes_share", &[("unexpected_message", F)]),
    ("accept_prefix_at_eof", &[("truncated", F)]),
    ("prefix16", &[("bitflip", F)]),
    ("accept_server_tag", &[("role_reflection", F)]),
    ("remember_last", &[("replay", F)]),
    ("nonce_pool4", &[("fresh", F)]),
];

/// The native server's flaws under forward secrecy offered (`--mode 01`):
/// the tester adds `honest.without_forward_secrecy` (a plain proof, taken).
const NATIVE_SERVER_OFFERED: &[Flaw] = &[
    ("none", &[]),
    (
        "offered_refuses_plain",
        &[("honest.without_forward_secrecy", F)],
    ),
];

/// The native server's flaws under forward secrecy required (`--mode 02`).
const NATIVE_SERVER_FS: &[Flaw] = &[
    ("none", &[]),
    ("fs_accepts_plain", &[("forward_secrecy_required", F)]),
];

/// Every flaw of a client under `conformance client`.
const RECIPE_CLIENT: &[Flaw] = &[
    ("none", &[]),
    ("one_recv", &[("one_byte", F)]),
    ("answer_short", &[("short_challenge", F)]),
    ("no_echo_check", &[("echo_check", F)]),
];

const MP_CLIENT: &[Flaw] = &[
    ("none", &[]),
    (
        "sha256_only",
        &[
            ("honest.sha384", F),
            ("honest.sha3_256", F),
            ("honest.sha3_384", F),
        ],
    ),
    ("one_recv", &[("one_byte", F)]),
    ("drop_after_answer", &[("pipelined", F)]),
    ("empty_key_backdoor", &[("wrong_answer", F)]),
    ("prefix8", &[("bitflip.answer", F)]),
    ("no_challenge_tag_check", &[("bitflip.challenge", F)]),
    ("ignore_verdict", &[("bitflip.welcome", F)]),
    ("eof_is_ok", &[("missing_answer", F)]),
    ("unbounded_length", &[("oversized_answer", F)]),
    (
        "accept_any16",
        &[("wrong_answer", F), ("bitflip.answer", F)],
    ),
    ("challenge_pool4", &[("fresh", F)]),
    ("challenge_from_server", &[("replayed_answer", F)]),
    ("send_early", &[("early", F)]),
    ("no_echo_check", &[("echo_check", F)]),
];

const NATIVE_CLIENT: &[Flaw] = &[
    ("none", &[]),
    ("refuse_offered", &[("forward_secrecy_offered", F)]),
    ("one_recv", &[("one_byte", F)]),
    ("drop_after_finish", &[("pipelined", F)]),
    ("no_magic_check", &[("not_native", F)]),
    ("no_version_check", &[("version", F)]),
    ("no_suite_check", &[("suite", F)]),
    ("no_mode_check", &[("unknown_mode", F)]),
    ("ignore_verdict", &[("rejected", F)]),
    ("verdict_not_one_ok", &[("unexpected_verdict", F)]),
    ("no_type_check", &[("unexpected_message", F)]),
    ("prefix16", &[("bitflip", F)]),
    ("eof_is_ok", &[("missing_finish", F)]),
    ("any_known_suite", &[("suite", F)]),
    ("nonce_pool4", &[("fresh", F)]),
    ("nonce_from_server", &[("replayed_finish", F)]),
    ("no_echo_check", &[("echo_check", F)]),
];

/// The native client's flaws when it requires forward secrecy (the peer
/// run with `--forward-secrecy required`, the tester with
/// `--forward-secrecy`: every case in mode 02, and a mode 00 server
/// refused).
const NATIVE_CLIENT_FS: &[Flaw] = &[
    ("none", &[]),
    ("accept_downgrade", &[("forward_secrecy_downgrade", F)]),
];

/// The options of the tester for `profile`: the Python native peers know
/// HMAC-SHA-256 only.
fn options(profile: &str) -> Vec<&'static str> {
    let mut options = vec!["--timeout", TIMEOUT];
    if profile == "native" {
        options.extend_from_slice(&["--suite", "hmac-sha256"]);
    }
    options
}

/// What must not be `ok` for `flaw`, by full case id.
fn wanted(profile: &str, role: &str, flaw: &Flaw) -> BTreeMap<String, String> {
    flaw.1
        .iter()
        .map(|(case, result)| (format!("{profile}.{role}.{case}"), (*result).to_string()))
        .collect()
}

fn broken_servers(profile: &str, flaws: &[Flaw]) {
    broken_servers_with(profile, flaws, &[]);
}

/// As [`broken_servers`], each server started with `peer_options` too.
fn broken_servers_with(profile: &str, flaws: &[Flaw], peer_options: &[&str]) {
    let test = format!("broken_{profile}_servers");
    let Some(py) = cpython::python313(&test) else {
        return;
    };
    let mut wrong = Vec::new();
    for flaw in flaws {
        let mut peer = vec!["--role", "server", "--profile", profile, "--flaw", flaw.0];
        peer.extend_from_slice(peer_options);
        let server = start_peer(&py, "broken_peer.py", &peer);
        let mut args = vec!["server", server.1.as_str(), "--profile", profile];
        args.extend(options(profile));
        let v = conformance(&args);
        drop(server);
        let want = wanted(profile, "server", flaw);
        if v.not_ok() != want {
            wrong.push(format!("flaw {}: want {want:?}, got\n{}", flaw.0, v.stdout));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn broken_clients(profile: &str, flaws: &[Flaw]) {
    broken_clients_with(profile, flaws, &[], &[]);
}

/// As [`broken_clients`], the tester run with `tester_options` and each
/// client with `peer_options` too.
fn broken_clients_with(
    profile: &str,
    flaws: &[Flaw],
    tester_options: &[&str],
    peer_options: &[&str],
) {
    let test = format!("broken_{profile}_clients");
    let Some(py) = cpython::python313(&test) else {
        return;
    };
    let peer = peers_dir().join("broken_peer.py");
    let (py, peer) = (py.to_str().unwrap(), peer.to_str().unwrap());
    let mut wrong = Vec::new();
    for flaw in flaws {
        let mut args = vec!["client", "--profile", profile];
        args.extend(options(profile));
        args.extend_from_slice(tester_options);
        // The freshness flaws count their runs in a state file: one per
        // flaw and test process, so that two runs never share it.
        let state_file = std::env::temp_dir().join(format!(
            "hmac-handshake-broken-{}-{profile}-{}.state",
            std::process::id(),
            flaw.0
        ));
        let state = format!("BROKEN_PEER_STATE={}", state_file.display());
        args.extend_from_slice(&["--", "env", &state, py, peer]);
        args.extend_from_slice(&["--role", "client", "--profile", profile, "--flaw", flaw.0]);
        args.extend_from_slice(peer_options);
        let v = conformance(&args);
        let _ = std::fs::remove_file(&state_file);
        let want = wanted(profile, "client", flaw);
        if v.not_ok() != want {
            wrong.push(format!("flaw {}: want {want:?}, got\n{}", flaw.0, v.stdout));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn broken_recipe_servers() {
    broken_servers("recipe", RECIPE_SERVER);
}

#[test]
fn broken_multiprocessing_servers() {
    broken_servers("multiprocessing", MP_SERVER);
}

#[test]
fn broken_native_servers() {
    broken_servers("native", NATIVE_SERVER);
}

/// A native server that offers forward secrecy (mode 01): every case, with
/// forward secrecy, and a plain handshake too.
#[test]
fn broken_native_servers_offering_forward_secrecy() {
    broken_servers_with("native", NATIVE_SERVER_OFFERED, &["--mode", "01"]);
}

/// A native server that requires forward secrecy (mode 02): the tester
/// adds `forward_secrecy_required` (a plain 02 proof refused at once).
#[test]
fn broken_native_servers_with_forward_secrecy() {
    broken_servers_with("native", NATIVE_SERVER_FS, &["--mode", "02"]);
}

#[test]
fn broken_recipe_clients() {
    broken_clients("recipe", RECIPE_CLIENT);
}

#[test]
fn broken_multiprocessing_clients() {
    broken_clients("multiprocessing", MP_CLIENT);
}

#[test]
fn broken_native_clients() {
    broken_clients("native", NATIVE_CLIENT);
}

/// A native client that requires forward secrecy (`--forward-secrecy`).
#[test]
fn broken_native_clients_with_forward_secrecy() {
    broken_clients_with(
        "native",
        NATIVE_CLIENT_FS,
        &["--forward-secrecy"],
        &["--forward-secrecy", "required"],
    );
}

/// Every case the tester runs against the flawless peers has a flaw
/// written against it above, and every flaw names a case that runs.
#[test]
fn every_case_has_its_broken_peer() {
    for (profile, role, flaws, cases) in [
        ("recipe", "server", RECIPE_SERVER, cases::RECIPE_SERVER),
        ("multiprocessing", "server", MP_SERVER, cases::MP_SERVER),
        ("native", "server", NATIVE_SERVER, cases::NATIVE_SERVER),
        ("recipe", "client", RECIPE_CLIENT, cases::RECIPE_CLIENT),
        ("multiprocessing", "client", MP_CLIENT, cases::MP_CLIENT),
        ("native", "client", NATIVE_CLIENT, cases::NATIVE_CLIENT),
        (
            "native",
            "server",
            NATIVE_SERVER_OFFERED,
            &["honest.without_forward_secrecy"],
        ),
        (
            "native",
            "server",
            NATIVE_SERVER_FS,
            &["forward_secrecy_required"],
        ),
        (
            "native",
            "client",
            NATIVE_CLIENT_FS,
            &["forward_secrecy_downgrade"],
        ),
    ] {
        let caught: Vec<&str> = flaws
            .iter()
            .flat_map(|f| f.1.iter().map(|(case, _)| *case))
            .collect();
        for case in cases {
            // The honest cases catch a peer that does not work at all
            // (every other case then fails too), so none is its own.
            let honest =
                ["honest", "honest.sha256"].contains(case) || case.starts_with("honest.hmac-");
            assert!(
                honest || caught.contains(case),
                "{profile}.{role}.{case} has no broken peer"
            );
        }
        for c in caught {
            assert!(
                cases.contains(&c),
                "{profile}.{role}: flaw case {c} does not run"
            );
        }
    }
}
