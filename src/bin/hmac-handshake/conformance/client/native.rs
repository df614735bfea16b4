//! The native protocol's client cases (PROTOCOL.md "Processing", client
//! side): the tester is the crate's own server, whose `ServerHello` and
//! `ServerFinish` a case may change, pace, withhold or replay.

use hmac_handshake::native::{ForwardSecrecy, Suite, NONCE_LEN, RANDOM_LEN};
use hmac_handshake::{Handshake, Status};

use super::super::link::{flip, frame, show, Link, Pace};
use super::super::native::{self as drive, feed, take_output};
use super::super::report::{distinct, Report, Verdict};
use super::super::{Ctx, MESSAGE};
use super::{case, every, silent_after, Expect, Runner, Scripted};

/// A hostile case that changes one of our messages: its name, the change
/// and what the message then is.
type Change = (&'static str, fn(&mut Vec<u8>), &'static str);

/// Runs the native client cases.
pub fn run(ctx: &Ctx, runner: &Runner<'_>, report: &mut Report) {
    let suites = ctx.suites();
    let first = suites[0];
    // A client under test that requires forward secrecy gets mode 02
    // throughout; otherwise mode 00.
    let base = base_setting(ctx);
    let plain = |suite: Suite, setting: ForwardSecrecy, pace: Pace| {
        runner.once(|link| {
            honest(ctx, link, suite, setting, pace, &drive::random()).map(|(e, s, _)| (e, s))
        })
    };
    for &suite in &suites {
        case(report, ctx, &format!("honest.{}", suite.name()), || {
            plain(suite, base, Pace::Whole)
        });
    }
    case(report, ctx, "forward_secrecy_offered", || {
        plain(first, ForwardSecrecy::Offered, Pace::Whole)
    });
    if ctx.native().forward_secrecy {
        case(report, ctx, "forward_secrecy_downgrade", || {
            runner.once(|link| {
                let mut server = drive::server(
                    key(ctx, first),
                    config(ctx, ForwardSecrecy::Off),
                    &drive::random(),
                );
                let hello = take_output(&mut server, "server")?;
                link.send(&hello).map_err(|e| format!("cannot send: {e}"))?;
                silent_after(
                    link,
                    "a ServerHello of mode 00 (no forward secrecy) to a client that requires it",
                )
            })
        });
    }
    case(report, ctx, "one_byte", || {
        plain(first, base, Pace::Bytewise)
    });
    case(report, ctx, "echo_check", || {
        plain(first, base, Pace::WrongEcho)
    });
    case(report, ctx, "pipelined", || {
        plain(first, base, Pace::Pipelined)
    });
    let hellos: [Change; 3] = [
        (
            "not_native",
            |h| h[0] ^= 1,
            "a ServerHello whose magic HMHS had a flipped bit (IMHS)",
        ),
        ("version", |h| h[4] = 0x02, "a ServerHello of version 2"),
        (
            "unknown_mode",
            |h| h[6] = 0x80,
            "a ServerHello with mode 80 (none)",
        ),
    ];
    for (name, change, what) in hellos {
        case(report, ctx, name, || {
            runner.once(|link| {
                let mut server =
                    drive::server(key(ctx, first), config(ctx, base), &drive::random());
                let mut hello = take_output(&mut server, "server")?;
                change(&mut hello);
                link.send(&hello).map_err(|e| format!("cannot send: {e}"))?;
                silent_after(link, what)
            })
        });
    }
    case(report, ctx, "suite", || {
        // No such suite; and, when the client allows fewer than all four,
        // a known one it does not allow (`suite_not_allowed` both).
        let mut named = vec![(0x00, "a ServerHello naming suite 00 (none)".to_string())];
        if let Some(other) = Suite::ALL.into_iter().find(|s| !suites.contains(s)) {
            named.push((
                other.id(),
                format!(
                    "a ServerHello naming {}, not an allowed suite",
                    other.name()
                ),
            ));
        }
        every(
            runner,
            named.into_iter().map(|(id, what)| {
                move |link: &mut Link| {
                    let mut server =
                        drive::server(key(ctx, first), config(ctx, base), &drive::random());
                    let mut hello = take_output(&mut server, "server")?;
                    hello[5] = id;
                    link.send(&hello).map_err(|e| format!("cannot send: {e}"))?;
                    silent_after(link, &what)
                }
            }),
        )
    });
    let finishes: [Change; 4] = [
        (
            "rejected",
            |f| f[1] = 0x01,
            "a reject verdict (03 01) followed by a valid server tag",
        ),
        (
            "unexpected_verdict",
            |f| f[1] = 0x80,
            "verdict 80 followed by a valid server tag",
        ),
        (
            "unexpected_message",
            |f| f[0] = 0x02,
            "a ServerFinish of type 02",
        ),
        (
            "bitflip",
            |f| {
                let last = f.len() - 1;
                f[last] ^= 1;
            },
            "a server tag with its last bit flipped",
        ),
    ];
    for (name, change, what) in finishes {
        case(report, ctx, name, || {
            runner.once(|link| {
                let (_, mut finish) = until_finish(ctx, link, first, &drive::random())?;
                change(&mut finish);
                hostile_finish(link, &finish, what)
            })
        });
    }
    case(report, ctx, "fresh", || {
        match runner.collect(FRESH_RUNS, |link| {
            honest(ctx, link, first, base, Pace::Whole, &drive::random())
                .map(|(e, s, played)| (e, s, played.client_nonce()))
        }) {
            Ok(nonces) => distinct(&nonces, "client nonce"),
            Err(outcome) => outcome,
        }
    });
    case(report, ctx, "missing_finish", || {
        runner.once(|link| {
            until_finish(ctx, link, first, &drive::random())?;
            link.half_close();
            let (got, end) = link.drain(4096);
            Ok((
                Expect::Failure {
                    hang: Verdict::Warn,
                },
                format!(
                    "the end of the stream instead of a ServerFinish: it sent {} and {}",
                    show(&got),
                    end.describe()
                ),
            ))
        })
    });
    case(report, ctx, "replayed_finish", || {
        let random = drive::random();
        runner.replay(
            |link| {
                honest(ctx, link, first, base, Pace::Whole, &random)
                    .map(|(e, s, p)| (e, s, p.finish))
            },
            |link, old| {
                // The same ServerHello (the same nonce), then the recorded
                // ServerFinish: valid only for the same client nonce.
                until_finish(ctx, link, first, &random)?;
                hostile_finish(
                    link,
                    &old,
                    "the ServerHello and ServerFinish of an earlier connection",
                )
            },
        )
    });
}

fn key(ctx: &Ctx, suite: Suite) -> hmac_handshake::native::NativeKey {
    ctx.native_key(ctx.native().key_id.as_bytes(), &ctx.secret, suite)
}

fn config(ctx: &Ctx, setting: ForwardSecrecy) -> hmac_handshake::native::Config {
    ctx.native()
        .server_config()
        .expect("checked when the options were read")
        .with_forward_secrecy(setting)
}

/// Our `ServerHello`, the client's proof read, and our accepting
/// `ServerFinish` made but not sent: returns the hello and the finish.
fn until_finish(
    ctx: &Ctx,
    link: &mut Link,
    suite: Suite,
    random: &[u8; RANDOM_LEN],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut server = drive::server(key(ctx, suite), config(ctx, base_setting(ctx)), random);
    let hello = take_output(&mut server, "server")?;
    link.send(&hello).map_err(|e| format!("cannot send: {e}"))?;
    feed(&mut server, link).map_err(|e| format!("no ClientProof: it {}", e.describe()))?;
    let finish = take_output(&mut server, "server")?;
    check_accepted(link, &finish)?;
    Ok((hello, finish))
}

/// Our server must have accepted the client's honest proof; if it did
/// not, its reject (`03 01`) is sent, as a real server would.
fn check_accepted(link: &mut Link, finish: &[u8]) -> Result<(), String> {
    if finish.get(1) == Some(&0x00) {
        return Ok(());
    }
    let _ = link.send(finish);
    Err(
        "its proof did not verify (we answered 03 01): is it the same key, key id, context \
         and server name? (vectors/handshake/native.json has the bytes of each step)"
            .into(),
    )
}

/// Sends `finish` with the echo behind it: the client must not take it.
fn hostile_finish(link: &mut Link, finish: &[u8], what: &str) -> Scripted {
    link.send(&[finish, &frame(MESSAGE)[..]].concat())
        .map_err(|e| format!("cannot send: {e}"))?;
    let (got, end) = link.drain(4096);
    Ok((
        Expect::Failure {
            hang: Verdict::Warn,
        },
        format!(
            "to {what} (and our echo behind it): it sent {} in all after its proof (application \
             bytes may come before the verdict), and {}",
            show(&got),
            end.describe()
        ),
    ))
}

/// What an honest run saw and sent, for a replay or a freshness case.
struct Played {
    /// The client's `ClientProof`.
    proof: Vec<u8>,
    /// Our `ServerFinish`.
    finish: Vec<u8>,
}

impl Played {
    /// The client nonce: after the type byte and the key id.
    fn client_nonce(&self) -> Vec<u8> {
        let start = 2 + usize::from(self.proof.get(1).copied().unwrap_or(0));
        self.proof
            .get(start..start + NONCE_LEN)
            .unwrap_or_default()
            .to_vec()
    }
}

/// Runs of the client freshness case: at least 8, as on the server side.
const FRESH_RUNS: usize = 8;

/// The mode of our server in every case but the forward-secrecy ones:
/// 02 when the client under test requires forward secrecy
/// (`--forward-secrecy`), else 00.
fn base_setting(ctx: &Ctx) -> ForwardSecrecy {
    if ctx.native().forward_secrecy {
        ForwardSecrecy::Required
    } else {
        ForwardSecrecy::Off
    }
}

/// An honest server of `suite` with `setting`: the handshake, then the
/// echo. Returns the expectation, what was seen and what was played.
fn honest(
    ctx: &Ctx,
    link: &mut Link,
    suite: Suite,
    setting: ForwardSecrecy,
    pace: Pace,
    random: &[u8; RANDOM_LEN],
) -> Result<(Expect, String, Played), String> {
    let write = |link: &mut Link, bytes: &[u8]| link.send_paced(bytes, pace);
    let mut server = drive::server(key(ctx, suite), config(ctx, setting), random);
    let hello = take_output(&mut server, "server")?;
    write(link, &hello)?;
    let proof =
        feed(&mut server, link).map_err(|e| format!("no ClientProof: it {}", e.describe()))?;
    let finish = take_output(&mut server, "server")?;
    check_accepted(link, &finish)?;
    if !matches!(server.status(), Status::Done(_)) {
        return Err(format!("our server did not finish: {:?}", server.status()));
    }
    if pace == Pace::Pipelined {
        write(link, &[&finish[..], &frame(MESSAGE)[..]].concat())?;
    } else {
        write(link, &finish)?;
    }
    let message = link
        .read_frame(1 << 20)
        .map_err(|e| format!("no message after the handshake: it {}", e.describe()))?;
    if message != MESSAGE {
        return Err(format!("sent {} as its message", show(&message)));
    }
    match pace {
        Pace::Pipelined => {}
        Pace::WrongEcho => write(link, &frame(&flip(&message, 0)))?,
        _ => write(link, &frame(&message))?,
    }
    let fs = if finish.len() > 2 + suite.mac_len() {
        "yes"
    } else {
        "no"
    };
    Ok((
        if pace == Pace::WrongEcho {
            Expect::Failure {
                hang: Verdict::Warn,
            }
        } else {
            Expect::Success
        },
        format!(
            "{} (mode {:02x}): its proof verified, forward secrecy {fs}, its message echoed{}",
            suite.name(),
            hello[6],
            match pace {
                Pace::Whole => "",
                Pace::Bytewise => " (every byte of ours in its own write)",
                Pace::Pipelined => " (the echo right behind our ServerFinish)",
                Pace::WrongEcho => ", but we echoed a message other than its own",
            }
        ),
        Played { proof, finish },
    ))
}
