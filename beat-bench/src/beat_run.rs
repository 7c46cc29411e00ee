//! The BEAT half of the comparison, and the per-variant runs of `beat-bench variants`.

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use beat_core::beat::client::Client;
use beat_core::beat::{deal, Batch, Beat, Config, Input, Message, Output, ReadOutcome, Settings, ValueId, Variant};
use beat_core::proto::{Protocol, Step};
use beat_core::{Params, SessionId};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::{make_txs, txs_per_node, RunStats, TX_SIZE};

/// Runs BEAT0 with `n` nodes, `b` transactions per epoch in total, for `epochs` epochs, with
/// keys and randomness derived from `seed`, under the same harness contract as
/// [`crate::hbbft_run::run_hbbft`]: one thread, one global FIFO queue, node `i` proposing its
/// own `≈ b/n` transactions each epoch.
pub fn run_beat0(n: usize, b: usize, epochs: u64, seed: u64) -> Option<RunStats> {
    Some(run_variant(Variant::Beat0, n, b, epochs, seed).0.stats)
}

/// What a variant run measured besides [`RunStats`].
#[derive(Clone, Debug, PartialEq)]
pub struct VariantRun {
    /// Time, throughput, bytes on the wire.
    pub stats: RunStats,
    /// Every node's committed batches.
    pub batches: Vec<Vec<Batch>>,
    /// Transaction bytes committed (node 0's log): for BEAT3/4, the bytes of the committed
    /// dispersed batches' transactions.
    pub payload_bytes: u64,
    /// Bytes each node keeps for the committed log, averaged over nodes: the transactions for
    /// BEAT0–2 (full replication), its fragments for BEAT3/4.
    pub stored_bytes_per_node: f64,
}

/// One node's view of a finished read, for `beat-bench variants`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadStats {
    /// Bytes of the value (`full`) or of the range read.
    pub size: usize,
    /// Fragment, chunk and proof bytes received.
    pub bytes_fetched: u64,
    /// Nodes asked.
    pub nodes_contacted: usize,
}

/// `n` nodes in one thread with one global FIFO queue (the harness contract of [`run_beat0`]).
struct Harness {
    n: usize,
    nodes: Vec<Beat>,
    rngs: Vec<ChaCha20Rng>,
    queue: VecDeque<(usize, usize, Message)>,
    batches: Vec<Vec<Batch>>,
    reads: Vec<Vec<ReadOutcome>>,
    bytes_sent: u64,
}

impl Harness {
    fn dispatch(&mut self, from: usize, step: Step<Message, Output>) {
        assert!(step.faults.is_empty(), "fault in an honest run: {:?}", step.faults);
        for out in step.output {
            match out {
                Output::Batch(b) => self.batches[from].push(b),
                Output::Read(r) => self.reads[from].push(r),
                Output::Repaired(r) => panic!("no repair was asked for: {r:?}"),
                Output::Stored(_) => {}
            }
        }
        for (target, msg) in step.messages {
            let size = beat_core::codec::encode(&msg).len() as u64;
            for to in 0..self.n {
                if target.includes(from, to) {
                    self.bytes_sent += size;
                    self.queue.push_back((from, to, msg.clone()));
                }
            }
        }
    }

    fn input(&mut self, node: usize, input: Input) {
        let step = self.nodes[node].handle_input(input, &mut self.rngs[node]).expect("input");
        self.dispatch(node, step);
    }

    /// Deliver messages until `done` holds.
    fn run_until(&mut self, done: impl Fn(&Harness) -> bool) {
        while !done(self) {
            let (from, to, msg) = self.queue.pop_front().expect("queue drained before the harness condition held");
            let step = self.nodes[to].handle_message(from, msg, &mut self.rngs[to]).expect("handle_message");
            self.dispatch(to, step);
        }
    }

    /// Node `reader` reads `id` (bytes `range`); the read's statistics.
    fn read(&mut self, reader: usize, id: ValueId, range: Option<std::ops::Range<u64>>) -> ReadStats {
        let before = self.reads[reader].len();
        self.input(reader, Input::Read { id, range });
        self.run_until(|h| h.reads[reader].len() > before);
        let r = &self.reads[reader][before];
        let bytes = r.result.as_ref().expect("honest read succeeds");
        ReadStats { size: bytes.len(), bytes_fetched: r.bytes_fetched, nodes_contacted: r.nodes_contacted }
    }
}

/// Runs `variant` under the harness contract of [`run_beat0`]. For BEAT2 each transaction is
/// encrypted by a client before the run (not timed: clients do that work, not the
/// committee). For BEAT3/BEAT4, node `n − 1` (which holds a parity fragment) then reads
/// epoch 0's value of node 1 in full, and one 250-byte transaction a quarter into it; those
/// reads are returned, not timed.
pub fn run_variant(variant: Variant, n: usize, b: usize, epochs: u64, seed: u64) -> (VariantRun, Vec<ReadStats>) {
    let params = Params::new(n).expect("n ≥ 4");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let settings = Settings { variant, batch_size: b, max_tx_size: 4096, ..Settings::default() };
    let keys = deal(params, SessionId::from_name(&format!("bench-{seed}")), settings, &mut rng);
    let config = Config { max_buffered_txs: b * 4 + 16, ..Config::default() };
    let mut clients: Vec<Client> = (0..n as u64).map(|c| Client::new(keys[0].public.clone(), c)).collect();
    let proposals: Vec<Vec<Vec<Vec<u8>>>> = (0..epochs)
        .map(|e| {
            (0..n)
                .map(|i| {
                    let txs = make_txs(i, e, txs_per_node(n, b, i));
                    if variant.client_encrypted() {
                        txs.iter().map(|tx| clients[i].encrypt(tx, &mut rng)).collect()
                    } else {
                        txs
                    }
                })
                .collect()
        })
        .collect();
    let mut h = Harness {
        n,
        nodes: keys.into_iter().map(|k| Beat::new(k, config.clone())).collect(),
        rngs: (0..n).map(|i| ChaCha20Rng::seed_from_u64(seed ^ (i as u64 + 1) << 32)).collect(),
        queue: VecDeque::new(),
        batches: vec![Vec::new(); n],
        reads: vec![Vec::new(); n],
        bytes_sent: 0,
    };

    let start = Instant::now();
    for (epoch, epoch_proposals) in (0u64..).zip(proposals) {
        for (i, txs) in epoch_proposals.into_iter().enumerate() {
            for tx in txs {
                h.nodes[i].buffer_transaction(tx).expect("buffer sized for the run");
            }
            h.input(i, Input::Propose);
        }
        h.run_until(|h| h.batches.iter().all(|bs| (bs.len() as u64) > epoch));
    }
    let elapsed = start.elapsed();
    let log = &h.batches[0];
    let (unique_txs, payload_bytes) = if variant.dispersed() {
        // Node j's contribution in epoch e is exactly its txs_per_node(n, b, j) transactions.
        let txs: u64 = log.iter().flat_map(|b| &b.stored).map(|v| txs_per_node(n, b, v.proposer) as u64).sum();
        (txs, txs * TX_SIZE as u64)
    } else {
        let unique: HashSet<&[u8]> = log.iter().flat_map(|b| b.transactions.iter()).map(Vec::as_slice).collect();
        (unique.len() as u64, unique.iter().map(|t| t.len() as u64).sum())
    };
    let stored_bytes_per_node = if variant.dispersed() {
        h.nodes.iter().map(|nd| nd.fragment_store().stored_bytes() as f64).sum::<f64>() / n as f64
    } else {
        payload_bytes as f64
    };
    let stats = RunStats { epochs, elapsed, unique_txs, bytes_sent: Some(h.bytes_sent) };
    let mut reads = Vec::new();
    if variant.dispersed() {
        let id = ValueId { epoch: 0, proposer: 1 };
        reads.push(h.read(n - 1, id, None));
        let at = (txs_per_node(n, b, 1) * TX_SIZE / 4) as u64;
        reads.push(h.read(n - 1, id, Some(at..at + TX_SIZE as u64)));
    }
    let batches = std::mem::take(&mut h.batches);
    (VariantRun { stats, batches, payload_bytes, stored_bytes_per_node }, reads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beat0_n4_b40_two_epochs() {
        let (VariantRun { stats, batches, .. }, _) = run_variant(Variant::Beat0, 4, 40, 2, 3);
        assert!(batches.iter().all(|b| b.len() == 2));
        assert!(batches.windows(2).all(|w| w[0] == w[1]), "nodes disagree");
        // Every node proposed its own 10; with all honest at least n − f contributions land.
        assert!(stats.unique_txs >= 2 * 30, "{}", stats.unique_txs);
        let proposed: HashSet<Vec<u8>> = (0..2).flat_map(|e| (0..4).flat_map(move |i| make_txs(i, e, 10))).collect();
        assert!(batches[0].iter().flat_map(|b| &b.transactions).all(|t| proposed.contains(t)));
    }

    #[test]
    fn every_variant_commits_and_beat3_4_read_back() {
        for variant in Variant::ALL {
            let (run, reads) = run_variant(variant, 4, 40, 2, 5);
            assert!(run.batches.iter().all(|b| b.len() == 2), "{variant}");
            assert!(run.batches.windows(2).all(|w| w[0] == w[1]), "{variant}: nodes disagree");
            assert!(run.payload_bytes >= 2 * 30 * TX_SIZE as u64, "{variant}: {}", run.payload_bytes);
            if variant.dispersed() {
                // Full read: the 10 transactions of node 1 (plus CBOR framing); then one
                // 250-byte transaction read from fewer bytes than the whole value.
                assert_eq!(reads.len(), 2);
                assert!(reads[0].size >= 10 * TX_SIZE, "{variant}: {:?}", reads[0]);
                assert_eq!(reads[1].size, TX_SIZE);
                assert!(run.stored_bytes_per_node < run.payload_bytes as f64, "{variant}");
            }
        }
    }
}
