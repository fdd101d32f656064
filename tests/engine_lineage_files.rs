//! The real `LineageFiles` and `KeyGen` on certbot-like trees made at test time: planting
//! the next key, repointing `live/NAME/privkey.pem` (relative, atomically), and restoring
//! only what provably holds our key.

mod tlsa_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use danerollover::engine::lineage_files::{Clients, spki_of_private_pem};
use danerollover::engine::{KeyGen, LineageFiles};
use danerollover::keys::{self, KeySpec};
use tlsa_support::*;

const NAME: &str = "mail.example.test";

fn tree(le: &Path) {
    let conf = certbot_conf(le, NAME, "reuse_key = True\n", Some("ecdsa"));
    make_lineage(le, NAME, KeyType::P256, 2, &conf);
}

fn write_key(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let k = keys::generate(KeySpec::Ecdsa(keys::Curve::P256)).unwrap();
    let p = dir.join("next.pem");
    std::fs::write(&p, k.pem()).unwrap();
    (p, k.spki_der().to_vec())
}

#[test]
fn plant_repoint_restore_round_trip() {
    if !have("openssl", "plant_repoint_restore_round_trip") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let le = tmp.path().join("le");
    tree(&le);
    let files = Clients::certbot(&le);
    let facts = files.facts(NAME).unwrap();
    assert!(facts.reuse_key);
    let link = le.join("live").join(NAME).join("privkey.pem");
    assert_eq!(
        spki_of_private_pem(&std::fs::read(&link).unwrap()).unwrap(),
        facts.live_spki
    );

    let plan = files.plant_plan(NAME).unwrap();
    assert_eq!(
        plan.archive_path,
        le.join("archive").join(NAME).join("privkey3.pem")
    );
    assert_eq!(
        plan.previous_target,
        Path::new("../../archive").join(NAME).join("privkey2.pem")
    );

    let (key_path, spki) = write_key(tmp.path());
    files.plant(NAME, &plan, &key_path).unwrap();
    let mode = std::fs::metadata(&plan.archive_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Never replaces a file.
    assert!(files.plant(NAME, &plan, &key_path).is_err());

    files.repoint(NAME, &plan).unwrap();
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../../archive").join(NAME).join("privkey3.pem")
    );
    assert_eq!(
        spki_of_private_pem(&std::fs::read(&link).unwrap()).unwrap(),
        spki
    );

    // Restoring with another key's SPKI touches nothing.
    files.restore(NAME, &plan, &facts.live_spki).unwrap();
    assert!(plan.archive_path.exists());
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../../archive").join(NAME).join("privkey3.pem")
    );

    // With ours: link back, planted file gone; twice is fine.
    files.restore(NAME, &plan, &spki).unwrap();
    files.restore(NAME, &plan, &spki).unwrap();
    assert_eq!(std::fs::read_link(&link).unwrap(), plan.previous_target);
    assert!(!plan.archive_path.exists());
    assert_eq!(files.facts(NAME).unwrap(), facts);
}

#[test]
fn restore_keeps_a_planted_key_a_live_link_still_uses() {
    if !have(
        "openssl",
        "restore_keeps_a_planted_key_a_live_link_still_uses",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let le = tmp.path().join("le");
    tree(&le);
    let files = Clients::certbot(&le);
    let plan = files.plant_plan(NAME).unwrap();
    let (key_path, spki) = write_key(tmp.path());
    files.plant(NAME, &plan, &key_path).unwrap();
    // A live link other than privkey.pem leads to the planted file: it is in use.
    relink(
        &le,
        NAME,
        "chain",
        &format!("../../archive/{NAME}/privkey3.pem"),
    );
    files.restore(NAME, &plan, &spki).unwrap();
    assert!(
        plan.archive_path.exists(),
        "a file a live link uses was removed"
    );
}

#[test]
fn next_keys_have_the_type_renewal_conf_asks_for() {
    if !have("openssl", "next_keys_have_the_type_renewal_conf_asks_for") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let le = tmp.path().join("le");
    tree(&le);
    let k = Clients::certbot(&le).generate(NAME).unwrap();
    assert_eq!(
        keys::spec_of_spki(&k.spki_der).unwrap(),
        KeySpec::Ecdsa(keys::Curve::P256)
    );
    assert_eq!(spki_of_private_pem(&k.pem.0).unwrap(), k.spki_der);
    assert!(Clients::certbot(&le).generate("absent.example").is_err());
}
