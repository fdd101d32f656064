//! A lagging second authoritative server holds the switch back, end to end. In a test
//! binary of its own: while the lag is on, 127.0.10.2 serves a frozen copy of
//! example.test, which would disturb other tests of that zone running at the same time.

mod common;
mod e2e_support;

use common::Lab;
use e2e_support::*;

/// Turns the lag of the second server off when dropped, also when the test fails.
struct LagOff {
    bin: std::path::PathBuf,
    dir: String,
}

impl LagOff {
    fn set(&self, state: &str) {
        let out = std::process::Command::new(self.bin.join("lag"))
            .arg(&self.dir)
            .arg(state)
            .output()
            .expect("run lag");
        assert_ok(&out, &format!("lag {state}"));
    }
}

impl Drop for LagOff {
    fn drop(&mut self) {
        let off = std::process::Command::new(self.bin.join("lag"))
            .arg(&self.dir)
            .arg("off")
            .output();
        if !off.is_ok_and(|o| o.status.success()) {
            eprintln!(
                "could not turn the lag off: run {}/lag {} off",
                self.bin.display(),
                self.dir
            );
        }
    }
}

#[test]
fn e2e_a_lagging_secondary_holds_the_switch_back() {
    let Some(lab) = Lab::get("e2e_lag") else {
        return;
    };
    let lag = LagOff {
        bin: lab.path("LAB_BIN"),
        dir: lab.var("LAB_DIR").to_string(),
    };
    let mut s = Setup::new(lab, Backend::Pdns, "e2e-lag", &[]);
    let lagging = s.lab.var("LAB_PDNS2_DNS").to_string();
    let (lagging_addr, _) = lagging.rsplit_once(':').unwrap();

    // The owner exists on both servers before the lag (so no negative caching counts).
    s.dns(
        "add",
        "3 0 1 0000000000000000000000000000000000000000000000000000000000000001",
    );
    lag.set("on");

    let out = s.issue();
    assert_ok(&out, "certbot certonly");
    let current = s.live_record();
    assert!(s.served_primary().contains(&current));
    assert!(
        !s.served(&lagging).contains(&current),
        "the lagging server serves the new record"
    );

    // Not safe, now or after waiting a while: the lagging server is named.
    let out = s.dr(&["rollover", &s.name]);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    assert!(text(&out).contains(lagging_addr), "{}", text(&out));
    let out = s.dr(&["rollover", &s.name, "--wait", "--max-wait", "8s"]);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    assert!(text(&out).contains(lagging_addr), "{}", text(&out));
    assert_eq!(s.live_record(), current, "switched despite the lag");

    // Caught up: the switch goes through after the wait.
    lag.set("off");
    let out = s.dr(&["rollover", &s.name, "--wait", "--max-wait", "120s"]);
    assert_ok(&out, "rollover --wait after the lag");
    assert_ne!(s.live_record(), current);
}
