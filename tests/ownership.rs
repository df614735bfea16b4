//! Machines that own what they need: built from `Arc` handles they are
//! `Send + 'static`, so they move into a spawned task or thread and live in
//! a struct with no lifetime parameter beside the keys they use. These are
//! compile-time checks first (the file does not build otherwise); the tests
//! then run the handshakes they set up.

use std::sync::Arc;

use getrandom::SysRng;
use hmac_handshake::native::{self, Keyring, NativeKey, SharedKeyring, Suite};
use hmac_handshake::{
    multiprocessing, recipe, ClientHandshake, Handshake, Key, ServerHandshake, Status,
};

fn assert_send_static<T: Send + 'static>(_: &T) {}

/// A connection slot of a poll loop: no lifetime parameter, the machine
/// beside the key generation it was built from.
struct Slot {
    machine: ServerHandshake<Arc<Key>>,
    generation: Arc<Key>,
}

/// Runs two machines against each other in memory until both are settled.
fn exchange(server: &mut dyn Handshake, client: &mut dyn Handshake) {
    let mut wire = [0u8; 256];
    for _ in 0..8 {
        let n = server.write_output(&mut wire);
        assert_eq!(client.receive(&wire[..n]), n);
        let n = client.write_output(&mut wire);
        assert_eq!(server.receive(&wire[..n]), n);
    }
}

#[test]
fn machines_from_arc_handles_are_send_and_static() {
    let key = Arc::new(Key::new(b"abracadabra"));
    let ring = Arc::new(
        Keyring::new([NativeKey::new(b"k1", &[7; 32], Suite::HmacSha256).unwrap()]).unwrap(),
    );
    let native_key = Arc::new(NativeKey::new(b"k1", &[7; 32], Suite::HmacSha256).unwrap());
    let mp = multiprocessing::Config::new();
    assert_send_static(&ServerHandshake::new(Arc::clone(&key), mp, &mut SysRng).unwrap());
    assert_send_static(&ClientHandshake::new(Arc::clone(&key), mp, &mut SysRng).unwrap());
    let rc = recipe::Config::default();
    assert_send_static(&ServerHandshake::new(Arc::clone(&key), rc, &mut SysRng).unwrap());
    let nc = native::Config::new(b"ctx");
    assert_send_static(&ServerHandshake::new(Arc::clone(&ring), nc, &mut SysRng).unwrap());
    assert_send_static(&ClientHandshake::new(native_key, nc, &mut SysRng).unwrap());
    // A `&'static` key needs no allocator at all.
    static_key_machine();
}

fn static_key_machine() {
    use std::sync::OnceLock;
    static KEY: OnceLock<Key> = OnceLock::new();
    let key: &'static Key = KEY.get_or_init(|| Key::new(b"static"));
    let server = ServerHandshake::new(key, recipe::Config::default(), &mut SysRng).unwrap();
    assert_send_static(&server);
}

#[test]
fn a_handshake_built_outside_a_thread_moves_into_it() {
    let ring = SharedKeyring::new(
        Keyring::new([NativeKey::new(b"k1", &[7; 32], Suite::HmacSha384).unwrap()]).unwrap(),
    );
    let config = native::Config::new(b"billing/v3");
    let mut server = ServerHandshake::new(ring.snapshot(), config, &mut SysRng).unwrap();
    let client_key = Arc::new(NativeKey::new(b"k1", &[7; 32], Suite::HmacSha384).unwrap());
    let mut client = ClientHandshake::new(client_key, config, &mut SysRng).unwrap();
    // The ring is replaced before the handshake runs: the machine keeps the
    // ring it was built with.
    ring.replace(
        Keyring::new([NativeKey::new(b"k2", &[8; 32], Suite::HmacSha384).unwrap()]).unwrap(),
    );
    let joined = std::thread::spawn(move || {
        exchange(&mut server, &mut client);
        (server.finish(), client.finish())
    })
    .join()
    .unwrap();
    let (server, client) = (joined.0.unwrap(), joined.1.unwrap());
    let (s, c) = (
        server.into_session().unwrap(),
        client.into_session().unwrap(),
    );
    assert_eq!(s.key_id().as_bytes(), b"k1");
    assert_eq!(s.client_to_server_key(), c.client_to_server_key());
}

#[test]
fn a_handshake_moves_into_a_tokio_task() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let key = Arc::new(Key::new(b"abracadabra"));
    let config = multiprocessing::Config::new();
    let mut server = ServerHandshake::new(Arc::clone(&key), config, &mut SysRng).unwrap();
    let mut client = ClientHandshake::new(key, config, &mut SysRng).unwrap();
    let task = runtime.spawn(async move {
        exchange(&mut server, &mut client);
        (server.finish().unwrap(), client.finish().unwrap())
    });
    let (s, c) = runtime.block_on(task).unwrap();
    assert!(s.outcome.peer_authenticated && c.outcome.peer_authenticated);
}

#[test]
fn slots_without_lifetimes_survive_a_key_rotation() {
    let config = multiprocessing::Config::new();
    let mut generation = Arc::new(Key::new(b"generation 1"));
    let mut slots = Vec::new();
    for i in 0..4 {
        if i == 2 {
            // Rotation: later slots get the new key; the old ones keep theirs.
            generation = Arc::new(Key::new(b"generation 2"));
        }
        slots.push(Slot {
            machine: ServerHandshake::new(Arc::clone(&generation), config, &mut SysRng).unwrap(),
            generation: Arc::clone(&generation),
        });
    }
    drop(generation);
    for (i, slot) in slots.iter_mut().enumerate() {
        let secret: &[u8] = if i < 2 {
            b"generation 1"
        } else {
            b"generation 2"
        };
        let mut client =
            ClientHandshake::new(Arc::new(Key::new(secret)), config, &mut SysRng).unwrap();
        exchange(&mut slot.machine, &mut client);
        assert!(matches!(slot.machine.status(), Status::Done(_)), "slot {i}");
        // Two slots per generation, each holding it twice (machine and slot).
        assert_eq!(Arc::strong_count(&slot.generation), 4, "slot {i}");
    }
}

/// A generator that always fails, as an OS RNG can.
struct Broken;

#[derive(Debug)]
struct NoEntropy;

impl std::fmt::Display for NoEntropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no entropy")
    }
}

impl std::error::Error for NoEntropy {}

impl getrandom::rand_core::TryRng for Broken {
    type Error = NoEntropy;
    fn try_next_u32(&mut self) -> Result<u32, NoEntropy> {
        Err(NoEntropy)
    }
    fn try_next_u64(&mut self) -> Result<u64, NoEntropy> {
        Err(NoEntropy)
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), NoEntropy> {
        Err(NoEntropy)
    }
}

impl getrandom::rand_core::TryCryptoRng for Broken {}

#[test]
fn a_failing_generator_fails_new_and_is_not_asked_when_nothing_is_drawn() {
    let key = Arc::new(Key::new(b"k"));
    let mp = multiprocessing::Config::new();
    let e = ServerHandshake::new(Arc::clone(&key), mp, &mut Broken).unwrap_err();
    assert_eq!(e.to_string(), "no entropy");
    assert!(ClientHandshake::new(Arc::clone(&key), mp, &mut Broken).is_err());
    // The recipe's client draws no random bytes: it needs no generator.
    let client = ClientHandshake::new(key, recipe::Config::default(), &mut Broken);
    assert!(client.is_ok());
}
