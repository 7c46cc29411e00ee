//! The simulation campaign runner.
//!
//! ```text
//! beat-sim campaign [--seeds N] [--start S] [--determinism-every K] [--canaries C] [--jobs J] [--verbose]
//! beat-sim run --seed S [--n N] [--variant V] [--adversary NAME] [--long]
//! beat-sim adversaries
//! beat-sim node-campaign [--seeds N] [--start S] [--determinism-every K] [--canaries C] [--jobs J] [--verbose]
//! beat-sim node --seed S [--n N] [--variant V] [--adversary NAME] [--canary skip-fence|with-fence|laggard-no-resend|laggard|overflow-no-resend|overflow]
//! ```
//!
//! `node-campaign` runs the node-level simulator (whole nodes with their stores under kills,
//! stale and wiped restarts, lag and a Byzantine member; [`beat_core::sim::node`]) and prints
//! one `BEAT-NODE-SIM …` line.
//!
//! `campaign` runs seeds `S .. S+N` (each seed names its committee size, variant and adversary), re-runs
//! every K-th seed to compare traces, runs C rounds of the canaries (every size and variant),
//! prints the command replaying each failed
//! run and one `BEAT-SIM …` summary line, and exits non-zero unless everything passed.

use std::process::ExitCode;
use std::time::Instant;

use beat_core::beat::Variant;
use beat_core::sim::{campaign_parallel, AdversaryKind, Case, Simulation};

const USAGE: &str = "usage: beat-sim campaign [--seeds N] [--start S] [--determinism-every K] [--canaries C] [--jobs J] [--verbose]\n       beat-sim run --seed S [--n N] [--variant V] [--adversary NAME] [--long]\n       beat-sim adversaries\n       beat-sim node-campaign [--seeds N] [--start S] [--determinism-every K] [--canaries C] [--jobs J] [--verbose]\n       beat-sim node --seed S [--n N] [--variant V] [--adversary NAME] [--canary skip-fence|with-fence|laggard-no-resend|laggard|overflow-no-resend|overflow]";

/// `node` and `node-campaign`.
fn node_main(cmd: &str, args: Vec<String>) -> ExitCode {
    use beat_core::sim::adversary::node::NodeAdversaryKind;
    use beat_core::sim::node::{self, Canary, NodeCase, NodeSim};
    let (mut seeds, mut start, mut every, mut canaries, mut jobs, mut verbose) =
        (60u64, 0u64, 10u64, 5u64, 1usize, false);
    let (mut seed, mut n, mut variant, mut adversary, mut canary) = (None::<u64>, None, None, None, None);
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let r: Result<(), String> = match flag.as_str() {
            "--seeds" => parse(&flag, it.next()).map(|v| seeds = v),
            "--start" => parse(&flag, it.next()).map(|v| start = v),
            "--determinism-every" => parse(&flag, it.next()).map(|v| every = v),
            "--canaries" => parse(&flag, it.next()).map(|v| canaries = v),
            "--jobs" => parse::<usize>(&flag, it.next()).and_then(|v| {
                (1..=64).contains(&v).then(|| jobs = v).ok_or_else(|| "--jobs must be between 1 and 64".to_string())
            }),
            "--verbose" => {
                verbose = true;
                Ok(())
            }
            "--seed" => parse(&flag, it.next()).map(|v| seed = Some(v)),
            "--n" => parse::<usize>(&flag, it.next()).and_then(|v| {
                (4..=beat_core::Params::MAX_N)
                    .contains(&v)
                    .then(|| n = Some(v))
                    .ok_or_else(|| format!("--n must be between 4 and {}", beat_core::Params::MAX_N))
            }),
            "--variant" => {
                let name = it.next().unwrap_or_default();
                Variant::from_name(&name).map(|v| variant = Some(v)).ok_or_else(|| format!("unknown variant {name:?}"))
            }
            "--adversary" => {
                let name = it.next().unwrap_or_default();
                NodeAdversaryKind::from_name(&name)
                    .map(|k| adversary = Some(k))
                    .ok_or_else(|| format!("unknown node adversary {name:?} (see `beat-sim adversaries`)"))
            }
            "--canary" => {
                let value = it.next();
                canary = value.as_deref().and_then(Canary::from_name);
                canary.map(|_| ()).ok_or_else(|| {
                    format!("--canary {value:?}: expected skip-fence, with-fence, laggard-no-resend, laggard, overflow-no-resend, overflow, early-send or group-commit")
                })
            }
            other => Err(format!("unknown flag {other:?}")),
        };
        if let Err(e) = r {
            return fail(&e);
        }
    }
    let show = |r: &node::NodeReport| {
        let c = r.case.as_ref().expect("reports carry their case");
        format!(
            "seed={} n={} variant={} adversary={} canary={:?} epochs={} restarts={} stale_restarts={} wipes={} catchups={} lags={} equivocations={} violations={} live={} deliveries={} dropped={} injected={} trace={}",
            c.seed, c.n, c.variant, c.adversary.name(), c.canary, r.epochs, r.restarts, r.stale_restarts, r.wipes,
            r.catchups, r.lags, r.equivocations.len(), r.violations.len(), r.liveness.is_none(), r.deliveries,
            r.dropped, r.injected, hex::encode(&r.trace[..8])
        )
    };
    if cmd == "node" {
        let Some(seed) = seed else { return fail("node needs --seed") };
        let mut case = match canary {
            Some(c) => NodeCase { seed, ..NodeCase::canary(seed, c) },
            None => NodeCase::from_seed(seed),
        };
        case.n = n.unwrap_or(case.n);
        case.variant = variant.unwrap_or(case.variant);
        case.adversary = adversary.unwrap_or(case.adversary);
        let t = Instant::now();
        let r = NodeSim::new(case).run();
        println!("{} wall_ms={}", show(&r), t.elapsed().as_millis());
        for e in r.equivocations.iter().chain(&r.violations) {
            println!("VIOLATION {e}");
        }
        if let Some(l) = &r.liveness {
            println!("LIVENESS FAILURE: {l}");
        }
        let expected = match canary {
            Some(Canary::SkipFence | Canary::EarlySend) => !r.equivocations.is_empty(),
            Some(Canary::LaggardNoResend) => {
                r.equivocations.is_empty()
                    && r.violations.is_empty()
                    && r.liveness.as_deref().is_some_and(|l| l.starts_with("laggard:"))
            }
            Some(Canary::OverflowNoResend) => {
                r.equivocations.is_empty()
                    && r.violations.is_empty()
                    && r.liveness.as_deref().is_some_and(|l| l.starts_with("overflow:"))
            }
            Some(Canary::Overflow) => r.ok() && r.overflow_lost > 0,
            _ => r.ok(),
        };
        return if expected { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let t = Instant::now();
    let summary = node::campaign(start..start + seeds, every, canaries, jobs, |r| {
        if verbose || (!r.ok() && r.case.as_ref().is_some_and(|c| c.canary.is_none())) {
            eprintln!("{}", show(r));
            for e in r.equivocations.iter().chain(&r.violations) {
                eprintln!("  VIOLATION {e}");
            }
            if let Some(l) = &r.liveness {
                eprintln!("  LIVENESS FAILURE: {l}");
            }
        }
    });
    for f in &summary.failures {
        println!("FAILED: {f}");
    }
    eprintln!("node campaign took {:.1} s", t.elapsed().as_secs_f64());
    println!("{}", summary.detail());
    println!("{}", summary.line());
    if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("beat-sim: error: {msg}\n{USAGE}");
    ExitCode::from(2)
}

fn parse<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse().map_err(|_| format!("invalid value {v:?} for {flag}"))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else { return fail("missing subcommand") };
    if cmd == "node" || cmd == "node-campaign" {
        return node_main(&cmd, args.collect());
    }
    let (mut seeds, mut start, mut every, mut canaries, mut verbose) = (600u64, 0u64, 10u64, 1u64, false);
    let (mut seed, mut n, mut adversary) = (None::<u64>, None::<usize>, None::<AdversaryKind>);
    let mut variant = None::<Variant>;
    let mut long = false;
    let mut jobs = 1usize;
    while let Some(flag) = args.next() {
        let r = match flag.as_str() {
            "--seeds" => parse(&flag, args.next()).map(|v| seeds = v),
            "--start" => parse(&flag, args.next()).map(|v| start = v),
            "--determinism-every" => parse(&flag, args.next()).map(|v| every = v),
            "--canaries" => parse(&flag, args.next()).map(|v| canaries = v),
            "--jobs" => parse::<usize>(&flag, args.next()).and_then(|v| {
                if (1..=64).contains(&v) {
                    jobs = v;
                    Ok(())
                } else {
                    Err("--jobs must be between 1 and 64".into())
                }
            }),
            "--verbose" => {
                verbose = true;
                Ok(())
            }
            "--long" => {
                long = true;
                Ok(())
            }
            "--seed" => parse(&flag, args.next()).map(|v| seed = Some(v)),
            "--n" => parse::<usize>(&flag, args.next()).and_then(|v| {
                if (4..=beat_core::Params::MAX_N).contains(&v) {
                    n = Some(v);
                    Ok(())
                } else {
                    Err(format!("--n must be between 4 and {}", beat_core::Params::MAX_N))
                }
            }),
            "--variant" => match args.next() {
                Some(name) => match Variant::from_name(&name) {
                    Some(v) => {
                        variant = Some(v);
                        Ok(())
                    }
                    None => Err(format!(
                        "unknown variant {name:?} (expected one of BEAT0 … BEAT{})",
                        Variant::ALL.len() - 1
                    )),
                },
                None => Err("--variant needs a value".into()),
            },
            "--adversary" => match args.next() {
                Some(name) => match AdversaryKind::from_name(&name) {
                    Some(k) => {
                        adversary = Some(k);
                        Ok(())
                    }
                    None => Err(format!("unknown adversary {name:?} (see `beat-sim adversaries`)")),
                },
                None => Err("--adversary needs a value".into()),
            },
            other => Err(format!("unknown flag {other:?}")),
        };
        if let Err(e) = r {
            return fail(&e);
        }
    }
    match cmd.as_str() {
        "adversaries" => {
            for k in AdversaryKind::ALL.into_iter().chain(AdversaryKind::CANARIES) {
                println!("{:<24} {:<12} {}", k.name(), k.layer(), k.describe());
            }
            for k in beat_core::sim::adversary::node::NodeAdversaryKind::ALL {
                println!("{:<24} {:<12} {}", k.name(), "node", k.description());
            }
            ExitCode::SUCCESS
        }
        "run" => {
            let Some(seed) = seed else { return fail("run needs --seed") };
            let base = Case::from_seed(seed);
            let mut case = Case::new(
                seed,
                n.unwrap_or(base.n),
                variant.unwrap_or(base.variant),
                adversary.unwrap_or(base.adversary),
            );
            if base.is_long() || long {
                case = case.long();
            }
            let t = Instant::now();
            let r = Simulation::new(case).run();
            println!(
                "seed={} n={} variant={} adversary={} epochs={} txs={} deliveries={} faults_injected={} faults_detected={} max_aba_round={} threshold_coins={} max_lag={} time={} trace={} wall_ms={}",
                r.case.seed,
                r.case.n,
                r.case.variant,
                r.case.adversary.name(),
                r.epochs,
                r.transactions,
                r.deliveries,
                r.faults_injected,
                r.faults_detected,
                r.max_aba_round,
                r.threshold_coins,
                r.max_lag,
                r.end_time,
                hex::encode(&r.trace_hash[..8]),
                t.elapsed().as_millis()
            );
            let mut delays = r.message_delays.clone();
            delays.sort_unstable();
            if let (Some(min), Some(max)) = (delays.first(), delays.last()) {
                println!(
                    "message_delays min={min} p50={} max={max} (per committed epoch at each correct node)",
                    delays[delays.len() / 2]
                );
            }
            for v in &r.violations {
                println!("VIOLATION {}: {}", v.property, v.detail);
            }
            if r.liveness_failure {
                println!("LIVENESS FAILURE: the step budget ran out");
            }
            if r.ok() || (AdversaryKind::CANARIES.contains(&r.case.adversary) && !r.violations.is_empty()) {
                ExitCode::SUCCESS
            } else {
                println!("replay: {}", r.case.replay_command());
                ExitCode::FAILURE
            }
        }
        "campaign" => {
            let t = Instant::now();
            let mut last = Instant::now();
            let summary = campaign_parallel(start..start + seeds, every, canaries, jobs, |r| {
                if verbose {
                    eprintln!(
                        "seed={} n={} variant={} adversary={} epochs={} ok={} max_aba_round={} wall_ms={}",
                        r.case.seed,
                        r.case.n,
                        r.case.variant,
                        r.case.adversary.name(),
                        r.epochs,
                        r.ok(),
                        r.max_aba_round,
                        last.elapsed().as_millis()
                    );
                    last = Instant::now();
                }
                if !r.ok() && !AdversaryKind::CANARIES.contains(&r.case.adversary) {
                    for v in &r.violations {
                        eprintln!("seed {}: VIOLATION {}: {}", r.case.seed, v.property, v.detail);
                    }
                }
            });
            for f in &summary.failures {
                println!("FAILED: replay with: {f}");
            }
            eprintln!("campaign took {:.1} s", t.elapsed().as_secs_f64());
            println!("{}", summary.detail());
            for line in summary.delay_lines() {
                println!("{line}");
            }
            println!("{}", beat_core::sim::canary_notes());
            println!("{}", summary.line());
            if summary.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        other => fail(&format!("unknown subcommand {other:?}")),
    }
}
