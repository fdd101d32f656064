//! A tiny TLS / STARTTLS server on loopback, for tests of the probes and of `check`
//! (no lab needed). Not used by the program itself.
//!
//! It serves a certificate chain made by [`TestCert`] and speaks just enough SMTP, IMAP or
//! POP3 to reach STARTTLS; it can also accept connections and never answer
//! ([`Behaviour::Silent`]) or answer without offering STARTTLS.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::tlsa::{Matching, TlsaRecord};

/// A leaf certificate (ECDSA P-256) issued by a throw-away CA, with its key.
pub struct TestCert {
    /// Leaf first, then the CA.
    pub chain: Vec<Vec<u8>>,
    /// The leaf's private key, PKCS#8 DER.
    pub key_pkcs8: Vec<u8>,
}

impl TestCert {
    /// A leaf for `names`, valid from a day ago for `valid_for`.
    pub fn new(names: &[&str], valid_for: Duration) -> Self {
        Self::with_key(
            names,
            valid_for,
            KeyPair::generate().expect("key generation"),
        )
    }

    /// The same with an RSA 2048 leaf key (for dual-certificate servers).
    pub fn new_rsa(names: &[&str], valid_for: Duration) -> Self {
        use aws_lc_rs::encoding::AsDer;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .expect("RSA key generation");
        let der = pair.as_der().expect("RSA key to PKCS#8");
        let key = KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(der.as_ref().to_vec()),
            &rcgen::PKCS_RSA_SHA256,
        )
        .expect("rcgen takes the RSA key");
        Self::with_key(names, valid_for, key)
    }

    fn with_key(names: &[&str], valid_for: Duration, key: KeyPair) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let epoch = date_time_ymd(1970, 1, 1);
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("static CA params");
        ca.distinguished_name
            .push(DnType::CommonName, "danerollover test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key generation"))
            .expect("self-signed CA");
        let mut leaf =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("leaf names");
        leaf.not_before = epoch + now.saturating_sub(Duration::from_secs(86400));
        leaf.not_after = epoch + now + valid_for;
        let leaf = leaf.signed_by(&key, &ca).expect("leaf signature");
        TestCert {
            chain: vec![leaf.der().to_vec(), ca.der().to_vec()],
            key_pkcs8: key.serialize_der(),
        }
    }

    /// The leaf's SubjectPublicKeyInfo (DER).
    pub fn spki(&self) -> Vec<u8> {
        X509Certificate::from_der(&self.chain[0])
            .map(|(_, c)| c.public_key().raw.to_vec())
            .expect("rcgen made this certificate")
    }

    /// The leaf key's `3 1 1` record.
    pub fn dane_ee(&self) -> TlsaRecord {
        TlsaRecord::dane_ee_spki(Matching::Sha256, &self.spki())
    }
}

/// What the server does with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// SMTP with a multi-line banner, EHLO advertising STARTTLS, STARTTLS, TLS.
    Smtp,
    /// SMTP whose EHLO reply lacks STARTTLS.
    SmtpNoStarttls,
    Imap,
    Pop3,
    /// TLS from the first byte.
    Tls,
    /// Accept the connection and never send a byte.
    Silent,
}

/// Always the same chain and key.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// An ECDSA and an RSA certificate, chosen by the signature schemes the client offers (RSA
/// only when it offers no ECDSA scheme), as a dual-certificate MTA does.
#[derive(Debug)]
struct Dual {
    ecdsa: Arc<CertifiedKey>,
    rsa: Arc<CertifiedKey>,
}

impl ResolvesServerCert for Dual {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let ecdsa = hello.signature_schemes().iter().any(|s| {
            matches!(
                s,
                rustls::SignatureScheme::ECDSA_NISTP256_SHA256
                    | rustls::SignatureScheme::ECDSA_NISTP384_SHA384
            )
        });
        Some(if ecdsa {
            self.ecdsa.clone()
        } else {
            self.rsa.clone()
        })
    }
}

fn certified(
    provider: &rustls::crypto::CryptoProvider,
    shown: &TestCert,
    key_of: &TestCert,
) -> std::io::Result<Arc<CertifiedKey>> {
    let chain: Vec<CertificateDer<'static>> = shown
        .chain
        .iter()
        .map(|c| CertificateDer::from(c.clone()))
        .collect();
    let key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            key_of.key_pkcs8.clone(),
        )))
        .map_err(std::io::Error::other)?;
    // CertifiedKey::new does not check that the key matches the certificate.
    Ok(Arc::new(CertifiedKey::new(chain, key)))
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    sni: Arc<Mutex<Vec<Option<String>>>>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Listen on `bind` (e.g. "127.0.0.1:0") and serve `cert` as `behaviour` says.
    pub async fn start(bind: &str, behaviour: Behaviour, cert: &TestCert) -> std::io::Result<Self> {
        Self::start_impostor(bind, behaviour, cert, cert).await
    }

    /// Serve `shown`'s chain while signing the handshake with `key_of`'s key: a server
    /// that copied someone's public certificate without holding its private key.
    pub async fn start_impostor(
        bind: &str,
        behaviour: Behaviour,
        shown: &TestCert,
        key_of: &TestCert,
    ) -> std::io::Result<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let resolver = Fixed(certified(&provider, shown, key_of)?);
        Self::serve_with(bind, behaviour, provider, Arc::new(resolver)).await
    }

    /// Serve `ecdsa` to clients offering ECDSA signatures and `rsa` to the others.
    pub async fn start_dual(
        bind: &str,
        behaviour: Behaviour,
        ecdsa: &TestCert,
        rsa: &TestCert,
    ) -> std::io::Result<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let resolver = Dual {
            ecdsa: certified(&provider, ecdsa, ecdsa)?,
            rsa: certified(&provider, rsa, rsa)?,
        };
        Self::serve_with(bind, behaviour, provider, Arc::new(resolver)).await
    }

    async fn serve_with(
        bind: &str,
        behaviour: Behaviour,
        provider: Arc<rustls::crypto::CryptoProvider>,
        resolver: Arc<dyn ResolvesServerCert>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let sni = Arc::new(Mutex::new(Vec::new()));
        let seen = sni.clone();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let seen = seen.clone();
                conns.spawn(async move {
                    let _ = serve(tcp, behaviour, acceptor, seen).await;
                });
            }
        });
        Ok(TestServer { addr, sni, task })
    }

    /// The SNI names the clients sent, one entry per completed handshake.
    pub fn sni_seen(&self) -> Vec<Option<String>> {
        self.sni.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    tcp: TcpStream,
    behaviour: Behaviour,
    acceptor: TlsAcceptor,
    seen: Arc<Mutex<Vec<Option<String>>>>,
) -> std::io::Result<()> {
    let mut tcp = BufReader::new(tcp);
    let mut line = String::new();
    match behaviour {
        Behaviour::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Ok(());
        }
        Behaviour::Tls => {}
        Behaviour::Smtp | Behaviour::SmtpNoStarttls => {
            tcp.get_mut()
                .write_all(b"220-test.example ESMTP\r\n220 second banner line\r\n")
                .await?;
            loop {
                line.clear();
                if tcp.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let cmd = line.trim_end().to_ascii_uppercase();
                if cmd.starts_with("EHLO") {
                    let tls = if behaviour == Behaviour::Smtp {
                        "250-STARTTLS\r\n"
                    } else {
                        ""
                    };
                    let reply =
                        format!("250-test.example\r\n250-PIPELINING\r\n{tls}250 8BITMIME\r\n");
                    tcp.get_mut().write_all(reply.as_bytes()).await?;
                } else if cmd == "STARTTLS" && behaviour == Behaviour::Smtp {
                    tcp.get_mut()
                        .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                        .await?;
                    break;
                } else if cmd == "QUIT" {
                    tcp.get_mut().write_all(b"221 bye\r\n").await?;
                    return Ok(());
                } else {
                    tcp.get_mut().write_all(b"502 5.5.2 no\r\n").await?;
                }
            }
        }
        Behaviour::Imap => {
            tcp.get_mut()
                .write_all(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
                .await?;
            tcp.read_line(&mut line).await?;
            tcp.get_mut().write_all(b"a001 OK Begin TLS\r\n").await?;
        }
        Behaviour::Pop3 => {
            tcp.get_mut().write_all(b"+OK POP3 ready\r\n").await?;
            tcp.read_line(&mut line).await?;
            tcp.get_mut().write_all(b"+OK Begin TLS\r\n").await?;
        }
    }
    let mut tls = acceptor.accept(tcp.into_inner()).await?;
    let sni = tls.get_ref().1.server_name().map(str::to_string);
    seen.lock().unwrap_or_else(|e| e.into_inner()).push(sni);
    let mut rest = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut tls, &mut rest).await;
    let _ = tls.shutdown().await;
    Ok(())
}
