//! The BEAT half of the comparison, and the per-variant runs of `beat-bench variants`.

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use beat_core::beat::client::Client;
use beat_core::beat::{deal, Batch, Beat, Config, Input, Message, Variant};
use beat_core::proto::{Protocol, Step};
use beat_core::{Params, SessionId};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::{make_txs, txs_per_node, RunStats};

/// Runs BEAT0 with `n` nodes, `b` transactions per epoch in total, for `epochs` epochs, with
/// keys and randomness derived from `seed`, under the same harness contract as
/// [`crate::hbbft_run::run_hbbft`]: one thread, one global FIFO queue, node `i` proposing its
/// own `≈ b/n` transactions each epoch.
pub fn run_beat0(n: usize, b: usize, epochs: u64, seed: u64) -> Option<RunStats> {
    Some(run_variant(Variant::Beat0, n, b, epochs, seed).0)
}

/// Runs `variant` under the harness contract of [`run_beat0`] and returns the statistics and
/// every node's batches. For BEAT2 each transaction is encrypted by a client before the run
/// (not timed: clients do that work, not the committee).
pub fn run_variant(variant: Variant, n: usize, b: usize, epochs: u64, seed: u64) -> (RunStats, Vec<Vec<Batch>>) {
    let params = Params::new(n).expect("n ≥ 4");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let keys = deal(params, SessionId::from_name(&format!("bench-{seed}")), &mut rng);
    let max_tx_size = 4096;
    let config = Config { variant, batch_size: b, max_buffered_txs: b * 4 + 16, max_tx_size, ..Config::default() };
    let mut clients: Vec<Client> = (0..n as u64).map(|c| Client::new(keys[0].public.clone(), c)).collect();
    let mut nodes: Vec<Beat> = keys.into_iter().map(|k| Beat::new(k, config.clone())).collect();
    let mut rngs: Vec<ChaCha20Rng> = (0..n).map(|i| ChaCha20Rng::seed_from_u64(seed ^ (i as u64 + 1) << 32)).collect();
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

    let mut queue: VecDeque<(usize, usize, Message)> = VecDeque::new();
    let mut batches: Vec<Vec<Batch>> = vec![Vec::new(); n];
    let mut bytes_sent = 0u64;
    let dispatch = |from: usize,
                    step: Step<Message, Batch>,
                    queue: &mut VecDeque<_>,
                    batches: &mut Vec<Vec<Batch>>,
                    bytes: &mut u64| {
        assert!(step.faults.is_empty(), "fault in an honest run: {:?}", step.faults);
        batches[from].extend(step.output);
        for (target, msg) in step.messages {
            let size = beat_core::codec::encode(&msg).len() as u64;
            for to in 0..n {
                if target.includes(from, to) {
                    *bytes += size;
                    queue.push_back((from, to, msg.clone()));
                }
            }
        }
    };

    let start = Instant::now();
    for (epoch, epoch_proposals) in (0u64..).zip(proposals) {
        for (i, txs) in epoch_proposals.into_iter().enumerate() {
            for tx in txs {
                nodes[i].buffer_transaction(tx).expect("buffer sized for the run");
            }
            let step = nodes[i].handle_input(Input::Propose, &mut rngs[i]).expect("propose");
            dispatch(i, step, &mut queue, &mut batches, &mut bytes_sent);
        }
        while batches.iter().any(|bs| (bs.len() as u64) <= epoch) {
            let (from, to, msg) = queue.pop_front().expect("queue drained before every node output the epoch");
            let step = nodes[to].handle_message(from, msg, &mut rngs[to]).expect("handle_message");
            dispatch(to, step, &mut queue, &mut batches, &mut bytes_sent);
        }
    }
    let elapsed = start.elapsed();
    let unique: HashSet<&[u8]> = batches[0].iter().flat_map(|b| b.transactions.iter()).map(Vec::as_slice).collect();
    (RunStats { epochs, elapsed, unique_txs: unique.len() as u64, bytes_sent: Some(bytes_sent) }, batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beat0_n4_b40_two_epochs() {
        let (stats, batches) = run_variant(Variant::Beat0, 4, 40, 2, 3);
        assert!(batches.iter().all(|b| b.len() == 2));
        assert!(batches.windows(2).all(|w| w[0] == w[1]), "nodes disagree");
        // Every node proposed its own 10; with all honest at least n − f contributions land.
        assert!(stats.unique_txs >= 2 * 30, "{}", stats.unique_txs);
        let proposed: HashSet<Vec<u8>> = (0..2).flat_map(|e| (0..4).flat_map(move |i| make_txs(i, e, 10))).collect();
        assert!(batches[0].iter().flat_map(|b| &b.transactions).all(|t| proposed.contains(t)));
    }
}
