//! `data-fragment-corruptor`: a Byzantine disperser that holds a data fragment commits, at its
//! own index, to junk, with the fingerprints of the real data (BEAT4).
//!
//! Every correct holder's fragment is real and verifies, so the dispersal completes and full
//! reads (which check each fragment against the code) return the real value. Nobody correct
//! checks the fragment at the disperser's own index. A range read served by that index must
//! not return the junk: it would differ from the same range of a full read (the checker's
//! `read-range` rule).

use crate::beat::node::ReadData;
use crate::crypto::fpc::{FragmentCommitment, RowTable};
use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx};

/// What the disperser forged for one value: the real fragments, the junk one at its own index,
/// the cross-checksum (commitments to the junk there, fingerprints of the real data) and BEAT4's
/// row table.
#[derive(Clone)]
pub(crate) struct Forgery {
    real: Vec<Vec<u8>>,
    junk: Vec<u8>,
    cc: CrossChecksum,
    rows: Option<RowTable>,
}

/// Per (epoch, disperser).
type Forged = HashMap<(u64, NodeId), Forgery>;

pub(crate) struct DataFragmentCorruptor {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) forged: Forged,
}

impl DataFragmentCorruptor {
    fn forge(&mut self, ctx: &mut Ctx<'_>, epoch: u64, p: NodeId) -> Option<&Forgery> {
        use std::collections::hash_map::Entry;
        let slot = match self.forged.entry((epoch, p)) {
            Entry::Occupied(o) => return Some(o.into_mut()),
            Entry::Vacant(v) => v,
        };
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
        let (cc, rows) =
            CrossChecksum::build_forged(code.linear(), code.commitment(), &context, &committed, &real).ok()?;
        Some(slot.insert(Forgery { real, junk, cc, rows }))
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
                let Some(Forgery { junk, rows, .. }) = self.forge(ctx, e, from).cloned() else { return vec![msg] };
                *ctx.injected += 1;
                let commitment = FragmentCommitment::Chunked { chunk: crate::proto::avid_fp::PYRAMID_CHUNK };
                // The junk with everything that proves it against the commitment: Merkle proofs
                // of the junk, and the (real) row fingerprints the cross-checksum commits to.
                let table = rows.as_ref().map(RowTable::to_bytes).map(serde_bytes::ByteBuf::from);
                let data = match chunks {
                    None => ReadData { bytes: junk.into(), rows: table, proofs: Vec::new(), row_proofs: Vec::new() },
                    Some((a, b)) => {
                        let chunk = crate::proto::avid_fp::PYRAMID_CHUNK;
                        let range = *a as usize..*b as usize;
                        let end = (*b as usize * chunk).min(junk.len());
                        let bytes = junk.get(*a as usize * chunk..end).map(<[u8]>::to_vec).unwrap_or_default();
                        ReadData {
                            bytes: bytes.into(),
                            rows: None,
                            proofs: commitment.chunk_proofs(&junk, range.clone()).unwrap_or_default(),
                            row_proofs: rows.and_then(|t| t.proofs(range)).unwrap_or_default(),
                        }
                    }
                };
                let content =
                    Content::ReadResponse { read: *read, proposer: *proposer, chunks: *chunks, data: Some(data) };
                vec![Message { epoch: e, content }]
            }
            _ => {
                let Some((p, m)) = bc_of(&msg) else { return vec![msg] };
                if p != from || !self.faulty.contains(&p) {
                    return vec![msg];
                }
                let m = m.clone();
                let Some(Forgery { real, cc, rows, .. }) = self.forge(ctx, e, p).cloned() else { return vec![msg] };
                *ctx.injected += 1;
                let out = match m {
                    BroadcastMessage::AvidFp(AvidFpMessage::Val { .. }) => AvidFpMessage::Val {
                        cc: cc.clone(),
                        fragment: real[to].clone(),
                        rows: rows.map(|t| serde_bytes::ByteBuf::from(t.to_bytes())),
                    },
                    BroadcastMessage::AvidFp(AvidFpMessage::Echo(_)) => AvidFpMessage::Echo(cc.clone()),
                    BroadcastMessage::AvidFp(AvidFpMessage::Ready(_)) => AvidFpMessage::Ready(cc.digest()),
                    _ => return vec![msg],
                };
                vec![with_bc(e, p, BroadcastMessage::AvidFp(out))]
            }
        }
    }
}
