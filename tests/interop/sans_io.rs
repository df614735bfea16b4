//! Case 7: the sans-IO machines driven by hand over a real socket, no
//! adapter, one byte per read and one byte per write, against CPython 3.13's
//! `multiprocessing.connection`: chunking works on real sockets, not only
//! in memory.

use std::io::{Read, Write};
use std::net::TcpStream;

use getrandom::SysRng;
use hmac_handshake::multiprocessing::Config;
use hmac_handshake::{
    ClientHandshake, Confirmation, Digest, Handshake, Key, Scheme, ServerHandshake, Status,
};

use crate::multiprocessing::{
    client_echo, messages, mp_client, mp_listener, peer_handshake_bytes, serve_echo, KEY,
};
use crate::python::{
    bind, connect, echo_lines, eq, io, outcome_eq, pythons, run_matrix, Case, Expected, Python,
};

/// Drives `machine` to the end over `stream` (Nagle off), reading into a
/// 1-byte buffer and writing 1 byte at a time; checks the outcome against a
/// 3.13 peer `py`, that every byte read was consumed, and that `finish`
/// hands over the same outcome (and no session: not the native profile).
fn drive_bytewise<H: Handshake>(
    mut machine: H,
    stream: &mut TcpStream,
    py: &Python,
) -> Result<(), String> {
    io("nodelay", stream.set_nodelay(true))?;
    let mut byte = [0u8; 1];
    let (mut reads, mut writes) = (0usize, 0usize);
    loop {
        match machine.status() {
            Status::Send(bytes) => {
                let n = io("write 1 byte", stream.write(&bytes[..1]))?;
                eq("bytes written", n, 1)?;
                writes += 1;
                machine
                    .sent(n)
                    .map_err(|e| format!("sent({n}) after {writes} writes: {e:?}"))?;
            }
            Status::NeedInput => {
                let n = io("read 1 byte", stream.read(&mut byte))?;
                if n == 0 {
                    return Err(format!("peer closed after {reads} bytes"));
                }
                reads += 1;
                let used = machine.receive(&byte);
                eq("receive() of a handshake byte", used, 1)?;
            }
            Status::Done(outcome) => {
                outcome_eq("outcome", outcome, expected_outcome(py))?;
                eq("bytes read == bytes consumed", reads, outcome.consumed)?;
                let finished = machine
                    .finish()
                    .map_err(|e| format!("finish() of a done machine: {e:?}"))?;
                eq("outcome from finish()", finished.outcome, outcome)?;
                return eq("session", !finished.has_session(), true);
            }
            Status::Failed(e) => {
                return Err(format!("handshake failed after {reads} bytes: {e:?}"))
            }
            other => return Err(format!("unknown status {other:?} after {reads} bytes")),
        }
    }
}

fn expected_outcome(py: &Python) -> Expected {
    Expected {
        peer_authenticated: true,
        confirmation: Confirmation::Confirmed,
        scheme: Scheme::Multiprocessing {
            digest: Digest::Sha256,
            legacy: false,
        },
        consumed: peer_handshake_bytes(py),
    }
}

fn python_313(test: &str) -> Option<Vec<Case<'static>>> {
    let pythons = pythons(test)?;
    let Some(py) = pythons
        .iter()
        .find(|p| (p.version.0, p.version.1) == (3, 13))
    else {
        println!("{test}: skipped: no CPython 3.13 found (set PYENV_ROOT)");
        return None;
    };
    Some(vec![Case { py, variant: "" }])
}

/// `ClientHandshake` by hand against a 3.13 `Listener`, then an echo.
#[test]
fn sans_io_client_one_byte_reads_against_python_listener() {
    let test = "sans_io::sans_io_client_one_byte_reads_against_python_listener";
    let Some(cases) = python_313(test) else {
        return;
    };
    run_matrix(test, cases, |case| {
        let mut peer = mp_listener(case.py, KEY)?;
        peer.check(|peer| {
            let mut stream = connect(peer.port()?)?;
            let key = Key::new(KEY);
            // Fresh challenge bytes from the OS generator.
            let machine = ClientHandshake::new(&key, Config::new(), &mut SysRng)
                .map_err(|e| format!("ClientHandshake::new: {e:?}"))?;
            drive_bytewise(machine, &mut stream, case.py)?;
            client_echo(&mut stream, Vec::new())?;
            peer.expect_exit_after_port(0, &echo_lines(&messages()))
        })
    });
}

/// `ServerHandshake` by hand against a 3.13 `Client`, then an echo.
#[test]
fn sans_io_server_one_byte_reads_against_python_client() {
    let test = "sans_io::sans_io_server_one_byte_reads_against_python_client";
    let Some(cases) = python_313(test) else {
        return;
    };
    run_matrix(test, cases, |case| {
        let (listener, port) = bind()?;
        let mut peer = mp_client(case.py, &port, KEY, &messages())?;
        peer.check(|peer| {
            let mut stream = peer.accept(&listener)?;
            let key = Key::new(KEY);
            // Fresh challenge bytes from the OS generator.
            let machine = ServerHandshake::new(&key, Config::new(), &mut SysRng)
                .map_err(|e| format!("ServerHandshake::new: {e:?}"))?;
            drive_bytewise(machine, &mut stream, case.py)?;
            serve_echo(&mut stream, Vec::new())?;
            peer.expect_exit(0, &echo_lines(&messages()))
        })
    });
}
