//! The hbbft half of the comparison: `hbbft::honey_badger::HoneyBadger` with
//! its default parameters (encryption schedule `Always`, real
//! `threshold_crypto`), driven through one global FIFO queue.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use hbbft::honey_badger::{Batch, EncryptionSchedule, HoneyBadger, Message, Step};
use hbbft::{NetworkInfo, Target};
use rand06::rngs::StdRng;
use rand06::SeedableRng;

use crate::{make_txs, txs_per_node, RunStats};

/// A node's contribution: its list of transactions for the epoch.
pub type Contribution = Vec<Vec<u8>>;
/// hbbft's output batch, keyed by node index.
pub type HbBatch = Batch<Contribution, usize>;

/// Everything a run produced: the statistics plus every node's batches.
#[derive(Debug)]
pub struct HbbftRun {
    /// The run's statistics.
    pub stats: RunStats,
    /// `batches[i]` are node `i`'s output batches, in output order.
    pub batches: Vec<Vec<HbBatch>>,
    /// Every transaction that some node proposed during the run.
    pub proposed: HashSet<Vec<u8>>,
}

/// Runs hbbft's HoneyBadger with `n` nodes, `b` transactions per epoch in
/// total, for `epochs` epochs; keys and all protocol randomness come from a
/// `StdRng` seeded with `seed`.
///
/// # Panics
///
/// If hbbft returns an error or reports a fault (neither can happen with
/// honest nodes and a correct harness), or if the queue drains before an
/// epoch completes.
pub fn run_hbbft(n: usize, b: usize, epochs: u64, seed: u64) -> RunStats {
    run_hbbft_full(n, b, epochs, seed).stats
}

/// Like [`run_hbbft`], but also returns every node's batches and the set of
/// proposed transactions (for checking).
pub fn run_hbbft_full(n: usize, b: usize, epochs: u64, seed: u64) -> HbbftRun {
    assert!(n > 0, "n must be positive");
    let mut rng = StdRng::seed_from_u64(seed);

    // Key generation (excluded from the timing).
    let netinfos = NetworkInfo::generate_map(0..n, &mut rng).expect("hbbft: failed to generate network info");
    let mut nodes: Vec<HoneyBadger<Contribution, usize>> = netinfos
        .into_values()
        .map(|netinfo| {
            HoneyBadger::builder(Arc::new(netinfo))
                .session_id(seed)
                .encryption_schedule(EncryptionSchedule::Always)
                .build()
        })
        .collect();

    // Transactions (also excluded): proposals[e][i] is node i's for epoch e.
    let proposals: Vec<Vec<Contribution>> =
        (0..epochs).map(|e| (0..n).map(|i| make_txs(i, e, txs_per_node(n, b, i))).collect()).collect();
    let proposed: HashSet<Vec<u8>> = proposals.iter().flatten().flatten().cloned().collect();

    let mut net = Net { n, queue: VecDeque::new(), bytes_sent: 0, batches: (0..n).map(|_| Vec::new()).collect() };

    let start = Instant::now();
    for (epoch, epoch_proposals) in (0u64..).zip(&proposals) {
        for (i, contribution) in epoch_proposals.iter().enumerate() {
            assert_eq!(nodes[i].next_epoch(), epoch, "node {i} is not in epoch {epoch}");
            let step = nodes[i].propose(contribution, &mut rng).expect("hbbft: propose failed");
            net.dispatch(i, step);
        }
        while net.batches.iter().any(|bs| (bs.len() as u64) <= epoch) {
            let (from, to, msg) =
                net.queue.pop_front().expect("message queue drained before every node output the epoch");
            let step = nodes[to].handle_message(&from, msg).expect("hbbft: handle_message failed");
            net.dispatch(to, step);
        }
    }
    let elapsed = start.elapsed();

    let unique: HashSet<&[u8]> = net.batches[0].iter().flat_map(|batch| batch.iter()).map(Vec::as_slice).collect();
    HbbftRun {
        stats: RunStats { epochs, elapsed, unique_txs: unique.len() as u64, bytes_sent: Some(net.bytes_sent) },
        batches: net.batches,
        proposed,
    }
}

/// The in-memory network: one global FIFO queue.
struct Net {
    n: usize,
    queue: VecDeque<(usize, usize, Message<usize>)>,
    bytes_sent: u64,
    batches: Vec<Vec<HbBatch>>,
}

impl Net {
    /// Enqueues a step's messages, records its outputs, and checks that it
    /// reports no faults.
    fn dispatch(&mut self, from: usize, step: Step<Contribution, usize>) {
        assert!(step.fault_log.is_empty(), "hbbft reported faults at node {from}: {:?}", step.fault_log);
        for batch in step.output {
            assert_eq!(batch.epoch, self.batches[from].len() as u64, "node {from} output batches out of order");
            self.batches[from].push(batch);
        }
        for tm in step.messages {
            let size = bincode::serialized_size(&tm.message).expect("bincode: size failed");
            match tm.target {
                Target::All => {
                    for to in (0..self.n).filter(|&to| to != from) {
                        self.bytes_sent += size;
                        self.queue.push_back((from, to, tm.message.clone()));
                    }
                }
                Target::Node(to) => {
                    self.bytes_sent += size;
                    self.queue.push_back((from, to, tm.message));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hbbft_n4_b40_two_epochs() {
        let (n, b, epochs) = (4, 40, 2);
        let f = (n - 1) / 3;
        let run = run_hbbft_full(n, b, epochs, 7);
        assert_eq!(run.stats.epochs, epochs);
        for (i, batches) in run.batches.iter().enumerate() {
            assert_eq!(batches.len() as u64, epochs, "node {i} batch count");
        }
        // Batches are identical across nodes.
        for batches in &run.batches[1..] {
            for (a, z) in run.batches[0].iter().zip(batches) {
                assert_eq!(a.epoch, z.epoch);
                assert_eq!(a.contributions, z.contributions);
            }
        }
        // At least n - f contributions per epoch, each a node's full proposal.
        for (e, batch) in (0u64..).zip(&run.batches[0]) {
            assert!(batch.contributions.len() >= n - f);
            for (&node, contrib) in &batch.contributions {
                assert_eq!(contrib, &make_txs(node, e, txs_per_node(n, b, node)));
            }
        }
        let min = ((n - f) * b / n) as u64 * epochs;
        assert!(run.stats.unique_txs >= min, "{} < {min}", run.stats.unique_txs);
        for tx in run.batches[0].iter().flat_map(|batch| batch.iter()) {
            assert!(run.proposed.contains(tx), "committed tx was never proposed");
        }
        // With honest nodes and FIFO delivery every contribution gets in.
        assert_eq!(run.stats.unique_txs, 80);
        assert!(run.stats.bytes_sent.unwrap_or(0) > 0);
    }
}
