//! TLS and STARTTLS (SMTP, IMAP, POP3) connections to live servers, capturing the chain
//! they serve, and `check` built on them.
//!
//! - [`probe`]: one connection to one address: TCP connect, the STARTTLS dialogue
//!   ([`starttls`]), a TLS handshake that records the served chain without PKIX verification
//!   ([`tls`]), all within one timeout.
//! - [`check`]: every owner x address concurrently, behind the [`check::CheckDns`] trait.
//! - [`mx`], [`mx_report`]: `check --mx`: a mail domain as a DANE-validating sender sees it
//!   (RFC 7672 section 2.2), observation and the pure report.
//! - [`report`]: the pure part of `check`: verdicts, the exit status, text, JSON and
//!   Prometheus metrics; [`report::servers`]: the authoritative servers' signed view of an
//!   owner beside the validating resolver's.
//! - [`verdict`]: what both reports share: the status and its folding, the verdict on a
//!   probed address, the served chain judged against the records, the rendering pieces.
//! - [`testserver`]: a tiny TLS / STARTTLS server on loopback, for tests.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::cli::StartTls;

pub use crate::endpoint::{Algorithms, Protocol};

pub mod check;
pub mod endpoint;
pub mod mx;
pub mod mx_report;
pub mod report;
pub mod starttls;
pub mod testserver;
pub mod tls;
pub mod verdict;

/// Why a probe of one address failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{addr}: cannot connect: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr}: no answer within {} ({stage})", humantime::format_duration(*.timeout))]
    Timeout {
        addr: SocketAddr,
        stage: &'static str,
        timeout: Duration,
    },
    #[error("{addr}: {stage}: {source}")]
    Io {
        addr: SocketAddr,
        stage: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr}: {message}")]
    Protocol { addr: SocketAddr, message: String },
    #[error("{addr}: TLS handshake failed: {message}")]
    Tls { addr: SocketAddr, message: String },
    #[error("{0:?} is not a host name usable for SNI")]
    ServerName(String),
}

impl ProbeError {
    /// Whether the server could not be reached at all (nothing listening, no route, no
    /// answer in time), as opposed to a server that answered wrongly.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ProbeError::Connect { .. } | ProbeError::Timeout { .. }
        )
    }
}

impl Protocol {
    /// `--starttls` when given, the port's protocol otherwise.
    pub fn choose(starttls: Option<StartTls>, port: u16) -> Protocol {
        match starttls {
            Some(StartTls::Smtp) => Protocol::Smtp,
            Some(StartTls::Imap) => Protocol::Imap,
            Some(StartTls::Pop3) => Protocol::Pop3,
            Some(StartTls::None) => Protocol::Tls,
            None => Protocol::for_port(port),
        }
    }
}

impl Algorithms {
    /// Whether a signature scheme is offered.
    pub fn offers(self, scheme: rustls::SignatureScheme) -> bool {
        use rustls::SignatureScheme as S;
        match self {
            Algorithms::All => true,
            Algorithms::Ecdsa => matches!(
                scheme,
                S::ECDSA_NISTP256_SHA256 | S::ECDSA_NISTP384_SHA384 | S::ECDSA_NISTP521_SHA512
            ),
            Algorithms::Rsa => matches!(
                scheme,
                S::RSA_PKCS1_SHA256
                    | S::RSA_PKCS1_SHA384
                    | S::RSA_PKCS1_SHA512
                    | S::RSA_PSS_SHA256
                    | S::RSA_PSS_SHA384
                    | S::RSA_PSS_SHA512
            ),
        }
    }
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The whole connection: connect, dialogue and handshake.
    pub timeout: Duration,
    /// The name given in SMTP EHLO.
    pub helo: String,
    /// The signature algorithms offered in the handshake.
    pub algorithms: Algorithms,
}

impl ProbeOptions {
    pub fn new(timeout: Duration) -> Self {
        ProbeOptions {
            timeout,
            helo: "localhost".to_string(),
            algorithms: Algorithms::All,
        }
    }
}

/// What a successful probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The certificates as served (DER), leaf first.
    pub chain: Vec<Vec<u8>>,
    /// e.g. "TLSv1_3".
    pub tls_version: Option<String>,
}

/// Connect to `addr`, speak `protocol` up to TLS, handshake with SNI = `host`, and return
/// the served chain. Everything, including a polite goodbye, happens within
/// `opts.timeout`.
pub async fn probe(
    addr: SocketAddr,
    host: &str,
    protocol: Protocol,
    opts: &ProbeOptions,
) -> Result<Probed, ProbeError> {
    let deadline = Instant::now() + opts.timeout;
    let stage = Mutex::new("connect");
    let work = async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|source| ProbeError::Connect { addr, source })?;
        let _ = tcp.set_nodelay(true);
        set_stage(&stage, protocol_stage(protocol));
        let tcp = starttls::negotiate(tcp, protocol, &opts.helo)
            .await
            .map_err(|e| e.at(addr))?;
        set_stage(&stage, "TLS handshake");
        tls::handshake_offering(tcp, host, addr, opts.algorithms).await
    };
    let (probed, stream) = match tokio::time::timeout_at(deadline, work).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(ProbeError::Timeout {
                addr,
                stage: *stage.lock().unwrap_or_else(|e| e.into_inner()),
                timeout: opts.timeout,
            });
        }
    };
    // Say goodbye within what is left of the budget; the chain is already ours.
    let _ = tokio::time::timeout_at(deadline, tls::goodbye(stream, protocol)).await;
    Ok(probed)
}

fn set_stage(stage: &Mutex<&'static str>, now: &'static str) {
    *stage.lock().unwrap_or_else(|e| e.into_inner()) = now;
}

fn protocol_stage(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Smtp => "SMTP dialogue",
        Protocol::Imap => "IMAP dialogue",
        Protocol::Pop3 => "POP3 dialogue",
        Protocol::Tls => "TLS handshake",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_family_is_read_from_the_spki() {
        let family = |pem: &[u8]| Algorithms::of_spki(crate::material::parse(pem).unwrap().spki());
        let corpus = |f: &str| {
            std::fs::read(format!(
                "{}/fuzz/corpus/material/{f}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        assert_eq!(family(&corpus("ec-pub.pem")), Algorithms::Ecdsa);
        assert_eq!(family(&corpus("p384-sec1.pem")), Algorithms::Ecdsa);
        assert_eq!(family(&corpus("rsa-pub-pkcs1.pem")), Algorithms::Rsa);
        assert_eq!(family(&corpus("rsa-pkcs1.pem")), Algorithms::Rsa);
        assert_eq!(family(&corpus("ed25519.pem")), Algorithms::All);
        assert_eq!(Algorithms::of_spki(b"not a key"), Algorithms::All);
        assert!(
            Algorithms::Rsa.reaches(Algorithms::Rsa) && Algorithms::All.reaches(Algorithms::Rsa)
        );
        assert!(!Algorithms::Ecdsa.reaches(Algorithms::Rsa));
    }

    #[test]
    fn protocol_follows_the_port_unless_told() {
        assert_eq!(Protocol::for_port(25), Protocol::Smtp);
        assert_eq!(Protocol::for_port(587), Protocol::Smtp);
        assert_eq!(Protocol::for_port(143), Protocol::Imap);
        assert_eq!(Protocol::for_port(110), Protocol::Pop3);
        for p in [465, 993, 995, 443, 8443] {
            assert_eq!(Protocol::for_port(p), Protocol::Tls, "{p}");
        }
        assert_eq!(Protocol::choose(Some(StartTls::None), 25), Protocol::Tls);
        assert_eq!(Protocol::choose(Some(StartTls::Smtp), 2525), Protocol::Smtp);
        assert_eq!(Protocol::choose(Some(StartTls::Imap), 25), Protocol::Imap);
        assert_eq!(Protocol::choose(Some(StartTls::Pop3), 25), Protocol::Pop3);
        assert_eq!(Protocol::choose(None, 143), Protocol::Imap);
    }

    use testserver::{Behaviour, TestCert, TestServer};

    fn cert() -> TestCert {
        TestCert::new(&["mail.example.test"], Duration::from_secs(90 * 86400))
    }

    #[tokio::test]
    async fn probes_capture_the_chain_for_every_protocol() {
        let cert = cert();
        for (behaviour, protocol) in [
            (Behaviour::Smtp, Protocol::Smtp),
            (Behaviour::Imap, Protocol::Imap),
            (Behaviour::Pop3, Protocol::Pop3),
            (Behaviour::Tls, Protocol::Tls),
        ] {
            let srv = TestServer::start("127.0.0.1:0", behaviour, &cert)
                .await
                .unwrap();
            let got = probe(
                srv.addr,
                "mail.example.test.",
                protocol,
                &ProbeOptions::new(Duration::from_secs(5)),
            )
            .await
            .unwrap_or_else(|e| panic!("{protocol:?}: {e}"));
            assert_eq!(got.chain, cert.chain, "{protocol:?}");
            assert!(got.tls_version.is_some());
            // Give the server a moment to record the handshake.
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(
                srv.sni_seen(),
                vec![Some("mail.example.test".to_string())],
                "{protocol:?}: SNI is the host name"
            );
        }
    }

    /// A server showing someone else's certificate cannot complete the handshake: the
    /// verifier accepts any chain, but checks the handshake signature against its key.
    #[tokio::test]
    async fn impostor_without_the_private_key_fails_the_handshake() {
        let victim = cert();
        let impostor = cert();
        for (behaviour, protocol) in [
            (Behaviour::Smtp, Protocol::Smtp),
            (Behaviour::Tls, Protocol::Tls),
        ] {
            let srv = TestServer::start_impostor("127.0.0.1:0", behaviour, &victim, &impostor)
                .await
                .unwrap();
            let err = probe(
                srv.addr,
                "mail.example.test",
                protocol,
                &ProbeOptions::new(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
            assert!(
                matches!(&err, ProbeError::Tls { message, .. } if message.contains("after the server sent its certificates")),
                "{err}"
            );
            assert!(!err.is_unreachable());
        }
    }

    #[tokio::test]
    async fn probe_failures_are_classified() {
        let cert = cert();
        let opts = ProbeOptions::new(Duration::from_millis(500));
        // Nothing listens: refused at once, unreachable.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = free.local_addr().unwrap();
        drop(free);
        let err = probe(dead, "mail.example.test", Protocol::Smtp, &opts)
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::Connect { .. }), "{err}");
        assert!(err.is_unreachable());

        // A listener that never answers: timeout within the budget, unreachable.
        let silent = TestServer::start("127.0.0.1:0", Behaviour::Silent, &cert)
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let err = probe(silent.addr, "mail.example.test", Protocol::Smtp, &opts)
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(
                err,
                ProbeError::Timeout {
                    stage: "SMTP dialogue",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.is_unreachable());
        assert!(
            took >= Duration::from_millis(450) && took < Duration::from_millis(1500),
            "{took:?}"
        );

        // SMTP without STARTTLS: the server answered wrongly, not unreachable.
        let plain = TestServer::start("127.0.0.1:0", Behaviour::SmtpNoStarttls, &cert)
            .await
            .unwrap();
        let err = probe(plain.addr, "mail.example.test", Protocol::Smtp, &opts)
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::Protocol { .. }), "{err}");
        assert!(!err.is_unreachable());

        // TLS spoken to an SMTP server: the handshake fails, not unreachable.
        let smtp = TestServer::start("127.0.0.1:0", Behaviour::Smtp, &cert)
            .await
            .unwrap();
        let err = probe(smtp.addr, "mail.example.test", Protocol::Tls, &opts)
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::Tls { .. }), "{err}");
        assert!(!err.is_unreachable());
    }
}
