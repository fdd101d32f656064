//! `danerollover lineages` on the lab's real certbot directory (certbot + pebble): every
//! lineage reads, and its live record is what openssl computes from the live certificate.
//! Read-only.

mod common;
mod tlsa_support;

use common::Lab;
use tlsa_support::*;

#[test]
fn lab_lineages_read_like_openssl() {
    let Some(lab) = Lab::get("lab_lineages_read_like_openssl") else {
        return;
    };
    let le = lab.path("LAB_LETSENCRYPT_DIR");
    let name = lab.var("LAB_LINEAGE");
    let v = common::lineages_json(&le);
    let rows = v.as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"));
    let cert = le.join("live").join(name).join("cert.pem");
    let sha = sh(&format!(
        "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1",
        cert.display()
    ));
    assert_eq!(row["tlsa_3_1_1"], format!("3 1 1 {sha}"));
    assert_eq!(row["key_matches_cert"], true);
    assert!(
        row["domains"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == lab.var("LAB_MAIL_HOST")),
        "{row}"
    );
    let lineage = danerollover::certbot::load(&le, name).unwrap();
    assert!(lineage.highest_version.is_some());
    assert!(lineage.cert.in_archive && lineage.privkey.in_archive);
    assert_eq!(lineage.conf.server(), Some(lab.var("LAB_ACME_DIRECTORY")));
}
