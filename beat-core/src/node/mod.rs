//! The node core: everything a BEAT node decides, as a sans-IO state machine.
//!
//! [`NodeCore`] owns the protocol ([`crate::beat::Beat`]) and every rule the runtime adds around
//! it: the write-ahead input log and its exact replay, checkpoints and WAL truncation, catch-up
//! from `f + 1` matching peers, resending open-epoch frames on reconnection, the rejoin fence of
//! a restarted node, and the budgets that keep a hostile member or stranger from spending a
//! node's memory and disk. Inputs go in — frames from authenticated peers, client transactions,
//! timer ticks, link events, the store's contents at recovery — and a [`Ready`] comes out: WAL
//! records to persist, then frames to send, batches that committed, a checkpoint to store, a WAL
//! prefix to drop, catch-up requests to serve. The tokio shell ([`crate::driver`]) only executes
//! it, in that order; the simulator ([`crate::sim::node`]) executes it against an in-memory store
//! and can kill the node between any two of those steps (raft-rs's `RawNode::ready`/`advance`
//! is the model).
//!
//! The contract the shell keeps: **append before send** (what a node sends is derived from
//! records already durable, so a restarted node re-derives exactly what it sent), commits in
//! order, checkpoint before truncation.

pub mod audit;
pub mod core;
pub mod fragments;
pub mod limits;
pub mod persist;
pub mod router;
pub mod upkeep;

pub use self::core::{
    CheckpointWrite, CoreConfig, Drop, DropReason, NodeCore, Outgoing, Ready, Recovery, RejoinStatus, ServeRequest,
    SubmitRefused,
};
pub use fragments::StoreFragments;
pub use limits::Limits;
pub use upkeep::{UpkeepConfig, UpkeepStatus};
