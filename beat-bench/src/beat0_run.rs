//! The BEAT0 half of the comparison.

use crate::RunStats;

/// Runs BEAT0 with `n` nodes, `b` transactions per epoch in total, for
/// `epochs` epochs, with keys and randomness derived from `seed`, under the
/// same harness contract as [`crate::hbbft_run::run_hbbft`].
///
/// Placeholder: this is filled in when BEAT0 lands in `beat-core`. Until then
/// it returns `None`, and the CLI prints `na` for the BEAT0 figures.
pub fn run_beat0(n: usize, b: usize, epochs: u64, seed: u64) -> Option<RunStats> {
    let _ = (n, b, epochs, seed);
    None
}
