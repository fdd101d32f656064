//! DER files (certificates, a CSR, a SubjectPublicKeyInfo, a PKCS#8, PKCS#1 or SEC1 private
//! key) and the SubjectPublicKeyInfo of each: the DER a `3 1 x` record hashes.

use super::{Cert, KeyFormat, Material, MaterialError, der};

/// DER: certificates (one or more, concatenated), or one CSR, SubjectPublicKeyInfo or
/// private key (PKCS#8, PKCS#1 or SEC1).
pub(super) fn parse_der_file(bytes: &[u8]) -> Result<Material, MaterialError> {
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
pub(super) enum KeyParseError {
    Bad(String),
    Unsupported(String),
}

impl KeyParseError {
    pub(super) fn or_bad(self, bad: &dyn Fn(String) -> MaterialError) -> MaterialError {
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
pub(super) fn cert_spki<'a>(cert: &der::Tlv<'a>) -> Result<&'a [u8], String> {
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
pub(super) fn csr_spki(bytes: &[u8]) -> Result<Vec<u8>, String> {
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
pub(super) fn spki_checked(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (spki, rest) = der::read(bytes).ok_or("not DER")?;
    if !rest.is_empty() {
        return Err("trailing bytes after the public key".into());
    }
    check_spki_shape(&spki)?;
    Ok(spki.raw.to_vec())
}

/// SEQUENCE { SEQUENCE { OID, params? }, BIT STRING }.
pub(super) fn check_spki_shape(spki: &der::Tlv<'_>) -> Result<(), String> {
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
pub(super) fn spki_of_pkcs8(bytes: &[u8]) -> Result<Vec<u8>, KeyParseError> {
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
pub(super) fn spki_of_pkcs1_private(bytes: &[u8]) -> Result<Vec<u8>, String> {
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
pub(super) fn spki_of_pkcs1_public(bytes: &[u8]) -> Result<Vec<u8>, String> {
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
pub(super) fn spki_of_sec1(bytes: &[u8], curve: Option<&[u8]>) -> Result<Vec<u8>, KeyParseError> {
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
pub(super) fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let public = der::encode(der::SEQUENCE, &[der::integer(n), der::integer(e)].concat());
    let alg = der::encode(
        der::SEQUENCE,
        &[der::encode(der::OID, der::OID_RSA), vec![der::NULL, 0]].concat(),
    );
    spki(&alg, &public)
}

/// SEQUENCE { SEQUENCE { id-ecPublicKey, curve }, BIT STRING { point } }.
pub(super) fn ec_spki(curve: &[u8], point: &[u8]) -> Vec<u8> {
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
pub(super) fn ed25519_spki(public: &[u8]) -> Vec<u8> {
    let alg = der::encode(der::SEQUENCE, &der::encode(der::OID, der::OID_ED25519));
    spki(&alg, public)
}

pub(super) fn spki(alg: &[u8], key: &[u8]) -> Vec<u8> {
    let bits = der::encode(der::BIT_STRING, &[&[0u8][..], key].concat());
    der::encode(der::SEQUENCE, &[alg, &bits[..]].concat())
}
