//! PEM: splitting text into blocks and reading a PEM file's certificates, key, public key
//! or CSR; strict base64 both ways.

use super::spki::*;
use super::{Cert, KeyFormat, Material, MaterialError, contains, der};

/// One PEM block: label, 1-based line of its BEGIN line, decoded body.
pub(super) struct PemBlock {
    label: String,
    line: usize,
    der: Vec<u8>,
    encrypted: bool,
}

/// Split text into PEM blocks. Text outside blocks is ignored (openssl does the same);
/// a BEGIN without its END is an error.
pub(super) fn pem_blocks(bytes: &[u8]) -> Result<Vec<PemBlock>, MaterialError> {
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

pub(super) fn trim_ascii(mut s: &[u8]) -> &[u8] {
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

pub(super) fn parse_pem_file(bytes: &[u8]) -> Result<Material, MaterialError> {
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
