//! Dropped keys leave nothing of their secrets in freed memory: a global
//! allocator copies a watched block as `dealloc` frees it, and the test
//! counts what is left of the secret in it.
//!
//! Two measures, both must be zero:
//! - **patterns**: bytes of the freed block inside an 8-byte run that also
//!   occurs in a key-derived value (the raw key, `K XOR ipad` and
//!   `K XOR opad` for every digest's block, the session keys); runs made
//!   only of the pads' constant tails are not secret and not looked for;
//! - **differential**: the same value is built twice, from two secrets
//!   that differ and with all else equal (key id, suite, pinned nonces), and
//!   both are dropped; a byte that differs between the two freed images
//!   depends on the secret (the PRK, hash states, stale padding), whatever
//!   the key schedule.
//!
//! Boxed values are dropped in place, so what is measured is what `Drop`
//! wipes (or fails to) in the value itself, including enum padding that a
//! move filled with stale stack bytes. Stack temporaries are probed by
//! `tests/zeroize_stack.rs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use hmac_handshake::native::{self, ForwardSecrecy, NativeKey, Session, Suite};
use hmac_handshake::{ClientHandshake, Finished, Handshake, Key, ServerHandshake, Status};

/// The most bytes of a watched block copied.
const IMAGE_MAX: usize = 8192;

/// The address of the block to copy when freed (0: none).
static WATCHED: AtomicUsize = AtomicUsize::new(0);

/// The copy of the last watched block freed, and its length.
static IMAGE: Mutex<([u8; IMAGE_MAX], usize)> = Mutex::new(([0; IMAGE_MAX], 0));

/// Serializes the tests: one watched block at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Inspecting;

// SAFETY: forwards every call unchanged to the system allocator; `dealloc`
// first reads the block it is given (still allocated, `layout.size()`
// bytes) when it is the watched one.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize == WATCHED.load(Ordering::SeqCst) {
            WATCHED.store(0, Ordering::SeqCst);
            let n = layout.size().min(IMAGE_MAX);
            let mut image = IMAGE.lock().unwrap_or_else(|e| e.into_inner());
            for i in 0..n {
                // Volatile: the freed bytes as they are, padding included.
                image.0[i] = unsafe { core::ptr::read_volatile(ptr.add(i)) };
            }
            image.1 = n;
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Inspecting = Inspecting;

/// Drops `value` in place and returns the bytes of its freed block.
fn freed_image<T>(value: Box<T>) -> Vec<u8> {
    assert!(std::mem::size_of::<T>() <= IMAGE_MAX);
    WATCHED.store(&*value as *const T as usize, Ordering::SeqCst);
    drop(value);
    let image = IMAGE.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(
        image.1,
        std::mem::size_of::<T>(),
        "the block was not seen freed"
    );
    image.0[..image.1].to_vec()
}

/// Block sizes of MD5, SHA-256, SHA-384, SHA-512, SHA3-256, SHA3-384.
const BLOCKS: [usize; 6] = [64, 64, 128, 128, 136, 104];

/// `secret` (at most the smallest block), zero-padded to `block` bytes
/// and XORed with `pad`.
fn padded(secret: &[u8], block: usize, pad: u8) -> Vec<u8> {
    let mut k = secret.to_vec();
    k.resize(block, 0);
    k.iter().map(|b| b ^ pad).collect()
}

/// The key-derived values of an HMAC key `secret`: itself and its padded
/// blocks for every digest.
fn hmac_patterns(secret: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut patterns = vec![("the key".to_string(), secret.to_vec())];
    for block in BLOCKS {
        patterns.push((format!("K xor ipad ({block})"), padded(secret, block, 0x36)));
        patterns.push((format!("K xor opad ({block})"), padded(secret, block, 0x5c)));
    }
    patterns
}

/// Bytes of `image` inside an 8-byte run of one of `patterns` (runs of
/// one repeated byte, the pads' tails, are skipped), with the names of the
/// patterns found.
fn pattern_bytes(image: &[u8], patterns: &[(String, Vec<u8>)]) -> (usize, Vec<String>) {
    const RUN: usize = 8;
    let mut hit = vec![false; image.len()];
    let mut found = Vec::new();
    for (name, pattern) in patterns {
        for run in pattern.windows(RUN) {
            if run.iter().all(|&b| b == run[0]) {
                continue;
            }
            for (at, window) in image.windows(RUN).enumerate() {
                if window == run {
                    hit[at..at + RUN].iter_mut().for_each(|h| *h = true);
                    if !found.contains(name) {
                        found.push(name.clone());
                    }
                }
            }
        }
    }
    (hit.iter().filter(|&&h| h).count(), found)
}

/// Offsets where two freed images differ: bytes that depend on the secret.
fn differing(a: &[u8], b: &[u8]) -> Vec<usize> {
    assert_eq!(a.len(), b.len());
    (0..a.len()).filter(|&i| a[i] != b[i]).collect()
}

/// Two 32-byte secrets, distinct in every byte.
fn secrets() -> ([u8; 32], [u8; 32]) {
    let a: [u8; 32] = core::array::from_fn(|i| 0xa0 ^ (i as u8).wrapping_mul(37) ^ 0x11);
    let b: [u8; 32] = core::array::from_fn(|i| a[i] ^ 0xff);
    (a, b)
}

/// The bytes of `a` in key patterns plus those differing from `b` (the
/// two freed images), printed with `what`.
fn remaining(what: &str, a: &[u8], b: &[u8], patterns: &[(String, Vec<u8>)]) -> usize {
    let (hits, names) = pattern_bytes(a, patterns);
    let diff = differing(a, b);
    println!(
        "{what}: {} bytes, {hits} in key patterns {names:?}, {} secret-dependent",
        a.len(),
        diff.len()
    );
    if !diff.is_empty() {
        println!("  first differing offsets {:?}", &diff[..diff.len().min(8)]);
    }
    hits + diff.len()
}

#[test]
fn a_dropped_key_leaves_no_secret_in_its_block() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (a, b) = secrets();
    let image_a = freed_image(Box::new(Key::new(&a)));
    let image_b = freed_image(Box::new(Key::new(&b)));
    assert_eq!(remaining("Key", &image_a, &image_b, &hmac_patterns(&a)), 0);
}

#[test]

fn a_dropped_native_key_leaves_no_secret_in_its_block() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (a, b) = secrets();
    let mut left = 0;
    for suite in Suite::ALL {
        let image_a = freed_image(Box::new(NativeKey::new(b"k1", &a, suite).unwrap()));
        let image_b = freed_image(Box::new(NativeKey::new(b"k1", &b, suite).unwrap()));
        let what = format!("NativeKey {suite}");
        left += remaining(&what, &image_a, &image_b, &hmac_patterns(&a));
    }
    assert_eq!(left, 0);
}

/// The client's `Finished` of a native handshake with `secret` on both
/// sides, pinned nonces, the forward-secrecy mode as `fs` says.
fn finished(secret: &[u8], suite: Suite, fs: ForwardSecrecy) -> Finished {
    let key = NativeKey::new(b"k1", secret, suite).unwrap();
    let config = native::Config::new(b"zeroize test").with_forward_secrecy(fs);
    let mut server = ServerHandshake::with_pinned_random(&key, config, &[1; 64]);
    let mut client = ClientHandshake::with_pinned_random(&key, config, &[2; 64]);
    let mut buf = [0u8; 512];
    for _ in 0..8 {
        let n = client.write_output(&mut buf);
        server.receive(&buf[..n]);
        let n = server.write_output(&mut buf);
        client.receive(&buf[..n]);
    }
    assert!(matches!(client.status(), Status::Done(_)));
    match client.finish() {
        Ok(f) if f.has_session() => f,
        other => panic!(
            "the handshake did not finish: {:?}",
            other.map(|f| f.outcome)
        ),
    }
}

/// The client's session of [`finished`], without forward secrecy.
fn session(secret: &[u8], suite: Suite) -> Session {
    finished(secret, suite, ForwardSecrecy::Off)
        .into_session()
        .expect("a native session")
}

/// A native `Finished` holds what its session comes from (the key's PRK,
/// or `PRK_fs`) until it is dropped: then none of it is left, nor of the
/// key's MAC states.
#[test]
fn a_dropped_finished_leaves_no_secret_in_its_block() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (a, b) = secrets();
    let mut left = 0;
    for suite in Suite::ALL {
        for fs in [ForwardSecrecy::Off, ForwardSecrecy::Required] {
            let image_a = freed_image(Box::new(finished(&a, suite, fs)));
            let image_b = freed_image(Box::new(finished(&b, suite, fs)));
            let what = format!("Finished {suite} {fs:?}");
            left += remaining(&what, &image_a, &image_b, &hmac_patterns(&a));
        }
    }
    assert_eq!(left, 0);
}

#[test]
fn a_dropped_session_leaves_no_secret_in_its_block() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (a, b) = secrets();
    let mut left = 0;
    for suite in Suite::ALL {
        let session_a = Box::new(session(&a, suite));
        let mut exported = vec![0u8; 64];
        session_a.export(b"label", b"", &mut exported).unwrap();
        let mut patterns = vec![
            (
                "c2s key".to_string(),
                session_a.client_to_server_key().to_vec(),
            ),
            (
                "s2c key".to_string(),
                session_a.server_to_client_key().to_vec(),
            ),
            ("an export".to_string(), exported),
        ];
        patterns.extend(hmac_patterns(&a));
        let image_a = freed_image(session_a);
        let image_b = freed_image(Box::new(session(&b, suite)));
        let what = format!("Session {suite}");
        left += remaining(&what, &image_a, &image_b, &patterns);
    }
    assert_eq!(left, 0);
}
