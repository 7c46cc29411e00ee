//! The settings a whole committee must share.
//!
//! Some settings decide *validity*: whether a proposal, a transaction or a batch is accepted.
//! If two correct members disagreed on one of them, one could accept a proposal the other
//! refuses, and their logs would diverge (or the committee would stall). These are
//! [`Settings`]: the dealer fixes them, writes them into the cluster file's `[consensus]`
//! table, and binds them into the session id ([`Settings::bind_session`]), which every
//! message, signature, share and proof carries. A member started with other settings has
//! another session: its key file does not match the cluster file and it refuses to start
//! (`keystore::load_node_keys`), and even a hand-built one could only talk past the others
//! (every envelope and every domain-separated proof names the session).
//!
//! What does not decide validity stays local ([`crate::beat::Config`]): how far ahead a node
//! buffers, how many transactions it queues, how long it keeps read metadata.

use serde::{Deserialize, Serialize};

use super::Variant;
use crate::crypto::hash::tagged_hash;
use crate::{Params, SessionId};

/// The validity-deciding settings of a committee (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Which BEAT variant the committee runs.
    pub variant: Variant,
    /// `b`: the target number of transactions per epoch over all proposers; each node
    /// proposes `⌈b/n⌉` chosen at random from the first `b` in its buffer, and a proposal of
    /// more than `4b` transactions is invalid.
    pub batch_size: usize,
    /// Largest valid transaction in bytes (for BEAT2: the encoded client ciphertext).
    pub max_tx_size: usize,
    /// Largest valid proposal in bytes, as broadcast (default 4 MiB; a proposer leaves what
    /// does not fit for a later epoch). It also sizes every budget a peer has at a node
    /// (`node::Limits`): the largest frame accepted is this plus 64 KiB.
    pub max_proposal_bytes: usize,
    /// BEAT0/1: a transaction committed within this many epochs is not committed again (the
    /// promise is only this window: the same bytes proposed later commit again). BEAT2
    /// commits each client `(client, seq)` at most once, beyond any window
    /// ([`super::replay`]).
    pub dedup_epochs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            variant: Variant::Beat0,
            batch_size: 1000,
            max_tx_size: 64 << 10,
            max_proposal_bytes: 4 << 20,
            dedup_epochs: 64,
        }
    }
}

/// A setting out of its range.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("consensus setting {field} = {value} is out of range: {expected}")]
pub struct SettingsError {
    /// The field.
    pub field: &'static str,
    /// Its value.
    pub value: u64,
    /// What it must be.
    pub expected: String,
}

/// Tag of the session binding.
const SESSION_TAG: &str = "BEAT/session/v2";

/// Largest `batch_size` accepted.
pub const MAX_BATCH_SIZE: usize = 1 << 20;
/// Largest `dedup_epochs` accepted.
pub const MAX_DEDUP_EPOCHS: u64 = 1 << 20;
/// Room a proposal needs around its transactions (ciphertext, framing).
const PROPOSAL_OVERHEAD: usize = 4096;

impl Settings {
    /// `self` with another variant.
    pub fn with_variant(variant: Variant) -> Self {
        Settings { variant, ..Settings::default() }
    }

    /// Defaults for `variant` as a service runs it: for the storage variants (BEAT3/4) room for
    /// blobs of up to 8 MiB in proposals of up to 24 MiB; the others as
    /// [`Settings::with_variant`].
    pub fn for_service(variant: Variant) -> Self {
        if variant.dispersed() {
            Settings {
                variant,
                batch_size: 64,
                max_tx_size: 8 << 20,
                max_proposal_bytes: 24 << 20,
                ..Settings::default()
            }
        } else {
            Settings::with_variant(variant)
        }
    }

    /// Check every field's range; the error names the field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let err = |field, value: usize, expected: String| SettingsError { field, value: value as u64, expected };
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(err("batch_size", self.batch_size, format!("1 ..= {MAX_BATCH_SIZE}")));
        }
        let frame = crate::codec::MAX_FRAME_BYTES;
        if !(1..=frame / 2).contains(&self.max_tx_size) {
            return Err(err("max_tx_size", self.max_tx_size, format!("1 ..= {}", frame / 2)));
        }
        let min_proposal = self.max_tx_size + PROPOSAL_OVERHEAD;
        if !(min_proposal..=frame / 2).contains(&self.max_proposal_bytes) {
            return Err(err(
                "max_proposal_bytes",
                self.max_proposal_bytes,
                format!("max_tx_size + {PROPOSAL_OVERHEAD} ..= {}", frame / 2),
            ));
        }
        if !(1..=MAX_DEDUP_EPOCHS).contains(&self.dedup_epochs) {
            return Err(SettingsError {
                field: "dedup_epochs",
                value: self.dedup_epochs,
                expected: format!("1 ..= {MAX_DEDUP_EPOCHS}"),
            });
        }
        Ok(())
    }

    /// The canonical bytes the session binds (fixed field order, big-endian integers).
    fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40);
        out.extend_from_slice(self.variant.name().as_bytes());
        for v in [self.batch_size as u64, self.max_tx_size as u64, self.max_proposal_bytes as u64, self.dedup_epochs] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// The session id of a committee dealt under `base` with `params` and these settings:
    /// `H("BEAT/session/v2", base, n, f, settings)`. Two committees that differ in any setting
    /// have different sessions, so nothing one signs is valid in the other.
    pub fn bind_session(&self, base: &SessionId, params: Params) -> SessionId {
        let (n, f) = ((params.n as u64).to_be_bytes(), (params.f as u64).to_be_bytes());
        SessionId(tagged_hash(SESSION_TAG, &[&base.0, &n, &f, &self.canonical()]))
    }

    /// Proposals may hold at most this many transactions (`4b`): a correct proposer takes
    /// `⌈b/n⌉`, so the margin only matters for a buffer refilled between epochs.
    pub fn max_txs_per_proposal(&self) -> usize {
        self.batch_size.max(1) * 4
    }
}

impl Serialize for Variant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Variant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Variant::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown variant {name:?} (BEAT0 … BEAT4)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_bound_into_the_session() {
        let base = SessionId::from_name("settings-test");
        let params = Params::new(4).unwrap();
        let s = Settings::default();
        let session = s.bind_session(&base, params);
        assert_eq!(session, s.bind_session(&base, params), "deterministic");
        let changed = [
            Settings { variant: Variant::Beat1, ..s.clone() },
            Settings { batch_size: 999, ..s.clone() },
            Settings { max_tx_size: 1 << 10, ..s.clone() },
            Settings { max_proposal_bytes: s.max_proposal_bytes - 1, ..s.clone() },
            Settings { dedup_epochs: 65, ..s.clone() },
        ];
        for other in &changed {
            assert_ne!(other.bind_session(&base, params), session, "{other:?}");
        }
        assert_ne!(s.bind_session(&SessionId::from_name("other"), params), session);
        assert_ne!(s.bind_session(&base, Params::new(5).unwrap()), session);
    }

    #[test]
    fn ranges_are_checked_and_named() {
        assert!(Settings::default().validate().is_ok());
        for v in Variant::ALL {
            assert!(Settings::with_variant(v).validate().is_ok());
        }
        let e = Settings { batch_size: 0, ..Settings::default() }.validate().unwrap_err();
        assert_eq!(e.field, "batch_size");
        let e = Settings { max_tx_size: 1 << 30, ..Settings::default() }.validate().unwrap_err();
        assert_eq!(e.field, "max_tx_size");
        let e = Settings { max_proposal_bytes: 100, ..Settings::default() }.validate().unwrap_err();
        assert_eq!(e.field, "max_proposal_bytes");
        assert!(e.to_string().contains("max_proposal_bytes = 100"), "{e}");
        let e = Settings { dedup_epochs: 0, ..Settings::default() }.validate().unwrap_err();
        assert_eq!(e.field, "dedup_epochs");
    }

    #[test]
    fn toml_round_trip_and_unknown_fields() {
        let s = Settings { variant: Variant::Beat3, batch_size: 64, ..Settings::default() };
        let text = toml::to_string(&s).unwrap();
        assert!(text.contains("variant = \"BEAT3\""), "{text}");
        assert_eq!(toml::from_str::<Settings>(&text).unwrap(), s);
        assert!(toml::from_str::<Settings>(&format!("{text}\nbatchsize = 3\n")).is_err());
        assert!(toml::from_str::<Settings>(&text.replace("BEAT3", "BEAT9")).is_err());
    }
}
