//! `canary-decrypt`: `f + 1` colluding members decrypt correct nodes' proposals as soon as they
//! see them, before any correct node has fixed the epoch's common set.
//!
//! Input confidentiality (BEAT0–2) holds against `f` Byzantine members because `f + 1`
//! decryption shares are needed and a correct node releases its share only after ACS output.
//! `f + 1` members hold enough key shares between them, so this canary must break it; the
//! checker's `confidentiality` rule must see it (a campaign whose checker cannot catch this
//! proves nothing about confidentiality). With `f` members the same decryption fails.

use crate::crypto::elgamal::VerifiedCiphertext;
use crate::sim::adversary::common::*;
use crate::sim::adversary::{Adversary, Ctx, Injected};

/// AVID fragments seen per (epoch, proposer, root), by sender.
type Seen = HashMap<(u64, NodeId, Digest), Vec<Option<Vec<u8>>>>;

pub(crate) struct CanaryDecrypt {
    pub(crate) faulty: Vec<NodeId>,
    pub(crate) fragments: Seen,
    /// Proposals already decrypted.
    pub(crate) done: std::collections::HashSet<(u64, NodeId)>,
}

impl CanaryDecrypt {
    /// The first ciphertext of a proposal (BEAT0/1: the proposal; BEAT2: its first client
    /// transaction), checked.
    fn ciphertext(ctx: &Ctx<'_>, epoch: u64, proposer: NodeId, value: &[u8]) -> Option<VerifiedCiphertext> {
        let public = &ctx.keys[0].public;
        let ct = if ctx.variant.client_encrypted() {
            let txs = Contribution::decode(value, usize::MAX, usize::MAX, usize::MAX).ok()?;
            ClientTransaction::decode(txs.first()?, usize::MAX).ok()?.ciphertext
        } else {
            let ct: Ciphertext = codec::decode(value, usize::MAX).ok()?;
            (ct.label == proposal_label(&public.session, epoch, proposer)).then_some(ct)?
        };
        public.encryption.verify_ciphertext(ct).ok()
    }

    /// Combine the colluders' own shares.
    fn decrypt(&self, ctx: &Ctx<'_>, ct: &VerifiedCiphertext) -> bool {
        let pk = &ctx.keys[0].public.encryption;
        let verified: Vec<_> = self
            .faulty
            .iter()
            .filter_map(|&b| {
                let shares = ctx.keys[b].decryption_secret.decrypt_shares(b"canary", &[ct]);
                pk.verify_shares(b, b"canary", &[ct], &shares).ok()
            })
            .collect();
        let chosen: Vec<_> = verified.iter().filter_map(|v| v.share(0)).collect();
        pk.combine(ct, &chosen).is_ok()
    }
}

impl Adversary for CanaryDecrypt {
    fn name(&self) -> &'static str {
        "canary-decrypt"
    }
    fn faulty(&self) -> Vec<NodeId> {
        self.faulty.clone()
    }
    fn canary(&self) -> bool {
        true
    }
    fn observe(&mut self, ctx: &mut Ctx<'_>, from: NodeId, msg: &Message) -> Vec<Injected> {
        let Some((proposer, m)) = bc_of(msg) else { return Vec::new() };
        let e = msg.epoch;
        if self.faulty.contains(&proposer) || self.done.contains(&(e, proposer)) {
            return Vec::new();
        }
        let value = match m {
            BroadcastMessage::Rbc(RbcMessage::Val(v)) => Some(v.clone()),
            BroadcastMessage::Avid(AvidMessage::Echo(f)) | BroadcastMessage::Avid(AvidMessage::Val(f)) => {
                let n = ctx.keys.len();
                let at = if matches!(m, BroadcastMessage::Avid(AvidMessage::Val(_))) { None } else { Some(from) };
                let slots = self.fragments.entry((e, proposer, f.root)).or_insert_with(|| vec![None; n]);
                if let Some(at) = at {
                    slots[at] = Some(f.data.clone());
                }
                let have: Vec<(usize, &[u8])> =
                    slots.iter().enumerate().filter_map(|(j, d)| Some((j, d.as_deref()?))).collect();
                let code = Carrier::code(n);
                if have.len() >= code.k() {
                    code.decode(&have).ok()
                } else {
                    None
                }
            }
            _ => None,
        };
        let Some(value) = value else { return Vec::new() };
        if let Some(ct) = Self::ciphertext(ctx, e, proposer, &value) {
            if self.decrypt(ctx, &ct) {
                self.done.insert((e, proposer));
                ctx.learned.push((e, proposer));
                *ctx.injected += 1;
            }
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// The canary's decryption works with `f + 1` colluders and fails with `f`: the
    /// confidentiality rule it triggers cannot fire in an ordinary run.
    #[test]
    fn f_colluders_cannot_decrypt_f_plus_one_can() {
        for n in [4, 7, 10] {
            let params = Params::new(n).unwrap();
            let mut rng = ChaCha20Rng::seed_from_u64(n as u64);
            let keys = crate::beat::deal(params, crate::SessionId::from_name("canary"), Default::default(), &mut rng);
            let label = proposal_label(&keys[0].public.session, 0, 0);
            let ct = keys[0].public.encryption.encrypt(&label, b"secret batch", &mut rng);
            let (mut invented, mut injected, mut learned) = (Vec::new(), 0, Vec::new());
            let ctx = Ctx {
                variant: Variant::Beat0,
                keys: &keys,
                rng: &mut rng,
                now: 0,
                invented: &mut invented,
                injected: &mut injected,
                submitted: &[],
                log: &[],
                learned: &mut learned,
            };
            let vct = CanaryDecrypt::ciphertext(&ctx, 0, 0, &codec::encode(&ct)).unwrap();
            let with = |count: usize| CanaryDecrypt {
                faulty: (n - count..n).collect(),
                fragments: HashMap::new(),
                done: Default::default(),
            };
            assert!(with(params.f + 1).decrypt(&ctx, &vct), "n={n}");
            assert!(!with(params.f).decrypt(&ctx, &vct), "n={n}");
        }
    }
}
