//! Adapters that run the sans-IO machines over real I/O (feature `std`).

pub mod blocking;
