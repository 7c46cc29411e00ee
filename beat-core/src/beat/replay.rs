//! BEAT2's replay filter: each client's `(client, seq)` commits at most once, however late a
//! copy of its ciphertext is proposed again.
//!
//! A window of recent epochs (BEAT0/1's de-duplication) cannot promise that: a Byzantine
//! proposer keeps an old ciphertext and proposes it once the window has moved on. So every
//! node keeps, per client, the anti-replay window of IPsec (RFC 4303 §3.4.3): the highest
//! committed `seq` and a bitmap of the [`WINDOW`] sequence numbers below it. A transaction is
//! *fresh* iff its `seq` is above the highest, or within the window and not yet marked. A
//! `seq` more than [`WINDOW`] below the highest is refused even if it never committed, so
//! a client that pipelines should keep fewer than [`WINDOW`] transactions in flight (the SDK's
//! sequence numbers are consecutive).
//!
//! **Bounded.** Client ids are not authenticated (any holder of the public key can encrypt as
//! any client), so the table holds at most [`MAX_CLIENTS`] clients, about 60 bytes each. When a
//! new client would exceed it, the client whose last commit is oldest (ties: the lowest id) is
//! evicted — a deterministic rule over the committed log, so every correct node evicts the same
//! client at the same commit, and the table is part of the checkpoint. An evicted client's old
//! ciphertexts could commit again: an adversary must first have [`MAX_CLIENTS`] other clients
//! commit after the victim's last transaction (at `b = 1000`, hundreds of epochs of its
//! proposals and nothing but fresh clients). Active clients are never evicted first.
//!
//! The filter is consensus state: which transactions a batch keeps depends on it, identically
//! at every correct node, because it is a function of the committed log alone.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::batch::ClientTxId;

/// Sequence numbers below a client's highest committed one that are still tracked.
pub const WINDOW: u64 = 256;
/// Clients tracked at most (see the module doc for what eviction means).
pub const MAX_CLIENTS: usize = 100_000;

const WORDS: usize = (WINDOW / 64) as usize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Window {
    highest: u64,
    /// Bit `k` set: `highest − k` committed (bit 0 is `highest` itself).
    bits: [u64; WORDS],
    last_epoch: u64,
}

impl Window {
    fn offset(&self, seq: u64) -> Option<u64> {
        (seq <= self.highest).then(|| self.highest - seq)
    }

    fn marked(&self, k: u64) -> bool {
        self.bits[(k / 64) as usize] & (1 << (k % 64)) != 0
    }

    fn mark(&mut self, k: u64) {
        self.bits[(k / 64) as usize] |= 1 << (k % 64);
    }

    /// Move the window up so that `seq` is the highest.
    fn advance(&mut self, seq: u64) {
        let shift = seq - self.highest;
        self.highest = seq;
        if shift >= WINDOW {
            self.bits = [0; WORDS];
            return;
        }
        // Shift the whole bitmap left by `shift` bits (towards older sequence numbers).
        let (words, bits) = ((shift / 64) as usize, (shift % 64) as u32);
        let mut out = [0u64; WORDS];
        for i in (words..WORDS).rev() {
            let lo = self.bits[i - words] << bits;
            let carry = if bits > 0 && i > words { self.bits[i - words - 1] >> (64 - bits) } else { 0 };
            out[i] = lo | carry;
        }
        self.bits = out;
    }
}

/// Every tracked client's window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientWindows {
    windows: HashMap<u64, Window>,
    /// `(last commit epoch, client)`: the eviction order.
    by_age: BTreeSet<(u64, u64)>,
}

/// The serialised form (in a node checkpoint), sorted by client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientWindowsState(Vec<(u64, u64, [u64; WORDS], u64)>);

impl ClientWindows {
    /// Whether `id` may still commit (see the module doc).
    pub fn fresh(&self, id: ClientTxId) -> bool {
        match self.windows.get(&id.client) {
            None => true,
            Some(w) => match w.offset(id.seq) {
                None => true,
                Some(k) if k >= WINDOW => false,
                Some(k) => !w.marked(k),
            },
        }
    }

    /// Record that `id` committed in `epoch` (call only for fresh ids).
    pub fn record(&mut self, id: ClientTxId, epoch: u64) {
        if !self.windows.contains_key(&id.client) {
            while self.windows.len() >= MAX_CLIENTS {
                let Some((_, oldest)) = self.by_age.pop_first() else { break };
                self.windows.remove(&oldest);
            }
            self.windows.insert(id.client, Window { highest: id.seq, bits: [0; WORDS], last_epoch: epoch });
            self.by_age.insert((epoch, id.client));
        }
        let Some(w) = self.windows.get_mut(&id.client) else { return };
        if id.seq > w.highest {
            w.advance(id.seq);
        }
        if let Some(k) = w.offset(id.seq).filter(|k| *k < WINDOW) {
            w.mark(k);
        }
        if w.last_epoch != epoch {
            self.by_age.remove(&(w.last_epoch, id.client));
            w.last_epoch = epoch;
            self.by_age.insert((epoch, id.client));
        }
    }

    /// Clients tracked.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether no client is tracked.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The state to checkpoint.
    pub fn state(&self) -> ClientWindowsState {
        let mut v: Vec<_> = self.windows.iter().map(|(c, w)| (*c, w.highest, w.bits, w.last_epoch)).collect();
        v.sort_unstable_by_key(|e| e.0);
        ClientWindowsState(v)
    }

    /// Restore from a checkpoint (entries beyond [`MAX_CLIENTS`] are dropped, oldest first).
    pub fn restore(state: &ClientWindowsState) -> Self {
        let mut out = ClientWindows::default();
        for &(client, highest, bits, last_epoch) in &state.0 {
            out.windows.insert(client, Window { highest, bits, last_epoch });
            out.by_age.insert((last_epoch, client));
        }
        while out.windows.len() > MAX_CLIENTS {
            let Some((_, oldest)) = out.by_age.pop_first() else { break };
            out.windows.remove(&oldest);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(client: u64, seq: u64) -> ClientTxId {
        ClientTxId { client, seq }
    }

    #[test]
    fn at_most_once_in_and_out_of_order() {
        let mut w = ClientWindows::default();
        for seq in [5, 3, 9, 4, 200, 6] {
            assert!(w.fresh(id(1, seq)), "{seq}");
            w.record(id(1, seq), seq);
            assert!(!w.fresh(id(1, seq)), "{seq} again");
        }
        for seq in [0, 1, 2, 7, 8, 10, 199, 201] {
            assert!(w.fresh(id(1, seq)), "{seq} never committed and inside the window");
        }
        // Far below the highest: refused even if never committed.
        w.record(id(1, 1000), 1000);
        assert!(!w.fresh(id(1, 1000 - WINDOW)));
        assert!(w.fresh(id(1, 1001 - WINDOW)));
        for seq in [3, 4, 5, 6, 9, 200] {
            assert!(!w.fresh(id(1, seq)));
        }
        // Other clients are independent.
        assert!(w.fresh(id(2, 5)));
    }

    #[test]
    fn bitmap_shifts_across_words() {
        let mut w = ClientWindows::default();
        let mut committed = Vec::new();
        for step in [1u64, 63, 64, 65, 130, 7, 255, 256, 3] {
            let seq = committed.last().copied().unwrap_or(0) + step;
            w.record(id(9, seq), 0);
            committed.push(seq);
            let highest = seq;
            for s in highest.saturating_sub(WINDOW - 1)..=highest {
                assert_eq!(w.fresh(id(9, s)), !committed.contains(&s), "seq {s} after {committed:?}");
            }
        }
    }

    #[test]
    fn eviction_is_deterministic_and_oldest_first() {
        let mut a = ClientWindows::default();
        for c in 0..MAX_CLIENTS as u64 {
            a.record(id(c, 0), c / 1000);
        }
        // Client 0 commits again late: it is not the oldest any more.
        a.record(id(0, 1), 10_000);
        let mut b = ClientWindows::restore(&a.state());
        assert_eq!(a, b);
        a.record(id(u64::MAX, 0), 10_001);
        b.record(id(u64::MAX, 0), 10_001);
        assert_eq!(a, b);
        assert_eq!(a.len(), MAX_CLIENTS);
        // Client 1 (epoch 0, lowest id among the oldest after 0 moved) was evicted.
        assert!(a.fresh(id(1, 0)), "evicted: its history is gone");
        assert!(!a.fresh(id(0, 1)) && !a.fresh(id(2, 0)));
    }
}
