//! The floors under every profile (issue 11, items 3 and 4): each machine
//! beside the bare crypto it must do, Noise and TLS beside both, and all of
//! it end to end over loopback TCP, in one process and one run.
//!
//! In memory, both sides, built and finished inside the timed loop, the
//! randomness pinned as in `benches/handshake.rs` (native `[0x5a; 64]` for
//! the server and `[0xa5; 64]` for the client, multiprocessing `[0x5a; 40]`
//! both, the recipe's challenge `[0x5a; 32]`), the key `[0x42; 32]`:
//!
//! - `recipe_sha256` / `_md5`: the recipe's machines.
//! - `multiprocessing_sha256` (`multiprocessing::Config::new()`, CPython
//!   3.12+'s `{sha256}`) and `multiprocessing_legacy_md5`
//!   (`Config::legacy()`): six frames, three round trips.
//! - `native_hmac-sha256_auth-only`: both sides `finish()` and drop; the
//!   session is never asked for (`machines::session_of` is not called).
//! - `native_<suite>_session`: both sides take the session secrets
//!   (`machines::session_of`), every suite.
//! - `native_hmac-sha256_fs_session`: `ForwardSecrecy::Required` on both
//!   sides, with the session.
//!
//! The bare floors (`bare_*`, `peers::bare`): the crypto each profile must
//! do, written directly with `sha2`, `hmac`, `hkdf`, `md-5` and
//! `x25519-dalek` (the library's own builds), both sides, no machine, no
//! framing state beyond building the bytes the spec hashes and sends; the
//! per-key work (PRK, `client_key` and `server_key` HMAC states keyed once
//! and cloned per use, `H(context)`, `H(server_name)`) done once outside the
//! loop:
//!
//! - `bare_native_hmac-sha256_auth-only`: each side hashes its transcript
//!   (`T1`, then `T2`), makes its own tag and verifies the peer's
//!   (PROTOCOL.md, "Transcript and tags");
//! - `bare_native_hmac-sha256_session`: the above, then `handshake_hash`
//!   and the three Expands of "Session secrets" on both sides;
//! - `bare_native_hmac-sha256_fs_session`: the above with the shares in
//!   both messages, one X25519 base and one variable-base mult per side and
//!   the forward-secrecy key schedule (`derived` and `PRK_fs`, per side and
//!   per handshake, as the machines derive them);
//! - `bare_multiprocessing_sha256`: the four tags (two made, two verified)
//!   and the six frames' bytes (length prefixes, `#CHALLENGE#`, `{sha256}`,
//!   `#WELCOME#`);
//! - `bare_recipe_sha256` / `_md5`: one tag made, one verified.
//!
//! Before anything is timed, the bare code is checked against the real
//! machines run with the same pinned randomness: byte-identical messages
//! and tags (native client and server tags, multiprocessing replies, the
//! recipe's reply) and, for the session cases, the same `handshake_hash`,
//! `c2s` and `s2c` keys and a 48-byte `Session::export` on both sides. A
//! mismatch panics.
//!
//! Peers, in memory (as `benches/peers.rs`, from `peers::noise` and
//! `peers::tls`): `snow_nnpsk0` (`Noise_NNpsk0_25519_ChaChaPoly_SHA256`,
//! both sides into transport mode) and `rustls_tls13_p256` / `_ed25519`
//! (TLS 1.3, ring, a self-signed certificate, no resumption).
//!
//! End to end over 127.0.0.1 (`peers::e2e`): `e2e_bare_tcp` (no
//! authentication), `e2e_native_hmac-sha256` (with the session on both
//! sides; the client writes `hello` once the handshake is done),
//! `e2e_native_hmac-sha256_pipelined` (the same, but the client writes
//! `hello` right behind `ClientProof`, as `may_send_application_data()`
//! allows: one round trip less, sent before the server is verified),
//! both corked (`peers::e2e::drive` gathers a side's bytes and writes them
//! when it is about to wait: the client's `hello` leaves with its proof,
//! the server's echo with `ServerFinish`; multiprocessing's `#WELCOME#`
//! leaves with `hello`),
//! `e2e_multiprocessing_sha256`, `e2e_rustls_tls13_p256`. Each
//! iteration is one whole new TCP connection: connect, handshake, `hello`
//! echoed, close; lock-step, one client at a time, `TCP_NODELAY` on both
//! sides, OS randomness. One blocking server thread per kind (listen
//! backlog 4096), serving connections one after another, stopped at the
//! end; the iteration time is the client's.
//!
//! After criterion's report: a table of medians (criterion's 95%
//! confidence interval of the median and the median absolute deviation,
//! read back from the estimates this run wrote), the ratios with their
//! goals, and the machine (CPU, `sha_ni`, load average) with the command
//! that reproduces the run. Last, **paired ratios** of the in-memory goals:
//! the two cases of each pair timed alternately in ~2 ms batches, ABBA, 400
//! rounds (`peers::report::paired`), so that a shared machine's drifting
//! load cancels out of the ratio (`FLOOR_PAIRED=0` skips them). Medians of
//! cases measured one after another:
//! a load that changes during the run moves the ratios (each machine case
//! runs right beside its bare floor to keep that short).
//!
//! Run: `cargo bench -p hmac-handshake-peer-bench --bench floor` (about
//! three and a half minutes; `-- --quick` or `-- --warm-up-time 0.3
//! --measurement-time 1` for a smoke run).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{BenchmarkGroup, Criterion};
use hmac_handshake::native::{self, ForwardSecrecy, NativeKey, Session, Suite};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, Digest, Finished, Key, ServerHandshake,
};
use hmac_handshake_peer_bench::bare::{self, MpFloor, NativeCase, NativeFloor, RecipeFloor};
use hmac_handshake_peer_bench::e2e::{self, Kind};
use hmac_handshake_peer_bench::machines::{handshake, sessions};
use hmac_handshake_peer_bench::report::{self, us, Case, Median};
use hmac_handshake_peer_bench::{noise, tls};

const GROUP: &str = "floor";
const PSK: [u8; 32] = [0x42; 32];
const KEY_ID: &[u8] = b"k1";
const CONTEXT: &[u8] = b"bench";
const NATIVE_SERVER_RANDOM: [u8; 64] = [0x5a; 64];
const NATIVE_CLIENT_RANDOM: [u8; 64] = [0xa5; 64];
const MP_RANDOM: [u8; 40] = [0x5a; 40];
const RECIPE_CHALLENGE: [u8; 32] = [0x5a; 32];

type M = criterion::measurement::WallTime;

fn config(fs: ForwardSecrecy) -> native::Config {
    native::Config::new(CONTEXT).with_forward_secrecy(fs)
}

/// Both native machines to the end, both finished, no session asked for.
fn native_auth(key: &NativeKey, cfg: native::Config) -> Option<(Finished, Finished)> {
    handshake(
        || ServerHandshake::with_pinned_random(key, cfg, &NATIVE_SERVER_RANDOM),
        || ClientHandshake::with_pinned_random(key, cfg, &NATIVE_CLIENT_RANDOM),
    )
}

/// Both native machines to the end, both sides' sessions.
fn native_session(key: &NativeKey, cfg: native::Config) -> Option<(Session, Session)> {
    sessions(
        || ServerHandshake::with_pinned_random(key, cfg, &NATIVE_SERVER_RANDOM),
        || ClientHandshake::with_pinned_random(key, cfg, &NATIVE_CLIENT_RANDOM),
    )
}

fn multiprocessing(key: &Key, cfg: multiprocessing::Config) -> Option<(Finished, Finished)> {
    handshake(
        || ServerHandshake::with_pinned_random(key, cfg, &MP_RANDOM),
        || ClientHandshake::with_pinned_random(key, cfg, &MP_RANDOM),
    )
}

fn recipe(key: &Key, cfg: recipe::Config) -> Option<(Finished, Finished)> {
    handshake(
        || ServerHandshake::with_pinned_random(key, cfg, &RECIPE_CHALLENGE),
        || ClientHandshake::with_pinned_random(key, cfg, &[]),
    )
}

/// The in-memory cases, each machine right beside its bare floor.
fn in_memory(g: &mut BenchmarkGroup<'_, M>) {
    let key = Key::new(&PSK);

    // Recipe.
    let floor = RecipeFloor::new(&PSK);
    bare::check_recipe(&floor, &key, &RECIPE_CHALLENGE);
    for (name, digest) in [("sha256", Digest::Sha256), ("md5", Digest::Md5)] {
        let cfg = recipe::Config { digest };
        let (s, c) = recipe(&key, cfg).expect("recipe must authenticate");
        assert!(s.outcome.peer_authenticated && !c.outcome.peer_authenticated);
        g.bench_function(format!("recipe_{name}"), |b| {
            b.iter(|| black_box(recipe(&key, black_box(cfg))))
        });
        if digest == Digest::Sha256 {
            g.bench_function("bare_recipe_sha256", |b| {
                b.iter(|| black_box(floor.sha256(black_box(&RECIPE_CHALLENGE))))
            });
        } else {
            g.bench_function("bare_recipe_md5", |b| {
                b.iter(|| black_box(floor.md5(black_box(&RECIPE_CHALLENGE))))
            });
        }
    }

    // Multiprocessing.
    let floor = MpFloor::new(&PSK);
    bare::check_multiprocessing(&floor, &key, &MP_RANDOM, &MP_RANDOM);
    for (name, cfg) in [
        ("multiprocessing_sha256", multiprocessing::Config::new()),
        (
            "multiprocessing_legacy_md5",
            multiprocessing::Config::legacy(),
        ),
    ] {
        let (s, c) = multiprocessing(&key, cfg).expect("multiprocessing must authenticate");
        assert!(s.outcome.peer_authenticated && c.outcome.peer_authenticated);
        g.bench_function(name, |b| {
            b.iter(|| black_box(multiprocessing(&key, black_box(cfg))))
        });
    }
    g.bench_function("bare_multiprocessing_sha256", |b| {
        b.iter(|| black_box(floor.run(black_box(&MP_RANDOM), black_box(&MP_RANDOM))))
    });

    // Native hmac-sha256: auth only, with the session, forward secrecy.
    let native_key = NativeKey::new(KEY_ID, &PSK, Suite::HmacSha256).expect("key");
    let floor = NativeFloor::new(&PSK, KEY_ID, CONTEXT, b"");
    let (off, fs) = (
        config(ForwardSecrecy::Off),
        config(ForwardSecrecy::Required),
    );
    let (sr, cr) = (&NATIVE_SERVER_RANDOM, &NATIVE_CLIENT_RANDOM);
    bare::check_native(&floor, &native_key, off, NativeCase::AuthOnly, sr, cr);
    bare::check_native(&floor, &native_key, off, NativeCase::Session, sr, cr);
    bare::check_native(&floor, &native_key, fs, NativeCase::ForwardSecrecy, sr, cr);
    native_auth(&native_key, off).expect("native must authenticate");
    g.bench_function("native_hmac-sha256_auth-only", |b| {
        b.iter(|| black_box(native_auth(&native_key, black_box(off))))
    });
    g.bench_function("bare_native_hmac-sha256_auth-only", |b| {
        b.iter(|| black_box(floor.auth_only(black_box(sr), black_box(cr))))
    });
    for suite in Suite::ALL {
        let k = NativeKey::new(KEY_ID, &PSK, suite).expect("key");
        let (s, c) = native_session(&k, off).expect("native must authenticate");
        assert_eq!(s.client_to_server_key(), c.client_to_server_key());
        g.bench_function(format!("native_{}_session", suite.name()), |b| {
            b.iter(|| black_box(native_session(&k, black_box(off))))
        });
        if suite == Suite::HmacSha256 {
            g.bench_function("bare_native_hmac-sha256_session", |b| {
                b.iter(|| black_box(floor.with_session(black_box(sr), black_box(cr))))
            });
        }
    }
    let (s, c) = native_session(&native_key, fs).expect("native FS must authenticate");
    assert!(s.forward_secrecy() && c.forward_secrecy());
    g.bench_function("native_hmac-sha256_fs_session", |b| {
        b.iter(|| black_box(native_session(&native_key, black_box(fs))))
    });
    g.bench_function("bare_native_hmac-sha256_fs_session", |b| {
        b.iter(|| black_box(floor.forward_secret(black_box(sr), black_box(cr))))
    });

    // Peers.
    let params = noise::params();
    noise::check(&params, &PSK);
    g.bench_function("snow_nnpsk0", |b| {
        b.iter(|| black_box(noise::noise(&params, black_box(&PSK))))
    });
    for (name, alg) in [
        ("rustls_tls13_p256", &rcgen::PKCS_ECDSA_P256_SHA256),
        ("rustls_tls13_ed25519", &rcgen::PKCS_ED25519),
    ] {
        let t = tls::tls_setup(alg);
        tls::check(&t);
        g.bench_function(name, |b| b.iter(|| black_box(tls::tls(black_box(&t)))));
    }
}

/// The loopback cases: one server per kind, started here, stopped at the
/// end; one connection checked per kind before any is timed.
fn end_to_end(g: &mut BenchmarkGroup<'_, M>) {
    let kinds = [
        ("e2e_bare_tcp", Kind::BareTcp),
        (
            "e2e_native_hmac-sha256",
            Kind::Native(PSK.to_vec(), KEY_ID.to_vec(), CONTEXT.to_vec(), false),
        ),
        (
            "e2e_native_hmac-sha256_pipelined",
            Kind::Native(PSK.to_vec(), KEY_ID.to_vec(), CONTEXT.to_vec(), true),
        ),
        (
            "e2e_multiprocessing_sha256",
            Kind::Multiprocessing(PSK.to_vec()),
        ),
        (
            "e2e_rustls_tls13_p256",
            Kind::Tls(Arc::new(tls::tls_setup(&rcgen::PKCS_ECDSA_P256_SHA256))),
        ),
    ];
    let servers: Vec<(&str, e2e::Server, e2e::Client)> = kinds
        .iter()
        .map(|(name, kind)| {
            let server = e2e::Server::start(kind);
            let client = e2e::Client::new(kind, server.addr());
            client
                .connect_once()
                .unwrap_or_else(|e| panic!("{name}: the check connection failed: {e}"));
            (*name, server, client)
        })
        .collect();
    for (name, _, client) in &servers {
        g.bench_function(*name, |b| {
            b.iter(|| {
                client
                    .connect_once()
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
            })
        });
    }
    for (name, server, _) in servers {
        let served = server.stop();
        assert_eq!(
            served.failed, 0,
            "{name}: the server failed {} connection(s), first: {:?}",
            served.failed, served.first_error
        );
        println!("{name}: the server served {} connections", served.ok);
    }
}

/// A ratio's goal.
#[derive(Clone, Copy)]
enum Goal {
    AtMost(f64),
    AtLeast(f64),
    None,
}

fn verdict(r: f64, goal: Goal) -> String {
    match goal {
        Goal::AtMost(g) if r <= g => format!("<= {g}: met"),
        Goal::AtMost(g) => format!("<= {g}: MISSED ({:.2}x the goal)", r / g),
        Goal::AtLeast(g) if r >= g => format!(">= {g}: met"),
        Goal::AtLeast(g) => format!(">= {g}: MISSED ({:.2}x the goal)", r / g),
        Goal::None => String::new(),
    }
}

fn summary(since: SystemTime, load_before: &str) {
    let dir = report::criterion_dir();
    let ids = [
        "recipe_sha256",
        "recipe_md5",
        "multiprocessing_sha256",
        "multiprocessing_legacy_md5",
        "native_hmac-sha256_auth-only",
        "native_hmac-sha256_session",
        "native_hmac-sha384_session",
        "native_hmac-sha512_session",
        "native_hmac-sha3_256_session",
        "native_hmac-sha256_fs_session",
        "bare_recipe_sha256",
        "bare_recipe_md5",
        "bare_multiprocessing_sha256",
        "bare_native_hmac-sha256_auth-only",
        "bare_native_hmac-sha256_session",
        "bare_native_hmac-sha256_fs_session",
        "snow_nnpsk0",
        "rustls_tls13_p256",
        "rustls_tls13_ed25519",
        "e2e_bare_tcp",
        "e2e_native_hmac-sha256",
        "e2e_native_hmac-sha256_pipelined",
        "e2e_multiprocessing_sha256",
        "e2e_rustls_tls13_p256",
    ];
    report::print_table(&dir, GROUP, &ids, since);
    let get = |id: &str| -> Option<Median> { report::median(&dir, GROUP, id, since) };

    // Ratios of medians; the range pairs the CI bounds (a.lo / b.hi to
    // a.hi / b.lo).
    let ratio = |label: &str, a: &str, b: &str, goal: Goal| {
        if let (Some(x), Some(y)) = (get(a), get(b)) {
            let r = x.point / y.point;
            println!(
                "| {label} ({a} / {b}) | {r:.3} | {:.3} - {:.3} | {} |",
                x.lo / y.hi,
                x.hi / y.lo,
                verdict(r, goal)
            );
        } else {
            println!("| {label} ({a} / {b}) | not measured in this run | | |");
        }
    };
    let (auth, session) = ("native_hmac-sha256_auth-only", "native_hmac-sha256_session");
    println!("\n| ratio (medians) | value | range from the CIs | goal |");
    println!("|---|---:|---:|---|");
    ratio(
        "native auth only / its bare floor",
        auth,
        "bare_native_hmac-sha256_auth-only",
        Goal::AtMost(1.15),
    );
    ratio(
        "native with session / its bare floor",
        session,
        "bare_native_hmac-sha256_session",
        Goal::AtMost(1.10),
    );
    ratio(
        "native FS with session / its bare floor",
        "native_hmac-sha256_fs_session",
        "bare_native_hmac-sha256_fs_session",
        Goal::None,
    );
    ratio(
        "multiprocessing {sha256} / its bare floor",
        "multiprocessing_sha256",
        "bare_multiprocessing_sha256",
        Goal::AtMost(1.15),
    );
    ratio(
        "recipe sha256 / its bare floor",
        "recipe_sha256",
        "bare_recipe_sha256",
        Goal::None,
    );
    ratio(
        "recipe md5 / its bare floor",
        "recipe_md5",
        "bare_recipe_md5",
        Goal::None,
    );
    ratio(
        "snow NNpsk0 / native with session",
        "snow_nnpsk0",
        session,
        Goal::AtLeast(150.0),
    );
    ratio(
        "snow NNpsk0 / native auth only",
        "snow_nnpsk0",
        auth,
        Goal::AtLeast(150.0),
    );
    ratio(
        "rustls P-256 / native with session",
        "rustls_tls13_p256",
        session,
        Goal::AtLeast(250.0),
    );
    ratio(
        "rustls P-256 / native auth only",
        "rustls_tls13_p256",
        auth,
        Goal::AtLeast(250.0),
    );
    ratio(
        "rustls Ed25519 / native with session",
        "rustls_tls13_ed25519",
        session,
        Goal::None,
    );
    ratio(
        "e2e native / e2e bare TCP",
        "e2e_native_hmac-sha256",
        "e2e_bare_tcp",
        Goal::AtMost(1.5),
    );
    ratio(
        "e2e native, client data behind its proof / e2e bare TCP",
        "e2e_native_hmac-sha256_pipelined",
        "e2e_bare_tcp",
        Goal::AtMost(1.5),
    );
    ratio(
        "e2e multiprocessing / e2e bare TCP",
        "e2e_multiprocessing_sha256",
        "e2e_bare_tcp",
        Goal::None,
    );
    ratio(
        "e2e rustls P-256 / e2e bare TCP",
        "e2e_rustls_tls13_p256",
        "e2e_bare_tcp",
        Goal::None,
    );
    match get(auth) {
        Some(m) => {
            let met = if m.point <= 1250.0 { "met" } else { "MISSED" };
            println!(
                "\nnative hmac-sha256 auth only: median {} us (95% CI {} - {}), goal <= 1.25 us: {met}",
                us(m.point),
                us(m.lo),
                us(m.hi)
            );
        }
        None => println!("\nnative hmac-sha256 auth only: not measured in this run"),
    }
    println!(
        "\nAuth only never asks for the session (peers::machines::session_of is not called), \
         so it is never derived: Finished::into_session derives it on request."
    );
    println!("\nmachine: {}", report::cpu());
    println!(
        "load average (1 5 15 min) before the run: {load_before}; after: {}",
        report::loadavg()
    );
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let tail = if args.is_empty() {
        String::new()
    } else {
        format!(" -- {}", args.join(" "))
    };
    println!("reproduce: cargo bench -p hmac-handshake-peer-bench --bench floor{tail}");
}

fn main() {
    let since = SystemTime::now();
    let load_before = report::loadavg();
    let mut c = Criterion::default()
        .output_directory(&report::criterion_dir())
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    {
        let mut g = c.benchmark_group(GROUP);
        in_memory(&mut g);
        end_to_end(&mut g);
        g.finish();
    }
    c.final_summary();
    summary(since, &load_before);
    // Only when measuring (`cargo bench`), not for `--test` or `--list`;
    // FLOOR_PAIRED=0 skips it.
    let args: Vec<String> = std::env::args().collect();
    let measuring =
        args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");
    if measuring && std::env::var("FLOOR_PAIRED").as_deref() != Ok("0") {
        paired_ratios();
    }
}

/// The in-memory goals again, each pair timed alternately so that a
/// shared machine's drifting load cancels out of the ratio (the medians
/// above are measured a minute apart).
fn paired_ratios() {
    let key = Key::new(&PSK);
    let native_key = NativeKey::new(KEY_ID, &PSK, Suite::HmacSha256).expect("key");
    let off = config(ForwardSecrecy::Off);
    let (sr, cr) = (&NATIVE_SERVER_RANDOM, &NATIVE_CLIENT_RANDOM);
    let native_floor = NativeFloor::new(&PSK, KEY_ID, CONTEXT, b"");
    let mp_floor = MpFloor::new(&PSK);
    let recipe_floor = RecipeFloor::new(&PSK);
    let params = noise::params();
    let p256 = tls::tls_setup(&rcgen::PKCS_ECDSA_P256_SHA256);
    let mp = multiprocessing::Config::new();
    let rc = recipe::Config::default();

    let mut auth = || {
        black_box(native_auth(&native_key, black_box(off)));
    };
    let mut bare_auth = || {
        black_box(native_floor.auth_only(black_box(sr), black_box(cr)));
    };
    let mut session = || {
        black_box(native_session(&native_key, black_box(off)));
    };
    let mut bare_session = || {
        black_box(native_floor.with_session(black_box(sr), black_box(cr)));
    };
    let mut mp_run = || {
        black_box(multiprocessing(&key, black_box(mp)));
    };
    let mut bare_mp = || {
        black_box(mp_floor.run(black_box(&MP_RANDOM), black_box(&MP_RANDOM)));
    };
    let mut recipe_run = || {
        black_box(recipe(&key, black_box(rc)));
    };
    let mut bare_recipe = || {
        black_box(recipe_floor.sha256(black_box(&RECIPE_CHALLENGE)));
    };
    let mut snow = || {
        black_box(noise::noise(&params, black_box(&PSK)));
    };
    let mut tls_p256 = || {
        black_box(tls::tls(black_box(&p256)));
    };
    let mut cases = [
        Case {
            name: "native_hmac-sha256_auth-only",
            run: &mut auth,
        },
        Case {
            name: "bare_native_hmac-sha256_auth-only",
            run: &mut bare_auth,
        },
        Case {
            name: "native_hmac-sha256_session",
            run: &mut session,
        },
        Case {
            name: "bare_native_hmac-sha256_session",
            run: &mut bare_session,
        },
        Case {
            name: "multiprocessing_sha256",
            run: &mut mp_run,
        },
        Case {
            name: "bare_multiprocessing_sha256",
            run: &mut bare_mp,
        },
        Case {
            name: "recipe_sha256",
            run: &mut recipe_run,
        },
        Case {
            name: "bare_recipe_sha256",
            run: &mut bare_recipe,
        },
        Case {
            name: "snow_nnpsk0",
            run: &mut snow,
        },
        Case {
            name: "rustls_tls13_p256",
            run: &mut tls_p256,
        },
    ];
    let pairs: [(usize, usize, &str, Goal); 9] = [
        (
            0,
            1,
            "native auth only / its bare floor",
            Goal::AtMost(1.15),
        ),
        (
            2,
            3,
            "native with session / its bare floor",
            Goal::AtMost(1.1),
        ),
        (
            4,
            5,
            "multiprocessing {sha256} / its bare floor",
            Goal::AtMost(1.15),
        ),
        (6, 7, "recipe sha256 / its bare floor", Goal::None),
        (2, 0, "native with session / auth only", Goal::None),
        (8, 0, "snow NNpsk0 / native auth only", Goal::AtLeast(150.0)),
        (
            8,
            2,
            "snow NNpsk0 / native with session",
            Goal::AtLeast(150.0),
        ),
        (
            9,
            0,
            "rustls P-256 / native auth only",
            Goal::AtLeast(250.0),
        ),
        (
            9,
            2,
            "rustls P-256 / native with session",
            Goal::AtLeast(250.0),
        ),
    ];
    let labels: Vec<(usize, usize, &str)> = pairs.iter().map(|&(a, b, l, _)| (a, b, l)).collect();
    report::paired_table(&mut cases, &labels, 400, |i, m| verdict(m, pairs[i].3));
}
