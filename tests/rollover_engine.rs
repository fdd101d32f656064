//! The engine against the in-memory world: whole scenarios (hook, prepublish, rollover
//! with and without --wait, status, run), failures (certbot, provider, lock), the nested
//! deploy hook inside a switch, and kill -9 after every step of every operation followed
//! by a run that must converge.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use danerollover::config::Config;
use danerollover::dns::Validation;
use danerollover::engine::memory::{CertbotBehaviour, CrashAfter, MemoryWorld, spki_of_pem};
use danerollover::engine::{
    CertbotRun, Engine, FailPoint, HookReport, Io, Options, Renewer, RolloverOutcome, Step,
};
use danerollover::error::Error;
use danerollover::rollover::{Intent, KeyInfo, LiveChange};
use danerollover::store::Store;
use danerollover::tlsa::{Matching, TlsaRecord};
use jiff::Timestamp;

const NAME: &str = "mail.example.test";
const OWNER: &str = "_25._tcp.mail.example.test.";
const OWNER2: &str = "_465._tcp.mail.example.test.";
/// 2 x 300 + 60: the wait at an owner that already had TLSA records, and the time the
/// old key's records stay after a switch.
const WAIT: i64 = 660;
/// The first wait at owners that had no TLSA RRset: + the negative TTL (300 here).
const FIRST_WAIT: i64 = 960;

fn config(extra: &str) -> Config {
    config_dns("", extra)
}

/// The configuration with more `[dns]` settings (`dns`) and more lineage settings.
fn config_dns(dns: &str, extra: &str) -> Config {
    // The fixtures' records were served with the TTL they are seeded with before the first
    // look (`first_look_records_wait_for_the_default_prior_ttl` tests the default).
    let dns = if dns.contains("prior_ttl") {
        dns.to_string()
    } else {
        format!("prior_ttl = \"300s\"\n{dns}")
    };
    let text = format!(
        r#"
[dns]
margin = "60s"
{dns}
[providers.mem]
type = "manual"
[lineages."{NAME}"]
provider = "mem"
tlsa = ["_25._tcp.mail.example.test", "_465._tcp.mail.example.test"]
ttl = 300
reload = [["systemctl", "reload", "postfix"]]
{extra}
"#
    );
    Config::parse(&text, Path::new("test.toml")).unwrap()
}

struct Fixture {
    world: MemoryWorld,
    config: Config,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(lags: &[i64], extra: &str) -> Fixture {
        let world = MemoryWorld::new(Timestamp::from_second(1_700_000_000).unwrap(), lags, "mem");
        world.add_lineage(NAME, true);
        Fixture {
            world,
            config: config(extra),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn engine<'a>(&'a self, fail: &'a dyn FailPoint) -> Engine<'a> {
        self.engine_with(fail, &self.world)
    }

    fn engine_with<'a>(&'a self, fail: &'a dyn FailPoint, certbot: &'a dyn Renewer) -> Engine<'a> {
        Engine {
            config: &self.config,
            store: Store::new(self.dir.path()),
            io: Io {
                files: &self.world,
                next_keys: &self.world,
                keygen: &self.world,
                providers: vec![&self.world],
                observer: &self.world,
                renewer: certbot,
                reloader: &self.world,
                prober: &self.world,
                clock: &self.world,
                fail,
            },
            options: Options {
                lock_wait: Duration::from_millis(200),
                poll: Duration::from_secs(60),
                switching: None,
                fresh: false,
                ..Options::default()
            },
        }
    }

    fn store(&self) -> Store {
        Store::new(self.dir.path())
    }

    fn live(&self) -> KeyInfo {
        KeyInfo::from_spki(&self.world.world().live_spki(NAME).unwrap())
    }

    fn next(&self) -> Option<KeyInfo> {
        let s = self.store().read().unwrap();
        s.lineages.get(NAME)?.next.as_ref().map(|n| n.key.clone())
    }

    /// Whether every server serves `k`'s 3 1 1 record at both owners.
    fn served_everywhere(&self, k: &KeyInfo) -> bool {
        let w = self.world.world();
        let r = r311(k);
        [OWNER, OWNER2]
            .iter()
            .all(|o| (0..w.servers.len()).all(|i| w.served(i, o).contains(&r)))
    }

    fn served_anywhere(&self, k: &KeyInfo) -> bool {
        let w = self.world.world();
        let r = r311(k);
        [OWNER, OWNER2]
            .iter()
            .any(|o| (0..w.servers.len()).any(|i| w.served(i, o).contains(&r)))
    }

    fn hook(&self) -> HookReport {
        block(self.engine(&CrashAfter::never()).hook(NAME, false)).unwrap()
    }

    fn run(&self) -> danerollover::engine::RunReport {
        block(self.engine(&CrashAfter::never()).run(false)).unwrap()
    }

    fn rollover(&self) -> danerollover::engine::RolloverReport {
        block(
            self.engine(&CrashAfter::never())
                .rollover(NAME, false, None, false),
        )
        .unwrap()
    }

    /// Prepublish, let the records propagate and the wait pass (recorded by runs).
    fn ready(&self) -> KeyInfo {
        let r = block(self.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
        assert_eq!(r.exit_code(), 0, "{r:#?}");
        let lag = self
            .world
            .world()
            .servers
            .iter()
            .map(|s| s.lag)
            .max()
            .unwrap_or(0);
        self.world.advance(lag + 10);
        self.run();
        self.world.advance(FIRST_WAIT);
        self.run();
        self.next().unwrap()
    }
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn r311(k: &KeyInfo) -> TlsaRecord {
    k.records(&[Matching::Sha256]).remove(0)
}

// ---------------------------------------------------------------------------------------
// Scenarios.

#[test]
fn hook_leaves_unmanaged_lineages_alone() {
    let f = Fixture::new(&[0, 0], "");
    let r = block(f.engine(&CrashAfter::never()).hook("other.example", false)).unwrap();
    assert!(matches!(r, HookReport::Unmanaged { ref lineage } if lineage == "other.example"));
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.text().lines().count(), 1);
    assert!(!f.store().state_path().exists());
    assert!(f.world.world().changes.is_empty());
}

#[test]
fn hook_first_run_publishes_current_and_next() {
    let f = Fixture::new(&[0, 0], "");
    let r = f.hook();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    let live = f.live();
    let next = f.next().expect("a next key");
    // prepublish prints the records, zone-file style.
    let r = block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let text = r.text();
    for owner in [OWNER, OWNER2] {
        for k in [&live, &next] {
            let line = format!("{owner} 300 IN TLSA 3 1 1 {}", k.id);
            assert!(text.contains(&line), "{text}");
        }
    }
    assert_ne!(live, next);
    assert!(f.served_everywhere(&live) && f.served_everywhere(&next));
    // The next key's file is kept under the state directory.
    let s = f.store().read().unwrap();
    let path = s.lineages[NAME].next.as_ref().unwrap().path.clone();
    assert!(path.starts_with(f.dir.path().join("keys").join(NAME)));
    let w = f.world.world();
    assert_eq!(spki_of_pem(&w.key_files[&path]), Some(next.spki.clone()));
    assert!(s.lineages[NAME].intent.is_none());
    // A second hook changes nothing in DNS.
    drop(w);
    let before = f.world.world().changes.len();
    f.hook();
    assert_eq!(f.world.world().changes.len(), before);
}

#[test]
fn hook_warns_when_reuse_key_is_off() {
    let f = Fixture::new(&[0, 0], "");
    f.world.world().lineages.get_mut(NAME).unwrap().reuse_key = false;
    let HookReport::Managed(r) = f.hook() else {
        panic!()
    };
    assert!(
        r.status.problems.iter().any(|p| p.contains("reuse_key")),
        "{:?}",
        r.status.problems
    );
}

#[test]
fn full_cycle_waits_switches_reloads_and_retires() {
    let f = Fixture::new(&[0, 30], "");
    let old = f.live();
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let next = f.next().unwrap();
    // Not yet: the second server lags.
    let r = f.rollover();
    assert_eq!(r.exit_code(), 75);
    let text = r.text();
    assert!(
        text.contains("not safe to switch yet") && text.contains("ns2"),
        "{text}"
    );
    match &r.outcome {
        RolloverOutcome::NotYet { reasons, earliest } => {
            assert_eq!(*earliest, None);
            assert!(reasons.iter().any(|x| x.contains("ns2")), "{reasons:?}");
        }
        o => panic!("{o:?}"),
    }
    f.world.advance(40);
    let r = f.rollover();
    let seen = f.world.world().now;
    match &r.outcome {
        RolloverOutcome::NotYet { earliest, .. } => {
            assert_eq!(
                *earliest,
                Some(seen + jiff::SignedDuration::from_secs(FIRST_WAIT))
            )
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(r.lineage.status.phase, "propagating");
    f.world.advance(FIRST_WAIT - 1);
    assert_eq!(f.rollover().exit_code(), 75);
    f.world.advance(1);
    let r = f.rollover();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    assert_eq!(f.live(), next);
    assert!(f.world.world().consistent(NAME));
    assert_eq!(f.world.world().reloads.len(), 1);
    // A new next key is published; the old key's record stays for now.
    let newer = f.next().unwrap();
    assert_ne!(newer, next);
    assert!(f.served_everywhere(&old) && f.served_everywhere(&next));
    assert!(f.served_anywhere(&newer));
    // The planted copy under the state directory goes on the next pass; the archive has it.
    f.run();
    let s = f.store().read().unwrap();
    assert!(s.lineages[NAME].cleanup.is_empty());
    assert_eq!(s.lineages[NAME].owners[OWNER].records.len(), 3);
    // One wait after the switch, the old record is retired.
    f.world.advance(WAIT - 5);
    f.run();
    assert!(f.served_anywhere(&old));
    f.world.advance(40);
    let r = f.run();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    // Gone at the provider; the lagging server follows 30 s later.
    assert!(!f.world.world().served(0, OWNER).contains(&r311(&old)));
    f.world.advance(31);
    assert!(!f.served_anywhere(&old));
    assert!(f.served_everywhere(&next));
}

#[test]
fn rollover_wait_polls_until_safe() {
    let f = Fixture::new(&[0, 0], "");
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let next = f.next().unwrap();
    let start = f.world.world().now;
    let r = block(
        f.engine(&CrashAfter::never())
            .rollover(NAME, true, None, false),
    )
    .unwrap();
    assert_eq!(r.outcome, RolloverOutcome::Switched);
    assert_eq!(f.live(), next);
    let took = f.world.world().now.duration_since(start).as_secs();
    assert!(
        (FIRST_WAIT..FIRST_WAIT + 120).contains(&took),
        "took {took}s"
    );
}

#[test]
fn rollover_wait_gives_up_at_max_wait() {
    let f = Fixture::new(&[0, 0], "");
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let r = block(f.engine(&CrashAfter::never()).rollover(
        NAME,
        true,
        Some(Duration::from_secs(200)),
        false,
    ))
    .unwrap();
    assert_eq!(r.exit_code(), 75);
    let old = f.live();
    assert_ne!(Some(old), f.next());
}

#[test]
fn dry_runs_change_nothing() {
    let f = Fixture::new(&[0, 0], "");
    let never = CrashAfter::never();
    let e = f.engine(&never);
    let r = block(e.prepublish(NAME, true)).unwrap();
    assert!(
        r.lineage.planned.iter().any(|p| p.contains("generate")),
        "{:?}",
        r.lineage.planned
    );
    block(e.run(true)).unwrap();
    assert!(f.world.world().changes.is_empty());
    assert!(f.world.world().key_files.is_empty());
    assert!(!f.store().state_path().exists());
    f.ready();
    let before = std::fs::read(f.store().state_path()).unwrap();
    let live = f.live();
    let r = block(
        f.engine(&CrashAfter::never())
            .rollover(NAME, false, None, true),
    )
    .unwrap();
    assert_eq!(r.outcome, RolloverOutcome::WouldSwitch, "{r:#?}");
    assert_eq!(f.live(), live);
    assert_eq!(std::fs::read(f.store().state_path()).unwrap(), before);
}

#[test]
fn certbot_failure_leaves_the_lineage_as_it_was() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    let old = f.live();
    let (link, versions) = {
        let w = f.world.world();
        let l = &w.lineages[NAME];
        (
            l.privkey_link,
            l.privkeys.keys().copied().collect::<Vec<_>>(),
        )
    };
    f.world.world().certbot_failures = 1;
    let r = f.rollover();
    assert_eq!(r.exit_code(), 1);
    assert!(matches!(&r.outcome, RolloverOutcome::Failed { error } if error.contains("certbot")));
    let w = f.world.world();
    assert_eq!(w.lineages[NAME].privkey_link, link);
    assert_eq!(
        w.lineages[NAME]
            .privkeys
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        versions
    );
    drop(w);
    assert_eq!(f.live(), old);
    assert_eq!(f.next(), Some(next.clone()));
    assert!(f.store().read().unwrap().lineages[NAME].intent.is_none());
    // And the next attempt works.
    assert_eq!(f.rollover().outcome, RolloverOutcome::Switched);
    assert_eq!(f.live(), next);
}

#[test]
fn renewal_with_a_new_key_is_an_outage_published_at_once() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    f.world.world().external_renew(NAME, true);
    let new = f.live();
    assert!(!f.served_anywhere(&new));
    let r = f.hook();
    assert_ne!(r.exit_code(), 0);
    assert!(
        r.text().starts_with("OUTAGE: mail.example.test"),
        "{}",
        r.text()
    );
    let HookReport::Managed(rep) = &r else {
        panic!()
    };
    assert!(rep.outage);
    // The report shows the world after publishing: every server serves the live key's
    // record now; the outage found before stays its first line and its exit code.
    assert!(
        rep.status
            .owners
            .iter()
            .all(|o| o.servers.iter().all(|s| s.serves_current)),
        "{:#?}",
        rep.status.owners
    );
    assert!(f.served_everywhere(&new));
    // The next key is kept.
    assert_eq!(f.next(), Some(next));
}

#[test]
fn renewal_with_reuse_key_keeps_everything() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    let live = f.live();
    f.world.world().external_renew(NAME, false);
    assert_eq!(f.live(), live);
    let r = f.hook();
    assert_eq!(r.exit_code(), 0);
    assert_eq!(f.next(), Some(next));
}

/// What every certbot surprise must end with: privkey.pem matching cert.pem, the live
/// key's record served everywhere, no intent left, the next key kept, and the next
/// rollover switching to it.
fn after_surprise(f: &Fixture, label: &str, next: &KeyInfo) {
    assert!(
        f.world.world().consistent(NAME),
        "privkey.pem does not match cert.pem"
    );
    let s = f.store().read().unwrap();
    assert!(s.lineages[NAME].intent.is_none(), "intent left");
    drop(s);
    assert!(
        f.served_everywhere(&f.live()),
        "the live key's record is not served"
    );
    assert_eq!(f.next(), Some(next.clone()), "the next key changed");
    // The next rollover works (after a wait when the live key changed under us).
    f.world.advance(WAIT + 10);
    f.run();
    let again = f.rollover();
    assert_eq!(
        again.outcome,
        RolloverOutcome::Switched,
        "{label}: {again:#?}"
    );
    assert_eq!(f.live(), *next);
    assert!(f.world.world().consistent(NAME));
}

#[test]
fn certbot_exiting_0_without_renewing_is_undone_and_loud() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    let old = f.live();
    f.world.world().certbot_next = Some(CertbotBehaviour::NoOp);
    let r = f.rollover();
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    let RolloverOutcome::Failed { error } = &r.outcome else {
        panic!("{r:#?}")
    };
    assert!(
        error.contains("did not renew") && error.contains("--force-renewal --reuse-key"),
        "{error}"
    );
    assert_eq!(f.live(), old);
    // The planted key is gone from the archive again: only version 1 is left.
    assert_eq!(f.world.world().lineages[NAME].privkeys.len(), 1);
    after_surprise(&f, &format!("{r:?}"), &next);
}

#[test]
fn certbot_renewing_with_its_own_key_is_published_and_loud() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    let old = f.live();
    f.world.world().certbot_next = Some(CertbotBehaviour::OwnKey);
    let r = f.rollover();
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    let RolloverOutcome::Failed { error } = &r.outcome else {
        panic!("{r:#?}")
    };
    assert!(error.contains("a key of its own"), "{error}");
    let own = f.live();
    assert!(own != old && own != next);
    assert!(
        f.served_everywhere(&own),
        "certbot's own key must be published at once"
    );
    after_surprise(&f, &format!("{r:?}"), &next);
}

#[test]
fn certbot_crashing_after_writing_the_archive_is_undone() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    let old = f.live();
    f.world.world().certbot_next = Some(CertbotBehaviour::FailAfterArchive);
    let r = f.rollover();
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    assert!(
        matches!(&r.outcome, RolloverOutcome::Failed { error } if error.contains("certbot renew failed")),
        "{r:#?}"
    );
    assert_eq!(f.live(), old);
    after_surprise(&f, &format!("{r:?}"), &next);
}

#[test]
fn certbot_failing_after_installing_the_certificate_still_switches() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    f.world.world().certbot_next = Some(CertbotBehaviour::FailAfterLinks);
    let r = f.rollover();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    assert_eq!(f.live(), next);
    assert!(f.world.world().consistent(NAME));
    assert!(
        r.lineage
            .failures
            .iter()
            .any(|e| e.contains("certbot reported a failure")),
        "{r:#?}"
    );
    // The switch's other steps still happened: a new next key, the reload.
    assert!(f.next().is_some_and(|n| n != next));
    assert_eq!(f.world.world().reloads.len(), 1);
    // Switched, but a failure was recorded: exit 1.
    assert_eq!(r.exit_code(), 1, "{r:#?}");
}

#[test]
fn rollover_and_prepublish_exit_1_when_the_pass_recorded_a_failure() {
    // A reload failing after the switch.
    let f = Fixture::new(&[0, 0], "");
    f.ready();
    f.world.world().reload_failures = 1;
    let r = f.rollover();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    assert!(
        r.lineage.failures.iter().any(|e| e.contains("reload")),
        "{r:#?}"
    );
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    // A publication failing while the switch is not safe yet: 1, not 75.
    let f = Fixture::new(&[0, 0], "");
    f.world.world().provider_failures = 1;
    let r = f.rollover();
    assert!(
        matches!(r.outcome, RolloverOutcome::NotYet { .. }),
        "{r:#?}"
    );
    assert!(
        r.lineage.failures.iter().any(|e| e.contains("HTTP 503")),
        "{r:#?}"
    );
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    // prepublish: the same publication failing, then working.
    let f = Fixture::new(&[0, 0], "");
    f.world.world().provider_failures = 1;
    let r = block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    let r = block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
}

#[test]
fn kill_while_certbot_runs_leaves_the_switch_to_certbot() {
    for behaviour in [
        CertbotBehaviour::Renew,
        CertbotBehaviour::NoOp,
        CertbotBehaviour::OwnKey,
        CertbotBehaviour::FailAfterArchive,
    ] {
        let counting = Fixture::new(&[0, 0], "");
        counting.ready();
        // Killed right after certbot started (its pid saved in the intent).
        let counter = CrashAfter::never();
        let _ = block(counting.engine(&counter).rollover(NAME, false, None, false));
        let k = counter
            .steps()
            .iter()
            .position(|s| *s == Step::CertbotStarted)
            .expect("CertbotStarted step");
        let f = Fixture::new(&[0, 0], "");
        let next2 = f.ready();
        f.world.world().certbot_next = Some(behaviour);
        assert!(
            block(
                f.engine(&CrashAfter::at(k))
                    .rollover(NAME, false, None, false)
            )
            .is_err()
        );
        let intent = f.store().read().unwrap().lineages[NAME].intent.clone();
        let Some(Intent::Switch {
            certbot: Some(run), ..
        }) = intent
        else {
            panic!("{behaviour:?}: no certbot pid in the intent: {intent:?}")
        };
        assert!(
            f.world
                .world()
                .certbot_pending
                .as_ref()
                .is_some_and(|p| p.pid == run.pid)
        );
        // Runs while certbot still works change nothing and say why.
        let links = {
            let w = f.world.world();
            (
                w.lineages[NAME].privkey_link,
                w.lineages[NAME].privkeys.len(),
            )
        };
        let r = f.run();
        assert_eq!(r.exit_code(), 1, "{behaviour:?}");
        let text = format!("{r:?}");
        assert!(text.contains("still runs"), "{behaviour:?}: {text}");
        assert!(f.store().read().unwrap().lineages[NAME].intent.is_some());
        {
            let w = f.world.world();
            assert_eq!(
                (
                    w.lineages[NAME].privkey_link,
                    w.lineages[NAME].privkeys.len()
                ),
                links,
                "{behaviour:?}: a run touched the lineage while certbot ran"
            );
        }
        // certbot completes (or not) on its own; the next run settles it.
        let _ = f.world.world().finish_certbot();
        f.run();
        assert!(f.world.world().consistent(NAME), "{behaviour:?}");
        assert!(f.store().read().unwrap().lineages[NAME].intent.is_none());
        if behaviour == CertbotBehaviour::Renew {
            assert_eq!(f.live(), next2, "the switch certbot completed was kept");
            let s = f.store().read().unwrap();
            assert_eq!(s.lineages[NAME].current.as_ref().unwrap().key, next2);
        } else {
            after_surprise(&f, &format!("{behaviour:?}"), &next2);
        }
    }
}

#[test]
fn privkey_not_matching_the_certificate_is_reported_with_the_fix() {
    // As an older danerollover left it after a certbot that exited 0 without renewing.
    let f = Fixture::new(&[0, 0], "");
    f.ready();
    {
        let mut w = f.world.world();
        let l = w.lineages.get_mut(NAME).unwrap();
        l.privkeys.insert(2, b"PEM-999".to_vec());
        l.privkey_link = 2;
    }
    let r = f.run();
    assert_eq!(r.exit_code(), 1);
    let text = format!("{r:?}");
    assert!(
        text.contains("privkey.pem does not match cert.pem") && text.contains("privkeyN.pem"),
        "{text}"
    );
}

/// certbot that runs danerollover's deploy hook (a second engine, as a separate process
/// would) in the middle of its renewal, with the switching marker set.
struct NestedHookCertbot<'a> {
    fixture: &'a Fixture,
    seen: std::sync::Mutex<Option<HookReport>>,
}

#[async_trait]
impl Renewer for NestedHookCertbot<'_> {
    async fn start(&self, lineage: &str) -> Result<CertbotRun, Error> {
        self.fixture.world.start(lineage).await
    }

    fn running(&self, lineage: &str, run: Option<&CertbotRun>) -> Result<bool, String> {
        self.fixture.world.running(lineage, run)
    }

    fn client(&self, lineage: &str) -> String {
        self.fixture.world.client(lineage)
    }

    async fn wait(&self, lineage: &str, run: &CertbotRun) -> Result<(), Error> {
        self.fixture.world.wait(lineage, run).await?;
        let never = CrashAfter::never();
        let mut hook_engine = self.fixture.engine(&never);
        hook_engine.options.switching = Some(lineage.to_string());
        let report = hook_engine.hook(lineage, false).await?;
        *self.seen.lock().unwrap() = Some(report);
        // Without the marker the hook would wait for the lock the rollover holds.
        let plain = self.fixture.engine(&never);
        let err = plain.hook(lineage, false).await.unwrap_err();
        assert!(err.to_string().contains("pid"), "{err}");
        Ok(())
    }
}

#[test]
fn deploy_hook_inside_a_switch_leaves_promotion_to_the_rollover() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    let certbot = NestedHookCertbot {
        fixture: &f,
        seen: std::sync::Mutex::new(None),
    };
    let never = CrashAfter::never();
    let e = f.engine_with(&never, &certbot);
    let r = block(e.rollover(NAME, false, None, false)).unwrap();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    assert!(matches!(
        certbot.seen.lock().unwrap().as_ref(),
        Some(HookReport::LeftToRollover { .. })
    ));
    assert_eq!(f.live(), next);
    assert_eq!(f.world.world().reloads.len(), 1);
}

#[test]
fn a_busy_lock_fails_clearly() {
    let f = Fixture::new(&[0, 0], "");
    let _held = f.store().lock(Duration::from_secs(1)).unwrap();
    let err = block(f.engine(&CrashAfter::never()).hook(NAME, false)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    assert!(text.contains("lock"), "{text}");
}

#[test]
fn status_json_has_the_stable_fields_and_flags_danger() {
    let f = Fixture::new(&[0, 0], "");
    f.ready();
    let r = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    let json = serde_json::to_value(&r).unwrap();
    let l = &json["lineages"][0];
    assert_eq!(l["name"], NAME);
    assert_eq!(l["phase"], "ready");
    assert_eq!(l["current"], f.live().id.to_string());
    assert_eq!(l["next"], f.next().unwrap().id.to_string());
    assert!(l["switch_allowed_at"].as_str().unwrap().ends_with('Z'));
    assert!(l["problems"].as_array().unwrap().is_empty());
    assert_eq!(l["owners"].as_array().unwrap().len(), 2);
    // Status saves nothing.
    let before = std::fs::read(f.store().state_path()).unwrap();
    f.world.world().validation = Validation::Bogus;
    let r = block(f.engine(&CrashAfter::never()).status(Some(NAME))).unwrap();
    assert_eq!(r.exit_code(), 1);
    assert!(r.lineages[0].in_danger);
    assert!(r.lineages[0].problems.iter().any(|p| p.contains("bogus")));
    assert_eq!(std::fs::read(f.store().state_path()).unwrap(), before);
    // An unknown lineage is a usage error.
    let err = block(f.engine(&CrashAfter::never()).status(Some("nope"))).unwrap_err();
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn run_performs_scheduled_rollovers_when_due_and_safe() {
    let f = Fixture::new(&[0, 0], "rollover_every = \"1d\"");
    let next = f.ready();
    // Ready, but not due.
    f.run();
    assert_ne!(f.live(), next);
    f.world.advance(86_400);
    let r = f.run();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    assert_eq!(f.live(), next);
    assert!(r.lineages[0].switched);
}

#[test]
fn provider_failures_are_reported_and_retried() {
    let f = Fixture::new(&[0, 0], "");
    f.world.world().provider_failures = 1;
    let r = f.hook();
    assert_eq!(r.exit_code(), 1);
    let HookReport::Managed(rep) = &r else {
        panic!()
    };
    assert!(
        rep.failures.iter().any(|x| x.contains("HTTP 503")),
        "{:?}",
        rep.failures
    );
    let r = f.hook();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    assert!(f.served_everywhere(&f.live()));
    assert!(f.served_everywhere(&f.next().unwrap()));
}

/// Records already there at danerollover's first look: their TTL before it is unknown, so
/// the first wait counts `[dns] prior_ttl` (default 7 days) and says so.
#[test]
fn first_look_records_wait_for_the_default_prior_ttl() {
    let mut f = Fixture::new(&[0, 0], "");
    f.config = config_dns("prior_ttl = \"7d\"", "");
    let live = f.live();
    for owner in [OWNER, OWNER2] {
        f.world.seed_rrset(owner, vec![r311(&live)], 60);
    }
    let r = f.hook();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    f.world.advance(3 * WAIT);
    let r = f.rollover();
    assert_eq!(f.live(), live, "switched within the assumed TTL: {r:#?}");
    let text = format!("{r:?}");
    assert!(text.contains("prior_ttl"), "{text}");
    // 2 x 7 days + 60 s after the records were served everywhere: safe.
    f.world.advance(14 * 86_400);
    f.run();
    let r = f.rollover();
    assert_ne!(f.live(), live, "{r:#?}");
    // Without the setting's default (a prior_ttl no larger than the TTL seen), the same
    // history switches after 2 x 300 + 60 s: the setting is what holds it.
    let mut g = Fixture::new(&[0, 0], "");
    g.config = config_dns("prior_ttl = \"60s\"", "");
    let live = g.live();
    for owner in [OWNER, OWNER2] {
        g.world.seed_rrset(owner, vec![r311(&live)], 60);
    }
    g.hook();
    g.world.advance(3 * WAIT);
    g.rollover();
    assert_ne!(g.live(), live);
}

#[test]
fn foreign_records_survive_a_whole_cycle() {
    let f = Fixture::new(&[0, 0], "");
    let other = r311(&KeyInfo::from_spki(b"another lineage"));
    let ta: TlsaRecord = format!("2 0 1 {}", "cd".repeat(32)).parse().unwrap();
    let live = f.live();
    f.world
        .seed_rrset(OWNER, vec![other.clone(), ta.clone(), r311(&live)], 300);
    f.ready();
    f.rollover();
    f.world.advance(2 * WAIT);
    f.run();
    f.run();
    assert!(
        !f.served_anywhere(&live),
        "the old key's hand-made record was adopted and retired"
    );
    let w = f.world.world();
    for i in 0..2 {
        let served = w.served(i, OWNER);
        assert!(
            served.contains(&other) && served.contains(&ta),
            "{served:?}"
        );
    }
    assert!(
        w.changes
            .iter()
            .all(|(_, c)| !c.remove.contains(&other) && !c.remove.contains(&ta))
    );
}

const TARGET: &str = "_dane.example.test.";

#[test]
fn a_cnamed_owner_is_published_and_retired_at_its_target_through_a_whole_cycle() {
    // _465 is an alias of _dane (RFC 7671 7), which already serves the live key's record.
    let f = Fixture::new(&[0, 20], "");
    let old = f.live();
    f.world.seed_rrset(TARGET, vec![r311(&old)], 300);
    f.world
        .world()
        .aliases
        .insert(OWNER2.to_string(), TARGET.to_string());
    let r = block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    let text = r.text();
    assert!(
        text.contains(&format!("at the CNAME target {TARGET}")),
        "{text}"
    );
    let next = f.next().unwrap();
    // Nothing was ever sent to the alias name; the target got the next key's record.
    let changed_at = |w: &danerollover::engine::memory::World| -> Vec<String> {
        w.changes.iter().map(|(_, c)| c.owner.clone()).collect()
    };
    assert!(!changed_at(&f.world.world()).contains(&OWNER2.to_string()));
    {
        let w = f.world.world();
        assert!(
            w.rrset_at(TARGET, w.now)
                .unwrap()
                .records
                .contains(&r311(&next))
        );
    }
    // Status: healthy, shows the chain, and the alias's servers count through the CNAME.
    f.world.advance(30);
    let st = block(f.engine(&CrashAfter::never()).status(Some(NAME))).unwrap();
    assert_eq!(st.exit_code(), 0, "{st:#?}");
    assert!(!st.lineages[0].in_danger, "{:?}", st.lineages[0].dangers);
    let text = st.text();
    assert!(text.contains(&format!("CNAME -> {TARGET}")), "{text}");
    assert!(
        text.contains(&format!("records are published at {TARGET}")),
        "{text}"
    );
    // The whole cycle: wait, switch, retire (at the target).
    f.run();
    f.world.advance(FIRST_WAIT);
    let r = f.rollover();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    f.world.advance(WAIT + 30);
    let r = f.run();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    f.world.advance(30);
    f.run();
    let w = f.world.world();
    assert!(
        !changed_at(&w).contains(&OWNER2.to_string()),
        "never beside the CNAME"
    );
    for i in 0..2 {
        let at_target = w.served(i, OWNER2);
        assert!(at_target.contains(&r311(&next)), "{at_target:?}");
        assert!(
            !at_target.contains(&r311(&old)),
            "retired at the target: {at_target:?}"
        );
    }
    assert!(!w.rrsets.contains_key(OWNER2));
}

#[test]
fn a_cname_into_a_zone_no_provider_manages_is_a_clear_error() {
    // The memory world reports one zone for everything; name the owner's zone otherwise.
    let f = Fixture::new(&[0, 0], "zone = \"mail.example.test\"");
    f.world
        .world()
        .aliases
        .insert(OWNER2.to_string(), TARGET.to_string());
    let r = block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    let text = format!("{r:?}");
    assert!(
        text.contains("zone example.test")
            && text.contains("[zones.\\\"example.test\\\"] provider"),
        "{text}"
    );
    assert!(!f.world.world().rrsets.contains_key(OWNER2));
    // Saying which provider writes the target's zone fixes it.
    let mut f2 = f;
    f2.config =
        config("zone = \"mail.example.test\"\n[zones.\"example.test\"]\nprovider = \"mem\"");
    let r = block(f2.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    let w = f2.world.world();
    assert!(w.rrset_at(TARGET, w.now).is_some());
}

#[test]
fn two_lineages_at_one_owner_roll_over_on_their_own_schedules() {
    const RSA: &str = "rsa.mail.example.test";
    let mut f = Fixture::new(&[0, 0], "");
    let rsa_old = f.world.add_lineage(RSA, true);
    let ecdsa_old = f.live();
    f.config = Config::parse(
        &format!(
            r#"
[dns]
margin = "60s"
[providers.mem]
type = "manual"
[lineages."{NAME}"]
provider = "mem"
tlsa = ["_25._tcp.mail.example.test"]
ttl = 300
[lineages."{RSA}"]
provider = "mem"
tlsa = ["_25._tcp.mail.example.test"]
ttl = 300
"#
        ),
        Path::new("test.toml"),
    )
    .unwrap();
    let next_of = |name: &str| {
        f.store().read().unwrap().lineages[name]
            .next
            .as_ref()
            .map(|n| n.key.clone())
            .unwrap()
    };
    let served = |k: &KeyInfo| {
        let w = f.world.world();
        (0..2).all(|i| w.served(i, OWNER).contains(&r311(k)))
    };
    let healthy = || {
        let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
        assert_eq!(st.exit_code(), 0, "{st:#?}");
        assert!(st.lineages.iter().all(|l| !l.in_danger), "{st:#?}");
    };
    for name in [NAME, RSA] {
        let r = block(f.engine(&CrashAfter::never()).prepublish(name, false)).unwrap();
        assert_eq!(r.exit_code(), 0, "{r:#?}");
    }
    let (ecdsa_next, rsa_next) = (next_of(NAME), next_of(RSA));
    for k in [&ecdsa_old, &ecdsa_next, &rsa_old, &rsa_next] {
        assert!(served(k));
    }
    healthy();
    f.run();
    f.world.advance(FIRST_WAIT + 10);
    f.run();
    // The ECDSA lineage switches first; the RSA lineage's records stay untouched.
    let r = f.rollover();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    healthy();
    f.world.advance(WAIT + 10);
    f.run();
    f.run();
    assert!(
        !served(&ecdsa_old),
        "the ECDSA lineage's old record is retired"
    );
    for k in [&ecdsa_next, &next_of(NAME), &rsa_old, &rsa_next] {
        assert!(served(k), "{k:?}");
    }
    healthy();
    // Then the RSA lineage, days later.
    f.world.advance(86_400);
    f.run();
    let r = block(
        f.engine(&CrashAfter::never())
            .rollover(RSA, false, None, false),
    )
    .unwrap();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    healthy();
    f.world.advance(WAIT + 10);
    f.run();
    f.run();
    assert!(!served(&rsa_old));
    for k in [&ecdsa_next, &next_of(NAME), &rsa_next, &next_of(RSA)] {
        assert!(served(k), "{k:?}");
    }
    healthy();
    // Neither lineage ever removed a record of the other's keys.
    let w = f.world.world();
    for (_, c) in &w.changes {
        for r in &c.remove {
            assert!(
                *r == r311(&ecdsa_old) || *r == r311(&rsa_old),
                "only retired keys' records are removed: {r}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// kill -9 after every step, then run again.

/// What must hold after any crash, before recovery: no next key lost, no key file removed
/// that was not planted, the lineage consistent or a switch intent recorded.
fn check_after_crash(f: &Fixture, label: &str) {
    let s = f.store().read().unwrap();
    let w = f.world.world();
    if let Some(ls) = s.lineages.get(NAME) {
        if let Some(next) = &ls.next {
            assert_eq!(
                w.key_files.get(&next.path).and_then(|p| spki_of_pem(p)),
                Some(next.key.spki.clone()),
                "{label}: the next key's file is lost"
            );
        }
        let switching = matches!(ls.intent, Some(Intent::Switch { .. }));
        assert!(
            w.consistent(NAME) || switching,
            "{label}: half-switched lineage without an intent"
        );
    }
    for (path, content) in &w.removed_key_files {
        assert!(
            w.lineages[NAME].privkeys.values().any(|p| p == content),
            "{label}: {} was removed before being planted",
            path.display()
        );
    }
}

/// After recovery: converged and safe.
fn check_converged(f: &Fixture, label: &str) {
    for _ in 0..3 {
        f.world.advance(30);
        let r = f.run();
        assert!(r.errors.is_empty(), "{label}: {r:#?}");
    }
    let s = f.store().read().unwrap();
    let ls = &s.lineages[NAME];
    assert!(ls.intent.is_none(), "{label}: intent left");
    let w = f.world.world();
    assert!(w.consistent(NAME), "{label}: inconsistent lineage");
    let next = ls.next.as_ref().expect("a next key");
    assert!(
        w.key_files.contains_key(&next.path),
        "{label}: next key file missing"
    );
    drop(w);
    let live = f.live();
    assert_eq!(ls.current.as_ref().unwrap().key, live, "{label}");
    assert!(f.served_everywhere(&live), "{label}: live key not served");
    assert!(
        f.served_everywhere(&next.key),
        "{label}: next key not served"
    );
    // Whatever key the lineage switched to had been served everywhere for the wait.
    let w = f.world.world();
    for (at, spki, by_switch) in &w.lineages[NAME].live_log {
        if *by_switch {
            let k = KeyInfo::from_spki(spki);
            let first = first_served_everywhere(&w, &k);
            assert!(
                first.is_some_and(|t| at.duration_since(t).as_secs() >= FIRST_WAIT),
                "{label}: switched to a key at {at} first served everywhere at {first:?}"
            );
        }
    }
    assert!(!ls.reload_pending, "{label}: reload still pending");
}

/// When a key's record was first in the provider's RRset at both owners (servers have no
/// lag in the crash tests).
fn first_served_everywhere(
    w: &danerollover::engine::memory::World,
    k: &KeyInfo,
) -> Option<Timestamp> {
    let r = r311(k);
    [OWNER, OWNER2]
        .iter()
        .map(|o| {
            w.rrsets
                .get(*o)
                .and_then(|h| h.iter().find(|v| v.records.contains(&r)).map(|v| v.at))
        })
        .collect::<Option<Vec<_>>>()
        .and_then(|v| v.into_iter().max())
}

/// Run `op` on a fresh fixture prepared by `arrange` with a crash after each step k in
/// turn, recover with `recover`, and check. Returns how many steps the clean run took.
fn crash_everywhere(
    name: &str,
    arrange: &dyn Fn(&Fixture),
    op: &dyn Fn(&Fixture, &dyn FailPoint) -> Result<(), Error>,
    recover: &dyn Fn(&Fixture),
) -> usize {
    let clean = Fixture::new(&[0, 0], "");
    arrange(&clean);
    let counter = CrashAfter::never();
    op(&clean, &counter).unwrap();
    let steps = counter.steps();
    assert!(!steps.is_empty(), "{name}: no steps");
    check_converged(&clean, &format!("{name} (no crash)"));
    for (k, step) in steps.iter().enumerate() {
        let f = Fixture::new(&[0, 0], "");
        arrange(&f);
        let crash = CrashAfter::at(k);
        let r = op(&f, &crash);
        let label = format!("{name}: crash after step {k} ({step:?})");
        assert!(r.is_err(), "{label}: did not stop");
        check_after_crash(&f, &label);
        // Killed while certbot ran: certbot goes on; a run meanwhile touches nothing.
        if f.world.world().certbot_pending.is_some() {
            let before = format!("{:?}", f.world.world().lineages[NAME]);
            let held = f.run();
            assert_eq!(held.exit_code(), 1, "{label}: {held:#?}");
            assert_eq!(
                format!("{:?}", f.world.world().lineages[NAME]),
                before,
                "{label}"
            );
            let _ = f.world.world().finish_certbot();
        }
        recover(&f);
        check_after_crash(&f, &format!("{label}, recovered"));
        check_converged(&f, &label);
    }
    eprintln!(
        "{name}: {} crash points, each recovered and converged",
        steps.len()
    );
    steps.len()
}

#[test]
fn kill_during_first_hook_converges() {
    let n = crash_everywhere(
        "hook",
        &|_| {},
        &|f, fail| block(f.engine(fail).hook(NAME, false)).map(|_| ()),
        &|f| {
            f.hook();
        },
    );
    assert!(n >= 8, "{n} steps");
}

#[test]
fn kill_during_prepublish_converges() {
    crash_everywhere(
        "prepublish",
        &|_| {},
        &|f, fail| block(f.engine(fail).prepublish(NAME, false)).map(|_| ()),
        &|f| {
            block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
        },
    );
}

#[test]
fn kill_during_rollover_converges_without_half_switch() {
    let n = crash_everywhere(
        "rollover",
        &|f| {
            f.ready();
        },
        &|f, fail| block(f.engine(fail).rollover(NAME, false, None, false)).map(|_| ()),
        &|f| {
            // The next run repairs before anything else; then a rollover (if still
            // needed) completes the switch.
            f.run();
            let s = f.store().read().unwrap();
            assert!(s.lineages[NAME].intent.is_none(), "the run did not repair");
            assert!(f.world.world().consistent(NAME));
            if s.lineages[NAME].last_switch.is_none() {
                assert_eq!(f.rollover().outcome, RolloverOutcome::Switched);
            }
        },
    );
    assert!(n >= 10, "{n} steps");
}

#[test]
fn kill_during_rollover_then_certbot_timer_hook_converges() {
    // After a crash, the next thing to run may be certbot's own renewal and its hook.
    crash_everywhere(
        "rollover+timer",
        &|f| {
            f.ready();
        },
        &|f, fail| block(f.engine(fail).rollover(NAME, false, None, false)).map(|_| ()),
        &|f| {
            f.world.world().external_renew(NAME, false);
            let r = f.hook();
            assert!(!matches!(r, HookReport::LeftToRollover { .. }));
        },
    );
}

#[test]
fn kill_during_rollover_then_renewal_with_a_new_key_converges() {
    // certbot's timer renews with a brand-new key before danerollover runs again; it may
    // take the very archive version the interrupted switch meant to plant.
    crash_everywhere(
        "rollover+new key",
        &|f| {
            f.ready();
        },
        &|f, fail| block(f.engine(fail).rollover(NAME, false, None, false)).map(|_| ()),
        &|f| {
            f.world.world().external_renew(NAME, true);
            assert!(f.world.world().consistent(NAME));
            f.hook();
            assert!(
                f.world.world().consistent(NAME),
                "the repair broke certbot's renewal"
            );
        },
    );
}

#[test]
fn kill_during_retirement_converges() {
    crash_everywhere(
        "retire",
        &|f| {
            f.ready();
            assert_eq!(f.rollover().outcome, RolloverOutcome::Switched);
            f.run();
            f.world.advance(WAIT + 10);
        },
        &|f, fail| block(f.engine(fail).run(false)).map(|_| ()),
        &|f| {
            f.run();
        },
    );
}

#[test]
fn crash_steps_cover_every_kind_of_step() {
    let f = Fixture::new(&[0, 0], "");
    let c = CrashAfter::never();
    block(f.engine(&c).hook(NAME, false)).unwrap();
    f.world.advance(10);
    block(f.engine(&c).run(false)).unwrap();
    f.world.advance(FIRST_WAIT);
    block(f.engine(&c).rollover(NAME, false, None, false)).unwrap();
    f.run();
    f.world.advance(WAIT + 10);
    block(f.engine(&c).run(false)).unwrap();
    let seen = c.steps();
    for step in [
        Step::Observed,
        Step::NextKeyIntent,
        Step::NextKeyWritten,
        Step::NextKeySaved,
        Step::Published,
        Step::PublishSaved,
        Step::SwitchIntent,
        Step::Planted,
        Step::Repointed,
        Step::CertbotStarted,
        Step::Renewed,
        Step::SwitchSaved,
        Step::Reloaded,
        Step::ReloadSaved,
        Step::Retired,
        Step::RetireSaved,
    ] {
        assert!(seen.contains(&step), "{step:?} never seen: {seen:?}");
    }
}

/// Lineages that share `run`'s batches with [`NAME`] in the batched-run tests.
const OTHERS: [&str; 2] = ["mx1.example.test", "mx2.example.test"];

fn several() -> Fixture {
    let extra: String = OTHERS
        .iter()
        .map(|n| {
            format!(
                "[lineages.\"{n}\"]\nprovider = \"mem\"\ntlsa = [\"_25._tcp.{n}\"]\nttl = 300\n"
            )
        })
        .collect();
    let f = Fixture::new(&[0, 0], &extra);
    for n in OTHERS {
        f.world.add_lineage(n, true);
    }
    f
}

/// Every lineage of a [`several`] fixture: no lost next key, no intent left, current and
/// next records served by every server at each owner.
fn check_all_converged(f: &Fixture, label: &str) {
    let s = f.store().read().unwrap();
    let w = f.world.world();
    for name in std::iter::once(NAME).chain(OTHERS) {
        let ls = &s.lineages[name];
        assert!(ls.intent.is_none(), "{label}: {name}: intent left");
        assert!(w.consistent(name), "{label}: {name}: inconsistent");
        let next = ls.next.as_ref().expect("a next key");
        assert_eq!(
            w.key_files.get(&next.path).and_then(|p| spki_of_pem(p)),
            Some(next.key.spki.clone()),
            "{label}: {name}: next key file"
        );
        let live = KeyInfo::from_spki(&w.live_spki(name).unwrap());
        let owners: Vec<String> = if name == NAME {
            vec![OWNER.into(), OWNER2.into()]
        } else {
            vec![format!("_25._tcp.{name}.")]
        };
        for o in &owners {
            for i in 0..w.servers.len() {
                let served = w.served(i, o);
                assert!(
                    served.contains(&r311(&live)),
                    "{label}: {name}: live at {o}"
                );
                assert!(
                    served.contains(&r311(&next.key)),
                    "{label}: {name}: next at {o}"
                );
            }
        }
    }
}

#[test]
fn a_run_over_several_lineages_batches_its_saves_and_survives_a_kill_after_every_step() {
    // One clean first run over three lineages: one observation save, the three next keys'
    // intents in one save, three files, one save, one provider batch, one save.
    let clean = several();
    let counter = CrashAfter::never();
    let r = block(clean.engine(&counter).run(false)).unwrap();
    assert!(r.errors.is_empty(), "{r:#?}");
    assert_eq!(r.lineages.len(), 3);
    assert_eq!(
        counter.steps(),
        vec![
            Step::Observed,
            Step::NextKeyIntent,
            Step::NextKeyWritten,
            Step::NextKeyWritten,
            Step::NextKeyWritten,
            Step::NextKeySaved,
            Step::Published,
            Step::PublishSaved,
        ]
    );
    clean.world.advance(30);
    clean.run();
    check_all_converged(&clean, "no crash");
    // Killed after each step in turn: the next run (a hook of one lineage first, then a
    // run) converges every lineage.
    for (k, step) in counter.steps().iter().enumerate() {
        let f = several();
        let crash = CrashAfter::at(k);
        let label = format!("crash after step {k} ({step:?})");
        assert!(block(f.engine(&crash).run(false)).is_err(), "{label}");
        check_after_crash(&f, &label);
        f.hook();
        f.world.advance(30);
        let r = f.run();
        assert!(r.errors.is_empty(), "{label}: {r:#?}");
        assert!(
            r.lineages.iter().all(|l| l.failures.is_empty()),
            "{label}: {r:#?}"
        );
        f.world.advance(30);
        f.run();
        check_all_converged(&f, &label);
    }
}

// ---------------------------------------------------------------------------------------
// Endpoints and the emergency rollover.

use danerollover::engine::EmergencyOutcome;
use danerollover::engine::memory::Follow;

/// An endpoint serving copies of the key: after a switch it keeps the old key, the old
/// record stays past its wait and `run`/`status` exit 1 naming it; once someone gives it
/// the new files and reloads it, the next `run` retires the record and exits 0.
#[test]
fn an_endpoint_serving_copies_holds_the_old_record_until_fixed() {
    let f = Fixture::new(&[0], "");
    let copies = f
        .world
        .add_endpoint(NAME, "mail.example.test", 25, Follow::Copies);
    f.world
        .add_endpoint(NAME, "mail.example.test", 465, Follow::Reload);
    let old = f.live();
    f.ready();
    let r = f.rollover();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    let text = r.text();
    assert!(
        text.contains("127.0.0.1:25 (mail.example.test): still serves the old key 3 1 1")
            && text.contains("run its reload"),
        "{text}"
    );
    // The reload made the 465 endpoint follow; the copies did not.
    f.world.advance(WAIT + 60);
    let r = f.run();
    assert_eq!(r.exit_code(), 1, "{}", r.text());
    assert!(
        f.served_everywhere(&old),
        "retired while 127.0.0.1:25 serves it"
    );
    let text = r.text();
    assert!(
        text.contains("127.0.0.1:25 (mail.example.test): still serves the old key"),
        "{text}"
    );
    assert!(
        !text.contains("127.0.0.2:465 (mail.example.test): still"),
        "{text}"
    );
    let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
    assert_eq!(st.exit_code(), 1);
    assert!(
        st.lineages[0]
            .endpoint_alerts
            .iter()
            .any(|a| a.contains("127.0.0.1:25")),
        "{st:#?}"
    );
    // Fixed by hand: the next run retires.
    f.world.world().fix_endpoint(copies);
    let r = f.run();
    assert_eq!(r.exit_code(), 0, "{}", r.text());
    assert!(!f.served_anywhere(&old));
    let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
    assert_eq!(st.exit_code(), 0, "{}", st.text());
}

/// An endpoint that cannot be probed holds a retirement back too (what it serves is unknown).
#[test]
fn an_unreachable_endpoint_holds_the_old_record() {
    let f = Fixture::new(&[0], "");
    let e = f
        .world
        .add_endpoint(NAME, "mail.example.test", 25, Follow::Reload);
    let old = f.live();
    f.ready();
    assert_eq!(f.rollover().outcome, RolloverOutcome::Switched);
    f.world.world().endpoints[e].down = true;
    f.world.advance(WAIT + 60);
    let r = f.run();
    assert_eq!(r.exit_code(), 1, "{}", r.text());
    assert!(
        r.text().contains("cannot tell which key it serves"),
        "{}",
        r.text()
    );
    assert!(f.served_everywhere(&old));
    f.world.world().endpoints[e].down = false;
    assert_eq!(f.run().exit_code(), 0);
    assert!(!f.served_anywhere(&old));
}

/// Before a switch: an endpoint with a different key entirely makes the switch refuse.
#[test]
fn a_switch_is_refused_while_an_endpoint_serves_another_key() {
    let f = Fixture::new(&[0], "");
    let e = f
        .world
        .add_endpoint(NAME, "mail.example.test", 25, Follow::Copies);
    let live = f.live();
    f.ready();
    {
        let mut w = f.world.world();
        let now = w.now;
        w.endpoints[e]
            .log
            .push((now, danerollover::engine::memory::spki_of(999)));
    }
    let r = f.rollover();
    assert_eq!(r.exit_code(), 75, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains("127.0.0.1:25 (mail.example.test): serves a key that is neither the current nor the next key"),
        "{text}"
    );
    assert_eq!(f.live(), live);
    // No record matches that key: DANE clients fail there now, status says so.
    let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
    assert_eq!(st.exit_code(), 1);
    assert!(st.lineages[0].in_danger);
}

/// No reload commands: a problem until a switch shows the endpoints follow the files.
#[test]
fn no_reload_commands_is_a_problem_until_endpoints_prove_they_follow_files() {
    let f = Fixture::new(&[0], "");
    let mut f = f;
    f.config = config("").clone();
    f.config.lineages.get_mut(NAME).unwrap().reload.clear();
    f.world
        .add_endpoint(NAME, "mail.example.test", 25, Follow::Files { lag: 1 });
    f.ready();
    let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
    assert!(
        st.lineages[0]
            .problems
            .iter()
            .any(|p| p.contains("no reload commands")),
        "{st:#?}"
    );
    let r = f.rollover();
    assert_eq!(r.outcome, RolloverOutcome::Switched, "{r:#?}");
    // It picked the new files up by itself (after the short second look).
    assert!(r.lineage.status.endpoint_alerts.is_empty(), "{}", r.text());
    let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
    assert!(
        !st.lineages[0]
            .problems
            .iter()
            .any(|p| p.contains("no reload commands")),
        "{st:#?}"
    );
    // probe = false: status says so, every time.
    f.config.lineages.get_mut(NAME).unwrap().probe = false;
    for _ in 0..2 {
        let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
        assert!(
            st.text().contains("not probed (probe = false)"),
            "{}",
            st.text()
        );
        assert!(
            st.lineages[0]
                .problems
                .iter()
                .any(|p| p.contains("probing is off")),
            "{st:#?}"
        );
    }
}

#[test]
fn a_provider_failure_in_a_batch_fails_only_its_change() {
    let f = several();
    // The first change of the batch fails; the others go through.
    f.world.world().provider_failures = 1;
    let r = f.run();
    let failed: Vec<&str> = r
        .lineages
        .iter()
        .filter(|l| !l.failures.is_empty())
        .map(|l| l.status.name.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{r:#?}");
    assert!(r.exit_code() != 0);
    f.world.advance(30);
    let r = f.run();
    assert!(r.lineages.iter().all(|l| l.failures.is_empty()), "{r:#?}");
    f.world.advance(30);
    f.run();
    check_all_converged(&f, "after a provider failure");
}

#[test]
fn emergency_switches_at_once_and_withdraws_the_old_records() {
    let f = Fixture::new(&[0, 0], "");
    let e = f
        .world
        .add_endpoint(NAME, "mail.example.test", 25, Follow::Reload);
    let old = f.live();
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let next = f.next().unwrap();
    f.world.advance(5);
    // The normal rollover is not safe yet (the wait has not even started to run out).
    assert_eq!(f.rollover().exit_code(), 75);
    // A dry run changes nothing.
    let state = std::fs::read(f.store().state_path()).unwrap();
    let r = block(f.engine(&CrashAfter::never()).emergency(NAME, true)).unwrap();
    assert_eq!(r.outcome, EmergencyOutcome::WouldSwitch, "{r:#?}");
    assert_eq!(std::fs::read(f.store().state_path()).unwrap(), state);
    let start = f.world.world().now;
    let r = block(f.engine(&CrashAfter::never()).emergency(NAME, false)).unwrap();
    assert_eq!(r.outcome, EmergencyOutcome::Switched, "{}", r.text());
    assert_eq!(r.exit_code(), 0, "{}", r.text());
    assert_eq!(f.live(), next);
    assert!(
        !f.served_anywhere(&old),
        "the compromised key's record is withdrawn"
    );
    {
        let w = f.world.world();
        assert_eq!(w.endpoint_key(e, w.now), Some(next.spki.clone()));
    }
    // Some resolvers may still hold the RRset without the new record: until when the
    // normal wait would have ended (2 x 300 + the negative TTL 300 + 60 from first sight).
    let until = r.old_rrset_cached_until.unwrap();
    assert!(
        until > start && until <= start + jiff::SignedDuration::from_secs(FIRST_WAIT),
        "{until}"
    );
    assert!(r.text().contains("may hold the old RRset"), "{}", r.text());
    // A fresh next key is published.
    let fresh = f.next().unwrap();
    assert!(fresh != next && fresh != old);
    assert!(f.served_everywhere(&fresh) && f.served_everywhere(&next));
}

#[test]
fn emergency_refuses_and_changes_nothing_without_a_served_next_key() {
    let f = Fixture::new(&[0, 30], "");
    // No next key at all.
    let r = block(f.engine(&CrashAfter::never()).emergency(NAME, false)).unwrap();
    assert_eq!(r.exit_code(), 1);
    assert!(
        matches!(&r.outcome, EmergencyOutcome::Refused { reasons } if reasons.iter().any(|x| x.contains("no next key"))),
        "{r:#?}"
    );
    assert!(f.world.world().changes.is_empty());
    assert!(!f.store().state_path().exists() || f.next().is_none());
    // A next key whose record the second server does not serve yet.
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let live = f.live();
    let state = std::fs::read(f.store().state_path()).unwrap();
    let changes = f.world.world().changes.len();
    let r = block(f.engine(&CrashAfter::never()).emergency(NAME, false)).unwrap();
    assert_eq!(r.exit_code(), 1);
    assert!(
        r.text().contains("REFUSED") && r.text().contains("ns2"),
        "{}",
        r.text()
    );
    assert_eq!(f.live(), live);
    assert_eq!(std::fs::read(f.store().state_path()).unwrap(), state);
    assert_eq!(f.world.world().changes.len(), changes);
}

/// `run`'s batch holds a retirement back exactly as a pass of its own does (issue 10 with
/// the batched run): three lineages in one batch; the old record of the one whose endpoint
/// still serves its old key stays (run exits 1 naming the endpoint) while another
/// lineage's old record, whose endpoint followed its reload, is retired by the same batch.
/// Once the endpoint gets the new files, the next batch retires the held record.
#[test]
fn a_batched_run_holds_a_retirement_while_an_endpoint_serves_the_old_key() {
    use danerollover::engine::memory::Follow;
    let f = several();
    let mx1 = OTHERS[0];
    let mx1_owner = format!("_25._tcp.{mx1}.");
    let copies = f
        .world
        .add_endpoint(NAME, "mail.example.test", 25, Follow::Copies);
    let follows = f.world.add_endpoint(mx1, mx1, 25, Follow::Reload);
    let live_of = |name: &str| KeyInfo::from_spki(&f.world.world().live_spki(name).unwrap());
    let served_at = |owner: &str, k: &KeyInfo| {
        let w = f.world.world();
        (0..w.servers.len()).any(|i| w.served(i, owner).contains(&r311(k)))
    };
    // Next keys for all three, published and waited for.
    f.run();
    f.world.advance(10);
    f.run();
    f.world.advance(FIRST_WAIT);
    f.run();
    let (old, old_mx1) = (f.live(), live_of(mx1));
    for name in [NAME, mx1] {
        let r = block(
            f.engine(&CrashAfter::never())
                .rollover(name, false, None, false),
        )
        .unwrap();
        assert_eq!(r.outcome, RolloverOutcome::Switched, "{name}: {}", r.text());
    }
    assert!(live_of(mx1) != old_mx1 && f.live() != old);
    {
        let w = f.world.world();
        assert_eq!(
            w.endpoint_key(follows, w.now),
            w.live_spki(mx1),
            "mx1's endpoint follows its reload"
        );
        assert_eq!(w.endpoint_key(copies, w.now), Some(old.spki.clone()));
    }
    // A run before the wait is over: the switches' planted copies are cleaned up (in a pass
    // of each lineage's own); nothing is retired yet.
    f.run();
    assert!(f.served_everywhere(&old) && served_at(&mx1_owner, &old_mx1));
    // The wait is over: one batch over the three lineages and no pass of its own (a pass
    // saves its own observation: one Observed step means the batch did everything).
    f.world.advance(WAIT + 60);
    let counter = CrashAfter::never();
    let r = block(f.engine(&counter).run(false)).unwrap();
    assert_eq!(r.lineages.len(), 3, "{r:#?}");
    let steps = counter.steps();
    assert_eq!(
        steps.iter().filter(|s| **s == Step::Observed).count(),
        1,
        "{steps:?}"
    );
    assert!(steps.contains(&Step::Retired), "{steps:?}");
    assert_eq!(r.exit_code(), 1, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains("127.0.0.1:25 (mail.example.test): still serves the old key 3 1 1")
            && text.contains("run its reload"),
        "{text}"
    );
    assert!(
        f.served_everywhere(&old),
        "retired while 127.0.0.1:25 serves it"
    );
    assert!(
        !served_at(&mx1_owner, &old_mx1),
        "mx1's old record stays although no endpoint serves its key"
    );
    // Another batch an hour later: still held, still exit 1.
    f.world.advance(3600);
    let r = f.run();
    assert_eq!(r.exit_code(), 1, "{}", r.text());
    assert!(f.served_everywhere(&old));
    let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
    assert_eq!(st.exit_code(), 1, "{}", st.text());
    // Someone copies the new files to it and reloads it: the next batch retires.
    f.world.world().fix_endpoint(copies);
    let r = f.run();
    assert_eq!(r.exit_code(), 0, "{}", r.text());
    assert!(!f.served_anywhere(&old));
    let st = block(f.engine(&CrashAfter::never()).status(None)).unwrap();
    assert_eq!(st.exit_code(), 0, "{}", st.text());
}

// ---------------------------------------------------------------------------------------
// Reused observations (`[dns] reuse_observations`): the memory world's servers give a zone
// serial that moves with every RRset version they serve, except silent ones.

impl Fixture {
    fn status(&self) -> danerollover::status::LineageStatus {
        let r = block(self.engine(&CrashAfter::never()).status(None)).unwrap();
        r.lineages.into_iter().next().unwrap()
    }

    /// `status` with `--fresh`.
    fn status_fresh(&self) -> danerollover::status::LineageStatus {
        let never = CrashAfter::never();
        let mut e = self.engine(&never);
        e.options.fresh = true;
        let r = block(e.status(None)).unwrap();
        r.lineages.into_iter().next().unwrap()
    }

    /// Someone deletes `k`'s record at both owners (at the provider, a new serial).
    fn delete_record(&self, k: &KeyInfo) {
        let mut w = self.world.world();
        let now = w.now;
        for owner in [OWNER, OWNER2] {
            let mut v = w.rrset_at(owner, now).cloned().unwrap();
            v.records.retain(|r| *r != r311(k));
            v.at = now;
            v.silent = false;
            w.rrsets.get_mut(owner).unwrap().push(v);
        }
    }

    /// Delete `record` at `owner` without a new serial (straight in the backend's
    /// database).
    fn silently_remove(&self, owner: &str, record: &TlsaRecord) {
        let mut w = self.world.world();
        let now = w.now;
        let mut v = w.rrset_at(owner, now).cloned().unwrap();
        v.records.retain(|r| r != record);
        v.at = now;
        v.silent = true;
        w.rrsets.get_mut(owner).unwrap().push(v);
    }

    fn serials(&self) -> Vec<u32> {
        let w = self.world.world();
        (0..w.servers.len()).map(|i| w.serial(i)).collect()
    }
}

#[test]
fn a_second_status_and_run_with_nothing_changed_reuse_the_observations() {
    let f = Fixture::new(&[0, 5], "");
    f.ready();
    // The second run of `ready` kept its observations (the zone was asked before them).
    let kept_at = f.world.world().now;
    f.world.advance(600);
    let fresh = f.status_fresh();
    assert_eq!(fresh.observed_at, None, "--fresh never reuses");
    let s = f.status();
    assert_eq!(s.observed_at, Some(kept_at), "{s:#?}");
    assert!(!s.in_danger && s.problems.is_empty(), "{s:#?}");
    assert_eq!(
        s.owners, fresh.owners,
        "the reused records are not the served ones"
    );
    let again = f.status();
    assert_eq!(again.observed_at, Some(kept_at));
    assert_eq!(again.owners, fresh.owners);
    // A run reuses too, and changes nothing.
    let changes = f.world.world().changes.len();
    let r = f.run();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    assert_eq!(r.lineages[0].status.observed_at, Some(kept_at));
    assert_eq!(r.lineages[0].status.owners, fresh.owners);
    let r = f.run();
    assert_eq!(r.lineages[0].status.observed_at, Some(kept_at));
    assert_eq!(f.world.world().changes.len(), changes);
}

#[test]
fn a_provider_change_in_the_zone_means_a_fresh_look() {
    let f = Fixture::new(&[0, 0], "");
    f.ready();
    assert!(f.status().observed_at.is_some(), "nothing changed: reused");
    let before = f.serials();
    // Someone publishes elsewhere in the zone, through the provider: a new serial.
    let other = r311(&KeyInfo::from_spki(b"another service"));
    block(danerollover::provider::Provider::apply(
        &f.world,
        &danerollover::provider::Change {
            zone: "example.test.".into(),
            owner: "_443._tcp.www.example.test.".into(),
            ttl: 300,
            add: vec![other],
            remove: Vec::new(),
        },
    ))
    .unwrap();
    assert_ne!(f.serials(), before);
    let s = f.status();
    assert_eq!(s.observed_at, None, "reused across a new serial: {s:#?}");
    // That fresh look is kept: the next status reuses it.
    let kept_at = f.world.world().now;
    f.world.advance(60);
    assert_eq!(f.status().observed_at, Some(kept_at));
    // A server picking up a change later moves its serial later: fresh until then.
    let g = Fixture::new(&[0, 300], "");
    g.ready();
    assert!(g.status().observed_at.is_some());
    block(danerollover::provider::Provider::apply(
        &g.world,
        &danerollover::provider::Change {
            zone: "example.test.".into(),
            owner: "_443._tcp.www.example.test.".into(),
            ttl: 300,
            add: vec![r311(&KeyInfo::from_spki(b"another service"))],
            remove: Vec::new(),
        },
    ))
    .unwrap();
    let before = g.serials();
    assert_eq!(g.status().observed_at, None, "ns1 moved at once");
    g.world.advance(10);
    assert!(g.status().observed_at.is_some(), "kept while ns2 lags");
    g.world.advance(300);
    assert_ne!(g.serials(), before);
    assert_eq!(g.status().observed_at, None, "ns2 moved");
}

#[test]
fn fresh_never_reuses() {
    let f = Fixture::new(&[0, 0], "");
    f.ready();
    for _ in 0..3 {
        assert_eq!(f.status_fresh().observed_at, None);
        let never = CrashAfter::never();
        let mut e = f.engine(&never);
        e.options.fresh = true;
        let r = block(e.run(false)).unwrap();
        assert_eq!(r.lineages[0].status.observed_at, None);
        f.world.advance(60);
    }
    // The same world without --fresh reuses.
    assert!(f.status().observed_at.is_some());
}

#[test]
fn reuse_observations_0s_never_reuses() {
    let mut f = Fixture::new(&[0, 0], "");
    f.config = config_dns("reuse_observations = \"0s\"", "");
    f.ready();
    for _ in 0..3 {
        assert_eq!(f.status().observed_at, None);
        assert_eq!(f.run().lineages[0].status.observed_at, None);
        f.world.advance(60);
    }
    // The default (one day) reuses in the same world.
    // (The first run keeps its observations for their zone only, the second for reuse.)
    f.config = config("");
    f.run();
    f.run();
    assert!(f.status().observed_at.is_some());
}

#[test]
fn a_due_scheduled_switch_is_observed_afresh_and_switches() {
    let f = Fixture::new(&[0, 0], "rollover_every = \"1d\"");
    let next = f.ready();
    // Ready, not due: quiet, reused.
    let r = f.run();
    assert!(r.lineages[0].status.observed_at.is_some(), "{r:#?}");
    assert_ne!(f.live(), next);
    // Due 1 day after the key became current (the prepublish, FIRST_WAIT + 10 s before),
    // while the kept observation is still young enough to be reused.
    f.world.advance(86_400 - FIRST_WAIT);
    let r = f.run();
    assert_eq!(r.exit_code(), 0, "{r:#?}");
    assert!(r.lineages[0].switched, "{r:#?}");
    assert_eq!(f.live(), next);
    assert_eq!(r.lineages[0].status.observed_at, None);
}

#[test]
fn a_due_scheduled_switch_does_not_happen_when_the_next_record_was_silently_deleted() {
    let f = Fixture::new(&[0, 0], "rollover_every = \"1d\"");
    let next = f.ready();
    let live = f.live();
    f.world.advance(86_400 - FIRST_WAIT - 600);
    let serials = f.serials();
    f.silently_remove(OWNER, &r311(&next));
    assert_eq!(f.serials(), serials, "silent");
    assert!(!f.served_everywhere(&next));
    // Within one wait plus one pass of the switch falling due: never reused, so the
    // deletion shows at once (status shows the record missing).
    let s = f.status();
    assert_eq!(s.observed_at, None, "{s:#?}");
    let shown = s.owners.iter().find(|o| o.owner == OWNER).unwrap();
    assert!(
        shown
            .servers
            .iter()
            .all(|sv| !sv.records.contains(&r311(&next))),
        "{s:#?}"
    );
    // The fresh look differed from the kept one under the same serials: the zone is
    // silent, named with the fix.
    assert!(
        s.problems
            .iter()
            .any(|p| p.contains("without a new SOA serial") && p.contains("SOA-EDIT-API INCREASE")),
        "{s:#?}"
    );
    // A run publishes the record again instead of switching.
    f.world.advance(610);
    let changes = f.world.world().changes.len();
    let r = f.run();
    assert!(!r.lineages[0].switched, "{r:#?}");
    assert_eq!(f.live(), live);
    assert_eq!(r.lineages[0].status.observed_at, None);
    let w = f.world.world();
    assert!(
        w.changes[changes..]
            .iter()
            .any(|(_, c)| c.owner == OWNER && c.add.contains(&r311(&next))),
        "not published again: {:?}",
        &w.changes[changes..]
    );
    drop(w);
    assert!(f.served_everywhere(&next));
    // The switch waits for the record to be seen everywhere again, and then for its wait
    // (the first one's length: the owner had no record of that key for a while).
    let r = f.run();
    assert!(!r.lineages[0].switched, "{r:#?}");
    f.world.advance(FIRST_WAIT + 60);
    let r = f.run();
    assert!(r.lineages[0].switched, "{r:#?}");
    assert_eq!(f.live(), next);
}

#[test]
fn no_reuse_within_one_wait_plus_one_pass_of_a_due_switch() {
    let f = Fixture::new(&[0, 0], "rollover_every = \"1d\"");
    // The key becomes current at the prepublish: the switch falls due a day later.
    let start = f.world.world().now;
    f.ready();
    f.world.advance(600);
    assert!(f.status().observed_at.is_some(), "far from due: reused");
    // One wait (2 x TTL 300 + 60 s margin) plus one pass (11 min) before due, and closer:
    // always fresh, although nothing changed.
    let window = 2 * 300 + 60 + 11 * 60;
    let until = |secs_before_due: i64| {
        let now = f.world.world().now;
        86_400 - secs_before_due - (now - start).get_seconds()
    };
    f.world.advance(until(window + 120));
    assert!(f.status().observed_at.is_some(), "still outside the window");
    f.world.advance(240);
    let s = f.status();
    assert_eq!(s.observed_at, None, "inside the window: {s:#?}");
}

#[test]
fn a_silent_deletion_is_seen_within_one_pass_and_the_zone_is_never_reused_again() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    f.silently_remove(OWNER2, &r311(&next));
    // The kept observation is checked against a validated read in every pass: the record
    // is missing there, so the next pass looks afresh and publishes it again.
    f.world.advance(60);
    let r = f.run();
    assert_eq!(r.lineages[0].status.observed_at, None, "{r:#?}");
    assert!(f.served_everywhere(&next), "{r:#?}");
    // The zone changed without a new serial: never reused again, and named with the fix.
    for _ in 0..3 {
        f.world.advance(600);
        let s = f.status();
        assert_eq!(s.observed_at, None, "{s:#?}");
        assert!(
            s.problems
                .iter()
                .any(|p| p.contains("example.test") && p.contains("SOA-EDIT-API")),
            "{s:#?}"
        );
    }
}

#[test]
fn a_changed_validation_is_not_hidden_by_reuse() {
    let f = Fixture::new(&[0, 0], "");
    f.ready();
    let s = f.status();
    assert!(s.observed_at.is_some() && !s.in_danger, "{s:#?}");
    f.world.world().validation = Validation::Bogus;
    let s = f.status();
    assert_eq!(s.observed_at, None, "{s:#?}");
    assert!(s.in_danger, "{s:#?}");
    assert!(s.problems.iter().any(|p| p.contains("bogus")), "{s:#?}");
    let r = f.run();
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    assert_eq!(r.lineages[0].status.observed_at, None);
    // Secure again: the observations made while Bogus are not kept, so the next look is
    // fresh; once a run has saved the unbroken sightings again, the look after it reuses.
    f.world.world().validation = Validation::Secure;
    assert_eq!(f.status().observed_at, None);
    assert_eq!(f.run().lineages[0].status.observed_at, None);
    f.world.advance(60);
    assert!(f.status().observed_at.is_some());
}

// ---------------------------------------------------------------------------------------
// The CA's side: keys the CA refuses (badPublicKey) and the forced-renewal budget.

fn status_of(f: &Fixture) -> danerollover::status::LineageStatus {
    let s = block(f.engine(&CrashAfter::never()).status(Some(NAME))).unwrap();
    s.lineages.into_iter().next().unwrap()
}

fn run_text(r: &danerollover::engine::RunReport) -> String {
    format!("{}\n{r:#?}", r.text())
}

/// The next key published and served everywhere (its wait not over: the emergency needs
/// none).
fn published(f: &Fixture) -> KeyInfo {
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    f.world.advance(10);
    f.run();
    f.next().unwrap()
}

#[test]
fn a_timer_renewal_refused_for_the_live_key_runs_the_emergency_rollover() {
    let f = Fixture::new(&[0, 0], "");
    let next = published(&f);
    let old = f.live();
    f.world.world().blocked_keys.push(old.spki.clone());
    // certbot's timer renews: the CA refuses the key, no hook runs.
    assert!(!f.world.world().external_renew(NAME, false));
    assert_eq!(f.live(), old);
    let r = f.run();
    let text = run_text(&r);
    assert_eq!(f.live(), next, "{text}");
    assert!(text.contains("the CA refuses the key 3 1 1"), "{text}");
    assert!(
        text.contains("emergency rollover to the next key"),
        "{text}"
    );
    // The refused key's records are withdrawn at once; a fresh next key is published.
    assert!(!f.served_anywhere(&old), "{text}");
    let newer = f.next().unwrap();
    assert_ne!(newer, next);
    assert!(f.served_everywhere(&newer));
    assert!(!status_of(&f).in_danger);
    // The log entry is read once: the next run switches nothing.
    let switches = f.world.world().certbot_runs;
    let r = f.run();
    assert_eq!(f.world.world().certbot_runs, switches, "{}", run_text(&r));
    assert_eq!(f.live(), next);
}

#[test]
fn a_refused_live_key_without_a_served_next_key_says_what_is_missing() {
    let f = Fixture::new(&[0, 3000], "");
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let next = f.next().unwrap();
    let old = f.live();
    f.world.world().blocked_keys.push(old.spki.clone());
    f.world.world().external_renew(NAME, false);
    let r = f.run();
    let text = run_text(&r);
    assert_eq!(r.exit_code(), 1, "{text}");
    assert_eq!(f.live(), old);
    assert!(
        text.contains("the emergency rollover to the next key cannot run") && text.contains("ns2"),
        "{text}"
    );
    // status is in danger and names the refusal, run after run.
    let s = status_of(&f);
    assert!(s.in_danger, "{s:#?}");
    assert!(
        s.dangers
            .iter()
            .any(|d| d.contains("the CA refuses the key")),
        "{:?}",
        s.dangers
    );
    // Once the lagging server serves the next key, the next run switches.
    f.world.advance(3010);
    let r = f.run();
    assert_eq!(f.live(), next, "{}", run_text(&r));
    assert!(!status_of(&f).in_danger);
}

#[test]
fn on_key_blocked_alarm_only_alarms() {
    let f = Fixture::new(&[0, 0], "on_key_blocked = \"alarm\"");
    published(&f);
    let old = f.live();
    f.world.world().blocked_keys.push(old.spki.clone());
    f.world.world().external_renew(NAME, false);
    let r = f.run();
    let text = run_text(&r);
    assert_eq!(r.exit_code(), 1, "{text}");
    assert_eq!(f.live(), old);
    assert!(
        text.contains("on_key_blocked = \\\"alarm\\\"")
            || text.contains("on_key_blocked = \"alarm\""),
        "{text}"
    );
    assert!(text.contains("rollover --emergency"), "{text}");
    assert!(status_of(&f).in_danger);
}

#[test]
fn a_switch_refused_for_the_next_key_drops_it_for_a_new_one() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    let old = f.live();
    f.world.world().blocked_keys.push(next.spki.clone());
    let r = f.rollover();
    let RolloverOutcome::Failed { error } = &r.outcome else {
        panic!("{r:#?}")
    };
    assert!(
        error.contains("the CA refuses the key") && error.contains("it was the next key"),
        "{error}"
    );
    assert_eq!(f.live(), old);
    assert!(f.world.world().consistent(NAME));
    // A fresh next key replaces it (published by the same pass), and its wait starts anew.
    let newer = f.next().unwrap();
    assert_ne!(newer, next);
    assert!(f.served_everywhere(&newer));
    let s = f.store().read().unwrap();
    assert!(s.lineages[NAME].retired.iter().any(|k| k.key == next));
    assert_eq!(s.lineages[NAME].forced_renewals.len(), 1);
    drop(s);
    assert_eq!(f.rollover().exit_code(), 75);
}

#[test]
fn the_forced_renewal_budget_holds_a_switch_that_keeps_failing() {
    let f = Fixture::new(&[0, 0], "max_forced_renewals = 2");
    let next = f.ready();
    let first = f.world.world().now;
    for _ in 0..2 {
        f.world.world().certbot_failures = 1;
        assert!(matches!(
            f.rollover().outcome,
            RolloverOutcome::Failed { .. }
        ));
        f.world.advance(3600);
    }
    let runs = f.world.world().certbot_runs;
    let r = f.rollover();
    let RolloverOutcome::NotYet { reasons, earliest } = &r.outcome else {
        panic!("{r:#?}")
    };
    let week = jiff::SignedDuration::from_hours(7 * 24);
    assert_eq!(*earliest, Some(first + week), "{reasons:?}");
    let reason = reasons.join("\n");
    assert!(
        reason.contains(
            "forced-renewal budget is spent: 2 switches forced a renewal in the last 7 days"
        ) && reason.contains("max_forced_renewals"),
        "{reason}"
    );
    assert_eq!(f.world.world().certbot_runs, runs, "no certbot run");
    // A scheduled run does not switch either; a week after the first, the switch goes.
    f.world.advance(7 * 24 * 3600 - 2 * 3600 - 1);
    assert_eq!(f.rollover().exit_code(), 75);
    f.world.advance(1);
    assert_eq!(f.rollover().outcome, RolloverOutcome::Switched);
    assert_eq!(f.live(), next);
}

#[test]
fn the_emergency_rollover_is_not_held_by_the_budget() {
    let f = Fixture::new(&[0, 0], "max_forced_renewals = 0");
    let next = published(&f);
    assert_eq!(f.rollover().exit_code(), 75);
    let old = f.live();
    f.world.world().blocked_keys.push(old.spki.clone());
    f.world.world().external_renew(NAME, false);
    let r = f.run();
    assert_eq!(f.live(), next, "{}", run_text(&r));
    let s = f.store().read().unwrap();
    assert_eq!(
        s.lineages[NAME].forced_renewals.len(),
        1,
        "counted all the same"
    );
}

/// certbot relinks cert.pem, then chain.pem and fullchain.pem: a pass in between sees a
/// certificate whose chain files are an older version's. It neither promotes nor reloads
/// (a server would load another certificate's chain), says why and exits 1; once the
/// files agree, the next pass promotes and reloads.
#[test]
fn no_promotion_or_reload_while_the_chain_files_lag_the_certificate() {
    let f = Fixture::new(&[0, 0], "");
    let next = f.ready();
    // The next key planted by hand, then certbot's own renewal (reuse_key) with it.
    let path = f.store().read().unwrap().lineages[NAME]
        .next
        .clone()
        .unwrap()
        .path;
    {
        let mut w = f.world.world();
        let pem = w.key_files[&path].clone();
        let l = w.lineages.get_mut(NAME).unwrap();
        l.privkeys.insert(99, pem);
        l.privkey_link = 99;
    }
    f.world.world().external_renew(NAME, false);
    {
        let mut w = f.world.world();
        let l = w.lineages.get_mut(NAME).unwrap();
        l.chain_link = Some(l.cert_link - 1);
    }
    assert_eq!(f.live(), next, "certbot renewed with the next key");
    let r = f.hook();
    let HookReport::Managed(rep) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(rep.live_change, LiveChange::Unchanged, "{rep:#?}");
    assert!(
        rep.failures
            .iter()
            .any(|x| x.contains("fullchain.pem is version")),
        "{rep:#?}"
    );
    assert_eq!(r.exit_code(), 1);
    assert!(
        f.world.world().reloads.is_empty(),
        "reloaded on a lagging chain"
    );
    let s = f.store().read().unwrap();
    assert_ne!(
        s.lineages[NAME].current.as_ref().map(|c| c.key.clone()),
        Some(next.clone())
    );
    // The same in `run`'s batches.
    let r = f.run();
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    assert!(
        f.world.world().reloads.is_empty(),
        "reloaded on a lagging chain"
    );
    // certbot finishes relinking.
    f.world.world().lineages.get_mut(NAME).unwrap().chain_link = None;
    let r = f.hook();
    let HookReport::Managed(rep) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(rep.live_change, LiveChange::Promoted, "{rep:#?}");
    assert_eq!(f.world.world().reloads.len(), 1);
}

/// An emergency killed after its switch (before the reload and the withdrawal) is
/// finished as an emergency by the next `run`: the reload, then the compromised key's
/// records withdrawn at once (not one wait later). One killed before its switch is over:
/// the next pass says so and nothing is withdrawn.
#[test]
fn an_interrupted_emergency_is_finished_by_the_next_pass() {
    let f = Fixture::new(&[0, 0], "");
    let old = f.live();
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let next = f.next().unwrap();
    f.world.advance(5);
    // Where the switch is saved (counted on a twin world): kill right after.
    let full = CrashAfter::never();
    let f2 = Fixture::new(&[0, 0], "");
    block(f2.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    f2.world.advance(5);
    block(f2.engine(&full).emergency(NAME, false)).unwrap();
    let saved = full
        .steps()
        .iter()
        .position(|s| *s == Step::SwitchSaved)
        .expect("the emergency saved its switch");
    let kill = CrashAfter::at(saved);
    assert!(block(f.engine(&kill).emergency(NAME, false)).is_err());
    assert_eq!(f.live(), next);
    assert!(f.served_anywhere(&old), "killed before the withdrawal");
    assert!(f.world.world().reloads.is_empty());
    f.world.advance(5);
    let r = f.run();
    assert_eq!(f.world.world().reloads.len(), 1, "{r:#?}");
    assert!(!f.served_anywhere(&old), "not withdrawn at once: {r:#?}");
    let l = &r.lineages[0];
    assert!(
        l.done
            .iter()
            .any(|d| d.contains("finished the interrupted emergency")),
        "{r:#?}"
    );
    assert!(f.store().read().unwrap().lineages[NAME].emergency.is_none());

    // Killed before its switch: the next pass switches under the emergency's rule (no
    // wait), reloads and withdraws the compromised key's records at once.
    let f = Fixture::new(&[0, 0], "");
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let next = f.next().unwrap();
    f.world.advance(5);
    let live = f.live();
    let kill = CrashAfter::at(0);
    assert!(block(f.engine(&kill).emergency(NAME, false)).is_err());
    assert_eq!(kill.steps(), vec![Step::Observed]);
    assert!(f.store().read().unwrap().lineages[NAME].emergency.is_some());
    assert_eq!(f.live(), live);
    let r = f.run();
    assert_eq!(f.live(), next, "{r:#?}");
    assert_eq!(f.world.world().reloads.len(), 1, "{r:#?}");
    assert!(!f.served_anywhere(&live), "not withdrawn at once: {r:#?}");
    assert!(
        r.lineages[0]
            .done
            .iter()
            .any(|x| x.contains("finished the interrupted emergency") && x.contains("switched")),
        "{r:#?}"
    );
    assert!(f.store().read().unwrap().lineages[NAME].emergency.is_none());
}

/// An emergency killed before its switch, whose next key's record is then missing at a
/// server: the pass cannot switch under the emergency's rule; it says so, keeps it pending
/// and publishes the record again; a later pass finishes it.
#[test]
fn an_interrupted_emergency_that_cannot_switch_yet_stays_pending() {
    let f = Fixture::new(&[0, 0], "");
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    let next = f.next().unwrap();
    f.world.advance(5);
    let live = f.live();
    let kill = CrashAfter::at(0);
    assert!(block(f.engine(&kill).emergency(NAME, false)).is_err());
    // Someone deletes the next key's record.
    f.delete_record(&next);
    f.world.advance(5);
    let r = f.run();
    assert_eq!(
        f.live(),
        live,
        "switched without the next key's record: {r:#?}"
    );
    assert!(
        r.lineages[0]
            .failures
            .iter()
            .any(|x| x.contains("cannot switch yet")),
        "{r:#?}"
    );
    assert!(f.store().read().unwrap().lineages[NAME].emergency.is_some());
    assert!(f.served_everywhere(&next), "not published again: {r:#?}");
    f.world.advance(5);
    let r = f.run();
    assert_eq!(f.live(), next, "{r:#?}");
    assert!(!f.served_anywhere(&live), "{r:#?}");
    assert!(f.store().read().unwrap().lineages[NAME].emergency.is_none());
}

/// An emergency whose certbot renews with a key of its own publishes that key's record
/// before it returns (DANE clients fail until it is there).
#[test]
fn an_emergency_ending_with_certbots_own_key_publishes_its_record() {
    let f = Fixture::new(&[0, 0], "");
    block(f.engine(&CrashAfter::never()).prepublish(NAME, false)).unwrap();
    f.world.advance(5);
    f.world.world().certbot_next = Some(CertbotBehaviour::OwnKey);
    let r = block(f.engine(&CrashAfter::never()).emergency(NAME, false)).unwrap();
    assert_eq!(r.exit_code(), 1, "{}", r.text());
    let own = f.live();
    assert!(f.served_everywhere(&own), "{}", r.text());
    assert!(f.store().read().unwrap().lineages[NAME].emergency.is_none());
}

/// The boot clock cannot be read (the shipped unit's sandbox once hid it): the time is
/// unknown. `rollover` holds even long after the wait, `status` names the input and the
/// fix; once the clock can be read again, the wait is counted again from then.
#[test]
fn an_unreadable_boot_clock_holds_the_switch_and_status_says_so() {
    let f = Fixture::new(&[0, 0], "");
    f.ready();
    f.world.world().clock_unknown = true;
    f.world.advance(3 * WAIT);
    let r = f.rollover();
    assert_eq!(r.exit_code(), 75, "{r:#?}");
    assert!(
        matches!(&r.outcome, RolloverOutcome::NotYet { reasons, .. }
            if reasons.iter().any(|x| x.contains("the time is unknown") && x.contains("boot clock"))),
        "{r:#?}"
    );
    let st = f.status();
    assert!(
        st.problems
            .iter()
            .any(|p| p.contains("the time is unknown") && p.contains("boot clock")),
        "{st:#?}"
    );
    // Readable again: every wait restarts from then.
    f.world.world().clock_unknown = false;
    assert_eq!(f.rollover().exit_code(), 75);
    f.world.advance(FIRST_WAIT + 10);
    assert_eq!(f.rollover().exit_code(), 0);
}

/// Whether certbot holds its lock cannot be asked: a switch killed while certbot ran is
/// left alone (never undone or completed on a guess), and the pass names the input.
#[test]
fn an_unknown_lock_state_leaves_a_killed_switch_alone() {
    let f = Fixture::new(&[0, 0], "");
    f.ready();
    let kill = CrashAfter::at(4);
    let _ = block(f.engine(&kill).rollover(NAME, false, None, false));
    assert_eq!(
        kill.steps().last(),
        Some(&Step::CertbotStarted),
        "{:?}",
        kill.steps()
    );
    let _ = f.world.world().finish_certbot();
    f.world.world().lock_unknown = true;
    let r = f.run();
    assert_eq!(r.exit_code(), 1, "{r:#?}");
    assert!(
        r.lineages[0]
            .failures
            .iter()
            .any(|x| x.contains("whether certbot still runs is unknown")),
        "{r:#?}"
    );
    assert!(f.store().read().unwrap().lineages[NAME].intent.is_some());
    f.world.world().lock_unknown = false;
    let r = f.run();
    assert!(
        f.store().read().unwrap().lineages[NAME].intent.is_none(),
        "{r:#?}"
    );
}
