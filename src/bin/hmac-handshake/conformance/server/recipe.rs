//! The recipe's server cases: the server sends 32 random bytes and takes
//! HMAC(key, challenge) raw; it says nothing back, so it accepted a tag
//! exactly when it echoes the bytes after it.

use hmac_handshake::Key;

use super::super::link::{flip, show, Link};
use super::super::report::{distinct, ok, Report};
use super::super::{Ctx, MESSAGE};
use super::{case, replayed, Step, Target, FRESH_CONNECTIONS, PAUSE};

/// The recipe's challenge length in bytes.
const CHALLENGE_LEN: usize = 32;

/// Runs the recipe's server cases.
pub fn run(ctx: &Ctx, target: &Target, report: &mut Report) {
    let digest = ctx.recipe_digest;
    let key = &ctx.key;
    let tag = |challenge: &[u8]| key.tag(digest, challenge).as_bytes().to_vec();
    case(report, ctx, "honest", || {
        let mut link = target.connect()?;
        let challenge = link.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?;
        send(&mut link, &tag(&challenge))?;
        std::thread::sleep(PAUSE);
        send(&mut link, MESSAGE)?;
        echoed(&mut link)
    });
    case(report, ctx, "one_byte", || {
        let mut link = target.connect()?;
        let challenge = link.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?;
        link.send_bytewise(&tag(&challenge))
            .map_err(|e| format!("cannot send: {e}"))?;
        std::thread::sleep(PAUSE);
        send(&mut link, MESSAGE)?;
        echoed(&mut link)
    });
    case(report, ctx, "pipelined", || {
        let mut link = target.connect()?;
        let challenge = link.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?;
        send(&mut link, &[tag(&challenge), MESSAGE.to_vec()].concat())?;
        echoed(&mut link)
    });
    case(report, ctx, "wrong_key", || {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| format!("the OS random generator: {e}"))?;
        for (what, wrong) in [
            ("a random key", Key::new(&random)),
            ("the empty key", Key::new(b"")),
        ] {
            let mut link = target.connect()?;
            let challenge = link.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?;
            send(&mut link, wrong.tag(digest, &challenge).as_bytes())?;
            std::thread::sleep(PAUSE);
            send(&mut link, MESSAGE)?;
            refused(&mut link, &format!("a tag under {what}"))?;
        }
        Ok(ok("refused tags under a random key and the empty key"))
    });
    case(report, ctx, "bitflip", || {
        let mut link = target.connect()?;
        let challenge = link.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?;
        let good = tag(&challenge);
        send(&mut link, &flip(&good, good.len() - 1))?;
        std::thread::sleep(PAUSE);
        send(&mut link, MESSAGE)?;
        refused(&mut link, "a tag with its last bit flipped").map(ok)
    });
    case(report, ctx, "truncated", || {
        let mut link = target.connect()?;
        let challenge = link.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?;
        let good = tag(&challenge);
        send(&mut link, &good[..good.len() / 2])?;
        std::thread::sleep(PAUSE * 2);
        send(&mut link, MESSAGE)?;
        link.half_close();
        refused(&mut link, "half a tag, a pause, then our message").map(ok)
    });
    case(report, ctx, "replay", || {
        let mut first = target.connect()?;
        let c1 = first.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?;
        let t1 = tag(&c1);
        send(&mut first, &t1)?;
        std::thread::sleep(PAUSE);
        send(&mut first, MESSAGE)?;
        echoed(&mut first).map_err(|e| format!("the first, honest connection: {e}"))?;
        drop(first);
        let mut second = target.connect()?;
        let c2 = second.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?;
        send(&mut second, &t1)?;
        std::thread::sleep(PAUSE);
        send(&mut second, MESSAGE)?;
        let seen = refused(&mut second, "the tag of an earlier connection")?;
        Ok(replayed(seen, c1 == c2))
    });
    case(report, ctx, "fresh", || {
        let mut challenges = Vec::new();
        for _ in 0..FRESH_CONNECTIONS {
            let mut link = target.connect()?;
            challenges.push(link.read_exact(CHALLENGE_LEN).map_err(|e| e.describe())?);
        }
        Ok(distinct(&challenges, "challenge"))
    });
}

fn send(link: &mut Link, bytes: &[u8]) -> Result<(), String> {
    link.send(bytes).map_err(|e| format!("cannot send: {e}"))
}

/// Our [`MESSAGE`] comes back: the server took the tag.
fn echoed(link: &mut Link) -> Step {
    match link.read_exact(MESSAGE.len()) {
        Ok(reply) if reply == MESSAGE => Ok(ok("took the tag and echoed our message")),
        Ok(reply) => Err(format!(
            "answered {} instead of echoing our message",
            show(&reply)
        )),
        Err(end) => Err(format!("did not echo our message: it {}", end.describe())),
    }
}

/// The server must not echo after `what`: `Ok` with what it did instead.
fn refused(link: &mut Link, what: &str) -> Result<String, String> {
    let (got, end) = link.drain(4096);
    if got.windows(MESSAGE.len()).any(|w| w == MESSAGE) {
        return Err(format!("took {what}: it echoed our message"));
    }
    if got.is_empty() {
        Ok(format!("refused {what}: it {}", end.describe()))
    } else {
        Ok(format!(
            "refused {what}: it sent {} and {}",
            show(&got),
            end.describe()
        ))
    }
}
