//! A market on real nodes: `n` [`MarketConsensusNode`]s in this process, on loopback TCP with
//! Noise channels and their write-ahead logs on disk, fed by synthetic (or replayed) feeds and
//! synthetic traders, with a terminal table of what they committed (`beat-market run`).

use std::io::{IsTerminal, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use beat_core::beat::client::Client;
use beat_core::beat::{self, Variant};
use beat_core::driver::NodeConfig;
use beat_core::keystore::IdentityKey;
use beat_core::{Params, SessionId};
use rand::SeedableRng;

use crate::app::{MarketApp, MarketConsensusNode};
use crate::feed::{market_sources, trader_client_id};
use crate::sim::summary_line;
use crate::state::demo_instruments;
use crate::types::MarketTx;

/// What to run.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// BEAT0, BEAT1 or BEAT2.
    pub variant: Variant,
    /// Committee size.
    pub n: usize,
    /// Nodes `0..feeds` run a feed.
    pub feeds: usize,
    /// Stop after this many seconds (0: at Ctrl-C).
    pub seconds: u64,
    /// Ticks per second of each synthetic feed.
    pub ticks_per_s: u32,
    /// Orders each node's trader places per batch.
    pub orders_per_batch: usize,
    /// How often each node submits its batch.
    pub batch_interval: Duration,
    /// Seed of the feeds and traders (the keys are fresh).
    pub seed: u64,
    /// A recording for feed 0 to replay.
    pub recording: Option<Vec<u8>>,
    /// Redraw a table every second (else print one status line a second).
    pub table: bool,
    /// Where the nodes keep their stores (default: a fresh temporary directory, removed at
    /// the end).
    pub data_dir: Option<PathBuf>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            variant: Variant::Beat0,
            n: 4,
            feeds: 3,
            seconds: 0,
            ticks_per_s: 40,
            orders_per_batch: 2,
            batch_interval: Duration::from_millis(250),
            seed: 1,
            recording: None,
            table: true,
            data_dir: None,
        }
    }
}

/// What a live run measured.
#[derive(Clone, Debug)]
pub struct LiveReport {
    /// Epochs every node committed.
    pub epochs: u64,
    /// Ticks in the committed log.
    pub ticks_committed: u64,
    /// Wall seconds the market ran.
    pub seconds: f64,
    /// Orders filled completely.
    pub orders_filled: u64,
    /// Epochs whose state hashes were compared across all nodes.
    pub compared_epochs: u64,
    /// Whether every compared epoch's hash was the same on every node (and at least one was).
    pub state_hash_agree: bool,
}

impl LiveReport {
    /// The `BEAT-MARKET …` line.
    pub fn line(&self) -> String {
        summary_line(self.epochs, self.ticks_committed, self.seconds, self.orders_filled, self.state_hash_agree)
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Run the market until `cfg.seconds` pass or `stop` is set; the table or status lines go
/// to `out`.
pub fn run(cfg: &LiveConfig, stop: &AtomicBool, out: &mut dyn Write) -> Result<LiveReport, String> {
    if !cfg.variant.encrypted() {
        return Err(format!("the market runs on BEAT0, BEAT1 or BEAT2, not {}", cfg.variant.name()));
    }
    let params = Params::new(cfg.n).map_err(|e| e.to_string())?;
    if cfg.feeds > cfg.n {
        return Err(format!("{} feeds for {} nodes", cfg.feeds, cfg.n));
    }
    // A fresh temporary directory (removed when this returns, on every path) unless given.
    let (dir, tmp) = match &cfg.data_dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new().prefix("beat-market-").tempdir().map_err(|e| e.to_string())?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let instruments = demo_instruments();
    let settings = beat::Settings::for_service(cfg.variant);
    let keys = beat::deal(params, SessionId::from_name("beat-market"), settings, &mut rand::rngs::OsRng);
    let listeners: Vec<TcpListener> =
        (0..cfg.n).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    drop(listeners);
    let ids: Vec<IdentityKey> = (0..cfg.n).map(|_| IdentityKey::generate(&mut rand::rngs::OsRng)).collect();
    let mut nodes = Vec::new();
    for k in &keys {
        let config = NodeConfig::loopback(k.clone(), &ids, &ports, dir.join(format!("node-{}", k.id)));
        nodes.push(
            MarketConsensusNode::start(config, instruments.clone(), None).map_err(|e| format!("node {}: {e}", k.id))?,
        );
    }
    let start_ms = now_ms();
    let (mut feeds, mut traders) =
        market_sources(cfg.feeds, cfg.n, cfg.seed, cfg.ticks_per_s, start_ms, cfg.recording.as_deref())
            .map_err(|e| e.to_string())?;
    let mut trader_clients: Vec<Client> =
        keys.iter().map(|k| Client::new(k.public.clone(), trader_client_id(k.id))).collect();
    let mut rng = rand_chacha::ChaCha20Rng::from_entropy();
    let tty = cfg.table && std::io::stdout().is_terminal();

    let started = Instant::now();
    let (mut next_batch, mut next_draw) = (started, started + Duration::from_secs(1));
    let (mut last_ticks, mut last_draw) = (0u64, started);
    let mut refused = 0u64;
    while !stop.load(Ordering::SeqCst) && (cfg.seconds == 0 || started.elapsed() < Duration::from_secs(cfg.seconds)) {
        let now = Instant::now();
        if now >= next_batch {
            next_batch += cfg.batch_interval;
            let until = now_ms();
            for (i, node) in nodes.iter_mut().enumerate() {
                let items = feeds.get_mut(i).map(|f| f.poll(until)).unwrap_or_default();
                traders[i].observe(&items);
                node.add_feed_items(items);
                for order in traders[i].orders(cfg.orders_per_batch) {
                    if cfg.variant.client_encrypted() {
                        let tx = trader_clients[i].encrypt(&MarketTx::Order(order).encode(), &mut rng);
                        refused += u64::from(node.submit_encrypted(tx).is_err());
                    } else if node.add_order(order).is_err() {
                        refused += 1;
                    }
                }
                refused += u64::from(node.flush().is_err());
            }
        }
        if now >= next_draw {
            next_draw += Duration::from_secs(1);
            let ticks = nodes[0].with_app(|a| a.state.counters.ticks).unwrap_or(0);
            let rate = (ticks - last_ticks.min(ticks)) as f64 / last_draw.elapsed().as_secs_f64();
            (last_ticks, last_draw) = (ticks, Instant::now());
            let dropped = nodes.iter().map(MarketConsensusNode::dropped).sum();
            let frame = nodes[0]
                .with_app(|a| render(a, cfg, nodes[0].status().epoch, rate, started.elapsed(), (refused, dropped)))
                .unwrap_or_default();
            let _ = if tty {
                write!(out, "\x1b[H\x1b[2J{frame}")
            } else if cfg.table {
                writeln!(out, "{frame}")
            } else {
                writeln!(out, "{}", frame.lines().next().unwrap_or_default())
            };
            let _ = out.flush();
        }
        std::thread::sleep(
            next_batch.min(next_draw).saturating_duration_since(Instant::now()).min(Duration::from_millis(50)),
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    // Let every node reach the same epoch (the last batches are in flight), then compare.
    let deadline = Instant::now() + Duration::from_secs(20);
    let epochs_now = |nodes: &[MarketConsensusNode]| nodes.iter().map(|n| n.status().epoch).collect::<Vec<_>>();
    while Instant::now() < deadline {
        let e = epochs_now(&nodes);
        if e.iter().all(|x| *x == e[0]) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let epochs = epochs_now(&nodes).into_iter().min().unwrap_or(0);
    let logs: Vec<Vec<(u64, [u8; 32])>> = nodes
        .iter()
        .map(|n| n.with_app(|a: &MarketApp| a.hashes.iter().copied().collect()).unwrap_or_default())
        .collect();
    let (mut compared, mut agree) = (0u64, true);
    for (epoch, hash) in &logs[0] {
        let others: Vec<Option<[u8; 32]>> =
            logs[1..].iter().map(|l| l.iter().find(|(e, _)| e == epoch).map(|(_, h)| *h)).collect();
        if others.iter().all(Option::is_some) {
            compared += 1;
            agree &= others.iter().all(|h| *h == Some(*hash));
        }
    }
    let (ticks_committed, orders_filled) =
        nodes[0].with_app(|a| (a.state.counters.ticks, a.state.counters.orders_filled)).unwrap_or((0, 0));
    for node in nodes {
        node.shutdown();
    }
    drop(tmp);
    Ok(LiveReport {
        epochs,
        ticks_committed,
        seconds,
        orders_filled,
        compared_epochs: compared,
        state_hash_agree: agree && compared > 0,
    })
}

/// The table: one line of totals, then one row per instrument.
fn render(
    app: &MarketApp,
    cfg: &LiveConfig,
    epoch: u64,
    ticks_s: f64,
    elapsed: Duration,
    refused: (u64, u64),
) -> String {
    let s = &app.state;
    let mut t = format!(
        "market {} n={} feeds={} epoch={} ticks_s={:.1} ticks={} orders={} filled={} fills={} refused_submits={} dropped_items={} t={:.0}s\n",
        cfg.variant.name(),
        cfg.n,
        cfg.feeds,
        epoch,
        ticks_s,
        s.counters.ticks,
        s.counters.orders,
        s.counters.orders_filled,
        s.counters.fills,
        refused.0,
        refused.1,
        elapsed.as_secs_f64()
    );
    t.push_str(&format!(
        "{:<10} {:>10} {:>10} {:>10} {:>18} {:>18} {:>18} {:>9}\n",
        "instrument", "bid", "ask", "vwap", "book bid (qty)", "book ask (qty)", "last fill", "delta"
    ));
    let dash = || "-".to_owned();
    for (name, i) in &s.instruments {
        let (bid, ask) = i.quote.map(|(b, a, _)| (b.to_string(), a.to_string())).unwrap_or_else(|| (dash(), dash()));
        let level = |l: Option<(crate::types::Price, u64)>| l.map(|(p, q)| format!("{p} ({q})")).unwrap_or_else(dash);
        t.push_str(&format!(
            "{:<10} {:>10} {:>10} {:>10} {:>18} {:>18} {:>18} {:>9}\n",
            name,
            bid,
            ask,
            i.vwap().map(|p| p.to_string()).unwrap_or_else(dash),
            level(i.book.best_bid()),
            level(i.book.best_ask()),
            i.last_fill.map(|(p, q)| format!("{p} x {q}")).unwrap_or_else(dash),
            i.greeks.as_ref().map(|g| g.delta.to_string()).unwrap_or_else(dash),
        ));
    }
    t
}

/// Run until Ctrl-C or `seconds`, with the table on standard output.
pub fn run_with_ctrlc(cfg: &LiveConfig) -> Result<LiveReport, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        flag.store(true, Ordering::SeqCst);
    });
    run(cfg, &stop, &mut std::io::stdout())
}
