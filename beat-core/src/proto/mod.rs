//! Sans-IO protocols: reliable broadcast, binary agreement, asynchronous common subset.
//!
//! Each protocol is a state machine implementing [`Protocol`]; composite protocols own their
//! children and [`Step::lift`] their steps.

pub mod aba;
pub mod acs;
pub mod avid;
pub mod avid_fp;
pub mod broadcast;
pub mod rbc;
pub mod step;
#[cfg(test)]
pub(crate) mod testkit;
mod votes;

pub use step::{Event, Fault, FaultKind, Protocol, Step, Target};
