//! Named Byzantine adversaries.
//!
//! An adversary controls (a) the *Byzantine nodes*, which run the honest state machine but
//! whose every outgoing message passes through [`Adversary::tamper`], which may change, drop
//! or multiply it, and may inject messages of their own through [`Adversary::observe`], and
//! (b) the *network schedule* through [`Adversary::delay`]. Crashed nodes stop at a time.
//! Every adversary stops interfering with the network at [`Adversary::quiet_after`]; the
//! Byzantine nodes stay Byzantine to the end.

use std::collections::HashMap;

use bls12_381::{G2Affine, G2Projective, Scalar};
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use crate::beat::batch::Contribution;
use crate::beat::client::{Client, ClientTransaction};
use crate::beat::node::proposal_label;
use crate::beat::{Content, Message, NodeKeys, Variant};
use crate::codec;
use crate::crypto::coin::{CoinName, CoinShare};
use crate::crypto::elgamal::{Ciphertext, DecryptionShare};
use crate::crypto::erasure::Code;
use crate::crypto::fpc::CrossChecksum;
use crate::crypto::hash::{Digest, Domain};
use crate::crypto::merkle::MerkleTree;
use crate::proto::aba::{AbaContent, AbaMessage, BoolSet, COIN_PROTOCOL, FIXED_COIN_ROUNDS};
use crate::proto::acs::{AcsContent, AcsMessage};
use crate::proto::avid::{AvidMessage, Fragment};
use crate::proto::avid_fp::{fpc_context, AvidFpMessage, DispersalCode};
use crate::proto::broadcast::BroadcastMessage;
use crate::proto::rbc::{value_digest, RbcMessage};
use crate::proto::Target;
use crate::{NodeId, Params};

/// Everything an adversary may use: all keys (it knows the Byzantine nodes' secrets; the
/// others are only used as the simulator's oracle for values the adversary could compute),
/// randomness, the clock, and a way to register made-up transactions as allowed.
pub struct Ctx<'a> {
    /// The variant the committee runs.
    pub variant: Variant,
    /// All nodes' keys.
    pub keys: &'a [NodeKeys],
    /// The adversary's randomness (derived from the run seed).
    pub rng: &'a mut ChaCha20Rng,
    /// Virtual time now.
    pub now: u64,
    /// Transactions the adversary made up (a Byzantine proposer may propose anything).
    pub invented: &'a mut Vec<Vec<u8>>,
    /// Messages tampered, dropped or injected so far.
    pub injected: &'a mut u64,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("now", &self.now).field("injected", &self.injected).finish_non_exhaustive()
    }
}

/// An extra message a Byzantine node sends.
pub type Injected = (NodeId, Target, Message);

/// A Byzantine adversary.
pub trait Adversary {
    /// The adversary's name (as in `--adversary NAME`).
    fn name(&self) -> &'static str;
    /// The nodes it controls (Byzantine or crashing).
    fn faulty(&self) -> Vec<NodeId>;
    /// What Byzantine node `from` really sends to `to` instead of `msg`.
    fn tamper(&mut self, _ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        vec![msg]
    }
    /// Sees every message a correct node sends (the adversary reads the network); may inject
    /// messages from Byzantine nodes.
    fn observe(&mut self, _ctx: &mut Ctx<'_>, _from: NodeId, _msg: &Message) -> Vec<Injected> {
        Vec::new()
    }
    /// The delivery delay of a message, given the network's own `base` delay.
    fn delay(&mut self, _ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, _msg: &Message, base: u64) -> u64 {
        base
    }
    /// The time `node` crashes, if it does.
    fn crash_time(&self, _node: NodeId) -> Option<u64> {
        None
    }
    /// When the network interference ends.
    fn quiet_after(&self) -> u64 {
        0
    }
    /// Whether this adversary is a canary: more than `f` Byzantine nodes, expected to break safety.
    fn canary(&self) -> bool {
        false
    }
}

/// The named adversaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdversaryKind {
    /// No fault: all nodes correct, random delays.
    None,
    /// `f` nodes crash at random times.
    Crash,
    /// `f` nodes never send anything.
    Silent,
    /// `f` nodes drop each outgoing message with probability 1/2.
    Omission,
    /// Reordering: a fifth of all messages are delayed 10–100× the median delay.
    Reorder,
    /// `f` Byzantine proposers send one valid proposal to some nodes and another to the rest,
    /// and echo accordingly.
    EquivocatingProposer,
    /// `f` nodes send invalid coin shares (random points and shares for other rounds).
    BadCoinShare,
    /// `f` nodes send invalid decryption shares.
    BadDecShare,
    /// `f` proposers broadcast malformed ciphertexts: garbage, a broken proof, or a replayed
    /// correct node's ciphertext (wrong label).
    MalformedCiphertext,
    /// The network splits in two groups until a heal time.
    Partition,
    /// The scripted attack on the ABA coin (HoneyBadgerBFT issue 59): Byzantine nodes vote
    /// both values, hold their Aux/Conf until they can compute the round's coin, then vote
    /// against it, while the scheduler slows correct nodes' Aux/Conf.
    CoinSteering,
    /// AVID: `f` nodes echo fragments whose Merkle branches fail, and as proposers send a
    /// corrupted fragment to one node.
    BadFragment,
    /// AVID: `f` proposers disperse fragments each valid against the root that do not form
    /// one codeword.
    InconsistentFragments,
    /// BEAT3/4: `f` holders answer reads with altered fragments or chunks.
    ByzantineHolder,
    /// BEAT3/4: `f` holders never answer reads.
    SilentHolders,
    /// The three-network switch under a censor: every message travels on clearnet, Tor and
    /// I2P with separate delays; a schedule blocks networks (at some nodes or everywhere, at
    /// times all three) until a heal time. A copy on a blocked network arrives after it
    /// reopens (the switch resends on reconnection); the first copy in wins.
    Censor,
    /// Canary: `f + 1` colluding nodes split a broadcast; the checker must catch it.
    Canary,
}

impl AdversaryKind {
    /// Every adversary except the canary.
    pub const ALL: [AdversaryKind; 16] = [
        AdversaryKind::None,
        AdversaryKind::Crash,
        AdversaryKind::Silent,
        AdversaryKind::Omission,
        AdversaryKind::Reorder,
        AdversaryKind::EquivocatingProposer,
        AdversaryKind::BadCoinShare,
        AdversaryKind::BadDecShare,
        AdversaryKind::MalformedCiphertext,
        AdversaryKind::Partition,
        AdversaryKind::CoinSteering,
        AdversaryKind::BadFragment,
        AdversaryKind::InconsistentFragments,
        AdversaryKind::ByzantineHolder,
        AdversaryKind::SilentHolders,
        AdversaryKind::Censor,
    ];

    /// Whether the adversary attacks something `variant` has (decryption shares and
    /// ciphertexts need encryption; fragment attacks need an erasure-coded broadcast).
    pub fn applies_to(self, variant: Variant) -> bool {
        match self {
            AdversaryKind::BadDecShare | AdversaryKind::MalformedCiphertext => variant.encrypted(),
            AdversaryKind::BadFragment | AdversaryKind::InconsistentFragments => variant != Variant::Beat0,
            AdversaryKind::ByzantineHolder | AdversaryKind::SilentHolders => variant.dispersed(),
            _ => true,
        }
    }

    /// The adversaries that apply to `variant`, in [`AdversaryKind::ALL`] order.
    pub fn for_variant(variant: Variant) -> Vec<AdversaryKind> {
        Self::ALL.into_iter().filter(|k| k.applies_to(variant)).collect()
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            AdversaryKind::None => "none",
            AdversaryKind::Crash => "crash",
            AdversaryKind::Silent => "silent",
            AdversaryKind::Omission => "omission",
            AdversaryKind::Reorder => "reorder",
            AdversaryKind::EquivocatingProposer => "equivocating-proposer",
            AdversaryKind::BadCoinShare => "bad-coin-share",
            AdversaryKind::BadDecShare => "bad-dec-share",
            AdversaryKind::MalformedCiphertext => "malformed-ciphertext",
            AdversaryKind::Partition => "partition",
            AdversaryKind::CoinSteering => "coin-steering",
            AdversaryKind::BadFragment => "bad-fragment",
            AdversaryKind::InconsistentFragments => "inconsistent-fragments",
            AdversaryKind::ByzantineHolder => "byzantine-holder",
            AdversaryKind::SilentHolders => "silent-holders",
            AdversaryKind::Censor => "censor",
            AdversaryKind::Canary => "canary",
        }
    }

    /// Parse a command-line name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().chain([AdversaryKind::Canary]).find(|k| k.name() == s)
    }

    /// Build the adversary for a committee of `n` tolerating `f`.
    pub fn build(self, n: usize, f: usize, rng: &mut ChaCha20Rng) -> Box<dyn Adversary> {
        // The faulty nodes: a random f-subset (f+1 for the canary).
        let count = if self == AdversaryKind::Canary { f + 1 } else { f };
        // Faulty holders hold data fragments (indices below n − 2f − 1 ≤ k), which readers ask
        // first, so that every read meets them.
        let pool = match self {
            AdversaryKind::ByzantineHolder | AdversaryKind::SilentHolders => n - 2 * f - 1,
            _ => n,
        };
        let mut faulty: Vec<NodeId> = rand::seq::index::sample(rng, pool, count).into_vec();
        faulty.sort_unstable();
        let quiet = rng.gen_range(200..800);
        match self {
            AdversaryKind::None => Box::new(Honest { quiet: 0 }),
            AdversaryKind::Crash => {
                let times = faulty.iter().map(|&i| (i, rng.gen_range(0..quiet))).collect();
                Box::new(Crash { times })
            }
            AdversaryKind::Silent => Box::new(Dropper { name: "silent", faulty, prob: 1.0 }),
            AdversaryKind::Omission => Box::new(Dropper { name: "omission", faulty, prob: 0.5 }),
            AdversaryKind::Reorder => Box::new(Reorder { quiet }),
            AdversaryKind::EquivocatingProposer => {
                Box::new(Equivocator { faulty, n, canary: false, alt: HashMap::new(), carrier: Carrier::default() })
            }
            AdversaryKind::Canary => {
                Box::new(Equivocator { faulty, n, canary: true, alt: HashMap::new(), carrier: Carrier::default() })
            }
            AdversaryKind::BadCoinShare => Box::new(BadCoin { faulty, split: Split { n, quiet } }),
            AdversaryKind::BadDecShare => Box::new(BadDec { faulty }),
            AdversaryKind::MalformedCiphertext => Box::new(Malformed {
                faulty,
                n,
                snoop: Snoop::default(),
                chosen: HashMap::new(),
                carrier: Carrier::default(),
            }),
            AdversaryKind::Partition => {
                let mut side = vec![false; n];
                let k = rng.gen_range(1..n);
                for i in rand::seq::index::sample(rng, n, k) {
                    side[i] = true;
                }
                Box::new(Partition { side, heal: quiet })
            }
            AdversaryKind::BadFragment => Box::new(BadFragment { faulty }),
            AdversaryKind::ByzantineHolder => Box::new(WrongReadData { faulty }),
            AdversaryKind::SilentHolders => Box::new(SilentHolders { faulty }),
            AdversaryKind::InconsistentFragments => {
                Box::new(InconsistentFragments { faulty, n, chosen: HashMap::new() })
            }
            AdversaryKind::Censor => Box::new(Censor::new(n, quiet, rng)),
            AdversaryKind::CoinSteering => {
                Box::new(CoinSteering { faulty, split: Split { n, quiet }, learned: HashMap::new() })
            }
        }
    }
}

struct Honest {
    quiet: u64,
}

impl Adversary for Honest {
    fn name(&self) -> &'static str {
        "none"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn quiet_after(&self) -> u64 {
        self.quiet
    }
}

struct Crash {
    times: Vec<(NodeId, u64)>,
}

impl Adversary for Crash {
    fn name(&self) -> &'static str {
        "crash"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.times.iter().map(|t| t.0).collect()
    }
    fn crash_time(&self, node: NodeId) -> Option<u64> {
        self.times.iter().find(|t| t.0 == node).map(|t| t.1)
    }
    fn quiet_after(&self) -> u64 {
        self.times.iter().map(|t| t.1).max().unwrap_or(0)
    }
}

struct Dropper {
    name: &'static str,
    faulty: Vec<NodeId>,
    prob: f64,
}

impl Adversary for Dropper {
    fn name(&self) -> &'static str {
        self.name
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        if ctx.rng.gen_bool(self.prob) {
            *ctx.injected += 1;
            Vec::new()
        } else {
            vec![msg]
        }
    }
}

struct Reorder {
    quiet: u64,
}

impl Adversary for Reorder {
    fn name(&self) -> &'static str {
        "reorder"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, _: NodeId, _: NodeId, _: &Message, base: u64) -> u64 {
        if ctx.now < self.quiet && ctx.rng.gen_ratio(1, 5) {
            *ctx.injected += 1;
            base * ctx.rng.gen_range(10..=100)
        } else {
            base
        }
    }
    fn quiet_after(&self) -> u64 {
        self.quiet
    }
}

struct Partition {
    side: Vec<bool>,
    heal: u64,
}

impl Adversary for Partition {
    fn name(&self) -> &'static str {
        "partition"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, _: &Message, base: u64) -> u64 {
        if ctx.now < self.heal && self.side[from] != self.side[to] {
            *ctx.injected += 1;
            self.heal - ctx.now + base
        } else {
            base
        }
    }
    fn quiet_after(&self) -> u64 {
        self.heal
    }
}

/// Networks of the switch (clearnet, Tor, I2P).
const NETWORKS: usize = 3;
/// Ticks a link takes to come back after its network reopens (redial with backoff).
const RECONNECT: u64 = 15;

/// One censorship phase: from `start`, network `k` is blocked at the nodes in `blocked[k]`.
struct Phase {
    start: u64,
    blocked: [Vec<bool>; NETWORKS],
}

struct Censor {
    phases: Vec<Phase>,
    heal: u64,
}

impl Censor {
    fn new(n: usize, heal: u64, rng: &mut ChaCha20Rng) -> Self {
        let mut phases = Vec::new();
        let mut t = 0;
        while t < heal {
            let all_blocked = rng.gen_bool(0.2);
            let blocked = std::array::from_fn(|_| {
                if all_blocked {
                    return vec![true; n];
                }
                match rng.gen_range(0..3) {
                    0 => vec![false; n],
                    1 => vec![true; n],
                    _ => (0..n).map(|_| rng.gen_bool(0.5)).collect(),
                }
            });
            phases.push(Phase { start: t, blocked });
            t += rng.gen_range(30..150);
        }
        Censor { phases, heal }
    }

    /// Whether network `k` is blocked between `a` and `b` at time `t`.
    fn blocked(&self, k: usize, a: NodeId, b: NodeId, t: u64) -> bool {
        if t >= self.heal {
            return false;
        }
        let phase = self.phases.iter().rev().find(|p| p.start <= t);
        phase.is_some_and(|p| p.blocked[k][a] || p.blocked[k][b])
    }

    /// When network `k` next carries traffic between `a` and `b`, from `t` on.
    fn open_at(&self, k: usize, a: NodeId, b: NodeId, t: u64) -> u64 {
        if !self.blocked(k, a, b, t) {
            return t;
        }
        let next = self.phases.iter().map(|p| p.start).filter(|s| *s > t).chain([self.heal]);
        next.into_iter().find(|s| !self.blocked(k, a, b, *s)).unwrap_or(self.heal) + RECONNECT
    }
}

impl Adversary for Censor {
    fn name(&self) -> &'static str {
        "censor"
    }
    fn faulty(&self) -> Vec<NodeId> {
        Vec::new()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, _: &Message, base: u64) -> u64 {
        let now = ctx.now;
        // Each network has its own latency (Tor and I2P are slower than clearnet).
        let arrivals = (0..NETWORKS).map(|k| {
            let own = if k == 0 { base } else { base + ctx.rng.gen_range(0..=20 * k as u64) };
            self.open_at(k, from, to, now) + own
        });
        let first = arrivals.min().unwrap_or(now + base);
        if first > now + base {
            *ctx.injected += 1;
        }
        first - now
    }
    fn quiet_after(&self) -> u64 {
        self.heal
    }
}

/// Whether `msg` is proposer `p`'s broadcast traffic, and which kind.
fn bc_of(msg: &Message) -> Option<(NodeId, &BroadcastMessage)> {
    match &msg.content {
        Content::Acs(AcsMessage { proposer, content: AcsContent::Broadcast(m) }) => Some((*proposer, m)),
        _ => None,
    }
}

fn with_bc(epoch: u64, proposer: NodeId, m: BroadcastMessage) -> Message {
    Message { epoch, content: Content::Acs(AcsMessage { proposer, content: AcsContent::Broadcast(m) }) }
}

/// An erasure-coded dispersal of a value, as a Byzantine proposer prepares it.
struct Dispersal {
    fragments: Vec<Vec<u8>>,
    tree: MerkleTree,
}

impl Dispersal {
    fn new(fragments: Vec<Vec<u8>>) -> Self {
        let tree = MerkleTree::new(&fragments);
        Dispersal { fragments, tree }
    }

    fn fragment(&self, j: NodeId) -> Fragment {
        Fragment { root: self.tree.root(), data: self.fragments[j].clone(), proof: self.tree.proof(j) }
    }
}

/// The AVID-FP code and cross-checksum context of `variant` (BEAT3/4).
fn fp_code(variant: Variant, n: usize) -> DispersalCode {
    let params = Params::new(n).expect("n ≥ 4");
    let code =
        if variant == Variant::Beat4 { DispersalCode::pyramid(params) } else { DispersalCode::reed_solomon(params) };
    code.expect("valid params")
}

/// A Byzantine disperser's cross-checksum over `fragments` (consistent or not).
fn fp_checksum(ctx: &Ctx<'_>, epoch: u64, proposer: NodeId, fragments: &[Vec<u8>]) -> CrossChecksum {
    let code = fp_code(ctx.variant, ctx.keys.len());
    let context = fpc_context(&ctx.keys[0].public.session, epoch, proposer);
    CrossChecksum::build(code.linear(), code.commitment(), &context, fragments).expect("fragments of the code")
}

/// AVID / AVID-FP traffic of a Byzantine proposer dispersing `fragments` (AVID: under a Merkle
/// tree; AVID-FP: under a cross-checksum): `Val` to `to` carries fragment `to`, `Echo` from
/// `from` carries fragment `from` (AVID) or the cross-checksum (AVID-FP).
fn dispersal_traffic(
    ctx: &Ctx<'_>,
    epoch: u64,
    proposer: NodeId,
    m: &BroadcastMessage,
    from: NodeId,
    to: NodeId,
    d: &Dispersal,
) -> BroadcastMessage {
    match m {
        BroadcastMessage::Rbc(m) => BroadcastMessage::Rbc(m.clone()),
        BroadcastMessage::Avid(m) => BroadcastMessage::Avid(match m {
            AvidMessage::Val(_) => AvidMessage::Val(d.fragment(to)),
            AvidMessage::Echo(_) => AvidMessage::Echo(d.fragment(from)),
            AvidMessage::Ready(_) => AvidMessage::Ready(d.tree.root()),
        }),
        BroadcastMessage::AvidFp(m) => {
            let cc = fp_checksum(ctx, epoch, proposer, &d.fragments);
            BroadcastMessage::AvidFp(match m {
                AvidFpMessage::Val { .. } => AvidFpMessage::Val { cc, fragment: d.fragments[to].clone() },
                AvidFpMessage::Echo(_) => AvidFpMessage::Echo(cc),
                AvidFpMessage::Ready(_) => AvidFpMessage::Ready(cc.digest()),
            })
        }
    }
}

/// Rewrites a Byzantine proposer's broadcast traffic so that it carries another value: for
/// RBC the value itself, for AVID and AVID-FP that value's dispersal.
#[derive(Default)]
struct Carrier {
    dispersals: HashMap<Digest, Dispersal>,
}

impl Carrier {
    fn code(n: usize) -> Code {
        let f = (n - 1) / 3;
        Code::new(n - 2 * f, n).expect("n ≥ 4")
    }

    /// The fragments of `v` under the variant's code.
    fn fragments(variant: Variant, n: usize, v: &[u8]) -> Vec<Vec<u8>> {
        if variant.dispersed() {
            fp_code(variant, n).linear().encode(v)
        } else {
            Self::code(n).encode(v)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn carry(
        &mut self,
        ctx: &Ctx<'_>,
        epoch: u64,
        proposer: NodeId,
        m: &BroadcastMessage,
        from: NodeId,
        to: NodeId,
        v: &[u8],
    ) -> BroadcastMessage {
        if let BroadcastMessage::Rbc(m) = m {
            return BroadcastMessage::Rbc(match m {
                RbcMessage::Val(_) => RbcMessage::Val(v.to_vec()),
                RbcMessage::Echo(_) => RbcMessage::Echo(v.to_vec()),
                RbcMessage::Ready(_) => RbcMessage::Ready(value_digest(v)),
            });
        }
        let n = ctx.keys.len();
        let variant = ctx.variant;
        let d =
            self.dispersals.entry(value_digest(v)).or_insert_with(|| Dispersal::new(Self::fragments(variant, n, v)));
        dispersal_traffic(ctx, epoch, proposer, m, from, to, d)
    }
}

/// A valid proposal of `proposer` for `epoch` with made-up transactions: an encrypted batch
/// for BEAT0/1, a batch of client-encrypted transactions (from a made-up client) for BEAT2, a
/// plain batch for BEAT3/4.
fn forged_proposal(ctx: &mut Ctx<'_>, epoch: u64, proposer: NodeId) -> Vec<u8> {
    let keys = &ctx.keys[proposer];
    let tx: Vec<u8> = format!("forged-{epoch}-{proposer}-{}", ctx.rng.gen::<u32>()).into_bytes();
    ctx.invented.push(tx.clone());
    if ctx.variant.client_encrypted() {
        let mut client = Client::new(keys.public.clone(), (1 << 40) + ctx.rng.gen::<u32>() as u64);
        return Contribution::encode(&[client.encrypt(&tx, ctx.rng)]);
    }
    if ctx.variant.dispersed() {
        return Contribution::encode(&[tx]);
    }
    let plaintext = Contribution::encode(&[tx]);
    let label = proposal_label(&keys.public.session, epoch, proposer);
    let ct = keys.public.encryption.encrypt(&label, &plaintext, ctx.rng);
    codec::encode(&ct)
}

/// Equivocating proposers (and, with `f + 1` nodes, the canary coalition): every faulty
/// proposer's broadcast carries value A to the first half of the correct nodes and value B to
/// the others; all faulty nodes echo and ready per recipient accordingly.
struct Equivocator {
    faulty: Vec<NodeId>,
    n: usize,
    canary: bool,
    alt: HashMap<(u64, NodeId), (Vec<u8>, Vec<u8>)>,
    carrier: Carrier,
}

impl Equivocator {
    fn group_b(&self, to: NodeId) -> bool {
        let correct: Vec<NodeId> = (0..self.n).filter(|i| !self.faulty.contains(i)).collect();
        correct.iter().position(|c| *c == to).is_some_and(|pos| pos >= correct.len() / 2)
    }
}

impl Adversary for Equivocator {
    fn name(&self) -> &'static str {
        if self.canary {
            "canary"
        } else {
            "equivocating-proposer"
        }
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn canary(&self) -> bool {
        self.canary
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        if !self.faulty.contains(&p) {
            return vec![msg];
        }
        let e = msg.epoch;
        let in_b = self.group_b(to);
        let (a, b) = self.alt.entry((e, p)).or_insert_with(|| (forged_proposal(ctx, e, p), forged_proposal(ctx, e, p)));
        let v = if in_b { b } else { a };
        *ctx.injected += 1;
        vec![with_bc(e, p, self.carrier.carry(ctx, e, p, m, from, to, v))]
    }
}

/// A schedule that splits agreement inputs: in every epoch, one proposer's broadcast reaches
/// half of the nodes 50–100× late, so those nodes vote 0 for it (after `n − f` other
/// agreements decided 1) while the rest vote 1. Split inputs push ABA past the fixed-coin
/// rounds into the threshold coin, which is what the coin adversaries attack.
struct Split {
    n: usize,
    quiet: u64,
}

impl Split {
    fn delay(&self, ctx: &mut Ctx<'_>, to: NodeId, msg: &Message, base: u64) -> u64 {
        if ctx.now >= self.quiet {
            return base;
        }
        match bc_of(msg) {
            Some((p, _)) if p == msg.epoch as usize % self.n && (to + msg.epoch as usize) % 2 == 0 => {
                *ctx.injected += 1;
                base * ctx.rng.gen_range(50..=100)
            }
            _ => base,
        }
    }
}

struct BadCoin {
    faulty: Vec<NodeId>,
    split: Split,
}

impl Adversary for BadCoin {
    fn name(&self) -> &'static str {
        "bad-coin-share"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, to: NodeId, msg: &Message, base: u64) -> u64 {
        self.split.delay(ctx, to, msg, base)
    }
    fn quiet_after(&self) -> u64 {
        self.split.quiet
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        let Content::Acs(AcsMessage {
            proposer,
            content: AcsContent::Aba(AbaMessage { round, content: AbaContent::Coin(_) }),
        }) = &msg.content
        else {
            return vec![msg];
        };
        *ctx.injected += 1;
        let share = if ctx.rng.gen_bool(0.5) {
            // A random point.
            CoinShare(G2Affine::from(G2Projective::generator() * Scalar::from(ctx.rng.gen::<u64>())))
        } else {
            // A genuine share for the wrong round.
            let keys = &ctx.keys[from];
            let domain = Domain {
                protocol: COIN_PROTOCOL,
                session: &keys.public.session,
                epoch: msg.epoch,
                instance: *proposer as u64,
            };
            keys.coin_secret.sign(&CoinName { domain, round: round + 1 })
        };
        let content = AbaContent::Coin(share);
        vec![Message {
            epoch: msg.epoch,
            content: Content::Acs(AcsMessage {
                proposer: *proposer,
                content: AcsContent::Aba(AbaMessage { round: *round, content }),
            }),
        }]
    }
}

struct BadDec {
    faulty: Vec<NodeId>,
}

impl Adversary for BadDec {
    fn name(&self) -> &'static str {
        "bad-dec-share"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        let Content::DecShares { proposer, shares } = &msg.content else { return vec![msg] };
        if shares.is_empty() {
            return vec![msg];
        }
        *ctx.injected += 1;
        let mut bad: Vec<DecryptionShare> = shares.clone();
        let t = ctx.rng.gen_range(0..bad.len());
        if ctx.rng.gen_bool(0.5) {
            bad[t].u_i = (curve25519_dalek::RistrettoPoint::random(ctx.rng)).compress();
        } else {
            bad[t].z += curve25519_dalek::Scalar::ONE;
        }
        vec![Message { epoch: msg.epoch, content: Content::DecShares { proposer: *proposer, shares: bad } }]
    }
}

/// Reassembles correct nodes' proposals from the traffic it sees: RBC `Val`s directly, AVID
/// values from `k` echoed fragments of one root.
#[derive(Default)]
struct Snoop {
    fragments: HashMap<Digest, Vec<Option<Vec<u8>>>>,
    last: Option<Vec<u8>>,
}

impl Snoop {
    fn observe(&mut self, n: usize, from: NodeId, msg: &Message) {
        match bc_of(msg) {
            Some((_, BroadcastMessage::Rbc(RbcMessage::Val(v)))) => self.last = Some(v.clone()),
            Some((_, BroadcastMessage::Avid(AvidMessage::Echo(f)))) => {
                let slots = self.fragments.entry(f.root).or_insert_with(|| vec![None; n]);
                slots[from] = Some(f.data.clone());
                let have: Vec<(usize, &[u8])> =
                    slots.iter().enumerate().filter_map(|(j, d)| Some((j, d.as_deref()?))).collect();
                let code = Carrier::code(n);
                if have.len() == code.k() {
                    self.last = code.decode(&have).ok();
                }
            }
            _ => {}
        }
    }
}

struct Malformed {
    faulty: Vec<NodeId>,
    n: usize,
    snoop: Snoop,
    chosen: HashMap<(u64, NodeId), Vec<u8>>,
    carrier: Carrier,
}

impl Malformed {
    /// A malformed proposal: garbage, a ciphertext whose proof fails, or a replay of a correct
    /// node's proposal (whose ciphertext carries that node's label). For BEAT2, a batch mixing
    /// one valid client transaction with garbage, a broken proof and a relabelled ciphertext.
    fn proposal(&self, ctx: &mut Ctx<'_>, e: u64, p: NodeId) -> Vec<u8> {
        let broken = |ct: &mut Ciphertext| {
            if let Some(b) = ct.payload.first_mut() {
                *b ^= 1;
            }
        };
        if ctx.variant.client_encrypted() {
            let valid = forged_proposal(ctx, e, p);
            let Ok(batch) = Contribution::decode(&valid, usize::MAX, 16, usize::MAX) else { return valid };
            let mut txs = batch.clone();
            txs.push((0..ctx.rng.gen_range(0..100)).map(|_| ctx.rng.gen()).collect());
            if let Ok(mut ctx_tx) = ClientTransaction::decode(&batch[0], usize::MAX) {
                ctx_tx.client += 1; // relabelled: the label no longer matches
                txs.push(codec::encode(&ctx_tx));
                ctx_tx.client -= 1;
                ctx_tx.seq += 1;
                broken(&mut ctx_tx.ciphertext);
                txs.push(codec::encode(&ctx_tx));
            }
            return Contribution::encode(&txs);
        }
        match ctx.rng.gen_range(0..3) {
            0 => (0..ctx.rng.gen_range(0..200)).map(|_| ctx.rng.gen()).collect(),
            1 => {
                let v = forged_proposal(ctx, e, p);
                match codec::decode::<Ciphertext>(&v, usize::MAX) {
                    Ok(mut ct) => {
                        broken(&mut ct);
                        codec::encode(&ct)
                    }
                    Err(_) => v,
                }
            }
            _ => self.snoop.last.clone().unwrap_or_else(|| vec![0xff; 3]),
        }
    }
}

impl Adversary for Malformed {
    fn name(&self) -> &'static str {
        "malformed-ciphertext"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn observe(&mut self, _ctx: &mut Ctx<'_>, from: NodeId, msg: &Message) -> Vec<Injected> {
        self.snoop.observe(self.n, from, msg);
        Vec::new()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        if !self.faulty.contains(&p) {
            return vec![msg];
        }
        let e = msg.epoch;
        if !self.chosen.contains_key(&(e, p)) {
            let bad = self.proposal(ctx, e, p);
            self.chosen.insert((e, p), bad);
        }
        *ctx.injected += 1;
        let v = self.chosen[&(e, p)].clone();
        vec![with_bc(e, p, self.carrier.carry(ctx, e, p, m, from, to, &v))]
    }
}

/// AVID: faulty nodes echo corrupted fragments (their Merkle branches fail), and as proposers
/// send one node a corrupted fragment.
struct BadFragment {
    faulty: Vec<NodeId>,
}

fn flip(data: &mut Vec<u8>, rng: &mut ChaCha20Rng) {
    match data.len() {
        0 => data.push(1),
        len => data[rng.gen_range(0..len)] ^= 1 << rng.gen_range(0..8),
    }
}

impl Adversary for BadFragment {
    fn name(&self) -> &'static str {
        "bad-fragment"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        let victim = to == (p + 1) % ctx.keys.len();
        let out = match m {
            BroadcastMessage::Avid(AvidMessage::Echo(f)) => {
                let mut f = f.clone();
                flip(&mut f.data, ctx.rng);
                BroadcastMessage::Avid(AvidMessage::Echo(f))
            }
            BroadcastMessage::Avid(AvidMessage::Val(f)) if victim => {
                let mut f = f.clone();
                flip(&mut f.data, ctx.rng);
                BroadcastMessage::Avid(AvidMessage::Val(f))
            }
            BroadcastMessage::AvidFp(AvidFpMessage::Val { cc, fragment }) if victim => {
                let mut fragment = fragment.clone();
                flip(&mut fragment, ctx.rng);
                BroadcastMessage::AvidFp(AvidFpMessage::Val { cc: cc.clone(), fragment })
            }
            _ => return vec![msg],
        };
        *ctx.injected += 1;
        vec![with_bc(msg.epoch, p, out)]
    }
}

/// AVID / AVID-FP: faulty proposers disperse fragments that are each valid against the Merkle
/// root (AVID) or the cross-checksum's commitments (AVID-FP) but are not one codeword (one
/// parity fragment altered before committing); faulty nodes echo accordingly.
struct InconsistentFragments {
    faulty: Vec<NodeId>,
    n: usize,
    chosen: HashMap<(u64, NodeId), Dispersal>,
}

impl Adversary for InconsistentFragments {
    fn name(&self) -> &'static str {
        "inconsistent-fragments"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
        if !self.faulty.contains(&p) || matches!(m, BroadcastMessage::Rbc(_)) {
            return vec![msg];
        }
        let (e, n) = (msg.epoch, self.n);
        let d = self.chosen.entry((e, p)).or_insert_with(|| {
            let v = forged_proposal(ctx, e, p);
            let mut fragments = Carrier::fragments(ctx.variant, n, &v);
            let k = if ctx.variant.dispersed() { fp_code(ctx.variant, n).linear().k() } else { Carrier::code(n).k() };
            let victim = ctx.rng.gen_range(k..n);
            let len = fragments[victim].len();
            fragments[victim][ctx.rng.gen_range(0..len)] ^= 0x5a;
            Dispersal::new(fragments)
        });
        let out = dispersal_traffic(ctx, e, p, m, from, to, d);
        *ctx.injected += 1;
        vec![with_bc(e, p, out)]
    }
}

/// BEAT3/4: `f` Byzantine holders answer reads with altered fragments or chunks.
struct WrongReadData {
    faulty: Vec<NodeId>,
}

impl Adversary for WrongReadData {
    fn name(&self) -> &'static str {
        "byzantine-holder"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, mut msg: Message) -> Vec<Message> {
        if let Content::ReadResponse { data, .. } = &mut msg.content {
            let mut bytes = data.take().map(|d| d.into_vec()).unwrap_or_default();
            flip(&mut bytes, ctx.rng);
            *data = Some(serde_bytes::ByteBuf::from(bytes));
            *ctx.injected += 1;
        }
        vec![msg]
    }
}

/// BEAT3/4: `f` holders take part in consensus but never answer reads.
struct SilentHolders {
    faulty: Vec<NodeId>,
}

impl Adversary for SilentHolders {
    fn name(&self) -> &'static str {
        "silent-holders"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        if matches!(msg.content, Content::ReadResponse { .. }) {
            *ctx.injected += 1;
            return Vec::new();
        }
        vec![msg]
    }
}

/// The scripted coin attack; see [`AdversaryKind::CoinSteering`].
struct CoinSteering {
    faulty: Vec<NodeId>,
    split: Split,
    /// Coins learned: (epoch, instance, round) → value.
    learned: HashMap<(u64, NodeId, u32), bool>,
}

impl CoinSteering {
    fn aba_of(msg: &Message) -> Option<(NodeId, &AbaMessage)> {
        match &msg.content {
            Content::Acs(AcsMessage { proposer, content: AcsContent::Aba(m) }) => Some((*proposer, m)),
            _ => None,
        }
    }
}

impl Adversary for CoinSteering {
    fn name(&self) -> &'static str {
        "coin-steering"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn quiet_after(&self) -> u64 {
        self.split.quiet
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, _from: NodeId, _to: NodeId, msg: Message) -> Vec<Message> {
        let Some((j, m)) = Self::aba_of(&msg) else { return vec![msg] };
        let wrap = |content| Message {
            epoch: msg.epoch,
            content: Content::Acs(AcsMessage {
                proposer: j,
                content: AcsContent::Aba(AbaMessage { round: m.round, content }),
            }),
        };
        match m.content {
            // Vote for both values, so correct nodes' bin_values fill with {0, 1}.
            AbaContent::BVal(_) => {
                *ctx.injected += 1;
                vec![wrap(AbaContent::BVal(false)), wrap(AbaContent::BVal(true))]
            }
            // Hold Aux/Conf until the coin is known (then `observe` injects the steering votes).
            AbaContent::Aux(_) | AbaContent::Conf(_) if m.round >= FIXED_COIN_ROUNDS => {
                *ctx.injected += 1;
                match self.learned.get(&(msg.epoch, j, m.round)) {
                    Some(&s) => vec![wrap(AbaContent::Aux(!s)), wrap(AbaContent::Conf(BoolSet::single(!s)))],
                    None => Vec::new(),
                }
            }
            _ => vec![msg],
        }
    }
    fn observe(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: &Message) -> Vec<Injected> {
        let Some((j, m)) = Self::aba_of(msg) else { return Vec::new() };
        let AbaContent::Coin(share) = &m.content else { return Vec::new() };
        let key = (msg.epoch, j, m.round);
        if self.learned.contains_key(&key) {
            return Vec::new();
        }
        // f Byzantine shares plus this correct one: the adversary can compute the coin.
        let keys = &ctx.keys[from];
        let domain =
            Domain { protocol: COIN_PROTOCOL, session: &keys.public.session, epoch: msg.epoch, instance: j as u64 };
        let name = CoinName { domain, round: m.round };
        let mut shares: Vec<(NodeId, CoinShare)> =
            self.faulty.iter().map(|&b| (b, ctx.keys[b].coin_secret.sign(&name))).collect();
        shares.push((from, *share));
        let Ok(sig) = keys.public.coin.combine(&shares) else { return Vec::new() };
        let s = sig.bit();
        self.learned.insert(key, s);
        // Every Byzantine node now votes against the coin to everyone.
        let mut out = Vec::new();
        for &b in &self.faulty {
            for content in [AbaContent::Aux(!s), AbaContent::Conf(BoolSet::single(!s))] {
                let aba = AbaMessage { round: m.round, content };
                out.push((
                    b,
                    Target::All,
                    Message {
                        epoch: msg.epoch,
                        content: Content::Acs(AcsMessage { proposer: j, content: AcsContent::Aba(aba) }),
                    },
                ));
            }
        }
        *ctx.injected += out.len() as u64;
        out
    }
    fn delay(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: &Message, base: u64) -> u64 {
        // Slow correct nodes' Aux and Conf so the coin could come out before they are counted.
        if ctx.now < self.split.quiet && !self.faulty.contains(&from) {
            if let Some((_, m)) = Self::aba_of(msg) {
                if matches!(m.content, AbaContent::Aux(_) | AbaContent::Conf(_)) {
                    return base * ctx.rng.gen_range(10..=100);
                }
            }
        }
        self.split.delay(ctx, to, msg, base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn censor_delivers_on_the_first_open_network_and_holds_when_all_are_blocked() {
        let n = 4;
        let open = vec![false; n];
        let all = vec![true; n];
        let censor = Censor {
            phases: vec![
                // 0..100: clearnet and Tor blocked everywhere, I2P open.
                Phase { start: 0, blocked: [all.clone(), all.clone(), open.clone()] },
                // 100..200: everything blocked.
                Phase { start: 100, blocked: [all.clone(), all.clone(), all.clone()] },
                // 200..300: only Tor open.
                Phase { start: 200, blocked: [all.clone(), open.clone(), all.clone()] },
                // 300..: clearnet blocked at node 2 only.
                Phase { start: 300, blocked: [vec![false, false, true, false], open.clone(), open.clone()] },
            ],
            heal: 400,
        };
        assert_eq!(censor.open_at(2, 0, 1, 50), 50, "I2P carries it at once");
        assert_eq!(censor.open_at(0, 0, 1, 50), 300 + RECONNECT, "clearnet reopens at 300");
        assert_eq!(censor.open_at(1, 0, 1, 150), 200 + RECONNECT, "Tor reopens at 200");
        assert_eq!(censor.open_at(2, 0, 1, 150), 300 + RECONNECT);
        assert!(censor.blocked(0, 2, 3, 350) && !censor.blocked(0, 0, 1, 350), "per-node block");
        assert_eq!(censor.open_at(0, 2, 3, 350), 400 + RECONNECT, "healed at 400");
        assert!(!censor.blocked(0, 2, 3, 400));
    }
}
