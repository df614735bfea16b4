//! The recipe's client cases: the tester sends 32 random bytes, checks
//! the client's raw HMAC, and echoes its message.

use super::super::link::{flip, show, Link};
use super::super::report::{Report, Verdict};
use super::super::{Ctx, MESSAGE};
use super::{case, silent_after, Expect, Runner, Scripted};

/// Runs the recipe's client cases.
pub fn run(ctx: &Ctx, runner: &Runner<'_>, report: &mut Report) {
    case(report, ctx, "honest", || {
        runner.once(|link| serve(ctx, link, false))
    });
    case(report, ctx, "one_byte", || {
        runner.once(|link| serve(ctx, link, true))
    });
    case(report, ctx, "echo_check", || {
        runner.once(|link| serve_echoing(ctx, link, false, &flip(MESSAGE, 0)))
    });
    case(report, ctx, "short_challenge", || {
        runner.once(|link| {
            let challenge = fresh();
            link.send(&challenge[..16])
                .map_err(|e| format!("cannot send: {e}"))?;
            link.half_close();
            silent_after(link, "16 bytes of challenge and the end of the stream")
        })
    });
}

fn fresh() -> [u8; 32] {
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge).expect("the OS random generator failed");
    challenge
}

/// An honest server: the challenge (byte by byte or whole), the tag
/// checked, the message echoed. (No case pipelines: a recipe server has
/// nothing to send between its challenge and the echo.)
fn serve(ctx: &Ctx, link: &mut Link, bytewise: bool) -> Scripted {
    serve_echoing(ctx, link, bytewise, MESSAGE)
}

/// As [`serve`], answering the message with `echo`: another message
/// makes the run a hostile one (the client must see it is not its own).
fn serve_echoing(ctx: &Ctx, link: &mut Link, bytewise: bool, echo: &[u8]) -> Scripted {
    let challenge = fresh();
    if bytewise {
        link.send_bytewise(&challenge)
    } else {
        link.send(&challenge)
    }
    .map_err(|e| format!("cannot send: {e}"))?;
    let digest = ctx.recipe_digest;
    let tag = link
        .read_exact(digest.tag_len())
        .map_err(|e| format!("no tag: it {}", e.describe()))?;
    ctx.key
        .verify(digest, &challenge, &tag)
        .map_err(|_| format!("its tag {} does not verify under our key", show(&tag)))?;
    let message = link
        .read_exact(MESSAGE.len())
        .map_err(|e| format!("no message after its tag: it {}", e.describe()))?;
    if message != MESSAGE {
        return Err(format!(
            "sent {} after its tag, not ${}",
            show(&message),
            super::MESSAGE_ENV
        ));
    }
    link.send(echo).map_err(|e| format!("cannot echo: {e}"))?;
    if echo != MESSAGE {
        return Ok((
            Expect::Failure {
                hang: Verdict::Warn,
            },
            "its tag verified; we echoed a message other than its own".into(),
        ));
    }
    Ok((
        Expect::Success,
        format!(
            "its tag verified, its message echoed{}",
            if bytewise {
                " (the challenge one byte per write)"
            } else {
                ""
            }
        ),
    ))
}
