use super::pem::*;
use super::spki::*;
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
        parse(b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"),
        Err(MaterialError::NothingUsable(_))
    ));
    assert_eq!(
        parse(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nQUJD\n-----END ENCRYPTED PRIVATE KEY-----\n"
        ),
        Err(MaterialError::Encrypted)
    );
}

#[test]
fn ed25519_key_from_seed_matches_rfc8032_vector() {
    // RFC 8032 7.1 TEST 1: secret key and its public key.
    let seed =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
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
    assert_eq!(spec_of_spki(&spki).unwrap(), KeySpec::Rsa(2048));
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
