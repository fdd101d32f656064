//! `danerollover hook`: certbot's deploy hook. certbot sets `RENEWED_LINEAGE` to the live
//! directory of the lineage it renewed; a lineage the configuration does not manage is
//! left alone (exit 0, one line). Inside a switch (`DANEROLLOVER_SWITCHING`) the rollover
//! that ran certbot does the rest, and the hook returns at once.

use super::Context;
use super::wire::{Providers, Wired};
use crate::certbot;
use crate::cli::HookArgs;
use crate::error::Error;

pub fn run(ctx: &Context, args: &HookArgs) -> Result<u8, Error> {
    let dir = args.lineage.as_ref().ok_or_else(|| {
        Error::Usage(
            "no lineage: certbot sets RENEWED_LINEAGE for its deploy hooks; outside certbot give --lineage /etc/letsencrypt/live/NAME".into(),
        )
    })?;
    let (le_dir, name) = certbot::locate_live_dir(dir).ok_or_else(|| {
        Error::Usage(format!(
            "{}: not a certbot live directory (LETSENCRYPT_DIR/live/NAME)",
            dir.display()
        ))
    })?;
    let config = ctx.config()?;
    if !config.lineages.contains_key(&name) {
        println!("{name}: not in the configuration, left alone");
        return Ok(crate::error::exit::OK);
    }
    let wired = Wired::with_providers(ctx, config, le_dir, Providers::Of(&name))?;
    let mut engine = wired.engine();
    engine.options.verbose = ctx.global.verbose;
    let report = super::runtime()?.block_on(engine.hook(&name, args.dry_run))?;
    print!("{}", report.text());
    Ok(report.exit_code())
}
