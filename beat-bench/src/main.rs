//! `beat-bench`: compare BEAT0 with hbbft's HoneyBadger, and the BEAT variants with each
//! other, in one in-process harness.
//!
//! ```text
//! beat-bench compare  [--n 4,7] [--b 100,1000,10000] [--epochs E] [--seed S]
//! beat-bench hbbft    [--n 4,7] [--b 100,1000,10000] [--epochs E] [--seed S]
//! beat-bench variants [--n 4,7] [--b 1000,10000] [--epochs E] [--seed S]
//! beat-bench cluster  [--n 4] [--b 100,1000,10000] [--variants beat0,…] [--seconds 6] [--tps T]
//! ```

use std::process::ExitCode;

use beat_bench::beat_run::{run_beat0, run_variant};
use beat_bench::cluster::{run_cluster, ClusterCase};
use beat_bench::hbbft_run::run_hbbft;
use beat_bench::node_run::run_node_variant;
use beat_bench::{RunStats, TX_SIZE};
use beat_core::beat::Variant;

const USAGE: &str = "usage: beat-bench <compare|beat0|hbbft|variants|cluster> [--n 4,7] [--b 100,1000,10000] \
[--epochs E] [--seed S]; cluster also [--variants beat0,beat1,…] [--seconds S] [--tps T]";

/// Default epochs: 5, or 3 for b >= 10000.
fn default_epochs(b: usize) -> u64 {
    if b >= 10_000 {
        3
    } else {
        5
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Compare,
    Hbbft,
    Beat0,
    Variants,
    Cluster,
}

#[derive(Debug)]
struct Args {
    command: Command,
    ns: Vec<usize>,
    bs: Vec<usize>,
    epochs: Option<u64>,
    seed: u64,
    variants: Vec<Variant>,
    seconds: u64,
    tps: Option<u64>,
}

fn parse_list(flag: &str, value: &str) -> Result<Vec<usize>, String> {
    let list = value
        .split(',')
        .map(|s| s.trim().parse::<usize>().map_err(|_| format!("invalid value {s:?} for {flag}")))
        .collect::<Result<Vec<_>, _>>()?;
    if list.is_empty() {
        return Err(format!("empty list for {flag}"));
    }
    Ok(list)
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let (cmd, rest) = args
        .split_first()
        .ok_or_else(|| "missing subcommand (expected compare, beat0, hbbft, variants or cluster)".to_string())?;
    let command = match cmd.as_str() {
        "compare" => Command::Compare,
        "hbbft" => Command::Hbbft,
        "beat0" => Command::Beat0,
        "variants" => Command::Variants,
        "cluster" => Command::Cluster,
        other => {
            return Err(format!("unknown subcommand {other:?} (expected compare, beat0, hbbft, variants or cluster)"))
        }
    };
    let bs = if command == Command::Variants { vec![1000, 10_000] } else { vec![100, 1000, 10_000] };
    let ns = if command == Command::Cluster { vec![4] } else { vec![4, 7] };
    let mut parsed =
        Args { command, ns, bs, epochs: None, seed: 1, variants: Variant::ALL.to_vec(), seconds: 6, tps: None };
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let cluster_only = matches!(flag, "--variants" | "--seconds" | "--tps");
        let known =
            matches!(flag, "--n" | "--b" | "--epochs" | "--seed") || (cluster_only && command == Command::Cluster);
        if !known {
            return Err(format!("unknown flag {arg:?}"));
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().cloned().ok_or_else(|| format!("missing value for {flag}"))?,
        };
        match flag {
            "--n" => {
                let ns = parse_list(flag, &value)?;
                if let Some(bad) = ns.iter().find(|&&n| n == 0 || n >= (1 << 16)) {
                    return Err(format!("invalid node count {bad} for --n"));
                }
                parsed.ns = ns;
            }
            "--b" => parsed.bs = parse_list(flag, &value)?,
            "--epochs" => {
                let e = value.parse::<u64>().map_err(|_| format!("invalid value {value:?} for --epochs"))?;
                if e == 0 {
                    return Err("--epochs must be at least 1".to_string());
                }
                parsed.epochs = Some(e);
            }
            "--seed" => {
                parsed.seed = value.parse::<u64>().map_err(|_| format!("invalid value {value:?} for --seed"))?;
            }
            "--variants" => {
                parsed.variants = value
                    .split(',')
                    .map(|v| Variant::from_name(v).ok_or_else(|| format!("unknown variant {v:?} for --variants")))
                    .collect::<Result<_, _>>()?;
            }
            "--seconds" => match value.parse::<u64>() {
                Ok(s) if s >= 2 => parsed.seconds = s,
                _ => return Err(format!("invalid value {value:?} for --seconds (at least 2)")),
            },
            "--tps" => match value.parse::<u64>() {
                Ok(t) if t >= 1 => parsed.tps = Some(t),
                _ => return Err(format!("invalid value {value:?} for --tps (at least 1)")),
            },
            _ => unreachable!("flag checked above"),
        }
    }
    Ok(parsed)
}

fn fmt_ms(s: Option<&RunStats>) -> String {
    s.map_or_else(|| "na".to_string(), |s| format!("{:.1}", s.epoch_ms()))
}

fn fmt_tx_s(s: Option<&RunStats>) -> String {
    s.map_or_else(|| "na".to_string(), |s| format!("{:.0}", s.tx_s()))
}

/// Offered load of a cluster case unless `--tps` is given: low for b = 100 (latency), about
/// what the machine sustains for larger b (throughput); BEAT2's client transactions are
/// encrypted before the run and decrypted one by one, so it is offered less.
fn cluster_tps(variant: Variant, b: usize) -> u64 {
    let tps = match b {
        0..=100 => 1_000,
        101..=1000 => 10_000,
        _ => 60_000,
    };
    if variant.client_encrypted() {
        tps / 20
    } else {
        tps
    }
}

/// Offered load of the node-level lines: what a 2-core machine sustains for each variant
/// (BEAT2's client encryption and per-transaction decryption bound it far lower).
fn node_tps(variant: Variant) -> u64 {
    if variant.client_encrypted() {
        200
    } else {
        4000
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if matches!(argv.first().map(String::as_str), Some("-h" | "--help" | "help")) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("beat-bench: error: {e}; {USAGE}");
            return ExitCode::from(2);
        }
    };
    for &n in &args.ns {
        for &b in &args.bs {
            let epochs = args.epochs.unwrap_or_else(|| default_epochs(b));
            match args.command {
                Command::Compare => {
                    let beat0 = run_beat0(n, b, epochs, args.seed);
                    let hb = run_hbbft(n, b, epochs, args.seed);
                    let speedup = beat0
                        .as_ref()
                        .map_or_else(|| "na".to_string(), |s| format!("{:.2}", hb.epoch_ms() / s.epoch_ms()));
                    println!(
                        "compare n={n} b={b} beat0_epoch_ms={} hbbft_epoch_ms={} \
                         beat0_tx_s={} hbbft_tx_s={} speedup={speedup}",
                        fmt_ms(beat0.as_ref()),
                        fmt_ms(Some(&hb)),
                        fmt_tx_s(beat0.as_ref()),
                        fmt_tx_s(Some(&hb)),
                    );
                }
                Command::Variants => {
                    for variant in Variant::ALL {
                        let (run, reads) = run_variant(variant, n, b, epochs, args.seed);
                        let per = |x: f64| {
                            if run.payload_bytes == 0 {
                                f64::NAN
                            } else {
                                x / run.payload_bytes as f64
                            }
                        };
                        println!(
                            "variant={} n={n} b={b} epoch_ms={:.1} tx_s={:.0} bytes_sent_per_payload_byte={:.2} \
                             stored_bytes_per_payload_byte={:.2}",
                            variant.name(),
                            run.stats.epoch_ms(),
                            run.stats.tx_s(),
                            per(run.stats.bytes_sent.unwrap_or(0) as f64),
                            per(run.stored_bytes_per_node),
                        );
                        if b == args.bs[0] {
                            // Through BeatNode: loopback TCP, Noise, redb with the WAL fsynced.
                            let r = run_node_variant(variant, n, TX_SIZE, node_tps(variant), 6, args.seed);
                            let per = |x: u64| {
                                if r.payload_bytes == 0 {
                                    f64::NAN
                                } else {
                                    x as f64 / r.payload_bytes as f64
                                }
                            };
                            println!(
                                "node variant={} n={n} tx_size={TX_SIZE} offered_tx_s={} tx_s={:.0} commits_s={:.1} \
                                 wire_bytes_per_payload_byte={:.2} disk_bytes_per_payload_byte={:.2}",
                                variant.name(),
                                node_tps(variant),
                                r.tx_s,
                                r.epochs_s,
                                per(r.wire_bytes),
                                per(r.disk_bytes),
                            );
                        }
                        for (part, r) in ["full", "1tx"].into_iter().zip(&reads) {
                            println!(
                                "read variant={} n={n} size={} part={part} bytes_fetched={} nodes_contacted={}",
                                variant.name(),
                                reads[0].size,
                                r.bytes_fetched,
                                r.nodes_contacted
                            );
                        }
                    }
                }
                Command::Cluster => {
                    for &variant in &args.variants {
                        let case = ClusterCase {
                            variant,
                            n,
                            b,
                            tps: args.tps.unwrap_or_else(|| cluster_tps(variant, b)),
                            seconds: args.seconds,
                            tx_size: TX_SIZE,
                            seed: args.seed,
                        };
                        let r = run_cluster(&case);
                        println!("{}", r.line(&case));
                        println!(
                            "  offered_tx_s={} epochs={} latency_samples={} refused_submits={}",
                            case.tps, r.epochs, r.samples, r.refused
                        );
                    }
                }
                Command::Hbbft | Command::Beat0 => {
                    let (name, run) = if args.command == Command::Hbbft {
                        ("hbbft", run_hbbft(n, b, epochs, args.seed))
                    } else {
                        ("beat0", run_beat0(n, b, epochs, args.seed).expect("BEAT0 harness"))
                    };
                    let bytes = run.bytes_sent.map_or_else(|| "na".to_string(), |x| x.to_string());
                    println!(
                        "{name} n={n} b={b} epochs={} elapsed_s={:.3} epoch_ms={:.1} \
                         tx_s={:.0} unique_txs={} bytes_sent={bytes}",
                        run.epochs,
                        run.elapsed.as_secs_f64(),
                        run.epoch_ms(),
                        run.tx_s(),
                        run.unique_txs,
                    );
                }
            }
        }
    }
    ExitCode::SUCCESS
}
