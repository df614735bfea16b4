//! Who a connection comes from: the label its lines show, and the group
//! whose handshakes in progress `--max-pending-per-peer` bounds.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The group a peer's pending handshakes are counted in.
///
/// An IPv4 address is one peer. An IPv6 peer is its /64 network, the
/// smallest block a site is given, so one host cannot pass for many by
/// picking addresses within it. A Unix socket peer is its user id, shown
/// in lines but not bounded (see [`Group::is_bounded`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4(std::net::Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6Net(u64),
    /// A Unix socket peer's user id.
    Uid(u32),
    /// A Unix socket peer whose credentials cannot be read: all share one
    /// group.
    Unknown,
}

impl Group {
    /// `true` for TCP peers, whose pending handshakes
    /// `--max-pending-per-peer` bounds. Not for Unix socket peers: every
    /// local client of one user is the same user id (a multiprocessing
    /// pool of 100 workers included), and whoever can reach the socket is
    /// local already; `--max-pending` bounds them overall.
    pub fn is_bounded(self) -> bool {
        matches!(self, Group::V4(_) | Group::V6Net(_))
    }

    /// The group of a TCP peer.
    pub fn of_ip(ip: IpAddr) -> Group {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Group::V4(v4),
            IpAddr::V6(v6) => Group::V6Net((v6.to_bits() >> 64) as u64),
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Group::V4(v4) => v4.fmt(f),
            Group::V6Net(net) => write!(f, "{}/64", Ipv6Addr::from_bits(u128::from(*net) << 64)),
            Group::Uid(uid) => write!(f, "uid {uid}"),
            Group::Unknown => f.write_str("an unknown local peer"),
        }
    }
}

/// A connection's peer.
#[derive(Clone, Debug)]
pub struct Peer {
    /// How the peer appears in lines: `127.0.0.1:PORT`, or
    /// `unix:pid=PID,uid=UID` for a Unix socket peer.
    pub label: String,
    /// Its group for `--max-pending-per-peer`.
    pub group: Group,
}

impl Peer {
    /// A TCP peer.
    pub fn tcp(addr: SocketAddr) -> Peer {
        Peer {
            label: addr.to_string(),
            group: Group::of_ip(addr.ip()),
        }
    }

    /// A Unix socket peer, from its credentials when the system gives them.
    pub fn unix(uid: Option<u32>, pid: Option<i32>) -> Peer {
        let pid = pid.map_or_else(|| "?".to_string(), |p| p.to_string());
        match uid {
            Some(uid) => Peer {
                label: format!("unix:pid={pid},uid={uid}"),
                group: Group::Uid(uid),
            },
            None => Peer {
                label: format!("unix:pid={pid}"),
                group: Group::Unknown,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Group, Peer};

    #[test]
    fn groups_ipv4_by_address_and_ipv6_by_64_network() {
        let a = Peer::tcp("127.0.0.9:5000".parse().unwrap());
        assert_eq!(
            (a.label.as_str(), a.group.to_string()),
            ("127.0.0.9:5000", "127.0.0.9".into())
        );
        let mapped = Peer::tcp("[::ffff:10.1.2.3]:1".parse().unwrap());
        assert_eq!(mapped.group, Group::V4("10.1.2.3".parse().unwrap()));
        let x = Peer::tcp("[2001:db8:1:2:aaaa::1]:1".parse().unwrap());
        let y = Peer::tcp("[2001:db8:1:2:bbbb::7]:1".parse().unwrap());
        let z = Peer::tcp("[2001:db8:1:3::1]:1".parse().unwrap());
        assert_eq!(x.group, y.group);
        assert_ne!(x.group, z.group);
        assert_eq!(x.group.to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn unix_peers_are_grouped_by_user() {
        let p = Peer::unix(Some(1000), Some(42));
        assert_eq!(
            (p.label.as_str(), p.group),
            ("unix:pid=42,uid=1000", Group::Uid(1000))
        );
        let q = Peer::unix(None, None);
        assert_eq!((q.label.as_str(), q.group), ("unix:pid=?", Group::Unknown));
        assert!(!p.group.is_bounded() && !q.group.is_bounded());
        assert!(Peer::tcp("127.0.0.1:1".parse().unwrap()).group.is_bounded());
        assert!(Peer::tcp("[::1]:1".parse().unwrap()).group.is_bounded());
    }
}
