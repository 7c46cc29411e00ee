//! A BEAT node: the epoch engine every variant shares.
//!
//! Reference: Duan, Reiter, Zhang, *BEAT: Asynchronous BFT Made Practical*, CCS 2018, §4–§6
//! (this project numbers the variants as design.md §3; `docs/modules.md` maps them to the
//! paper), on the HoneyBadgerBFT epoch structure (Miller et al., CCS 2016, §4).
//!
//! Epoch `e` at node `i` (`BC` is the variant's broadcast: RBC for BEAT0, AVID for BEAT1/2):
//!
//! ```text
//! propose:  B := the first b buffered transactions; T := ⌈b/n⌉ of them chosen at random
//!   BEAT0/1: v := encode(TPKE.Enc(pk, label = (session, e, i), encode(T)))
//!   BEAT2:   v := encode(T)        (each transaction is already a client ciphertext)
//!           ACS.input(v)           (ACS over n BC instances and n ABAs)
//! upon ACS output {j ↦ v_j}:
//!   for each j: C_j := the ciphertexts in v_j (one for BEAT0/1; the client transactions for
//!               BEAT2) that decode, carry the right label and pass their proof; a proposal
//!               that does not decode, or a BEAT0/1 ciphertext that fails: fault(j)
//!               broadcast DecShares(j, [TPKE.DecShare(sk_i, c) for c in C_j])
//! upon f+1 share lists for j:  decrypt each c in C_j with TPKE.Combine (unverified shares
//!               first; on failure verify that ciphertext's shares and fault the senders of bad ones)
//! upon every accepted contribution decrypted:
//!           block_e := contributions in proposer order, each transaction kept only at its
//!                      first occurrence in the block and if not committed in the last
//!                      `dedup_epochs` epochs (identity: the transaction's digest; for BEAT2
//!                      the client's (client, seq))
//!           output block_e (epochs are output strictly in order)
//! ```
//!
//! *Input confidentiality* and *causal order*: a node computes a decryption share only for a
//! ciphertext in the ACS output, i.e. after the epoch's common set — and with it the order —
//! is fixed. The label binds a ciphertext to its proposer and epoch (BEAT0/1) or its client
//! and sequence number (BEAT2), so a Byzantine node cannot replay someone else's ciphertext
//! under its own name to have it decrypted early (TDH2's CCA security).
//!
//! *Epochs in flight*: messages for epochs `e .. e + max_future_epochs` are processed at once
//! (so a slow node still echoes and votes for epochs the others already run); messages for
//! later epochs wait in a bounded per-peer buffer; messages for output epochs are dropped. A
//! node proposes for epoch `e` once `e − 1` is output and it has transactions or sees another
//! node working on `e`.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::batch::{Batch, Contribution};
use super::client::{ClientTransaction, ClientTxError};
use super::keys::NodeKeys;
use super::Variant;
use crate::codec;
use crate::crypto::elgamal::{Ciphertext, DecryptionShare, VerifiedCiphertext};
use crate::crypto::hash::{tagged_hash, Digest, Domain};
use crate::proto::aba::Aba;
use crate::proto::acs::{Acs, AcsError, AcsMessage, AcsOutput};
use crate::proto::avid::Avid;
use crate::proto::broadcast::{Broadcast, BroadcastError, BroadcastMessage};
use crate::proto::rbc::Rbc;
use crate::proto::{Fault, FaultKind, Protocol, Step, Target};
use crate::{NodeId, Params, SessionId};

/// Tunables of a BEAT node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Which BEAT variant the committee runs (all members must agree).
    pub variant: Variant,
    /// `b`: the target number of transactions per epoch over all proposers; each node
    /// proposes `⌈b/n⌉` chosen at random from the first `b` in its buffer.
    pub batch_size: usize,
    /// How many epochs beyond the current one are processed at once.
    pub max_future_epochs: u64,
    /// Messages per peer buffered for epochs beyond that window; more are dropped (a fault).
    pub max_future_messages: usize,
    /// Largest accepted transaction (for BEAT2: the encoded client ciphertext).
    pub max_tx_size: usize,
    /// Most transactions waiting in the buffer.
    pub max_buffered_txs: usize,
    /// A transaction committed within this many epochs is not committed again.
    pub dedup_epochs: u64,
    /// Largest proposal accepted from a broadcast.
    pub max_proposal_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            variant: Variant::Beat0,
            batch_size: 1000,
            max_future_epochs: 3,
            max_future_messages: 4096,
            max_tx_size: 64 << 10,
            max_buffered_txs: 200_000,
            dedup_epochs: 64,
            max_proposal_bytes: 32 << 20,
        }
    }
}

/// A BEAT message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The epoch it belongs to.
    pub epoch: u64,
    /// What it says.
    pub content: Content,
}

/// The content of a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// Common-subset traffic (broadcast and ABA).
    Acs(AcsMessage<BroadcastMessage>),
    /// The sender's decryption shares, with DLEQ proofs, for the valid ciphertexts of
    /// `proposer`'s accepted proposal, in order (one for BEAT0/1; one per valid client
    /// transaction for BEAT2).
    DecShares {
        /// Whose proposal.
        proposer: NodeId,
        /// The shares.
        shares: Vec<DecryptionShare>,
    },
}

/// Local misuse or refusal of an input.
#[derive(Debug, thiserror::Error)]
pub enum BeatError {
    /// A transaction larger than `max_tx_size`.
    #[error("transaction of {size} bytes exceeds the limit of {max}")]
    TransactionTooLarge { size: usize, max: usize },
    /// The buffer holds `max_buffered_txs` transactions already.
    #[error("transaction buffer full ({0} transactions)")]
    BufferFull(usize),
    /// BEAT2: the submitted bytes are not a valid client transaction.
    #[error("invalid client transaction: {0}")]
    InvalidClientTransaction(#[from] ClientTxError),
    /// An internal protocol error (a bug, never a peer's doing).
    #[error("common subset: {0}")]
    Acs(#[from] AcsError<BroadcastError>),
}

/// What the application feeds a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A transaction for the buffer: the plaintext for BEAT0/1, an encoded
    /// [`ClientTransaction`] (from [`super::client::Client::encrypt`]) for BEAT2.
    Submit(Vec<u8>),
    /// Propose for the current epoch now, even with an empty buffer.
    Propose,
}

/// The decryption of one accepted proposal's ciphertexts.
#[derive(Debug)]
struct Decryption {
    cts: Vec<VerifiedCiphertext>,
    /// BEAT2: each ciphertext's `(client, seq)` identity.
    ids: Vec<Option<Digest>>,
    /// Each sender's share list (the right length, checked on arrival).
    shares: BTreeMap<NodeId, Vec<DecryptionShare>>,
    /// Senders whose whole share list was verified.
    verified: Vec<bool>,
    /// Per ciphertext: `None` pending, `Some(None)` does not open, `Some(Some(p))` opened.
    plaintexts: Vec<Option<Option<Vec<u8>>>>,
}

#[derive(Debug)]
struct Epoch {
    acs: Acs<Broadcast>,
    proposed: bool,
    /// Accepted proposers, set at ACS output.
    accepted: Option<Vec<NodeId>>,
    /// Decryptions in progress.
    decryptions: BTreeMap<NodeId, Decryption>,
    /// Finished contributions (invalid → empty): (identity, transaction).
    contributions: BTreeMap<NodeId, Vec<(Digest, Vec<u8>)>>,
    /// Share lists that arrived before our ACS output: (proposer, sender) → shares.
    early_shares: BTreeMap<(NodeId, NodeId), Vec<DecryptionShare>>,
}

impl Epoch {
    fn complete(&self) -> bool {
        self.accepted.as_ref().is_some_and(|a| a.iter().all(|j| self.contributions.contains_key(j)))
    }
}

type BeatStep = Step<Message, Batch>;

/// A BEAT node: the sans-IO state machine of one committee member.
#[derive(Debug)]
pub struct Beat {
    params: Params,
    keys: NodeKeys,
    config: Config,
    /// The lowest epoch not yet output.
    epoch: u64,
    epochs: BTreeMap<u64, Epoch>,
    future: Vec<VecDeque<Message>>,
    /// Transactions waiting to be proposed, with their digests.
    buffer: VecDeque<(Digest, Vec<u8>)>,
    buffered: HashSet<Digest>,
    /// Identities committed in recent epochs, oldest first.
    recent: VecDeque<(u64, Vec<Digest>)>,
    recent_set: HashSet<Digest>,
}

/// Protocol tag of proposal labels.
const PROPOSAL_PROTOCOL: &str = "BEAT/proposal";

/// The label proposer `proposer`'s ciphertext for `epoch` must carry (BEAT0/1).
pub fn proposal_label(session: &SessionId, epoch: u64, proposer: NodeId) -> Vec<u8> {
    Domain { protocol: PROPOSAL_PROTOCOL, session, epoch, instance: proposer as u64 }.encode(&[])
}

fn tx_digest(tx: &[u8]) -> Digest {
    tagged_hash("BEAT/tx", &[tx])
}

impl Beat {
    /// A node with the given keys and configuration, starting at epoch 0.
    pub fn new(keys: NodeKeys, config: Config) -> Self {
        let params = keys.public.params;
        Beat {
            params,
            keys,
            config,
            epoch: 0,
            epochs: BTreeMap::new(),
            future: vec![VecDeque::new(); params.n],
            buffer: VecDeque::new(),
            buffered: HashSet::new(),
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
        }
    }

    /// This node's id.
    pub fn our_id(&self) -> NodeId {
        self.keys.id
    }

    /// The variant this node runs.
    pub fn variant(&self) -> Variant {
        self.config.variant
    }

    /// The lowest epoch not yet output.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Add a transaction to the buffer without proposing yet (the proposal happens on the next
    /// input or message, or on [`Input::Propose`]). [`Input::Submit`] buffers and proposes at once
    /// if the node is idle.
    pub fn buffer_transaction(&mut self, tx: Vec<u8>) -> Result<(), BeatError> {
        self.submit(tx)
    }

    /// Transactions waiting in the buffer.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The label a proposer's ciphertext must carry (BEAT0/1).
    pub fn proposal_label(&self, epoch: u64, proposer: NodeId) -> Vec<u8> {
        proposal_label(&self.keys.public.session, epoch, proposer)
    }

    fn broadcast(&self, e: u64, proposer: NodeId) -> Broadcast {
        let (params, me, max) = (self.params, self.keys.id, self.config.max_proposal_bytes);
        match self.config.variant {
            Variant::Beat0 => Broadcast::Rbc(Rbc::new(params, me, proposer, e, max)),
            Variant::Beat1 | Variant::Beat2 => {
                // `Params` guarantees n ≥ 3f + 1, so k = n − 2f ≥ f + 1 ≥ 1 and the code exists.
                Broadcast::Avid(Avid::new(params, me, proposer, e, max).expect("n − 2f ≥ 1 for valid params"))
            }
        }
    }

    fn epoch_state(&mut self, e: u64) -> &mut Epoch {
        if !self.epochs.contains_key(&e) {
            let params = self.params;
            let (me, session, coin) = (self.keys.id, self.keys.public.session, self.keys.coin_keys());
            let bcs = params.nodes().map(|j| self.broadcast(e, j)).collect();
            let abas = params.nodes().map(|j| Aba::new(params, me, session, e, j, coin.clone())).collect();
            let state = Epoch {
                acs: Acs::new(params, me, e, bcs, abas),
                proposed: false,
                accepted: None,
                decryptions: BTreeMap::new(),
                contributions: BTreeMap::new(),
                early_shares: BTreeMap::new(),
            };
            self.epochs.insert(e, state);
        }
        self.epochs.get_mut(&e).expect("inserted above")
    }

    fn submit(&mut self, tx: Vec<u8>) -> Result<(), BeatError> {
        if tx.len() > self.config.max_tx_size {
            return Err(BeatError::TransactionTooLarge { size: tx.len(), max: self.config.max_tx_size });
        }
        let d = if self.config.variant.client_encrypted() {
            // Refuse an invalid client ciphertext before it can be ordered.
            let ctx = ClientTransaction::decode(&tx, self.config.max_tx_size)?;
            let id = ctx.identity();
            ctx.verify(&self.keys.public)?;
            id
        } else {
            tx_digest(&tx)
        };
        if self.buffered.contains(&d) || self.recent_set.contains(&d) {
            return Ok(());
        }
        if self.buffer.len() >= self.config.max_buffered_txs {
            return Err(BeatError::BufferFull(self.buffer.len()));
        }
        self.buffered.insert(d);
        self.buffer.push_back((d, tx));
        Ok(())
    }

    /// Propose for the current epoch if we have not and there is a reason to.
    fn maybe_propose(&mut self, force: bool, rng: &mut dyn rand_core::CryptoRngCore) -> Result<BeatStep, BeatError> {
        let e = self.epoch;
        let started = self.epochs.get(&e).is_some_and(|s| !s.proposed);
        let already = self.epochs.get(&e).is_some_and(|s| s.proposed);
        if already || !(force || started || !self.buffer.is_empty()) {
            return Ok(Step::new());
        }
        // ⌈b/n⌉ transactions drawn at random from the first b.
        let window = self.buffer.len().min(self.config.batch_size);
        let take = self.config.batch_size.div_ceil(self.params.n).min(window);
        let mut idx = rand::seq::index::sample(&mut *rng, window, take).into_vec();
        idx.sort_unstable();
        let txs: Vec<Vec<u8>> = idx.iter().map(|&i| self.buffer[i].1.clone()).collect();
        let plaintext = Contribution::encode(&txs);
        let value = if self.config.variant.client_encrypted() {
            plaintext
        } else {
            let label = self.proposal_label(e, self.keys.id);
            codec::encode(&self.keys.public.encryption.encrypt(&label, &plaintext, &mut &mut *rng))
        };
        let state = self.epoch_state(e);
        state.proposed = true;
        let acs_step = state.acs.handle_input(value, rng)?;
        self.handle_acs_step(e, acs_step, rng)
    }

    fn handle_acs_step(
        &mut self,
        e: u64,
        acs_step: Step<AcsMessage<BroadcastMessage>, AcsOutput>,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BeatStep, BeatError> {
        let mut step = Step::new();
        let outputs = step.lift(acs_step, |m| Message { epoch: e, content: Content::Acs(m) });
        for out in outputs {
            step.extend(self.on_acs_output(e, out, rng));
        }
        Ok(step)
    }

    /// The ciphertexts of proposer `j`'s accepted value that pass their checks, and whether
    /// the proposal contained anything invalid (the proposer's fault: a correct proposer checks
    /// every transaction before it buffers it).
    fn checked_ciphertexts(
        &self,
        e: u64,
        j: NodeId,
        value: &[u8],
    ) -> (Vec<(Option<Digest>, VerifiedCiphertext)>, bool) {
        let (max, max_tx) = (self.config.max_proposal_bytes, self.config.max_tx_size);
        if !self.config.variant.client_encrypted() {
            let label = self.proposal_label(e, j);
            let ct = codec::decode::<Ciphertext>(value, max).ok().filter(|ct| ct.label == label);
            return match ct.and_then(|ct| self.keys.public.encryption.verify_ciphertext(ct).ok()) {
                Some(ct) => (vec![(None, ct)], false),
                None => (Vec::new(), true),
            };
        }
        let max_txs = self.config.batch_size.max(1) * 4;
        let Ok(txs) = Contribution::decode(value, max, max_txs, max_tx) else { return (Vec::new(), true) };
        let mut out = Vec::with_capacity(txs.len());
        let mut invalid = false;
        for tx in txs {
            let checked = ClientTransaction::decode(&tx, max_tx).and_then(|c| {
                let id = c.identity();
                c.verify(&self.keys.public).map(|ct| (Some(id), ct))
            });
            match checked {
                Ok(c) => out.push(c),
                Err(_) => invalid = true,
            }
        }
        (out, invalid)
    }

    /// The epoch's common set is fixed: check the ciphertexts and release our shares.
    fn on_acs_output(&mut self, e: u64, out: AcsOutput, rng: &mut dyn rand_core::CryptoRngCore) -> BeatStep {
        let mut step = Step::new();
        let me = self.keys.id;
        let checked: Vec<_> = out.iter().map(|(j, v)| (*j, self.checked_ciphertexts(e, *j, v))).collect();
        let secret = self.keys.decryption_secret.clone();
        let n = self.params.n;
        let state = self.epoch_state(e);
        state.accepted = Some(checked.iter().map(|(j, _)| *j).collect());
        for (j, (cts, invalid)) in checked {
            if invalid {
                step.faults.push(Fault { node: j, kind: FaultKind::MalformedCiphertext });
            }
            if cts.is_empty() {
                state.contributions.insert(j, Vec::new());
                continue;
            }
            let (ids, cts): (Vec<_>, Vec<_>) = cts.into_iter().unzip();
            let shares: Vec<DecryptionShare> = cts.iter().map(|ct| secret.decrypt_share(ct, &mut &mut *rng)).collect();
            step.send(
                Target::All,
                Message { epoch: e, content: Content::DecShares { proposer: j, shares: shares.clone() } },
            );
            let mut d = Decryption {
                plaintexts: vec![None; cts.len()],
                cts,
                ids,
                shares: BTreeMap::new(),
                verified: vec![false; n],
            };
            d.shares.insert(me, shares);
            d.verified[me] = true;
            state.decryptions.insert(j, d);
        }
        let early = std::mem::take(&mut state.early_shares);
        for ((j, from), shares) in early {
            step.extend(self.handle_shares(e, from, j, shares));
        }
        let proposers: Vec<NodeId> = self.epoch_state(e).decryptions.keys().copied().collect();
        for j in proposers {
            step.extend(self.try_decrypt(e, j));
        }
        step
    }

    fn handle_shares(&mut self, e: u64, from: NodeId, proposer: NodeId, shares: Vec<DecryptionShare>) -> BeatStep {
        let state = self.epoch_state(e);
        if state.accepted.is_none() {
            // Before our ACS output: keep one list per (proposer, sender); bounded by n² lists
            // of at most the largest proposal's length (checked by the message decoder's size limit).
            state.early_shares.entry((proposer, from)).or_insert(shares);
            return Step::new();
        }
        let Some(d) = state.decryptions.get_mut(&proposer) else {
            if state.contributions.contains_key(&proposer) {
                return Step::new(); // already decrypted, or invalid (faulted once already)
            }
            return Step::fault(from, FaultKind::UnexpectedDecryptionShare);
        };
        if shares.len() != d.cts.len() {
            return Step::fault(from, FaultKind::InvalidDecryptionShare);
        }
        d.shares.entry(from).or_insert(shares);
        self.try_decrypt(e, proposer)
    }

    /// Combine `f + 1` shares per ciphertext, unverified first; verify one by one only if that fails.
    fn try_decrypt(&mut self, e: u64, j: NodeId) -> BeatStep {
        let mut step = Step::new();
        let needed = self.params.f + 1;
        let pk = self.keys.public.encryption.clone();
        let client = self.config.variant.client_encrypted();
        let (max_bytes, max_tx) = (self.config.max_proposal_bytes, self.config.max_tx_size);
        let max_txs = self.config.batch_size.max(1) * 4;
        let state = self.epoch_state(e);
        let Some(d) = state.decryptions.get_mut(&j) else { return step };
        if d.shares.len() < needed {
            return step;
        }
        for t in 0..d.cts.len() {
            if d.plaintexts[t].is_some() {
                continue;
            }
            let pick = |d: &Decryption| -> Vec<(NodeId, DecryptionShare)> {
                let verified = d.shares.iter().filter(|(k, _)| d.verified[**k]);
                let unverified = d.shares.iter().filter(|(k, _)| !d.verified[**k]);
                verified.chain(unverified).take(needed).map(|(k, s)| (*k, s[t])).collect()
            };
            let mut result = pk.combine(&d.cts[t], &pick(d));
            if result.is_err() {
                let unverified: Vec<NodeId> = d.shares.keys().copied().filter(|k| !d.verified[*k]).collect();
                for k in unverified {
                    if d.shares[&k].iter().zip(&d.cts).all(|(s, ct)| pk.verify_share(k, ct, s)) {
                        d.verified[k] = true;
                    } else {
                        d.shares.remove(&k);
                        step.faults.push(Fault { node: k, kind: FaultKind::InvalidDecryptionShare });
                    }
                }
                if d.shares.len() < needed {
                    return step;
                }
                result = pk.combine(&d.cts[t], &pick(d));
            }
            // With f+1 verified shares a failure means the payload does not open: for BEAT0/1 the
            // proposer's fault; for BEAT2 the client's, and only that transaction is dropped.
            if result.is_err() && !client {
                step.faults.push(Fault { node: j, kind: FaultKind::MalformedCiphertext });
            }
            d.plaintexts[t] = Some(result.ok());
        }
        let Some(d) = state.decryptions.remove(&j) else { return step };
        let contribution = if client {
            let opened = d.ids.into_iter().zip(d.plaintexts).filter_map(|(id, p)| Some((id?, p??)));
            opened.filter(|(_, p)| p.len() <= max_tx).collect()
        } else {
            let plaintext = d.plaintexts.into_iter().next().flatten().flatten().unwrap_or_default();
            match Contribution::decode(&plaintext, max_bytes, max_txs, max_tx) {
                Ok(txs) => txs.into_iter().map(|tx| (tx_digest(&tx), tx)).collect(),
                Err(_) => {
                    step.faults.push(Fault { node: j, kind: FaultKind::MalformedBatch });
                    Vec::new()
                }
            }
        };
        state.contributions.insert(j, contribution);
        step
    }

    /// Output every complete epoch in order.
    fn try_commit(&mut self, rng: &mut dyn rand_core::CryptoRngCore) -> Result<BeatStep, BeatError> {
        let mut step = Step::new();
        while self.epochs.get(&self.epoch).is_some_and(Epoch::complete) {
            let e = self.epoch;
            let Some(state) = self.epochs.remove(&e) else { break };
            let mut proposers = state.accepted.unwrap_or_default();
            proposers.sort_unstable();
            let mut contributions = state.contributions;
            let mut seen = HashSet::new();
            let mut transactions = Vec::new();
            let mut digests = Vec::new();
            for j in &proposers {
                for (d, tx) in contributions.remove(j).unwrap_or_default() {
                    if self.recent_set.contains(&d) || !seen.insert(d) {
                        continue;
                    }
                    digests.push(d);
                    transactions.push(tx);
                }
            }
            // Forget committed transactions from the buffer, remember them for dedup.
            if !digests.is_empty() {
                let committed: HashSet<Digest> = digests.iter().copied().collect();
                self.buffer.retain(|(d, _)| !committed.contains(d));
                self.buffered.retain(|d| !committed.contains(d));
            }
            self.recent_set.extend(digests.iter().copied());
            self.recent.push_back((e, digests));
            while self.recent.front().is_some_and(|(old, _)| old + self.config.dedup_epochs <= e) {
                if let Some((_, old)) = self.recent.pop_front() {
                    for d in old {
                        self.recent_set.remove(&d);
                    }
                }
            }
            step.output.push(Batch { epoch: e, proposers, transactions });
            self.epoch += 1;
            // Messages that waited for the window to move.
            let horizon = self.epoch + self.config.max_future_epochs;
            let mut ready = Vec::new();
            for (from, queue) in self.future.iter_mut().enumerate() {
                let (now, later): (Vec<Message>, Vec<Message>) = queue.drain(..).partition(|m| m.epoch <= horizon);
                queue.extend(later);
                ready.extend(now.into_iter().map(|m| (from, m)));
            }
            for (from, m) in ready {
                step.extend(self.dispatch(from, m, rng)?);
            }
        }
        Ok(step)
    }

    fn dispatch(
        &mut self,
        from: NodeId,
        msg: Message,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BeatStep, BeatError> {
        let e = msg.epoch;
        if e < self.epoch {
            return Ok(Step::new());
        }
        if e > self.epoch + self.config.max_future_epochs {
            let queue = &mut self.future[from];
            if queue.len() >= self.config.max_future_messages {
                return Ok(Step::fault(from, FaultKind::FutureEpochOverflow));
            }
            queue.push_back(msg);
            return Ok(Step::new());
        }
        match msg.content {
            Content::Acs(m) => {
                let acs_step = self.epoch_state(e).acs.handle_message(from, m, rng)?;
                self.handle_acs_step(e, acs_step, rng)
            }
            Content::DecShares { proposer, shares } => {
                if proposer >= self.params.n {
                    return Ok(Step::fault(from, FaultKind::OutOfRange));
                }
                Ok(self.handle_shares(e, from, proposer, shares))
            }
        }
    }

    fn finish(&mut self, mut step: BeatStep, rng: &mut dyn rand_core::CryptoRngCore) -> Result<BeatStep, BeatError> {
        loop {
            let before = self.epoch;
            step.extend(self.try_commit(rng)?);
            step.extend(self.maybe_propose(false, rng)?);
            step.extend(self.try_commit(rng)?);
            if self.epoch == before {
                return Ok(step);
            }
        }
    }
}

impl Protocol for Beat {
    type Input = Input;
    type Message = Message;
    type Output = Batch;
    type Error = BeatError;

    fn handle_input(&mut self, input: Input, rng: &mut dyn rand_core::CryptoRngCore) -> Result<BeatStep, BeatError> {
        let step = match input {
            Input::Submit(tx) => {
                self.submit(tx)?;
                Step::new()
            }
            Input::Propose => self.maybe_propose(true, rng)?,
        };
        self.finish(step, rng)
    }

    fn handle_message(
        &mut self,
        from: NodeId,
        msg: Message,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BeatStep, BeatError> {
        if from >= self.params.n {
            return Ok(Step::fault(from, FaultKind::OutOfRange));
        }
        let step = self.dispatch(from, msg, rng)?;
        self.finish(step, rng)
    }

    fn terminated(&self) -> bool {
        false
    }
}
