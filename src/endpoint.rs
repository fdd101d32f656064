//! What a lineage's endpoints are and what they serve: the observation types the pure core
//! ([`crate::rollover`]) decides on, as [`crate::dns`]'s module root holds the DNS ones, so
//! that the core never reaches into the prober ([`crate::probe::endpoint`], which observes
//! them) and the configuration checks its `endpoints` entries with [`parse_endpoint`]
//! without reaching into it either.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

/// What is spoken before the TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// SMTP STARTTLS (RFC 3207).
    Smtp,
    /// IMAP STARTTLS (RFC 9051 6.2.1).
    Imap,
    /// POP3 STLS (RFC 2595 4).
    Pop3,
    /// TLS from the first byte (SMTPS, IMAPS, POP3S, HTTPS, ...).
    Tls,
}

impl Protocol {
    /// The protocol a port implies: 25 and 587 SMTP STARTTLS, 143 IMAP STARTTLS, 110 POP3
    /// STLS, anything else (465, 993, 995, 443, ...) TLS from the first byte.
    pub fn for_port(port: u16) -> Protocol {
        match port {
            25 | 587 => Protocol::Smtp,
            143 => Protocol::Imap,
            110 => Protocol::Pop3,
            _ => Protocol::Tls,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Tls => "tls",
        }
    }
}

/// Which signature algorithms the client offers in its TLS handshake: all of them, or only
/// one family, so that a server with an ECDSA and an RSA certificate shows each in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithms {
    /// Every scheme the crypto provider can verify.
    All,
    /// ECDSA only (P-256, P-384, P-521).
    Ecdsa,
    /// RSA only (PKCS#1 v1.5 and PSS).
    Rsa,
}

impl Algorithms {
    /// The family that makes a server present a certificate for this key (SPKI, DER): a
    /// server with an ECDSA and an RSA certificate shows the RSA one only to a client that
    /// offers RSA alone. All for other keys (Ed25519) and for what does not parse.
    pub fn of_spki(spki: &[u8]) -> Algorithms {
        use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION};
        use x509_parser::prelude::FromDer;
        match x509_parser::x509::SubjectPublicKeyInfo::from_der(spki) {
            Ok((_, k)) if k.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY => Algorithms::Ecdsa,
            Ok((_, k)) if k.algorithm.algorithm == OID_PKCS1_RSAENCRYPTION => Algorithms::Rsa,
            _ => Algorithms::All,
        }
    }

    /// Whether a server certificate for a key of family `key` answers a client offering
    /// `self` (All on either side: yes).
    pub fn reaches(self, key: Algorithms) -> bool {
        self == Algorithms::All || key == Algorithms::All || self == key
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithms::All => "all",
            Algorithms::Ecdsa => "ecdsa",
            Algorithms::Rsa => "rsa",
        }
    }
}

/// One endpoint: a host (or one address) and port, and how to speak to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The host name (lowercase, no trailing dot), sent as SNI and named in messages.
    pub host: String,
    /// A fixed address; None: every A and AAAA address of `host`.
    pub address: Option<IpAddr>,
    pub port: u16,
    pub protocol: Protocol,
    /// The signature algorithms the probe offers: the lineage's key family, so that a
    /// server with an ECDSA and an RSA certificate (two lineages at one owner) shows the
    /// probing lineage's own (All until the lineage's key is known).
    pub algorithms: Algorithms,
}

impl Endpoint {
    /// `host:port`, or `address:port (host)` for a fixed address.
    pub fn label(&self) -> String {
        match self.address {
            Some(a) => format!("{} ({})", SocketAddr::new(a, self.port), self.host),
            None => format!("{}:{}", self.host, self.port),
        }
    }
}

/// An endpoint as the configuration writes it: `"host:port"`, `"address:port"`,
/// `"[v6]:port"`, each with an optional "/smtp", "/imap", "/pop3" or "/tls".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// A host name (lowercase, no trailing dot) or an address.
    pub target: Target,
    pub port: u16,
    pub protocol: Protocol,
}

/// What an endpoint spec names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Host(String),
    Address(IpAddr),
}

/// Parse one `endpoints` entry.
pub fn parse_endpoint(text: &str) -> Result<EndpointSpec, String> {
    let (main, proto) = match text.rsplit_once('/') {
        Some((m, p)) => (m, Some(p)),
        None => (text, None),
    };
    let (host, port) = main
        .rsplit_once(':')
        .ok_or("no port; write \"host:port\", e.g. \"mail.example.com:25\"")?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or("the port is not a number from 1 to 65535")?;
    let host = host.trim();
    let target = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Target::Address(
            v6.parse()
                .map_err(|_| format!("{v6:?} is not an IPv6 address"))?,
        )
    } else if host.contains(':') {
        return Err(format!(
            "{host:?}: IPv6 addresses go in brackets, e.g. \"[::1]:25\""
        ));
    } else if let Ok(a) = host.parse::<IpAddr>() {
        Target::Address(a)
    } else {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        if h.is_empty()
            || h.contains(':')
            || !h
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            return Err(format!(
                "{host:?} is not a host name (IPv6 addresses go in brackets: \"[::1]:25\")"
            ));
        }
        Target::Host(h)
    };
    let protocol = match proto.map(str::to_ascii_lowercase).as_deref() {
        None => Protocol::for_port(port),
        Some("smtp") => Protocol::Smtp,
        Some("imap") => Protocol::Imap,
        Some("pop3") => Protocol::Pop3,
        Some("tls") => Protocol::Tls,
        Some(other) => {
            return Err(format!(
                "unknown protocol {other:?}: use smtp, imap, pop3 or tls"
            ));
        }
    };
    Ok(EndpointSpec {
        target,
        port,
        protocol,
    })
}

/// What one address of an endpoint serves, or why that is not known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Serving {
    /// The leaf certificate's SubjectPublicKeyInfo (DER, hex in JSON).
    Key {
        #[serde(with = "hex_bytes")]
        spki: Vec<u8>,
    },
    /// The probe failed: nothing listening, no answer, STARTTLS or TLS failed.
    Failed { unreachable: bool, error: String },
    /// The host has no A or AAAA record: nothing to probe.
    NoAddress,
    /// The host's addresses could not be looked up.
    LookupFailed { error: String },
}

mod hex_bytes {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
}

/// One probe: an endpoint at one address (None when there was no address to probe).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointProbe {
    pub endpoint: Endpoint,
    pub address: Option<SocketAddr>,
    pub serving: Serving,
}

impl EndpointProbe {
    /// `127.0.0.1:25 (mail.example.com)`, or `mail.example.com:25` without an address.
    pub fn label(&self) -> String {
        match self.address {
            Some(a) => format!("{a} ({})", self.endpoint.host),
            None => self.endpoint.label(),
        }
    }
}
