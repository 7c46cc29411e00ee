//! The application side of a node: what BEAT orders transactions *for*.
//!
//! A [`ConsensusApp`] sees every committed batch exactly once, in epoch order, across
//! restarts: the node records how far the application got in each snapshot and replays only
//! later batches. [`KvApp`] is the small key-value store the daemon and the tests use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An application driven by a BEAT node.
pub trait ConsensusApp: Send + 'static {
    /// Apply the committed transactions of `epoch`, in order. Called once per epoch, for
    /// epochs `0, 1, 2, …` without gaps.
    fn apply(&mut self, epoch: u64, transactions: &[Vec<u8>]);
    /// The application state, for a snapshot.
    fn snapshot(&self) -> Vec<u8>;
    /// Replace the state with a snapshot taken by [`ConsensusApp::snapshot`].
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String>;
    /// Whether a client transaction may be proposed (checked at `submit`). Default: all.
    fn validate(&self, _transaction: &[u8]) -> Result<(), String> {
        Ok(())
    }
    /// BEAT3/4: the values committed (dispersed, not carried in the batch) in `epoch`, called
    /// just before [`ConsensusApp::apply`] of that epoch. Each is read with
    /// `BeatNode::read(ValueId { epoch, proposer }, …)`; its bytes are the proposer's
    /// transactions of that epoch, encoded ([`crate::beat::decode_stored_value`]). Default:
    /// ignore.
    fn stored(&mut self, _epoch: u64, _values: &[crate::beat::StoredValue]) {}
    /// BEAT3/4 retention: whether to keep value `id` — its fragment and cross-checksum, so it
    /// stays readable — now that it was committed more than `retain_epochs`
    /// (`beat::Config::retain_epochs`) epochs ago. Asked at each checkpoint for every such
    /// value still kept, with the state of the checkpoint's snapshot; `false` deletes the
    /// value for good at this node. Nodes take checkpoints at different epochs, so the answer
    /// must be monotone — once `false` for a value, `false` forever (a value the state no
    /// longer references is never referenced again) — for every correct node to keep the same
    /// values. Needs checkpoints (`snapshot_every > 0`); without them values older than
    /// `retain_epochs` go. Default: keep nothing older than `retain_epochs`.
    fn keep_value(&self, _id: crate::beat::ValueId) -> bool {
        false
    }
}

/// A key-value store: transactions are `set <key> <value>` or `del <key>` (UTF-8); anything
/// else is refused by [`ConsensusApp::validate`] and ignored if committed anyway.
///
/// **Storage mode** ([`KvApp::storage`], for BEAT3/4 committees, as the daemon runs them):
/// transactions are blobs of any bytes, dispersed rather than carried in batches; the app
/// keeps the index of committed values (id → fragment size) and keeps every one of them past
/// the retention horizon ([`ConsensusApp::keep_value`]): a blob store loses nothing it
/// stored. Blobs are read back by their location ([`crate::driver::BeatNode::put`] returns
/// it); deleting them is not supported yet.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvApp {
    /// The data.
    pub map: BTreeMap<String, String>,
    /// The last applied epoch plus one.
    pub applied_epochs: u64,
    /// Transactions applied.
    pub applied_txs: u64,
    /// Storage mode (see the type's doc).
    #[serde(default)]
    pub storage: bool,
    /// Storage mode: committed values, by (epoch, proposer): their fragment size.
    #[serde(default)]
    pub values: BTreeMap<(u64, crate::NodeId), u64>,
}

impl KvApp {
    /// A key-value app in storage mode (BEAT3/4; see the type's doc).
    pub fn storage() -> Self {
        KvApp { storage: true, ..KvApp::default() }
    }
}

enum KvOp<'a> {
    Set(&'a str, &'a str),
    Del(&'a str),
}

fn parse(tx: &[u8]) -> Result<KvOp<'_>, String> {
    let s = std::str::from_utf8(tx).map_err(|_| "transaction is not UTF-8".to_string())?;
    let mut parts = s.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("set"), Some(k), Some(v)) if !k.is_empty() => Ok(KvOp::Set(k, v)),
        (Some("del"), Some(k), None) if !k.is_empty() => Ok(KvOp::Del(k)),
        _ => Err(format!(
            "expected `set <key> <value>` or `del <key>`, got {:?}",
            s.chars().take(40).collect::<String>()
        )),
    }
}

impl ConsensusApp for KvApp {
    fn apply(&mut self, epoch: u64, transactions: &[Vec<u8>]) {
        debug_assert_eq!(epoch, self.applied_epochs, "batches arrive in order without gaps");
        for tx in transactions {
            match parse(tx) {
                Ok(KvOp::Set(k, v)) => {
                    self.map.insert(k.to_string(), v.to_string());
                }
                Ok(KvOp::Del(k)) => {
                    self.map.remove(k);
                }
                Err(_) => continue,
            }
            self.applied_txs += 1;
        }
        self.applied_epochs = epoch + 1;
    }

    fn snapshot(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        *self = crate::codec::decode(snapshot, 1 << 30).map_err(|e| format!("bad KvApp snapshot: {e}"))?;
        Ok(())
    }

    fn validate(&self, transaction: &[u8]) -> Result<(), String> {
        if self.storage {
            // A blob: any bytes (the committee's size limit applies).
            return Ok(());
        }
        parse(transaction).map(|_| ())
    }

    fn stored(&mut self, epoch: u64, values: &[crate::beat::StoredValue]) {
        if self.storage {
            for v in values {
                self.values.insert((epoch, v.proposer), v.fragment_size);
            }
        }
    }

    fn keep_value(&self, id: crate::beat::ValueId) -> bool {
        self.storage && self.values.contains_key(&(id.epoch, id.proposer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_applies_validates_and_round_trips() {
        let mut app = KvApp::default();
        assert!(app.validate(b"set a 1").is_ok());
        assert!(app.validate(b"del a").is_ok());
        assert!(app.validate(b"get a").is_err());
        assert!(app.validate(&[0xff]).is_err());
        app.apply(0, &[b"set a 1".to_vec(), b"set b two words".to_vec(), b"junk".to_vec()]);
        app.apply(1, &[b"del a".to_vec()]);
        assert_eq!(app.map.get("b").map(String::as_str), Some("two words"));
        assert!(!app.map.contains_key("a"));
        assert_eq!((app.applied_epochs, app.applied_txs), (2, 3));
        let mut other = KvApp::default();
        other.restore(&app.snapshot()).unwrap();
        assert_eq!(other, app);
        assert!(other.restore(b"garbage").is_err());
    }

    #[test]
    fn storage_mode_takes_blobs_and_keeps_every_stored_value() {
        use crate::beat::{StoredValue, ValueId};
        let plain = KvApp::default();
        assert!(plain.validate(&[0, 1, 2]).is_err());
        assert!(!plain.keep_value(ValueId { epoch: 0, proposer: 0 }));
        let mut app = KvApp::storage();
        assert!(app.validate(&[0, 1, 2]).is_ok(), "a blob is any bytes");
        let v = |proposer| StoredValue { proposer, digest: [0; 32], fragment_size: 64, checksum: None };
        app.stored(3, &[v(0), v(2)]);
        app.apply(3, &[]);
        assert!(app.keep_value(ValueId { epoch: 3, proposer: 2 }));
        assert!(!app.keep_value(ValueId { epoch: 3, proposer: 1 }), "never committed: nothing to keep");
        let mut other = KvApp::default();
        other.restore(&app.snapshot()).unwrap();
        assert!(other.keep_value(ValueId { epoch: 3, proposer: 0 }), "the index survives a snapshot");
    }
}
