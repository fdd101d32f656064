//! The fuzz targets on the stable toolchain: every entry point of `danerollover::fuzzing`
//! over its committed seed corpus (`fuzz/corpus/TARGET/`), every regression input
//! (`fuzz/regressions/TARGET/`, one file per crash cargo-fuzz found) and a bounded,
//! deterministic run of random mutations of the seeds. A panic anywhere fails the test with
//! the target and the input's file (or the mutation's number, replayable with the seed).
//!
//! `DANEROLLOVER_FUZZ_MUTATIONS=N` changes the number of mutations per target (default
//! 3000); the real campaigns are cargo-fuzz's (docs/testing.md, "Fuzzing").

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use danerollover::fuzzing::{TARGETS, mutate, target};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

fn run_one(name: &str, what: &str, data: &[u8]) -> Result<(), String> {
    let t = target(name).expect("a known target");
    catch_unwind(AssertUnwindSafe(|| t(data))).map_err(|e| {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("{name}: {what}: panicked: {msg}")
    })
}

#[test]
fn every_target_has_a_seed_corpus_and_a_cargo_fuzz_target() {
    for (name, _) in TARGETS {
        let seeds = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(
            !seeds.is_empty(),
            "fuzz/corpus/{name}/ has no seed: add a few real inputs"
        );
        let wrapper = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&wrapper)
            .unwrap_or_else(|e| panic!("{}: {e}", wrapper.display()));
        assert!(
            text.contains(&format!("danerollover::fuzzing::{name}")),
            "{} does not call danerollover::fuzzing::{name}",
            wrapper.display()
        );
    }
}

#[test]
fn seeds_and_regressions_never_panic() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, _) in TARGETS {
        for sub in ["corpus", "regressions"] {
            for (path, data) in inputs(&fuzz_dir().join(sub).join(name)) {
                count += 1;
                if let Err(e) = run_one(name, &path.display().to_string(), &data) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{count} inputs, no panic");
}

#[test]
fn random_mutations_of_the_seeds_never_panic() {
    let per_target: usize = std::env::var("DANEROLLOVER_FUZZ_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut failures = Vec::new();
    for (name, _) in TARGETS {
        let seeds = inputs(&fuzz_dir().join("corpus").join(name));
        if seeds.is_empty() {
            continue;
        }
        // One fixed seed per target: a failure names the mutation, which replays.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ name.len() as u64;
        let started = std::time::Instant::now();
        for i in 0..per_target {
            let (path, seed) = &seeds[i % seeds.len()];
            let input = mutate(seed, &mut state, 64 * 1024);
            if let Err(e) = run_one(name, &format!("mutation {i} of {}", path.display()), &input) {
                let saved = std::env::temp_dir().join(format!("danerollover-fuzz-{name}-{i}"));
                let _ = std::fs::write(&saved, &input);
                failures.push(format!("{e} (input saved as {})", saved.display()));
                if failures.len() > 10 {
                    break;
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {per_target} mutations in {secs:.1} s ({:.0}/s)",
            per_target as f64 / secs.max(1e-9)
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
