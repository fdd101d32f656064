//! `danerollover prepublish NAME`: make sure the lineage has a next key and that the
//! current and next keys' records are published at every owner.

use super::Context;
use super::wire::{Providers, Wired, print};
use crate::cli::PrepublishArgs;
use crate::error::Error;

pub fn run(ctx: &Context, args: &PrepublishArgs) -> Result<u8, Error> {
    let wired = Wired::from_ctx_with(ctx, Providers::Of(&args.name))?;
    let mut engine = wired.engine();
    engine.options.verbose = ctx.global.verbose;
    let report = super::runtime()?.block_on(engine.prepublish(&args.name, args.dry_run))?;
    print(args.json, &report, || report.text())?;
    Ok(report.exit_code())
}
