//! The relay's tampers: what it does to each message in transit.

use crate::model::{Tamper, Transit};

pub fn pass() -> Tamper {
    Box::new(|_, m| Transit {
        data: m.to_vec(),
        trailing: Vec::new(),
    })
}

/// Changes message `index` with `f`; the others pass unchanged.
pub fn at(index: usize, f: impl Fn(&[u8]) -> Vec<u8> + 'static) -> Tamper {
    Box::new(move |i, m| Transit {
        data: if i == index { f(m) } else { m.to_vec() },
        trailing: Vec::new(),
    })
}

pub fn flip(index: usize, byte: usize, mask: u8) -> Tamper {
    at(index, move |m| {
        let mut m = m.to_vec();
        m[byte] ^= mask;
        m
    })
}

pub fn set_byte(index: usize, byte: usize, value: u8) -> Tamper {
    at(index, move |m| {
        let mut m = m.to_vec();
        m[byte] = value;
        m
    })
}

pub fn truncate(index: usize, len: usize) -> Tamper {
    at(index, move |m| m[..len].to_vec())
}

pub fn replace(index: usize, with: Vec<u8>) -> Tamper {
    at(index, move |_| with.clone())
}

/// Application bytes right behind message `index`.
pub fn trailing(index: usize, app: &[u8]) -> Tamper {
    let app = app.to_vec();
    Box::new(move |i, m| Transit {
        data: m.to_vec(),
        trailing: if i == index { app.clone() } else { Vec::new() },
    })
}
