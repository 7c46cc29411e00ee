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
}

/// A key-value store: transactions are `set <key> <value>` or `del <key>` (UTF-8); anything
/// else is refused by [`ConsensusApp::validate`] and ignored if committed anyway.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvApp {
    /// The data.
    pub map: BTreeMap<String, String>,
    /// The last applied epoch plus one.
    pub applied_epochs: u64,
    /// Transactions applied.
    pub applied_txs: u64,
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
        parse(transaction).map(|_| ())
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
}
