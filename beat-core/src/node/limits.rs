//! What a peer can make a node spend, in bytes, derived from the committee's settings.
//!
//! Every budget here is enforced *before* the write-ahead log: a frame over a budget is dropped
//! and counted (per peer and reason), never logged, never processed. An honest peer stays within
//! every budget by construction (each is a multiple of what the protocol lets an honest member
//! send), so a drop is either a hostile peer or a peer so far ahead that it should be caught up
//! from committed batches instead.

use crate::beat::Settings;

/// Room for a message's framing around its payload (envelope, CBOR, proofs).
const FRAME_ROOM: usize = 64 << 10;

/// The node's budgets (see the module doc). [`Limits::for_settings`] gives the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest consensus frame accepted: one proposal (an RBC `Echo` carries a whole one) plus
    /// framing.
    pub max_frame_bytes: usize,
    /// Largest catch-up answer: one committed batch (at most `n` proposals' transactions).
    pub max_committed_bytes: usize,
    /// Epochs beyond the protocol's window (`Config::max_future_epochs`) whose frames are
    /// logged and buffered; frames for later epochs are dropped (the sender is far ahead: this
    /// node catches up from committed batches instead).
    pub future_epochs: u64,
    /// Bytes of frames per (peer, epoch) that are logged. An honest member sends at most about
    /// `n + 2` proposals' worth per epoch (its `Val`, an `Echo` per instance, votes, shares).
    pub epoch_bytes_per_peer: usize,
    /// Bytes of frames per peer for epochs beyond the protocol's window (the future buffer).
    pub future_bytes_per_peer: usize,
    /// Catch-up requests served per peer per second (more are dropped, not queued).
    pub serve_per_second: u32,
    /// Committed batches served per request.
    pub serve_batch: u32,
    /// BEAT3/4 read requests answered per peer per second (more are dropped before the store
    /// is read; the reader asks again).
    pub reads_served_per_second: u32,
}

impl Limits {
    /// Budgets for a committee of `n` with these settings.
    pub fn for_settings(settings: &Settings, n: usize) -> Self {
        let proposal = settings.max_proposal_bytes + FRAME_ROOM;
        let epoch = (n + 2).saturating_mul(proposal);
        Limits {
            max_frame_bytes: proposal,
            max_committed_bytes: n.saturating_mul(settings.max_proposal_bytes) + FRAME_ROOM,
            future_epochs: 8,
            epoch_bytes_per_peer: epoch,
            future_bytes_per_peer: epoch,
            serve_per_second: 4,
            serve_batch: 64,
            reads_served_per_second: 128,
        }
    }

    /// The most WAL bytes one peer's frames can occupy while nothing commits: every epoch of
    /// the window and the future window at its budget.
    pub fn wal_bytes_per_peer(&self, window: u64) -> u64 {
        (window + 1 + self.future_epochs).saturating_mul(self.epoch_bytes_per_peer as u64)
    }
}
