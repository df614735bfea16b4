//! Case 7: the sans-IO machines driven by hand over a real socket, no
//! adapter, one byte per read and one byte per write, against CPython 3.13's
//! `multiprocessing.connection`: chunking works on real sockets, not only
//! in memory.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use hmac_handshake::adapter::blocking::{recv_bytes, send_bytes};
use hmac_handshake::multiprocessing::Config;
use hmac_handshake::{
    ClientHandshake, Confirmation, Digest, Handshake, Key, Outcome, Profile, ServerHandshake,
    Status,
};

use crate::multiprocessing::{messages, peer_handshake_bytes, KEY};
use crate::python::{
    after_port, bind, connect, eq, hex, io, pythons, run_matrix, Case, Peer, Python, Script,
};

/// Challenge bytes for a machine (a test needs no CSPRNG, only fresh bytes).
fn random(len: usize) -> Vec<u8> {
    let state = RandomState::new();
    (0..len).map(|i| state.hash_one(i) as u8).collect()
}

/// Drives `machine` to the end over `stream`, reading into a 1-byte buffer
/// and writing 1 byte at a time. Returns the outcome and the number of
/// bytes read.
fn drive_bytewise<H: Handshake>(
    machine: &mut H,
    stream: &mut TcpStream,
) -> Result<(Outcome, usize), String> {
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
            Status::Done(outcome) => return Ok((outcome, reads)),
            Status::Failed(e) => {
                return Err(format!("handshake failed after {reads} bytes: {e:?}"))
            }
        }
    }
}

fn expected_outcome(py: &Python) -> Outcome {
    Outcome {
        peer_authenticated: true,
        confirmation: Confirmation::Confirmed,
        digest: Digest::Sha256,
        legacy: false,
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
        let key_hex = hex(KEY);
        let mut peer = Peer::spawn(
            case.py,
            Script::Mp,
            &["--role", "listener", "--key-hex", &key_hex],
        )?;
        peer.check(|peer| {
            let mut stream = connect(peer.port()?)?;
            io("nodelay", stream.set_nodelay(true))?;
            let key = Key::new(KEY);
            let profile = Profile::Multiprocessing(Config::default());
            let mut machine = ClientHandshake::new(&key, profile, &random(40))
                .map_err(|e| format!("ClientHandshake::new: {e:?}"))?;
            let (outcome, reads) = drive_bytewise(&mut machine, &mut stream)?;
            eq("outcome", outcome, expected_outcome(case.py))?;
            eq("bytes read == bytes consumed", reads, outcome.consumed)?;
            let mut pending = Vec::new();
            for m in messages() {
                io("send_bytes", send_bytes(&mut stream, &m))?;
                let echo = io("recv_bytes", recv_bytes(&mut stream, &mut pending, 1 << 20))?;
                eq("echo", echo.as_deref(), Some(&m[..]))?;
            }
            io("shutdown", stream.shutdown(Shutdown::Write))?;
            let fin = peer.finish()?;
            eq("peer exit code", fin.code, Some(0))?;
            let mut want = vec!["AUTH_OK".to_string()];
            want.extend(messages().iter().map(|m| format!("ECHO {}", hex(m))));
            want.push("DONE".to_string());
            eq("peer stdout after PORT", after_port(&fin.lines), &want[..])
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
        let key_hex = hex(KEY);
        let [m1, m2] = messages();
        let (m1_hex, m2_hex) = (hex(&m1), hex(&m2));
        let mut peer = Peer::spawn(
            case.py,
            Script::Mp,
            &[
                "--role",
                "client",
                "--port",
                &port,
                "--key-hex",
                &key_hex,
                "--message-hex",
                &m1_hex,
                &m2_hex,
            ],
        )?;
        peer.check(|peer| {
            let mut stream = peer.accept(&listener)?;
            io("nodelay", stream.set_nodelay(true))?;
            let key = Key::new(KEY);
            let profile = Profile::Multiprocessing(Config::default());
            let mut machine = ServerHandshake::new(&key, profile, &random(40))
                .map_err(|e| format!("ServerHandshake::new: {e:?}"))?;
            let (outcome, reads) = drive_bytewise(&mut machine, &mut stream)?;
            eq("outcome", outcome, expected_outcome(case.py))?;
            eq("bytes read == bytes consumed", reads, outcome.consumed)?;
            let mut pending = Vec::new();
            for m in [&m1, &m2] {
                let got = io("recv_bytes", recv_bytes(&mut stream, &mut pending, 1 << 20))?;
                eq("message", got.as_deref(), Some(&m[..]))?;
                io("send_bytes", send_bytes(&mut stream, m))?;
            }
            let end = io(
                "recv_bytes at the end",
                recv_bytes(&mut stream, &mut pending, 1 << 20),
            )?;
            eq("after the last echo (clean EOF)", end, None)?;
            let fin = peer.finish()?;
            eq("peer exit code", fin.code, Some(0))?;
            eq(
                "peer stdout",
                fin.lines,
                vec![
                    "AUTH_OK".to_string(),
                    format!("ECHO {m1_hex}"),
                    format!("ECHO {m2_hex}"),
                    "DONE".to_string(),
                ],
            )
        })
    });
}
