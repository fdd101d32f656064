//! `danerollover prepublish`.

use super::Context;
use crate::cli::PrepublishArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &PrepublishArgs) -> Result<u8, Error> {
    Err(super::not_built("prepublish"))
}
