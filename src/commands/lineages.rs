//! `danerollover lineages`.

use super::Context;
use crate::cli::LineagesArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &LineagesArgs) -> Result<u8, Error> {
    Err(super::not_built("lineages"))
}
