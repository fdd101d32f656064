//! The commands: each module loads what it needs, observes, asks the pure core what to do,
//! acts, saves and reports. [`run`] dispatches; [`Context`] resolves the global options.

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, DnsCommand, GlobalArgs};
use crate::config::{self, Config};
use crate::error::Error;

pub mod check;
pub mod check_mx;
pub mod config_cmd;
pub mod dns;
pub mod doctor;
// `doctor`'s zone checks, by their former path.
pub use doctor::zones as doctor_zones;
pub mod generate;
pub mod hook;
pub mod init;
pub mod lineages;
pub mod periodic;
pub mod prepublish;
pub mod rollover;
pub mod status;
pub mod tlsa;
pub mod wire;

/// The global options resolved against the environment and the configuration file.
pub struct Context {
    pub global: GlobalArgs,
}

impl Context {
    pub fn new(global: GlobalArgs) -> Self {
        Context { global }
    }

    /// The configuration file's path: `--config`, `$DANEROLLOVER_CONFIG`, or the default.
    pub fn config_path(&self) -> PathBuf {
        self.global
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG_PATH))
    }

    /// Whether a configuration file was named explicitly (then it must exist).
    pub fn config_named(&self) -> bool {
        self.global.config.is_some()
    }

    /// The configuration: required by commands that publish or observe.
    pub fn config(&self) -> Result<Config, Error> {
        Ok(Config::load(&self.config_path())?)
    }

    /// The configuration when one exists; an explicitly named file must exist and parse.
    pub fn config_if_any(&self) -> Result<Option<Config>, Error> {
        let path = self.config_path();
        if !self.config_named() && !path.exists() {
            return Ok(None);
        }
        Ok(Some(Config::load(&path)?))
    }

    /// certbot's directory: `--letsencrypt-dir`, the config's `letsencrypt_dir`,
    /// /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists.
    pub fn letsencrypt_dir(&self, config: Option<&Config>) -> PathBuf {
        if let Some(d) = &self.global.letsencrypt_dir {
            return d.clone();
        }
        if let Some(d) = config.and_then(|c| c.letsencrypt_dir.clone()) {
            return d;
        }
        let default = Path::new(config::DEFAULT_LETSENCRYPT_DIR);
        let alt = Path::new(config::ALT_LETSENCRYPT_DIR);
        if !default.exists() && alt.exists() {
            alt.to_path_buf()
        } else {
            default.to_path_buf()
        }
    }

    /// danerollover's state directory: `--state-dir`, the config's `state_dir`, or the default.
    pub fn state_dir(&self, config: Option<&Config>) -> PathBuf {
        self.global
            .state_dir
            .clone()
            .or_else(|| config.and_then(|c| c.state_dir.clone()))
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_STATE_DIR))
    }
}

/// Run one command; the result is the process exit code.
pub fn run(cli: Cli) -> Result<u8, Error> {
    let ctx = Context::new(cli.global);
    match cli.command {
        Command::Tlsa(args) => tlsa::run(&ctx, &args),
        Command::Lineages(args) => lineages::run(&ctx, &args),
        Command::Init(args) => init::run(&ctx, &args),
        Command::Config(args) => config_cmd::run(&ctx, &args),
        Command::Dns(DnsCommand::Show(args)) => dns::show(&ctx, &args),
        Command::Dns(DnsCommand::Add(args)) => dns::change(&ctx, &args, dns::Direction::Add),
        Command::Dns(DnsCommand::Remove(args)) => dns::change(&ctx, &args, dns::Direction::Remove),
        Command::Hook(args) => hook::run(&ctx, &args),
        Command::Prepublish(args) => prepublish::run(&ctx, &args),
        Command::Rollover(args) => rollover::run(&ctx, &args),
        Command::Status(args) => status::run(&ctx, &args),
        Command::Run(args) => periodic::run(&ctx, &args),
        Command::Check(args) if !args.mx.is_empty() => check_mx::run(&ctx, &args),
        Command::Check(args) => check::run(&ctx, &args),
        Command::Doctor(args) => doctor::run(&ctx, &args),
        Command::Generate(cmd) => generate::run(&cmd),
    }
}

/// A tokio runtime for the commands that talk to the network.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the async runtime: {e}")))
}

/// Write a metrics file atomically; the exit code: the status's, UNKNOWN instead of OK when
/// the file cannot be written (said on stderr, naming the file).
pub fn write_metrics(path: &Path, text: &str, status: crate::probe::verdict::Status) -> u8 {
    use crate::probe::verdict::Status;
    match crate::fsutil::write_atomic(path, text.as_bytes(), 0o644, true) {
        Ok(()) => status.code(),
        Err(e) => {
            eprintln!(
                "danerollover: cannot write the metrics file {}: {e}",
                path.display()
            );
            if status == Status::Ok {
                Status::Unknown.code()
            } else {
                status.code()
            }
        }
    }
}
