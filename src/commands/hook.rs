//! `danerollover hook`.

use super::Context;
use crate::cli::HookArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &HookArgs) -> Result<u8, Error> {
    Err(super::not_built("hook"))
}
