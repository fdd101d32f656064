//! Next keys from `keys::generate`: openssl reads them as the type asked for, their
//! SubjectPublicKeyInfo is what `openssl pkey -pubout` says, and they are stored 0600.

mod tlsa_support;

use danerollover::keys::{self, Curve, KeySpec};
use tlsa_support::*;

#[test]
fn generated_keys_agree_with_openssl() {
    if !have("openssl", "generated_keys_agree_with_openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let specs = [
        (KeySpec::Rsa(2048), "RSA", "2048 bit"),
        (KeySpec::Rsa(3072), "RSA", "3072 bit"),
        (KeySpec::Rsa(4096), "RSA", "4096 bit"),
        (KeySpec::Ecdsa(Curve::P256), "EC", "prime256v1"),
        (KeySpec::Ecdsa(Curve::P384), "EC", "secp384r1"),
        (KeySpec::Ecdsa(Curve::P521), "EC", "secp521r1"),
        (KeySpec::Ed25519, "ED25519", "ED25519"),
    ];
    for (spec, _, text_mark) in specs {
        let key = keys::generate(spec).unwrap();
        let path = dir.path().join(format!(
            "privkey-{}.pem",
            spec.to_string().replace(' ', "-")
        ));
        keys::write_new_key(&path, &key).unwrap();
        let mode = std::fs::metadata(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600, "{spec}");
        let ps = path.display().to_string();
        // openssl reads it, as the type asked for.
        let text = String::from_utf8(openssl(&["pkey", "-in", &ps, "-noout", "-text"])).unwrap();
        assert!(
            text.contains(text_mark),
            "{spec}: {}",
            &text[..text.len().min(200)]
        );
        if matches!(spec, KeySpec::Rsa(_)) {
            let check =
                String::from_utf8(openssl(&["rsa", "-in", &ps, "-check", "-noout"])).unwrap();
            assert!(check.contains("RSA key ok"), "{spec}: {check}");
        }
        // Its SubjectPublicKeyInfo is openssl's, byte for byte.
        let spki = openssl(&["pkey", "-in", &ps, "-pubout", "-outform", "der"]);
        assert_eq!(key.spki_der(), &spki[..], "{spec}");
        let sha = sh(&format!(
            "openssl pkey -in {ps} -pubout -outform der | sha256sum | cut -d' ' -f1"
        ));
        assert_eq!(
            key.tlsa_3_1_1().to_string(),
            format!("3 1 1 {sha}"),
            "{spec}"
        );
        // And `danerollover tlsa` on the stored key agrees.
        assert_eq!(tlsa(&[&ps]).0, vec![format!("3 1 1 {sha}")]);
        // A certificate made for it carries the same SubjectPublicKeyInfo.
        let cert = self_signed(
            dir.path(),
            &format!("cert-{}", spec.to_string().replace(' ', "-")),
            &path,
            "next.example",
        );
        assert_eq!(
            tlsa(&[&cert.display().to_string()]).0,
            vec![format!("3 1 1 {sha}")],
            "{spec}"
        );
        assert_eq!(keys::spec_of_spki(&spki).unwrap(), spec);
    }
}
