//! The node's wire messages and their demultiplexing.
//!
//! A frame is one [`Envelope`] (version, session, bounded CBOR) holding a [`Wire`] message. The
//! router sorts it by tag: consensus messages go (through the node core's budgets and the WAL)
//! to the `Beat` state machine, which routes them on by instance (RBC/AVID/AVID-FP of proposer
//! `j`, ABA `j`, decryption shares); catch-up requests are answered from the committed log;
//! catch-up answers are counted until `f + 1` peers agree; rejoin requests and answers fence a
//! restarted node; a resend request makes a peer send its frames of one epoch again (see
//! [`crate::node`]).

use serde::{Deserialize, Serialize};

use crate::beat::Message;
use crate::codec::{self, DecodeError, Envelope};
use crate::SessionId;

/// Where a consensus frame came from: the sender's incarnation, the WAL record it was derived
/// from, its epoch, and a tag only the sender can make (a MAC under a key derived from its
/// secret key share). Peers cannot check the tag; they hand it back in a [`Wire::RejoinAnswer`],
/// and the sender, checking it, knows the frame really was its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The sender's incarnation (random per start).
    pub incarnation: u64,
    /// The WAL record the frame was derived from.
    pub seq: u64,
    /// The frame's epoch.
    pub epoch: u64,
    /// The sender's tag over the three.
    pub tag: [u8; 16],
}

/// What nodes send each other.
// A consensus message makes `Consensus` the largest variant by far; frames are moved once,
// not stored in bulk, so boxing would only add an allocation per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Serialize, Deserialize)]
pub enum Wire {
    /// A protocol message, stamped by its sender.
    Consensus {
        /// Where it came from.
        stamp: Stamp,
        /// The message.
        message: Message,
    },
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
    /// "I started as `incarnation`; my log ends at record `last_seq`: which epochs did you get
    /// frames of mine for that came from later records?" (a stale log lost them).
    Rejoin {
        /// The asker's new incarnation.
        incarnation: u64,
        /// The last record of its WAL (`None`: empty).
        last_seq: Option<u64>,
    },
    /// The answer to [`Wire::Rejoin`].
    RejoinAnswer {
        /// The asker's incarnation (so a stale answer is recognised).
        incarnation: u64,
        /// The stamp of the highest-epoch frame the answerer processed from an earlier
        /// incarnation of the asker that came from a record after `last_seq`: the asker must
        /// not send anything for epochs up to its epoch. The asker checks the tag, so a
        /// Byzantine answerer can report only frames the asker really sent.
        stale: Option<Stamp>,
        /// The answerer's current epoch.
        epoch: u64,
    },
    /// "I dropped frames of yours for `epoch` (it was beyond my window while I caught up), and
    /// now I am stuck in it: send me what you sent me for it again."
    Resend {
        /// The epoch.
        epoch: u64,
    },
}

/// Where a frame goes.
#[allow(clippy::large_enum_variant)] // as for `Wire`
#[derive(Debug)]
pub enum Route {
    /// To the state machine (after the WAL).
    Consensus {
        /// Where it came from.
        stamp: Stamp,
        /// The message.
        message: Message,
    },
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
    /// A peer (re)started.
    Rejoin {
        /// Its incarnation.
        incarnation: u64,
        /// The last record of its WAL.
        last_seq: Option<u64>,
    },
    /// An answer to our rejoin request.
    RejoinAnswer {
        /// Our incarnation, as asked.
        incarnation: u64,
        /// See [`Wire::RejoinAnswer`].
        stale: Option<Stamp>,
        /// The answerer's epoch.
        epoch: u64,
    },
    /// A peer stuck in `epoch` asks for our frames of it again.
    Resend {
        /// The epoch.
        epoch: u64,
    },
}

/// Encode `wire` for `session`.
pub fn encode(session: SessionId, wire: Wire) -> Vec<u8> {
    Envelope::new(session, wire).to_bytes()
}

/// Decode a frame of `session`, refusing frames over `max` bytes (trailing bytes, another
/// session or version, or an oversized frame are errors — a fault of the sender), and say where
/// it goes.
pub fn route_bounded(frame: &[u8], session: &SessionId, max: usize) -> Result<Route, DecodeError> {
    let env = Envelope::<Wire>::from_bytes(frame, session, max)?;
    Ok(match env.message {
        Wire::Consensus { stamp, message } => Route::Consensus { stamp, message },
        Wire::FetchCommitted { from, count } => Route::Fetch { from, count },
        Wire::Committed { epoch, batch } => Route::Committed { epoch, batch: batch.into_vec() },
        Wire::Rejoin { incarnation, last_seq } => Route::Rejoin { incarnation, last_seq },
        Wire::RejoinAnswer { incarnation, stale, epoch } => Route::RejoinAnswer { incarnation, stale, epoch },
        Wire::Resend { epoch } => Route::Resend { epoch },
    })
}

/// [`route_bounded`] with the codec's absolute frame limit.
pub fn route(frame: &[u8], session: &SessionId) -> Result<Route, DecodeError> {
    route_bounded(frame, session, codec::MAX_FRAME_BYTES)
}
