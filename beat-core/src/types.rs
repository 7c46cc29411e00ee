//! Identifiers and committee parameters shared by every layer.

use serde::{Deserialize, Serialize};

/// A committee member, `0..n`. On the wire this is a small unsigned integer; every protocol
/// checks that a `NodeId` carried *inside* a message is `< n` and records a fault otherwise.
/// The sender of a message is never taken from its content: the transport (or simulator)
/// authenticates it.
pub type NodeId = usize;

/// Identifies one consensus session (one committee with one key set). It is part of every
/// signed, hashed or encrypted byte string, so shares and proofs from one session are
/// worthless in another.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId(#[serde(with = "serde_bytes")] pub [u8; 32]);

impl SessionId {
    /// A session id derived from a human-readable name (for tests and examples).
    pub fn from_name(name: &str) -> Self {
        SessionId(crate::crypto::hash::tagged_hash("BEAT/session-id", &[name.as_bytes()]))
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({})", hex::encode(&self.0[..8]))
    }
}

/// Committee size and fault threshold, with the quorum sizes every protocol uses.
///
/// `n ≥ 3f + 1` always holds; `f = ⌊(n−1)/3⌋` is the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Number of nodes.
    pub n: usize,
    /// Maximum number of Byzantine nodes tolerated.
    pub f: usize,
}

/// Why a committee size was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
    /// Fewer than four nodes cannot tolerate a single Byzantine node.
    #[error("a committee needs at least 4 nodes (n = 3f + 1 with f ≥ 1), got n = {0}")]
    TooFewNodes(usize),
    /// `n` is too large for this implementation's identifiers and bounds.
    #[error("a committee of {0} nodes is larger than the supported maximum of {max}", max = Params::MAX_N)]
    TooManyNodes(usize),
    /// `n < 3f + 1`.
    #[error("n = {n} cannot tolerate f = {f} Byzantine nodes (needs n ≥ 3f + 1)")]
    ThresholdTooHigh { n: usize, f: usize },
}

impl Params {
    /// The largest committee supported (bounds per-peer state and wire collections).
    pub const MAX_N: usize = 64;

    /// `n` nodes with the maximal `f = ⌊(n−1)/3⌋`.
    pub fn new(n: usize) -> Result<Self, ParamsError> {
        Self::with_f(n, n.saturating_sub(1) / 3)
    }

    /// `n` nodes tolerating `f` faults.
    pub fn with_f(n: usize, f: usize) -> Result<Self, ParamsError> {
        if n < 4 {
            return Err(ParamsError::TooFewNodes(n));
        }
        if n > Self::MAX_N {
            return Err(ParamsError::TooManyNodes(n));
        }
        if n < 3 * f + 1 {
            return Err(ParamsError::ThresholdTooHigh { n, f });
        }
        Ok(Params { n, f })
    }

    /// `f + 1`: at least one of this many nodes is honest.
    pub fn weak_quorum(&self) -> usize {
        self.f + 1
    }

    /// `n − f`: the most replies one can wait for without risking a stall.
    pub fn quorum(&self) -> usize {
        self.n - self.f
    }

    /// `2f + 1`: a set this large contains at least `f + 1` honest nodes. The Ready delivery
    /// threshold of Bracha's broadcast and the `bin_values` threshold of ABA.
    pub fn strong(&self) -> usize {
        2 * self.f + 1
    }

    /// `⌈(n + f + 1) / 2⌉`: two sets this large intersect in at least `f + 1` nodes, so in
    /// an honest one. Bracha's Echo threshold (equals `2f + 1` when `n = 3f + 1`).
    pub fn echo_quorum(&self) -> usize {
        (self.n + self.f + 2) / 2
    }

    /// Iterator over all node ids.
    pub fn nodes(&self) -> std::ops::Range<NodeId> {
        0..self.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let p = Params::new(4).unwrap();
        assert_eq!((p.f, p.weak_quorum(), p.strong(), p.quorum(), p.echo_quorum()), (1, 2, 3, 3, 3));
        let p = Params::new(5).unwrap();
        assert_eq!((p.f, p.strong(), p.quorum(), p.echo_quorum()), (1, 3, 4, 4));
        let p = Params::new(7).unwrap();
        assert_eq!((p.f, p.strong(), p.quorum(), p.echo_quorum()), (2, 5, 5, 5));
        assert_eq!(Params::new(3), Err(ParamsError::TooFewNodes(3)));
        assert_eq!(Params::with_f(6, 2), Err(ParamsError::ThresholdTooHigh { n: 6, f: 2 }));
    }

    #[test]
    fn echo_quorums_intersect_in_an_honest_node() {
        for n in 4..=Params::MAX_N {
            let p = Params::new(n).unwrap();
            // Two echo quorums overlap in 2q − n nodes; at least f + 1 of them.
            assert!(2 * p.echo_quorum() > n + p.f, "n={n}");
            assert!(p.echo_quorum() <= p.quorum(), "n={n}: echo quorum must be reachable by honest nodes");
        }
    }
}
