//! The open-file limit: raised to its hard limit at start, with a warning
//! when even that is below what the connection caps need.

use super::admission::Limits;

/// Descriptors beyond one per connection: the listener, stdio, the
/// runtime's event queue and wakers, the signal pipe, a keyring read.
const SPARE_FILES: u64 = 64;

/// Raises the soft open-file limit to the hard limit; says on stderr when
/// the result is below what `limits` need (then connections past it wait
/// in the listen backlog, as `accept` fails and is retried).
pub fn raise_open_files(limits: Limits) {
    let needed = u64::from(limits.authenticated) + u64::from(limits.pending) + SPARE_FILES;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => say!("{}", too_low(limit, needed, limits)),
        Ok(_) => {}
        Err(e) => say!("warning: cannot raise the open-file limit: {e}"),
    }
}

/// The warning for an open-file limit of `limit` under `needed`.
fn too_low(limit: u64, needed: u64, limits: Limits) -> String {
    format!(
        "warning: the open-file limit is {limit} (raised to its hard limit), below the \
         {needed} that --max-connections {} and --max-pending {} need: connections past it \
         wait in the listen backlog; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) \
         or lower the caps",
        limits.authenticated, limits.pending
    )
}

#[cfg(test)]
mod tests {
    use super::{too_low, Limits};

    #[test]
    fn the_warning_names_the_limit_and_the_need() {
        let limits = Limits {
            authenticated: 10_000,
            pending: 1024,
            per_peer: 64,
        };
        let text = too_low(1024, 11_088, limits);
        assert!(
            text.starts_with(
                "warning: the open-file limit is 1024 (raised to its hard limit), below the \
                 11088 that --max-connections 10000 and --max-pending 1024 need"
            ),
            "{text}"
        );
    }
}
