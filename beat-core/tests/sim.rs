//! Simulator tests: a campaign slice over every adversary and committee size, determinism,
//! the canary, and `replay` for a seed from the environment. A campaign seed that ever fails
//! is added here as its own `#[test]` calling `assert_ok(Case::from_seed(seed))`, with a
//! comment saying what it found (none has failed so far).

use beat_core::sim::{campaign, AdversaryKind, Case, Simulation};

fn assert_ok(case: Case) -> beat_core::sim::Report {
    let r = Simulation::new(case).run();
    assert!(r.violations.is_empty(), "violations {:?}\nreplay: {}", r.violations, r.case.replay_command());
    assert!(!r.liveness_failure, "liveness failure\nreplay: {}", r.case.replay_command());
    r
}

/// Every adversary at every committee size, one seed each.
#[test]
fn every_adversary_every_size() {
    for (k, adv) in AdversaryKind::ALL.into_iter().enumerate() {
        for n in [4, 5, 7] {
            let r = assert_ok(Case::new(10_000 + k as u64 * 10 + n as u64, n, adv));
            assert!(r.epochs >= 3, "{} n={n}: only {} epochs", adv.name(), r.epochs);
            if adv != AdversaryKind::None {
                assert!(r.faults_injected > 0, "{} n={n} injected nothing", adv.name());
            }
        }
    }
}

/// Adversaries that send invalid data are caught and attributed.
#[test]
fn invalid_data_is_attributed() {
    for adv in [AdversaryKind::BadCoinShare, AdversaryKind::BadDecShare, AdversaryKind::MalformedCiphertext] {
        let detected: u64 = (0..3).map(|s| assert_ok(Case::new(20_000 + s, 4, adv)).faults_detected).sum();
        assert!(detected > 0, "{}: no fault recorded", adv.name());
    }
}

/// The same seed gives the same run; another seed another run.
#[test]
fn deterministic() {
    let a = Simulation::new(Case::from_seed(42)).run();
    let b = Simulation::new(Case::from_seed(42)).run();
    let c = Simulation::new(Case::from_seed(45)).run();
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_ne!(a.trace_hash, c.trace_hash);
}

/// f + 1 colluding nodes break RBC agreement, and the checker must see it.
#[test]
fn canary_is_caught() {
    for (seed, n) in [(1, 4), (2, 7), (3, 4)] {
        let r = Simulation::new(Case::new(seed, n, AdversaryKind::Canary)).run();
        assert!(
            r.violations.iter().any(|v| v.property.starts_with("rbc")),
            "canary n={n} not caught: {:?}",
            r.violations
        );
    }
}

/// The coin attacks reach the threshold coin (so they are really exercised) and do not keep
/// ABA running: every run terminates within few rounds.
#[test]
fn coin_attacks_engage_and_terminate() {
    for adv in [AdversaryKind::CoinSteering, AdversaryKind::BadCoinShare] {
        let mut coins = 0;
        for seed in 0..6 {
            let r = assert_ok(Case::new(30_000 + seed, [4, 7][seed as usize % 2], adv));
            assert!(r.max_aba_round < 30, "ABA needed {} rounds", r.max_aba_round);
            coins += r.threshold_coins;
        }
        assert!(coins > 0, "{}: the threshold coin was never used", adv.name());
    }
}

/// A slice of the campaign (the full ≥ 600-seed campaign runs from `beat-sim campaign`).
#[test]
fn campaign_slice() {
    let s = campaign(0..66, 11, 2, |_| {});
    assert!(s.passed(), "{}\n{:#?}", s.line(), s.failures);
    assert_eq!(s.seeds, 66);
}

/// `BEAT_SEED=<seed> cargo test --release -p beat-core --test sim replay -- --nocapture`
/// replays one campaign seed; without `BEAT_SEED` it replays seed 0.
#[test]
fn replay() {
    let seed = std::env::var("BEAT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let r = Simulation::new(Case::from_seed(seed)).run();
    println!("{r:#?}");
    assert!(r.ok(), "seed {seed} failed: {:?}", r.violations);
}
