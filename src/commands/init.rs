//! `danerollover init NAME`: turn on `reuse_key` in `renewal/NAME.conf`, changing nothing
//! else, with a backup beside it (`NAME.conf.danerollover-bak`: not `*.conf`, which certbot
//! would read as another lineage).

use std::path::{Path, PathBuf};

use super::Context;
use crate::acme::certbot::{self, CertbotError, RenewalConf, check_name};
use crate::acme::{ClientKind, ClientSettings};
use crate::cli::InitArgs;
use crate::config_edit::{Edit, NewLineage, add_lineage, default_owners, line_diff};
use crate::error::{Error, exit};
use crate::fsutil;

/// The backup of a renewal conf: `NAME.conf.danerollover-bak`.
pub fn backup_path(conf: &Path) -> PathBuf {
    let mut s = conf.as_os_str().to_os_string();
    s.push(".danerollover-bak");
    PathBuf::from(s)
}

/// Turn on reuse_key for one lineage (or say it is on already); with `--provider`, also
/// add the lineage to the configuration.
pub fn run(ctx: &Context, args: &InitArgs) -> Result<u8, Error> {
    if args.client.is_some_and(|c| c != ClientKind::Certbot) {
        return init_client(ctx, args);
    }
    check_name(&args.name)?;
    let config = if args.provider.is_some() {
        Some(ctx.config()?)
    } else {
        ctx.config_if_any()?
    };
    let dir = ctx.letsencrypt_dir(config.as_ref());
    // Refuse a bad provider before changing anything.
    let config_edit = match &args.provider {
        Some(provider) => Some(plan_config(ctx, args, provider, &dir)?),
        None => None,
    };
    enable_reuse_key(args, &dir)?;
    if let Some((path, old, edit)) = config_edit {
        write_config(&path, &old, edit, args.dry_run)?;
    }
    Ok(exit::OK)
}

/// The configuration's text before and after adding `[lineages."NAME"]`.
fn plan_config(
    ctx: &Context,
    args: &InitArgs,
    provider: &str,
    le_dir: &Path,
) -> Result<(PathBuf, String, Edit), Error> {
    let path = ctx.config_path();
    let old = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let owners = if args.owners.is_empty() {
        let lineage = certbot::load(le_dir, &args.name)?;
        let domains = lineage
            .live_cert
            .as_ref()
            .map(|c| c.domains.clone())
            .unwrap_or_default();
        let owners = default_owners(&domains, &args.ports);
        if owners.is_empty() {
            return Err(Error::Usage(format!(
                "{}: the certificate names no host a TLSA owner can be made of (only wildcards, or no readable cert.pem): give --owner _25._tcp.HOST",
                lineage.live_dir().display()
            )));
        }
        owners
    } else {
        args.owners.clone()
    };
    let new = NewLineage {
        name: args.name.clone(),
        provider: provider.to_string(),
        owners,
        ttl: args.ttl,
        strings: Vec::new(),
        lists: Vec::new(),
    };
    let edit = add_lineage(&old, &path, &new).map_err(Error::Usage)?;
    if let Edit::Changed(text) = &edit {
        // What we write must load.
        crate::config::Config::parse(text, &path)?;
    }
    Ok((path, old, edit))
}

fn write_config(path: &Path, old: &str, edit: Edit, dry_run: bool) -> Result<(), Error> {
    let Edit::Changed(text) = edit else {
        crate::outln!(
            "{}: the lineage is configured already: nothing to change",
            path.display()
        )?;
        return Ok(());
    };
    crate::outln!("{}:", path.display())?;
    crate::out!("{}", line_diff(old, &text))?;
    if dry_run {
        crate::outln!("dry run: nothing written")?;
        return Ok(());
    }
    let mode = fsutil::mode_of(path).map_err(|e| Error::io(path, e))?;
    fsutil::write_atomic(path, text.as_bytes(), mode, true).map_err(|e| Error::io(path, e))?;
    crate::outln!("wrote {}", path.display())?;
    Ok(())
}

fn enable_reuse_key(args: &InitArgs, dir: &Path) -> Result<(), Error> {
    let path = certbot::renewal_conf_path(dir, &args.name);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CertbotError::UnknownLineage {
                name: args.name.clone(),
                conf: path,
            }
            .into());
        }
        Err(e) => return Err(CertbotError::io(&path, e).into()),
    };
    let conf_err = |source: certbot::ConfError| -> Error {
        CertbotError::Conf {
            path: path.clone(),
            source,
        }
        .into()
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        conf_err(certbot::ConfError {
            line: 0,
            message: "not UTF-8".into(),
        })
    })?;
    let conf = RenewalConf::parse(&text).map_err(conf_err)?;
    let Some(edit) = conf.enable_reuse_key().map_err(conf_err)? else {
        crate::outln!(
            "{}: reuse_key is already True: nothing to change",
            path.display()
        )?;
        return Ok(());
    };
    crate::outln!("{}:", path.display())?;
    crate::outln!("{edit}")?;
    if args.dry_run {
        crate::outln!("dry run: nothing written")?;
        return Ok(());
    }
    let mode = fsutil::mode_of(&path).map_err(|e| Error::io(&path, e))?;
    let backup = backup_path(&path);
    fsutil::write_atomic(&backup, text.as_bytes(), mode, true)
        .map_err(|e| Error::io(&backup, e))?;
    fsutil::write_atomic(&path, edit.text.as_bytes(), mode, true)
        .map_err(|e| Error::io(&path, e))?;
    crate::outln!(
        "wrote {} (the previous version is in {})",
        path.display(),
        backup.display()
    )?;
    Ok(())
}

/// The client settings `init` was given.
fn settings_of(args: &InitArgs) -> ClientSettings {
    ClientSettings {
        dir: args.client_dir.clone(),
        config: args.client_config.clone(),
        command: args
            .client_command
            .as_deref()
            .map(|c| c.split_whitespace().map(str::to_string).collect()),
        key_file: args.key_file.clone(),
        cert_file: args.cert_file.clone(),
    }
}

/// `init --client CLIENT` (not certbot): turn on keeping the key in the client's own
/// settings where it has one, and with `--provider` add the lineage with its client
/// settings to the configuration.
fn init_client(ctx: &Context, args: &InitArgs) -> Result<u8, Error> {
    let kind = args.client.unwrap_or_default();
    crate::acme::client::check_component(kind, &args.name)?;
    let config = if args.provider.is_some() {
        Some(ctx.config()?)
    } else {
        ctx.config_if_any()?
    };
    let le = ctx.letsencrypt_dir(config.as_ref());
    let certbot_cmd = config
        .as_ref()
        .map_or_else(|| vec!["certbot".to_string()], |c| c.certbot.clone());
    let settings = settings_of(args);
    let client = crate::acme::build(kind, &settings, &le, &certbot_cmd)?;
    let lineage = client.lineage(&args.name)?;
    let config_edit = match &args.provider {
        Some(provider) => {
            let path = ctx.config_path();
            let old = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let owners = if args.owners.is_empty() {
                default_owners(&lineage.domains, &args.ports)
            } else {
                args.owners.clone()
            };
            if owners.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: the certificate names no host a TLSA owner can be made of: give --owner _25._tcp.HOST",
                    lineage.cert.display()
                )));
            }
            let mut strings = vec![("client".to_string(), kind.name().to_string())];
            let path_of = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
            for (k, v) in [
                ("client_dir", path_of(&settings.dir)),
                ("client_config", path_of(&settings.config)),
                ("key_file", path_of(&settings.key_file)),
                ("cert_file", path_of(&settings.cert_file)),
            ] {
                if let Some(v) = v {
                    strings.push((k.to_string(), v));
                }
            }
            let new = NewLineage {
                name: args.name.clone(),
                provider: provider.to_string(),
                owners,
                ttl: args.ttl,
                strings,
                lists: settings
                    .command
                    .clone()
                    .map(|c| vec![("command".to_string(), c)])
                    .unwrap_or_default(),
            };
            let edit = add_lineage(&old, &path, &new).map_err(Error::Usage)?;
            if let Edit::Changed(text) = &edit {
                crate::config::Config::parse(text, &path)?;
            }
            Some((path, old, edit))
        }
        None => None,
    };
    match client.enable_reuse_key(&args.name, args.dry_run)? {
        None => println!("{} {}: {}", kind, args.name, lineage.reuse),
        Some(change) => {
            println!("{change}");
            if args.dry_run {
                println!("dry run: nothing written");
            }
        }
    }
    if let Some((path, old, edit)) = config_edit {
        write_config(&path, &old, edit, args.dry_run)?;
    }
    Ok(exit::OK)
}
