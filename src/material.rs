//! Certificates, chains, private keys, public keys and CSRs read from PEM or DER bytes,
//! down to the DER a TLSA record hashes (the certificate or its SubjectPublicKeyInfo).
//!
//! Pure: [`parse`] takes the bytes of one file and returns a [`Material`]; reading files is
//! the caller's business. The SubjectPublicKeyInfo derived from a private key is byte for
//! byte what `openssl pkey -pubout -outform der` prints for it, which is also what a
//! certificate for that key carries, so a next key's record can be published before any
//! certificate for it exists.

use crate::keys::{self, KeySpec};
use crate::tlsa::{Matching, Selector, TlsaRecord, Usage};

/// Why bytes are not usable material. Messages say what is wrong, not which file: the
/// caller names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaterialError {
    /// A file with nothing in it.
    #[error("empty file")]
    Empty,
    /// Neither PEM nor a DER structure this tool reads.
    #[error(
        "not a certificate, key or CSR: no PEM \"-----BEGIN ...-----\" line and not DER either"
    )]
    Unrecognized,
    /// A PEM block whose END line is missing.
    #[error(
        "truncated PEM: \"-----BEGIN {label}-----\" at line {line} has no \"-----END {label}-----\" line"
    )]
    TruncatedPem {
        /// The block's label, e.g. `CERTIFICATE`.
        label: String,
        /// The line of the BEGIN line (1-based).
        line: usize,
    },
    /// A PEM block whose body is not base64.
    #[error("PEM block \"{label}\" at line {line} is not valid base64")]
    BadBase64 {
        /// The block's label.
        label: String,
        /// The line of the BEGIN line (1-based).
        line: usize,
    },
    /// A PEM block whose DER content does not parse.
    #[error("{what} at line {line} is not valid DER ({detail})")]
    BadDer {
        /// What the block claims to be (its label).
        what: String,
        /// The line of the BEGIN line (1-based), 1 for DER files.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// A PEM file without any block this tool reads.
    #[error("no certificate, private key, public key or CSR in the file (PEM blocks found: {0})")]
    NothingUsable(String),
    /// A private key protected by a passphrase.
    #[error("encrypted private key: decrypt it first, e.g. `openssl pkey -in FILE -out PLAIN.pem`")]
    Encrypted,
    /// More than one key, public key or CSR (and no certificate).
    #[error("more than one key or CSR in the file ({0}): give each in a file of its own")]
    Ambiguous(String),
    /// A key algorithm outside RSA, ECDSA P-256/P-384/P-521 and Ed25519.
    #[error("unsupported key type: {0} (supported: RSA, ECDSA P-256, P-384, P-521, Ed25519)")]
    UnsupportedKey(String),
    /// A SubjectPublicKeyInfo that does not parse.
    #[error("malformed public key: {0}")]
    BadPublicKey(String),
    /// Selector 0 (full certificate) asked of a key, public key or CSR.
    #[error(
        "a {0} has no certificate: selector 0 (full certificate) needs one; use --selector 1 (SubjectPublicKeyInfo)"
    )]
    NeedsCertificate(&'static str),
    /// `--depth` beyond the certificates in the file.
    #[error("--depth {depth} is out of range: the file has {count} certificate(s) (depth 0 to {last})", last = count.saturating_sub(1))]
    DepthOutOfRange {
        /// The depth asked for.
        depth: usize,
        /// How many certificates there are (1 for keys and CSRs).
        count: usize,
    },
}

/// One certificate: its DER and the DER of its SubjectPublicKeyInfo, as carried in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    /// The whole certificate (selector 0).
    pub der: Vec<u8>,
    /// Its SubjectPublicKeyInfo (selector 1), byte for byte as in the certificate.
    pub spki: Vec<u8>,
}

impl Cert {
    /// Parse one DER certificate (trailing bytes are an error).
    pub fn from_der(der: &[u8]) -> Result<Cert, String> {
        let (cert, rest) = der::read(der).ok_or("not a DER structure")?;
        if !rest.is_empty() {
            return Err("trailing bytes after the certificate".into());
        }
        let spki = cert_spki(&cert)?;
        Ok(Cert {
            der: cert.raw.to_vec(),
            spki: spki.to_vec(),
        })
    }
}

/// The private key formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// `PRIVATE KEY` (PKCS#8 PrivateKeyInfo, RFC 5208/5958).
    Pkcs8,
    /// `RSA PRIVATE KEY` (PKCS#1 RSAPrivateKey).
    Pkcs1,
    /// `EC PRIVATE KEY` (SEC1 ECPrivateKey, RFC 5915).
    Sec1,
}

/// What one file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// One or more certificates, in file order (the leaf first in a certbot fullchain).
    Certs(Vec<Cert>),
    /// A private key, with the SubjectPublicKeyInfo of its public key.
    PrivateKey {
        /// The public key's SubjectPublicKeyInfo, as a certificate for the key carries it.
        spki: Vec<u8>,
        /// The format the key was read from.
        format: KeyFormat,
    },
    /// A public key (`PUBLIC KEY` SubjectPublicKeyInfo or `RSA PUBLIC KEY`).
    PublicKey {
        /// The SubjectPublicKeyInfo.
        spki: Vec<u8>,
    },
    /// A certificate signing request.
    Csr {
        /// The SubjectPublicKeyInfo the request carries.
        spki: Vec<u8>,
    },
}

impl Material {
    /// What this is, for messages: "certificate", "private key", "public key", "CSR".
    pub fn kind(&self) -> &'static str {
        match self {
            Material::Certs(_) => "certificate",
            Material::PrivateKey { .. } => "private key",
            Material::PublicKey { .. } => "public key",
            Material::Csr { .. } => "CSR",
        }
    }

    /// The certificates (empty for keys and CSRs).
    pub fn certs(&self) -> &[Cert] {
        match self {
            Material::Certs(c) => c,
            _ => &[],
        }
    }

    /// The SubjectPublicKeyInfo of the key, public key or CSR, or of the first certificate.
    pub fn spki(&self) -> &[u8] {
        match self {
            // parse() never returns an empty chain.
            Material::Certs(c) => c.first().map(|c| c.spki.as_slice()).unwrap_or(&[]),
            Material::PrivateKey { spki, .. }
            | Material::PublicKey { spki }
            | Material::Csr { spki } => spki,
        }
    }

    /// The DER a record of this usage and selector hashes. Usages 3 and 1 take the first
    /// certificate (the leaf), usages 2 and 0 the last one (the top of the chain as given);
    /// `depth` picks the N-th certificate instead (0 = first). Keys, public keys and CSRs
    /// only have selector 1. The key of the chosen item must be of a supported type.
    pub fn der_for(
        &self,
        usage: Usage,
        selector: Selector,
        depth: Option<usize>,
    ) -> Result<&[u8], MaterialError> {
        let (der, spki) = match self {
            Material::Certs(certs) => {
                let index = match depth {
                    Some(d) => d,
                    None if usage.is_trust_anchor() => certs.len().saturating_sub(1),
                    None => 0,
                };
                let cert = certs.get(index).ok_or(MaterialError::DepthOutOfRange {
                    depth: index,
                    count: certs.len(),
                })?;
                let der = match selector {
                    Selector::Cert => cert.der.as_slice(),
                    Selector::Spki => cert.spki.as_slice(),
                };
                (der, cert.spki.as_slice())
            }
            other => {
                if let Some(d) = depth.filter(|d| *d > 0) {
                    return Err(MaterialError::DepthOutOfRange { depth: d, count: 1 });
                }
                if selector == Selector::Cert {
                    return Err(MaterialError::NeedsCertificate(other.kind()));
                }
                (other.spki(), other.spki())
            }
        };
        spec_of(spki)?;
        Ok(der)
    }

    /// The TLSA record of this material (see [`Material::der_for`] for which DER).
    pub fn tlsa(
        &self,
        usage: Usage,
        selector: Selector,
        matching: Matching,
        depth: Option<usize>,
    ) -> Result<TlsaRecord, MaterialError> {
        let der = self.der_for(usage, selector, depth)?;
        Ok(TlsaRecord::compute(usage, selector, matching, der))
    }

    /// The key type of [`Material::spki`].
    pub fn key_spec(&self) -> Result<KeySpec, MaterialError> {
        spec_of(self.spki())
    }
}

fn spec_of(spki: &[u8]) -> Result<KeySpec, MaterialError> {
    keys::spec_of_spki(spki).map_err(|e| match e {
        keys::KeyError::Unsupported(a) => MaterialError::UnsupportedKey(a),
        other => MaterialError::BadPublicKey(other.to_string()),
    })
}

/// Read certificates, a private key, a public key or a CSR from the bytes of one file: PEM
/// (any number of blocks, text around them ignored) or DER (certificates, a CSR, a
/// SubjectPublicKeyInfo or a PKCS#8, PKCS#1 or SEC1 private key). When a PEM file holds certificates and
/// a key (as some servers want them), the certificates count.
pub fn parse(bytes: &[u8]) -> Result<Material, MaterialError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(MaterialError::Empty);
    }
    if contains(bytes, b"-----BEGIN ") {
        parse_pem_file(bytes)
    } else {
        parse_der_file(bytes)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One PEM block: label, 1-based line of its BEGIN line, decoded body.
struct PemBlock {
    label: String,
    line: usize,
    der: Vec<u8>,
    encrypted: bool,
}

/// Split text into PEM blocks. Text outside blocks is ignored (openssl does the same);
/// a BEGIN without its END is an error.
fn pem_blocks(bytes: &[u8]) -> Result<Vec<PemBlock>, MaterialError> {
    let mut blocks = Vec::new();
    let mut lines = bytes.split(|b| *b == b'\n').enumerate();
    while let Some((n, raw)) = lines.next() {
        let line = trim_ascii(raw);
        let Some(label) = line
            .strip_prefix(b"-----BEGIN ")
            .and_then(|l| l.strip_suffix(b"-----"))
        else {
            continue;
        };
        let label = String::from_utf8_lossy(label).into_owned();
        let end = format!("-----END {label}-----");
        let mut body = Vec::new();
        let mut headers_done = false;
        let mut encrypted = false;
        let mut closed = false;
        for (_, raw) in lines.by_ref() {
            let l = trim_ascii(raw);
            if l == end.as_bytes() {
                closed = true;
                break;
            }
            if l.starts_with(b"-----") {
                // Another BEGIN (or a wrong END) before this block's END.
                break;
            }
            if !headers_done && contains(l, b":") {
                // RFC 1421 headers (legacy encrypted keys: Proc-Type: 4,ENCRYPTED).
                if contains(l, b"ENCRYPTED") {
                    encrypted = true;
                }
                continue;
            }
            if !l.is_empty() {
                headers_done = true;
            }
            body.extend_from_slice(l);
        }
        if !closed {
            return Err(MaterialError::TruncatedPem { label, line: n + 1 });
        }
        let der = base64_decode(&body).ok_or_else(|| MaterialError::BadBase64 {
            label: label.clone(),
            line: n + 1,
        })?;
        blocks.push(PemBlock {
            label,
            line: n + 1,
            der,
            encrypted,
        });
    }
    Ok(blocks)
}

fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn parse_pem_file(bytes: &[u8]) -> Result<Material, MaterialError> {
    let blocks = pem_blocks(bytes)?;
    let mut certs = Vec::new();
    let mut others: Vec<Material> = Vec::new();
    let mut other_labels = Vec::new();
    let mut seen = Vec::new();
    for b in &blocks {
        seen.push(b.label.clone());
        let bad = |detail: String| MaterialError::BadDer {
            what: b.label.clone(),
            line: b.line,
            detail,
        };
        match b.label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" => {
                certs.push(Cert::from_der(&b.der).map_err(bad)?);
            }
            "TRUSTED CERTIFICATE" => {
                // OpenSSL's X509_AUX: the certificate followed by trust settings.
                let (cert, _) = der::read(&b.der).ok_or_else(|| bad("not DER".into()))?;
                certs.push(Cert::from_der(cert.raw).map_err(bad)?);
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                if b.encrypted {
                    return Err(MaterialError::Encrypted);
                }
                let (spki, format) = match b.label.as_str() {
                    "PRIVATE KEY" => (
                        spki_of_pkcs8(&b.der).map_err(|e| e.or_bad(&bad))?,
                        KeyFormat::Pkcs8,
                    ),
                    "RSA PRIVATE KEY" => (
                        spki_of_pkcs1_private(&b.der).map_err(bad)?,
                        KeyFormat::Pkcs1,
                    ),
                    _ => (
                        spki_of_sec1(&b.der, None).map_err(|e| e.or_bad(&bad))?,
                        KeyFormat::Sec1,
                    ),
                };
                others.push(Material::PrivateKey { spki, format });
                other_labels.push(b.label.clone());
            }
            "ENCRYPTED PRIVATE KEY" => return Err(MaterialError::Encrypted),
            "PUBLIC KEY" => {
                let spki = spki_checked(&b.der).map_err(bad)?;
                others.push(Material::PublicKey { spki });
                other_labels.push(b.label.clone());
            }
            "RSA PUBLIC KEY" => {
                let spki = spki_of_pkcs1_public(&b.der).map_err(bad)?;
                others.push(Material::PublicKey { spki });
                other_labels.push(b.label.clone());
            }
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
                let spki = csr_spki(&b.der).map_err(bad)?;
                others.push(Material::Csr { spki });
                other_labels.push(b.label.clone());
            }
            "DSA PRIVATE KEY" => return Err(MaterialError::UnsupportedKey("DSA".into())),
            "OPENSSH PRIVATE KEY" => {
                return Err(MaterialError::UnsupportedKey(
                    "an OpenSSH private key (convert it: ssh-keygen -p -m PKCS8 -f FILE)".into(),
                ));
            }
            _ => {} // EC PARAMETERS, DH PARAMETERS, ...: not ours, ignored.
        }
    }
    if !certs.is_empty() {
        return Ok(Material::Certs(certs));
    }
    match others.len() {
        0 => Err(MaterialError::NothingUsable(if seen.is_empty() {
            "none".into()
        } else {
            seen.join(", ")
        })),
        1 => Ok(others.remove(0)),
        _ => Err(MaterialError::Ambiguous(other_labels.join(", "))),
    }
}

/// DER: certificates (one or more, concatenated), or one CSR, SubjectPublicKeyInfo or
/// private key (PKCS#8, PKCS#1 or SEC1).
fn parse_der_file(bytes: &[u8]) -> Result<Material, MaterialError> {
    let Some((first, _)) = der::read(bytes) else {
        return Err(MaterialError::Unrecognized);
    };
    if first.tag != der::SEQUENCE {
        return Err(MaterialError::Unrecognized);
    }
    // Certificates.
    let mut certs = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match der::read(rest).map(|(tlv, r)| (cert_spki(&tlv).map(|s| (tlv, s)), r)) {
            Some((Ok((tlv, spki)), r)) => {
                certs.push(Cert {
                    der: tlv.raw.to_vec(),
                    spki: spki.to_vec(),
                });
                rest = r;
            }
            _ => break,
        }
    }
    if !certs.is_empty() {
        if !rest.is_empty() && !rest.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
            return Err(MaterialError::BadDer {
                what: "DER certificate file".into(),
                line: 1,
                detail: format!(
                    "{} unparsable byte(s) after certificate {}",
                    rest.len(),
                    certs.len()
                ),
            });
        }
        return Ok(Material::Certs(certs));
    }
    if der::read(bytes).is_some_and(|(_, r)| !r.is_empty()) {
        return Err(MaterialError::Unrecognized);
    }
    if let Ok(spki) = csr_spki(bytes) {
        return Ok(Material::Csr { spki });
    }
    if let Ok(spki) = spki_checked(bytes) {
        return Ok(Material::PublicKey { spki });
    }
    match spki_of_pkcs8(bytes) {
        Ok(spki) => {
            return Ok(Material::PrivateKey {
                spki,
                format: KeyFormat::Pkcs8,
            });
        }
        Err(KeyParseError::Unsupported(a)) => return Err(MaterialError::UnsupportedKey(a)),
        Err(KeyParseError::Bad(_)) => {}
    }
    // Traditional DER keys (what `openssl pkey -outform der` writes for RSA and EC keys):
    // told apart by their shapes.
    let (seq, _) = der::read(bytes).ok_or(MaterialError::Unrecognized)?;
    let items = der::items(seq.value).ok_or(MaterialError::Unrecognized)?;
    let ints = items.iter().take_while(|t| t.tag == der::INTEGER).count();
    if ints == items.len() && ints >= 9 && items[0].value == [0] {
        return spki_of_pkcs1_private(bytes)
            .map(|spki| Material::PrivateKey {
                spki,
                format: KeyFormat::Pkcs1,
            })
            .map_err(|_| MaterialError::Unrecognized);
    }
    if let [version, scalar, ..] = items.as_slice()
        && version.tag == der::INTEGER
        && version.value == [1]
        && scalar.tag == der::OCTET_STRING
    {
        return match spki_of_sec1(bytes, None) {
            Ok(spki) => Ok(Material::PrivateKey {
                spki,
                format: KeyFormat::Sec1,
            }),
            Err(KeyParseError::Unsupported(a)) => Err(MaterialError::UnsupportedKey(a)),
            Err(KeyParseError::Bad(_)) => Err(MaterialError::Unrecognized),
        };
    }
    Err(MaterialError::Unrecognized)
}

/// A key that did not parse: bad DER, or a well-formed key of a type we do not support.
enum KeyParseError {
    Bad(String),
    Unsupported(String),
}

impl KeyParseError {
    fn or_bad(self, bad: &dyn Fn(String) -> MaterialError) -> MaterialError {
        match self {
            KeyParseError::Bad(d) => bad(d),
            KeyParseError::Unsupported(a) => MaterialError::UnsupportedKey(a),
        }
    }
}

impl From<String> for KeyParseError {
    fn from(s: String) -> Self {
        KeyParseError::Bad(s)
    }
}

impl From<&str> for KeyParseError {
    fn from(s: &str) -> Self {
        KeyParseError::Bad(s.to_string())
    }
}

/// The SubjectPublicKeyInfo inside a DER certificate (`Certificate` -> `tbsCertificate`).
fn cert_spki<'a>(cert: &der::Tlv<'a>) -> Result<&'a [u8], String> {
    if cert.tag != der::SEQUENCE {
        return Err("a certificate is a SEQUENCE".into());
    }
    let items = der::items(cert.value).ok_or("malformed certificate")?;
    let [tbs, sig_alg, sig] = items.as_slice() else {
        return Err("a certificate has three parts (to-be-signed, algorithm, signature)".into());
    };
    if tbs.tag != der::SEQUENCE || sig_alg.tag != der::SEQUENCE || sig.tag != der::BIT_STRING {
        return Err("malformed certificate".into());
    }
    let fields = der::items(tbs.value).ok_or("malformed to-be-signed certificate")?;
    // [0] version is optional; then serial, signature, issuer, validity, subject, spki.
    let skip = usize::from(fields.first().is_some_and(|f| f.tag == 0xa0));
    let spki = fields
        .get(skip + 5)
        .ok_or("too few fields in the certificate")?;
    let serial = fields.get(skip).ok_or("too few fields")?;
    if serial.tag != der::INTEGER {
        return Err("the serial number is not an INTEGER".into());
    }
    check_spki_shape(spki)?;
    Ok(spki.raw)
}

/// The SubjectPublicKeyInfo inside a DER PKCS#10 certification request.
fn csr_spki(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (req, rest) = der::read(bytes).ok_or("not DER")?;
    if !rest.is_empty() || req.tag != der::SEQUENCE {
        return Err("not a certification request".into());
    }
    let items = der::items(req.value).ok_or("malformed certification request")?;
    let [info, sig_alg, sig] = items.as_slice() else {
        return Err("a certification request has three parts".into());
    };
    if info.tag != der::SEQUENCE || sig_alg.tag != der::SEQUENCE || sig.tag != der::BIT_STRING {
        return Err("malformed certification request".into());
    }
    let fields = der::items(info.value).ok_or("malformed certification request info")?;
    // version, subject, subjectPKInfo, [0] attributes
    match fields.as_slice() {
        [version, subject, spki, ..]
            if version.tag == der::INTEGER && subject.tag == der::SEQUENCE =>
        {
            check_spki_shape(spki)?;
            Ok(spki.raw.to_vec())
        }
        _ => Err("malformed certification request info".into()),
    }
}

/// A DER SubjectPublicKeyInfo on its own (a `PUBLIC KEY` block).
fn spki_checked(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (spki, rest) = der::read(bytes).ok_or("not DER")?;
    if !rest.is_empty() {
        return Err("trailing bytes after the public key".into());
    }
    check_spki_shape(&spki)?;
    Ok(spki.raw.to_vec())
}

/// SEQUENCE { SEQUENCE { OID, params? }, BIT STRING }.
fn check_spki_shape(spki: &der::Tlv<'_>) -> Result<(), String> {
    let bad = || "malformed SubjectPublicKeyInfo".to_string();
    if spki.tag != der::SEQUENCE {
        return Err(bad());
    }
    let items = der::items(spki.value).ok_or_else(bad)?;
    match items.as_slice() {
        [alg, key] if alg.tag == der::SEQUENCE && key.tag == der::BIT_STRING => {
            let alg_items = der::items(alg.value).ok_or_else(bad)?;
            match alg_items.first() {
                Some(oid) if oid.tag == der::OID && alg_items.len() <= 2 => Ok(()),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// The SubjectPublicKeyInfo of a PKCS#8 PrivateKeyInfo / OneAsymmetricKey.
fn spki_of_pkcs8(bytes: &[u8]) -> Result<Vec<u8>, KeyParseError> {
    let (pki, rest) = der::read(bytes).ok_or("not DER")?;
    if !rest.is_empty() || pki.tag != der::SEQUENCE {
        return Err("not a PKCS#8 private key".into());
    }
    let items = der::items(pki.value).ok_or("malformed PKCS#8 private key")?;
    let [version, alg, key, optional @ ..] = items.as_slice() else {
        return Err("a PKCS#8 private key has at least three parts".into());
    };
    if version.tag != der::INTEGER || alg.tag != der::SEQUENCE || key.tag != der::OCTET_STRING {
        return Err("malformed PKCS#8 private key".into());
    }
    let alg_items = der::items(alg.value).ok_or("malformed algorithm identifier")?;
    let oid = alg_items
        .first()
        .filter(|o| o.tag == der::OID)
        .ok_or("malformed algorithm identifier")?;
    match oid.value {
        der::OID_RSA => spki_of_pkcs1_private(key.value).map_err(KeyParseError::Bad),
        der::OID_EC => {
            let curve = match alg_items.get(1) {
                Some(p) if p.tag == der::OID => Some(p.value),
                Some(_) => {
                    return Err(KeyParseError::Unsupported(
                        "ECDSA with explicit curve parameters".into(),
                    ));
                }
                None => None,
            };
            spki_of_sec1(key.value, curve)
        }
        der::OID_ED25519 => {
            // [1] publicKey (PKCS#8 v2) when present, else derived from the seed.
            if let Some(public) = optional.iter().find(|t| t.tag == 0x81) {
                match public.value {
                    [0, key @ ..] if key.len() == 32 => return Ok(ed25519_spki(key)),
                    _ => return Err("malformed Ed25519 public key".into()),
                }
            }
            let (seed, _) = der::read(key.value).ok_or("malformed Ed25519 private key")?;
            if seed.tag != der::OCTET_STRING || seed.value.len() != 32 {
                return Err("malformed Ed25519 private key".into());
            }
            let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(seed.value)
                .map_err(|e| KeyParseError::Bad(format!("Ed25519 key rejected: {e}")))?;
            use aws_lc_rs::signature::KeyPair;
            Ok(ed25519_spki(pair.public_key().as_ref()))
        }
        other => Err(KeyParseError::Unsupported(der::oid_name(other))),
    }
}

/// The SubjectPublicKeyInfo of a PKCS#1 RSAPrivateKey.
fn spki_of_pkcs1_private(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (key, _) = der::read(bytes).ok_or("not DER")?;
    if key.tag != der::SEQUENCE {
        return Err("not an RSA private key".into());
    }
    let items = der::items(key.value).ok_or("malformed RSA private key")?;
    match items.as_slice() {
        [version, n, e, ..] if [version.tag, n.tag, e.tag] == [der::INTEGER; 3] => {
            Ok(rsa_spki(n.value, e.value))
        }
        _ => Err("malformed RSA private key".into()),
    }
}

/// The SubjectPublicKeyInfo of a PKCS#1 RSAPublicKey.
fn spki_of_pkcs1_public(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (key, rest) = der::read(bytes).ok_or("not DER")?;
    if key.tag != der::SEQUENCE || !rest.is_empty() {
        return Err("not an RSA public key".into());
    }
    let items = der::items(key.value).ok_or("malformed RSA public key")?;
    match items.as_slice() {
        [n, e] if n.tag == der::INTEGER && e.tag == der::INTEGER => Ok(rsa_spki(n.value, e.value)),
        _ => Err("malformed RSA public key".into()),
    }
}

/// The SubjectPublicKeyInfo of a SEC1 ECPrivateKey; `curve` is the named curve OID from
/// the PKCS#8 wrapper when there is one.
fn spki_of_sec1(bytes: &[u8], curve: Option<&[u8]>) -> Result<Vec<u8>, KeyParseError> {
    let (key, _) = der::read(bytes).ok_or("not DER")?;
    if key.tag != der::SEQUENCE {
        return Err("not an EC private key".into());
    }
    let items = der::items(key.value).ok_or("malformed EC private key")?;
    let [version, scalar, optional @ ..] = items.as_slice() else {
        return Err("malformed EC private key".into());
    };
    if version.tag != der::INTEGER || scalar.tag != der::OCTET_STRING {
        return Err("malformed EC private key".into());
    }
    let mut curve = curve;
    let mut public = None;
    for field in optional {
        match field.tag {
            0xa0 => {
                let (params, _) = der::read(field.value).ok_or("malformed EC parameters")?;
                if params.tag != der::OID {
                    return Err(KeyParseError::Unsupported(
                        "ECDSA with explicit curve parameters".into(),
                    ));
                }
                curve = curve.or(Some(params.value));
            }
            0xa1 => {
                let (bits, _) = der::read(field.value).ok_or("malformed EC public key")?;
                match bits.value {
                    [0, point @ ..] if bits.tag == der::BIT_STRING && !point.is_empty() => {
                        public = Some(point)
                    }
                    _ => return Err("malformed EC public key".into()),
                }
            }
            _ => {}
        }
    }
    let curve = curve.ok_or("EC private key without its curve")?;
    let alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm = match curve {
        der::OID_P256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        der::OID_P384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        der::OID_P521 => &aws_lc_rs::signature::ECDSA_P521_SHA512_ASN1_SIGNING,
        other => {
            return Err(KeyParseError::Unsupported(format!(
                "ECDSA on curve {}",
                der::oid_name(other)
            )));
        }
    };
    let point = match public {
        // As openssl does: the public key the file carries.
        Some(p) => p.to_vec(),
        None => {
            // Derive it from the private scalar.
            let sec1 = der::encode(
                der::SEQUENCE,
                &[
                    version.raw,
                    scalar.raw,
                    &der::encode(0xa0, &der::encode(der::OID, curve)),
                ]
                .concat(),
            );
            let pair = aws_lc_rs::signature::EcdsaKeyPair::from_private_key_der(alg, &sec1)
                .map_err(|e| KeyParseError::Bad(format!("EC key rejected: {e}")))?;
            use aws_lc_rs::signature::KeyPair;
            pair.public_key().as_ref().to_vec()
        }
    };
    Ok(ec_spki(curve, &point))
}

/// SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { RSAPublicKey } }.
fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let public = der::encode(der::SEQUENCE, &[der::integer(n), der::integer(e)].concat());
    let alg = der::encode(
        der::SEQUENCE,
        &[der::encode(der::OID, der::OID_RSA), vec![der::NULL, 0]].concat(),
    );
    spki(&alg, &public)
}

/// SEQUENCE { SEQUENCE { id-ecPublicKey, curve }, BIT STRING { point } }.
fn ec_spki(curve: &[u8], point: &[u8]) -> Vec<u8> {
    let alg = der::encode(
        der::SEQUENCE,
        &[
            der::encode(der::OID, der::OID_EC),
            der::encode(der::OID, curve),
        ]
        .concat(),
    );
    spki(&alg, point)
}

/// SEQUENCE { SEQUENCE { id-Ed25519 }, BIT STRING { key } }.
fn ed25519_spki(public: &[u8]) -> Vec<u8> {
    let alg = der::encode(der::SEQUENCE, &der::encode(der::OID, der::OID_ED25519));
    spki(&alg, public)
}

fn spki(alg: &[u8], key: &[u8]) -> Vec<u8> {
    let bits = der::encode(der::BIT_STRING, &[&[0u8][..], key].concat());
    der::encode(der::SEQUENCE, &[alg, &bits[..]].concat())
}

/// Strict base64 (RFC 4648 alphabet, `=` padding), white space ignored.
pub(crate) fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut padding = 0;
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // Leftover bits must be the padding's zero bits.
    if bits >= 6 || padding > 2 || (acc & ((1 << bits) - 1)) != 0 {
        return None;
    }
    Some(out)
}

/// Base64 with `=` padding, in lines of 64 characters each ending in `\n` (PEM bodies).
pub(crate) fn base64_pem_body(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 48 + 4);
    let mut col = 0;
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            let c = if i <= chunk.len() {
                ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            };
            out.push(c);
        }
        col += 4;
        if col == 64 {
            out.push('\n');
            col = 0;
        }
    }
    if col != 0 {
        out.push('\n');
    }
    out
}

/// A minimal DER reader and writer: enough for certificates, keys and CSRs.
pub(crate) mod der {
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;

    /// 1.2.840.113549.1.1.1 rsaEncryption
    pub const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// 1.2.840.10045.2.1 id-ecPublicKey
    pub const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// 1.2.840.10045.3.1.7 prime256v1 (P-256)
    pub const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// 1.3.132.0.34 secp384r1 (P-384)
    pub const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// 1.3.132.0.35 secp521r1 (P-521)
    pub const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
    /// 1.3.101.112 id-Ed25519
    pub const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

    /// One TLV: its tag, its content, and all its bytes.
    #[derive(Debug, Clone, Copy)]
    pub struct Tlv<'a> {
        pub tag: u8,
        pub value: &'a [u8],
        pub raw: &'a [u8],
    }

    /// Read one definite-length TLV with a one-byte tag; None when malformed.
    pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
        let (&tag, rest) = input.split_first()?;
        if tag & 0x1f == 0x1f {
            return None; // high tag numbers: not used by what we read
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None; // indefinite or absurd length
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | usize::from(b);
            }
            // DER: the shortest form.
            if len < 0x80 || (n > 1 && rest[0] == 0) {
                return None;
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        let header = input.len() - rest.len();
        let (value, after) = rest.split_at(len);
        Some((
            Tlv {
                tag,
                value,
                raw: &input[..header + len],
            },
            after,
        ))
    }

    /// The TLVs making up a constructed value; None when any is malformed.
    pub fn items(mut input: &[u8]) -> Option<Vec<Tlv<'_>>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (tlv, rest) = read(input)?;
            out.push(tlv);
            input = rest;
        }
        Some(out)
    }

    /// Encode a TLV.
    pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = Vec::with_capacity(len + 6);
        out.push(tag);
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// A non-negative INTEGER from its content bytes, re-encoded minimally.
    pub fn integer(content: &[u8]) -> Vec<u8> {
        let mut c = content;
        while c.len() > 1 && c[0] == 0 && c[1] & 0x80 == 0 {
            c = &c[1..];
        }
        encode(INTEGER, c)
    }

    /// The number of significant bits of an unsigned big-endian integer.
    pub fn bit_length(content: &[u8]) -> u32 {
        let c: &[u8] = {
            let skip = content.iter().take_while(|b| **b == 0).count();
            &content[skip..]
        };
        match c.first() {
            None => 0,
            Some(&b) => (c.len() as u32 - 1) * 8 + (8 - b.leading_zeros()),
        }
    }

    /// An OID's dotted form (or a known name) for messages.
    pub fn oid_name(oid: &[u8]) -> String {
        let known = [
            (&[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01][..], "DSA"),
            (
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a][..],
                "RSASSA-PSS",
            ),
            (&[0x2b, 0x65, 0x71][..], "Ed448"),
            (&[0x2b, 0x65, 0x6e][..], "X25519"),
            (&[0x2b, 0x65, 0x6f][..], "X448"),
            (&[0x2b, 0x81, 0x04, 0x00, 0x0a][..], "secp256k1"),
            (
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x03, 0x01][..],
                "DH",
            ),
            (
                &[0x2a, 0x85, 0x03, 0x02, 0x02, 0x13][..],
                "GOST R 34.10-2001",
            ),
            (&[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d][..], "SM2"),
        ];
        if let Some((_, name)) = known.iter().find(|(o, _)| *o == oid) {
            return (*name).to_string();
        }
        let mut parts = Vec::new();
        let mut value: u64 = 0;
        for (i, &b) in oid.iter().enumerate() {
            value = (value << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                if parts.is_empty() {
                    let (a, b) = if value < 80 {
                        (value / 40, value % 40)
                    } else {
                        (2, value - 80)
                    };
                    parts.push(a);
                    parts.push(b);
                } else {
                    parts.push(value);
                }
                value = 0;
            } else if i + 1 == oid.len() || value > u64::MAX >> 7 {
                return "a malformed OID".into();
            }
        }
        let dotted: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        format!("OID {}", dotted.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_strictness() {
        for len in 0..70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64_pem_body(&data);
            assert!(text.lines().all(|l| l.len() <= 64));
            assert_eq!(base64_decode(text.as_bytes()), Some(data));
        }
        assert_eq!(base64_decode(b"QUJD"), Some(b"ABC".to_vec()));
        assert_eq!(base64_decode(b"QUI="), Some(b"AB".to_vec()));
        assert_eq!(base64_decode(b"QQ=="), Some(b"A".to_vec()));
        assert_eq!(base64_decode(b"QR=="), None, "non-zero padding bits");
        assert_eq!(base64_decode(b"Q"), None);
        assert_eq!(base64_decode(b"QQ==QQ=="), None);
        assert_eq!(base64_decode(b"QU!D"), None);
    }

    #[test]
    fn der_read_rejects_malformed_lengths() {
        assert!(der::read(&[0x30, 0x03, 1, 2]).is_none(), "short content");
        assert!(
            der::read(&[0x30, 0x80, 0, 0]).is_none(),
            "indefinite length"
        );
        assert!(
            der::read(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5]).is_none(),
            "non-minimal length"
        );
        let (t, rest) = der::read(&[0x04, 0x02, 9, 8, 7]).unwrap();
        assert_eq!((t.tag, t.value, rest), (0x04, &[9u8, 8][..], &[7u8][..]));
        let long = der::encode(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(der::read(&long).unwrap().0.value.len(), 300);
    }

    #[test]
    fn der_integers_and_bit_lengths() {
        assert_eq!(der::integer(&[0, 0, 0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der::integer(&[0, 0x7f]), vec![0x02, 0x01, 0x7f]);
        assert_eq!(der::bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(der::bit_length(&[0x01, 0x00, 0x01]), 17);
        assert_eq!(der::bit_length(&[]), 0);
        assert_eq!(der::oid_name(&[0x2b, 0x81, 0x04, 0x00, 0x0a]), "secp256k1");
        assert_eq!(der::oid_name(&[0x2a, 0x03]), "OID 1.2.3");
    }

    #[test]
    fn empty_and_garbage_inputs_are_errors() {
        assert_eq!(parse(b""), Err(MaterialError::Empty));
        assert_eq!(parse(b" \n\t"), Err(MaterialError::Empty));
        assert_eq!(parse(b"hello world"), Err(MaterialError::Unrecognized));
        assert_eq!(
            parse(&[0x30, 0x03, 0x02, 0x01, 0x01]),
            Err(MaterialError::Unrecognized)
        );
        assert!(matches!(
            parse(b"-----BEGIN CERTIFICATE-----\nMIIB\n"),
            Err(MaterialError::TruncatedPem { line: 1, .. })
        ));
        assert!(matches!(
            parse(b"x\n-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
            Err(MaterialError::BadBase64 { line: 2, .. })
        ));
        assert!(matches!(
            parse(b"-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"),
            Err(MaterialError::BadDer { .. })
        ));
        assert!(matches!(
            parse(
                b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
            ),
            Err(MaterialError::NothingUsable(_))
        ));
        assert_eq!(
            parse(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nQUJD\n-----END ENCRYPTED PRIVATE KEY-----\n"),
            Err(MaterialError::Encrypted)
        );
    }

    #[test]
    fn ed25519_key_from_seed_matches_rfc8032_vector() {
        // RFC 8032 7.1 TEST 1: secret key and its public key.
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let pkcs8 = der::encode(
            der::SEQUENCE,
            &[
                der::encode(der::INTEGER, &[0]),
                der::encode(der::SEQUENCE, &der::encode(der::OID, der::OID_ED25519)),
                der::encode(der::OCTET_STRING, &der::encode(der::OCTET_STRING, &seed)),
            ]
            .concat(),
        );
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}-----END PRIVATE KEY-----\n",
            base64_pem_body(&pkcs8)
        );
        let m = parse(pem.as_bytes()).unwrap();
        let spki = m.spki();
        assert_eq!(
            &spki[..12],
            &[
                0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
            ]
        );
        assert_eq!(hex::encode(&spki[12..]), public);
        assert_eq!(m.key_spec().unwrap(), KeySpec::Ed25519);
        assert!(matches!(
            m.der_for(Usage::DaneEe, Selector::Cert, None),
            Err(MaterialError::NeedsCertificate("private key"))
        ));
        assert!(matches!(
            m.der_for(Usage::DaneEe, Selector::Spki, Some(1)),
            Err(MaterialError::DepthOutOfRange { depth: 1, count: 1 })
        ));
    }

    #[test]
    fn rsa_public_key_is_wrapped_like_openssl() {
        let n = [&[0x00u8, 0xc1][..], &[0x55; 255]].concat();
        let e = [0x01, 0x00, 0x01];
        let pkcs1 = der::encode(
            der::SEQUENCE,
            &[der::encode(der::INTEGER, &n), der::encode(der::INTEGER, &e)].concat(),
        );
        let spki = spki_of_pkcs1_public(&pkcs1).unwrap();
        // SEQ { SEQ { rsaEncryption NULL } BIT STRING { 00 pkcs1 } }
        assert_eq!(&spki[..4], &[0x30, 0x82, 0x01, 0x22]);
        assert_eq!(
            &spki[4..19],
            &[
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
                0x00
            ]
        );
        assert_eq!(&spki[19..24], &[0x03, 0x82, 0x01, 0x0f, 0x00]);
        assert_eq!(&spki[24..], &pkcs1[..]);
        assert_eq!(keys::spec_of_spki(&spki).unwrap(), KeySpec::Rsa(2048));
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn random_pem_bodies_never_panic(
            label in proptest::sample::select(vec!["CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY",
                "EC PRIVATE KEY", "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE REQUEST"]),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
        ) {
            // Random DER-ish bodies: a SEQUENCE header in front makes the parsers go deeper.
            let der = der::encode(der::SEQUENCE, &body);
            let pem = format!("-----BEGIN {label}-----\n{}-----END {label}-----\n", base64_pem_body(&der));
            if let Ok(m) = parse(pem.as_bytes()) {
                let _ = m.tlsa(Usage::DaneEe, Selector::Spki, Matching::Sha256, None);
            }
        }
    }
}
