//! Helpers the adversaries share: reading and rewriting broadcast traffic, dispersing a value
//! the way a Byzantine proposer would, forging proposals, and the split schedule.

pub(crate) use std::collections::HashMap;

pub(crate) use bls12_381::{G2Affine, G2Projective};
pub(crate) use rand::Rng;
pub(crate) use rand_chacha::ChaCha20Rng;

pub(crate) use crate::beat::batch::Contribution;
pub(crate) use crate::beat::client::{Client, ClientTransaction};
pub(crate) use crate::beat::node::proposal_label;
pub(crate) use crate::beat::{Content, Message, Variant};
pub(crate) use crate::codec;
pub(crate) use crate::crypto::coin::{CoinName, CoinShare};
pub(crate) use crate::crypto::elgamal::{Ciphertext, DecryptionShares};
pub(crate) use crate::crypto::erasure::Code;
pub(crate) use crate::crypto::fpc::CrossChecksum;
pub(crate) use crate::crypto::hash::{Digest, Domain};
pub(crate) use crate::crypto::merkle::MerkleTree;
pub(crate) use crate::proto::aba::{AbaContent, AbaMessage, BoolSet, COIN_PROTOCOL, FIXED_COIN_ROUNDS};
pub(crate) use crate::proto::acs::{AcsContent, AcsMessage};
pub(crate) use crate::proto::avid::{AvidMessage, Fragment};
pub(crate) use crate::proto::avid_fp::{fpc_context, AvidFpMessage, DispersalCode};
pub(crate) use crate::proto::broadcast::BroadcastMessage;
pub(crate) use crate::proto::rbc::{value_digest, RbcMessage};
pub(crate) use crate::proto::Target;
pub(crate) use crate::{NodeId, Params};

use super::Ctx;

/// Whether `msg` is proposer `p`'s broadcast traffic, and which kind.
pub(crate) fn bc_of(msg: &Message) -> Option<(NodeId, &BroadcastMessage)> {
    match &msg.content {
        Content::Acs(AcsMessage { proposer, content: AcsContent::Broadcast(m) }) => Some((*proposer, m)),
        _ => None,
    }
}

pub(crate) fn with_bc(epoch: u64, proposer: NodeId, m: BroadcastMessage) -> Message {
    Message { epoch, content: Content::Acs(AcsMessage { proposer, content: AcsContent::Broadcast(m) }) }
}

/// An erasure-coded dispersal of a value, as a Byzantine proposer prepares it.
pub(crate) struct Dispersal {
    pub(crate) fragments: Vec<Vec<u8>>,
    pub(crate) tree: MerkleTree,
}

impl Dispersal {
    pub(crate) fn new(fragments: Vec<Vec<u8>>) -> Self {
        let tree = MerkleTree::new(&fragments);
        Dispersal { fragments, tree }
    }

    pub(crate) fn fragment(&self, j: NodeId) -> Fragment {
        Fragment { root: self.tree.root(), data: self.fragments[j].clone(), proof: self.tree.proof(j) }
    }
}

/// The AVID-FP code and cross-checksum context of `variant` (BEAT3/4).
pub(crate) fn fp_code(variant: Variant, n: usize) -> DispersalCode {
    let params = Params::new(n).expect("n ≥ 4");
    let code =
        if variant == Variant::Beat4 { DispersalCode::pyramid(params) } else { DispersalCode::reed_solomon(params) };
    code.expect("valid params")
}

/// A Byzantine disperser's cross-checksum over `fragments` (consistent or not), with BEAT4's
/// row table bytes.
pub(crate) fn fp_checksum(
    ctx: &Ctx<'_>,
    epoch: u64,
    proposer: NodeId,
    fragments: &[Vec<u8>],
) -> (CrossChecksum, Option<serde_bytes::ByteBuf>) {
    let code = fp_code(ctx.variant, ctx.keys.len());
    let context = fpc_context(&ctx.keys[0].public.session, epoch, proposer);
    let (cc, rows) =
        CrossChecksum::build(code.linear(), code.commitment(), &context, fragments).expect("fragments of the code");
    (cc, rows.map(|t| serde_bytes::ByteBuf::from(t.to_bytes())))
}

/// AVID / AVID-FP traffic of a Byzantine proposer dispersing `fragments` (AVID: under a Merkle
/// tree; AVID-FP: under a cross-checksum): `Val` to `to` carries fragment `to`, `Echo` from
/// `from` carries fragment `from` (AVID) or the cross-checksum (AVID-FP).
pub(crate) fn dispersal_traffic(
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
            let (cc, rows) = fp_checksum(ctx, epoch, proposer, &d.fragments);
            BroadcastMessage::AvidFp(match m {
                AvidFpMessage::Val { .. } => AvidFpMessage::Val { cc, fragment: d.fragments[to].clone(), rows },
                AvidFpMessage::Echo(_) => AvidFpMessage::Echo(cc),
                AvidFpMessage::Ready(_) => AvidFpMessage::Ready(cc.digest()),
            })
        }
    }
}

/// Rewrites a Byzantine proposer's broadcast traffic so that it carries another value: for
/// RBC the value itself, for AVID and AVID-FP that value's dispersal.
#[derive(Default)]
pub(crate) struct Carrier {
    pub(crate) dispersals: HashMap<Digest, Dispersal>,
}

impl Carrier {
    pub(crate) fn code(n: usize) -> Code {
        let f = (n - 1) / 3;
        Code::new(n - 2 * f, n).expect("n ≥ 4")
    }

    /// The fragments of `v` under the variant's code.
    pub(crate) fn fragments(variant: Variant, n: usize, v: &[u8]) -> Vec<Vec<u8>> {
        if variant.dispersed() {
            fp_code(variant, n).linear().encode(v)
        } else {
            Self::code(n).encode(v)
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn carry(
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
pub(crate) fn forged_proposal(ctx: &mut Ctx<'_>, epoch: u64, proposer: NodeId) -> Vec<u8> {
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

/// A schedule that splits agreement inputs: in every epoch, one proposer's broadcast reaches
/// half of the nodes 50–100× late, so those nodes vote 0 for it (after `n − f` other
/// agreements decided 1) while the rest vote 1. Split inputs push ABA past the fixed-coin
/// rounds into the threshold coin, which is what the coin adversaries attack.
pub(crate) struct Split {
    pub(crate) n: usize,
    pub(crate) quiet: u64,
}

impl Split {
    pub(crate) fn delay(&self, ctx: &mut Ctx<'_>, to: NodeId, msg: &Message, base: u64) -> u64 {
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

/// Reassembles correct nodes' proposals from the traffic it sees: RBC `Val`s directly, AVID
/// values from `k` echoed fragments of one root.
#[derive(Default)]
pub(crate) struct Snoop {
    pub(crate) fragments: HashMap<Digest, Vec<Option<Vec<u8>>>>,
    pub(crate) last: Option<Vec<u8>>,
}

impl Snoop {
    pub(crate) fn observe(&mut self, n: usize, from: NodeId, msg: &Message) {
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

pub(crate) fn flip(data: &mut Vec<u8>, rng: &mut ChaCha20Rng) {
    match data.len() {
        0 => data.push(1),
        len => data[rng.gen_range(0..len)] ^= 1 << rng.gen_range(0..8),
    }
}
