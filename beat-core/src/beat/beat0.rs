//! BEAT0: HoneyBadgerBFT-style atomic broadcast with Bracha RBC, the Conf-phase ABA and
//! Ristretto255 threshold encryption.
//!
//! Reference: Duan, Reiter, Zhang, *BEAT: Asynchronous BFT Made Practical*, CCS 2018, §4
//! (the paper's BEAT0 pairs threshold encryption with erasure-coded broadcast; this project's
//! BEAT0 uses Bracha's RBC — see `docs/modules.md` for the mapping), on the HoneyBadgerBFT
//! epoch structure (Miller et al., CCS 2016, §4).
//!
//! Epoch `e` at node `i`:
//!
//! ```text
//! propose:  B := the first b buffered transactions; T := ⌈b/n⌉ of them chosen at random
//!           c := TPKE.Enc(pk, label = (session, e, i), encode(T))
//!           ACS.input(c)
//! upon ACS output {j ↦ c_j}:
//!           for each j: if c_j does not decode, carries another label, or fails its
//!                       well-formedness proof: fault(j), contribution_j := ∅
//!                       else: broadcast DecShare(j, TPKE.DecShare(sk_i, c_j))
//! upon f+1 shares for c_j:  contribution_j := decode(TPKE.Combine(c_j, shares))
//!                           (unverified shares first; on failure verify each, fault the bad)
//! upon every accepted contribution known:
//!           block_e := contributions in proposer order, each transaction kept only at its
//!                      first occurrence in the block and if not committed in the last
//!                      `dedup_epochs` epochs
//!           output block_e (epochs are output strictly in order)
//! ```
//!
//! *Input confidentiality*: a node computes a decryption share only for a ciphertext in the
//! ACS output, i.e. after the epoch's common set is fixed; the label binds a ciphertext to its
//! proposer and epoch, so a Byzantine node cannot replay an honest node's ciphertext as its own
//! to have it decrypted early (TDH2's CCA security).
//!
//! *Epochs in flight*: messages for epochs `e .. e + max_future_epochs` are processed at once
//! (so a slow node still echoes and votes for epochs the others already run); messages for
//! later epochs wait in a bounded per-peer buffer; messages for output epochs are dropped. A
//! node proposes for epoch `e` once `e − 1` is output and it has transactions or sees another
//! node working on `e`.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::batch::{Batch, Contribution};
use super::keys::NodeKeys;
use crate::codec;
use crate::crypto::elgamal::{Ciphertext, DecryptionShare, VerifiedCiphertext};
use crate::crypto::hash::{tagged_hash, Digest, Domain};
use crate::proto::aba::Aba;
use crate::proto::acs::{Acs, AcsError, AcsMessage, AcsOutput};
use crate::proto::rbc::{Rbc, RbcError, RbcMessage};
use crate::proto::{Fault, FaultKind, Protocol, Step, Target};
use crate::{NodeId, Params};

/// Tunables of a BEAT0 node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `b`: the target number of transactions per epoch over all proposers; each node
    /// proposes `⌈b/n⌉` chosen at random from the first `b` in its buffer.
    pub batch_size: usize,
    /// How many epochs beyond the current one are processed at once.
    pub max_future_epochs: u64,
    /// Messages per peer buffered for epochs beyond that window; more are dropped (a fault).
    pub max_future_messages: usize,
    /// Largest accepted transaction.
    pub max_tx_size: usize,
    /// Most transactions waiting in the buffer.
    pub max_buffered_txs: usize,
    /// A transaction committed within this many epochs is not committed again.
    pub dedup_epochs: u64,
    /// Largest encrypted proposal accepted from a broadcast.
    pub max_proposal_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
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

/// A BEAT0 message.
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
    /// Common-subset traffic (RBC and ABA).
    Acs(AcsMessage<RbcMessage>),
    /// A decryption share for proposer `proposer`'s ciphertext, with its DLEQ proof.
    DecShare {
        /// Whose ciphertext.
        proposer: NodeId,
        /// The share.
        share: DecryptionShare,
    },
}

/// Local misuse or refusal of an input.
#[derive(Debug, thiserror::Error)]
pub enum Beat0Error {
    /// A transaction larger than `max_tx_size`.
    #[error("transaction of {size} bytes exceeds the limit of {max}")]
    TransactionTooLarge { size: usize, max: usize },
    /// The buffer holds `max_buffered_txs` transactions already.
    #[error("transaction buffer full ({0} transactions)")]
    BufferFull(usize),
    /// An internal protocol error (a bug, never a peer's doing).
    #[error("common subset: {0}")]
    Acs(#[from] AcsError<RbcError>),
}

/// What the application feeds a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A client transaction for the buffer.
    Submit(Vec<u8>),
    /// Propose for the current epoch now, even with an empty buffer.
    Propose,
}

/// The decryption of one accepted proposal.
#[derive(Debug)]
struct Decryption {
    ct: VerifiedCiphertext,
    shares: BTreeMap<NodeId, DecryptionShare>,
    verified: Vec<bool>,
}

#[derive(Debug)]
struct Epoch {
    acs: Acs<Rbc>,
    proposed: bool,
    /// Accepted proposers, set at ACS output.
    accepted: Option<Vec<NodeId>>,
    /// Decryptions in progress for valid accepted ciphertexts.
    decryptions: BTreeMap<NodeId, Decryption>,
    /// Decrypted (or invalid → empty) contributions.
    contributions: BTreeMap<NodeId, Vec<Vec<u8>>>,
    /// Shares that arrived before our ACS output: (proposer, sender) → share.
    early_shares: BTreeMap<(NodeId, NodeId), DecryptionShare>,
}

impl Epoch {
    fn complete(&self) -> bool {
        self.accepted.as_ref().is_some_and(|a| a.iter().all(|j| self.contributions.contains_key(j)))
    }
}

type Beat0Step = Step<Message, Batch>;

/// A BEAT0 node: the sans-IO state machine of one committee member.
#[derive(Debug)]
pub struct Beat0 {
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
    /// Digests committed in recent epochs, oldest first.
    recent: VecDeque<(u64, Vec<Digest>)>,
    recent_set: HashSet<Digest>,
}

/// Protocol tag of proposal labels.
const PROPOSAL_PROTOCOL: &str = "BEAT0/proposal";

fn tx_digest(tx: &[u8]) -> Digest {
    tagged_hash("BEAT/tx", &[tx])
}

impl Beat0 {
    /// A node with the given keys and configuration, starting at epoch 0.
    pub fn new(keys: NodeKeys, config: Config) -> Self {
        let params = keys.public.params;
        Beat0 {
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

    /// The lowest epoch not yet output.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Add a transaction to the buffer without proposing yet (the proposal happens on the next
    /// input or message, or on [`Input::Propose`]). [`Input::Submit`] buffers and proposes at once
    /// if the node is idle.
    pub fn buffer_transaction(&mut self, tx: Vec<u8>) -> Result<(), Beat0Error> {
        self.submit(tx)
    }

    /// Transactions waiting in the buffer.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The label a proposer's ciphertext must carry.
    pub fn proposal_label(&self, epoch: u64, proposer: NodeId) -> Vec<u8> {
        let session = self.keys.public.session;
        Domain { protocol: PROPOSAL_PROTOCOL, session: &session, epoch, instance: proposer as u64 }.encode(&[])
    }

    fn epoch_state(&mut self, e: u64) -> &mut Epoch {
        let params = self.params;
        let me = self.keys.id;
        let session = self.keys.public.session;
        let max = self.config.max_proposal_bytes;
        let coin = self.keys.coin_keys();
        self.epochs.entry(e).or_insert_with(|| {
            let rbcs = params.nodes().map(|j| Rbc::new(params, me, j, e, max)).collect();
            let abas = params.nodes().map(|j| Aba::new(params, me, session, e, j, coin.clone())).collect();
            Epoch {
                acs: Acs::new(params, me, e, rbcs, abas),
                proposed: false,
                accepted: None,
                decryptions: BTreeMap::new(),
                contributions: BTreeMap::new(),
                early_shares: BTreeMap::new(),
            }
        })
    }

    fn submit(&mut self, tx: Vec<u8>) -> Result<(), Beat0Error> {
        if tx.len() > self.config.max_tx_size {
            return Err(Beat0Error::TransactionTooLarge { size: tx.len(), max: self.config.max_tx_size });
        }
        let d = tx_digest(&tx);
        if self.buffered.contains(&d) || self.recent_set.contains(&d) {
            return Ok(());
        }
        if self.buffer.len() >= self.config.max_buffered_txs {
            return Err(Beat0Error::BufferFull(self.buffer.len()));
        }
        self.buffered.insert(d);
        self.buffer.push_back((d, tx));
        Ok(())
    }

    /// Propose for the current epoch if we have not and there is a reason to.
    fn maybe_propose(&mut self, force: bool, rng: &mut dyn rand_core::CryptoRngCore) -> Result<Beat0Step, Beat0Error> {
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
        let label = self.proposal_label(e, self.keys.id);
        let ct = self.keys.public.encryption.encrypt(&label, &plaintext, &mut &mut *rng);
        let value = codec::encode(&ct);
        let state = self.epoch_state(e);
        state.proposed = true;
        let acs_step = state.acs.handle_input(value, rng)?;
        self.handle_acs_step(e, acs_step, rng)
    }

    fn handle_acs_step(
        &mut self,
        e: u64,
        acs_step: Step<AcsMessage<RbcMessage>, AcsOutput>,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Beat0Step, Beat0Error> {
        let mut step = Step::new();
        let outputs = step.lift(acs_step, |m| Message { epoch: e, content: Content::Acs(m) });
        for out in outputs {
            step.extend(self.on_acs_output(e, out, rng));
        }
        Ok(step)
    }

    /// The epoch's common set is fixed: check the ciphertexts and release our shares.
    fn on_acs_output(&mut self, e: u64, out: AcsOutput, rng: &mut dyn rand_core::CryptoRngCore) -> Beat0Step {
        let mut step = Step::new();
        let me = self.keys.id;
        let max = self.config.max_proposal_bytes;
        let mut checked = Vec::new();
        for (j, bytes) in out {
            let label = self.proposal_label(e, j);
            let verified = codec::decode::<Ciphertext>(&bytes, max)
                .ok()
                .filter(|ct| ct.label == label)
                .and_then(|ct| self.keys.public.encryption.verify_ciphertext(ct).ok());
            checked.push((j, verified));
        }
        let secret = self.keys.decryption_secret.clone();
        let n = self.params.n;
        let state = self.epoch_state(e);
        state.accepted = Some(checked.iter().map(|(j, _)| *j).collect());
        for (j, verified) in checked {
            let Some(ct) = verified else {
                step.faults.push(Fault { node: j, kind: FaultKind::MalformedCiphertext });
                state.contributions.insert(j, Vec::new());
                continue;
            };
            let share = secret.decrypt_share(&ct, &mut &mut *rng);
            step.send(Target::All, Message { epoch: e, content: Content::DecShare { proposer: j, share } });
            let mut d = Decryption { ct, shares: BTreeMap::new(), verified: vec![false; n] };
            d.shares.insert(me, share);
            d.verified[me] = true;
            state.decryptions.insert(j, d);
        }
        let early = std::mem::take(&mut state.early_shares);
        for ((j, from), share) in early {
            step.extend(self.handle_share(e, from, j, share));
        }
        let proposers: Vec<NodeId> = self.epoch_state(e).decryptions.keys().copied().collect();
        for j in proposers {
            step.extend(self.try_decrypt(e, j));
        }
        step
    }

    fn handle_share(&mut self, e: u64, from: NodeId, proposer: NodeId, share: DecryptionShare) -> Beat0Step {
        let state = self.epoch_state(e);
        if state.accepted.is_none() {
            // Before our ACS output: keep one share per (proposer, sender); bounded by n².
            state.early_shares.entry((proposer, from)).or_insert(share);
            return Step::new();
        }
        let Some(d) = state.decryptions.get_mut(&proposer) else {
            if state.contributions.contains_key(&proposer) {
                return Step::new(); // already decrypted, or invalid (faulted once already)
            }
            return Step::fault(from, FaultKind::UnexpectedDecryptionShare);
        };
        d.shares.entry(from).or_insert(share);
        self.try_decrypt(e, proposer)
    }

    /// Combine `f + 1` shares, unverified first; verify one by one only if that fails.
    fn try_decrypt(&mut self, e: u64, j: NodeId) -> Beat0Step {
        let mut step = Step::new();
        let needed = self.params.f + 1;
        let pk = self.keys.public.encryption.clone();
        let (max_bytes, max_tx) = (self.config.max_proposal_bytes, self.config.max_tx_size);
        let max_txs = self.config.batch_size.max(1) * 4;
        let state = self.epoch_state(e);
        let Some(d) = state.decryptions.get_mut(&j) else { return step };
        if d.shares.len() < needed {
            return step;
        }
        let mut chosen: Vec<(NodeId, DecryptionShare)> =
            d.shares.iter().filter(|(k, _)| d.verified[**k]).map(|(k, s)| (*k, *s)).collect();
        chosen.extend(d.shares.iter().filter(|(k, _)| !d.verified[**k]).map(|(k, s)| (*k, *s)));
        chosen.truncate(needed);
        let mut result = pk.combine(&d.ct, &chosen);
        if result.is_err() {
            let unverified: Vec<NodeId> = d.shares.keys().copied().filter(|k| !d.verified[*k]).collect();
            for k in unverified {
                if pk.verify_share(k, &d.ct, &d.shares[&k]) {
                    d.verified[k] = true;
                } else {
                    d.shares.remove(&k);
                    step.faults.push(Fault { node: k, kind: FaultKind::InvalidDecryptionShare });
                }
            }
            if d.shares.len() < needed {
                return step;
            }
            let chosen: Vec<_> = d.shares.iter().take(needed).map(|(k, s)| (*k, *s)).collect();
            result = pk.combine(&d.ct, &chosen);
        }
        // With f+1 verified shares a failure is the proposer's: its payload does not open.
        let contribution = match result {
            Ok(plaintext) => match Contribution::decode(&plaintext, max_bytes, max_txs, max_tx) {
                Ok(txs) => txs,
                Err(_) => {
                    step.faults.push(Fault { node: j, kind: FaultKind::MalformedBatch });
                    Vec::new()
                }
            },
            Err(_) => {
                step.faults.push(Fault { node: j, kind: FaultKind::MalformedCiphertext });
                Vec::new()
            }
        };
        state.decryptions.remove(&j);
        state.contributions.insert(j, contribution);
        step
    }

    /// Output every complete epoch in order.
    fn try_commit(&mut self, rng: &mut dyn rand_core::CryptoRngCore) -> Result<Beat0Step, Beat0Error> {
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
                for tx in contributions.remove(j).unwrap_or_default() {
                    let d = tx_digest(&tx);
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
    ) -> Result<Beat0Step, Beat0Error> {
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
            Content::DecShare { proposer, share } => {
                if proposer >= self.params.n {
                    return Ok(Step::fault(from, FaultKind::OutOfRange));
                }
                Ok(self.handle_share(e, from, proposer, share))
            }
        }
    }

    fn finish(&mut self, mut step: Beat0Step, rng: &mut dyn rand_core::CryptoRngCore) -> Result<Beat0Step, Beat0Error> {
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

impl Protocol for Beat0 {
    type Input = Input;
    type Message = Message;
    type Output = Batch;
    type Error = Beat0Error;

    fn handle_input(&mut self, input: Input, rng: &mut dyn rand_core::CryptoRngCore) -> Result<Beat0Step, Beat0Error> {
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
    ) -> Result<Beat0Step, Beat0Error> {
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
