//! The native forward-secrecy mode (PROTOCOL.md, "Forward secrecy") under
//! every pair of settings (off, offered, required on each side), over every
//! suite, with random keys, randomness (nonces and ephemeral secrets),
//! contexts and chunked delivery:
//!
//! - round trip: a pair that completes authenticates on both sides with
//!   the same session, forward secrecy exactly when both use the mode, the
//!   wire shapes of that mode, and the same bytes, ends and sessions
//!   however the reads and writes are split; a pair where one side requires
//!   the mode and the other has it off ends with the client refusing the
//!   hello (`ForwardSecrecyRequired`) and sending nothing;
//! - tamper rejection: one flipped bit anywhere in any message (a random
//!   one, and each bit of the hello's mode byte, which strips, adds or
//!   changes the mode) never lets both sides finish, and the side that
//!   receives it fails (or, for a byte that sets a message's length, waits
//!   for bytes that never come).

mod prop_support;

use hmac_handshake::native::{ForwardSecrecy, Suite, SERVER_HELLO_LEN, SHARE_LEN};
use hmac_handshake::Error;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use prop_support::*;

/// `ServerHello`'s mode byte for a server setting.
fn mode(setting: ForwardSecrecy) -> u8 {
    match setting {
        ForwardSecrecy::Off => 0x00,
        ForwardSecrecy::Offered => 0x01,
        ForwardSecrecy::Required => 0x02,
    }
}

/// Checks a completed exchange of `input`'s settings over `suite`: both
/// sides done with the expected outcomes, equal sessions with forward
/// secrecy `fs`, and the three messages of that mode.
fn check_completed(
    r: &Exchange,
    input: &NativeInput,
    suite: Suite,
    fs: bool,
    what: &str,
) -> Result<(), TestCaseError> {
    let (mut server, mut client) = input.expected(suite);
    server.consumed = r.bytes_from(false);
    client.consumed = r.bytes_from(true);
    prop_assert_eq!(r.server.end, End::Done(server), "{}: server", what);
    prop_assert_eq!(r.client.end, End::Done(client), "{}: client", what);
    let (Some(ss), Some(cs)) = (&r.server.session, &r.client.session) else {
        return Err(TestCaseError::fail(format!("{what}: no session")));
    };
    prop_assert_eq!(view(ss), view(cs), "{}: sessions", what);
    prop_assert_eq!(ss.forward_secrecy(), fs, "{}: forward secrecy", what);
    let a = export(ss, b"fs", b"", 32)?;
    prop_assert_eq!(&a, &export(cs, b"fs", b"", 32)?, "{}: export", what);

    // The wire: the hello announces the server's mode; a proof with a share
    // is type 04 and 32 bytes longer, and so is the accepting ServerFinish.
    let l = suite.mac_len();
    let id_len = input.client_entry().0.len();
    let share = if fs { SHARE_LEN } else { 0 };
    prop_assert_eq!(r.messages.len(), 3, "{}", what);
    let (hello, proof, finish) = (
        &r.messages[0].bytes,
        &r.messages[1].bytes,
        &r.messages[2].bytes,
    );
    prop_assert_eq!(hello.len(), SERVER_HELLO_LEN);
    prop_assert_eq!(hello[6], mode(input.server_fs), "{}: mode byte", what);
    prop_assert_eq!(
        proof[0],
        if fs { 0x04 } else { 0x02 },
        "{}: proof type",
        what
    );
    prop_assert_eq!(proof.len(), 2 + id_len + 32 + share + l, "{}: proof", what);
    prop_assert_eq!(&finish[..2], &[0x03, 0x00][..], "{}: verdict", what);
    prop_assert_eq!(finish.len(), 2 + share + l, "{}: finish", what);
    Ok(())
}

/// Checks an exchange whose settings do not complete: the client refuses at
/// the hello's mode byte (7 bytes in) and sends nothing, the server waits
/// for a proof, and neither has a session.
fn check_refused(r: &Exchange, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        r.client.end,
        End::Failed(Error::ForwardSecrecyRequired),
        "{}: client",
        what
    );
    prop_assert_eq!(
        r.client.consumed,
        7,
        "{}: the client read past the mode",
        what
    );
    prop_assert_eq!(r.server.end, End::Waiting, "{}: server", what);
    prop_assert_eq!(r.messages.len(), 1, "{}: only the hello travels", what);
    prop_assert!(r.client.sent.is_empty(), "{}: the client sent bytes", what);
    prop_assert!(r.server.session.is_none() && r.client.session.is_none());
    prop_assert_eq!(r.client.finish, Err(Error::ForwardSecrecyRequired));
    prop_assert_eq!(r.server.finish, Err(Error::NotFinished));
    Ok(())
}

/// Same bytes, ends and sessions under `chunking` as with whole messages.
fn check_same(whole: &Exchange, split: &Exchange, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(&split.messages, &whole.messages, "{}: messages", what);
    prop_assert_eq!(split.server.end, whole.server.end, "{}: server end", what);
    prop_assert_eq!(split.client.end, whole.client.end, "{}: client end", what);
    prop_assert_eq!(views(&split.server), views(&whole.server), "{}", what);
    prop_assert_eq!(views(&split.client), views(&whole.client), "{}", what);
    Ok(())
}

/// Whether `flip` hits a byte that sets how long a message is (as in
/// tests/prop_tamper.rs): the suite byte of `ServerHello` and the key id
/// length byte of `ClientProof`. The mode byte and the proof's type byte
/// are not: every flip of them is refused as it arrives or changes the
/// transcript (02 and 04 differ in two bits).
fn length_field(messages: &[Message], flip: Flip) -> bool {
    let from_server = messages[flip.msg].from_server;
    (from_server && flip.msg == 0 && flip.byte == 5) || (!from_server && flip.byte == 1)
}

proptest! {
    #![proptest_config(config(24))]

    /// All nine pairs of settings, every suite, whole and chunked.
    #[test]
    fn round_trip_every_setting(input in native_input(), chunking in chunking()) {
        for (server_fs, client_fs) in fs_pairs() {
            let input = input.with_fs(server_fs, client_fs);
            for suite in Suite::ALL {
                let what = format!("{suite:?} server {server_fs:?} client {client_fs:?}");
                let s = input.setup(suite);
                let whole = honest_native(&s.ring, &s.client, &input)?;
                match input.fs() {
                    Some(fs) => check_completed(&whole, &input, suite, fs, &what)?,
                    None => check_refused(&whole, &what)?,
                }
                let split = run_native(&s.ring, &s.client, &input, &chunking, &Plan::default())?;
                check_same(&whole, &split, &format!("{what} {chunking:?}"))?;
            }
        }
    }

    /// All nine pairs of settings, every suite: one flipped bit, delivered
    /// in random chunks; besides the random one, each bit of the hello's
    /// mode byte in turn (stripping or adding the mode in flight).
    #[test]
    fn tamper_rejected_every_setting(input in native_input(), seed in flip_seed(), chunking in chunking()) {
        for (server_fs, client_fs) in fs_pairs() {
            let input = input.with_fs(server_fs, client_fs);
            for suite in Suite::ALL {
                let s = input.setup(suite);
                let honest = honest_native(&s.ring, &s.client, &input)?;
                let mode_flips = (0..8).map(|bit| Flip { msg: 0, byte: 6, bit });
                for flip in std::iter::once(seed.resolve(&honest.messages)).chain(mode_flips) {
                    let what = format!("{suite:?} server {server_fs:?} client {client_fs:?} {flip:?}");
                    let plan = Plan { flip: Some(flip), ..Plan::default() };
                    let t = run_native(&s.ring, &s.client, &input, &chunking, &plan)?;
                    prop_assert!(
                        !(t.server.end.is_done() && t.client.end.is_done()),
                        "{}: both sides are Done",
                        what
                    );
                    prop_assert!(
                        t.server.session.is_none() || t.client.session.is_none(),
                        "{}: both sides have a session",
                        what
                    );
                    let receiver = if honest.messages[flip.msg].from_server {
                        &t.client
                    } else {
                        &t.server
                    };
                    let stalled = receiver.end == End::Waiting
                        && receiver.leftover.is_empty()
                        && length_field(&honest.messages, flip);
                    prop_assert!(
                        matches!(receiver.end, End::Failed(_)) || stalled,
                        "{}: the receiving side ended {:?} (server {:?}, client {:?})",
                        what,
                        receiver.end,
                        t.server.end,
                        t.client.end
                    );
                }
            }
        }
    }
}
