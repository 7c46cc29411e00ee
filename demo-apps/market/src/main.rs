//! `beat-market`: the market reference app.
//!
//! ```text
//! beat-market run [--seconds 30]          four nodes on loopback, a live table, BEAT-MARKET line
//! beat-market simulate [--epochs 120]     the same market on a simulated committee (deterministic)
//! beat-market record --out sample.fbf     record a synthetic feed as flexbuffers frames
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use beat_core::beat::Variant;
use beat_market::feed::{record, SyntheticFeed};
use beat_market::live::{self, LiveConfig};
use beat_market::sim::{self, SimConfig};
use beat_market::state::demo_instruments;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "beat-market", about = "A market pipeline on BEAT: feeds → batches → consensus → one market state")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a market on real nodes (loopback TCP, Noise, WAL on disk) with a live table.
    Run(RunArgs),
    /// Run the market on a simulated committee: deterministic, every epoch's state hash compared.
    Simulate(SimArgs),
    /// Record a synthetic feed as flexbuffers frames (what `--replay` reads).
    Record(RecordArgs),
}

#[derive(Args)]
struct Common {
    /// BEAT0, BEAT1 or BEAT2 (BEAT2: traders encrypt their own orders).
    #[arg(long, default_value = "beat0", value_parser = parse_variant)]
    variant: Variant,
    /// Committee size (4–7 is what BEAT is built for).
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// How many nodes run a feed.
    #[arg(long, default_value_t = 3)]
    feeds: usize,
    /// Ticks per second of each synthetic feed.
    #[arg(long, default_value_t = 40)]
    rate: u32,
    /// Seed of the feeds and traders.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Replay this recording (from `beat-market record`) as feed 0.
    #[arg(long)]
    replay: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
    /// Orders each node's trader places per batch.
    #[arg(long, default_value_t = 2)]
    orders: usize,
    /// Milliseconds between a node's batches.
    #[arg(long, default_value_t = 250)]
    batch_ms: u64,
    /// Print one status line a second instead of the table.
    #[arg(long)]
    no_table: bool,
    /// Keep the nodes' stores here (default: a temporary directory, removed at the end).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct SimArgs {
    #[command(flatten)]
    common: Common,
    /// Epochs to run.
    #[arg(long, default_value_t = 120)]
    epochs: u64,
    /// Simulated milliseconds of feed data per epoch.
    #[arg(long, default_value_t = 500)]
    epoch_ms: u64,
    /// Orders each node's trader places per epoch.
    #[arg(long, default_value_t = 4)]
    orders: usize,
}

#[derive(Args)]
struct RecordArgs {
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    /// Seconds of feed to record.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Ticks per second.
    #[arg(long, default_value_t = 40)]
    rate: u32,
    /// The feed's seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn parse_variant(s: &str) -> Result<Variant, String> {
    match Variant::from_name(s) {
        Some(v) if v.encrypted() => Ok(v),
        Some(v) => Err(format!("{} stores blobs; the market runs on BEAT0, BEAT1 or BEAT2", v.name())),
        None => Err(format!("unknown variant {s:?}: expected beat0, beat1 or beat2")),
    }
}

fn read_recording(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, String> {
    path.as_ref().map(|p| std::fs::read(p).map_err(|e| format!("--replay {}: {e}", p.display()))).transpose()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => read_recording(&a.common.replay).and_then(|recording| {
            let cfg = LiveConfig {
                variant: a.common.variant,
                n: a.common.nodes,
                feeds: a.common.feeds,
                seconds: a.seconds,
                ticks_per_s: a.common.rate,
                orders_per_batch: a.orders,
                batch_interval: Duration::from_millis(a.batch_ms.max(10)),
                seed: a.common.seed,
                recording,
                table: !a.no_table,
                data_dir: a.data_dir,
            };
            let report = live::run_with_ctrlc(&cfg)?;
            println!("compared_epochs={}", report.compared_epochs);
            println!("{}", report.line());
            Ok(report.state_hash_agree)
        }),
        Command::Simulate(a) => read_recording(&a.common.replay).and_then(|recording| {
            let cfg = SimConfig {
                variant: a.common.variant,
                n: a.common.nodes,
                feeds: a.common.feeds,
                epochs: a.epochs,
                epoch_ms: a.epoch_ms,
                ticks_per_s: a.common.rate,
                orders_per_epoch: a.orders,
                seed: a.common.seed,
                recording,
                record_views: false,
                hostile: None,
                canary_skew: None,
            };
            let report = sim::simulate(&cfg).map_err(|e| e.to_string())?;
            println!("final_state_hash={} messages={}", report.final_hash(), report.messages);
            println!("{}", report.line());
            Ok(report.state_hash_agree)
        }),
        Command::Record(a) => {
            let mut feed = SyntheticFeed::new("recorded", a.seed, demo_instruments(), a.rate, 0);
            let bytes = record(&mut feed, 0, a.seconds);
            std::fs::write(&a.out, &bytes)
                .map(|()| {
                    eprintln!("wrote {} ({} bytes)", a.out.display(), bytes.len());
                    true
                })
                .map_err(|e| format!("--out {}: {e}", a.out.display()))
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("beat-market: the nodes' market states differ");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("beat-market: {e}");
            ExitCode::from(2)
        }
    }
}
