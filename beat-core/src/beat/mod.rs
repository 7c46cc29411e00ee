//! BEAT epochs composed from [`crate::proto`] and [`crate::crypto`].
//!
//! One node type, [`Beat`], runs every variant; [`Variant`] picks the broadcast and how
//! proposals are protected (design.md §3):
//!
//! | variant | broadcast | proposals | for |
//! |---|---|---|---|
//! | [`Variant::Beat0`] | Bracha RBC | node-encrypted (threshold ElGamal) | baseline state-machine replication |
//! | [`Variant::Beat1`] | AVID | node-encrypted | less bandwidth than BEAT0 |
//! | [`Variant::Beat2`] | AVID | client-encrypted ([`client`]), decrypted after ordering | causal order, no front-running |
//! | [`Variant::Beat3`] | AVID-FP (Reed–Solomon) | none; each node stores one fragment ([`store`]) | BFT storage |
//! | [`Variant::Beat4`] | AVID-FP (pyramid code, chunked commitments) | none | reads of part of a value from few nodes |

pub mod batch;
pub mod client;
pub mod keys;
pub mod node;
pub mod replay;
pub mod settings;
pub mod store;
#[cfg(test)]
mod tests;

pub use batch::{decode_stored_value, Batch, ClientTxId, StoredValue};
pub use keys::{deal, NodeKeys, PublicKeys};
pub use node::{
    transaction_digest, Beat, BeatError, Checkpoint, Config, Content, Input, Message, Output, OwnFragment, OwnValue,
    ReadError, ReadOutcome, RepairOutcome,
};
pub use settings::{Settings, SettingsError};
pub use store::{FragmentStore, MemFragmentStore, ValueId};

/// The five BEAT variants (this project's numbering; see `docs/modules.md` for the paper's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Bracha RBC + threshold encryption of each node's proposal.
    #[default]
    Beat0,
    /// AVID (erasure-coded broadcast) + threshold encryption of each node's proposal.
    Beat1,
    /// AVID + client-side threshold encryption; decryption only after ordering.
    Beat2,
    /// AVID-FP dispersal (storage): consensus on cross-checksums, one fragment per node.
    Beat3,
    /// AVID-FP with a pyramid code: partial reads from a fragment's local group.
    Beat4,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 5] = [Variant::Beat0, Variant::Beat1, Variant::Beat2, Variant::Beat3, Variant::Beat4];

    /// Its name (`BEAT0` …).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Beat0 => "BEAT0",
            Variant::Beat1 => "BEAT1",
            Variant::Beat2 => "BEAT2",
            Variant::Beat3 => "BEAT3",
            Variant::Beat4 => "BEAT4",
        }
    }

    /// Parse a name, case-insensitively (`beat1`, `BEAT1`, `1`).
    pub fn from_name(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_uppercase();
        Self::ALL.into_iter().find(|v| v.name() == s || v.name()[4..] == s)
    }

    /// Whether proposals are encrypted by clients (BEAT2) rather than by the proposing node.
    pub fn client_encrypted(self) -> bool {
        self == Variant::Beat2
    }

    /// Whether transactions are threshold-encrypted at all (BEAT0–2).
    pub fn encrypted(self) -> bool {
        matches!(self, Variant::Beat0 | Variant::Beat1 | Variant::Beat2)
    }

    /// Whether values are dispersed with AVID-FP and stored as fragments (BEAT3/4).
    pub fn dispersed(self) -> bool {
        matches!(self, Variant::Beat3 | Variant::Beat4)
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
