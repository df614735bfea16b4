//! Who gets a place: handshakes in progress are bounded overall
//! (`--max-pending`) and, for TCP, per peer group
//! (`--max-pending-per-peer`; Unix socket peers are not bounded per peer);
//! authenticated connections have their own cap (`--max-connections`), so
//! unauthenticated sockets never take the places of authenticated clients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::peer::Group;

/// The three caps.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `--max-connections`: authenticated connections.
    pub authenticated: u32,
    /// `--max-pending`: handshakes in progress.
    pub pending: u32,
    /// `--max-pending-per-peer`: handshakes in progress per peer group.
    pub per_peer: u32,
}

/// Why an accepted connection is closed before its handshake.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Every authenticated place is taken.
    Full,
    /// Its peer group has `per_peer` handshakes in progress already.
    PeerBound,
}

/// The places, shared by the accept loop and the connections.
#[derive(Clone)]
pub struct Admission {
    limits: Limits,
    pending: Arc<Semaphore>,
    authenticated: Arc<Semaphore>,
    per_peer: Arc<Mutex<HashMap<Group, u32>>>,
}

/// A handshake's place: one of `--max-pending` and one of its peer
/// group's (TCP only); both given back on drop.
#[derive(Debug)]
pub struct Pending {
    _permit: OwnedSemaphorePermit,
    _peer: Option<PeerPlace>,
}

/// One of a peer group's places, given back on drop.
#[derive(Debug)]
struct PeerPlace {
    counts: Arc<Mutex<HashMap<Group, u32>>>,
    group: Group,
}

impl Drop for PeerPlace {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.group) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.group);
            }
        }
    }
}

/// An authenticated connection's place, given back on drop.
#[derive(Debug)]
pub struct Authenticated(#[allow(dead_code)] OwnedSemaphorePermit);

impl Admission {
    /// Places for `limits`.
    pub fn new(limits: Limits) -> Admission {
        Admission {
            limits,
            pending: Arc::new(Semaphore::new(limits.pending as usize)),
            authenticated: Arc::new(Semaphore::new(limits.authenticated as usize)),
            per_peer: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The caps.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Waits for one of the `--max-pending` places: the accept loop calls
    /// this before `accept`, so that while all are taken new connections
    /// wait in the listen backlog.
    pub async fn pending_place(&self) -> OwnedSemaphorePermit {
        loop {
            // The semaphore is never closed, so this does not fail; if it
            // did, trying again is still right.
            if let Ok(permit) = Arc::clone(&self.pending).acquire_owned().await {
                return permit;
            }
        }
    }

    /// Admits a connection from `group` holding `permit` (from
    /// [`pending_place`](Self::pending_place)) to its handshake, or says
    /// why not.
    ///
    /// # Errors
    /// [`Refusal::Full`] when no authenticated place is free (the
    /// handshake would be wasted), [`Refusal::PeerBound`] when the group
    /// is at its bound (a TCP group only: see [`Group::is_bounded`]).
    pub fn admit(&self, permit: OwnedSemaphorePermit, group: Group) -> Result<Pending, Refusal> {
        if self.authenticated.available_permits() == 0 {
            return Err(Refusal::Full);
        }
        if !group.is_bounded() {
            return Ok(Pending {
                _permit: permit,
                _peer: None,
            });
        }
        let mut counts = self.per_peer.lock().unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(group).or_insert(0);
        if *n >= self.limits.per_peer {
            // `per_peer` is at least 1, so the group had an entry already.
            return Err(Refusal::PeerBound);
        }
        *n += 1;
        drop(counts);
        Ok(Pending {
            _permit: permit,
            _peer: Some(PeerPlace {
                counts: Arc::clone(&self.per_peer),
                group,
            }),
        })
    }

    /// One of the `--max-connections` places, if any is free.
    pub fn authenticated(&self) -> Option<Authenticated> {
        Arc::clone(&self.authenticated)
            .try_acquire_owned()
            .ok()
            .map(Authenticated)
    }

    /// Handshakes in progress now.
    pub fn pending_now(&self) -> u32 {
        let free = self.pending.available_permits();
        self.limits.pending - u32::try_from(free).unwrap_or(self.limits.pending)
    }

    /// Authenticated connections now.
    pub fn authenticated_now(&self) -> u32 {
        let free = self.authenticated.available_permits();
        self.limits.authenticated - u32::try_from(free).unwrap_or(self.limits.authenticated)
    }

    /// Returns once every place is free again: no handshake in progress,
    /// no authenticated connection.
    pub async fn drained(&self) {
        let _pending = self.pending.acquire_many(self.limits.pending).await;
        let _authenticated = self
            .authenticated
            .acquire_many(self.limits.authenticated)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::{Admission, Group, Limits, Refusal};

    const A: Group = Group::V4(Ipv4Addr::new(127, 0, 0, 2));
    const B: Group = Group::V4(Ipv4Addr::new(127, 0, 0, 3));

    fn admission() -> Admission {
        Admission::new(Limits {
            authenticated: 1,
            pending: 4,
            per_peer: 2,
        })
    }

    #[tokio::test]
    async fn a_peer_group_gets_its_bound_and_no_more() {
        let places = admission();
        let a1 = places.admit(places.pending_place().await, A).unwrap();
        let _a2 = places.admit(places.pending_place().await, A).unwrap();
        let refused = places.admit(places.pending_place().await, A);
        assert_eq!(refused.unwrap_err(), Refusal::PeerBound);
        // The refused permit went back: 2 places of 4 are taken.
        assert_eq!(places.pending_now(), 2);
        // Another group is not affected.
        let _b1 = places.admit(places.pending_place().await, B).unwrap();
        assert_eq!(places.pending_now(), 3);
        drop(a1);
        let _a3 = places.admit(places.pending_place().await, A).unwrap();
        assert_eq!(places.pending_now(), 3);
    }

    #[tokio::test]
    async fn unix_socket_peers_are_bounded_only_overall() {
        let places = admission();
        let uid = Group::Uid(1000);
        let mut admitted = Vec::new();
        for _ in 0..4 {
            admitted.push(places.admit(places.pending_place().await, uid).unwrap());
        }
        // Four of one user: past the per-peer bound of 2, within the 4.
        assert_eq!(places.pending_now(), 4);
        drop(admitted);
        let unknown = places.admit(places.pending_place().await, Group::Unknown);
        assert!(unknown.is_ok());
    }

    #[tokio::test]
    async fn authenticated_places_are_apart_from_pending_ones() {
        let places = admission();
        let pending = places.admit(places.pending_place().await, A).unwrap();
        let held = places.authenticated().expect("a free place");
        assert_eq!((places.pending_now(), places.authenticated_now()), (1, 1));
        assert!(places.authenticated().is_none());
        // With every authenticated place taken, a handshake would be wasted.
        let refused = places.admit(places.pending_place().await, B);
        assert_eq!(refused.unwrap_err(), Refusal::Full);
        drop((pending, held));
        assert_eq!((places.pending_now(), places.authenticated_now()), (0, 0));
        places.drained().await;
    }
}
