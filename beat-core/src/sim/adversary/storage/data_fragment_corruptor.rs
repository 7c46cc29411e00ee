//! `data-fragment-corruptor`: a Byzantine disperser that holds a data fragment commits, at its
//! own index, to junk, with the fingerprints of the real data (BEAT4).
//!
//! Every correct holder's fragment is real and verifies, so the dispersal completes and full
//! reads (which check each fragment against the code) return the real value. Nobody correct
//! checks the fragment at the disperser's own index. A range read served by that index must
//! not return the junk: it would differ from the same range of a full read (the checker's
//! `read-range` rule).

use crate::crypto::fpc::FragmentCommitment;
use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// Per (epoch, disperser): the real fragments, the junk one at the disperser's index, and the
/// forged cross-checksum.
type Forged = HashMap<(u64, NodeId), (Vec<Vec<u8>>, Vec<u8>, CrossChecksum)>;

pub(crate) struct DataFragmentCorruptor {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) forged: Forged,
}

impl DataFragmentCorruptor {
    fn forge(&mut self, ctx: &mut Ctx<'_>, epoch: u64, p: NodeId) -> Option<&(Vec<Vec<u8>>, Vec<u8>, CrossChecksum)> {
        if !self.forged.contains_key(&(epoch, p)) {
            let code = fp_code(ctx.variant, ctx.keys.len());
            if p >= code.linear().k() {
                return None;
            }
            let v = forged_proposal(ctx, epoch, p);
            let real = code.linear().encode(&[v.as_slice(), &[0u8; 2048]].concat());
            let mut junk = real[p].clone();
            for b in junk.iter_mut() {
                *b = b.wrapping_add(0x5a);
            }
            let mut committed = real.clone();
            committed[p] = junk.clone();
            let context = fpc_context(&ctx.keys[0].public.session, epoch, p);
            let cc = CrossChecksum::build_forged(code.linear(), code.commitment(), &context, &committed, &real).ok()?;
            self.forged.insert((epoch, p), (real, junk, cc));
        }
        self.forged.get(&(epoch, p))
    }
}

impl Adversary for DataFragmentCorruptor {
    fn name(&self) -> &'static str {
        "data-fragment-corruptor"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn tamper(&mut self, ctx: &mut Ctx<'_>, from: NodeId, to: NodeId, msg: Message) -> Vec<Message> {
        let e = msg.epoch;
        match &msg.content {
            Content::ReadResponse { read, proposer, chunks, .. } if *proposer == from => {
                let Some((_, junk, cc)) = self.forge(ctx, e, from).cloned() else { return vec![msg] };
                *ctx.injected += 1;
                let commitment = FragmentCommitment::Chunked { chunk: crate::proto::avid_fp::PYRAMID_CHUNK };
                let (data, proofs) = match chunks {
                    None => (junk.clone(), Vec::new()),
                    Some((a, b)) => {
                        let chunk = crate::proto::avid_fp::PYRAMID_CHUNK;
                        let end = (*b as usize * chunk).min(junk.len());
                        let data = junk.get(*a as usize * chunk..end).map(<[u8]>::to_vec).unwrap_or_default();
                        (data, commitment.chunk_proofs(&junk, *a as usize..*b as usize).unwrap_or_default())
                    }
                };
                let _ = cc;
                let content = Content::ReadResponse {
                    read: *read,
                    proposer: *proposer,
                    chunks: *chunks,
                    data: Some(serde_bytes::ByteBuf::from(data)),
                    proofs,
                };
                vec![Message { epoch: e, content }]
            }
            _ => {
                let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
                if p != from || !self.faulty.contains(&p) {
                    return vec![msg];
                }
                let m = m.clone();
                let Some((real, _, cc)) = self.forge(ctx, e, p).cloned() else { return vec![msg] };
                *ctx.injected += 1;
                let out = match m {
                    BroadcastMessage::AvidFp(AvidFpMessage::Val { .. }) => {
                        AvidFpMessage::Val { cc: cc.clone(), fragment: real[to].clone() }
                    }
                    BroadcastMessage::AvidFp(AvidFpMessage::Echo(_)) => AvidFpMessage::Echo(cc.clone()),
                    BroadcastMessage::AvidFp(AvidFpMessage::Ready(_)) => AvidFpMessage::Ready(cc.digest()),
                    _ => return vec![msg],
                };
                vec![with_bc(e, p, BroadcastMessage::AvidFp(out))]
            }
        }
    }
}
