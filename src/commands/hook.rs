//! `danerollover hook`: every ACME client's post-renewal hook. The lineage comes from
//! `--lineage NAME` (any client), certbot's `RENEWED_LINEAGE`, lego's `LEGO_CERT_PATH`,
//! acme.sh's `CERT_KEY_PATH`/`Le_Domain` or dehydrated's `deploy_cert` arguments
//! ([`crate::acme::hook_env`]); a lineage the configuration does not manage is left alone
//! (exit 0, one line). Inside a switch (`DANEROLLOVER_SWITCHING`) the rollover that ran the
//! client does the rest, and the hook returns at once.

use super::Context;
use super::wire::{Providers, Wired};
use crate::acme::certbot;
use crate::acme::hook_env::{self, HookCall};
use crate::cli::HookArgs;
use crate::error::Error;

pub fn run(ctx: &Context, args: &HookArgs) -> Result<u8, Error> {
    let call = hook_env::recognise(args.lineage.as_deref(), &args.args, |k| {
        std::env::var(k).ok()
    })
    .ok_or_else(|| {
        Error::Usage(
            "no lineage: give --lineage NAME (certbot sets RENEWED_LINEAGE, lego LEGO_CERT_PATH, acme.sh CERT_KEY_PATH and Le_Domain; dehydrated passes deploy_cert DOMAIN KEYFILE ...)".into(),
        )
    })?;
    let config = ctx.config()?;
    let (name, le_dir) = match call {
        HookCall::OtherEvent(event) => {
            println!("{event}: not a deployment, nothing to do");
            return Ok(crate::error::exit::OK);
        }
        HookCall::LiveDir(dir) => {
            let (le_dir, name) = certbot::locate_live_dir(&dir).ok_or_else(|| {
                Error::Usage(format!(
                    "{}: not a certbot live directory (LETSENCRYPT_DIR/live/NAME); give --lineage NAME",
                    dir.display()
                ))
            })?;
            (name, le_dir)
        }
        HookCall::Lineage { name, client } => {
            if let (Some(seen), Some(lc)) = (client, config.lineages.get(&name))
                && seen != lc.client
            {
                return Err(Error::Usage(format!(
                    "{name}: the hook runs in {seen}'s environment, but the configuration says client = \"{}\"",
                    lc.client
                )));
            }
            let le = ctx.letsencrypt_dir(Some(&config));
            (name, le)
        }
    };
    if !config.lineages.contains_key(&name) {
        crate::outln!("{name}: not in the configuration, left alone")?;
        return Ok(crate::error::exit::OK);
    }
    let wired = Wired::with_providers(ctx, config, le_dir, Providers::Of(&name))?;
    let mut engine = wired.engine();
    engine.options.verbose = ctx.global.verbose;
    let report = super::runtime()?.block_on(engine.hook(&name, args.dry_run))?;
    crate::out!("{}", report.text())?;
    Ok(report.exit_code())
}
