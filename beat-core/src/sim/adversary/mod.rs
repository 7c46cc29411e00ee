//! Named Byzantine adversaries.
//!
//! An adversary controls (a) the *Byzantine nodes*, which run the honest state machine but
//! whose every outgoing message passes through [`Adversary::tamper`], which may change, drop
//! or multiply it, and may inject messages of their own through [`Adversary::observe`], and
//! (b) the *network schedule* through [`Adversary::delay`]. Crashed nodes stop at a time.
//! Every adversary stops interfering with the network at [`Adversary::quiet_after`]; the
//! Byzantine nodes stay Byzantine to the end.

mod agreement;
mod broadcast;
mod common;
mod config;
mod decryption;
mod network;
mod storage;

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use crate::beat::{Message, NodeKeys, Variant};
use crate::proto::Target;
use crate::NodeId;

use agreement::{bad_coin::BadCoin, coin_steering::CoinSteering};
use broadcast::{bad_fragment::BadFragment, equivocator::Equivocator, inconsistent_fragments::InconsistentFragments};
use common::{Carrier, Snoop, Split};
use config::mismatched_settings::MismatchedSettings;
use decryption::{bad_dec_share::BadDec, crafted_kappa::CraftedKappa, malformed_ciphertext::Malformed};
use network::{censor::Censor, crash::Crash, dropper::Dropper, honest::Honest, partition::Partition, reorder::Reorder};
use storage::{byzantine_holder::WrongReadData, silent_holders::SilentHolders};

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
    /// The consensus settings `node` runs with, if not the committee's (a misconfigured member).
    fn settings(&self, _node: NodeId, _committee: &crate::beat::Settings) -> Option<crate::beat::Settings> {
        None
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
    /// BEAT0–2: a Byzantine proposer (or client) crafts a ciphertext whose key commitment opens
    /// with one honest node's share and a forged share, and sends the forged share to that node
    /// only (see `decryption/crafted_kappa.rs`).
    CraftedKappa,
    /// `f` members run with consensus settings other than the committee's; their session differs,
    /// so the others never accept their traffic (see `config/mismatched_settings.rs`).
    MismatchedSettings,
    /// Canary: `f + 1` colluding nodes split a broadcast; the checker must catch it.
    Canary,
}

impl AdversaryKind {
    /// Every adversary except the canary.
    pub const ALL: [AdversaryKind; 18] = [
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
        AdversaryKind::CraftedKappa,
        AdversaryKind::MismatchedSettings,
    ];

    /// Whether the adversary attacks something `variant` has (decryption shares and
    /// ciphertexts need encryption; fragment attacks need an erasure-coded broadcast).
    pub fn applies_to(self, variant: Variant) -> bool {
        match self {
            AdversaryKind::BadDecShare | AdversaryKind::MalformedCiphertext | AdversaryKind::CraftedKappa => {
                variant.encrypted()
            }
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
            AdversaryKind::CraftedKappa => "crafted-kappa",
            AdversaryKind::MismatchedSettings => "mismatched-settings",
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
            AdversaryKind::MismatchedSettings => Box::new(MismatchedSettings { faulty, kind: rng.gen_range(0..4) }),
            AdversaryKind::CraftedKappa => {
                let victim = (0..n).find(|i| !faulty.contains(i)).expect("n > f");
                Box::new(CraftedKappa { faulty, victim, chosen: HashMap::new(), carrier: Carrier::default() })
            }
            AdversaryKind::CoinSteering => {
                Box::new(CoinSteering { faulty, split: Split { n, quiet }, learned: HashMap::new() })
            }
        }
    }
}
