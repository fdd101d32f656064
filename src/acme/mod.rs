//! ACME clients: certbot and the others mail operators use, behind one interface
//! ([`AcmeClient`]). A client knows where a lineage's certificate and key are, whether it
//! keeps the key at renewal (and how to make it), how to plant a next key so that its next
//! renewal uses it and how to undo exactly that, the command that renews, and whether it is
//! running. The engine and the pure core never name a client: they act through
//! [`AcmeClient`] (adapted to the engine's traits in `engine::lineage_files`).
//!
//! Two ways of keeping a key, so two ways of planting one:
//! - behind a link ([`linked`]): certbot (`live/NAME/privkey.pem` -> `archive/NAME/privkeyN.pem`)
//!   and dehydrated (`certs/NAME/privkey.pem` -> `privkey-TIMESTAMP.pem`): the next key is
//!   written beside the client's own files and the link is repointed; undone by pointing the
//!   link back, when it still points at our file;
//! - in a plain file ([`keyfile`]): lego (`certificates/NAME.key`), uacme
//!   (`private/NAME/key.pem`), acme.sh (`NAME[_ecc]/NAME.key`) and any other (`command`):
//!   the key file is copied aside and the next key renamed over it; undone by renaming the
//!   copy back, when the key file still holds our key.
//!
//! Modules: [`certbot`], [`lego`], [`dehydrated`], [`uacme`], [`acmesh`], [`command`] (one
//! client each), [`hook_env`] (recognising each client's post-renewal environment).

use std::path::Path;

pub mod acmesh;
pub mod cert;
pub mod certbot;
pub mod client;
pub mod command;
pub mod dehydrated;
pub mod error;
pub mod hook_env;
pub mod keyfile;
pub mod lego;
pub mod linked;
pub mod uacme;

pub use client::{
    AcmeClient, ClientKind, ClientLineage, ClientLock, ClientSettings, Plant, Refusals,
    ReuseSetting,
};
pub use error::{AcmeError, CertbotError};

/// Build the client of one lineage. `letsencrypt_dir` and `certbot` are the configuration's
/// certbot settings (the default client).
pub fn build(
    kind: ClientKind,
    settings: &ClientSettings,
    letsencrypt_dir: &Path,
    certbot: &[String],
) -> Result<Box<dyn AcmeClient>, AcmeError> {
    Ok(match kind {
        ClientKind::Certbot => Box::new(certbot::Certbot::new(
            settings.dir.as_deref().unwrap_or(letsencrypt_dir),
            settings.command.as_deref().unwrap_or(certbot),
        )),
        ClientKind::Lego => Box::new(lego::Lego::new(settings)?),
        ClientKind::Dehydrated => Box::new(dehydrated::Dehydrated::new(settings)),
        ClientKind::Uacme => Box::new(uacme::Uacme::new(settings)),
        ClientKind::Acmesh => Box::new(acmesh::AcmeSh::new(settings)),
        ClientKind::Command => Box::new(command::Command::new(settings)?),
    })
}
