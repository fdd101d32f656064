//! `danerollover init NAME`: turn on `reuse_key` in `renewal/NAME.conf`, changing nothing
//! else, with a backup beside it (`NAME.conf.danerollover-bak`: not `*.conf`, which certbot
//! would read as another lineage).

use std::path::{Path, PathBuf};

use super::Context;
use crate::certbot::{self, CertbotError, RenewalConf, check_name};
use crate::cli::InitArgs;
use crate::error::{Error, exit};
use crate::fsutil;

/// The backup of a renewal conf: `NAME.conf.danerollover-bak`.
pub fn backup_path(conf: &Path) -> PathBuf {
    let mut s = conf.as_os_str().to_os_string();
    s.push(".danerollover-bak");
    PathBuf::from(s)
}

/// Turn on reuse_key for one lineage (or say it is on already).
pub fn run(ctx: &Context, args: &InitArgs) -> Result<u8, Error> {
    check_name(&args.name)?;
    let config = ctx.config_if_any()?;
    let dir = ctx.letsencrypt_dir(config.as_ref());
    let path = certbot::renewal_conf_path(&dir, &args.name);
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
        println!(
            "{}: reuse_key is already True: nothing to change",
            path.display()
        );
        return Ok(exit::OK);
    };
    println!("{}:", path.display());
    println!("{edit}");
    if args.dry_run {
        println!("dry run: nothing written");
        return Ok(exit::OK);
    }
    let mode = fsutil::mode_of(&path).map_err(|e| Error::io(&path, e))?;
    let backup = backup_path(&path);
    fsutil::write_atomic(&backup, text.as_bytes(), mode, true)
        .map_err(|e| Error::io(&backup, e))?;
    fsutil::write_atomic(&path, edit.text.as_bytes(), mode, true)
        .map_err(|e| Error::io(&path, e))?;
    println!(
        "wrote {} (the previous version is in {})",
        path.display(),
        backup.display()
    );
    Ok(exit::OK)
}
