//! Benchmark (not a test) of `dns show`'s observation: 50 owners x 3 servers against the
//! lab, wall time of one concurrent observation vs the sum of the same queries made one at
//! a time. Prints the figures and the ratio (sum / wall: how many queries overlap).
//!
//! ```sh
//! DANEROLLOVER_LAB=/work/lab-shared/env cargo bench --profile dev --bench dns_show
//! ```
//!
//! The lab's example.test has two authoritative servers (ns1, ns2); the third server entry
//! asks ns1 a second time. Two runs: the servers as they are (loopback, ~0.3 ms a query: the
//! figures are CPU-bound), then behind a UDP relay adding 20 ms each way's worth of delay
//! (a realistic round trip), where overlapping the waits is what counts. The owners are
//! created through the PowerDNS API and deleted at the end.

mod lab;
use lab::{lab_env, patch};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use danerollover::config::DnsConfig;
use danerollover::dns::live::LiveObserver;
use danerollover::dns::resolve::{Resolver, parse_name};
use danerollover::dns::wire::{self, Flags};
use danerollover::dns::{Observe, OwnerQuery, ServerOutcome};
use hickory_proto::rr::RecordType;
use sha2::{Digest, Sha256};

const OWNERS: usize = 50;
const ROUNDS: usize = 5;

/// A UDP relay to `upstream` that delays every query by `delay` (a simulated round trip).
async fn delayed_relay(upstream: SocketAddr, delay: Duration) -> SocketAddr {
    let socket = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65535];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let query = buf[..n].to_vec();
            let socket = socket.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let up = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                up.send_to(&query, upstream).await.unwrap();
                let mut answer = vec![0u8; 65535];
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(5), up.recv(&mut answer)).await
                {
                    let _ = socket.send_to(&answer[..n], from).await;
                }
            });
        }
    });
    addr
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let Some(env) = lab_env() else {
        eprintln!("dns_show bench: set DANEROLLOVER_LAB=DIR/env (a running lab)");
        return;
    };
    let zone = env["LAB_PDNS_ZONE"].clone();
    let ns1: SocketAddr = env["LAB_PDNS_DNS"].parse().unwrap();
    let ns2: SocketAddr = env["LAB_PDNS2_DNS"].parse().unwrap();
    let servers = vec![ns1, ns2, ns1];
    let tag = format!("bench-{}", std::process::id());
    let owners: Vec<String> = (0..OWNERS)
        .map(|i| format!("_25._tcp.{tag}-{i}.{zone}."))
        .collect();
    let rrsets = |delete: bool| {
        owners
            .iter()
            .map(|o| {
                if delete {
                    serde_json::json!({"name": o, "type": "TLSA", "changetype": "DELETE"})
                } else {
                    let data = hex::encode(Sha256::digest(o.as_bytes()));
                    serde_json::json!({"name": o, "type": "TLSA", "ttl": 300, "changetype": "REPLACE",
                        "records": [{"content": format!("3 1 1 {data}"), "disabled": false}]})
                }
            })
            .collect::<Vec<_>>()
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
    let observer = LiveObserver::new(&cfg, &Default::default()).unwrap();
    let resolver = Resolver::from_config(&cfg).unwrap();

    rt.block_on(async {
        let label = "loopback".to_string();
        measure(&label, &observer, &resolver, &cfg, &zone, &owners, &servers).await;
        let delay = Duration::from_millis(20);
        let mut relayed = Vec::new();
        for s in &servers {
            relayed.push(delayed_relay(*s, delay).await);
        }
        let label = format!("{} ms added per authoritative query", delay.as_millis());
        measure(&label, &observer, &resolver, &cfg, &zone, &owners, &relayed).await;
    });
    patch(&env, &zone, rrsets(true));
}

async fn measure(
    label: &str,
    observer: &LiveObserver,
    resolver: &Resolver,
    cfg: &DnsConfig,
    zone: &str,
    owners: &[String],
    servers: &[SocketAddr],
) {
    let queries: Vec<OwnerQuery> = owners
        .iter()
        .map(|o| OwnerQuery {
            owner: o.clone(),
            zone: None,
            nameservers: servers.to_vec(),
        })
        .collect();
    // Warm up (resolver cache, sockets).
    let _ = observer.observe(&queries).await;
    let mut walls = Vec::new();
    let mut sums = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let obs = observer.observe(&queries).await;
        let wall = started.elapsed();
        let answered = obs
            .iter()
            .flat_map(|o| &o.servers)
            .filter(|s| matches!(s.outcome, ServerOutcome::Answer(_)))
            .count();
        assert_eq!(answered, OWNERS * servers.len(), "every server answered");

        // The same queries, one at a time.
        let mut sum = Duration::ZERO;
        let zname = parse_name(zone).unwrap();
        for o in owners {
            let name = parse_name(o).unwrap();
            let t = Instant::now();
            let _ = resolver.find_zone(&name).await;
            sum += t.elapsed();
            for s in servers {
                let t = Instant::now();
                let q = wire::query(&name, RecordType::TLSA, Flags::AUTHORITATIVE);
                wire::exchange(*s, &q, cfg.timeout).await.unwrap();
                sum += t.elapsed();
            }
            let t = Instant::now();
            let _ = resolver.validated_tlsa(&name).await;
            sum += t.elapsed();
        }
        for s in servers {
            let t = Instant::now();
            let q = wire::query(&zname, RecordType::SOA, Flags::AUTHORITATIVE);
            wire::exchange(*s, &q, cfg.timeout).await.unwrap();
            sum += t.elapsed();
        }
        walls.push(wall);
        sums.push(sum);
    }
    walls.sort();
    sums.sort();
    let (wall, sum) = (walls[ROUNDS / 2], sums[ROUNDS / 2]);
    println!(
        "dns show, {label}: {OWNERS} owners x {} servers ({} TLSA queries + {OWNERS} zone lookups + \
         {OWNERS} validated reads + {} SOA queries)",
        servers.len(),
        OWNERS * servers.len(),
        servers.len()
    );
    println!(
        "  wall time, concurrent (median of {ROUNDS}): {:8.1} ms",
        ms(wall)
    );
    println!(
        "  sum of the single queries (median):      {:8.1} ms",
        ms(sum)
    );
    println!(
        "  ratio sum / wall:                        {:8.1}",
        sum.as_secs_f64() / wall.as_secs_f64()
    );
}
