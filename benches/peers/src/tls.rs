//! rustls TLS 1.3 (ring provider): client and server configs around one
//! self-signed rcgen certificate, and one handshake in memory.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

/// Both sides' configs and the name the client asks for.
pub struct Tls {
    /// TLS 1.3 only, the certificate as its only root, no resumption.
    pub client: Arc<ClientConfig>,
    /// TLS 1.3 only, the certificate, no tickets.
    pub server: Arc<ServerConfig>,
    /// `localhost`, the certificate's name.
    pub name: ServerName<'static>,
}

/// Client and server configs around one self-signed certificate of
/// `alg`, generated here (outside any timed loop).
///
/// # Panics
/// When rcgen or rustls refuse the setup (never with the algorithms here).
#[must_use]
pub fn tls_setup(alg: &'static rcgen::SignatureAlgorithm) -> Tls {
    let key = rcgen::KeyPair::generate_for(alg).expect("key pair");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let cert_der: CertificateDer<'static> = cert.der().clone();
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let mut roots = RootCertStore::empty();
    roots.add(cert_der.clone()).expect("root");
    let mut client = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every iteration is a full handshake: no resumption, no tickets.
    client.resumption = rustls::client::Resumption::disabled();
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .expect("server certificate");
    server.send_tls13_tickets = 0;
    Tls {
        client: Arc::new(client),
        server: Arc::new(server),
        name: ServerName::try_from("localhost").expect("name"),
    }
}

/// Moves everything `from` wants to write into `to`, processing it there.
pub fn pump(from: &mut rustls::Connection, to: &mut rustls::Connection, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    while from.wants_write() {
        if from.write_tls(buf).is_err() {
            return false;
        }
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        if to.read_tls(&mut rd).is_err() || to.process_new_packets().is_err() {
            return false;
        }
    }
    true
}

/// One full TLS 1.3 handshake in memory; both connections, done.
#[must_use]
pub fn tls(t: &Tls) -> Option<(rustls::Connection, rustls::Connection)> {
    let mut client: rustls::Connection = ClientConnection::new(t.client.clone(), t.name.clone())
        .ok()?
        .into();
    let mut server: rustls::Connection = ServerConnection::new(t.server.clone()).ok()?.into();
    let mut buf = Vec::with_capacity(4096);
    for _ in 0..4 {
        if !pump(&mut client, &mut server, &mut buf) || !pump(&mut server, &mut client, &mut buf) {
            return None;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Some((client, server));
        }
    }
    None
}

/// A handshake: panics unless it completes with TLS 1.3.
///
/// # Panics
/// When it does not.
pub fn check(t: &Tls) {
    let (client, _) = tls(t).expect("TLS must complete");
    assert_eq!(
        client.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}
