//! In-process benchmark harness comparing BEAT0 with hbbft's HoneyBadger.
//!
//! Both systems run under the same contract:
//!
//! * `n` nodes in one process and one thread; every message goes through a
//!   single global FIFO queue of `(from, to, message)` and is delivered in
//!   order. A broadcast is expanded into one entry per other node.
//! * Transactions are [`TX_SIZE`] (250) bytes, unique (see [`make_txs`]).
//!   `b` is the number of transactions per epoch in total; node `i` proposes
//!   [`txs_per_node`]`(n, b, i)` ≈ `b / n` of its own per epoch.
//! * An epoch counts when every node has output its batch for it.
//! * Wall-clock time is measured with [`std::time::Instant`] around the whole
//!   run, excluding key generation and transaction generation.

use std::time::Duration;

pub mod beat_run;
pub mod cluster;
pub mod hbbft_run;
pub mod node_run;

/// Size of every benchmark transaction, in bytes.
pub const TX_SIZE: usize = 250;

/// Result of one benchmark run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStats {
    /// Number of epochs completed (every node output its batch).
    pub epochs: u64,
    /// Wall-clock time of the whole run (key generation excluded).
    pub elapsed: Duration,
    /// Unique transactions committed: the union of node 0's output batches,
    /// deduplicated.
    pub unique_txs: u64,
    /// Total serialized bytes of all delivered messages (a broadcast counts
    /// once per recipient), if the harness measured it.
    pub bytes_sent: Option<u64>,
}

impl RunStats {
    /// Average wall-clock milliseconds per epoch.
    pub fn epoch_ms(&self) -> f64 {
        if self.epochs == 0 {
            return f64::NAN;
        }
        self.elapsed.as_secs_f64() * 1000.0 / self.epochs as f64
    }

    /// Committed unique transactions per wall-clock second.
    pub fn tx_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs == 0.0 {
            return f64::NAN;
        }
        self.unique_txs as f64 / secs
    }
}

/// Number of transactions node `node` proposes per epoch when the batch size
/// is `b` over `n` nodes: `b / n`, with the remainder `b % n` spread over the
/// lowest-indexed nodes, so that the proposals add up to exactly `b`.
pub fn txs_per_node(n: usize, b: usize, node: usize) -> usize {
    assert!(n > 0, "n must be positive");
    b / n + usize::from(node < b % n)
}

/// Deterministically generates `count` unique [`TX_SIZE`]-byte transactions
/// for `node` in `epoch`.
///
/// The first 8 bytes are a little-endian counter
/// `(epoch << 40) | (node << 24) | index` (unique for `node < 2^16`,
/// `index < 2^24`, `epoch < 2^24`); the remaining bytes are a SplitMix64
/// stream seeded by that counter.
pub fn make_txs(node: usize, epoch: u64, count: usize) -> Vec<Vec<u8>> {
    assert!(node < (1 << 16), "node index too large");
    assert!(count <= (1 << 24), "too many transactions per node and epoch");
    assert!(epoch < (1 << 24), "epoch too large");
    (0..count)
        .map(|index| {
            let id = (epoch << 40) | ((node as u64) << 24) | index as u64;
            let mut tx = Vec::with_capacity(TX_SIZE);
            tx.extend_from_slice(&id.to_le_bytes());
            let mut state = id;
            while tx.len() < TX_SIZE {
                let word = splitmix64(&mut state).to_le_bytes();
                let take = (TX_SIZE - tx.len()).min(word.len());
                tx.extend_from_slice(&word[..take]);
            }
            tx
        })
        .collect()
}

/// One step of the SplitMix64 generator.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn txs_are_sized_and_unique() {
        let mut seen = HashSet::new();
        for node in 0..4 {
            for epoch in 0..3 {
                for tx in make_txs(node, epoch, 50) {
                    assert_eq!(tx.len(), TX_SIZE);
                    assert!(seen.insert(tx));
                }
            }
        }
        assert_eq!(seen.len(), 4 * 3 * 50);
        assert_eq!(make_txs(1, 2, 3), make_txs(1, 2, 3));
    }

    #[test]
    fn per_node_counts_add_up() {
        for n in 1..10 {
            for b in [0, 1, 7, 40, 100, 1000, 10000] {
                let total: usize = (0..n).map(|i| txs_per_node(n, b, i)).sum();
                assert_eq!(total, b);
            }
        }
    }

    #[test]
    fn stats_helpers() {
        let s = RunStats { epochs: 4, elapsed: Duration::from_millis(2000), unique_txs: 1000, bytes_sent: None };
        assert!((s.epoch_ms() - 500.0).abs() < 1e-9);
        assert!((s.tx_s() - 500.0).abs() < 1e-9);
    }
}
