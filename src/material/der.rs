//! A minimal DER reader and writer: enough for certificates, keys and CSRs.

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
