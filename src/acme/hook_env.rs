//! Recognising the post-renewal environment of each client, so that `danerollover hook`
//! works as any client's hook with no argument: certbot's `RENEWED_LINEAGE`, lego's
//! `LEGO_CERT_PATH`/`LEGO_CERT_DOMAIN` (v5: `LEGO_HOOK_CERT_PATH`/`LEGO_HOOK_CERT_DOMAIN`),
//! acme.sh's `CERT_KEY_PATH` with `Le_Domain`, and dehydrated's hook arguments
//! (`deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP`). Pure: the
//! environment is given as a lookup.

use std::path::{Path, PathBuf};

use super::client::ClientKind;

/// What a hook call is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookCall {
    /// certbot's live directory (`RENEWED_LINEAGE`, or `--lineage /etc/letsencrypt/live/NAME`).
    LiveDir(PathBuf),
    /// A lineage by name, and the client whose environment named it.
    Lineage {
        name: String,
        client: Option<ClientKind>,
    },
    /// A dehydrated hook call for another event (`deploy_challenge`, `unchanged_cert`,
    /// ...): nothing to do.
    OtherEvent(String),
}

fn stem(path: &str, ext: &str) -> Option<String> {
    let file = Path::new(path).file_name()?.to_str()?;
    let s = file.strip_suffix(ext)?;
    (!s.is_empty()).then(|| s.to_string())
}

fn dir_name(path: &str) -> Option<String> {
    Some(Path::new(path).parent()?.file_name()?.to_str()?.to_string())
}

/// The lineage a hook call names: `--lineage` (a name, or a certbot live directory) first,
/// then dehydrated's arguments, then the clients' environments. None: nothing names one.
pub fn recognise(
    lineage: Option<&str>,
    args: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> Option<HookCall> {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(l) = lineage.filter(|l| !l.is_empty()) {
        return Some(if l.contains('/') {
            HookCall::LiveDir(PathBuf::from(l))
        } else {
            HookCall::Lineage {
                name: l.to_string(),
                client: None,
            }
        });
    }
    if let Some(event) = args.first() {
        if event != "deploy_cert" {
            return Some(HookCall::OtherEvent(event.clone()));
        }
        // deploy_cert DOMAIN KEYFILE ...: the certificate's directory is its alias.
        let name = args
            .get(2)
            .and_then(|k| dir_name(k))
            .or_else(|| args.get(1).cloned())?;
        return Some(HookCall::Lineage {
            name,
            client: Some(ClientKind::Dehydrated),
        });
    }
    if let Some(dir) = env("RENEWED_LINEAGE") {
        return Some(HookCall::LiveDir(PathBuf::from(dir)));
    }
    for (path, domain) in [
        ("LEGO_CERT_PATH", "LEGO_CERT_DOMAIN"),
        ("LEGO_HOOK_CERT_PATH", "LEGO_HOOK_CERT_DOMAIN"),
    ] {
        let name = env(path)
            .and_then(|p| stem(&p, ".crt"))
            .or_else(|| env(domain).map(|d| super::lego::file_stem(&d)));
        if let Some(name) = name {
            return Some(HookCall::Lineage {
                name,
                client: Some(ClientKind::Lego),
            });
        }
    }
    if let (Some(key), Some(domain)) = (env("CERT_KEY_PATH"), env("Le_Domain")) {
        // HOME/DOMAIN_ecc/DOMAIN.key: the lineage is the directory (an RSA one is the domain).
        let name = dir_name(&key).unwrap_or(domain);
        return Some(HookCall::Lineage {
            name,
            client: Some(ClientKind::Acmesh),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn named(name: &str, client: Option<ClientKind>) -> Option<HookCall> {
        Some(HookCall::Lineage {
            name: name.into(),
            client,
        })
    }

    #[test]
    fn each_clients_environment_names_its_lineage() {
        assert_eq!(recognise(None, &[], env(&[])), None);
        assert_eq!(
            recognise(
                None,
                &[],
                env(&[("RENEWED_LINEAGE", "/etc/letsencrypt/live/m")])
            ),
            Some(HookCall::LiveDir("/etc/letsencrypt/live/m".into()))
        );
        assert_eq!(
            recognise(
                Some("m.example"),
                &[],
                env(&[("RENEWED_LINEAGE", "/x/live/y")])
            ),
            named("m.example", None)
        );
        assert_eq!(
            recognise(
                None,
                &[],
                env(&[
                    ("LEGO_CERT_DOMAIN", "*.example"),
                    ("LEGO_CERT_PATH", "/l/certificates/_.example.crt"),
                    ("LEGO_CERT_KEY_PATH", "/l/certificates/_.example.key"),
                ])
            ),
            named("_.example", Some(ClientKind::Lego))
        );
        assert_eq!(
            recognise(None, &[], env(&[("LEGO_HOOK_CERT_DOMAIN", "m.example")])),
            named("m.example", Some(ClientKind::Lego))
        );
        assert_eq!(
            recognise(
                None,
                &[],
                env(&[
                    ("CERT_PATH", "/r/.acme.sh/m.example_ecc/m.example.cer"),
                    ("CERT_KEY_PATH", "/r/.acme.sh/m.example_ecc/m.example.key"),
                    ("CA_CERT_PATH", "/r/.acme.sh/m.example_ecc/ca.cer"),
                    (
                        "CERT_FULLCHAIN_PATH",
                        "/r/.acme.sh/m.example_ecc/fullchain.cer"
                    ),
                    ("Le_Domain", "m.example"),
                ])
            ),
            named("m.example_ecc", Some(ClientKind::Acmesh))
        );
        let args: Vec<String> = [
            "deploy_cert",
            "m.example",
            "/var/lib/dehydrated/certs/alias/privkey.pem",
            "/var/lib/dehydrated/certs/alias/cert.pem",
            "/var/lib/dehydrated/certs/alias/fullchain.pem",
            "/var/lib/dehydrated/certs/alias/chain.pem",
            "1700000000",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            recognise(None, &args, env(&[])),
            named("alias", Some(ClientKind::Dehydrated))
        );
        assert_eq!(
            recognise(None, &["unchanged_cert".to_string()], env(&[])),
            Some(HookCall::OtherEvent("unchanged_cert".into()))
        );
    }
}
