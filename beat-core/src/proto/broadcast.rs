//! The reliable broadcast an epoch's ACS runs, chosen by the BEAT variant.
//!
//! | variant | broadcast | output |
//! |---|---|---|
//! | BEAT0 | [`Rbc`] (Bracha) | the value |
//! | BEAT1, BEAT2 | [`Avid`] (erasure-coded, Merkle) | the value |
//! | BEAT3, BEAT4 | [`AvidFp`] (AVID-FP) | the agreed commitment; each node keeps only its fragment |
//!
//! All nodes of a committee run the same broadcast; a message of another kind is a
//! [`FaultKind::Malformed`] fault against its sender.

use serde::{Deserialize, Serialize};

use super::avid::{Avid, AvidError, AvidMessage};
use super::avid_fp::{AvidFp, AvidFpError, AvidFpMessage};
use super::rbc::{Rbc, RbcError, RbcMessage};
use super::step::{FaultKind, Protocol, Step};
use crate::NodeId;

/// One broadcast instance of any kind.
#[derive(Debug)]
pub enum Broadcast {
    /// Bracha's reliable broadcast.
    Rbc(Rbc),
    /// Erasure-coded reliable broadcast.
    Avid(Avid),
    /// Dispersal with fingerprinted cross-checksums.
    AvidFp(AvidFp),
}

/// A message of one of the broadcasts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BroadcastMessage {
    /// Bracha RBC.
    Rbc(RbcMessage),
    /// AVID.
    Avid(AvidMessage),
    /// AVID-FP.
    AvidFp(AvidFpMessage),
}

/// Local misuse of a broadcast instance.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// Bracha RBC refused the input.
    #[error(transparent)]
    Rbc(#[from] RbcError),
    /// AVID refused the input.
    #[error(transparent)]
    Avid(#[from] AvidError),
    /// AVID-FP refused the input.
    #[error(transparent)]
    AvidFp(#[from] AvidFpError),
}

type BcStep = Step<BroadcastMessage, Vec<u8>>;

fn lift<M, E: Into<BroadcastError>>(
    r: Result<Step<M, Vec<u8>>, E>,
    wrap: impl Fn(M) -> BroadcastMessage,
) -> Result<BcStep, BroadcastError> {
    let child = r.map_err(Into::into)?;
    let mut step = Step::new();
    step.output = step.lift(child, wrap);
    Ok(step)
}

impl Protocol for Broadcast {
    type Input = Vec<u8>;
    type Message = BroadcastMessage;
    type Output = Vec<u8>;
    type Error = BroadcastError;

    fn handle_input(
        &mut self,
        value: Vec<u8>,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BcStep, BroadcastError> {
        match self {
            Broadcast::Rbc(b) => lift(b.handle_input(value, rng), BroadcastMessage::Rbc),
            Broadcast::Avid(b) => lift(b.handle_input(value, rng), BroadcastMessage::Avid),
            Broadcast::AvidFp(b) => lift(b.handle_input(value, rng), BroadcastMessage::AvidFp),
        }
    }

    fn handle_message(
        &mut self,
        from: NodeId,
        msg: BroadcastMessage,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BcStep, BroadcastError> {
        match (self, msg) {
            (Broadcast::Rbc(b), BroadcastMessage::Rbc(m)) => {
                lift(b.handle_message(from, m, rng), BroadcastMessage::Rbc)
            }
            (Broadcast::Avid(b), BroadcastMessage::Avid(m)) => {
                lift(b.handle_message(from, m, rng), BroadcastMessage::Avid)
            }
            (Broadcast::AvidFp(b), BroadcastMessage::AvidFp(m)) => {
                lift(b.handle_message(from, m, rng), BroadcastMessage::AvidFp)
            }
            _ => Ok(Step::fault(from, FaultKind::Malformed)),
        }
    }

    fn terminated(&self) -> bool {
        match self {
            Broadcast::Rbc(b) => b.terminated(),
            Broadcast::Avid(b) => b.terminated(),
            Broadcast::AvidFp(b) => b.terminated(),
        }
    }
}
