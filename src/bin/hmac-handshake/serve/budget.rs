//! The memory that messages being received and echoed may take, over the
//! whole server (`--max-buffered`).
//!
//! A message over [`SMALL`] bytes takes its whole announced length from the
//! budget before its payload is read, waiting while the budget is taken,
//! and gives it back once echoed: however many connections announce large
//! messages, their payloads held at once never exceed the budget. A message
//! of up to [`SMALL`] bytes is held by its connection outside the budget,
//! as its read buffer is (at most [`SMALL`] per connection, so bounded by
//! `--max-connections`): so small messages never queue behind large ones
//! waiting for room.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest message held outside the budget, in bytes: the largest that
/// CPython sends as one write with its length prefix.
pub const SMALL: u64 = 16 * 1024;

/// The budget and the largest message, shared by every connection.
#[derive(Clone, Debug)]
pub struct Budget {
    bytes: Arc<Semaphore>,
    total: u64,
    max_message: u64,
}

/// A message's share of the budget, given back on drop (none for a small
/// message).
#[derive(Debug)]
pub struct Share(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl Budget {
    /// A budget of `total` bytes (`--max-buffered`, at most
    /// [`Semaphore::MAX_PERMITS`]) for messages of at most `max_message`
    /// bytes (`--max-message`, at most `u32::MAX`).
    pub fn new(max_message: u32, total: u64) -> Budget {
        let permits = usize::try_from(total)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Budget {
            bytes: Arc::new(Semaphore::new(permits)),
            total: permits as u64,
            max_message: u64::from(max_message),
        }
    }

    /// `--max-message`: the largest message echoed, in bytes.
    pub fn max_message(&self) -> u64 {
        self.max_message
    }

    /// `--max-buffered`: the budget, in bytes.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// `true` when a message of `len` bytes can get its share: it is
    /// small, or no larger than the whole budget.
    pub fn fits(&self, len: u64) -> bool {
        len <= SMALL || len <= self.total
    }

    /// The share of a message of `len` bytes ([`fits`](Self::fits) and at
    /// most [`max_message`](Self::max_message)), once the budget has room:
    /// large messages wait in turn.
    pub async fn take(&self, len: u64) -> Share {
        if len <= SMALL {
            return Share(None);
        }
        // Under `max_message`, so this holds; the budget is never closed,
        // so the acquire does not fail.
        let Ok(len) = u32::try_from(len) else {
            return Share(None);
        };
        Share(Arc::clone(&self.bytes).acquire_many_owned(len).await.ok())
    }

    /// Bytes of the budget taken now.
    #[cfg(test)]
    pub fn taken(&self) -> u64 {
        self.total - self.bytes.available_permits() as u64
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Budget, SMALL};

    #[tokio::test]
    async fn large_messages_wait_for_room_and_small_ones_never_do() {
        let budget = Budget::new(1 << 20, 100_000);
        let a = budget.take(60_000).await;
        assert_eq!(budget.taken(), 60_000);
        // Another 60,000 does not fit beside it: it waits.
        let waiting = tokio::time::timeout(Duration::from_millis(50), budget.take(60_000)).await;
        assert!(waiting.is_err(), "two shares over the budget");
        // A small message does not wait, even with the budget taken.
        let _all = budget.take(40_000).await;
        let _small = budget.take(SMALL).await;
        assert_eq!(budget.taken(), 100_000);
        drop((a, _all));
        assert_eq!(budget.taken(), 0);
        let _b = budget.take(60_000).await;
        assert_eq!(budget.taken(), 60_000);
        assert!(budget.fits(100_000) && budget.fits(SMALL) && !budget.fits(100_001));
        assert!(Budget::new(1 << 20, 1).fits(SMALL));
    }
}
