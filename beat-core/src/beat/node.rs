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
//! upon f+1 share lists for j:  verify lists (lowest sender first; our own list counts as
//!               verified when our key share matches the public key) until f+1 verify, faulting
//!               the senders of bad ones; decrypt each c in C_j with TPKE.Combine of verified shares
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
//! later epochs wait in one buffer, in arrival order, with a byte budget per peer; messages for
//! output epochs are dropped. When the window moves, the buffered messages that entered it are
//! processed in arrival order: exactly the order in which a node restarted at a later epoch
//! (from a checkpoint) processes the same messages when it replays them, so both reach the same
//! state and send the same messages. A node proposes for epoch `e` once `e − 1` is output and it
//! has transactions or sees another node working on `e`.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::batch::{Batch, ClientTxId, Contribution, StoredValue};
use super::client::{ClientTransaction, ClientTxError};
use super::keys::NodeKeys;
use super::replay::{ClientWindows, ClientWindowsState};
use super::settings::Settings;
use super::store::{FragmentStore, MemFragmentStore, ValueId};
use super::Variant;
use crate::codec;
use crate::crypto::elgamal::{Ciphertext, DecryptionShares, VerifiedCiphertext, VerifiedShares};
use crate::crypto::fpc::{ChunkProof, CrossChecksum, RowProof};
use crate::crypto::hash::{tagged_hash, Digest, Domain};
use crate::proto::aba::Aba;
use crate::proto::acs::{Acs, AcsError, AcsMessage, AcsOutput};
use crate::proto::avid::Avid;
use crate::proto::avid_fp::{fpc_context, AvidFp, DispersalCode};
use crate::proto::broadcast::{Broadcast, BroadcastError, BroadcastMessage};
use crate::proto::rbc::Rbc;
use crate::proto::{Fault, FaultKind, Protocol, Step, Target};
use crate::{NodeId, Params, SessionId};

/// A node's local tunables: what does not decide validity, so members may differ. (What does
/// — variant, batch size, size limits, the de-duplication window — is the committee's
/// [`Settings`], carried by the keys.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How many epochs beyond the current one are processed at once.
    pub max_future_epochs: u64,
    /// Bytes (encoded) per peer buffered for epochs beyond that window; more are dropped. The
    /// node runtime enforces its own, tighter budget before its write-ahead log; this one bounds a
    /// bare `Beat`.
    pub max_future_bytes: usize,
    /// Most transactions waiting in the buffer.
    pub max_buffered_txs: usize,
    /// Bytes of buffered transactions at most (what a flood of large client transactions can
    /// make the node hold, and copy into each checkpoint).
    pub max_buffered_bytes: usize,
    /// BEAT3/4: cross-checksums of committed values kept for reads, in epochs (`u64::MAX`:
    /// all, for a runtime that prunes itself with [`Beat::prune_values`]; `BeatNode` does,
    /// asking the application which values to keep).
    pub retain_epochs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_future_epochs: 3,
            max_future_bytes: 64 << 20,
            max_buffered_txs: 200_000,
            max_buffered_bytes: 256 << 20,
            retain_epochs: 4096,
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

impl Message {
    /// Whether this is read traffic (BEAT3/4 read requests and answers), which never moves
    /// consensus and need not be logged.
    pub fn is_read(&self) -> bool {
        matches!(self.content, Content::ReadRequest { .. } | Content::ReadResponse { .. })
    }
}

/// The content of a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// Common-subset traffic (broadcast and ABA).
    Acs(AcsMessage<BroadcastMessage>),
    /// The sender's decryption shares for the valid ciphertexts of `proposer`'s accepted
    /// proposal, in order (one for BEAT0/1; one per valid client transaction for BEAT2), with
    /// one batched DLEQ proof bound to (session, epoch, proposer).
    DecShares {
        /// Whose proposal.
        proposer: NodeId,
        /// The shares and their proof.
        shares: DecryptionShares,
    },
    /// BEAT3/4: a request for the recipient's fragment of `(epoch, proposer)` — all of it, or
    /// chunks `first..end` with their proofs. `read` names the reader's request.
    ReadRequest {
        /// The reader's request number.
        read: u64,
        /// Whose value.
        proposer: NodeId,
        /// Chunk range `(first, end)`, or the whole fragment.
        chunks: Option<(u32, u32)>,
    },
    /// BEAT3/4: the answer to a [`Content::ReadRequest`]; `data` is `None` when the sender
    /// holds no fragment.
    ReadResponse {
        /// The reader's request number.
        read: u64,
        /// Whose value.
        proposer: NodeId,
        /// The chunk range answered, or the whole fragment.
        chunks: Option<(u32, u32)>,
        /// What the sender holds of it; `None` when it holds no fragment.
        data: Option<ReadData>,
    },
}

/// A holder's answer to a read: its fragment, or chunks of it, with what proves them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadData {
    /// The fragment, or the chunks' bytes, concatenated.
    pub bytes: serde_bytes::ByteBuf,
    /// BEAT4, whole fragment: the row-fingerprint table it is checked against.
    pub rows: Option<serde_bytes::ByteBuf>,
    /// Chunks: one Merkle proof per chunk, to the committed fragment.
    pub proofs: Vec<ChunkProof>,
    /// Chunks: each chunk's row fingerprints, with their proof to the committed table.
    pub row_proofs: Vec<RowProof>,
}

/// Local misuse or refusal of an input.
#[derive(Debug, thiserror::Error)]
pub enum BeatError {
    /// A transaction larger than `max_tx_size`.
    #[error("transaction of {size} bytes exceeds the limit of {max}")]
    TransactionTooLarge { size: usize, max: usize },
    /// The buffer holds `max_buffered_txs` transactions already, or `max_buffered_bytes`
    /// would be exceeded.
    #[error("transaction buffer full ({0} transactions)")]
    BufferFull(usize),
    /// BEAT2: the submitted bytes are not a valid client transaction.
    #[error("invalid client transaction: {0}")]
    InvalidClientTransaction(#[from] ClientTxError),
    /// An internal protocol error (a bug, never a peer's doing).
    #[error("common subset: {0}")]
    Acs(#[from] AcsError<BroadcastError>),
    /// BEAT2: this client's `(client, seq)` was committed already (or is too old to tell).
    #[error("client {client}'s transaction {seq} was committed already, or is older than its replay window")]
    ReplayedClientTransaction {
        /// The client.
        client: u64,
        /// Its sequence number.
        seq: u64,
    },
    /// `fast_forward` was given a batch that cannot be a committed one.
    #[error("catch-up batch: {0}")]
    MalformedCatchUp(&'static str),
    /// `fast_forward` was given a batch for another epoch than the current one.
    #[error("catch-up batch for epoch {got}, but the node is at epoch {current}")]
    NotCurrentEpoch {
        /// The batch's epoch.
        got: u64,
        /// The node's epoch.
        current: u64,
    },
}

/// What the application feeds a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A transaction for the buffer: the plaintext for BEAT0/1, an encoded
    /// [`ClientTransaction`] (from [`super::client::Client::encrypt`]) for BEAT2.
    Submit(Vec<u8>),
    /// Propose for the current epoch now, even with an empty buffer.
    Propose,
    /// BEAT3/4: read a committed value, or bytes `range` of it, from the nodes' fragments.
    Read {
        /// Which value.
        id: ValueId,
        /// A byte range of the value, or all of it.
        range: Option<Range<u64>>,
    },
    /// BEAT3/4: the driver's read timer fired: ask every holder not yet asked (a holder may be
    /// silent; the protocol has no clock of its own).
    RetryReads,
    /// BEAT3/4: rebuild this node's own fragment of `id` from its peers' verified fragments
    /// and keep it (a node that missed the dispersal, caught up by `fast_forward`, lost its
    /// disk, or whose stored fragment no longer verifies). The outcome is an
    /// [`Output::Repaired`]; [`Input::RetryReads`] drives it like a read.
    Repair {
        /// Which value.
        id: ValueId,
    },
}

/// What a node needs to resume right after a committed epoch without replaying its history:
/// the next epoch, the buffered transactions and the de-duplication window. Taken with
/// [`Beat::checkpoint`] between inputs, restored with [`Beat::resume`]. BEAT3/4: with the
/// cross-checksums of the values committed in the last `retain_epochs` epochs (what reads are
/// verified against); the fragments themselves are in the [`FragmentStore`], which must be
/// durable for reads to survive a restart from a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The lowest epoch not yet committed.
    pub epoch: u64,
    /// Buffered transactions, in buffer order.
    pub buffer: Vec<serde_bytes::ByteBuf>,
    /// Per recent epoch, the committed identities (32-byte digests, concatenated).
    pub recent: Vec<(u64, serde_bytes::ByteBuf)>,
    /// BEAT2: every tracked client's replay window.
    #[serde(default)]
    pub clients: ClientWindowsState,
    /// BEAT3/4: the committed cross-checksums kept for reads, by (epoch, proposer).
    #[serde(default)]
    pub checksums: Vec<(u64, NodeId, CrossChecksum)>,
    /// The transactions of this node's proposal for `epoch`, if it had proposed when the
    /// checkpoint was taken (`Some(vec![])` for an empty proposal). The log a node replays
    /// after a checkpoint starts *after* the record that made that proposal, so the proposal
    /// cannot be re-derived from the log: a node resuming from the checkpoint makes exactly
    /// this proposal again, before any replayed input (a replayed submit would otherwise
    /// change what it proposes: a second, different proposal for one epoch is equivocation).
    #[serde(default)]
    pub proposed: Option<Vec<serde_bytes::ByteBuf>>,
    /// The node runtime's log record after which the checkpoint was taken (set by
    /// [`crate::node::NodeCore`]). Client transactions of that record and earlier ones are in
    /// `buffer` (or committed, or refused), so a replay from the checkpoint must not submit
    /// them again: on the state after the checkpoint one that was refused or de-duplicated at
    /// the time could be taken, and change a later proposal.
    #[serde(default)]
    pub record: Option<u64>,
}

/// What a node outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// A committed epoch.
    Batch(Batch),
    /// A finished read.
    Read(ReadOutcome),
    /// A finished repair.
    Repaired(RepairOutcome),
    /// BEAT3/4: a value this node dispersed was committed; where its transactions lie in it
    /// (output with, and before, the epoch's [`Output::Batch`]).
    Stored(OwnValue),
}

/// BEAT3/4: this node's own committed value and the transactions in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnValue {
    /// The value.
    pub id: ValueId,
    /// Each transaction's digest ([`transaction_digest`]) and its bytes' range in the value
    /// (what [`Input::Read`] with that range returns).
    pub transactions: Vec<([u8; 32], Range<u64>)>,
}

/// The digest a node keeps of a transaction (see [`OwnValue`]).
pub fn transaction_digest(tx: &[u8]) -> [u8; 32] {
    tx_digest(tx)
}

fn own_value(epoch: u64, me: NodeId, own: &[Digest], layout: &[Range<u64>]) -> Output {
    Output::Stored(OwnValue {
        id: ValueId { epoch, proposer: me },
        transactions: own.iter().copied().zip(layout.iter().cloned()).collect(),
    })
}

/// The result of an [`Input::Repair`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairOutcome {
    /// The repair's number (repairs share the numbering of reads).
    pub read: u64,
    /// Which value.
    pub id: ValueId,
    /// The bytes of the rebuilt fragment now kept, or why there is none.
    pub result: Result<u64, ReadError>,
    /// Holders asked.
    pub nodes_contacted: usize,
    /// Bytes of fragments and proofs received.
    pub bytes_fetched: u64,
}

/// What [`Beat::check_own`] found in the fragment store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnFragment {
    /// A fragment that verifies against the committed cross-checksum; its bytes.
    Good(u64),
    /// No fragment (or a record that does not decode).
    Missing,
    /// A fragment that does not verify: damaged since it was stored.
    Bad,
    /// The value's cross-checksum is not kept here: nothing to check against.
    Unknown,
}

/// The result of an [`Input::Read`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOutcome {
    /// The read's number (reads are numbered from 0 per node, in input order).
    pub read: u64,
    /// Which value.
    pub id: ValueId,
    /// The range asked for.
    pub range: Option<Range<u64>>,
    /// The bytes, or why there are none.
    pub result: Result<Vec<u8>, ReadError>,
    /// Holders read from or asked, this node included when it holds a fragment it used.
    pub nodes_contacted: usize,
    /// Bytes of fragments, chunks and proofs used or received (this node's own fragment included).
    pub bytes_fetched: u64,
}

/// Why a read returned no bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not a committed value this node remembers (never committed, or older than `retain_epochs`).
    #[error("no committed value {0:?} is known here")]
    Unknown(ValueId),
    /// The range lies outside the value's fragments.
    #[error("range out of bounds")]
    OutOfBounds,
    /// Every holder was asked and too few gave a fragment that verifies.
    #[error("not enough verified fragments")]
    Unavailable,
    /// This variant stores no fragments.
    #[error("this variant does not disperse values")]
    NotDispersed,
    /// Repair: the committed cross-checksum matches no fragment of the value at this node's
    /// index (its disperser committed to bytes that are not part of the codeword): there is
    /// nothing this node could hold, and reads do not need it.
    #[error("the committed cross-checksum admits no fragment at this index")]
    Unrepairable,
}

/// The decryption of one accepted proposal's ciphertexts.
#[derive(Debug)]
struct Decryption {
    cts: Vec<VerifiedCiphertext>,
    /// BEAT2: each ciphertext's `(client, seq)` identity.
    ids: Vec<Option<ClientTxId>>,
    /// Share lists not yet checked (the right length, checked on arrival), by sender.
    unverified: BTreeMap<NodeId, DecryptionShares>,
    /// Share lists whose proof verified, by sender: the only ones ever combined.
    verified: BTreeMap<NodeId, VerifiedShares>,
    /// Senders whose list failed its proof (faulted once; later lists ignored).
    rejected: BTreeSet<NodeId>,
    /// Per ciphertext: `None` pending, `Some(None)` does not open, `Some(Some(p))` opened.
    plaintexts: Vec<Option<Option<Vec<u8>>>>,
}

/// One decrypted (or plain) transaction of a contribution.
#[derive(Debug)]
struct Entry {
    /// What the BEAT0/1 window and the buffer key it by (for BEAT2 the digest of its identity).
    digest: Digest,
    /// BEAT2: the client's `(client, seq)`.
    client: Option<ClientTxId>,
    tx: Vec<u8>,
}

#[derive(Debug)]
struct Epoch {
    acs: Acs<Broadcast>,
    proposed: bool,
    /// Accepted proposers, set at ACS output.
    accepted: Option<Vec<NodeId>>,
    /// Decryptions in progress.
    decryptions: BTreeMap<NodeId, Decryption>,
    /// Finished contributions (invalid → empty).
    contributions: BTreeMap<NodeId, Vec<Entry>>,
    /// Share lists that arrived before our ACS output: (proposer, sender) → shares.
    early_shares: BTreeMap<(NodeId, NodeId), DecryptionShares>,
    /// BEAT3/4: the agreed cross-checksums.
    checksums: BTreeMap<NodeId, CrossChecksum>,
    /// Digests of the transactions we proposed (BEAT3/4 commit them without reading them).
    own: Vec<Digest>,
    /// The transactions we proposed (for [`Checkpoint::proposed`]).
    own_txs: Vec<Vec<u8>>,
    /// BEAT3/4: where each of them lies in the value we dispersed.
    own_layout: Vec<Range<u64>>,
    /// BEAT3/4: the cross-checksum digest of the value we dispersed (a value committed in our
    /// name is ours only if it has this digest: after a restart from a stale log the committee
    /// may have committed an earlier proposal of ours than the one we just made).
    own_digest: Option<[u8; 32]>,
}

impl Epoch {
    fn complete(&self) -> bool {
        self.accepted.as_ref().is_some_and(|a| a.iter().all(|j| self.contributions.contains_key(j)))
    }
}

type BeatStep = Step<Message, Output>;

/// A BEAT node: the sans-IO state machine of one committee member.
#[derive(Debug)]
pub struct Beat {
    params: Params,
    keys: NodeKeys,
    /// The committee's settings (from the keys).
    settings: Settings,
    config: Config,
    /// The lowest epoch not yet output.
    epoch: u64,
    epochs: BTreeMap<u64, Epoch>,
    /// Messages for epochs beyond the window, in arrival order: (sender, message, its bytes).
    future: VecDeque<(NodeId, Message, usize)>,
    /// Bytes buffered in `future` per sender.
    future_bytes: Vec<usize>,
    /// Transactions waiting to be proposed, with their digests.
    buffer: VecDeque<(Digest, Vec<u8>)>,
    /// Bytes of the transactions in `buffer`.
    buffer_bytes: usize,
    buffered: HashSet<Digest>,
    /// Identities committed in recent epochs, oldest first.
    recent: VecDeque<(u64, Vec<Digest>)>,
    recent_set: HashSet<Digest>,
    /// BEAT2: the per-client replay windows (`(client, seq)` at most once, ever).
    clients: ClientWindows,
    /// Key of the randomness derived per epoch (proposals, decryption-share proofs).
    nonce_key: zeroize::Zeroizing<[u8; 32]>,
    /// BEAT3/4: the dispersal code, the fragment store, committed cross-checksums and reads.
    code: Option<Arc<DispersalCode>>,
    store: Box<dyn FragmentStore>,
    checksums: BTreeMap<ValueId, CrossChecksum>,
    reads: BTreeMap<u64, PendingRead>,
    /// BEAT3/4: committed values this node holds no fragment of (it missed or could not verify
    /// the dispersal, or took the epoch by catch-up), for the runtime's repair
    /// ([`Beat::take_missing`]).
    missing: Vec<ValueId>,
    next_read: u64,
    /// Read requests for epochs we have not committed yet, answered once we have. Bounded by
    /// `MAX_DEFERRED_READS` per peer.
    deferred_reads: Vec<DeferredRead>,
    /// The proposal a checkpoint we resumed from recorded ([`Checkpoint::proposed`]), made
    /// again before the next input or message.
    resumed_proposal: Option<Vec<Vec<u8>>>,
}

/// A read request waiting for its epoch to commit here.
#[derive(Debug, Clone, Copy)]
struct DeferredRead {
    from: NodeId,
    epoch: u64,
    read: u64,
    proposer: NodeId,
    chunks: Option<(u32, u32)>,
}

/// Bytes of a proposal that are not its transactions' (the batch's framing, the ciphertext's
/// points, proof, label and tag).
const PROPOSAL_ROOM: usize = 1024;

/// Read requests per peer kept until the epoch they ask about commits here.
const MAX_DEFERRED_READS: usize = 64;

/// How a read proceeds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReadPlan {
    /// Collect `need` whole fragments that verify, decode, and cut out the range.
    Full,
    /// Fetch chunks `chunks` of data fragment `target` (bytes `cut` of their concatenation are
    /// the answer) from its holder, or repair them from its pyramid group.
    Range { target: NodeId, chunks: (u32, u32), cut: Range<usize>, group: Vec<NodeId> },
}

#[derive(Debug)]
struct PendingRead {
    id: ValueId,
    range: Option<Range<u64>>,
    plan: ReadPlan,
    /// The order in which holders are asked (random, so no holder is always asked first).
    order: Vec<NodeId>,
    /// Full reads: verified fragments to collect before trying to decode (`k`, raised when a
    /// pyramid-coded set does not span the data).
    want: usize,
    asked: BTreeSet<NodeId>,
    failed: BTreeSet<NodeId>,
    /// Verified fragments (Full) or verified chunk bytes (Range), by holder.
    got: BTreeMap<NodeId, Vec<u8>>,
    bytes_fetched: u64,
    /// A repair of our own fragment rather than a read for a caller.
    repair: bool,
    /// BEAT4 repairs: the row table of a verified answer (checked against the committed root).
    rows: Option<Vec<u8>>,
}

/// Protocol tag of proposal labels.
const PROPOSAL_PROTOCOL: &str = "BEAT/proposal";

/// The label proposer `proposer`'s ciphertext for `epoch` must carry (BEAT0/1).
pub fn proposal_label(session: &SessionId, epoch: u64, proposer: NodeId) -> Vec<u8> {
    Domain { protocol: PROPOSAL_PROTOCOL, session, epoch, instance: proposer as u64 }.encode(&[])
}

/// Protocol tag of the context decryption shares are bound to.
const SHARES_PROTOCOL: &str = "BEAT/decryption-shares";

/// What proposer `proposer`'s decryption shares in `epoch` are bound to (with each ciphertext).
pub fn shares_context(session: &SessionId, epoch: u64, proposer: NodeId) -> Vec<u8> {
    Domain { protocol: SHARES_PROTOCOL, session, epoch, instance: proposer as u64 }.encode(&[])
}

/// A ChaCha20 stream keyed by `H(nonce_key, purpose, epoch, extra)`.
fn nonce_rng(nonce_key: &[u8; 32], purpose: &str, epoch: u64, extra: &[u8]) -> rand_chacha::ChaCha20Rng {
    let seed = tagged_hash("BEAT/node/derived-rng", &[nonce_key, purpose.as_bytes(), &epoch.to_le_bytes(), extra]);
    <rand_chacha::ChaCha20Rng as rand::SeedableRng>::from_seed(seed)
}

fn tx_digest(tx: &[u8]) -> Digest {
    tagged_hash("BEAT/tx", &[tx])
}

impl Beat {
    /// A node with the given keys and configuration, starting at epoch 0.
    pub fn new(keys: NodeKeys, config: Config) -> Self {
        let params = keys.public.params;
        let nonce_key = zeroize::Zeroizing::new(tagged_hash(
            "BEAT/node/nonce-key",
            &[&keys.decryption_secret.to_bytes()[..], &keys.coin_secret.to_bytes()[..]],
        ));
        let settings = keys.public.settings.clone();
        let variant = settings.variant;
        Beat {
            params,
            keys,
            settings,
            config,
            epoch: 0,
            epochs: BTreeMap::new(),
            future: VecDeque::new(),
            future_bytes: vec![0; params.n],
            buffer: VecDeque::new(),
            buffer_bytes: 0,
            buffered: HashSet::new(),
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
            clients: ClientWindows::default(),
            nonce_key,
            code: match variant {
                // `Params` guarantees n ≥ 3f + 1, so both codes exist.
                Variant::Beat3 => Some(Arc::new(DispersalCode::reed_solomon(params).expect("valid params"))),
                Variant::Beat4 => Some(Arc::new(DispersalCode::pyramid(params).expect("valid params"))),
                _ => None,
            },
            store: Box::new(MemFragmentStore::default()),
            checksums: BTreeMap::new(),
            reads: BTreeMap::new(),
            missing: Vec::new(),
            next_read: 0,
            deferred_reads: Vec::new(),
            resumed_proposal: None,
        }
    }

    /// The state to resume from after the epochs committed so far (see [`Checkpoint`]).
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            epoch: self.epoch,
            buffer: self.buffer.iter().map(|(_, tx)| serde_bytes::ByteBuf::from(tx.clone())).collect(),
            recent: self.recent.iter().map(|(e, ds)| (*e, serde_bytes::ByteBuf::from(ds.concat()))).collect(),
            clients: self.clients.state(),
            checksums: self.checksums.iter().map(|(id, cc)| (id.epoch, id.proposer, cc.clone())).collect(),
            proposed: self
                .resumed_proposal
                .as_ref()
                .or_else(|| self.epochs.get(&self.epoch).filter(|s| s.proposed).map(|s| &s.own_txs))
                .map(|txs| txs.iter().map(|tx| serde_bytes::ByteBuf::from(tx.clone())).collect()),
            record: None,
        }
    }

    /// A node resuming from `checkpoint`: its protocol state for epochs from
    /// `checkpoint.epoch` on is rebuilt by feeding it the messages of those epochs again.
    /// Proposals and decryption shares use randomness derived from the node's secret and the
    /// epoch, so the rebuilt node sends exactly what it sent before. A proposal the checkpoint
    /// recorded ([`Checkpoint::proposed`]) is made again first thing: on the next input or
    /// message, or [`Beat::resume_proposal`].
    pub fn resume(keys: NodeKeys, config: Config, checkpoint: &Checkpoint) -> Self {
        let mut beat = Beat::new(keys, config);
        beat.epoch = checkpoint.epoch;
        for (e, ds) in &checkpoint.recent {
            let digests: Vec<Digest> = ds.chunks_exact(32).filter_map(|c| c.try_into().ok()).collect();
            beat.recent_set.extend(digests.iter().copied());
            beat.recent.push_back((*e, digests));
        }
        beat.clients = ClientWindows::restore(&checkpoint.clients);
        beat.checksums =
            checkpoint.checksums.iter().map(|(e, p, cc)| (ValueId { epoch: *e, proposer: *p }, cc.clone())).collect();
        // The buffer exactly as it was (not re-checked: a BEAT2 transaction that went stale
        // meanwhile still holds its place, as it did before the restart, so the next
        // proposal draws from the same window).
        for tx in &checkpoint.buffer {
            let d = beat.buffer_key(tx);
            if beat.buffered.insert(d) {
                beat.buffer_bytes += tx.len();
                beat.buffer.push_back((d, tx.to_vec()));
            }
        }
        beat.resumed_proposal = checkpoint.proposed.as_ref().map(|txs| txs.iter().map(|tx| tx.to_vec()).collect());
        beat
    }

    /// Make the proposal the checkpoint this node resumed from recorded, if it is not made
    /// yet (every input and message does this first; a runtime calls it once its log is
    /// replayed, so a node whose log ended at the checkpoint still re-sends its proposal).
    pub fn resume_proposal(&mut self, rng: &mut dyn rand_core::CryptoRngCore) -> Result<BeatStep, BeatError> {
        let Some(txs) = self.resumed_proposal.take() else { return Ok(Step::new()) };
        if self.epochs.get(&self.epoch).is_some_and(|s| s.proposed) {
            return Ok(Step::new());
        }
        let own = txs.iter().map(|tx| self.buffer_key(tx)).collect();
        self.propose(txs, own, rng)
    }

    fn derived_rng(&self, purpose: &str, epoch: u64, extra: &[u8]) -> rand_chacha::ChaCha20Rng {
        nonce_rng(&self.nonce_key, purpose, epoch, extra)
    }

    /// A node that keeps its BEAT3/4 fragments in `store`.
    pub fn with_fragment_store(keys: NodeKeys, config: Config, store: Box<dyn FragmentStore>) -> Self {
        Beat { store, ..Self::new(keys, config) }
    }

    /// Keep BEAT3/4 fragments in `store` from now on (a node resumed from a checkpoint gets
    /// its durable store back this way, before any input).
    pub fn set_fragment_store(&mut self, store: Box<dyn FragmentStore>) {
        self.store = store;
    }

    /// Forget the cross-checksums of values older than `retain_epochs` before `epoch`.
    fn prune_checksums(&mut self, epoch: u64) {
        let horizon = epoch.saturating_sub(self.config.retain_epochs);
        while self.checksums.first_key_value().is_some_and(|(id, _)| id.epoch < horizon) {
            self.checksums.pop_first();
        }
    }

    /// The number the next [`Input::Read`] will get (its [`ReadOutcome::read`]).
    pub fn next_read(&self) -> u64 {
        self.next_read
    }

    /// The fragment store.
    pub fn fragment_store(&self) -> &dyn FragmentStore {
        self.store.as_ref()
    }

    /// The cross-checksum committed for `id`, if remembered.
    pub fn committed_checksum(&self, id: ValueId) -> Option<&CrossChecksum> {
        self.checksums.get(&id)
    }

    /// BEAT3/4: the dispersal code.
    pub fn dispersal_code(&self) -> Option<&DispersalCode> {
        self.code.as_deref()
    }

    /// Reads in progress.
    pub fn pending_reads(&self) -> usize {
        self.reads.len()
    }

    /// This node's id.
    pub fn our_id(&self) -> NodeId {
        self.keys.id
    }

    /// The variant this node runs.
    pub fn variant(&self) -> Variant {
        self.settings.variant
    }

    /// The lowest epoch not yet output.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether [`Input::Submit`] would accept `tx` now (size, buffer room; BEAT2: a valid client
    /// transaction that is not a replay), without changing anything: what a node runtime checks
    /// before logging a client's transaction.
    pub fn check_submit(&self, tx: &[u8]) -> Result<(), BeatError> {
        if tx.len() > self.settings.max_tx_size {
            return Err(BeatError::TransactionTooLarge { size: tx.len(), max: self.settings.max_tx_size });
        }
        if self.buffer.len() >= self.config.max_buffered_txs
            || self.buffer_bytes + tx.len() > self.config.max_buffered_bytes
        {
            return Err(BeatError::BufferFull(self.buffer.len()));
        }
        if self.settings.variant.client_encrypted() {
            let ctx = ClientTransaction::decode(tx, self.settings.max_tx_size)?;
            let id = ctx.id();
            if !self.clients.fresh(id) {
                return Err(BeatError::ReplayedClientTransaction { client: id.client, seq: id.seq });
            }
            ctx.verify(&self.keys.public)?;
        }
        Ok(())
    }

    /// Add a transaction to the buffer without proposing yet (the proposal happens on the next
    /// input or message, or on [`Input::Propose`]). [`Input::Submit`] buffers and proposes at once
    /// if the node is idle.
    pub fn buffer_transaction(&mut self, tx: Vec<u8>) -> Result<(), BeatError> {
        self.submit(tx)
    }

    /// Put `tx` in the buffer without any check (a Byzantine proposer's choice, for tests).
    #[cfg(test)]
    pub(crate) fn force_buffer_for_test(&mut self, tx: Vec<u8>) {
        let d = if self.settings.variant.client_encrypted() {
            ClientTransaction::decode(&tx, usize::MAX).map(|c| c.identity()).unwrap_or_else(|_| tx_digest(&tx))
        } else {
            tx_digest(&tx)
        };
        self.buffered.insert(d);
        self.buffer_bytes += tx.len();
        self.buffer.push_back((d, tx));
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
        let (params, me, max) = (self.params, self.keys.id, self.settings.max_proposal_bytes);
        match self.settings.variant {
            Variant::Beat0 => Broadcast::Rbc(Rbc::new(params, me, proposer, e, max)),
            Variant::Beat1 | Variant::Beat2 => {
                // `Params` guarantees n ≥ 3f + 1, so k = n − 2f ≥ f + 1 ≥ 1 and the code exists.
                Broadcast::Avid(Avid::new(params, me, proposer, e, max).expect("n − 2f ≥ 1 for valid params"))
            }
            Variant::Beat3 | Variant::Beat4 => {
                let code = self.code.clone().expect("BEAT3/4 nodes have a dispersal code");
                Broadcast::AvidFp(AvidFp::new(params, me, proposer, e, &self.keys.public.session, code, max))
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
                checksums: BTreeMap::new(),
                own: Vec::new(),
                own_txs: Vec::new(),
                own_layout: Vec::new(),
                own_digest: None,
            };
            self.epochs.insert(e, state);
        }
        self.epochs.get_mut(&e).expect("inserted above")
    }

    fn submit(&mut self, tx: Vec<u8>) -> Result<(), BeatError> {
        if tx.len() > self.settings.max_tx_size {
            return Err(BeatError::TransactionTooLarge { size: tx.len(), max: self.settings.max_tx_size });
        }
        if self.settings.variant.client_encrypted() {
            // Refuse an invalid or replayed client ciphertext before it can be ordered.
            let ctx = ClientTransaction::decode(&tx, self.settings.max_tx_size)?;
            let id = ctx.id();
            if !self.clients.fresh(id) {
                return Err(BeatError::ReplayedClientTransaction { client: id.client, seq: id.seq });
            }
            ctx.verify(&self.keys.public)?;
        }
        let d = self.buffer_key(&tx);
        if self.buffered.contains(&d) || self.recent_set.contains(&d) {
            return Ok(());
        }
        if self.buffer.len() >= self.config.max_buffered_txs
            || self.buffer_bytes + tx.len() > self.config.max_buffered_bytes
        {
            return Err(BeatError::BufferFull(self.buffer.len()));
        }
        self.buffered.insert(d);
        self.buffer_bytes += tx.len();
        self.buffer.push_back((d, tx));
        Ok(())
    }

    /// What the buffer and the dedup window key `tx` by: its digest, or for BEAT2 the digest of
    /// its client identity (a transaction that does not decode, which `submit` refuses, by its
    /// digest).
    fn buffer_key(&self, tx: &[u8]) -> Digest {
        if self.settings.variant.client_encrypted() {
            if let Ok(ctx) = ClientTransaction::decode(tx, self.settings.max_tx_size) {
                return ctx.id().digest();
            }
        }
        tx_digest(tx)
    }

    /// BEAT2: drop from the head of the buffer (what the next proposal draws from) client
    /// transactions that can no longer commit: their `(client, seq)` committed meanwhile (in
    /// another ciphertext), or fell out of the client's replay window. Proposing them would only
    /// make every node decrypt them and drop them.
    fn drop_replayed_from_buffer(&mut self) {
        let head = self.buffer.len().min(self.settings.batch_size);
        let max_tx = self.settings.max_tx_size;
        let stale: Vec<usize> = (0..head)
            .filter(|&i| {
                ClientTransaction::decode(&self.buffer[i].1, max_tx).map_or(true, |c| !self.clients.fresh(c.id()))
            })
            .collect();
        for i in stale.into_iter().rev() {
            if let Some((d, tx)) = self.buffer.remove(i) {
                self.buffer_bytes -= tx.len();
                self.buffered.remove(&d);
            }
        }
    }

    /// Propose for the current epoch if we have not and there is a reason to.
    fn maybe_propose(&mut self, force: bool, rng: &mut dyn rand_core::CryptoRngCore) -> Result<BeatStep, BeatError> {
        if self.resumed_proposal.is_some() {
            return self.resume_proposal(rng);
        }
        let e = self.epoch;
        let started = self.epochs.get(&e).is_some_and(|s| !s.proposed);
        let already = self.epochs.get(&e).is_some_and(|s| s.proposed);
        if already || !(force || started || !self.buffer.is_empty()) {
            return Ok(Step::new());
        }
        if self.settings.variant.client_encrypted() {
            self.drop_replayed_from_buffer();
        }
        // ⌈b/n⌉ transactions drawn at random from the first b.
        let window = self.buffer.len().min(self.settings.batch_size);
        let take = self.settings.batch_size.div_ceil(self.params.n).min(window);
        // Randomness derived from our secret and the epoch (not from `rng`): a node that
        // rebuilds its state after a restart makes exactly the same proposal.
        let mut select = self.derived_rng("select", e, &[]);
        let mut idx = rand::seq::index::sample(&mut select, window, take).into_vec();
        idx.sort_unstable();
        // Keep the proposal within the committee's size limit (what does not fit waits for a
        // later epoch; a single transaction always fits: `Settings::validate`).
        let mut room = self.settings.max_proposal_bytes.saturating_sub(PROPOSAL_ROOM);
        idx.retain(|&i| {
            let size = self.buffer[i].1.len() + 9;
            let fits = size <= room;
            if fits {
                room -= size;
            }
            fits
        });
        let txs: Vec<Vec<u8>> = idx.iter().map(|&i| self.buffer[i].1.clone()).collect();
        let own: Vec<Digest> = idx.iter().map(|&i| self.buffer[i].0).collect();
        self.propose(txs, own, rng)
    }

    /// Propose `txs` (keyed `own` in the buffer) for the current epoch. Deterministic in the
    /// transactions, the epoch and our secret.
    fn propose(
        &mut self,
        txs: Vec<Vec<u8>>,
        own: Vec<Digest>,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BeatStep, BeatError> {
        let e = self.epoch;
        let plaintext = Contribution::encode(&txs);
        let own_layout = if self.settings.variant.dispersed() {
            super::batch::Contribution::layout(&txs, &plaintext)
        } else {
            Vec::new()
        };
        let value = if self.settings.variant.client_encrypted() || !self.settings.variant.encrypted() {
            plaintext
        } else {
            let label = self.proposal_label(e, self.keys.id);
            // The encryption randomness also covers the plaintext, so it is never reused for
            // another plaintext.
            let mut enc = self.derived_rng("encrypt", e, &tagged_hash("BEAT/plaintext", &[&plaintext]));
            codec::encode(&self.keys.public.encryption.encrypt(&label, &plaintext, &mut enc))
        };
        let me = self.keys.id;
        let state = self.epoch_state(e);
        state.proposed = true;
        state.own = own;
        state.own_txs = txs;
        state.own_layout = own_layout;
        let acs_step = state.acs.handle_input(value, rng)?;
        state.own_digest = acs_step.events.iter().find_map(|ev| match ev {
            crate::proto::Event::Proposed { proposer, digest, .. } if *proposer == me => Some(*digest),
            _ => None,
        });
        self.handle_acs_step(e, acs_step)
    }

    fn handle_acs_step(
        &mut self,
        e: u64,
        acs_step: Step<AcsMessage<BroadcastMessage>, AcsOutput>,
    ) -> Result<BeatStep, BeatError> {
        let mut step = Step::new();
        let outputs = step.lift(acs_step, |m| Message { epoch: e, content: Content::Acs(m) });
        for out in outputs {
            step.extend(self.on_acs_output(e, out));
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
    ) -> (Vec<(Option<ClientTxId>, VerifiedCiphertext)>, bool) {
        let (max, max_tx) = (self.settings.max_proposal_bytes, self.settings.max_tx_size);
        if !self.settings.variant.client_encrypted() {
            let label = self.proposal_label(e, j);
            let ct = codec::decode::<Ciphertext>(value, max).ok().filter(|ct| ct.label == label);
            return match ct.and_then(|ct| self.keys.public.encryption.verify_ciphertext(ct).ok()) {
                Some(ct) => (vec![(None, ct)], false),
                None => (Vec::new(), true),
            };
        }
        let max_txs = self.settings.batch_size.max(1) * 4;
        let Ok(txs) = Contribution::decode(value, max, max_txs, max_tx) else { return (Vec::new(), true) };
        let mut out = Vec::with_capacity(txs.len());
        let mut invalid = false;
        for tx in txs {
            let checked = ClientTransaction::decode(&tx, max_tx).and_then(|c| {
                let id = c.id();
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
    fn on_acs_output(&mut self, e: u64, out: AcsOutput) -> BeatStep {
        let mut step = Step::new();
        if !self.settings.variant.encrypted() {
            // BEAT3/4: ACS agreed on cross-checksums (decoded by our own AVID-FP instances, so
            // well-formed); nothing to decrypt.
            let max = self.settings.max_proposal_bytes;
            let state = self.epoch_state(e);
            state.accepted = Some(out.keys().copied().collect());
            for (j, bytes) in out {
                state.contributions.insert(j, Vec::new());
                if let Ok(cc) = codec::decode::<CrossChecksum>(&bytes, max) {
                    state.checksums.insert(j, cc);
                }
            }
            return step;
        }
        let me = self.keys.id;
        let checked: Vec<_> = out.iter().map(|(j, v)| (*j, self.checked_ciphertexts(e, *j, v))).collect();
        let secret = self.keys.decryption_secret.clone();
        let pk = self.keys.public.encryption.clone();
        let session = self.keys.public.session;
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
            let context = shares_context(&session, e, j);
            let refs: Vec<&VerifiedCiphertext> = cts.iter().collect();
            // Deterministic (the nonce is derived from our secret and the whole statement): a
            // rebuilt node sends exactly these bytes again.
            // Our own list needs no proof check: its shares are computed from our key share,
            // whose g^x_i is checked against the public key (`decrypt_own_shares`).
            let (shares, own) = secret.decrypt_own_shares(&pk, &context, &refs);
            step.send(Target::All, Message { epoch: e, content: Content::DecShares { proposer: j, shares } });
            let mut d = Decryption {
                plaintexts: vec![None; cts.len()],
                cts,
                ids,
                unverified: BTreeMap::new(),
                verified: BTreeMap::new(),
                rejected: BTreeSet::new(),
            };
            // Our own shares are unusable only if our key share does not match the public key
            // or is another member's (the keystore rules both out); then we simply wait for
            // f + 1 others.
            if let Some(own) = own.ok().filter(|own| own.index() == me) {
                d.verified.insert(me, own);
            }
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

    fn handle_shares(&mut self, e: u64, from: NodeId, proposer: NodeId, shares: DecryptionShares) -> BeatStep {
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
        if shares.shares.len() != d.cts.len() {
            return Step::fault(from, FaultKind::InvalidDecryptionShare);
        }
        if d.verified.contains_key(&from) || d.rejected.contains(&from) {
            return Step::new();
        }
        d.unverified.entry(from).or_insert(shares);
        self.try_decrypt(e, proposer)
    }

    /// Once `f + 1` share lists are in: check lists (lowest sender first) until `f + 1` verify,
    /// faulting the senders of bad ones, then combine `f + 1` verified shares per ciphertext.
    /// A plaintext is never computed from an unchecked share (see `crypto::elgamal`).
    fn try_decrypt(&mut self, e: u64, j: NodeId) -> BeatStep {
        let mut step = Step::new();
        let needed = self.params.f + 1;
        let pk = self.keys.public.encryption.clone();
        let context = shares_context(&self.keys.public.session, e, j);
        let client = self.settings.variant.client_encrypted();
        let (max_bytes, max_tx) = (self.settings.max_proposal_bytes, self.settings.max_tx_size);
        let max_txs = self.settings.batch_size.max(1) * 4;
        let state = self.epoch_state(e);
        let Some(d) = state.decryptions.get_mut(&j) else { return step };
        if d.verified.len() + d.unverified.len() < needed {
            return step;
        }
        let refs: Vec<&VerifiedCiphertext> = d.cts.iter().collect();
        while d.verified.len() < needed {
            let Some((from, shares)) = d.unverified.pop_first() else { return step };
            match pk.verify_shares(from, &context, &refs, &shares) {
                Ok(v) => {
                    d.verified.insert(from, v);
                }
                Err(_) => {
                    d.rejected.insert(from);
                    step.faults.push(Fault { node: from, kind: FaultKind::InvalidDecryptionShare });
                }
            }
        }
        for (t, ct) in d.cts.iter().enumerate() {
            let chosen: Vec<_> = d.verified.values().take(needed).filter_map(|v| v.share(t)).collect();
            let result = pk.combine(ct, &chosen);
            // With f + 1 verified shares every correct node combines the same key h^r, so a
            // failure is the encryptor's: for BEAT0/1 the proposer's fault; for BEAT2 the
            // client's, and only that transaction is dropped.
            if result.is_err() && !client {
                step.faults.push(Fault { node: j, kind: FaultKind::MalformedCiphertext });
            }
            d.plaintexts[t] = Some(result.ok());
        }
        let Some(d) = state.decryptions.remove(&j) else { return step };
        let contribution = if client {
            let opened = d.ids.into_iter().zip(d.plaintexts).filter_map(|(id, p)| Some((id?, p??)));
            opened
                .filter(|(_, p)| p.len() <= max_tx)
                .map(|(id, tx)| Entry { digest: id.digest(), client: Some(id), tx })
                .collect()
        } else {
            let plaintext = d.plaintexts.into_iter().next().flatten().flatten().unwrap_or_default();
            match Contribution::decode(&plaintext, max_bytes, max_txs, max_tx) {
                Ok(txs) => txs.into_iter().map(|tx| Entry { digest: tx_digest(&tx), client: None, tx }).collect(),
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
            let Some(mut state) = self.epochs.remove(&e) else { break };
            let mut stored = Vec::new();
            for (j, cc) in std::mem::take(&mut state.checksums) {
                let id = ValueId { epoch: e, proposer: j };
                match state.acs.broadcast_mut(j) {
                    Some(Broadcast::AvidFp(bc)) => match bc.take_fragment() {
                        Some(fragment) => self.store.put(id, fragment),
                        None => self.missing.push(id),
                    },
                    _ => self.missing.push(id),
                }
                stored.push(StoredValue {
                    proposer: j,
                    digest: cc.digest(),
                    fragment_size: cc.fragment_size(),
                    checksum: Some(cc.clone()),
                });
                self.checksums.insert(id, cc);
            }
            self.prune_checksums(e);
            let mut proposers = state.accepted.unwrap_or_default();
            proposers.sort_unstable();
            let mut contributions = state.contributions;
            let mut seen = HashSet::new();
            let mut transactions = Vec::new();
            let mut client_ids = Vec::new();
            let mut digests = Vec::new();
            for j in &proposers {
                for entry in contributions.remove(j).unwrap_or_default() {
                    // BEAT2: a (client, seq) commits at most once, ever (the replay windows);
                    // BEAT0/1: the same bytes not again within `dedup_epochs`.
                    let committed_before = match entry.client {
                        Some(id) => !self.clients.fresh(id),
                        None => self.recent_set.contains(&entry.digest),
                    };
                    if committed_before || !seen.insert(entry.digest) {
                        continue;
                    }
                    digests.push(entry.digest);
                    client_ids.extend(entry.client);
                    transactions.push(entry.tx);
                }
            }
            let ours = stored.iter().any(|v| v.proposer == self.keys.id && Some(v.digest) == state.own_digest);
            if self.settings.variant.dispersed() && ours {
                // Our dispersed batch is committed (as a stored value, not as transactions).
                step.output.push(own_value(e, self.keys.id, &state.own, &state.own_layout));
                digests.extend(std::mem::take(&mut state.own));
            }
            let batch = Batch { epoch: e, proposers, transactions, stored, client_ids };
            step.extend(self.finish_epoch(batch, digests, rng)?);
        }
        Ok(step)
    }

    /// Close epoch `batch.epoch` (the current one): forget its transactions from the buffer,
    /// remember them for de-duplication, output the batch, move the window, answer deferred
    /// reads and process the messages that waited for the window.
    fn finish_epoch(
        &mut self,
        batch: Batch,
        digests: Vec<Digest>,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BeatStep, BeatError> {
        let mut step = Step::new();
        let e = batch.epoch;
        if !digests.is_empty() {
            let committed: HashSet<Digest> = digests.iter().copied().collect();
            self.buffer.retain(|(d, _)| !committed.contains(d));
            self.buffer_bytes = self.buffer.iter().map(|(_, tx)| tx.len()).sum();
            self.buffered.retain(|d| !committed.contains(d));
        }
        for id in &batch.client_ids {
            self.clients.record(*id, e);
        }
        if self.settings.variant.client_encrypted() {
            // BEAT2 de-duplicates by the replay windows alone.
            self.recent.push_back((e, Vec::new()));
        } else {
            self.recent_set.extend(digests.iter().copied());
            self.recent.push_back((e, digests));
        }
        while self.recent.front().is_some_and(|(old, _)| old + self.settings.dedup_epochs <= e) {
            if let Some((_, old)) = self.recent.pop_front() {
                for d in old {
                    self.recent_set.remove(&d);
                }
            }
        }
        step.output.push(Output::Batch(batch));
        self.epoch += 1;
        let (now, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.deferred_reads).into_iter().partition(|d| d.epoch < self.epoch);
        self.deferred_reads = later;
        for d in now {
            step.extend(self.answer_read(d.from, d.epoch, d.read, d.proposer, d.chunks));
        }
        // Messages that waited for the window to move.
        // Messages that entered the window, in arrival order (see the module doc).
        let horizon = self.epoch + self.config.max_future_epochs;
        let (ready, later): (VecDeque<_>, VecDeque<_>) =
            std::mem::take(&mut self.future).into_iter().partition(|(_, m, _)| m.epoch <= horizon);
        self.future = later;
        for (from, m, bytes) in ready {
            self.future_bytes[from] -= bytes;
            step.extend(self.dispatch(from, m, rng)?);
        }
        Ok(step)
    }

    /// Catch-up: take `batch`, which `f + 1` peers confirmed as the committed batch of our
    /// current epoch, as committed without running the epoch (the driver checks the
    /// confirmations). What the epoch's protocol state already holds is kept where the batch
    /// commits it: BEAT3/4 fragments this node verified and the cross-checksums it saw for the
    /// committed values (so it can serve and read them), and our own transactions leave the
    /// buffer when our proposal is in the batch (they are never proposed again). The filters
    /// learn exactly what a normal commit teaches them: the transactions' digests (BEAT0/1) or
    /// the `(client, seq)` identities the batch carries (BEAT2). The rest of the epoch's state is
    /// dropped; nothing more is sent for it.
    pub fn fast_forward(
        &mut self,
        batch: Batch,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BeatStep, BeatError> {
        if batch.epoch != self.epoch {
            return Err(BeatError::NotCurrentEpoch { got: batch.epoch, current: self.epoch });
        }
        let client = self.settings.variant.client_encrypted();
        if client && batch.client_ids.len() != batch.transactions.len() {
            return Err(BeatError::MalformedCatchUp("BEAT2 batch without one client id per transaction"));
        }
        // Our proposal first, as it was made before this batch came (it decides whether the
        // batch commits our transactions).
        let mut step = self.resume_proposal(rng)?;
        let mut digests: Vec<Digest> = if client {
            batch.client_ids.iter().map(ClientTxId::digest).collect()
        } else {
            batch.transactions.iter().map(|tx| tx_digest(tx)).collect()
        };
        let mut held = BTreeSet::new();
        let mut own = None;
        if let Some(mut state) = self.epochs.remove(&batch.epoch) {
            for v in &batch.stored {
                let id = ValueId { epoch: batch.epoch, proposer: v.proposer };
                let Some(Broadcast::AvidFp(bc)) = state.acs.broadcast_mut(v.proposer) else { continue };
                if let Some(cc) = bc.cross_checksum(&v.digest).cloned() {
                    if let Some(fragment) = bc.take_fragment_of(&v.digest) {
                        self.store.put(id, fragment);
                        held.insert(v.proposer);
                    }
                    self.checksums.insert(id, cc);
                }
            }
            // A value committed in our name is our proposal (no one else's `Val` is accepted for
            // our instance), so the transactions in it are committed.
            let ours = batch.stored.iter().any(|v| v.proposer == self.keys.id && Some(v.digest) == state.own_digest);
            if self.settings.variant.dispersed() && ours {
                own = Some(own_value(batch.epoch, self.keys.id, &state.own, &state.own_layout));
                digests.extend(std::mem::take(&mut state.own));
            }
        }
        // The cross-checksums of values whose dispersal we did not see: from the batch (`f + 1`
        // peers sent these bytes), each checked against its digest and the code's shape.
        for v in &batch.stored {
            let id = ValueId { epoch: batch.epoch, proposer: v.proposer };
            if let (Some(cc), Some(code)) = (&v.checksum, self.code.as_deref()) {
                let fits = cc.digest() == v.digest && cc.check_shape(code.linear(), code.commitment()).is_ok();
                if fits && v.proposer < self.params.n {
                    self.checksums.entry(id).or_insert_with(|| cc.clone());
                }
            }
            if self.checksums.contains_key(&id) && !held.contains(&v.proposer) {
                self.missing.push(id);
            }
        }
        self.prune_checksums(batch.epoch);
        let mut done = self.finish_epoch(batch, digests, rng)?;
        if let Some(o) = own {
            done.output.insert(0, o);
        }
        step.extend(done);
        self.finish(step, rng)
    }

    fn dispatch(
        &mut self,
        from: NodeId,
        msg: Message,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<BeatStep, BeatError> {
        let e = msg.epoch;
        match msg.content {
            Content::ReadRequest { read, proposer, chunks } => {
                return Ok(self.answer_read(from, e, read, proposer, chunks))
            }
            Content::ReadResponse { read, proposer, chunks, data } => {
                return Ok(self.on_read_response(from, e, read, proposer, chunks, data));
            }
            _ => {}
        }
        if e < self.epoch {
            return Ok(Step::new());
        }
        if e > self.epoch + self.config.max_future_epochs {
            let bytes = codec::encode(&msg).len();
            if self.future_bytes[from] + bytes > self.config.max_future_bytes {
                return Ok(Step::fault(from, FaultKind::FutureEpochOverflow));
            }
            self.future_bytes[from] += bytes;
            self.future.push_back((from, msg, bytes));
            return Ok(Step::new());
        }
        match msg.content {
            Content::Acs(m) => {
                let acs_step = self.epoch_state(e).acs.handle_message(from, m, rng)?;
                self.handle_acs_step(e, acs_step)
            }
            Content::DecShares { proposer, shares } => {
                if proposer >= self.params.n {
                    return Ok(Step::fault(from, FaultKind::OutOfRange));
                }
                Ok(self.handle_shares(e, from, proposer, shares))
            }
            Content::ReadRequest { .. } | Content::ReadResponse { .. } => Ok(Step::new()),
        }
    }

    // ---- BEAT3/4 reads -------------------------------------------------------------------
    //
    // A read of (epoch, proposer) uses the agreed cross-checksum `cc`:
    //
    //   full read:   ask `need` holders (data holders first) for their fragment; keep each
    //                fragment that verifies against cc (else fault BadFragment against the
    //                holder and ask another); decode from `need` verified fragments.
    //   range read (BEAT4, range inside one data fragment j): ask holder j for the covering
    //                chunks with Merkle proofs; if they do not verify or j has none, ask the
    //                rest of j's pyramid group for the same chunks and repair; if that fails
    //                too, fall back to a full read.
    //   RetryReads:  the driver's timer: ask every holder not asked yet, or, when all were,
    //                the silent ones again.

    fn start_read(
        &mut self,
        id: ValueId,
        range: Option<Range<u64>>,
        repair: bool,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> BeatStep {
        let read = self.next_read;
        self.next_read += 1;
        let mut step = Step::new();
        let fail = |e: ReadError| {
            if repair {
                Output::Repaired(RepairOutcome { read, id, result: Err(e), nodes_contacted: 0, bytes_fetched: 0 })
            } else {
                Output::Read(ReadOutcome {
                    read,
                    id,
                    range: range.clone(),
                    result: Err(e),
                    nodes_contacted: 0,
                    bytes_fetched: 0,
                })
            }
        };
        let Some(code) = self.code.clone() else {
            step.output.push(fail(ReadError::NotDispersed));
            return step;
        };
        let Some(cc) = self.checksums.get(&id) else {
            step.output.push(fail(ReadError::Unknown(id)));
            return step;
        };
        let size = cc.fragment_size();
        let k = code.linear().k() as u64;
        // Framed layout: 8-byte length prefix, then the value, over k data fragments.
        let plan = match (&range, code.as_ref()) {
            (Some(r), _) if r.start > r.end || r.end.checked_add(8).is_none_or(|end| end > k.saturating_mul(size)) => {
                step.output.push(fail(ReadError::OutOfBounds));
                return step;
            }
            (Some(r), DispersalCode::Pyramid(p)) if r.start < r.end && (r.start + 8) / size == (r.end + 7) / size => {
                let chunk = crate::proto::avid_fp::PYRAMID_CHUNK as u64;
                let target = ((r.start + 8) / size) as usize;
                let (lo, hi) = ((r.start + 8) % size, (r.end + 7) % size + 1);
                let chunks = ((lo / chunk) as u32, hi.div_ceil(chunk) as u32);
                let base = u64::from(chunks.0) * chunk;
                let cut = (lo - base) as usize..(hi - base) as usize;
                let group = p.group_of(target).map(|g| p.group_members(g)).unwrap_or_default();
                ReadPlan::Range { target, chunks, cut, group }
            }
            _ => ReadPlan::Full,
        };
        let plan = if repair { ReadPlan::Full } else { plan };
        // Data holders first (their fragments decode without arithmetic), each part in random
        // order so that no holder is always asked first.
        let k = code.linear().k();
        let mut order: Vec<NodeId> = self.params.nodes().collect();
        rand::seq::SliceRandom::shuffle(&mut order[..k], &mut &mut *rng);
        rand::seq::SliceRandom::shuffle(&mut order[k..], &mut &mut *rng);
        let pending = PendingRead {
            id,
            range,
            plan,
            order,
            want: k,
            asked: BTreeSet::new(),
            failed: BTreeSet::new(),
            got: BTreeMap::new(),
            bytes_fetched: 0,
            repair,
            rows: None,
        };
        self.reads.insert(read, pending);
        step.extend(self.use_own_fragment(read));
        step.extend(self.advance_read(read, false));
        step
    }

    /// Our stored fragment of `id`, if it still matches the committed cross-checksum. We
    /// verified it before storing it, but the store is the embedder's: one without integrity
    /// checks, or a damaged disk, must not make this node return other bytes to its caller or
    /// serve them to a peer (and be blamed for it). `None` also when the cross-checksum is not
    /// known here (a value committed by catch-up): the fragment cannot be vouched for.
    fn verified_own(&self, id: ValueId) -> Option<super::store::HeldFragment> {
        let held = self.store.get(id)?;
        let code = self.code.as_deref()?;
        let cc = self.checksums.get(&id)?;
        let table = match &held.rows {
            Some(t) => Some(cc.row_table(code.linear(), t).ok()?),
            None => None,
        };
        let ctx = fpc_context(&self.keys.public.session, id.epoch, id.proposer);
        cc.verify_fragment(code.linear(), code.commitment(), &ctx, self.keys.id, &held.fragment, table.as_ref())
            .ok()?;
        Some(held)
    }

    /// Committed values this node holds no fragment of, since the last call (see
    /// [`Input::Repair`]). A runtime that restarts from a checkpoint learns the rest by
    /// checking every kept value ([`Beat::check_own`]).
    pub fn take_missing(&mut self) -> Vec<ValueId> {
        std::mem::take(&mut self.missing)
    }

    /// Ids of the committed values whose cross-checksums are kept, after `after` (all from the
    /// first when `None`), at most `limit` of them: a scrub walks them in order.
    pub fn kept_values(&self, after: Option<ValueId>, limit: usize) -> Vec<ValueId> {
        use std::ops::Bound;
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.checksums.range((lower, Bound::Unbounded)).take(limit).map(|(id, _)| *id).collect()
    }

    /// Check this node's stored fragment of `id` against the committed cross-checksum (a
    /// scrub's step).
    pub fn check_own(&self, id: ValueId) -> OwnFragment {
        if !self.checksums.contains_key(&id) || self.code.is_none() {
            return OwnFragment::Unknown;
        }
        if self.store.get(id).is_none() {
            return OwnFragment::Missing;
        }
        match self.verified_own(id) {
            Some(h) => OwnFragment::Good((h.fragment.len() + h.rows.as_ref().map_or(0, Vec::len)) as u64),
            None => OwnFragment::Bad,
        }
    }

    /// Forget the values older than `horizon` that `keep` does not keep: their
    /// cross-checksums go (the caller deletes their fragments). Returns the ids forgotten.
    pub fn prune_values(&mut self, horizon: u64, keep: &mut dyn FnMut(ValueId) -> bool) -> Vec<ValueId> {
        let old: Vec<ValueId> =
            self.checksums.range(..ValueId { epoch: horizon, proposer: 0 }).map(|(id, _)| *id).collect();
        let gone: Vec<ValueId> = old.into_iter().filter(|id| !keep(*id)).collect();
        for id in &gone {
            self.checksums.remove(id);
        }
        gone
    }

    /// Our own fragment counts like a verified answer (no message needed), once checked
    /// against the committed cross-checksum ([`Beat::verified_own`]).
    fn use_own_fragment(&mut self, read: u64) -> BeatStep {
        let me = self.keys.id;
        let Some(r) = self.reads.get_mut(&read) else { return Step::new() };
        // Never ask ourselves over the network: with our fragment we answer below; without it
        // we count as a holder that failed, so the read asks enough others.
        r.asked.insert(me);
        if r.repair {
            // A repair rebuilds our fragment from the others' only.
            r.failed.insert(me);
            return Step::new();
        }
        let id = r.id;
        let Some(own) = self.verified_own(id) else {
            let Some(r) = self.reads.get_mut(&read) else { return Step::new() };
            r.failed.insert(me);
            return Step::new();
        };
        let Some(r) = self.reads.get(&read) else { return Step::new() };
        let chunks = match &r.plan {
            ReadPlan::Full => None,
            ReadPlan::Range { target, group, .. } if *target != me && !group.contains(&me) => return Step::new(),
            ReadPlan::Range { chunks, .. } => Some(*chunks),
        };
        let data = match chunks {
            None => own.fragment,
            Some((a, b)) => {
                let chunk = crate::proto::avid_fp::PYRAMID_CHUNK;
                let end = (b as usize * chunk).min(own.fragment.len());
                own.fragment.get(a as usize * chunk..end).map(<[u8]>::to_vec).unwrap_or_default()
            }
        };
        if let Some(r) = self.reads.get_mut(&read) {
            r.asked.insert(me);
            r.bytes_fetched += data.len() as u64;
            r.got.insert(me, data);
        }
        Step::new()
    }

    /// Who a read still needs answers from; `all` asks every holder not yet asked.
    fn advance_read(&mut self, read: u64, all: bool) -> BeatStep {
        let mut step = Step::new();
        let n = self.params.n;
        let Some(r) = self.reads.get_mut(&read) else { return step };
        let epoch = r.id.epoch;
        let proposer = r.id.proposer;
        let (wanted, chunks): (Vec<NodeId>, Option<(u32, u32)>) = match &r.plan {
            ReadPlan::Full => {
                let need = r.want;
                let live =
                    r.got.len() + r.asked.iter().filter(|j| !r.got.contains_key(j) && !r.failed.contains(j)).count();
                let more = if all { n } else { need.saturating_sub(live) };
                let mut wanted: Vec<NodeId> =
                    r.order.iter().copied().filter(|j| !r.asked.contains(j)).take(more).collect();
                if all && wanted.is_empty() {
                    // Everyone was asked: ask the silent ones again (a request or its answer can
                    // be lost — a full link queue, a holder that restarted).
                    wanted =
                        r.order.iter().copied().filter(|j| !r.got.contains_key(j) && !r.failed.contains(j)).collect();
                }
                (wanted, None)
            }
            ReadPlan::Range { target, chunks, group, .. } => {
                if r.failed.contains(target) || all {
                    (group.iter().copied().filter(|j| !r.asked.contains(j)).collect(), Some(*chunks))
                } else {
                    ([*target].into_iter().filter(|j| !r.asked.contains(j)).collect(), Some(*chunks))
                }
            }
        };
        for j in wanted {
            r.asked.insert(j);
            step.send(Target::Node(j), Message { epoch, content: Content::ReadRequest { read, proposer, chunks } });
        }
        step.extend(self.try_finish_read(read));
        step
    }

    /// Forget read `read` (its caller gave up): no outcome will be output for it.
    pub fn cancel_read(&mut self, read: u64) {
        self.reads.remove(&read);
    }

    fn retry_reads(&mut self) -> BeatStep {
        let mut step = Step::new();
        let reads: Vec<u64> = self.reads.keys().copied().collect();
        for read in reads {
            // A range read whose group cannot help any more becomes a full read.
            if let Some(r) = self.reads.get_mut(&read) {
                if let ReadPlan::Range { group, target, .. } = &r.plan {
                    if group.iter().chain([target]).all(|j| r.asked.contains(j)) {
                        r.plan = ReadPlan::Full;
                        r.got.clear();
                        r.asked.clear();
                        r.failed.clear();
                        step.extend(self.use_own_fragment(read));
                    }
                }
            }
            step.extend(self.advance_read(read, true));
        }
        step
    }

    fn answer_read(
        &mut self,
        from: NodeId,
        epoch: u64,
        read: u64,
        proposer: NodeId,
        chunks: Option<(u32, u32)>,
    ) -> BeatStep {
        let mut step = Step::new();
        if proposer >= self.params.n || self.code.is_none() {
            return Step::fault(from, FaultKind::OutOfRange);
        }
        if epoch >= self.epoch {
            // Our fragment of an epoch we have not committed is still with its AVID-FP instance:
            // answer once the epoch commits here. A request asked again (the reader's retry
            // timer) is kept once: answered once.
            if self.deferred_reads.iter().any(|d| d.from == from && d.read == read && d.chunks == chunks) {
                return step;
            }
            if self.deferred_reads.iter().filter(|d| d.from == from).count() >= MAX_DEFERRED_READS {
                return Step::fault(from, FaultKind::FutureEpochOverflow);
            }
            self.deferred_reads.push(DeferredRead { from, epoch, read, proposer, chunks });
            return step;
        }
        let id = ValueId { epoch, proposer };
        // A whole fragment is checked before it is served (the cost is the bytes we send
        // anyway); a range is checked chunk by chunk below (checking the whole fragment per
        // chunk would cost a range read its point).
        let held = if chunks.is_none() { self.verified_own(id) } else { self.store.get(id) };
        let data = match (held, chunks, self.code.as_deref()) {
            (Some(h), None, _) => Some(ReadData {
                bytes: serde_bytes::ByteBuf::from(h.fragment),
                rows: h.rows.map(serde_bytes::ByteBuf::from),
                proofs: Vec::new(),
                row_proofs: Vec::new(),
            }),
            (Some(h), Some((a, b)), Some(code)) => {
                let commitment = code.commitment();
                let range = a as usize..b as usize;
                let (Ok(proofs), Some(cc)) =
                    (commitment.chunk_proofs(&h.fragment, range.clone()), self.checksums.get(&id))
                else {
                    return Step::fault(from, FaultKind::OutOfRange);
                };
                let table = h.rows.as_deref().and_then(|t| cc.row_table(code.linear(), t).ok());
                let Some(row_proofs) = table.and_then(|t| t.proofs(range)) else {
                    return Step::fault(from, FaultKind::OutOfRange);
                };
                let chunk = crate::proto::avid_fp::PYRAMID_CHUNK;
                let end = (b as usize * chunk).min(h.fragment.len());
                // Each chunk is checked as the reader will check it (the cost of the bytes sent):
                // a damaged store makes this node a holder without data, never one that serves
                // other bytes and is blamed for them.
                let ctx = fpc_context(&self.keys.public.session, epoch, proposer);
                let size = cc.fragment_size() as usize;
                let sound = (a..b).zip(&proofs).zip(&row_proofs).all(|((c, proof), row)| {
                    commitment.chunk_range(size, c as usize).ok().and_then(|r| h.fragment.get(r)).is_some_and(|piece| {
                        let me = self.keys.id;
                        cc.verify_chunk(code.linear(), commitment, &ctx, me, c as usize, piece, proof, row).is_ok()
                    })
                });
                h.fragment.get(a as usize * chunk..end).filter(|_| sound).map(|bytes| ReadData {
                    bytes: serde_bytes::ByteBuf::from(bytes.to_vec()),
                    rows: None,
                    proofs,
                    row_proofs,
                })
            }
            _ => None,
        };
        step.send(
            Target::Node(from),
            Message { epoch, content: Content::ReadResponse { read, proposer, chunks, data } },
        );
        step
    }

    fn on_read_response(
        &mut self,
        from: NodeId,
        epoch: u64,
        read: u64,
        proposer: NodeId,
        chunks: Option<(u32, u32)>,
        data: Option<ReadData>,
    ) -> BeatStep {
        let Some(code) = self.code.clone() else { return Step::new() };
        let session = self.keys.public.session;
        let Some(r) = self.reads.get_mut(&read) else { return Step::new() };
        if r.id != (ValueId { epoch, proposer })
            || !r.asked.contains(&from)
            || r.got.contains_key(&from)
            || r.failed.contains(&from)
        {
            return Step::new(); // stale, unsolicited or repeated
        }
        let Some(cc) = self.checksums.get(&r.id) else { return Step::new() };
        r.bytes_fetched += data.as_ref().map_or(0, |d| {
            let proofs = 64 * d.proofs.len()
                + d.row_proofs.iter().map(|p| p.row.len() + 32 * p.path.siblings.len()).sum::<usize>();
            (d.bytes.len() + d.rows.as_ref().map_or(0, |t| t.len()) + proofs) as u64
        });
        let expected_chunks = match &r.plan {
            ReadPlan::Full => None,
            ReadPlan::Range { chunks, .. } => Some(*chunks),
        };
        if chunks != expected_chunks {
            // An answer from before a range read became a full read: stale, not a fault.
            return Step::new();
        }
        let had_data = data.is_some();
        let ctx = fpc_context(&session, epoch, proposer);
        let commitment = code.commitment();
        let verified = match (data, chunks) {
            (None, _) => None,
            (Some(d), None) => {
                let table = match &d.rows {
                    Some(t) => cc.row_table(code.linear(), t).ok(),
                    None => None,
                };
                let bytes = d.bytes.into_vec();
                let ok = cc.verify_fragment(code.linear(), commitment, &ctx, from, &bytes, table.as_ref()).is_ok();
                if ok && table.is_some() && r.repair && r.rows.is_none() {
                    // Checked against the committed root above: the table a repaired
                    // fragment is kept with.
                    r.rows = d.rows.map(serde_bytes::ByteBuf::into_vec);
                }
                ok.then_some(bytes)
            }
            (Some(d), Some((a, b))) => {
                let size = cc.fragment_size() as usize;
                let count = (b.saturating_sub(a)) as usize;
                let mut ok = d.proofs.len() == count && d.row_proofs.len() == count;
                let mut offset = 0;
                for ((c, proof), row) in (a..b).zip(&d.proofs).zip(&d.row_proofs) {
                    let Ok(range) = commitment.chunk_range(size, c as usize) else {
                        ok = false;
                        break;
                    };
                    let piece = d.bytes.get(offset..offset + range.len());
                    ok &= piece.is_some_and(|p| {
                        cc.verify_chunk(code.linear(), commitment, &ctx, from, c as usize, p, proof, row).is_ok()
                    });
                    offset += range.len();
                }
                (ok && offset == d.bytes.len()).then(|| d.bytes.into_vec())
            }
        };
        let mut step = Step::new();
        let Some(r) = self.reads.get_mut(&read) else { return step };
        match verified {
            Some(d) => {
                r.got.insert(from, d);
            }
            None => {
                // A holder that answers, but not with a fragment that verifies, is faulty if it
                // claimed to have one; "none" is an honest answer from a node that never got its
                // fragment.
                r.failed.insert(from);
                if had_data {
                    step.faults.push(Fault { node: from, kind: FaultKind::BadFragment });
                }
            }
        }
        step.extend(self.advance_read(read, false));
        step
    }

    fn try_finish_read(&mut self, read: u64) -> BeatStep {
        let mut step = Step::new();
        let Some(code) = self.code.clone() else { return step };
        let Some(r) = self.reads.get(&read) else { return step };
        let n = self.params.n;
        if r.repair {
            return self.try_finish_repair(read);
        }
        let result: Option<Result<Vec<u8>, ReadError>> = match &r.plan {
            ReadPlan::Full => {
                let outstanding = r.asked.iter().any(|j| !r.got.contains_key(j) && !r.failed.contains(j));
                let decoded = if r.got.len() >= r.want {
                    let frags: Vec<(usize, &[u8])> = r.got.iter().map(|(j, d)| (*j, d.as_slice())).collect();
                    // Verified fragments of one cross-checksum decode to one value (fpc).
                    code.linear().decode(&frags).ok()
                } else {
                    None
                };
                match decoded {
                    Some(mut v) => Some(match &r.range {
                        None => Ok(v),
                        Some(range) => {
                            // The framed area: the value, then the zero padding of its fragments.
                            let size = self.checksums.get(&r.id).map_or(0, |cc| cc.fragment_size() as usize);
                            v.resize((code.linear().k() * size).saturating_sub(8).max(v.len()), 0);
                            v.get(range.start as usize..range.end as usize)
                                .map(<[u8]>::to_vec)
                                .ok_or(ReadError::OutOfBounds)
                        }
                    }),
                    None if r.failed.len() + code.reconstruct_from() > n || (r.asked.len() == n && !outstanding) => {
                        Some(Err(ReadError::Unavailable))
                    }
                    None if r.got.len() >= r.want => {
                        // A set that does not span the data (pyramid codes): ask one more holder.
                        return self.widen_read(read);
                    }
                    None => None,
                }
            }
            ReadPlan::Range { target, cut, group, .. } => {
                if let Some(d) = r.got.get(target) {
                    Some(d.get(cut.clone()).map(<[u8]>::to_vec).ok_or(ReadError::OutOfBounds))
                } else if !group.is_empty() && group.iter().all(|j| j == target || r.got.contains_key(j)) {
                    let avail: Vec<(usize, &[u8])> =
                        group.iter().filter(|j| *j != target).map(|j| (*j, r.got[j].as_slice())).collect();
                    match code.as_ref() {
                        DispersalCode::Pyramid(p) => {
                            let len = avail.first().map_or(0, |(_, d)| d.len());
                            p.repair_range(*target, 0..len, &avail)
                                .ok()
                                .and_then(|d| d.get(cut.clone()).map(<[u8]>::to_vec))
                                .map(Ok)
                        }
                        DispersalCode::ReedSolomon(_) => None,
                    }
                } else {
                    None
                }
            }
        };
        if let Some(result) = result {
            if let Some(r) = self.reads.remove(&read) {
                step.output.push(Output::Read(ReadOutcome {
                    read,
                    id: r.id,
                    range: r.range,
                    result,
                    nodes_contacted: r.asked.len(),
                    bytes_fetched: r.bytes_fetched,
                }));
            }
        }
        step
    }

    /// Collect one more verified fragment than planned for `read` and ask for it.
    fn widen_read(&mut self, read: u64) -> BeatStep {
        if let Some(r) = self.reads.get_mut(&read) {
            r.want += 1;
        }
        self.advance_read(read, false)
    }

    /// A repair with `want` verified fragments of the others: rebuild ours over its whole
    /// length from them (the code is linear, symbol by symbol), check it against the committed
    /// cross-checksum like any fragment a peer sends, and keep it.
    fn try_finish_repair(&mut self, read: u64) -> BeatStep {
        let mut step = Step::new();
        let (Some(code), Some(r)) = (self.code.clone(), self.reads.get(&read)) else { return step };
        let me = self.keys.id;
        let n = self.params.n;
        let outstanding = r.asked.iter().any(|j| !r.got.contains_key(j) && !r.failed.contains(j));
        let result = if r.got.len() >= r.want {
            let Some(cc) = self.checksums.get(&r.id) else { return step };
            let size = cc.fragment_size() as usize;
            let avail: Vec<(usize, &[u8])> = r.got.iter().map(|(j, d)| (*j, d.as_slice())).collect();
            let rebuilt = match code.as_ref() {
                DispersalCode::ReedSolomon(c) => c.repair_range(me, 0..size, &avail),
                DispersalCode::Pyramid(p) => p.repair_range(me, 0..size, &avail),
            };
            match rebuilt {
                Ok(fragment) => {
                    let table = match &r.rows {
                        Some(t) => cc.row_table(code.linear(), t).ok(),
                        None => None,
                    };
                    let ctx = fpc_context(&self.keys.public.session, r.id.epoch, r.id.proposer);
                    let ok = cc
                        .verify_fragment(code.linear(), code.commitment(), &ctx, me, &fragment, table.as_ref())
                        .is_ok();
                    if ok {
                        let bytes = (fragment.len() + r.rows.as_ref().map_or(0, Vec::len)) as u64;
                        self.store.put(r.id, super::store::HeldFragment { fragment, rows: r.rows.clone() });
                        Some(Ok(bytes))
                    } else if matches!(code.as_ref(), DispersalCode::Pyramid(_))
                        && r.rows.is_none()
                        && r.got.len() < n - 1
                    {
                        // No verified row table came with the answers: ask one more holder.
                        return self.widen_read(read);
                    } else {
                        // Verified fragments all lie on one codeword (fpc): ours is not on it.
                        Some(Err(ReadError::Unrepairable))
                    }
                }
                // A set that does not span our row (pyramid codes): ask one more holder.
                Err(_) if r.got.len() < n - 1 => return self.widen_read(read),
                Err(_) => Some(Err(ReadError::Unavailable)),
            }
        } else if r.failed.len() + code.reconstruct_from() > n || (r.asked.len() == n && !outstanding) {
            Some(Err(ReadError::Unavailable))
        } else {
            None
        };
        let Some(result) = result else { return step };
        if let Some(r) = self.reads.remove(&read) {
            step.output.push(Output::Repaired(RepairOutcome {
                read,
                id: r.id,
                result,
                nodes_contacted: r.asked.len().saturating_sub(1),
                bytes_fetched: r.bytes_fetched,
            }));
        }
        step
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
    type Output = Output;
    type Error = BeatError;

    /// Reads (`Read`, `RetryReads`) never move consensus: they commit and propose nothing, so
    /// a node runtime can serve them without logging them, and replaying its log still rebuilds
    /// exactly the consensus state it had.
    fn handle_input(&mut self, input: Input, rng: &mut dyn rand_core::CryptoRngCore) -> Result<BeatStep, BeatError> {
        let step = match input {
            Input::Submit(tx) => {
                // With a resumed proposal pending, checked first, so a refusal cannot lose it.
                if self.resumed_proposal.is_some() {
                    self.check_submit(&tx)?;
                }
                let step = self.resume_proposal(rng)?;
                self.submit(tx)?;
                step
            }
            Input::Propose => {
                let mut step = self.resume_proposal(rng)?;
                step.extend(self.maybe_propose(true, rng)?);
                step
            }
            Input::Read { id, range } => return Ok(self.start_read(id, range, false, rng)),
            Input::Repair { id } => return Ok(self.start_read(id, None, true, rng)),
            Input::RetryReads => return Ok(self.retry_reads()),
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
        // Read traffic never moves consensus (see `handle_input`).
        if msg.is_read() {
            return self.dispatch(from, msg, rng);
        }
        let mut step = self.resume_proposal(rng)?;
        step.extend(self.dispatch(from, msg, rng)?);
        self.finish(step, rng)
    }

    fn terminated(&self) -> bool {
        false
    }
}
