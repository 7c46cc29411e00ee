//! The market on a simulated committee: `n` BEAT state machines ([`Beat`]) in one process,
//! messages delivered in a seeded random order, feeds paced by simulated time. Deterministic:
//! a seed (and a recording) gives the same run, bit for bit, on every machine.
//!
//! Checked at every epoch: every node's [`MarketState`] hash is the same. Recorded on request:
//! each node's *view* of each epoch before its common set was fixed — the bytes of every
//! message it received for that epoch before its ACS output — so a test can look for other
//! nodes' order contents in it.

use std::collections::{BTreeMap, BTreeSet};

use beat_core::app::ConsensusApp;
use beat_core::beat::client::Client;
use beat_core::beat::{self, Beat, Config, Content, Input, Message, Output, Settings, Variant};
use beat_core::proto::{Event, Protocol, Step};
use beat_core::{NodeId, Params, SessionId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::app::{node_client_id, MarketApp};
use crate::feed::{market_sources, trader_client_id, RecordingError};
use crate::state::{demo_instruments, MarketState};
use crate::types::{MarketBatch, MarketTx, Order};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// BEAT0, BEAT1 or BEAT2 run the market; BEAT3 only records views (it disperses proposals
    /// in the clear: the control that shows the view check can fail).
    pub variant: Variant,
    /// Committee size.
    pub n: usize,
    /// Nodes `0..feeds` each run a feed.
    pub feeds: usize,
    /// Epochs with input (feeds and traders). Then empty epochs run until every node's buffer
    /// is empty (at most [`DRAIN_EPOCHS`]): a proposal the common set left out is proposed
    /// again, so everything fed in is committed by the end.
    pub epochs: u64,
    /// Simulated milliseconds per epoch (how much feed data each batch carries).
    pub epoch_ms: u64,
    /// Ticks per second of each synthetic feed.
    pub ticks_per_s: u32,
    /// Orders each node's trader places per epoch.
    pub orders_per_epoch: usize,
    /// Seed of keys, feeds, traders and message order.
    pub seed: u64,
    /// A recording ([`crate::feed::record`]) for feed 0 to replay instead of a synthetic feed.
    pub recording: Option<Vec<u8>>,
    /// Record every node's view of every epoch ([`SimReport::views`]).
    pub record_views: bool,
    /// A Byzantine proposer: this node also proposes, every epoch, what a correct node's
    /// `validate` would refuse — undecodable bytes, names over the limit, unlisted
    /// instruments, crossed quotes, extreme prices and quantities, and a flood of far-off
    /// orders — so the fold's handling of hostile input is checked for agreement too.
    pub hostile: Option<NodeId>,
    /// Canary: node `.0` applies epoch `.1` without its last transaction, as a node with a
    /// non-deterministic fold would diverge (the agreement check must report that epoch).
    pub canary_skew: Option<(NodeId, u64)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            variant: Variant::Beat0,
            n: 4,
            feeds: 3,
            epochs: 120,
            epoch_ms: 500,
            ticks_per_s: 40,
            orders_per_epoch: 4,
            seed: 1,
            recording: None,
            record_views: false,
            hostile: None,
            canary_skew: None,
        }
    }
}

/// Empty epochs at most after the input ends ([`SimConfig::epochs`]).
pub const DRAIN_EPOCHS: u64 = 10;

/// What a simulation found.
#[derive(Debug)]
pub struct SimReport {
    /// Epochs committed by every node (input and drain).
    pub epochs: u64,
    /// Simulated seconds (epochs × `epoch_ms`).
    pub seconds: f64,
    /// Ticks in the committed log (node 0's state).
    pub ticks_committed: u64,
    /// Orders filled completely.
    pub orders_filled: u64,
    /// Whether every node's state hash was the same after every epoch.
    pub state_hash_agree: bool,
    /// The first epoch after which two nodes' hashes differed.
    pub first_disagreement: Option<u64>,
    /// Each node's final state.
    pub states: Vec<MarketState>,
    /// Each order placed: the epoch (loop turn) it was placed in — its proposal may commit in
    /// a later epoch — the node it was given to, and its encoding.
    pub orders: Vec<(u64, NodeId, Vec<u8>)>,
    /// With [`SimConfig::record_views`]: `(node, epoch)` → the encoded messages of that epoch
    /// the node received before its common set was fixed, concatenated.
    pub views: BTreeMap<(NodeId, u64), Vec<u8>>,
    /// Messages delivered.
    pub messages: u64,
    /// Decryption-share messages a node sent for an epoch before its own common set of that
    /// epoch was fixed (each would let the committee read a proposal early: must be 0).
    pub early_shares: u64,
}

impl SimReport {
    /// The summary line.
    pub fn line(&self) -> String {
        summary_line(self.epochs, self.ticks_committed, self.seconds, self.orders_filled, self.state_hash_agree)
    }

    /// The final state hash of node 0, hex.
    pub fn final_hash(&self) -> String {
        self.states.first().map(|s| hex::encode(s.hash())).unwrap_or_default()
    }
}

/// `BEAT-MARKET epochs=… ticks_committed=… ticks_s=… orders_filled=… state_hash_agree=yes|no`.
pub fn summary_line(epochs: u64, ticks: u64, seconds: f64, orders_filled: u64, agree: bool) -> String {
    format!(
        "BEAT-MARKET epochs={epochs} ticks_committed={ticks} ticks_s={:.1} orders_filled={orders_filled} state_hash_agree={}",
        ticks as f64 / seconds.max(1e-9),
        if agree { "yes" } else { "no" }
    )
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration BEAT does not allow.
    #[error("{0}")]
    Config(String),
    /// The recording is damaged.
    #[error("recording: {0}")]
    Recording(#[from] RecordingError),
    /// A node returned an error (a bug: nothing here is Byzantine).
    #[error("node {node}: {error}")]
    Node {
        /// Which node.
        node: NodeId,
        /// What it said.
        error: String,
    },
    /// The network went quiet before every node committed an epoch.
    #[error("epoch {0} did not commit at every node")]
    Stalled(u64),
}

struct Sim {
    nodes: Vec<Beat>,
    rngs: Vec<ChaCha20Rng>,
    net_rng: ChaCha20Rng,
    queue: Vec<(NodeId, NodeId, Message)>,
    batches: Vec<Vec<beat::Batch>>,
    fixed: BTreeSet<(NodeId, u64)>,
    views: Option<BTreeMap<(NodeId, u64), Vec<u8>>>,
    messages: u64,
    early_shares: u64,
}

impl Sim {
    fn absorb(&mut self, from: NodeId, step: Step<Message, Output>) {
        // Events first: a step that fixes the common set also carries the shares it releases.
        for event in step.events {
            if let Event::AcsOutput { epoch, .. } = event {
                self.fixed.insert((from, epoch));
            }
        }
        for (target, msg) in step.messages {
            if matches!(msg.content, Content::DecShares { .. }) && !self.fixed.contains(&(from, msg.epoch)) {
                self.early_shares += 1;
            }
            for to in 0..self.nodes.len() {
                if target.includes(from, to) {
                    self.queue.push((from, to, msg.clone()));
                }
            }
        }
        for out in step.output {
            if let Output::Batch(b) = out {
                self.batches[from].push(b);
            }
        }
    }

    fn input(&mut self, i: NodeId, input: Input) -> Result<(), SimError> {
        let step = self.nodes[i]
            .handle_input(input, &mut self.rngs[i])
            .map_err(|e| SimError::Node { node: i, error: e.to_string() })?;
        self.absorb(i, step);
        Ok(())
    }

    /// Deliver messages in random order until every node committed `epoch`.
    fn run_epoch(&mut self, epoch: u64) -> Result<(), SimError> {
        while self.batches.iter().any(|b| (b.len() as u64) <= epoch) {
            if self.queue.is_empty() {
                return Err(SimError::Stalled(epoch));
            }
            let k = self.net_rng.gen_range(0..self.queue.len());
            let (from, to, msg) = self.queue.swap_remove(k);
            self.messages += 1;
            if let Some(views) = &mut self.views {
                if !self.fixed.contains(&(to, msg.epoch)) {
                    views.entry((to, msg.epoch)).or_default().extend(beat_core::codec::encode(&msg));
                }
            }
            let step = self.nodes[to]
                .handle_message(from, msg, &mut self.rngs[to])
                .map_err(|e| SimError::Node { node: to, error: e.to_string() })?;
            self.absorb(to, step);
        }
        Ok(())
    }
}

/// What [`SimConfig::hostile`] proposes in `epoch`.
fn hostile_transactions(epoch: u64) -> Vec<Vec<u8>> {
    use crate::types::{Price, Side, Tick, MAX_NAME};
    let order = |instrument: &str, price: i64, qty: u64, id: u64| Order {
        trader: "mallory".into(),
        client_order_id: id,
        instrument: instrument.into(),
        side: if id % 2 == 0 { Side::Buy } else { Side::Sell },
        price: Price(price),
        qty,
    };
    let tick = |bid: i64, ask: i64, size: u64| Tick {
        instrument: "ACME".into(),
        bid: Price(bid),
        ask: Price(ask),
        size,
        source_ts_ms: u64::MAX - epoch,
    };
    let flood = MarketBatch {
        source: 99,
        seq: epoch,
        ticks: vec![tick(i64::MAX - 1, i64::MAX, crate::state::MAX_QTY), tick(5, 4, 1), tick(0, 1, 1), tick(-3, 7, 1)],
        greeks: Vec::new(),
        orders: (0..600).map(|k| order("GLOBX", if k % 2 == 0 { 1 } else { i64::MAX }, 1, epoch * 1000 + k)).collect(),
    };
    vec![
        vec![0xff; 40],
        b"not cbor at all".to_vec(),
        MarketTx::Order(order(&"X".repeat(MAX_NAME + 1), 1, 1, epoch)).encode(),
        MarketTx::Order(order("NOPE", 100, 1, epoch)).encode(),
        MarketTx::Order(order("ACME", i64::MAX, crate::state::MAX_QTY, epoch)).encode(),
        MarketTx::Order(order("ACME", -5, 1, epoch)).encode(),
        MarketTx::Order(order("ACME", 100, 0, epoch)).encode(),
        MarketTx::Order(order("ACME", 100, u64::MAX, epoch)).encode(),
        MarketTx::Batch(flood).encode(),
    ]
}

/// Run the market on a simulated committee.
pub fn simulate(cfg: &SimConfig) -> Result<SimReport, SimError> {
    let params = Params::new(cfg.n).map_err(|e| SimError::Config(e.to_string()))?;
    if cfg.feeds > cfg.n {
        return Err(SimError::Config(format!("{} feeds for {} nodes", cfg.feeds, cfg.n)));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let settings = Settings::with_variant(cfg.variant);
    let keys = beat::deal(params, SessionId::from_name("beat-market-sim"), settings.clone(), &mut rng);
    let instruments = demo_instruments();
    let mut sim = Sim {
        nodes: keys.iter().map(|k| Beat::new(k.clone(), Config::default())).collect(),
        rngs: (0..cfg.n).map(|i| ChaCha20Rng::seed_from_u64(cfg.seed.wrapping_mul(1000) + i as u64)).collect(),
        net_rng: ChaCha20Rng::seed_from_u64(cfg.seed ^ 0x006e_6574_776f_726b),
        queue: Vec::new(),
        batches: vec![Vec::new(); cfg.n],
        fixed: BTreeSet::new(),
        views: cfg.record_views.then(BTreeMap::new),
        messages: 0,
        early_shares: 0,
    };
    let (mut feeds, mut traders) =
        market_sources(cfg.feeds, cfg.n, cfg.seed, cfg.ticks_per_s, 0, cfg.recording.as_deref())?;
    // BEAT2: each node is a client of its committee for its batch, each trader for its orders.
    let mut node_clients: Vec<Client> =
        (0..cfg.n).map(|i| Client::new(keys[i].public.clone(), node_client_id(i as u32))).collect();
    let mut trader_clients: Vec<Client> =
        (0..cfg.n).map(|i| Client::new(keys[i].public.clone(), trader_client_id(i))).collect();
    let mut apps: Vec<MarketApp> =
        (0..cfg.n).map(|_| MarketApp::new(instruments.clone(), settings.max_tx_size)).collect();
    let mut orders = Vec::new();
    let (mut agree, mut first_disagreement) = (true, None);

    let mut epoch = 0;
    loop {
        let feeding = epoch < cfg.epochs;
        if !feeding && (epoch >= cfg.epochs + DRAIN_EPOCHS || sim.nodes.iter().all(|n| n.buffered() == 0)) {
            break;
        }
        let until = (epoch + 1) * cfg.epoch_ms;
        for i in 0..cfg.n {
            if !feeding {
                sim.input(i, Input::Propose)?;
                continue;
            }
            let items = match feeds.get_mut(i) {
                Some(f) => f.poll(until),
                None => Vec::new(),
            };
            traders[i].observe(&items);
            let placed: Vec<Order> = traders[i].orders(cfg.orders_per_epoch);
            for o in &placed {
                orders.push((epoch, i, beat_core::codec::encode(o)));
            }
            let mut batch = MarketBatch { source: i as u32, seq: epoch, ..MarketBatch::default() };
            for item in items {
                match item {
                    crate::types::FeedItem::Tick(t) => batch.ticks.push(t),
                    crate::types::FeedItem::Greeks(g) => batch.greeks.push(g),
                }
            }
            let mut txs = Vec::new();
            let budget = settings.max_tx_size - if cfg.variant.client_encrypted() { 2048 } else { 0 };
            if cfg.variant.client_encrypted() {
                for o in placed {
                    txs.push(trader_clients[i].encrypt(&MarketTx::Order(o).encode(), &mut sim.rngs[i]));
                }
            } else {
                batch.orders = placed;
            }
            if !batch.is_empty() {
                let (pieces, dropped) = batch.split_to_fit(budget);
                debug_assert_eq!(dropped, 0, "feed items are small");
                for piece in pieces {
                    let tx = MarketTx::Batch(piece).encode();
                    txs.push(match cfg.variant.client_encrypted() {
                        true => node_clients[i].encrypt(&tx, &mut sim.rngs[i]),
                        false => tx,
                    });
                }
            }
            if cfg.hostile == Some(i) {
                for junk in hostile_transactions(epoch) {
                    txs.push(match cfg.variant.client_encrypted() {
                        true => node_clients[i].encrypt(&junk, &mut sim.rngs[i]),
                        false => junk,
                    });
                }
            }
            for tx in txs {
                sim.input(i, Input::Submit(tx))?;
            }
            sim.input(i, Input::Propose)?;
        }
        sim.run_epoch(epoch)?;
        if cfg.variant.encrypted() {
            let mut hashes = Vec::new();
            for (i, app) in apps.iter_mut().enumerate() {
                let txs = &sim.batches[i][epoch as usize].transactions;
                let skew = cfg.canary_skew == Some((i, epoch)) && !txs.is_empty();
                app.apply(epoch, if skew { &txs[..txs.len() - 1] } else { txs });
                hashes.push(app.state.hash());
            }
            if hashes.iter().any(|h| *h != hashes[0]) && agree {
                agree = false;
                first_disagreement = Some(epoch);
            }
        }
        epoch += 1;
    }
    let states: Vec<MarketState> = apps.into_iter().map(|a| a.state).collect();
    Ok(SimReport {
        epochs: epoch,
        seconds: (epoch * cfg.epoch_ms) as f64 / 1000.0,
        ticks_committed: states[0].counters.ticks,
        orders_filled: states[0].counters.orders_filled,
        state_hash_agree: agree,
        first_disagreement,
        states,
        orders,
        views: sim.views.unwrap_or_default(),
        messages: sim.messages,
        early_shares: sim.early_shares,
    })
}
