//! The real I/O of the rollover commands (`hook`, `prepublish`, `rollover`, `status`,
//! `run`), built once from the configuration, and the engine over it.

use std::path::PathBuf;
use std::time::Duration;

use super::Context;
use crate::config::Config;
use crate::dns::live::LiveObserver;
use crate::engine::lineage_files::{Clients, spki_of_private_pem};
use crate::engine::real::{CommandReloader, CommandRenewer, NextKeyDir, SystemClock};
use crate::engine::{Engine, Io, NoFailures, Options};
use crate::error::Error;
use crate::probe::ProbeOptions;
use crate::probe::check::ResolverDns;
use crate::probe::endpoint::LiveProber;
use crate::provider::{self, Provider};
use crate::store::Store;

/// Which providers (and so which secrets) a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Providers<'a> {
    /// Every lineage's provider (`run`).
    All,
    /// None: read-only commands.
    None,
    /// The provider of this lineage only (none when it is not configured).
    Of(&'a str),
}

/// Everything the engine acts through, owned.
pub struct Wired {
    pub config: Config,
    pub state_dir: PathBuf,
    clients: std::sync::Arc<Clients>,
    next_keys: NextKeyDir,
    providers: Vec<Box<dyn Provider>>,
    observer: LiveObserver,
    renewer: CommandRenewer,
    reloader: CommandReloader,
    prober: LiveProber,
}

impl Wired {
    /// The real I/O for `config`, with each lineage's ACME client (certbot's files under
    /// `letsencrypt_dir` for the certbot lineages). Builds
    /// the providers the lineages use (their secrets are read here).
    pub fn new(ctx: &Context, config: Config, letsencrypt_dir: PathBuf) -> Result<Wired, Error> {
        Wired::with_providers(ctx, config, letsencrypt_dir, Providers::All)
    }

    /// Like [`Wired::new`], building only the providers `which` asks for: read-only
    /// commands (`status`) build none and so never read a secret; a command about one
    /// lineage reads only that lineage's provider's secret and those of the providers of
    /// `[zones]` sections (where a CNAME'd owner's records may go).
    pub fn with_providers(
        ctx: &Context,
        config: Config,
        letsencrypt_dir: PathBuf,
        which: Providers<'_>,
    ) -> Result<Wired, Error> {
        let state_dir = ctx.state_dir(Some(&config));
        let mut providers = Vec::new();
        let mut used: Vec<&str> = config
            .lineages
            .iter()
            .filter(|(name, _)| match which {
                Providers::All => true,
                Providers::None => false,
                Providers::Of(only) => name.as_str() == only,
            })
            .map(|(_, l)| l.provider.as_str())
            .collect();
        // Providers writing the zones CNAME'd owners point into ([zones."Z"] provider):
        // which lineage's chain leads where is only known once observed.
        let known = match which {
            Providers::All => true,
            Providers::None => false,
            Providers::Of(only) => config.lineages.contains_key(only),
        };
        if known {
            used.extend(config.zones.values().filter_map(|z| z.provider.as_deref()));
        }
        used.sort_unstable();
        used.dedup();
        for name in used {
            let pc = config.providers.get(name).ok_or_else(|| {
                Error::BadInput(format!(
                    "{}: a lineage names provider {name:?}, but there is no [providers.{name}]",
                    ctx.config_path().display()
                ))
            })?;
            providers.push(provider::build_with_retry(
                name,
                pc,
                config.dns.timeout,
                provider::retry::RetryPolicy::with_budget(config.dns.retry_budget),
            )?);
        }
        let observer = LiveObserver::from_config(&config)?;
        let clients = std::sync::Arc::new(Clients::from_config(&config, &letsencrypt_dir)?);
        let prober = LiveProber::new(
            std::sync::Arc::new(ResolverDns::new(config.dns.clone())),
            ProbeOptions::new(config.dns.timeout.max(Duration::from_secs(5))),
        );
        Ok(Wired {
            state_dir: state_dir.clone(),
            renewer: CommandRenewer::new(clients.clone()).logging_to(&state_dir),
            clients,
            next_keys: NextKeyDir::new(Box::new(spki_of_private_pem)),
            providers,
            observer,
            reloader: CommandReloader::default(),
            prober,
            config,
        })
    }

    /// From the command line's context: configuration and letsencrypt directory.
    pub fn from_ctx(ctx: &Context) -> Result<Wired, Error> {
        Wired::from_ctx_with(ctx, Providers::All)
    }

    /// [`Wired::from_ctx`] with only the providers `which` asks for.
    pub fn from_ctx_with(ctx: &Context, which: Providers<'_>) -> Result<Wired, Error> {
        let config = ctx.config()?;
        let le = ctx.letsencrypt_dir(Some(&config));
        Wired::with_providers(ctx, config, le, which)
    }

    /// The engine over this I/O.
    pub fn engine(&self) -> Engine<'_> {
        Engine {
            config: &self.config,
            store: Store::new(self.state_dir.clone()),
            io: Io {
                files: self.clients.as_ref(),
                next_keys: &self.next_keys,
                keygen: self.clients.as_ref(),
                providers: self.providers.iter().map(|p| p.as_ref()).collect(),
                observer: &self.observer,
                renewer: &self.renewer,
                reloader: &self.reloader,
                prober: &self.prober,
                clock: &SystemClock,
                fail: &NoFailures,
            },
            options: Options {
                poll: poll_interval(&self.config),
                ..Options::from_env()
            },
        }
    }
}

/// How often `rollover --wait` looks again while the earliest switch time is not known
/// yet (a record not yet everywhere, a resolver still caching the older answer): the
/// smallest record TTL of the lineages, between 1 s and the engine's default (60 s).
pub fn poll_interval(config: &Config) -> Duration {
    let default = Options::default().poll;
    config
        .lineages
        .values()
        .map(|l| Duration::from_secs(u64::from(l.ttl)))
        .min()
        .map_or(default, |ttl| ttl.clamp(Duration::from_secs(1), default))
}

/// Print a report: JSON with `json`, else its text.
/// Write `args` to stdout. A closed stdout (the reader left: `check | head`) is not an
/// error and never a panic (`print!` panics on it): the command goes on, its work and exit
/// code stand; any other write error is one.
pub fn out(args: std::fmt::Arguments<'_>) -> Result<(), Error> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Failed(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// `print!` through [`out`]: returns `Result<(), Error>`.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::wire::out(format_args!($($arg)*))
    };
}

/// `println!` through [`out`]: returns `Result<(), Error>`.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::commands::wire::out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::commands::wire::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub fn print<T: serde::Serialize>(
    json: bool,
    report: &T,
    text: impl FnOnce() -> String,
) -> Result<(), Error> {
    if json {
        let s = serde_json::to_string_pretty(report)
            .map_err(|e| Error::Failed(format!("cannot render the report as JSON: {e}")))?;
        crate::outln!("{s}")?;
    } else {
        crate::out!("{}", text())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_follows_the_smallest_ttl_within_bounds() {
        let cfg = |ttls: &[u32]| {
            let mut text = String::from("[providers.m]\ntype = \"manual\"\n");
            for (i, t) in ttls.iter().enumerate() {
                text.push_str(&format!(
                    "[lineages.\"l{i}\"]\nprovider = \"m\"\ntlsa = [\"_25._tcp.l{i}.example\"]\nttl = {t}\n"
                ));
            }
            crate::config::Config::parse(&text, std::path::Path::new("t.toml")).unwrap()
        };
        assert_eq!(poll_interval(&cfg(&[])), Duration::from_secs(60));
        assert_eq!(poll_interval(&cfg(&[300, 5])), Duration::from_secs(5));
        assert_eq!(poll_interval(&cfg(&[0])), Duration::from_secs(1));
        assert_eq!(poll_interval(&cfg(&[3600])), Duration::from_secs(60));
    }
}
