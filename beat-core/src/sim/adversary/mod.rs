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
mod client;
mod common;
mod config;
mod decryption;
mod network;
pub mod node;
mod storage;

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use crate::beat::{Message, NodeKeys, Variant};
use crate::proto::Target;
use crate::NodeId;

use agreement::{aba_equivocator::AbaEquivocator, bad_coin::BadCoin, coin_steering::CoinSteering};
use broadcast::{
    bad_fragment::BadFragment, broadcast_equivocator::BroadcastEquivocator, equivocator::Equivocator,
    inconsistent_fragments::InconsistentFragments,
};
use client::replay::ClientReplay;
use common::{Carrier, Snoop, Split};
use config::mismatched_settings::MismatchedSettings;
use decryption::{
    bad_dec_share::BadDec, canary_decrypt::CanaryDecrypt, crafted_kappa::CraftedKappa, malformed_ciphertext::Malformed,
    share_equivocator::ShareEquivocator,
};
use network::{
    censor::Censor, crash::Crash, dropper::Dropper, honest::Honest, laggard::Laggard, partition::Partition,
    reorder::Reorder,
};
use storage::{
    byzantine_holder::WrongReadData, data_fragment_corruptor::DataFragmentCorruptor, silent_holders::SilentHolders,
};

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
    /// Every transaction clients submitted so far, as submitted (a member sees them: clients
    /// send to members, and proposals carry them).
    pub submitted: &'a [Vec<u8>],
    /// The committed log so far (what the Byzantine members' own state machines commit).
    pub log: &'a [crate::beat::Batch],
    /// Proposals `(epoch, proposer)` the adversary has decrypted (a canary reports them).
    pub learned: &'a mut Vec<(u64, NodeId)>,
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
    /// BEAT0–2: Byzantine proposers propose committed transactions again, within the
    /// de-duplication window and long after it (see `client/replay.rs`). Runs long.
    ClientReplay,
    /// One correct node hears nothing until a heal time, then everything: it lags more than
    /// `max_future_epochs` behind and works through its future-epoch buffer.
    Laggard,
    /// BEAT3/4: a Byzantine disperser that holds a data fragment commits junk at its own index
    /// with the real data's fingerprints, and serves the junk (see
    /// `storage/data_fragment_corruptor.rs`).
    DataFragmentCorruptor,
    /// `f` members equivocate per recipient in every broadcast instance (Val, Echo, Ready; AVID
    /// fragments of other dispersals; other cross-checksums).
    BroadcastEquivocator,
    /// `f` members equivocate per recipient in every ABA (BVal, Aux, Conf, Term, coin rounds,
    /// far-future rounds).
    AbaEquivocator,
    /// BEAT0–2: `f` members send different decryption-share lists to different recipients.
    ShareEquivocator,
    /// Canary: `f + 1` colluding nodes split a broadcast; the checker must catch it.
    Canary,
    /// Canary (BEAT0–2): `f + 1` colluding members decrypt proposals before the order is fixed;
    /// the checker's confidentiality rule must catch it.
    CanaryDecrypt,
}

impl AdversaryKind {
    /// Every adversary except the canary.
    pub const ALL: [AdversaryKind; 24] = [
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
        AdversaryKind::ClientReplay,
        AdversaryKind::Laggard,
        AdversaryKind::DataFragmentCorruptor,
        AdversaryKind::BroadcastEquivocator,
        AdversaryKind::AbaEquivocator,
        AdversaryKind::ShareEquivocator,
    ];

    /// The canaries: more than `f` faulty nodes, each expected to break a property.
    pub const CANARIES: [AdversaryKind; 2] = [AdversaryKind::Canary, AdversaryKind::CanaryDecrypt];

    /// Whether the adversary attacks something `variant` has (decryption shares and
    /// ciphertexts need encryption; fragment attacks need an erasure-coded broadcast).
    pub fn applies_to(self, variant: Variant) -> bool {
        match self {
            AdversaryKind::BadDecShare
            | AdversaryKind::CanaryDecrypt
            | AdversaryKind::MalformedCiphertext
            | AdversaryKind::CraftedKappa
            | AdversaryKind::ClientReplay
            | AdversaryKind::ShareEquivocator => variant.encrypted(),
            AdversaryKind::BadFragment | AdversaryKind::InconsistentFragments => variant != Variant::Beat0,
            AdversaryKind::ByzantineHolder | AdversaryKind::SilentHolders | AdversaryKind::DataFragmentCorruptor => {
                variant.dispersed()
            }
            _ => true,
        }
    }

    /// The layer it attacks (its folder under `sim/adversary/`).
    pub fn layer(self) -> &'static str {
        use AdversaryKind::*;
        match self {
            None | Crash | Silent | Omission | Reorder | Partition | Censor | Laggard => "network",
            EquivocatingProposer | BadFragment | InconsistentFragments | BroadcastEquivocator | Canary => "broadcast",
            BadCoinShare | CoinSteering | AbaEquivocator => "agreement",
            BadDecShare | MalformedCiphertext | CraftedKappa | ShareEquivocator | CanaryDecrypt => "decryption",
            ByzantineHolder | SilentHolders | DataFragmentCorruptor => "storage",
            ClientReplay => "client",
            MismatchedSettings => "config",
        }
    }

    /// One line saying what it does.
    pub fn describe(self) -> &'static str {
        use AdversaryKind::*;
        match self {
            None => "no fault; random network delays",
            Crash => "f nodes crash at random times",
            Silent => "f nodes never send anything",
            Omission => "f nodes drop each message with probability 1/2",
            Reorder => "a fifth of all messages delayed 10-100x the median",
            Partition => "the network splits in two until a heal time",
            Censor => "clearnet, Tor and I2P blocked per node or everywhere (at times all three); first copy wins",
            Laggard => "one correct node hears nothing until a heal time, then lags past its future-epoch window",
            EquivocatingProposer => "f proposers broadcast value A to half the correct nodes and B to the rest",
            BadFragment => "AVID/AVID-FP fragments whose proofs fail, echoed and as the proposer's Val",
            InconsistentFragments => "fragments that each verify but are not one codeword",
            BadCoinShare => "invalid threshold-coin shares under a schedule that forces coin rounds",
            CoinSteering => "the HoneyBadgerBFT issue-59 attack: learn the coin, then vote against it",
            BadDecShare => "decryption share lists with a wrong share, a broken proof or a missing share",
            MalformedCiphertext => "proposals that are garbage, fail their proof, or carry another's label",
            CraftedKappa => {
                "key commitment crafted to open with one honest share plus forged ones, sent to that node only"
            }
            ByzantineHolder => "holders answer reads with altered fragments or chunks",
            SilentHolders => "holders never answer reads",
            DataFragmentCorruptor => {
                "a disperser commits junk at its own data index with the real fingerprints, serves it"
            }
            BroadcastEquivocator => {
                "Val/Echo/Ready of every broadcast differ per recipient (other values, fragments, checksums)"
            }
            AbaEquivocator => "BVal/Aux/Conf/Term differ per recipient; coin shares of other rounds; far-future rounds",
            ShareEquivocator => "different decryption-share lists per recipient; lists for proposers outside the set",
            ClientReplay => "committed transactions proposed again, inside and long after the dedup window (long run)",
            MismatchedSettings => "f members run other consensus settings (another session): isolated, never divergent",
            Canary => "canary: f + 1 colluders split a broadcast where the echo thresholds allow it",
            CanaryDecrypt => "canary: f + 1 colluders decrypt proposals before the order is fixed (BEAT0-2)",
        }
    }

    /// Epochs a run against this adversary needs at least (its attack plays out over them).
    pub fn min_epochs(self) -> Option<u64> {
        match self {
            // Past the de-duplication window (64 epochs by default).
            AdversaryKind::ClientReplay => Some(90),
            // Long enough for the others to get well past the laggard's future window.
            AdversaryKind::Laggard => Some(30),
            _ => None,
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
            AdversaryKind::ClientReplay => "client-replay",
            AdversaryKind::Laggard => "laggard",
            AdversaryKind::DataFragmentCorruptor => "data-fragment-corruptor",
            AdversaryKind::BroadcastEquivocator => "broadcast-equivocator",
            AdversaryKind::AbaEquivocator => "aba-equivocator",
            AdversaryKind::ShareEquivocator => "share-equivocator",
            AdversaryKind::Canary => "canary",
            AdversaryKind::CanaryDecrypt => "canary-decrypt",
        }
    }

    /// Parse a command-line name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().chain(Self::CANARIES).find(|k| k.name() == s)
    }

    /// Build the adversary for a committee of `n` tolerating `f`.
    pub fn build(self, n: usize, f: usize, rng: &mut ChaCha20Rng) -> Box<dyn Adversary> {
        // The faulty nodes: a random f-subset (f+1 for the canary).
        let count = if Self::CANARIES.contains(&self) { f + 1 } else { f };
        // Faulty holders hold data fragments (indices below n − 2f − 1 ≤ k), which readers ask
        // first, so that every read meets them.
        let pool = match self {
            AdversaryKind::ByzantineHolder | AdversaryKind::SilentHolders | AdversaryKind::DataFragmentCorruptor => {
                n - 2 * f - 1
            }
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
            AdversaryKind::CanaryDecrypt => {
                Box::new(CanaryDecrypt { faulty, fragments: HashMap::new(), done: std::collections::HashSet::new() })
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
            AdversaryKind::BroadcastEquivocator => Box::new(BroadcastEquivocator {
                faulty,
                alt: HashMap::new(),
                choice: HashMap::new(),
                carrier: Carrier::default(),
            }),
            AdversaryKind::AbaEquivocator => {
                Box::new(AbaEquivocator { faulty, split: Split { n, quiet }, beliefs: HashMap::new() })
            }
            AdversaryKind::ShareEquivocator => Box::new(ShareEquivocator { faulty, n }),
            AdversaryKind::DataFragmentCorruptor => Box::new(DataFragmentCorruptor { faulty, forged: HashMap::new() }),
            AdversaryKind::Laggard => {
                Box::new(Laggard { victim: rng.gen_range(0..n), heal: rng.gen_range(1500..3000) })
            }
            AdversaryKind::ClientReplay => Box::new(ClientReplay {
                faulty,
                dedup_epochs: crate::beat::Settings::default().dedup_epochs,
                chosen: HashMap::new(),
                ciphertexts: HashMap::new(),
                indexed: 0,
                carrier: Carrier::default(),
            }),
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
