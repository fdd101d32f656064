//! A lagging second authoritative server, against the lab. In a test binary of its own:
//! while the lag is on, the second server serves a frozen copy of example.test, which
//! would disturb the other DNS tests if they ran at the same time.

mod common;
mod dns_lab;

use std::net::SocketAddr;
use std::time::Duration;

use danerollover::dns::live::LiveObserver;
use danerollover::dns::{Observe, OwnerQuery, Served, ServerOutcome};

use common::Lab;
use dns_lab::*;

fn query(owner: &str) -> OwnerQuery {
    OwnerQuery {
        owner: abs(owner),
        zone: None,
        nameservers: vec![],
    }
}

/// Turns the lag of the second server off when dropped, also when the test fails.
struct LagOff<'a>(&'a Lab);

impl LagOff<'_> {
    fn set(lab: &Lab, state: &str) {
        let out = std::process::Command::new(lab.path("LAB_BIN").join("lag"))
            .arg(lab.var("LAB_DIR"))
            .arg(state)
            .output()
            .expect("run lag");
        assert!(
            out.status.success(),
            "lag {state}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for LagOff<'_> {
    fn drop(&mut self) {
        let lab = self.0;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| LagOff::set(lab, "off")))
            .is_err()
        {
            eprintln!(
                "could not turn the lag of the second server off: run {}/lag {} off",
                lab.var("LAB_BIN"),
                lab.var("LAB_DIR")
            );
        }
    }
}

#[tokio::test]
async fn a_lagging_secondary_means_not_all_servers_serve() {
    let Some(lab) = Lab::get("a_lagging_secondary_means_not_all_servers_serve") else {
        return;
    };
    let zone = lab.var("LAB_PDNS_ZONE").to_string();
    let (primary, secondary) = (lab.addr("LAB_PDNS_DNS"), lab.addr("LAB_PDNS2_DNS"));
    let owner = format!("_25._tcp.{}.{zone}", fresh("lag"));
    let r = record();
    let _cleanup = PdnsCleanup {
        lab: &lab,
        rrsets: vec![(zone.clone(), owner.clone(), "TLSA".into())],
    };
    let o = LiveObserver::new(
        &ad_config(&lab, Duration::from_secs(3)),
        &Default::default(),
    )
    .unwrap();
    {
        // On the shared lab: one test, lag on for as short as possible, always off again.
        let _off = LagOff(&lab);
        LagOff::set(&lab, "on");
        pdns_tlsa(&lab, &zone, &owner, 60, std::slice::from_ref(&r));
        let obs = o.observe(&[query(&owner)]).await;
        let ob = &obs[0];
        let by_server: Vec<(SocketAddr, &Served)> = ob
            .servers
            .iter()
            .filter_map(|s| match &s.outcome {
                ServerOutcome::Answer(a) => Some((s.server, a)),
                ServerOutcome::Error { .. } => None,
            })
            .collect();
        let p = by_server
            .iter()
            .find(|(s, _)| *s == primary)
            .expect("primary answered")
            .1;
        let s = by_server
            .iter()
            .find(|(s, _)| *s == secondary)
            .expect("secondary answered")
            .1;
        assert_eq!(p.records, vec![r.clone()], "{ob:#?}");
        assert!(s.records.is_empty(), "{ob:#?}");
        assert!(s.negative_ttl.is_some(), "{ob:#?}");
        assert!(!ob.all_servers_serve(std::slice::from_ref(&r)), "{ob:#?}");
        assert!(!ob.servers_agree());
        assert!(
            p.serial > s.serial,
            "the primary's serial moved on: {ob:#?}"
        );
    }
    // Lag off: the second server catches up.
    eventually("both servers serve", Duration::from_secs(15), || async {
        let obs = o.observe(&[query(&owner)]).await;
        if obs[0].all_servers_serve(std::slice::from_ref(&r)) && obs[0].servers_agree() {
            Ok(())
        } else {
            Err(format!("{:#?}", obs[0]))
        }
    })
    .await;
}
