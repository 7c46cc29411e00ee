//! The audit trail of what a node accepted from its peers: for every consensus frame, the
//! sender, the protocol slot and a digest of the message. A correct member sends at most one
//! message per slot, so two digests for one (sender, slot) — in one node's trail or across
//! several nodes' — prove that the sender equivocated (or, for a correct member, that it was
//! restarted from a stale store without the rejoin fence). The daemon writes the trail with
//! `BEAT_AUDIT_LOG`; the simulator checks the same rule at every step.

use crate::beat::{Content, Message};
use crate::crypto::hash::{tagged_hash, Digest};
use crate::proto::aba::AbaContent;
use crate::proto::acs::AcsContent;
use crate::proto::avid::AvidMessage;
use crate::proto::avid_fp::AvidFpMessage;
use crate::proto::broadcast::BroadcastMessage;
use crate::proto::rbc::RbcMessage;
use crate::NodeId;

/// A consensus frame a node accepted (logged), for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The sender.
    pub from: NodeId,
    /// The message's epoch.
    pub epoch: u64,
    /// Its slot ([`slot`]).
    pub slot: String,
    /// A digest of the message.
    pub digest: Digest,
}

impl Accepted {
    /// The trail's line: `from epoch slot digest` (hex).
    pub fn line(&self) -> String {
        format!("{} {} {} {}", self.from, self.epoch, self.slot, hex::encode(self.digest))
    }

    /// Parse a trail line.
    pub fn parse(line: &str) -> Option<Accepted> {
        let mut it = line.split_whitespace();
        let from = it.next()?.parse().ok()?;
        let epoch = it.next()?.parse().ok()?;
        let slot = it.next()?.to_string();
        let digest = hex::decode(it.next()?).ok()?.try_into().ok()?;
        Some(Accepted { from, epoch, slot, digest })
    }
}

/// The digest of a message for the trail.
pub fn message_digest(m: &Message) -> Digest {
    tagged_hash("BEAT/audit/message", &[&crate::codec::encode(m)])
}

/// The protocol slot of a message: a correct node sends at most one message per slot. `None`
/// for read traffic.
pub fn slot(m: &Message, to: NodeId) -> Option<String> {
    let e = m.epoch;
    match &m.content {
        Content::Acs(a) => {
            let p = a.proposer;
            match &a.content {
                AcsContent::Broadcast(b) => {
                    let (kind, per_recipient) = match b {
                        BroadcastMessage::Rbc(RbcMessage::Val(_)) => ("val", true),
                        BroadcastMessage::Rbc(RbcMessage::Echo(_)) => ("echo", false),
                        BroadcastMessage::Rbc(RbcMessage::Ready(_)) => ("ready", false),
                        BroadcastMessage::Avid(AvidMessage::Val(_)) => ("val", true),
                        BroadcastMessage::Avid(AvidMessage::Echo(_)) => ("echo", false),
                        BroadcastMessage::Avid(AvidMessage::Ready(_)) => ("ready", false),
                        BroadcastMessage::AvidFp(AvidFpMessage::Val { .. }) => ("val", true),
                        BroadcastMessage::AvidFp(AvidFpMessage::Echo(_)) => ("echo", false),
                        BroadcastMessage::AvidFp(AvidFpMessage::Ready(_)) => ("ready", false),
                    };
                    Some(if per_recipient { format!("{e}/{p}/{kind}/to-{to}") } else { format!("{e}/{p}/{kind}") })
                }
                AcsContent::Aba(x) => {
                    let r = x.round;
                    Some(match &x.content {
                        AbaContent::BVal(v) => format!("{e}/{p}/aba/{r}/bval-{v}"),
                        AbaContent::Aux(_) => format!("{e}/{p}/aba/{r}/aux"),
                        AbaContent::Conf(_) => format!("{e}/{p}/aba/{r}/conf"),
                        AbaContent::Coin(_) => format!("{e}/{p}/aba/{r}/coin"),
                        AbaContent::Term(_) => format!("{e}/{p}/aba/term"),
                    })
                }
            }
        }
        Content::DecShares { proposer, .. } => Some(format!("{e}/{proposer}/dec")),
        Content::ReadRequest { .. } | Content::ReadResponse { .. } => None,
    }
}
