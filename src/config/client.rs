//! Which ACME client renews a lineage and the settings it takes from the lineage's
//! configuration section, checked as the configuration is read.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which ACME client renews a lineage (`[lineages."NAME"] client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// certbot (the default): `letsencrypt_dir`, the configuration's `certbot` command.
    #[default]
    Certbot,
    /// lego: `client_dir` is its `--path` (holding `certificates/`).
    Lego,
    /// dehydrated: `client_dir` is its BASEDIR (holding `certs/`).
    Dehydrated,
    /// uacme: `client_dir` is its configuration directory (holding `private/`).
    Uacme,
    /// acme.sh: `client_dir` is its home (holding `NAME/` or `NAME_ecc/`).
    Acmesh,
    /// Any other client: `key_file`, `cert_file` and the `command` that renews.
    Command,
}

impl ClientKind {
    /// Every client.
    pub const ALL: [ClientKind; 6] = [
        ClientKind::Certbot,
        ClientKind::Lego,
        ClientKind::Dehydrated,
        ClientKind::Uacme,
        ClientKind::Acmesh,
        ClientKind::Command,
    ];

    /// The configuration's name of the client.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Certbot => "certbot",
            ClientKind::Lego => "lego",
            ClientKind::Dehydrated => "dehydrated",
            ClientKind::Uacme => "uacme",
            ClientKind::Acmesh => "acmesh",
            ClientKind::Command => "command",
        }
    }

    /// Whether this is the default (for `skip_serializing_if`).
    pub fn is_default(&self) -> bool {
        *self == ClientKind::Certbot
    }
}

impl std::str::FromStr for ClientKind {
    type Err = String;

    fn from_str(s: &str) -> Result<ClientKind, String> {
        ClientKind::ALL
            .into_iter()
            .find(|k| k.name() == s || (s == "acme.sh" && *k == ClientKind::Acmesh))
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a client: certbot, lego, dehydrated, uacme, acmesh or command"
                )
            })
    }
}

impl std::fmt::Display for ClientKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a lineage's client keeps things and how it runs, from its configuration section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// The client's own directory (certbot: the letsencrypt directory).
    pub dir: Option<PathBuf>,
    /// The client's configuration file (dehydrated's `config`).
    pub config: Option<PathBuf>,
    /// The argv that runs the client; danerollover appends the renewal's arguments
    /// (`command`: run as it is).
    pub command: Option<Vec<String>>,
    /// `command` only: the private key file the client renews with.
    pub key_file: Option<PathBuf>,
    /// `command` only: the certificate file (the leaf first).
    pub cert_file: Option<PathBuf>,
}

/// The value of `--NAME VALUE` or `--NAME=VALUE` in an argv.
pub fn flag_value(argv: &[String], names: &[&str]) -> Option<String> {
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        for n in names {
            if a == n {
                return it.next().cloned();
            }
            if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// lego's settings: its command and its `--path` directory (`client_dir`, else the
/// command's `--path`), or what is missing.
pub fn lego_settings(settings: &ClientSettings) -> Result<(Vec<String>, PathBuf), String> {
    let command = settings.command.clone().ok_or_else(|| {
        "client = \"lego\" needs command = [\"lego\", \"--path\", \"DIR\", \"--email\", \"ADDRESS\", \"--http\", ...] (lego's options for this certificate, without --domains and renew)".to_string()
    })?;
    let dir = settings
        .dir
        .clone()
        .or_else(|| flag_value(&command, &["--path"]).map(PathBuf::from))
        .ok_or_else(|| {
            "client = \"lego\" needs client_dir = lego's --path (the directory holding certificates/)".to_string()
        })?;
    Ok((command, dir))
}

/// `client = "command"`'s settings: the key file, the certificate file and the argv that
/// renews, or the first one missing.
pub fn command_settings(
    settings: &ClientSettings,
) -> Result<(PathBuf, PathBuf, Vec<String>), String> {
    let need = |what: &str| {
        format!(
            "client = \"command\" needs {what} (key_file, cert_file and command = the argv that renews with the key in key_file)"
        )
    };
    Ok((
        settings.key_file.clone().ok_or_else(|| need("key_file"))?,
        settings
            .cert_file
            .clone()
            .ok_or_else(|| need("cert_file"))?,
        settings
            .command
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| need("command"))?,
    ))
}

impl ClientSettings {
    /// Whether these settings are enough for a client of `kind` (the message of the
    /// first thing missing).
    pub fn check(&self, kind: ClientKind) -> Result<(), String> {
        match kind {
            ClientKind::Lego => lego_settings(self).map(drop),
            ClientKind::Command => command_settings(self).map(drop),
            ClientKind::Certbot
            | ClientKind::Dehydrated
            | ClientKind::Uacme
            | ClientKind::Acmesh => Ok(()),
        }
    }
}
