//! The native handshake beside Noise (snow) and TLS 1.3 (rustls), in one
//! process and one run (issue 10, item 6).
//!
//! Every case is one complete in-memory handshake, both sides, machines (or
//! connections) built and finished inside the timed loop:
//!
//! - `native_<suite>_fs-off` / `_fs-on`: the native profile without and with
//!   the forward-secrecy mode (`Required` on both sides), session secrets
//!   derived by `finish()` on both sides. The 64 random bytes per side are
//!   pinned (as in `benches/handshake.rs`); `native_hmac-sha256_fs-*_osrng`
//!   draw them from the OS (`getrandom::SysRng`), as snow does for its
//!   ephemeral keys and rustls for its randoms and key shares.
//! - `snow_nnpsk0`: `Noise_NNpsk0_25519_ChaChaPoly_SHA256` (snow's default
//!   resolver: curve25519-dalek, RustCrypto ChaCha20-Poly1305 and SHA-256),
//!   the same 32-byte PSK at position 0, both sides through
//!   `into_transport_mode`.
//! - `rustls_tls13_p256` / `_ed25519`: rustls 0.23 (ring provider, TLS 1.3
//!   only, default cipher suites and groups: X25519 is offered first), a
//!   self-signed rcgen certificate made once outside the loop and trusted as
//!   the client's only root, no resumption and no tickets, bytes pumped
//!   between a `ClientConnection` and a `ServerConnection` until neither is
//!   handshaking.
//! - `reject_fs-off` / `reject_fs-on`: the server alone, facing a client
//!   that does not hold the key (same key id, other secret): machine built,
//!   `ServerHello` out, a proof with a wrong tag in (`02`, or `04` with a
//!   share under `Required`), the `03 01` verdict out, `finish()` (an
//!   error). The proof is made once outside the loop. `_osrng`: the server
//!   draws its 64 bytes from the OS, as a real server does.
//! - Floors: a bare x25519-dalek base-point mult (`PublicKey::from`, the
//!   share) and variable-base mult (`diffie_hellman`), and a 64-byte
//!   `SysRng` draw. Native with the mode and snow NNpsk0 each do 2 base + 2
//!   variable-base mults per handshake (one of each per side); TLS 1.3 with
//!   X25519 does the same (in ring), plus an ECDSA/Ed25519 signature and
//!   two verifications.
//!
//! After criterion's own report, a summary table of medians (with
//! criterion's 95% confidence interval of the median and the median
//! absolute deviation), read back from the estimates criterion wrote in
//! this same run, and the ratios from those medians.
//!
//! Run: `cargo bench -p hmac-handshake-peer-bench` (release).

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::Criterion;
use hmac_handshake::native::{self, ForwardSecrecy, NativeKey, Suite};
use hmac_handshake::{ClientHandshake, Error, Handshake, ServerHandshake, Status};
use hmac_handshake_peer_bench::machines::sessions;
use hmac_handshake_peer_bench::noise::{self, noise};
use hmac_handshake_peer_bench::report::{
    self, criterion_dir, loadavg, paired_table, us, Case, Median,
};
use hmac_handshake_peer_bench::tls::{tls, tls_setup};
use sha2::Digest as _;

const GROUP: &str = "peers";
const PSK: [u8; 32] = [0x42; 32];

// ---------------------------------------------------------------- native

fn config(fs: ForwardSecrecy) -> native::Config {
    native::Config::new(b"bench").with_forward_secrecy(fs)
}

/// Drives a server and a client to the end through a 256-byte wire buffer
/// and finishes both; the two sessions.
fn drive<S: Handshake, C: Handshake>(
    server: S,
    client: C,
) -> Option<(native::Session, native::Session)> {
    sessions(|| server, || client)
}

fn native_pinned(
    key: &NativeKey,
    cfg: native::Config,
) -> Option<(native::Session, native::Session)> {
    drive(
        ServerHandshake::with_pinned_random(key, cfg, &[0x5a; 64]),
        ClientHandshake::with_pinned_random(key, cfg, &[0xa5; 64]),
    )
}

fn native_osrng(
    key: &NativeKey,
    cfg: native::Config,
) -> Option<(native::Session, native::Session)> {
    let mut rng = getrandom::SysRng;
    drive(
        ServerHandshake::new(key, cfg, &mut rng).ok()?,
        ClientHandshake::new(key, cfg, &mut rng).ok()?,
    )
}

/// The proof a client without the key (same id, other secret) sends to a
/// server with `cfg` and the pinned random `[0x5a; 64]`: its wire bytes.
fn wrong_proof(suite: Suite, cfg: native::Config) -> Vec<u8> {
    let server_key = NativeKey::new(b"k1", &PSK, suite).expect("key");
    let impostor = NativeKey::new(b"k1", &[0x24; 32], suite).expect("key");
    let mut server = ServerHandshake::with_pinned_random(&server_key, cfg, &[0x5a; 64]);
    let mut client = ClientHandshake::with_pinned_random(&impostor, cfg, &[0xa5; 64]);
    let mut wire = [0u8; 256];
    let n = server.write_output(&mut wire);
    assert_eq!(client.receive(&wire[..n]), n);
    let n = client.write_output(&mut wire);
    wire[..n].to_vec()
}

/// The server's reject path: hello out, `proof` in, verdict out, finish.
/// Returns the verdict (must be `03 01`) and the server's error.
fn reject<S: Handshake>(mut server: S, proof: &[u8]) -> ([u8; 2], Error) {
    let mut wire = [0u8; 64];
    let hello = server.write_output(&mut wire);
    black_box(&wire[..hello]);
    server.receive(proof);
    let mut verdict = [0u8; 2];
    server.write_output(&mut verdict);
    let err = match server.finish() {
        Err(e) => e,
        Ok(_) => unreachable!("a wrong tag never authenticates"),
    };
    (verdict, err)
}

// ---------------------------------------------------------------- benches

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group(GROUP);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(100);

    // Native, every suite, mode off and on.
    for suite in Suite::ALL {
        let key = NativeKey::new(b"k1", &PSK, suite).expect("key");
        for (tag, fs) in [
            ("fs-off", ForwardSecrecy::Off),
            ("fs-on", ForwardSecrecy::Required),
        ] {
            let cfg = config(fs);
            let (s, cl) = native_pinned(&key, cfg).expect("native must authenticate");
            assert_eq!(s.forward_secrecy(), fs != ForwardSecrecy::Off);
            assert_eq!(s.client_to_server_key(), cl.client_to_server_key());
            g.bench_function(format!("native_{}_{tag}", suite.name()), |b| {
                b.iter(|| black_box(native_pinned(&key, black_box(cfg))))
            });
            if suite == Suite::HmacSha256 {
                let (s, cl) = native_osrng(&key, cfg).expect("native must authenticate");
                assert_eq!(s.forward_secrecy(), fs != ForwardSecrecy::Off);
                assert_eq!(s.server_to_client_key(), cl.server_to_client_key());
                g.bench_function(format!("native_hmac-sha256_{tag}_osrng"), |b| {
                    b.iter(|| black_box(native_osrng(&key, black_box(cfg))))
                });
            }
        }
    }

    // snow, Noise NNpsk0.
    let params = noise::params();
    noise::check(&params, &PSK);
    g.bench_function("snow_nnpsk0", |b| {
        b.iter(|| black_box(noise(&params, black_box(&PSK))))
    });

    // rustls, TLS 1.3.
    for (name, alg) in [
        ("rustls_tls13_p256", &rcgen::PKCS_ECDSA_P256_SHA256),
        ("rustls_tls13_ed25519", &rcgen::PKCS_ED25519),
    ] {
        let t = tls_setup(alg);
        hmac_handshake_peer_bench::tls::check(&t);
        g.bench_function(name, |b| b.iter(|| black_box(tls(black_box(&t)))));
    }

    // The server's reject path, mode off and on.
    let suite = Suite::HmacSha256;
    let key = NativeKey::new(b"k1", &PSK, suite).expect("key");
    for (tag, fs) in [
        ("fs-off", ForwardSecrecy::Off),
        ("fs-on", ForwardSecrecy::Required),
    ] {
        let cfg = config(fs);
        let proof = wrong_proof(suite, cfg);
        let expected_type = if fs == ForwardSecrecy::Off {
            0x02
        } else {
            0x04
        };
        assert_eq!(proof[0], expected_type);
        let (verdict, err) = reject(
            ServerHandshake::with_pinned_random(&key, cfg, &[0x5a; 64]),
            &proof,
        );
        assert_eq!((verdict, err), ([0x03, 0x01], Error::BadTag));
        g.bench_function(format!("reject_{tag}"), |b| {
            b.iter(|| {
                black_box(reject(
                    ServerHandshake::with_pinned_random(&key, black_box(cfg), &[0x5a; 64]),
                    black_box(&proof),
                ))
            })
        });
        g.bench_function(format!("reject_{tag}_osrng"), |b| {
            b.iter(|| {
                let server = ServerHandshake::new(&key, black_box(cfg), &mut getrandom::SysRng)
                    .expect("OS random");
                black_box(reject(server, black_box(&proof)))
            })
        });
    }
    {
        let server_status = |fs| {
            let cfg = config(fs);
            let mut s = ServerHandshake::with_pinned_random(&key, cfg, &[0x5a; 64]);
            let mut w = [0u8; 64];
            s.write_output(&mut w);
            s.receive(&wrong_proof(suite, cfg));
            matches!(s.status(), Status::Send([0x03, 0x01]))
        };
        assert!(server_status(ForwardSecrecy::Off) && server_status(ForwardSecrecy::Required));
    }

    // Where the reject path's time goes: the machine and its hello alone;
    // H(T1) over the transcript the server hashes before the tag check (17
    // + 32 + 32 + 39 + 36 bytes, 32 more with a share: 3 and 4 SHA-256
    // blocks); one pre-keyed HMAC-SHA256 tag over "client proof" || H(T1)
    // (44 bytes).
    for (tag, fs) in [
        ("fs-off", ForwardSecrecy::Off),
        ("fs-on", ForwardSecrecy::Required),
    ] {
        let cfg = config(fs);
        g.bench_function(format!("reject_part_hello_{tag}"), |b| {
            b.iter(|| {
                let mut server =
                    ServerHandshake::with_pinned_random(&key, black_box(cfg), &[0x5a; 64]);
                let mut wire = [0u8; 64];
                let n = server.write_output(&mut wire);
                black_box((wire, n));
                drop(black_box(server));
            })
        });
    }
    for len in [156usize, 188] {
        let t1 = vec![0x33u8; len];
        g.bench_function(format!("reject_part_sha256_{len}B"), |b| {
            b.iter(|| black_box(sha2::Sha256::digest(black_box(&t1[..]))))
        });
    }
    let mac = hmac_handshake::Key::new(&PSK);
    let msg = [0x44u8; 44];
    g.bench_function("reject_part_hmac_sha256_tag_44B", |b| {
        b.iter(|| black_box(mac.tag(hmac_handshake::Digest::Sha256, black_box(&msg[..]))))
    });

    // Floors.
    let secret = x25519_dalek::StaticSecret::from([0x77; 32]);
    let peer = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([0x88; 32]));
    g.bench_function("x25519_base_mult", |b| {
        b.iter(|| black_box(x25519_dalek::PublicKey::from(black_box(&secret))))
    });
    g.bench_function("x25519_scalar_mult", |b| {
        b.iter(|| black_box(black_box(&secret).diffie_hellman(black_box(&peer))))
    });
    g.bench_function("osrng_64B", |b| {
        b.iter(|| {
            let mut r = [0u8; 64];
            rand_fill(&mut r);
            black_box(r)
        })
    });
    g.finish();
}

fn rand_fill(out: &mut [u8]) {
    use getrandom::rand_core::TryRng;
    getrandom::SysRng.try_fill_bytes(out).expect("OS random");
}

// ---------------------------------------------------------------- summary

fn summary(since: SystemTime) {
    let dir = criterion_dir();
    let mut ids: Vec<String> = Vec::new();
    for suite in Suite::ALL {
        for tag in ["fs-off", "fs-on"] {
            ids.push(format!("native_{}_{tag}", suite.name()));
            if suite == Suite::HmacSha256 {
                ids.push(format!("native_hmac-sha256_{tag}_osrng"));
            }
        }
    }
    for id in [
        "snow_nnpsk0",
        "rustls_tls13_p256",
        "rustls_tls13_ed25519",
        "reject_fs-off",
        "reject_fs-off_osrng",
        "reject_fs-on",
        "reject_fs-on_osrng",
        "reject_part_hello_fs-off",
        "reject_part_hello_fs-on",
        "reject_part_sha256_156B",
        "reject_part_sha256_188B",
        "reject_part_hmac_sha256_tag_44B",
        "x25519_base_mult",
        "x25519_scalar_mult",
        "osrng_64B",
    ] {
        ids.push(id.to_string());
    }
    let get = |id: &str| -> Option<Median> { report::median(&dir, GROUP, id, since) };
    report::print_table(&dir, GROUP, &ids, since);

    // Ratios of medians; the range pairs the CI bounds (a.lo / b.hi to
    // a.hi / b.lo).
    let ratio = |label: &str, a: &str, b: &str, goal: Option<f64>| {
        if let (Some(x), Some(y)) = (get(a), get(b)) {
            let r = x.point / y.point;
            let verdict = match goal {
                Some(g) if r <= g => format!(" | goal <= {g}: met"),
                Some(g) => format!(" | goal <= {g}: NOT met ({:.2}x the goal)", r / g),
                None => " | ".to_string(),
            };
            println!(
                "| {label} | {r:.3} | {:.3} - {:.3}{verdict} |",
                x.lo / y.hi,
                x.hi / y.lo
            );
        } else {
            println!("| {label} | not measured in this run | | |");
        }
    };
    println!("\n| ratio (medians) | value | range from the CIs | goal |");
    println!("|---|---:|---:|---|");
    ratio(
        "native+FS / snow (OS random, like snow)",
        "native_hmac-sha256_fs-on_osrng",
        "snow_nnpsk0",
        Some(0.4),
    );
    ratio(
        "native+FS / snow (pinned random)",
        "native_hmac-sha256_fs-on",
        "snow_nnpsk0",
        Some(0.4),
    );
    ratio(
        "native / snow (OS random)",
        "native_hmac-sha256_fs-off_osrng",
        "snow_nnpsk0",
        None,
    );
    ratio(
        "native / snow (pinned)",
        "native_hmac-sha256_fs-off",
        "snow_nnpsk0",
        None,
    );
    ratio(
        "native / rustls P-256 (OS random)",
        "native_hmac-sha256_fs-off_osrng",
        "rustls_tls13_p256",
        None,
    );
    ratio(
        "native / rustls Ed25519 (OS random)",
        "native_hmac-sha256_fs-off_osrng",
        "rustls_tls13_ed25519",
        None,
    );
    ratio(
        "native+FS / rustls P-256 (OS random)",
        "native_hmac-sha256_fs-on_osrng",
        "rustls_tls13_p256",
        None,
    );
    ratio(
        "native+FS / rustls Ed25519 (OS random)",
        "native_hmac-sha256_fs-on_osrng",
        "rustls_tls13_ed25519",
        None,
    );

    // The X25519 floor: 2 base + 2 variable-base mults per handshake.
    if let (Some(base), Some(var)) = (get("x25519_base_mult"), get("x25519_scalar_mult")) {
        let floor = 2.0 * base.point + 2.0 * var.point;
        println!(
            "\nX25519 floor (2 base + 2 variable-base mults, as native+FS and snow NNpsk0 each do): {} us \
             (criterion medians, measured one after another: a load that changes during the run moves \
             these shares; the paired section below measures them side by side)",
            us(floor)
        );
        for id in [
            "native_hmac-sha256_fs-on",
            "native_hmac-sha256_fs-on_osrng",
            "snow_nnpsk0",
        ] {
            if let Some(m) = get(id) {
                println!(
                    "  {id}: {} us = floor + {} us ({:.0}% X25519)",
                    us(m.point),
                    us(m.point - floor),
                    100.0 * floor / m.point
                );
            }
        }
        if let Some(snow) = get("snow_nnpsk0") {
            println!(
                "  lowest native+FS / snow possible with these 4 mults (native+FS = floor): {:.3}",
                floor / snow.point
            );
        }
    }
    for id in [
        "reject_fs-off",
        "reject_fs-on",
        "reject_fs-off_osrng",
        "reject_fs-on_osrng",
    ] {
        if let Some(m) = get(id) {
            let met = if m.point < 1000.0 { "met" } else { "NOT met" };
            println!("reject path {id}: {} us, goal < 1 us: {met}", us(m.point));
        }
    }
    for (tag, len) in [("fs-off", 156), ("fs-on", 188)] {
        let parts = (
            get(&format!("reject_{tag}")),
            get(&format!("reject_part_hello_{tag}")),
            get(&format!("reject_part_sha256_{len}B")),
            get("reject_part_hmac_sha256_tag_44B"),
        );
        if let (Some(all), Some(hello), Some(h), Some(t)) = parts {
            println!(
                "  reject_{tag} = machine + hello {} + H(T1) {} + tag {} + the rest (proof parsing, \
                 key lookup, compare, verdict, finish, wipes) {} us",
                us(hello.point),
                us(h.point),
                us(t.point),
                us(all.point - hello.point - h.point - t.point)
            );
        }
    }
}

// ---------------------------------------------------------------- paired

/// Paired ratios: the same comparisons as the summary's, measured so
/// that the load of a shared machine cancels out of each ratio.
fn paired_ratios() {
    let key = NativeKey::new(b"k1", &PSK, Suite::HmacSha256).expect("key");
    let (off, on) = (
        config(ForwardSecrecy::Off),
        config(ForwardSecrecy::Required),
    );
    let params = noise::params();
    let (p256, ed25519) = (
        tls_setup(&rcgen::PKCS_ECDSA_P256_SHA256),
        tls_setup(&rcgen::PKCS_ED25519),
    );
    let secret = x25519_dalek::StaticSecret::from([0x77; 32]);
    let peer = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([0x88; 32]));

    let mut fs_osrng = || {
        black_box(native_osrng(&key, black_box(on)));
    };
    let mut fs_pinned = || {
        black_box(native_pinned(&key, black_box(on)));
    };
    let mut plain_osrng = || {
        black_box(native_osrng(&key, black_box(off)));
    };
    let mut noise_nn = || {
        black_box(noise(&params, black_box(&PSK)));
    };
    let mut tls_p256 = || {
        black_box(tls(black_box(&p256)));
    };
    let mut tls_ed = || {
        black_box(tls(black_box(&ed25519)));
    };
    let mut floor = || {
        for _ in 0..2 {
            black_box(x25519_dalek::PublicKey::from(black_box(&secret)));
            black_box(black_box(&secret).diffie_hellman(black_box(&peer)));
        }
    };
    let suite = Suite::HmacSha256;
    let (proof_off, proof_on) = (wrong_proof(suite, off), wrong_proof(suite, on));
    let mut reject_off = || {
        black_box(reject(
            ServerHandshake::with_pinned_random(&key, black_box(off), &[0x5a; 64]),
            black_box(&proof_off),
        ));
    };
    let mut reject_on = || {
        black_box(reject(
            ServerHandshake::with_pinned_random(&key, black_box(on), &[0x5a; 64]),
            black_box(&proof_on),
        ));
    };
    let mut base = || {
        black_box(x25519_dalek::PublicKey::from(black_box(&secret)));
    };
    // Pairs, by index into `cases`.
    let pairs: [(usize, usize, &str, Option<f64>); 10] = [
        (0, 3, "native+FS / snow (OS random, like snow)", Some(0.4)),
        (1, 3, "native+FS / snow (pinned random)", Some(0.4)),
        (2, 3, "native / snow (OS random)", None),
        (2, 4, "native / rustls P-256 (OS random)", None),
        (2, 5, "native / rustls Ed25519 (OS random)", None),
        (0, 4, "native+FS / rustls P-256 (OS random)", None),
        (
            0,
            6,
            "native+FS / its X25519 floor (2 base + 2 variable-base)",
            None,
        ),
        (3, 6, "snow / the same X25519 floor", None),
        (8, 7, "reject, mode on / mode off", None),
        (
            8,
            9,
            "reject, mode on / one X25519 base mult (the cheapest X25519 op)",
            None,
        ),
    ];
    let mut cases: [Case<'_>; 10] = [
        Case {
            name: "native_hmac-sha256_fs-on_osrng",
            run: &mut fs_osrng,
        },
        Case {
            name: "native_hmac-sha256_fs-on",
            run: &mut fs_pinned,
        },
        Case {
            name: "native_hmac-sha256_fs-off_osrng",
            run: &mut plain_osrng,
        },
        Case {
            name: "snow_nnpsk0",
            run: &mut noise_nn,
        },
        Case {
            name: "rustls_tls13_p256",
            run: &mut tls_p256,
        },
        Case {
            name: "rustls_tls13_ed25519",
            run: &mut tls_ed,
        },
        Case {
            name: "x25519_floor_2base_2var",
            run: &mut floor,
        },
        Case {
            name: "reject_fs-off",
            run: &mut reject_off,
        },
        Case {
            name: "reject_fs-on",
            run: &mut reject_on,
        },
        Case {
            name: "x25519_base_mult",
            run: &mut base,
        },
    ];
    let labels: Vec<(usize, usize, &str)> = pairs.iter().map(|&(a, b, l, _)| (a, b, l)).collect();
    let medians = paired_table(&mut cases, &labels, 400, |i, m| match pairs[i].3 {
        Some(g) if m <= g => format!("<= {g}: met"),
        Some(g) => format!("<= {g}: NOT met ({:.2}x the goal)", m / g),
        None => String::new(),
    });
    // Pairs 6 and 7: native+FS / floor and snow / floor.
    let (fs_floor, snow_floor) = (medians[6], medians[7]);
    println!(
        "\nX25519's share (paired): {:.0}% of native+FS, {:.0}% of snow NNpsk0; \
         a native+FS costing nothing beyond its 4 mults would be {:.3}x snow",
        100.0 / fs_floor,
        100.0 / snow_floor,
        1.0 / snow_floor
    );
}

fn main() {
    let since = SystemTime::now();
    let load_before = loadavg();
    let mut c = Criterion::default()
        .output_directory(&criterion_dir())
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
    summary(since);
    // Only when measuring (`cargo bench`), not for `--test` or `--list`;
    // PEERS_PAIRED=0 skips it.
    let args: Vec<String> = std::env::args().collect();
    let measuring =
        args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");
    if measuring && std::env::var("PEERS_PAIRED").as_deref() != Ok("0") {
        paired_ratios();
    }
    println!(
        "\nload average (1 5 15 min) before the run: {load_before}; after: {}",
        loadavg()
    );
}
