//! The state machines never touch the heap: a counting global allocator
//! sees zero allocations over complete handshakes in every profile (the
//! machines only; adapters are excluded). Also records `size_of` of each.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use hmac_handshake::native::{ClientConfig, NativeKey, ServerConfig, Suite};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, Digest, Handshake, Key, Profile, ServerHandshake,
    Status,
};

struct Counting;

thread_local! {
    // Per thread, so the test harness's other threads are not counted.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // try_with: the slot may be gone while a thread is being torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Key setup, both machines, a full exchange in 1-byte pieces, and a
/// failing exchange; returns whether both sides finished.
fn exchange(secret: &[u8], profile: Profile, tamper: bool) -> bool {
    let key = Key::new(secret);
    let other = Key::new(b"another key");
    let random = [0x33u8; 64];
    let mut server =
        ServerHandshake::new(&key, profile, &random[..profile.server_random_len()]).unwrap();
    let client_key = if tamper { &other } else { &key };
    let mut client =
        ClientHandshake::new(client_key, profile, &random[..profile.client_random_len()]).unwrap();
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
    server.outcome().is_some() && client.outcome().is_some()
}

#[test]
fn zero_heap_allocations_in_every_profile() {
    let profiles = [
        Profile::Recipe(recipe::Config::default()),
        Profile::Recipe(recipe::Config {
            digest: Digest::Md5,
        }),
        Profile::Multiprocessing(multiprocessing::Config::default()),
        Profile::Multiprocessing(multiprocessing::Config {
            digest: Digest::Sha3_384,
            ..multiprocessing::Config::default()
        }),
        Profile::Multiprocessing(multiprocessing::Config {
            legacy_challenge: true,
            ..multiprocessing::Config::with_md5()
        }),
    ];
    let long_key = [0x11u8; 300];
    for profile in profiles {
        for secret in [&b""[..], b"k", &long_key[..]] {
            let before = allocations();
            let ok = exchange(secret, profile, false);
            let failed_ok = exchange(secret, profile, true);
            let after = allocations();
            assert!(ok, "{profile:?} must authenticate");
            assert!(!failed_ok, "{profile:?} with a wrong key must not");
            assert_eq!(after - before, 0, "{profile:?}: heap allocations");
        }
    }
    // Make sure the counter counts at all.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 10]);
    assert!(allocations() > before);
    drop(v);
}

/// A native handshake with a 3-key keyring, byte by byte, plus the session
/// and an export, and a rejected one.
fn native_exchange(ring: &[NativeKey], client_key: &NativeKey, suite: Suite) -> bool {
    let sconf = ServerConfig {
        suite,
        context: b"billing-workers/v3",
    };
    let cconf = ClientConfig {
        context: b"billing-workers/v3",
        ..ClientConfig::default()
    };
    let mut server = ServerHandshake::native(ring, sconf, &[1; 32]).unwrap();
    let mut client = ClientHandshake::native(client_key, cconf, &[2; 32]).unwrap();
    let mut byte = [0u8; 1];
    for _ in 0..2000 {
        if client.write_output(&mut byte) == 1 {
            assert_eq!(server.receive(&byte), 1);
        }
        if server.write_output(&mut byte) == 1 {
            client.receive(&byte);
        }
    }
    let mut exported = [0u8; 64];
    if let Some(session) = client.session() {
        session.export(b"label", b"ctx", &mut exported).unwrap();
    }
    server.outcome().is_some() && client.outcome().is_some()
}

#[test]
fn zero_heap_allocations_native() {
    for suite in Suite::ALL {
        let before = allocations();
        let ring = [
            NativeKey::new(b"k1", &[1; 32]).unwrap(),
            NativeKey::new(b"k2", &[2; 300]).unwrap(),
            NativeKey::new(b"k3", &[3; 16]).unwrap(),
        ];
        let wrong = NativeKey::new(b"k2", &[9; 32]).unwrap();
        let ok = native_exchange(&ring, &ring[1], suite);
        let rejected = native_exchange(&ring, &wrong, suite);
        let after = allocations();
        assert!(ok, "{suite}: must authenticate");
        assert!(!rejected, "{suite}: wrong key must not");
        assert_eq!(after - before, 0, "{suite}: heap allocations");
    }
}

#[test]
fn machine_sizes() {
    let sizes = [
        ("Key", size_of::<Key>()),
        ("ServerHandshake", size_of::<ServerHandshake<'_>>()),
        ("ClientHandshake", size_of::<ClientHandshake<'_>>()),
        ("NativeKey", size_of::<NativeKey>()),
        (
            "native::Session",
            size_of::<hmac_handshake::native::Session>(),
        ),
    ];
    for (name, size) in sizes {
        println!("size_of::<{name}>() = {size} bytes");
    }
    // Documented in the README; fixed-size, no heap behind them.
    assert!(size_of::<ServerHandshake<'_>>() <= 1024);
    assert!(size_of::<ClientHandshake<'_>>() <= 1024);
}
