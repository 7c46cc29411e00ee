//! The node's wire messages and their demultiplexing.
//!
//! A frame is one [`Envelope`] (version, session, bounded CBOR) holding a
//! [`Wire`] message. The router sorts it by tag: consensus messages go (through the WAL) to the
//! `Beat` state machine, which routes them on by instance (RBC/AVID/AVID-FP of proposer `j`,
//! ABA `j`, decryption shares); catch-up requests are answered from the committed log;
//! catch-up answers are counted until `f + 1` peers agree.

use serde::{Deserialize, Serialize};

use crate::beat::Message;
use crate::codec::{self, DecodeError, Envelope};
use crate::SessionId;

/// What nodes send each other.
#[derive(Debug, Serialize, Deserialize)]
pub enum Wire {
    /// A protocol message.
    Consensus(Message),
    /// "Send me your committed batches of epochs `from .. from + count`."
    FetchCommitted {
        /// First epoch wanted.
        from: u64,
        /// How many (the answerer caps it).
        count: u32,
    },
    /// A committed batch (the encoded `Batch`, as stored).
    Committed {
        /// Its epoch.
        epoch: u64,
        /// The encoded batch.
        batch: serde_bytes::ByteBuf,
    },
}

/// Where a frame goes.
#[derive(Debug)]
pub enum Route {
    /// To the state machine (after the WAL).
    Consensus(Message),
    /// To the committed log, to answer.
    Fetch {
        /// First epoch wanted.
        from: u64,
        /// How many.
        count: u32,
    },
    /// To catch-up's vote count.
    Committed {
        /// Its epoch.
        epoch: u64,
        /// The encoded batch.
        batch: Vec<u8>,
    },
}

/// Encode `wire` for `session`.
pub fn encode(session: SessionId, wire: Wire) -> Vec<u8> {
    Envelope::new(session, wire).to_bytes()
}

/// Decode a frame of `session` (bounded; trailing bytes, another session or version, or an
/// oversized frame are errors — a fault of the sender) and say where it goes.
pub fn route(frame: &[u8], session: &SessionId) -> Result<Route, DecodeError> {
    let env = Envelope::<Wire>::from_bytes(frame, session, codec::MAX_FRAME_BYTES)?;
    Ok(match env.message {
        Wire::Consensus(m) => Route::Consensus(m),
        Wire::FetchCommitted { from, count } => Route::Fetch { from, count },
        Wire::Committed { epoch, batch } => Route::Committed { epoch, batch: batch.into_vec() },
    })
}
