//! Batches of transactions: what a node proposes in an epoch and what an epoch commits.

use serde::{Deserialize, Serialize};

use crate::codec::{self, DecodeError};
use crate::NodeId;

/// A committed block: the transactions of one epoch in their final order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The epoch.
    pub epoch: u64,
    /// Proposers whose contributions ACS accepted, ascending.
    pub proposers: Vec<NodeId>,
    /// The transactions: contributions in proposer order, each in its proposer's order, with
    /// transactions already committed in this block or in the last `dedup_epochs` epochs
    /// removed.
    /// Empty for BEAT3/4, which commit [`Batch::stored`] instead.
    pub transactions: Vec<Vec<u8>>,
    /// BEAT3/4: the dispersed values committed in this epoch, in proposer order (read them
    /// with `Input::Read`).
    pub stored: Vec<StoredValue>,
    /// BEAT2: the `(client, seq)` of each transaction, in the same order (empty for the other
    /// variants). A node that takes this batch by catch-up learns from it what its replay
    /// filter needs.
    #[serde(default)]
    pub client_ids: Vec<ClientTxId>,
}

/// BEAT2: a client transaction's identity, committed at most once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientTxId {
    /// The client.
    pub client: u64,
    /// Its sequence number.
    pub seq: u64,
}

impl ClientTxId {
    /// The digest buffers and de-duplication key this identity by.
    pub fn digest(&self) -> crate::crypto::hash::Digest {
        crate::crypto::hash::tagged_hash(
            super::client::CLIENT_TX_PROTOCOL,
            &[&self.client.to_le_bytes(), &self.seq.to_le_bytes()],
        )
    }
}

/// A value dispersed with AVID-FP and committed: each node holds one fragment of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValue {
    /// Who dispersed it (with the epoch, its id).
    pub proposer: NodeId,
    /// The digest of its agreed cross-checksum.
    #[serde(with = "serde_bytes")]
    pub digest: [u8; 32],
    /// Bytes of each fragment.
    pub fragment_size: u64,
    /// The agreed cross-checksum itself (its digest is `digest`), so that a node that takes
    /// this batch by catch-up — it never saw the dispersal — can still verify reads of the
    /// value. Every correct node commits the same one.
    #[serde(default)]
    pub checksum: Option<crate::crypto::fpc::CrossChecksum>,
}

/// A node's contribution to one epoch (before encryption).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Contribution(pub Vec<serde_bytes::ByteBuf>);

impl Contribution {
    pub(crate) fn encode(txs: &[Vec<u8>]) -> Vec<u8> {
        codec::encode(&Contribution(txs.iter().map(|t| serde_bytes::ByteBuf::from(t.clone())).collect()))
    }

    /// Where each of `txs` lies in `encoded` (their [`Contribution::encode`]): CBOR puts an
    /// array header, then each byte string's header before its bytes. Checked against the
    /// encoding; empty if it does not match (never wrong ranges).
    pub(crate) fn layout(txs: &[Vec<u8>], encoded: &[u8]) -> Vec<std::ops::Range<u64>> {
        fn header(len: usize) -> usize {
            match len {
                0..=23 => 1,
                24..=0xff => 2,
                0x100..=0xffff => 3,
                0x1_0000..=0xffff_ffff => 5,
                _ => 9,
            }
        }
        let mut at = header(txs.len());
        let mut out = Vec::with_capacity(txs.len());
        for tx in txs {
            at += header(tx.len());
            let range = at..at + tx.len();
            if encoded.get(range.clone()) != Some(tx.as_slice()) {
                return Vec::new();
            }
            out.push(range.start as u64..range.end as u64);
            at = range.end;
        }
        if at != encoded.len() {
            return Vec::new();
        }
        out
    }

    /// Decode a contribution, refusing more than `max_txs` transactions or one over `max_tx_size` bytes.
    pub(crate) fn decode(
        bytes: &[u8],
        max_bytes: usize,
        max_txs: usize,
        max_tx_size: usize,
    ) -> Result<Vec<Vec<u8>>, DecodeError> {
        let c: Contribution = codec::decode(bytes, max_bytes)?;
        if c.0.len() > max_txs {
            return Err(DecodeError::Malformed(format!("{} transactions exceed the limit of {max_txs}", c.0.len())));
        }
        if let Some(t) = c.0.iter().find(|t| t.len() > max_tx_size) {
            return Err(DecodeError::Malformed(format!(
                "a transaction of {} bytes exceeds the limit of {max_tx_size}",
                t.len()
            )));
        }
        Ok(c.0.into_iter().map(|b| b.into_vec()).collect())
    }
}

/// BEAT3/4: the transactions in a stored value's bytes (what `BeatNode::read` of a whole value
/// returns: the proposer's contribution), checked against the committee's `settings`.
pub fn decode_stored_value(bytes: &[u8], settings: &super::Settings) -> Result<Vec<Vec<u8>>, DecodeError> {
    Contribution::decode(bytes, settings.max_proposal_bytes, usize::MAX, settings.max_tx_size)
}
