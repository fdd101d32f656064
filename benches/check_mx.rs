//! Benchmark (not a test) of `check --mx`'s observation against the lab: one mail domain
//! with HOSTS MX hosts, each with an address where a TCP relay to the lab's Postfix adds a
//! different delay to every chunk it forwards (a slow network path: the SMTP dialogue and
//! the TLS handshake take several round trips each). Prints the wall time of one
//! concurrent `check --mx` observation, the slowest single address probed alone, and the
//! sum of the addresses probed one at a time: concurrency makes the wall time about the
//! slowest address, not the sum.
//!
//! ```sh
//! ip netns exec NS env DANEROLLOVER_LAB=DIR/env cargo bench --profile dev --bench check_mx
//! ```
//!
//! Needs root (the relays listen on port 25 of 127.0.11.x loopback addresses). The records
//! are created through the PowerDNS API and deleted at the end.

mod lab;
use lab::{lab_env, patch};

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use danerollover::config::DnsConfig;
use danerollover::probe::mx::{MxDns, MxProbeOptions, ResolverMxDns, observe};
use danerollover::probe::mx_report::AddressVerdict;
use danerollover::probe::{ProbeOptions, Protocol, probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOSTS: usize = 8;
const ROUNDS: usize = 3;

/// Copy `from` to `to`, holding every chunk back by `delay`.
async fn slow_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let mut buf = vec![0u8; 16384];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        tokio::time::sleep(delay).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A TCP relay on `listen` to `upstream` that delays every chunk in both directions.
async fn delayed_relay(listen: SocketAddr, upstream: SocketAddr, delay: Duration) {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| panic!("bind {listen} (root, in the lab's namespace?): {e}"));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(slow_copy(cr, sw, delay), slow_copy(sr, cw, delay));
            });
        }
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let Some(env) = lab_env() else {
        eprintln!("check_mx bench: set DANEROLLOVER_LAB=DIR/env (a running lab)");
        return;
    };
    let zone = env["LAB_PDNS_ZONE"].clone();
    let postfix: SocketAddr = format!("{}:25", env["LAB_MAIL_ADDR"]).parse().unwrap();
    let leaf = std::fs::read(format!(
        "{}/live/{}/cert.pem",
        env["LAB_LETSENCRYPT_DIR"], env["LAB_LINEAGE"]
    ))
    .expect("the lab's certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&leaf).unwrap();
    let spki = pem.parse_x509().unwrap().public_key().raw.to_vec();
    let record =
        danerollover::tlsa::TlsaRecord::dane_ee_spki(danerollover::tlsa::Matching::Sha256, &spki);

    let tag = format!("bench-mx-{}", std::process::id());
    let domain = format!("{tag}.{zone}");
    // Host i: 127.0.11.(i+1), 10 ms + 10 ms x i per chunk each way.
    let hosts: Vec<(String, IpAddr, Duration)> = (0..HOSTS)
        .map(|i| {
            (
                format!("mx{i}.{domain}"),
                format!("127.0.11.{}", i + 1).parse().unwrap(),
                Duration::from_millis(10 + 10 * i as u64),
            )
        })
        .collect();
    let rrsets = |delete: bool| {
        let mut v = Vec::new();
        let mut add = |name: String, rtype: &str, contents: Vec<String>| {
            v.push(if delete {
                serde_json::json!({"name": name, "type": rtype, "changetype": "DELETE"})
            } else {
                serde_json::json!({"name": name, "type": rtype, "ttl": 300, "changetype": "REPLACE",
                    "records": contents.iter().map(|c| serde_json::json!({"content": c, "disabled": false})).collect::<Vec<_>>()})
            });
        };
        add(
            format!("{domain}."),
            "MX",
            hosts
                .iter()
                .enumerate()
                .map(|(i, (h, _, _))| format!("{} {h}.", 10 * (i + 1)))
                .collect(),
        );
        for (h, ip, _) in &hosts {
            add(format!("{h}."), "A", vec![ip.to_string()]);
            add(format!("_25._tcp.{h}."), "TLSA", vec![record.to_string()]);
        }
        v
    };
    patch(&env, &zone, rrsets(false));

    let cfg = DnsConfig {
        validating_resolver: Some(env["LAB_RESOLVER"].clone()),
        timeout: Duration::from_secs(5),
        ..DnsConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for (_, ip, delay) in &hosts {
            delayed_relay(SocketAddr::new(*ip, 25), postfix, *delay).await;
        }
        let dns: Arc<dyn MxDns> = Arc::new(ResolverMxDns::from_config(&cfg).unwrap());
        let opts = MxProbeOptions {
            probe: ProbeOptions::new(Duration::from_secs(20)),
            both_algorithms: false,
            parallel: 32,
        };
        // Warm up (the resolver's cache) and wait for the records to be served.
        let started = Instant::now();
        loop {
            let obs = observe(dns.clone(), vec![domain.clone()], &opts).await;
            if obs[0].hosts.len() == HOSTS || started.elapsed() > Duration::from_secs(30) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let mut walls = Vec::new();
        let mut sums = Vec::new();
        let mut slowest = Vec::new();
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let obs = observe(dns.clone(), vec![domain.clone()], &opts).await;
            let wall = t.elapsed();
            let rep = danerollover::probe::mx_report::build(
                &obs,
                &danerollover::probe::mx_report::MxOptions {
                    warn_days: 0,
                    days: None,
                    rollover_scheme: false,
                },
                jiff::Timestamp::now().as_second(),
            );
            let matched = rep.domains[0]
                .hosts
                .iter()
                .flat_map(|h| &h.addresses)
                .filter(|a| a.verdict == AddressVerdict::Match)
                .count();
            assert_eq!(matched, HOSTS, "every address authenticated: {}", rep.summary);
            // The same probes, one at a time.
            let mut sum = Duration::ZERO;
            let mut max = Duration::ZERO;
            for (h, ip, _) in &hosts {
                let t = Instant::now();
                probe(SocketAddr::new(*ip, 25), h, Protocol::Smtp, &opts.probe)
                    .await
                    .unwrap();
                let took = t.elapsed();
                sum += took;
                max = max.max(took);
            }
            walls.push(wall);
            sums.push(sum);
            slowest.push(max);
        }
        walls.sort();
        sums.sort();
        slowest.sort();
        let m = ROUNDS / 2;
        println!(
            "check --mx, 1 domain, {HOSTS} MX hosts x 1 address, relays adding 10..{} ms per chunk each way",
            10 + 10 * (HOSTS - 1)
        );
        println!("  wall time, concurrent (median of {ROUNDS}), DNS included: {:8.1} ms", ms(walls[m]));
        println!("  slowest address probed alone (median):          {:8.1} ms", ms(slowest[m]));
        println!("  sum of the addresses probed one at a time:      {:8.1} ms", ms(sums[m]));
        println!(
            "  wall / slowest: {:.2}   sum / wall: {:.1}",
            walls[m].as_secs_f64() / slowest[m].as_secs_f64(),
            sums[m].as_secs_f64() / walls[m].as_secs_f64()
        );
    });
    patch(&env, &zone, rrsets(true));
}
