//! The native protocol's server cases (PROTOCOL.md "Processing", server
//! side): the tester is the crate's own client, whose `ClientProof` a case
//! may change, cut, pace or replace.

use hmac_handshake::native::{self, ForwardSecrecy, NONCE_LEN};
use hmac_handshake::{Handshake, Status};

use super::super::link::{flip, frame, show, End, Link, Pace};
use super::super::native::{self as drive, feed, read_hello, take_output};
use super::super::report::{distinct, ok, Report};
use super::super::{Ctx, MESSAGE};
use super::{case, Step, Target, FRESH_CONNECTIONS};

/// A key id no server is expected to hold.
const UNKNOWN_ID: &[u8] = b"conformance-unknown-id";

/// Runs the native server cases.
pub fn run(ctx: &Ctx, target: &Target, report: &mut Report) {
    let options = ctx.native();
    let id = options.key_id.as_bytes();
    let keys = |secret: &[u8], id: &[u8]| -> Vec<native::NativeKey> {
        ctx.suites()
            .into_iter()
            .map(|suite| ctx.native_key(id, secret, suite))
            .collect()
    };
    let config = || {
        options
            .client_config()
            .expect("checked when the options were read")
    };
    // The server's mode, from a first hello (the cases that depend on it).
    let mode = target
        .connect()
        .and_then(|mut link| read_hello(&mut link))
        .map(|hello| hello[6])
        .unwrap_or(0);
    case(report, ctx, "honest", || {
        honest(target, keys(&ctx.secret, id), config(), Pace::Whole)
    });
    if mode == 0x01 {
        case(report, ctx, "honest.without_forward_secrecy", || {
            honest(
                target,
                keys(&ctx.secret, id),
                config().with_forward_secrecy(ForwardSecrecy::Off),
                Pace::Whole,
            )
        });
    }
    case(report, ctx, "one_byte", || {
        honest(target, keys(&ctx.secret, id), config(), Pace::Bytewise)
    });
    case(report, ctx, "pipelined", || {
        honest(target, keys(&ctx.secret, id), config(), Pace::Pipelined)
    });
    case(report, ctx, "wrong_key", || {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| format!("the OS random generator: {e}"))?;
        for (what, secret) in [("a random key", random), ("the all-zero key", [0u8; 32])] {
            let (mut link, proof) = proved(target, keys(&secret, id), config())?;
            link.send(&proof).map_err(|e| format!("cannot send: {e}"))?;
            rejected(&mut link, &format!("a proof under {what}"))?;
        }
        Ok(ok("refused proofs under a random key and the all-zero key"))
    });
    case(report, ctx, "unknown_key_id", || {
        let (mut link, proof) = proved(target, keys(&ctx.secret, UNKNOWN_ID), config())?;
        link.send(&proof).map_err(|e| format!("cannot send: {e}"))?;
        rejected(&mut link, "our key under a key id it does not hold").map(ok)
    });
    let kind = if mode == 0x02 { 0x04 } else { 0x02 };
    case(report, ctx, "key_id_length", || {
        let mut seen = Vec::new();
        for len in [0u8, 33, 255] {
            let mut link = target.connect()?;
            read_hello(&mut link)?;
            link.send(&[kind, len])
                .map_err(|e| format!("cannot send: {e}"))?;
            seen.push(promptly_rejected(
                &mut link,
                &format!("key id length {len}"),
            )?);
        }
        Ok(ok(seen.join("; ")))
    });
    case(report, ctx, "unexpected_message", || {
        let mut seen = Vec::new();
        // 04 (a proof with a share) is unexpected under mode 00 too.
        let bytes: &[u8] = if mode == 0x00 {
            &[0x07, 0x03, 0x04]
        } else {
            &[0x07, 0x03]
        };
        for &byte in bytes {
            let mut link = target.connect()?;
            read_hello(&mut link)?;
            link.send(&[byte])
                .map_err(|e| format!("cannot send: {e}"))?;
            seen.push(promptly_rejected(
                &mut link,
                &format!("a proof of type {byte:02x}"),
            )?);
        }
        Ok(ok(seen.join("; ")))
    });
    if mode == 0x02 {
        case(report, ctx, "forward_secrecy_required", || {
            let mut link = target.connect()?;
            read_hello(&mut link)?;
            link.send(&[0x02])
                .map_err(|e| format!("cannot send: {e}"))?;
            promptly_rejected(&mut link, "a proof without a share (type 02) under mode 02").map(ok)
        });
    }
    case(report, ctx, "truncated", || {
        let (mut link, proof) = proved(target, keys(&ctx.secret, id), config())?;
        link.send(&proof[..proof.len() - 16])
            .map_err(|e| format!("cannot send: {e}"))?;
        link.half_close();
        rejected(
            &mut link,
            "a proof cut 16 bytes short, then the end of our stream",
        )
        .map(ok)
    });
    case(report, ctx, "bitflip", || {
        let id_len = id.len();
        let mut seen = Vec::new();
        for (what, at) in [
            ("the last byte of the key id", Some(1 + id_len)),
            ("the first byte of the client nonce", Some(2 + id_len)),
            ("the last byte of the client tag", None),
        ] {
            let (mut link, proof) = proved(target, keys(&ctx.secret, id), config())?;
            link.send(&flip(&proof, at.unwrap_or(proof.len() - 1)))
                .map_err(|e| format!("cannot send: {e}"))?;
            seen.push(rejected(&mut link, &format!("a flipped bit in {what}"))?);
        }
        Ok(ok(seen.join("; ")))
    });
    case(report, ctx, "role_reflection", || {
        let (mut link, hello, proof) = proved_with_hello(target, keys(&ctx.secret, id), config())?;
        let suite = drive::hello_suite(&hello)?;
        // The server tag of this very transcript, from our own server with
        // the server's nonce.
        let mut random = drive::random();
        random[..NONCE_LEN].copy_from_slice(&hello[7..]);
        let server_config = options
            .server_config()
            .expect("checked when the options were read")
            .with_forward_secrecy(drive::mode_setting(hello[6]));
        let mut ours = drive::server(
            ctx.native_key(id, &ctx.secret, suite),
            server_config,
            &random,
        );
        take_output(&mut ours, "server")?;
        ours.receive(&proof);
        let finish = take_output(&mut ours, "server")?;
        if finish.get(1) != Some(&0) {
            return Err("our own server refused our proof to its hello".into());
        }
        let tag_len = suite.mac_len();
        let mut reflected = proof.clone();
        let at = reflected.len() - tag_len;
        reflected[at..].copy_from_slice(&finish[finish.len() - tag_len..]);
        link.send(&reflected)
            .map_err(|e| format!("cannot send: {e}"))?;
        rejected(
            &mut link,
            "a proof whose client tag is the server tag of this transcript",
        )
        .map(ok)
    });
    case(report, ctx, "replay", || {
        let (mut first, p1) = proved(target, keys(&ctx.secret, id), config())?;
        first.send(&p1).map_err(|e| format!("cannot send: {e}"))?;
        match first.read_exact(2) {
            Ok(v) if v == [0x03, 0x00] => {}
            Ok(v) => {
                return Err(format!(
                    "the first, honest connection: it answered {}",
                    show(&v)
                ))
            }
            Err(end) => {
                return Err(format!(
                    "the first, honest connection: it {}",
                    end.describe()
                ))
            }
        }
        drop(first);
        let mut second = target.connect()?;
        read_hello(&mut second)?;
        second.send(&p1).map_err(|e| format!("cannot send: {e}"))?;
        rejected(&mut second, "the proof of an earlier connection").map(ok)
    });
    case(report, ctx, "fresh", || {
        let mut nonces = Vec::new();
        for _ in 0..FRESH_CONNECTIONS {
            let mut link = target.connect()?;
            nonces.push(read_hello(&mut link)?[7..].to_vec());
        }
        Ok(distinct(&nonces, "server nonce"))
    });
}

/// A full handshake, then one echo.
fn honest(
    target: &Target,
    keys: Vec<native::NativeKey>,
    config: native::Config,
    pace: Pace,
) -> Step {
    let mut link = target.connect()?;
    let hello = read_hello(&mut link)?;
    let mut client = drive::client(keys, config);
    client.receive(&hello);
    let proof = take_output(&mut client, "client")?;
    if pace == Pace::Pipelined {
        link.send_paced(&[proof, frame(MESSAGE)].concat(), pace)?;
    } else {
        link.send_paced(&proof, pace)?;
    }
    feed(&mut client, &mut link).map_err(|e| format!("no ServerFinish: it {}", e.describe()))?;
    let outcome = match client.status() {
        Status::Done(outcome) => outcome,
        Status::Failed(e) => {
            return Err(format!(
                "our client refused its ServerFinish: {e} ({})",
                e.code()
            ))
        }
        other => return Err(format!("our client did not finish: {other:?}")),
    };
    if pace != Pace::Pipelined {
        link.send_paced(&frame(MESSAGE), pace)?;
    }
    let _ = outcome;
    let suite = drive::hello_suite(&hello).map_or("?", |s| s.name());
    match link.read_frame(1 << 20) {
        Ok(reply) if reply == MESSAGE => Ok(ok(format!(
            "accepted our proof, its server tag verified ({suite}, mode {:02x}), echoed{}",
            hello[6],
            match pace {
                Pace::Bytewise => " (every byte of ours in its own write)",
                Pace::Pipelined => " (our message right behind our proof)",
                _ => "",
            }
        ))),
        Ok(reply) => Err(format!(
            "answered {} instead of echoing our message",
            show(&reply)
        )),
        Err(end) => Err(format!("did not echo our message: it {}", end.describe())),
    }
}

/// A connection and our client's proof to its hello, not yet sent.
fn proved(
    target: &Target,
    keys: Vec<native::NativeKey>,
    config: native::Config,
) -> Result<(Link, Vec<u8>), String> {
    proved_with_hello(target, keys, config).map(|(link, _, proof)| (link, proof))
}

/// As [`proved`], with the hello.
fn proved_with_hello(
    target: &Target,
    keys: Vec<native::NativeKey>,
    config: native::Config,
) -> Result<(Link, Vec<u8>, Vec<u8>), String> {
    let mut link = target.connect()?;
    let hello = read_hello(&mut link)?;
    let mut client = drive::client(keys, config);
    client.receive(&hello);
    let proof = take_output(&mut client, "client")?;
    Ok((link, hello, proof))
}

/// The server must not accept: `Ok` with what it did instead.
fn rejected(link: &mut Link, what: &str) -> Result<String, String> {
    judge(link.read_exact(2), what)
}

/// The verdict on what the server answered to `what`.
fn judge(answer: Result<Vec<u8>, End>, what: &str) -> Result<String, String> {
    match answer {
        Ok(v) if v == [0x03, 0x00] => Err(format!("accepted {what} (03 00)")),
        Ok(v) if v == [0x03, 0x01] => Ok(format!("refused {what} (03 01)")),
        Ok(v) => Ok(format!("refused {what}: it answered {}", show(&v))),
        Err(end) => Ok(format!("refused {what}: it {}", end.describe())),
    }
}

/// As [`rejected`], while our socket stays open and nothing more comes:
/// the check is on a byte the server has, so it must conclude now.
fn promptly_rejected(link: &mut Link, what: &str) -> Result<String, String> {
    match link.read_exact(2) {
        Err(End::Silent(_)) => Err(format!(
            "still waiting after {:.1} s of {what}: it must refuse as soon as the byte arrives",
            link.timeout().as_secs_f64()
        )),
        answer => judge(answer, what),
    }
}
