//! `danerollover status [NAME]`: every managed lineage's keys, records, what DNS serves
//! and whether a switch is safe. Read-only, apart from the observations kept for reuse
//! (`observations.json`, see `dns::reuse`). Exit 1 when a lineage is in danger.

use super::Context;
use super::wire::{Providers, Wired, print};
use crate::cli::StatusArgs;
use crate::error::Error;

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<u8, Error> {
    let wired = Wired::from_ctx_with(ctx, Providers::None)?;
    let mut engine = wired.engine();
    engine.options.fresh = args.fresh;
    let report = super::runtime()?.block_on(engine.status(args.name.as_deref()))?;
    print(args.json, &report, || report.text())?;
    Ok(report.exit_code())
}
