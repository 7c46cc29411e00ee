//! Byzantine members against the node runtime (the node core's catch-up, rejoin and budgets),
//! for the node-level simulator ([`crate::sim::node`]).
//!
//! The Byzantine member runs an honest node core — so the committee stays live with it — and
//! the adversary rewrites what leaves it: its catch-up answers, its rejoin answers, and frames
//! it makes up to spend the others' memory and disk.

pub mod catch_up_liar;
pub mod frame_flooder;
pub mod rejoin_liar;

use rand_chacha::ChaCha20Rng;

use crate::node::router::{self, Wire};
use crate::{NodeId, SessionId};

/// What a node-level adversary sees and may use.
#[derive(Debug)]
pub struct NodeCtx<'a> {
    /// The committee's session (the adversary is a member: it knows it).
    pub session: SessionId,
    /// The Byzantine member.
    pub me: NodeId,
    /// Committee size.
    pub n: usize,
    /// Its core's current epoch.
    pub epoch: u64,
    /// The largest consensus frame a correct node accepts.
    pub max_frame: usize,
    /// The largest catch-up answer a correct node accepts.
    pub max_committed: usize,
    /// The adversary's randomness.
    pub rng: &'a mut ChaCha20Rng,
    /// Frames made up or rewritten so far.
    pub injected: &'a mut u64,
}

impl NodeCtx<'_> {
    /// Encode `wire` for the committee.
    pub fn encode(&self, wire: Wire) -> Vec<u8> {
        router::encode(self.session, wire)
    }
}

/// A Byzantine member's runtime behaviour. Every hook's default is honest.
pub trait NodeAdversary: Send {
    /// Its name (as in `beat-sim node --adversary`).
    fn name(&self) -> &'static str;

    /// A frame its core sends to `to`: what actually goes out (default: the frame).
    fn outgoing(&mut self, _ctx: &mut NodeCtx<'_>, to: NodeId, frame: Vec<u8>) -> Vec<(NodeId, Vec<u8>)> {
        vec![(to, frame)]
    }

    /// `to` asked for committed batches `from .. from + count`; `committed` reads its log.
    /// Default: answer honestly.
    fn serve(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        to: NodeId,
        from: u64,
        count: u32,
        committed: &dyn Fn(u64) -> Option<Vec<u8>>,
    ) -> Vec<(NodeId, Vec<u8>)> {
        (from..from + u64::from(count))
            .map_while(|e| committed(e).map(|b| (to, ctx.encode(Wire::Committed { epoch: e, batch: b.into() }))))
            .collect()
    }

    /// Extra frames, on every tick of its node.
    fn tick(&mut self, _ctx: &mut NodeCtx<'_>) -> Vec<(NodeId, Vec<u8>)> {
        Vec::new()
    }
}

/// The node-level adversaries, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeAdversaryKind {
    /// No Byzantine member (crashes, stale restarts and lag only).
    None,
    /// Answers catch-up with forged batches and sends answers nobody asked for.
    CatchUpLiar,
    /// Answers every rejoin with a forged stamp for a far epoch, to silence the restarted node.
    RejoinLiar,
    /// Floods oversized, far-future, closed-epoch, garbage and re-sent frames, and asks to be
    /// sent frames again.
    FrameFlooder,
}

impl NodeAdversaryKind {
    /// Every kind.
    pub const ALL: [NodeAdversaryKind; 4] = [
        NodeAdversaryKind::None,
        NodeAdversaryKind::CatchUpLiar,
        NodeAdversaryKind::RejoinLiar,
        NodeAdversaryKind::FrameFlooder,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            NodeAdversaryKind::None => "none",
            NodeAdversaryKind::CatchUpLiar => "catch-up-liar",
            NodeAdversaryKind::RejoinLiar => "rejoin-liar",
            NodeAdversaryKind::FrameFlooder => "frame-flooder",
        }
    }

    /// What it does (for `beat-sim adversaries`).
    pub fn description(self) -> &'static str {
        match self {
            NodeAdversaryKind::None => {
                "no Byzantine member: kills at every step boundary, stale and wiped restarts, lag"
            }
            NodeAdversaryKind::CatchUpLiar => {
                "answers catch-up requests with forged batches and sends committed batches nobody asked for"
            }
            NodeAdversaryKind::RejoinLiar => {
                "answers rejoins with a forged stamp for a far epoch, to fence the restarted node out for good"
            }
            NodeAdversaryKind::FrameFlooder => {
                "floods oversized, far-future, closed-epoch and garbage frames, re-sends its frames under new ids, and asks every peer to send its frames of the current epoch again on every tick"
            }
        }
    }

    /// By name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// An instance (`None` for [`NodeAdversaryKind::None`]).
    pub fn build(self) -> Option<Box<dyn NodeAdversary>> {
        match self {
            NodeAdversaryKind::None => None,
            NodeAdversaryKind::CatchUpLiar => Some(Box::new(catch_up_liar::CatchUpLiar)),
            NodeAdversaryKind::RejoinLiar => Some(Box::new(rejoin_liar::RejoinLiar)),
            NodeAdversaryKind::FrameFlooder => Some(Box::new(frame_flooder::FrameFlooder::default())),
        }
    }
}
