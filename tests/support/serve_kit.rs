//! What the `serve` tests share, included with
//! `#[path = "support/serve_kit.rs"] mod kit;` beside `mod support;`:
//! [`serve_proc`] (a steered `serve` process), [`cpython`] (CPython 3.13
//! scripts) and the interop tests' interpreter discovery ([`python`]).
#![allow(dead_code)]

#[path = "cpython.rs"]
pub mod cpython;
#[path = "../interop/python.rs"]
pub mod python;
#[path = "serve_proc.rs"]
pub mod serve_proc;
