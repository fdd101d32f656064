//! The command line: one clap type per command. Parsing only; the commands live in
//! [`crate::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Safe DANE TLSA records and key rollovers for certbot certificates.
#[derive(Debug, Parser)]
#[command(name = "danerollover", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: /etc/danerollover/config.toml]
    #[arg(long, global = true, env = "DANEROLLOVER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// certbot's configuration directory [default: the config's letsencrypt_dir, else
    /// /etc/letsencrypt, or /usr/local/etc/letsencrypt where only that exists]
    #[arg(long, global = true, value_name = "DIR")]
    pub letsencrypt_dir: Option<PathBuf>,
    /// Where danerollover keeps its state and next keys [default: the config's state_dir,
    /// else /var/lib/danerollover]
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Reports after a change also show the status as observed before it
    #[arg(long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print TLSA records for certificates, keys, public keys or CSRs
    Tlsa(TlsaArgs),
    /// List certbot lineages with their keys, TLSA hashes and problems
    Lineages(LineagesArgs),
    /// Turn on reuse_key in a lineage's renewal.conf (nothing else changes)
    Init(InitArgs),
    /// Print the effective configuration, secrets redacted
    Config(ConfigArgs),
    /// Look at and change TLSA records directly
    #[command(subcommand)]
    Dns(DnsCommand),
    /// certbot deploy hook: publish the renewed key and the next key (reads RENEWED_LINEAGE)
    Hook(HookArgs),
    /// Create the next key if needed and publish current + next records now
    Prepublish(PrepublishArgs),
    /// Switch a lineage to its next key, only when that is safe
    Rollover(RolloverArgs),
    /// Show every lineage's phase, records, servers and the earliest switch time
    Status(StatusArgs),
    /// Periodic job: observe, republish drift, retire old records, scheduled rollovers
    Run(RunArgs),
    /// Probe live servers and prove they match DNSSEC-validated TLSA records
    Check(CheckArgs),
    /// Read-only health check of the setup, one line per item with its fix
    Doctor(DoctorArgs),
    /// Write man pages or print shell completions (generated from this command line)
    #[command(subcommand)]
    Generate(GenerateCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    pub fn label(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

#[derive(Debug, Args)]
pub struct TlsaArgs {
    /// Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub usage: u8,
    /// Selector: 0 full certificate, 1 SubjectPublicKeyInfo
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub selector: u8,
    /// Matching type: 0 exact, 1 SHA2-256, 2 SHA2-512
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub matching: u8,
    /// Print zone-file lines for this host (owner _PORT._PROTO.HOST.)
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Port of the owner name (with --host)
    #[arg(long, default_value_t = 25, requires = "host")]
    pub port: u16,
    /// Transport of the owner name (with --host)
    #[arg(long, value_enum, default_value_t = Proto::Tcp, requires = "host")]
    pub proto: Proto,
    /// Which certificate of a chain (0 = first); default: the leaf for usages 1 and 3, the
    /// last certificate for usages 0 and 2
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// JSON output
    #[arg(long)]
    pub json: bool,
    /// PEM/DER certificates or chains, PEM private keys, public keys or CSRs
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LineagesArgs {
    /// JSON output
    #[arg(long)]
    pub json: bool,
    /// List this ACME client's lineages (certbot, lego, dehydrated, uacme, acmesh) instead of
    /// certbot's and the configured ones
    #[arg(long, value_name = "CLIENT")]
    pub client: Option<crate::acme::ClientKind>,
    /// The client's directory (lego's --path, dehydrated's BASEDIR, uacme's confdir, acme.sh's home)
    #[arg(long, value_name = "DIR")]
    pub client_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The lineage (certbot's certificate name, lego's file name, dehydrated's certs/NAME,
    /// uacme's identifier, acme.sh's domain)
    pub name: String,
    /// The ACME client of the lineage [default: certbot]
    #[arg(long, value_name = "CLIENT")]
    pub client: Option<crate::acme::ClientKind>,
    /// The client's directory (lego's --path, dehydrated's BASEDIR, uacme's confdir, acme.sh's home)
    #[arg(long, value_name = "DIR")]
    pub client_dir: Option<PathBuf>,
    /// The client's configuration file (dehydrated's config)
    #[arg(long, value_name = "FILE")]
    pub client_config: Option<PathBuf>,
    /// The command that runs the client, split at white space (lego: its options without
    /// --domains and renew; command: the whole renew command)
    #[arg(long, value_name = "COMMAND")]
    pub client_command: Option<String>,
    /// client = command: the key file it renews with
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// client = command: the certificate file
    #[arg(long, value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// Also add [lineages."NAME"] to the configuration, published through this provider
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// TLSA owner names [default: _PORT._tcp. + each DNS name of the certificate]
    #[arg(long = "owner", value_name = "OWNER", requires = "provider")]
    pub owners: Vec<String>,
    /// Ports for the default owners [default: 25]
    #[arg(
        long = "port",
        value_name = "N",
        requires = "provider",
        conflicts_with = "owners"
    )]
    pub ports: Vec<u16>,
    /// TTL of the lineage's records [default: the configuration's default]
    #[arg(long, value_name = "N", requires = "provider")]
    pub ttl: Option<u32>,
    /// Show the change without writing anything
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DnsCommand {
    /// What every authoritative server serves at these owners, and whether it validates
    ///
    /// Exit status: 0 when, for every owner, all authoritative servers answered and agree and
    /// the validated read is DNSSEC-secure; 1 otherwise (a server down or lagging, insecure,
    /// bogus or indeterminate); 2 for bad input.
    Show(DnsShowArgs),
    /// Add records at an owner through a provider
    Add(DnsChangeArgs),
    /// Remove records at an owner through a provider
    Remove(DnsChangeArgs),
}

#[derive(Debug, Args)]
pub struct DnsShowArgs {
    /// Owner names, e.g. _25._tcp.mail.example.com
    #[arg(required = true, value_name = "OWNER")]
    pub owners: Vec<String>,
    /// Authoritative servers to ask (address:port), instead of discovering them from NS
    #[arg(long = "nameserver", value_name = "ADDR:PORT")]
    pub nameservers: Vec<String>,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DnsChangeArgs {
    /// The provider, by its name in the configuration
    #[arg(long)]
    pub provider: String,
    /// TTL of the records
    #[arg(long, default_value_t = 300)]
    pub ttl: u32,
    /// The owner name, e.g. _25._tcp.mail.example.com
    pub owner: String,
    /// Records as RDATA, e.g. "3 1 1 <hex>" (one argument each)
    #[arg(required = true, value_name = "RECORD")]
    pub records: Vec<String>,
    /// Authoritative servers to ask afterwards (address:port), instead of NS discovery
    #[arg(long = "nameserver", value_name = "ADDR:PORT")]
    pub nameservers: Vec<String>,
    /// Say what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// The lineage: its name, or certbot's live directory [default: from the client's
    /// environment: RENEWED_LINEAGE, LEGO_CERT_PATH, acme.sh's CERT_KEY_PATH]
    #[arg(long, value_name = "NAME|DIR")]
    pub lineage: Option<String>,
    /// Say what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// dehydrated's hook arguments (`deploy_cert DOMAIN KEYFILE ...`; other events do nothing)
    #[arg(
        value_name = "DEHYDRATED_ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PrepublishArgs {
    /// The lineage (certbot certificate name)
    pub name: String,
    /// Say what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RolloverArgs {
    /// The lineage (certbot certificate name)
    pub name: String,
    /// Poll until the switch is safe, then switch
    #[arg(long)]
    pub wait: bool,
    /// With --wait: how long to wait at most (e.g. 2h)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_wait: Option<std::time::Duration>,
    /// Key compromise: switch now if the next key's record is served everywhere and
    /// Secure (without the wait), withdraw the old key's records at once
    #[arg(long, conflicts_with_all = ["wait", "max_wait"])]
    pub emergency: bool,
    /// Say whether the switch is safe and what it would do, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this lineage
    pub name: Option<String>,
    /// JSON output
    #[arg(long)]
    pub json: bool,
    /// Ask every server, even where the last observation of an unchanged zone could be
    /// reused ([dns] reuse_observations)
    #[arg(long)]
    pub fresh: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Say what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// JSON output
    #[arg(long)]
    pub json: bool,
    /// Ask every server, even where the last observation of an unchanged zone could be
    /// reused ([dns] reuse_observations)
    #[arg(long)]
    pub fresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StartTls {
    Smtp,
    Imap,
    Pop3,
    None,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Lineages to check (all configured lineages when none and no --target)
    #[arg(value_name = "NAME", conflicts_with = "targets")]
    pub names: Vec<String>,
    /// Check mail domains as a DANE-validating sender sees them: the MX RRset, every MX
    /// host's TLSA records and every address (STARTTLS on port 25)
    #[arg(long = "mx", value_name = "DOMAIN", num_args = 1.., conflicts_with_all = ["names", "targets", "starttls"])]
    pub mx: Vec<String>,
    /// With --mx: CRITICAL when a certificate of a served chain is not valid N days from now
    #[arg(long, value_name = "N", requires = "mx")]
    pub days: Option<u32>,
    /// With --mx: probe every address twice, offering only ECDSA and only RSA signatures
    #[arg(long, requires = "mx")]
    pub both_algorithms: bool,
    /// With --mx: WARNING when a host's TLSA RRset has no second record to roll to
    #[arg(long, requires = "mx")]
    pub rollover_scheme: bool,
    /// Check this service instead (HOST:PORT; TLSA owner _PORT._tcp.HOST)
    #[arg(long = "target", value_name = "HOST:PORT")]
    pub targets: Vec<String>,
    /// Protocol before TLS [default: from the port]
    #[arg(long, value_enum)]
    pub starttls: Option<StartTls>,
    /// JSON output
    #[arg(long)]
    pub json: bool,
    /// Write Prometheus text-file-collector metrics to FILE (atomically)
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Warn when the certificate expires within this many days
    #[arg(long, default_value_t = 14)]
    pub warn_days: u32,
    /// Timeout of each connection and DNS query
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Only this lineage [default: every configured lineage]
    pub name: Option<String>,
    /// The systemd unit directory where the timer's enablement symlink is looked for
    #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
    pub systemd_dir: PathBuf,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write danerollover.1 and one page per command (danerollover-rollover.1, ...) into DIR
    Man {
        /// Output directory (created if needed)
        dir: PathBuf,
    },
    /// Print the bash completion script
    CompleteBash,
    /// Print the zsh completion script
    CompleteZsh,
    /// Print the fish completion script
    CompleteFish,
}

/// Durations as people write them: `5s`, `90s`, `2h`, `365d`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration like 5s, 10m, 2h: {e}"))
}
