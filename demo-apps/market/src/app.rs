//! The market as a [`ConsensusApp`], and [`MarketConsensusNode`]: a [`BeatNode`] that batches
//! its feeds' data and its traders' orders and folds the committed log into a
//! [`MarketState`].

use std::collections::VecDeque;
use std::sync::Arc;

use beat_core::app::ConsensusApp;
use beat_core::beat::client::Client;
use beat_core::beat::Variant;
use beat_core::driver::{BeatNode, CommitListener, NodeConfig, NodeError, Status, SubmitError};
use serde::{Deserialize, Serialize};

use crate::state::{InstrumentSpec, MarketState};
use crate::types::{FeedItem, MarketBatch, MarketTx, Order, TxError, MAX_NAME};

/// Items a node holds for its next batch at most (while its submits are refused).
pub const MAX_PENDING: usize = 200_000;

/// Epoch hashes a [`MarketApp`] keeps ([`MarketApp::hashes`]).
pub const HASH_LOG: usize = 4096;

/// The market as BEAT's application: applies each committed epoch to its [`MarketState`] and
/// keeps the state hash after each of the last [`HASH_LOG`] epochs, so nodes can compare
/// them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketApp {
    /// The market.
    pub state: MarketState,
    /// `(epoch, state hash after it)`, oldest first.
    pub hashes: VecDeque<(u64, [u8; 32])>,
    /// Largest transaction decoded (the committee's `max_tx_size`).
    pub max_tx: usize,
}

impl MarketApp {
    /// An empty market listing `instruments`, decoding transactions of at most `max_tx` bytes.
    pub fn new(instruments: Vec<InstrumentSpec>, max_tx: usize) -> Self {
        MarketApp { state: MarketState::new(instruments), hashes: VecDeque::new(), max_tx }
    }

    /// The state hash after `epoch`, if still kept.
    pub fn hash_at(&self, epoch: u64) -> Option<[u8; 32]> {
        let first = self.hashes.front()?.0;
        self.hashes.get(usize::try_from(epoch.checked_sub(first)?).ok()?).map(|(_, h)| *h)
    }
}

impl ConsensusApp for MarketApp {
    fn apply(&mut self, epoch: u64, transactions: &[Vec<u8>]) {
        self.state.apply_epoch(epoch, transactions, self.max_tx);
        if self.hashes.len() == HASH_LOG {
            self.hashes.pop_front();
        }
        self.hashes.push_back((epoch, self.state.hash()));
    }

    fn snapshot(&self) -> Vec<u8> {
        beat_core::codec::encode(self)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        *self = beat_core::codec::decode(snapshot, 1 << 30).map_err(|e| format!("bad market snapshot: {e}"))?;
        Ok(())
    }

    /// BEAT0/1: only market transactions are proposed (BEAT2 ciphertexts are checked by the
    /// node instead, and decoded here only after ordering).
    fn validate(&self, transaction: &[u8]) -> Result<(), String> {
        MarketTx::decode(transaction, self.max_tx).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Why a market node did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The committee runs a storage variant.
    #[error("the market runs on BEAT0, BEAT1 or BEAT2 (encrypted proposals), not {0}")]
    Variant(&'static str),
    /// The node did not start.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// The client id a node uses for its own batches under BEAT2 (traders use others).
pub fn node_client_id(node: u32) -> u64 {
    (1 << 32) | u64::from(node)
}

/// A market node: a [`BeatNode`] running [`MarketApp`], with the batch it is filling.
///
/// Feed items and orders go into the pending [`MarketBatch`]; [`MarketConsensusNode::flush`]
/// submits it as one transaction. BEAT0/1 encrypt the node's whole proposal under the
/// committee's threshold key, so the batch is unreadable to the other nodes until the
/// epoch's common set is fixed. BEAT2 goes further: the node encrypts its batch as a client
/// of the committee, and traders encrypt their own orders
/// ([`MarketConsensusNode::submit_encrypted`]), so not even the node an order goes to reads
/// it before it is ordered.
pub struct MarketConsensusNode {
    node: BeatNode<MarketApp>,
    id: u32,
    variant: Variant,
    seq: u64,
    pending: MarketBatch,
    client: Option<Client>,
    max_tx: usize,
    dropped: u64,
}

impl std::fmt::Debug for MarketConsensusNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketConsensusNode").field("id", &self.id).field("variant", &self.variant).finish()
    }
}

impl MarketConsensusNode {
    /// Start a node listing `instruments`. BEAT3/4 are refused: they commit dispersed values,
    /// not the transactions the market folds.
    pub fn start(
        config: NodeConfig,
        instruments: Vec<InstrumentSpec>,
        listener: Option<Arc<dyn CommitListener>>,
    ) -> Result<Self, StartError> {
        let public = config.keys.public.clone();
        let variant = public.settings.variant;
        if !variant.encrypted() {
            return Err(StartError::Variant(variant.name()));
        }
        let id = config.keys.id as u32;
        let max_tx = public.settings.max_tx_size;
        let app = MarketApp::new(instruments, max_tx);
        let node = BeatNode::start(config, app, listener)?;
        let client = variant.client_encrypted().then(|| Client::new(public, node_client_id(id)));
        Ok(MarketConsensusNode {
            node,
            id,
            variant,
            seq: 0,
            pending: MarketBatch::default(),
            client,
            max_tx,
            dropped: 0,
        })
    }

    /// Add feed items to the pending batch (one with a name over [`MAX_NAME`] bytes is
    /// dropped and counted: no committee would take the batch holding it).
    pub fn add_feed_items(&mut self, items: Vec<FeedItem>) {
        for item in items {
            match item {
                FeedItem::Tick(t) if t.instrument.len() <= MAX_NAME => self.pending.ticks.push(t),
                FeedItem::Greeks(g) if g.option.len() <= MAX_NAME => self.pending.greeks.push(g),
                _ => self.dropped += 1,
            }
        }
    }

    /// Add an order a trader gave this node to the pending batch. Refused (and not added)
    /// when a name is over [`MAX_NAME`] bytes.
    pub fn add_order(&mut self, order: Order) -> Result<(), TxError> {
        for name in [&order.trader, &order.instrument] {
            if name.len() > MAX_NAME {
                return Err(TxError::NameTooLong(name.len()));
            }
        }
        self.pending.orders.push(order);
        Ok(())
    }

    /// Submit the pending batch, if it holds anything, as transactions of at most the
    /// committee's `max_tx_size` (split in order). When the submit queue is full, what was
    /// not submitted stays pending for the next flush; beyond [`MAX_PENDING`] items the oldest
    /// feed items are dropped (market data goes stale; orders are kept) and counted in
    /// [`MarketConsensusNode::dropped`]. Any other refusal drops that piece (counted): it
    /// would be refused again. Returns the transactions submitted.
    pub fn flush(&mut self) -> Result<usize, SubmitError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        // BEAT2: the limit is on the client ciphertext, which adds its header and proof.
        let budget = self.max_tx.saturating_sub(if self.client.is_some() { 2048 } else { 0 });
        // Sized with the largest `seq` a piece may carry, so none outgrows the budget.
        let pending = MarketBatch { source: self.id, seq: u64::MAX, ..std::mem::take(&mut self.pending) };
        let (pieces, dropped) = pending.split_to_fit(budget);
        self.dropped += dropped as u64;
        let mut pieces = pieces.into_iter();
        let mut submitted = 0;
        while let Some(piece) = pieces.next() {
            let batch = MarketBatch { seq: self.seq, ..piece };
            let len = batch.len() as u64;
            let tx = MarketTx::Batch(batch.clone()).encode();
            let tx = match &mut self.client {
                Some(c) => c.encrypt(&tx, &mut rand::rngs::OsRng),
                None => tx,
            };
            match self.node.submit(tx) {
                Ok(()) => {
                    self.seq += 1;
                    submitted += 1;
                }
                Err(e @ SubmitError::QueueFull(_)) => {
                    self.pending = batch;
                    for rest in pieces {
                        self.pending.append(rest);
                    }
                    self.trim();
                    return Err(e);
                }
                Err(e) => {
                    self.dropped += len;
                    let lost: u64 = pieces.map(|p| p.len() as u64).sum();
                    self.dropped += lost;
                    return Err(e);
                }
            }
        }
        Ok(submitted)
    }

    fn trim(&mut self) {
        let over = self.pending.len().saturating_sub(MAX_PENDING);
        let ticks = over.min(self.pending.ticks.len());
        self.pending.ticks.drain(..ticks);
        let greeks = (over - ticks).min(self.pending.greeks.len());
        self.pending.greeks.drain(..greeks);
        self.dropped += (ticks + greeks) as u64;
    }

    /// Items dropped: feed items over [`MAX_PENDING`] while the submit queue was full, items
    /// with names over [`MAX_NAME`] bytes or alone larger than a transaction may be, and the
    /// items of a piece the node refused for another reason than a full queue.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// BEAT2: submit a trader's own ciphertext ([`Client::encrypt`] of a
    /// [`MarketTx::Order`]).
    pub fn submit_encrypted(&self, ciphertext: Vec<u8>) -> Result<(), SubmitError> {
        self.node.submit(ciphertext)
    }

    /// The variant the committee runs.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The node's status.
    pub fn status(&self) -> Status {
        self.node.status()
    }

    /// Read the market state.
    pub fn with_app<R>(&self, f: impl FnOnce(&MarketApp) -> R) -> Option<R> {
        self.node.with_app(f)
    }

    /// The node underneath.
    pub fn node(&self) -> &BeatNode<MarketApp> {
        &self.node
    }

    /// Stop the node (blocking until its store is closed).
    pub fn shutdown(self) {
        self.node.shutdown();
    }
}
