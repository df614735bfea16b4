//! CPython multiprocessing's client cases: the tester delivers a
//! challenge, then answers the client's (`Client`: `answer_challenge`,
//! then `deliver_challenge`), honestly or not.

use std::time::Duration;

use hmac_handshake::multiprocessing::message::{FAILURE, WELCOME};
use hmac_handshake::{Digest, Key};

use super::super::link::{flip, frame, show, End, Link, Pace};
use super::super::mp_wire::{self, Challenge};
use super::super::report::{distinct, Report, Verdict};
use super::super::{Ctx, MESSAGE};
use super::{case, every, silent_after, Expect, Runner, Scripted};

/// CPython's bound on a handshake message.
const MAX: usize = 256;

/// Runs of the client freshness case: at least 8, as on the server side.
const FRESH_RUNS: usize = 8;

/// How long the tester waits, after the client's challenge, for bytes it
/// must not send before its challenge is answered.
const EARLY_WAIT: Duration = Duration::from_millis(200);

/// Runs the multiprocessing client cases.
pub fn run(ctx: &Ctx, runner: &Runner<'_>, report: &mut Report) {
    for &digest in &ctx.digests {
        let name = super::super::digest_case(digest);
        case(report, ctx, &format!("honest.{name}"), || {
            runner.once(|link| serve(ctx, link, digest, Pace::Whole).map(|(e, s, _)| (e, s)))
        });
    }
    let first = ctx.digests.first().copied().flatten();
    case(report, ctx, "one_byte", || {
        runner.once(|link| serve(ctx, link, first, Pace::Bytewise).map(|(e, s, _)| (e, s)))
    });
    case(report, ctx, "pipelined", || {
        runner.once(|link| serve(ctx, link, first, Pace::Pipelined).map(|(e, s, _)| (e, s)))
    });
    case(report, ctx, "echo_check", || {
        runner.once(|link| serve(ctx, link, first, Pace::WrongEcho).map(|(e, s, _)| (e, s)))
    });
    case(report, ctx, "wrong_answer", || {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).expect("the OS random generator failed");
        let (random, empty) = (Key::new(&random), Key::new(b""));
        every(
            runner,
            [
                (&random, false, "an answer under a random key"),
                (&empty, false, "an answer under the empty key"),
                (
                    &random,
                    true,
                    "a raw 16-byte HMAC-MD5 answer under a random key",
                ),
            ]
            .map(|(key, md5, what)| {
                move |link: &mut Link| {
                    let theirs = until_their_challenge(ctx, link, Challenge::fresh(first))?;
                    let answer = if md5 {
                        mp_wire::md5_reply(key, &theirs)
                    } else {
                        mp_wire::reply(key, &theirs, true)?
                    };
                    refused(link, &answer, what)
                }
            }),
        )
    });
    case(report, ctx, "bitflip.answer", || {
        every(
            runner,
            [
                (false, "an answer with the last bit of its MAC flipped"),
                (
                    true,
                    "a raw 16-byte HMAC-MD5 answer with its last bit flipped",
                ),
            ]
            .map(|(md5, what)| {
                move |link: &mut Link| {
                    let theirs = until_their_challenge(ctx, link, Challenge::fresh(first))?;
                    let answer = if md5 {
                        mp_wire::md5_reply(&ctx.key, &theirs)
                    } else {
                        mp_wire::reply(&ctx.key, &theirs, true)?
                    };
                    refused(link, &flip(&answer, answer.len() - 1), what)
                }
            }),
        )
    });
    case(report, ctx, "bitflip.challenge", || {
        runner.once(|link| {
            let ours = Challenge::fresh(first);
            link.send(&frame(&flip(&ours.payload(), 0)))
                .map_err(|e| format!("cannot send: {e}"))?;
            silent_after(link, "a challenge whose #CHALLENGE# tag had a flipped bit")
        })
    });
    case(report, ctx, "bitflip.welcome", || {
        runner.once(|link| {
            let ours = Challenge::fresh(first);
            link.send(&frame(&ours.payload()))
                .map_err(|e| format!("cannot send: {e}"))?;
            let reply = read(link, "no reply to our challenge")?;
            mp_wire::judge_answer(link, &ctx.key, &ours, &reply, ctx.allow_md5)?;
            link.send(&frame(&flip(WELCOME, WELCOME.len() - 1)))
                .map_err(|e| format!("cannot send: {e}"))?;
            silent_after(link, "our verdict #WELCOME\" (a flipped bit)")
        })
    });
    case(report, ctx, "missing_answer", || {
        runner.once(|link| {
            until_their_challenge(ctx, link, Challenge::fresh(first))?;
            link.half_close();
            silent_after(
                link,
                "the end of the stream instead of an answer to its challenge",
            )
        })
    });
    case(report, ctx, "oversized_answer", || {
        runner.once(|link| {
            until_their_challenge(ctx, link, Challenge::fresh(first))?;
            link.send(&0x7fff_ffffu32.to_be_bytes())
                .map_err(|e| format!("cannot send: {e}"))?;
            let (got, end) = link.drain(4096);
            if got.starts_with(&frame(WELCOME)) {
                return Err("sent #WELCOME# to a frame header announcing 2147483647 bytes".into());
            }
            if matches!(end, End::Silent(_)) {
                return Err(format!(
                    "still waiting after {:.1} s for the 2147483647 bytes of our answer's \
                     header: the length is not bounded before use (CPython refuses over 256 \
                     bytes at once)",
                    link.timeout().as_secs_f64()
                ));
            }
            Ok((
                Expect::Failure {
                    hang: Verdict::Fail,
                },
                format!(
                    "refused an answer header announcing 2147483647 bytes: it {}",
                    end.describe()
                ),
            ))
        })
    });
    case(report, ctx, "replayed_answer", || {
        // A recorded server replays all it sent: its challenge, then its
        // answer to the client's challenge of then.
        runner.replay(
            |link| serve(ctx, link, first, Pace::Whole),
            |link, old: Played| {
                until_their_challenge(ctx, link, old.ours)?;
                refused(
                    link,
                    &old.answer,
                    "the challenge and answer of an earlier connection",
                )
            },
        )
    });
    case(report, ctx, "fresh", || {
        match runner.collect(FRESH_RUNS, |link| {
            serve(ctx, link, first, Pace::Whole).map(|(e, s, played)| (e, s, played.theirs.message))
        }) {
            Ok(challenges) => distinct(&challenges, "client challenge"),
            Err(outcome) => outcome,
        }
    });
    case(report, ctx, "early", || {
        runner.once(|link| {
            let theirs = until_their_challenge(ctx, link, Challenge::fresh(first))?;
            let early = link.peek_for(EARLY_WAIT);
            if !early.is_empty() {
                return Err(format!(
                    "sent {} before we answered its challenge: it treats the connection as \
                     authenticated before it checked the server",
                    show(&early)
                ));
            }
            let answer = mp_wire::reply(&ctx.key, &theirs, ctx.allow_md5)?;
            finish(link, &answer, Pace::Whole)?;
            Ok((
                Expect::Success,
                format!(
                    "waited {} ms for the answer to its challenge before sending, then \
                     completed",
                    EARLY_WAIT.as_millis()
                ),
            ))
        })
    });
}

fn read(link: &mut Link, what: &str) -> Result<Vec<u8>, String> {
    link.read_frame(MAX)
        .map_err(|e| format!("{what}: it {}", e.describe()))
}

/// `ours` sent and the reply checked, `#WELCOME#` sent, and the client's
/// challenge.
fn until_their_challenge(ctx: &Ctx, link: &mut Link, ours: Challenge) -> Result<Challenge, String> {
    link.send(&frame(&ours.payload()))
        .map_err(|e| format!("cannot send: {e}"))?;
    let reply = read(link, "no reply to our challenge")?;
    mp_wire::judge_answer(link, &ctx.key, &ours, &reply, ctx.allow_md5)?;
    link.send(&frame(WELCOME))
        .map_err(|e| format!("cannot send: {e}"))?;
    let payload = read(link, "no challenge of its own after our #WELCOME#")?;
    Challenge::parse(&payload).map_err(|e| e.replace("its challenge", "its own challenge"))
}

/// The client must refuse `answer` (sent with the echo behind it): no
/// `#WELCOME#`.
fn refused(link: &mut Link, answer: &[u8], what: &str) -> Scripted {
    link.send(&[frame(answer), frame(MESSAGE)].concat())
        .map_err(|e| format!("cannot send: {e}"))?;
    let (got, end) = link.drain(4096);
    if got.starts_with(&frame(WELCOME)) {
        return Err(format!("sent #WELCOME# to {what}"));
    }
    let said = if got.starts_with(&frame(FAILURE)) {
        "#FAILURE#".to_string()
    } else if got.is_empty() {
        "nothing".to_string()
    } else {
        show(&got)
    };
    Ok((
        Expect::Failure {
            hang: Verdict::Warn,
        },
        format!("refused {what}: it sent {said} and {}", end.describe()),
    ))
}

/// After the client's challenge is answered with `answer`: its
/// `#WELCOME#`, then its message, echoed (or already sent, pipelined).
fn finish(link: &mut Link, answer: &[u8], pace: Pace) -> Result<(), String> {
    if pace == Pace::Pipelined {
        link.send_paced(&[frame(answer), frame(MESSAGE)].concat(), pace)
    } else {
        link.send_paced(&frame(answer), pace)
    }?;
    let verdict = read(link, "no verdict on our answer")?;
    if verdict != WELCOME {
        return Err(format!(
            "answered our honest answer with {}",
            show(&verdict)
        ));
    }
    let message = link
        .read_frame(1 << 20)
        .map_err(|e| format!("no message after its #WELCOME#: it {}", e.describe()))?;
    if message != MESSAGE {
        return Err(format!(
            "sent {} as its message, not $HMAC_HANDSHAKE_MESSAGE",
            show(&message)
        ));
    }
    match pace {
        Pace::Pipelined => {}
        Pace::WrongEcho => link.send_paced(&frame(&flip(&message, 0)), pace)?,
        _ => link.send_paced(&frame(&message), pace)?,
    }
    Ok(())
}

/// What an honest run sent and saw, for a replay or a freshness case.
struct Played {
    /// Our challenge.
    ours: Challenge,
    /// The client's challenge.
    theirs: Challenge,
    /// Our answer to it.
    answer: Vec<u8>,
}

/// An honest server, our challenge in `digest`: returns the expectation,
/// what was seen and what was played.
fn serve(
    ctx: &Ctx,
    link: &mut Link,
    digest: Option<Digest>,
    pace: Pace,
) -> Result<(Expect, String, Played), String> {
    let ours = Challenge::fresh(digest);
    link.send_paced(&frame(&ours.payload()), pace)?;
    let reply = read(link, "no reply to our challenge")?;
    let answered = mp_wire::judge_answer(link, &ctx.key, &ours, &reply, ctx.allow_md5)?;
    link.send_paced(&frame(WELCOME), pace)?;
    let payload = read(link, "no challenge of its own after our #WELCOME#")?;
    let theirs = Challenge::parse(&payload)?;
    let answer = mp_wire::reply(&ctx.key, &theirs, ctx.allow_md5)?;
    finish(link, &answer, pace)?;
    Ok((
        if pace == Pace::WrongEcho {
            Expect::Failure {
                hang: Verdict::Warn,
            }
        } else {
            Expect::Success
        },
        format!(
            "{answered} to our {} challenge, challenged us {}, welcomed our answer, its \
             message echoed{}",
            ours.kind(),
            theirs.kind(),
            match pace {
                Pace::Whole => "",
                Pace::Bytewise => " (every byte of ours in its own write)",
                Pace::Pipelined => " (the echo right behind our answer)",
                Pace::WrongEcho => ", but we echoed a message other than its own",
            }
        ),
        Played {
            ours,
            theirs,
            answer,
        },
    ))
}
