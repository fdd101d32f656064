//! `danerollover config`.

use super::Context;
use crate::cli::ConfigArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &ConfigArgs) -> Result<u8, Error> {
    Err(super::not_built("config"))
}
