//! The state machines never touch the heap: a counting global allocator
//! sees zero allocations over complete handshakes in every profile (the
//! machines only; adapters are excluded), from building the machines to
//! `finish()` and, for native, a session export, with the forward-secrecy
//! mode (ephemeral X25519) off and on. Machines hold their keys
//! borrowed (`&Key`, `&Keyring`, `&NativeKey`, `&[NativeKey; 4]`) or through
//! `Arc` handles built before the counting window (cloning an `Arc` does not
//! allocate). Also records `size_of` of each.

use std::borrow::Borrow;
use std::sync::Arc;

use getrandom::SysRng;
use hmac_handshake::native::{
    self, ClientKeys, ForwardSecrecy, KeyLookup, Keyring, NativeKey, SharedKeyring, Suite,
};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, Digest, Error, Finished, Handshake, Key,
    ServerHandshake, Status,
};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations, allocations_in};

/// Runs both machines against each other in 1-byte pieces until both are
/// settled (or, with `tamper`, the server is), then finishes both.
fn settle(
    mut server: impl Handshake,
    mut client: impl Handshake,
    tamper: bool,
) -> (Result<Finished, Error>, Result<Finished, Error>) {
    let mut byte = [0u8; 1];
    for _ in 0..2000 {
        if client.write_output(&mut byte) == 1 {
            assert_eq!(server.receive(&byte), 1);
        }
        if server.write_output(&mut byte) == 1 {
            client.receive(&byte);
        }
        let settled = |s: Status<'_>| matches!(s, Status::Done(_) | Status::Failed(_));
        if settled(server.status()) && (settled(client.status()) || tamper) {
            break;
        }
    }
    (server.finish(), client.finish())
}

/// The recipe and multiprocessing settings under test.
#[derive(Clone, Copy, Debug)]
enum Classic {
    Recipe(recipe::Config),
    Multiprocessing(multiprocessing::Config),
}

fn classic_setups() -> [Classic; 5] {
    [
        Classic::Recipe(recipe::Config::default()),
        Classic::Recipe(recipe::Config {
            digest: Digest::Md5,
        }),
        Classic::Multiprocessing(multiprocessing::Config::default()),
        Classic::Multiprocessing(
            multiprocessing::Config::default()
                .with_digest(Digest::Sha3_384)
                .unwrap(),
        ),
        Classic::Multiprocessing(multiprocessing::Config::legacy()),
    ]
}

/// Both machines of `setup` (pinned randomness, or drawn from the OS), a
/// full exchange and `finish()`; returns whether both sides finished.
fn classic_exchange<K: Borrow<Key>>(
    server_key: K,
    client_key: K,
    setup: Classic,
    pinned: bool,
    tamper: bool,
) -> bool {
    let (server, client) = match setup {
        Classic::Recipe(c) if pinned => settle(
            ServerHandshake::with_pinned_random(server_key, c, &[0x33; 32]),
            ClientHandshake::with_pinned_random(client_key, c, &[]),
            tamper,
        ),
        Classic::Recipe(c) => settle(
            ServerHandshake::new(server_key, c, &mut SysRng).unwrap(),
            ClientHandshake::new(client_key, c, &mut SysRng).unwrap(),
            tamper,
        ),
        Classic::Multiprocessing(c) if pinned => settle(
            ServerHandshake::with_pinned_random(server_key, c, &[0x33; 40]),
            ClientHandshake::with_pinned_random(client_key, c, &[0x44; 40]),
            tamper,
        ),
        Classic::Multiprocessing(c) => settle(
            ServerHandshake::new(server_key, c, &mut SysRng).unwrap(),
            ClientHandshake::new(client_key, c, &mut SysRng).unwrap(),
            tamper,
        ),
    };
    server.is_ok() && client.is_ok()
}

#[test]
fn zero_heap_allocations_in_every_profile() {
    let long_key = [0x11u8; 300];
    for setup in classic_setups() {
        for secret in [&b""[..], b"k", &long_key[..]] {
            // Borrowed keys, built inside the window; pinned randomness.
            let ((ok, failed_ok), n) = allocations_in(|| {
                let key = Key::new(secret);
                let other = Key::new(b"another key");
                (
                    classic_exchange(&key, &key, setup, true, false),
                    classic_exchange(&key, &other, setup, true, true),
                )
            });
            assert!(ok, "{setup:?} &Key must authenticate");
            assert!(!failed_ok, "{setup:?} &Key with a wrong key must not");
            assert_eq!(n, 0, "{setup:?} &Key: heap allocations");

            // Arc handles built before the window, cloned inside it; the OS RNG.
            let key = Arc::new(Key::new(secret));
            let other = Arc::new(Key::new(b"another key"));
            let ((ok, failed_ok), n) = allocations_in(|| {
                (
                    classic_exchange(Arc::clone(&key), Arc::clone(&key), setup, false, false),
                    classic_exchange(Arc::clone(&key), Arc::clone(&other), setup, false, true),
                )
            });
            assert!(ok, "{setup:?} Arc<Key> must authenticate");
            assert!(!failed_ok, "{setup:?} Arc<Key> with a wrong key must not");
            assert_eq!(n, 0, "{setup:?} Arc<Key>: heap allocations");
        }
    }
    // Make sure the counter counts at all.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 10]);
    assert!(allocations() > before);
    drop(v);
}

const CONTEXT: &[u8] = b"billing-workers/v3";

/// The (server, client) forward-secrecy settings under test: the mode off,
/// and on (offered or required) on each side.
const SETTINGS: [(ForwardSecrecy, ForwardSecrecy); 5] = [
    (ForwardSecrecy::Off, ForwardSecrecy::Off),
    (ForwardSecrecy::Offered, ForwardSecrecy::Offered),
    (ForwardSecrecy::Offered, ForwardSecrecy::Required),
    (ForwardSecrecy::Required, ForwardSecrecy::Offered),
    (ForwardSecrecy::Required, ForwardSecrecy::Required),
];

/// A native handshake with forward-secrecy settings `fs` (server,
/// client), byte by byte, `finish()` on both sides and an export from each
/// session; returns whether both sides finished. A finished session has
/// forward secrecy exactly when the mode is on on both sides.
fn native_exchange(
    server_keys: impl KeyLookup,
    client_keys: impl ClientKeys,
    pinned: bool,
    fs: (ForwardSecrecy, ForwardSecrecy),
) -> bool {
    let config = native::Config::new(CONTEXT);
    let (server_config, client_config) = (
        config.with_forward_secrecy(fs.0),
        config.with_forward_secrecy(fs.1),
    );
    let (server, client) = if pinned {
        settle(
            ServerHandshake::with_pinned_random(server_keys, server_config, &[1; 64]),
            ClientHandshake::with_pinned_random(client_keys, client_config, &[2; 64]),
            false,
        )
    } else {
        settle(
            ServerHandshake::new(server_keys, server_config, &mut SysRng).unwrap(),
            ClientHandshake::new(client_keys, client_config, &mut SysRng).unwrap(),
            false,
        )
    };
    let mode_on = fs.0 != ForwardSecrecy::Off && fs.1 != ForwardSecrecy::Off;
    let mut exported = [[0u8; 64]; 2];
    for (finished, out) in [&server, &client].into_iter().zip(&mut exported) {
        if let Some(session) = finished.as_ref().ok().and_then(Finished::session) {
            assert_eq!(session.forward_secrecy(), mode_on, "{fs:?}");
            session.export(b"label", b"ctx", out).unwrap();
        }
    }
    let ok = server.is_ok() && client.is_ok();
    if ok {
        assert_eq!(exported[0], exported[1]);
        assert_ne!(exported[0], [0; 64]);
    }
    ok
}

/// The three keys of the ring (`k2` is the client's), and a wrong `k2`.
fn native_keys(suite: Suite) -> ([NativeKey; 3], NativeKey) {
    (
        [
            NativeKey::new(b"k1", &[1; 32], suite).unwrap(),
            NativeKey::new(b"k2", &[2; 300], suite).unwrap(),
            NativeKey::new(b"k3", &[3; 16], suite).unwrap(),
        ],
        NativeKey::new(b"k2", &[9; 32], suite).unwrap(),
    )
}

#[test]
fn zero_heap_allocations_native() {
    for fs in SETTINGS {
        for suite in Suite::ALL {
            native_allocations(suite, fs);
        }
        println!("native, forward secrecy {fs:?}: 0 heap allocations in every suite");
    }
}

/// Every handle of [`zero_heap_allocations_native`] for one suite and one
/// pair of forward-secrecy settings.
fn native_allocations(suite: Suite, fs: (ForwardSecrecy, ForwardSecrecy)) {
    // A keyring allocates when built: before the window.
    let ring = Keyring::new(native_keys(suite).0).unwrap();

    // `&Keyring` server, `&NativeKey` client built inside the window.
    let ((ok, rejected), n) = allocations_in(|| {
        let ([_, k2, _], wrong) = native_keys(suite);
        (
            native_exchange(&ring, &k2, true, fs),
            native_exchange(&ring, &wrong, true, fs),
        )
    });
    assert!(ok, "{suite} {fs:?}: &Keyring must authenticate");
    assert!(!rejected, "{suite} {fs:?}: &Keyring, wrong key must not");
    assert_eq!(n, 0, "{suite} {fs:?}: &Keyring: heap allocations");

    // One `&NativeKey` as the server's store, a client holding a key of
    // every suite (`&[NativeKey; 4]`), all built inside the window.
    let ((ok, rejected), n) = allocations_in(|| {
        let server = NativeKey::new(b"k2", &[2; 300], suite).unwrap();
        let client = Suite::ALL.map(|s| NativeKey::new(b"k2", &[2; 300], s).unwrap());
        let wrong = Suite::ALL.map(|s| NativeKey::new(b"k2", &[9; 32], s).unwrap());
        (
            native_exchange(&server, &client, true, fs),
            native_exchange(&server, &wrong, true, fs),
        )
    });
    assert!(ok, "{suite} {fs:?}: &NativeKey must authenticate");
    assert!(!rejected, "{suite} {fs:?}: &NativeKey, wrong key must not");
    assert_eq!(n, 0, "{suite} {fs:?}: &NativeKey: heap allocations");

    // Arc handles built before the window, cloned inside it; the OS RNG.
    let ring = Arc::new(ring);
    let ([_, k2, _], wrong) = native_keys(suite);
    let (k2, wrong) = (Arc::new(k2), Arc::new(wrong));
    let ((ok, rejected), n) = allocations_in(|| {
        (
            native_exchange(Arc::clone(&ring), Arc::clone(&k2), false, fs),
            native_exchange(Arc::clone(&ring), Arc::clone(&wrong), false, fs),
        )
    });
    assert!(ok, "{suite} {fs:?}: Arc<Keyring> must authenticate");
    assert!(
        !rejected,
        "{suite} {fs:?}: Arc<Keyring>, wrong key must not"
    );
    assert_eq!(n, 0, "{suite} {fs:?}: Arc<Keyring>: heap allocations");

    // A rotation snapshot (`SharedKeyring::snapshot`, taken before the
    // window) and a client's `Arc<Vec<NativeKey>>`.
    let shared = SharedKeyring::new(Keyring::new(native_keys(suite).0).unwrap());
    let snapshot = shared.snapshot();
    let client = Arc::new(vec![NativeKey::new(b"k2", &[2; 300], suite).unwrap()]);
    let (ok, n) =
        allocations_in(|| native_exchange(Arc::clone(&snapshot), Arc::clone(&client), false, fs));
    assert!(ok, "{suite} {fs:?}: a snapshot must authenticate");
    assert_eq!(n, 0, "{suite} {fs:?}: snapshot: heap allocations");
}

#[test]
fn machine_sizes() {
    let servers = [
        ("ServerHandshake<&Key>", size_of::<ServerHandshake<&Key>>()),
        (
            "ServerHandshake<Arc<Key>>",
            size_of::<ServerHandshake<Arc<Key>>>(),
        ),
        (
            "ServerHandshake<&Keyring>",
            size_of::<ServerHandshake<&Keyring>>(),
        ),
        (
            "ServerHandshake<Arc<Keyring>>",
            size_of::<ServerHandshake<Arc<Keyring>>>(),
        ),
        (
            "ServerHandshake<&NativeKey>",
            size_of::<ServerHandshake<&NativeKey>>(),
        ),
    ];
    let clients = [
        ("ClientHandshake<&Key>", size_of::<ClientHandshake<&Key>>()),
        (
            "ClientHandshake<Arc<Key>>",
            size_of::<ClientHandshake<Arc<Key>>>(),
        ),
        (
            "ClientHandshake<&NativeKey>",
            size_of::<ClientHandshake<&NativeKey>>(),
        ),
        (
            "ClientHandshake<Arc<NativeKey>>",
            size_of::<ClientHandshake<Arc<NativeKey>>>(),
        ),
        (
            "ClientHandshake<&[NativeKey]>",
            size_of::<ClientHandshake<&[NativeKey]>>(),
        ),
    ];
    let others = [
        ("Key", size_of::<Key>()),
        ("NativeKey", size_of::<NativeKey>()),
        ("Keyring", size_of::<Keyring>()),
        ("native::Config", size_of::<native::Config>()),
        ("native::Session", size_of::<native::Session>()),
    ];
    for (name, size) in servers.iter().chain(&clients).chain(&others) {
        println!("size_of::<{name}>() = {size} bytes");
    }
    // Documented in the README; fixed-size, no heap behind them.
    for (name, size) in servers.iter().chain(&clients) {
        assert!(*size <= 1024, "{name} is {size} bytes");
    }
}
