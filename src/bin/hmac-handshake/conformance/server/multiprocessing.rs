//! CPython multiprocessing's server cases: the server challenges us
//! (`deliver_challenge`), then answers our challenge (`answer_challenge`),
//! over `send_bytes` frames of at most 256 bytes.

use hmac_handshake::multiprocessing::message::{FAILURE, WELCOME};
use hmac_handshake::{Digest, Key};

use super::super::link::{flip, frame, show, End, Link, Pace};
use super::super::mp_wire::{self, Challenge};
use super::super::report::{distinct, ok, Outcome, Report, Verdict};
use super::super::{Ctx, MESSAGE};
use super::{case, replayed, Step, Target, FRESH_CONNECTIONS, PAUSE};
use crate::failure::Failure;

/// CPython's bound on a handshake message (`recv_bytes(256)`).
const MAX: usize = 256;

/// Runs the multiprocessing server cases.
///
/// # Errors
/// A server whose challenge is legacy (HMAC-MD5) without `--allow-md5`:
/// every case would fail alike, so the run stops at once and says so.
pub fn run(ctx: &Ctx, target: &Target, report: &mut Report) -> Result<(), Failure> {
    if !ctx.allow_md5 {
        if let Ok((_, challenge)) = open(target) {
            if challenge.digest.is_none() {
                return Err(Failure::Other(
                    "the server's challenge is legacy (HMAC-MD5, Python 2.7 to 3.11): rerun \
                     with --allow-md5"
                        .into(),
                ));
            }
        }
    }
    for &digest in &ctx.digests {
        let name = super::super::digest_case(digest);
        case(report, ctx, &format!("honest.{name}"), || {
            honest(ctx, target, digest, Pace::Whole)
        });
    }
    let first = ctx.digests.first().copied().flatten();
    case(report, ctx, "one_byte", || {
        honest(ctx, target, first, Pace::Bytewise)
    });
    case(report, ctx, "pipelined", || {
        honest(ctx, target, first, Pace::Pipelined)
    });
    case(report, ctx, "wrong_key", || {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| format!("the OS random generator: {e}"))?;
        let (random, empty) = (Key::new(&random), Key::new(b""));
        // A raw 16-byte reply too: a server that takes legacy MD5 replies
        // (CPython 3.12+ does, to any challenge) must check those as well.
        for (wrong, md5, what) in [
            (&random, false, "a reply under a random key"),
            (&empty, false, "a reply under the empty key"),
            (
                &random,
                true,
                "a raw 16-byte HMAC-MD5 reply under a random key",
            ),
        ] {
            let (mut link, challenge) = open(target)?;
            let reply = if md5 {
                mp_wire::md5_reply(wrong, &challenge)
            } else {
                mp_wire::reply(wrong, &challenge, true)?
            };
            send(&mut link, &frame(&reply))?;
            rejected(&mut link, what)?;
        }
        Ok(ok(
            "refused replies under a random key and the empty key, and a raw HMAC-MD5 one",
        ))
    });
    case(report, ctx, "bitflip.reply", || {
        let mut seen = Vec::new();
        for (md5, what) in [
            (false, "a reply with the last bit of its MAC flipped"),
            (
                true,
                "a raw 16-byte HMAC-MD5 reply with its last bit flipped",
            ),
        ] {
            let (mut link, challenge) = open(target)?;
            let reply = if md5 {
                mp_wire::md5_reply(&ctx.key, &challenge)
            } else {
                mp_wire::reply(&ctx.key, &challenge, true)?
            };
            send(&mut link, &frame(&flip(&reply, reply.len() - 1)))?;
            seen.push(rejected(&mut link, what)?);
        }
        Ok(ok(seen.join("; ")))
    });
    case(report, ctx, "bitflip.challenge", || {
        let (mut link, _) = welcomed(ctx, target)?;
        let ours = Challenge::fresh(first);
        send(&mut link, &frame(&flip(&ours.payload(), 0)))?;
        match link.read_frame(MAX) {
            Ok(answer) => Err(format!(
                "answered ({}) a challenge whose #CHALLENGE# tag had a flipped bit",
                show(&answer)
            )),
            Err(end) => Ok(ok(format!(
                "did not answer a challenge whose #CHALLENGE# tag had a flipped bit: it {}",
                end.describe()
            ))),
        }
    });
    case(report, ctx, "bitflip.welcome", || {
        let (mut link, _) = welcomed(ctx, target)?;
        let ours = Challenge::fresh(first);
        send(&mut link, &frame(&ours.payload()))?;
        let answer = link
            .read_frame(MAX)
            .map_err(|e| format!("no answer to our challenge: it {}", e.describe()))?;
        mp_wire::judge_answer(&mut link, &ctx.key, &ours, &answer, ctx.allow_md5)?;
        send(&mut link, &frame(&flip(WELCOME, WELCOME.len() - 1)))?;
        std::thread::sleep(PAUSE);
        send(&mut link, &frame(MESSAGE))?;
        let (got, end) = link.drain(4096);
        if got.windows(MESSAGE.len()).any(|w| w == MESSAGE) {
            return Err(
                "echoed our message after our verdict #WELCOME\" (a flipped bit): it \
                        does not check the client's verdict"
                    .into(),
            );
        }
        Ok(ok(format!(
            "stopped at our verdict #WELCOME\" (a flipped bit): it {}",
            end.describe()
        )))
    });
    case(report, ctx, "truncated", || {
        let (mut link, challenge) = open(target)?;
        let reply = mp_wire::reply(&ctx.key, &challenge, ctx.allow_md5)?;
        let whole = frame(&reply);
        send(&mut link, &whole[..4 + reply.len() / 2])?;
        link.half_close();
        rejected(&mut link, "half a reply, then the end of our stream").map(ok)
    });
    for (name, header, what) in [
        (
            "oversized",
            0x7fff_ffffu32.to_be_bytes().to_vec(),
            "a frame header announcing 2147483647 bytes",
        ),
        (
            "negative",
            (-2i32).to_be_bytes().to_vec(),
            "a frame header of length -2",
        ),
        (
            "long_form",
            [
                (-1i32).to_be_bytes().as_slice(),
                &(1u64 << 40).to_be_bytes(),
            ]
            .concat(),
            "a long-form frame header (-1, then 2^40)",
        ),
    ] {
        case(report, ctx, name, || {
            let (mut link, _) = open(target)?;
            send(&mut link, &header)?;
            promptly_rejected(&mut link, what)
        });
    }
    case(report, ctx, "replay", || {
        let (mut first, c1) = open(target)?;
        let r1 = mp_wire::reply(&ctx.key, &c1, ctx.allow_md5)?;
        send(&mut first, &frame(&r1))?;
        verdict(&mut first).map_err(|e| format!("the first, honest connection: {e}"))?;
        drop(first);
        let (mut second, c2) = open(target)?;
        send(&mut second, &frame(&r1))?;
        let seen = rejected(&mut second, "the reply of an earlier connection")?;
        Ok(replayed(seen, c1 == c2))
    });
    case(report, ctx, "fresh", || {
        let mut challenges = Vec::new();
        for _ in 0..FRESH_CONNECTIONS {
            let (_, challenge) = open(target)?;
            challenges.push(challenge.message);
        }
        Ok(distinct(&challenges, "challenge"))
    });
    // A raw HMAC-MD5 reply only means something to a modern challenge.
    let probe = open(target);
    if let Ok((_, challenge)) = &probe {
        if challenge.digest.is_some() {
            drop(probe);
            case(report, ctx, "md5_reply", || md5_reply(ctx, target));
        }
    }
    Ok(())
}

/// A full mutual handshake, our challenge in `digest` (`None`: legacy),
/// then one echo.
fn honest(ctx: &Ctx, target: &Target, digest: Option<Digest>, pace: Pace) -> Step {
    let mut link = target.connect()?;
    let write = |link: &mut Link, bytes: &[u8]| link.send_paced(bytes, pace);
    let payload = link
        .read_frame(MAX)
        .map_err(|e| format!("no challenge: it {}", e.describe()))?;
    let theirs = Challenge::parse(&payload)?;
    let reply = mp_wire::reply(&ctx.key, &theirs, ctx.allow_md5)?;
    write(&mut link, &frame(&reply))?;
    verdict(&mut link)?;
    let ours = Challenge::fresh(digest);
    write(&mut link, &frame(&ours.payload()))?;
    let answer = link.read_frame(MAX).map_err(|e| {
        format!(
            "no answer to our {} challenge: it {}",
            ours.kind(),
            e.describe()
        )
    })?;
    let answered = mp_wire::judge_answer(&mut link, &ctx.key, &ours, &answer, ctx.allow_md5)?;
    match pace {
        Pace::Pipelined => send(&mut link, &[frame(WELCOME), frame(MESSAGE)].concat())?,
        _ => {
            write(&mut link, &frame(WELCOME))?;
            std::thread::sleep(PAUSE);
            write(&mut link, &frame(MESSAGE))?;
        }
    }
    match link.read_frame(1 << 20) {
        Ok(reply) if reply == MESSAGE => Ok(ok(format!(
            "challenged us {}, welcomed our reply, {answered} to our {} challenge, echoed{}",
            theirs.kind(),
            ours.kind(),
            match pace {
                Pace::Bytewise => " (every byte of ours in its own write)",
                Pace::Pipelined => " (our message right behind our #WELCOME#)",
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

/// A connection and the server's challenge.
fn open(target: &Target) -> Result<(Link, Challenge), String> {
    let mut link = target.connect()?;
    let payload = link
        .read_frame(MAX)
        .map_err(|e| format!("no challenge: it {}", e.describe()))?;
    Ok((link, Challenge::parse(&payload)?))
}

/// A connection on which the server welcomed our honest reply.
fn welcomed(ctx: &Ctx, target: &Target) -> Result<(Link, Challenge), String> {
    let (mut link, challenge) = open(target)?;
    let reply = mp_wire::reply(&ctx.key, &challenge, ctx.allow_md5)?;
    send(&mut link, &frame(&reply))?;
    verdict(&mut link)?;
    Ok((link, challenge))
}

fn send(link: &mut Link, bytes: &[u8]) -> Result<(), String> {
    link.send(bytes).map_err(|e| format!("cannot send: {e}"))
}

/// The server's verdict on our honest reply must be `#WELCOME#`.
fn verdict(link: &mut Link) -> Result<(), String> {
    match link.read_frame(MAX) {
        Ok(v) if v == WELCOME => Ok(()),
        Ok(v) if v == FAILURE => {
            Err("answered our honest reply with #FAILURE#: is it the same key?".into())
        }
        Ok(v) => Err(format!(
            "answered our reply with {}, not #WELCOME#",
            show(&v)
        )),
        Err(end) => Err(format!(
            "gave no verdict on our honest reply: it {}",
            end.describe()
        )),
    }
}

/// The server must not welcome `what`: `Ok` with what it did instead.
fn rejected(link: &mut Link, what: &str) -> Result<String, String> {
    match link.read_frame(MAX) {
        Ok(v) if v == WELCOME => Err(format!("welcomed {what}")),
        Ok(v) if v == FAILURE => Ok(format!("refused {what} with #FAILURE#")),
        Ok(v) => Ok(format!("refused {what}: it answered {}", show(&v))),
        Err(end) => Ok(format!("refused {what}: it {}", end.describe())),
    }
}

/// As [`rejected`], and the server must conclude while our socket stays
/// open: a server still waiting reads a length it never bounded.
fn promptly_rejected(link: &mut Link, what: &str) -> Step {
    match link.read_frame(MAX) {
        Ok(v) if v == WELCOME => Err(format!("welcomed {what}")),
        Ok(v) if v == FAILURE => Ok(ok(format!("refused {what} with #FAILURE#"))),
        Ok(v) => Ok(ok(format!("refused {what}: it answered {}", show(&v)))),
        Err(End::Silent(_)) => Err(format!(
            "still waiting after {:.1} s of {what}: the length is not bounded before use \
             (CPython refuses over 256 bytes at once)",
            link.timeout().as_secs_f64()
        )),
        Err(end) => Ok(ok(format!("refused {what}: it {}", end.describe()))),
    }
}

/// A raw HMAC-MD5 reply to a modern challenge: CPython 3.12+ takes it
/// (`_verify_challenge` reads a 16-byte reply as legacy MD5), so taking it
/// is a warning, not a failure.
fn md5_reply(ctx: &Ctx, target: &Target) -> Step {
    let (mut link, challenge) = open(target)?;
    send(&mut link, &frame(&mp_wire::md5_reply(&ctx.key, &challenge)))?;
    match link.read_frame(MAX) {
        Ok(v) if v == WELCOME => Ok(Outcome::from((
            Verdict::Warn,
            format!(
                "welcomed a raw HMAC-MD5 reply to its {} challenge (as CPython 3.12+ does): \
                 a client may answer with MD5 whatever the challenge asks",
                challenge.kind()
            ),
        ))),
        Ok(v) if v == FAILURE => Ok(ok(
            "refused a raw HMAC-MD5 reply to a modern challenge with #FAILURE#",
        )),
        Ok(v) => Ok(ok(format!(
            "refused a raw HMAC-MD5 reply: it answered {}",
            show(&v)
        ))),
        Err(end) => Ok(ok(format!(
            "refused a raw HMAC-MD5 reply: it {}",
            end.describe()
        ))),
    }
}
