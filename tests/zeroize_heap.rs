//! Key material in live and freed heap memory (issue 9 item 6, and a
//! reviewer's attack on the first fix): a live `NativeKey` holds no raw
//! secret, PRK or MAC key in its padding or unused room; building a
//! `Keyring` from an iterator of unknown length frees no copy of a key's
//! states; machines dropped in place free none either.
//!
//! What is looked for, as 16-byte runs:
//! - values computed here, independently, from the secret (`hmac`, `hkdf`
//!   and `sha2` used directly, PROTOCOL.md "Key schedule"): the key, the PRK
//!   and the client and server MAC keys, and their `XOR ipad` / `XOR opad`
//!   blocks;
//! - the key's live state: runs of the key's own bytes that a twin key built
//!   from another secret does not have, and that look random (at least 10
//!   distinct byte values: zero-filled room next to a tag byte is not
//!   secret).
//!
//! A global allocator copies every block freed while a closure runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use hkdf::Hkdf;
use hmac_handshake::native::{self, ForwardSecrecy, Keyring, NativeKey, Suite};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, Handshake, Key, ServerHandshake, Status,
};

/// Room for the freed bytes of one closure.
const LOG_MAX: usize = 8 << 20;

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static RECORDING: AtomicBool = AtomicBool::new(false);
static LOGGED: AtomicUsize = AtomicUsize::new(0);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Recording;

// SAFETY: every call is forwarded to the system allocator; `dealloc` first
// copies the block it is given (still allocated, `layout.size()` bytes)
// into a buffer reserved up front (so that copying allocates nothing) while
// recording, then zeroes it, always: so that a new block never starts with
// what this test itself freed (its own copies of key images), which would
// be found as if the library had left it. `realloc` is an allocation, a
// copy and a `dealloc`, as glibc does for a block it cannot grow in place.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if RECORDING.load(Ordering::SeqCst) {
            if let Ok(mut log) = LOG.try_lock() {
                let n = layout.size().min(LOG_MAX - log.len());
                for i in 0..n {
                    log.push(unsafe { core::ptr::read_volatile(ptr.add(i)) });
                }
                LOGGED.fetch_add(layout.size(), Ordering::SeqCst);
            }
        }
        for i in 0..layout.size() {
            unsafe { core::ptr::write_volatile(ptr.add(i), 0) };
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        let moved = unsafe { System.alloc(new) };
        if !moved.is_null() {
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        moved
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

/// The bytes of every block freed while `f` runs.
fn freed_during(f: impl FnOnce()) -> Vec<u8> {
    {
        let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
        log.clear();
        log.reserve(LOG_MAX);
    }
    LOGGED.store(0, Ordering::SeqCst);
    RECORDING.store(true, Ordering::SeqCst);
    f();
    RECORDING.store(false, Ordering::SeqCst);
    let log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(
        log.len(),
        LOGGED.load(Ordering::SeqCst),
        "freed more than the log holds"
    );
    log.clone()
}

/// The bytes of a value as they are, padding included.
fn image<T>(value: &T) -> Vec<u8> {
    let at = (value as *const T).cast::<u8>();
    // SAFETY: reads the `size_of::<T>()` bytes of a live value, each as a
    // plain byte (stale padding included), volatile so none is assumed.
    (0..size_of::<T>())
        .map(|i| unsafe { core::ptr::read_volatile(at.add(i)) })
        .collect()
}

const RUN: usize = 16;

fn random_looking(run: &[u8]) -> bool {
    run.iter().collect::<HashSet<_>>().len() >= 10
}

/// The 16-byte runs of each value (runs of one repeated byte left out).
fn runs_of(values: &[Vec<u8>]) -> HashSet<Vec<u8>> {
    let mut runs = HashSet::new();
    for v in values {
        for run in v.windows(RUN) {
            if run.iter().any(|&b| b != run[0]) {
                runs.insert(run.to_vec());
            }
        }
    }
    runs
}

/// Runs of `live` that `twin` (the same value from another secret) does
/// not have and that look random: the secret-dependent state.
fn state_runs(live: &[u8], twin: &[u8]) -> HashSet<Vec<u8>> {
    let twin = runs_of(&[twin.to_vec()]);
    runs_of(&[live.to_vec()])
        .into_iter()
        .filter(|r| random_looking(r) && !twin.contains(r))
        .collect()
}

fn hits(bytes: &[u8], runs: &HashSet<Vec<u8>>) -> usize {
    bytes.windows(RUN).filter(|w| runs.contains(*w)).count()
}

fn secret(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| 0xa0 ^ (i as u8).wrapping_mul(37) ^ salt ^ ((i >> 8) as u8))
        .collect()
}

/// `value` padded to `block` bytes and XORed with each pad.
fn pads(value: &[u8], block: usize) -> [Vec<u8>; 2] {
    let mut k = value.to_vec();
    k.resize(block, 0);
    [0x36, 0x5c].map(|pad| k.iter().map(|b| b ^ pad).collect())
}

/// PROTOCOL.md "Key schedule" for SHA-2 suite `D`: the PRK, and the
/// client and server MAC keys (`Expand` with its `HkdfLabel`).
fn schedule<D>(suite: Suite, psk: &[u8]) -> [Vec<u8>; 3]
where
    D: hmac::EagerHash + Clone + hmac::digest::OutputSizeUser,
    hmac::Hmac<D>: hkdf::HmacImpl,
{
    let (prk, hk) = Hkdf::<D>::extract(Some(b"hmac-handshake v1"), psk);
    let l = prk.len();
    let expand = |label: &[u8]| {
        let mut info = (l as u16).to_be_bytes().to_vec();
        info.extend_from_slice(b"hmac-handshake v1");
        info.extend_from_slice(&[suite.id(), label.len() as u8]);
        info.extend_from_slice(label);
        info.push(0);
        let mut out = vec![0u8; l];
        hk.expand(&info, &mut out).unwrap();
        out
    };
    [prk.to_vec(), expand(b"client key"), expand(b"server key")]
}

/// Every value a live or freed native key of `suite` must not show: the
/// PSK, its pads, the PRK, the MAC keys and their pads (SHA-2 suites; the
/// SHA3-256 suite's schedule is checked through its state runs only).
fn native_patterns(suite: Suite, psk: &[u8]) -> HashSet<Vec<u8>> {
    let (values, block) = match suite {
        Suite::HmacSha256 => (schedule::<sha2::Sha256>(suite, psk).to_vec(), 64),
        Suite::HmacSha384 => (schedule::<sha2::Sha384>(suite, psk).to_vec(), 128),
        Suite::HmacSha512 => (schedule::<sha2::Sha512>(suite, psk).to_vec(), 128),
        _ => (Vec::new(), 136),
    };
    let mut all = vec![psk.to_vec()];
    all.extend(pads(psk, block));
    for v in values {
        all.extend(pads(&v, block));
        all.push(v);
    }
    runs_of(&all)
}

#[test]
fn live_native_keys_hold_no_psk_prk_or_mac_key() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut found = 0;
    for suite in Suite::ALL {
        for len in [16, 32, 64, 65, 200, 1000] {
            let psk = secret(len, 0x11);
            let key = Box::new(NativeKey::new(b"k1", &psk, suite).unwrap());
            let n = hits(&image(&*key), &native_patterns(suite, &psk));
            if n > 0 {
                println!("{suite}, {len}-byte key: {n} runs of its secrets in the live key");
            }
            found += n;
        }
    }
    assert_eq!(found, 0);
}

/// [`secret`] of 32 bytes on the stack (a `Vec` would be freed as is, and
/// be found).
fn secret32(salt: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in s.iter_mut().enumerate() {
        *b = 0xa0 ^ (i as u8).wrapping_mul(37) ^ salt;
    }
    s
}

/// An iterator whose length is not known up front.
fn unsized_keys(n: usize, suite: Suite) -> impl Iterator<Item = NativeKey> {
    let mut i = 0u8;
    std::iter::from_fn(move || {
        i += 1;
        (usize::from(i) <= n).then(|| NativeKey::new(&[b'k', i], &secret32(i), suite).unwrap())
    })
}

#[test]
fn a_keyring_gathered_from_an_iterator_frees_no_key() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 20;
    for suite in Suite::ALL {
        let mut state = HashSet::new();
        let mut patterns = HashSet::new();
        for (i, key) in unsized_keys(N, suite).enumerate() {
            let twin = NativeKey::new(key.id().as_bytes(), &secret32(0x80 | i as u8), suite);
            state.extend(state_runs(&image(&key), &image(&twin.unwrap())));
            patterns.extend(native_patterns(suite, &secret32(i as u8 + 1)));
        }
        let mut ring = None;
        let freed = freed_during(|| ring = Some(Keyring::new(unsized_keys(N, suite)).unwrap()));
        let (s, p) = (hits(&freed, &state), hits(&freed, &patterns));
        println!(
            "{suite}: {} bytes freed while gathering {N} keys, {s} state runs, {p} secret runs",
            freed.len()
        );
        assert_eq!((s, p), (0, 0), "{suite}");
        let freed = freed_during(|| drop(ring.take()));
        assert_eq!(
            hits(&freed, &state) + hits(&freed, &patterns),
            0,
            "{suite}, dropped"
        );
    }
}

/// Runs a server and a client against each other to the end.
fn pump(a: &mut impl Handshake, b: &mut impl Handshake) {
    let mut buf = [0u8; 512];
    for _ in 0..8 {
        let n = a.write_output(&mut buf);
        b.receive(&buf[..n]);
        let n = b.write_output(&mut buf);
        a.receive(&buf[..n]);
    }
}

/// A whole native handshake in a frame of its own, session included.
#[inline(never)]
fn stack_handshake(key: &NativeKey, config: native::Config) {
    let mut server = ServerHandshake::with_pinned_random(key, config, &[3; 64]);
    let mut client = ClientHandshake::with_pinned_random(key, config, &[4; 64]);
    pump(&mut client, &mut server);
    let _ = std::hint::black_box(server.finish().map(|f| f.into_session()));
    let _ = std::hint::black_box(client.finish().map(|f| f.into_session()));
}

#[test]
fn machines_dropped_in_place_free_no_key() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (a, b) = (secret(32, 0x11), secret(32, 0xee));
    let mut found = 0;
    for suite in Suite::ALL {
        let state = state_runs(
            &image(&NativeKey::new(b"k1", &a, suite).unwrap()),
            &image(&NativeKey::new(b"k1", &b, suite).unwrap()),
        );
        let mut runs = native_patterns(suite, &a);
        runs.extend(state);
        for fs in [ForwardSecrecy::Off, ForwardSecrecy::Required] {
            let config = native::Config::new(b"x").with_forward_secrecy(fs);
            let key = || NativeKey::new(b"k1", &a, suite).unwrap();
            // A handshake that ran on the stack first leaves its states
            // there, for the next machine's padding to pick up.
            stack_handshake(&key(), config);
            let mut server = Box::new(ServerHandshake::with_pinned_random(key(), config, &[1; 64]));
            let mut client = Box::new(ClientHandshake::with_pinned_random(key(), config, &[2; 64]));
            pump(&mut *client, &mut *server);
            assert!(matches!(server.status(), Status::Done(_)));
            let n = hits(&freed_during(|| drop(server)), &runs)
                + hits(&freed_during(|| drop(client)), &runs);
            if n > 0 {
                println!("native {suite} {fs:?}: {n} runs in the freed machines");
            }
            found += n;
        }
    }
    let state = state_runs(&image(&Key::new(&a)), &image(&Key::new(&b)));
    for mp in [false, true] {
        let (mut server, mut client): (Box<ServerHandshake<Key>>, Box<ClientHandshake<Key>>) = if mp
        {
            let c = multiprocessing::Config::new();
            (
                Box::new(ServerHandshake::with_pinned_random(
                    Key::new(&a),
                    c,
                    &[5; 40],
                )),
                Box::new(ClientHandshake::with_pinned_random(
                    Key::new(&a),
                    c,
                    &[6; 40],
                )),
            )
        } else {
            let c = recipe::Config::default();
            (
                Box::new(ServerHandshake::with_pinned_random(
                    Key::new(&a),
                    c,
                    &[5; 32],
                )),
                Box::new(ClientHandshake::with_pinned_random(Key::new(&a), c, &[])),
            )
        };
        pump(&mut *server, &mut *client);
        let n = hits(&freed_during(|| drop(server)), &state)
            + hits(&freed_during(|| drop(client)), &state);
        if n > 0 {
            println!(
                "{} machines: {n} key-state runs freed",
                if mp { "multiprocessing" } else { "recipe" }
            );
        }
        found += n;
    }
    assert_eq!(found, 0);
}

/// A client that fails keeps no copy of its ephemeral secret: at the hello
/// (a server without the mode), and after the server rejected its proof.
#[test]
fn a_failed_client_holds_no_ephemeral_secret() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let key = NativeKey::new(b"k1", &[0x42; 32], Suite::HmacSha256).unwrap();
    let required = native::Config::new(b"ctx").with_forward_secrecy(ForwardSecrecy::Required);
    let random: [u8; 64] = core::array::from_fn(|i| (i as u8).wrapping_mul(73) ^ 0x5a);
    let secret = &random[32..];
    let copies = |image: &[u8]| image.windows(32).filter(|w| *w == secret).count();
    for (server_config, expected) in [
        (
            native::Config::new(b"ctx"),
            hmac_handshake::Error::ForwardSecrecyRequired,
        ),
        (
            native::Config::new(b"another context").with_forward_secrecy(ForwardSecrecy::Required),
            hmac_handshake::Error::PeerRejected,
        ),
    ] {
        let mut server = ServerHandshake::with_pinned_random(&key, server_config, &[1; 64]);
        let mut client = Box::new(ClientHandshake::with_pinned_random(&key, required, &random));
        assert_eq!(
            copies(&image(&*client)),
            1,
            "the secret is where it is looked for"
        );
        pump(&mut server, &mut *client);
        assert_eq!(client.status(), Status::Failed(expected));
        assert_eq!(copies(&image(&*client)), 0, "after {expected:?}");
    }
}
