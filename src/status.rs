//! What a handshake machine wants next, and what it concluded.

use crate::{Digest, Error};

/// What a [`ServerHandshake`](crate::ServerHandshake) or
/// [`ClientHandshake`](crate::ClientHandshake) needs from its caller next.
///
/// Match on it in a loop, like httparse's `Status::Partial`/`Complete` or
/// rustls' unbuffered `ConnectionState`:
/// - [`Status::Send`]: write these bytes to the peer, then report how many
///   were written with `sent(n)` (partial writes are fine);
/// - [`Status::NeedInput`]: read from the peer and pass the bytes to
///   `receive`, which returns how many it consumed;
/// - [`Status::Done`]: the handshake is over; bytes `receive` did not
///   consume belong to the application;
/// - [`Status::Failed`]: the handshake failed; the error stays.
#[derive(Debug, PartialEq, Eq)]
pub enum Status<'a> {
    /// The machine waits for more bytes from the peer.
    NeedInput,
    /// Bytes to write to the peer (a borrowed slice of the machine's fixed
    /// output buffer, at most one protocol message).
    Send(&'a [u8]),
    /// The handshake completed.
    Done(Outcome),
    /// The handshake failed. Any message the protocol sends on failure
    /// (multiprocessing's `#FAILURE#`) was handed out as [`Status::Send`] first.
    Failed(Error),
}

/// Whether the peer confirmed that it accepted our proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// The peer said so (multiprocessing `#WELCOME#`, or a verified server tag).
    Confirmed,
    /// The protocol gives no verdict to this side. The recipe's client: a
    /// server that rejected us just closes, so the first read after the
    /// handshake tells. The native server: its own proof (the server tag) is
    /// checked by the client, which says nothing back; a client that
    /// rejected it closes the connection.
    Unknown,
    /// This side proved nothing (the recipe's server only checks the client).
    NotApplicable,
}

/// The result of a completed handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `true` when this side verified a MAC made by the peer with the shared
    /// key. `false` only for the recipe's client, which verifies nothing.
    pub peer_authenticated: bool,
    /// Whether the peer confirmed our own proof.
    pub confirmation: Confirmation,
    /// The digest of the peer's proof that we verified; for the recipe's
    /// client, the digest of the proof we sent.
    pub digest: Digest,
    /// `true` when the peer used CPython's legacy (Python <= 3.11) format: an
    /// unprefixed 20-byte challenge or a raw 16-byte HMAC-MD5 reply.
    pub legacy: bool,
    /// Handshake bytes consumed from the peer over the whole handshake.
    pub consumed: usize,
}
