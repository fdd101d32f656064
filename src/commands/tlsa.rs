//! `danerollover tlsa`.

use super::Context;
use crate::cli::TlsaArgs;
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &TlsaArgs) -> Result<u8, Error> {
    Err(super::not_built("tlsa"))
}
