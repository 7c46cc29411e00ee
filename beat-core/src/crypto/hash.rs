//! Hashing with domain separation.
//!
//! Every hash, signature, share and proof in BEAT is computed over a [`Domain`]: the protocol
//! name, the session, the epoch and the instance. Parts are length-prefixed, so no two
//! different part lists hash the same bytes.

use sha2::{Digest as _, Sha256, Sha512};

use crate::SessionId;

/// A 32-byte SHA-256 digest.
pub type Digest = [u8; 32];

/// Where a hash, signature, share or proof belongs: `protocol ‖ session ‖ epoch ‖ instance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Domain<'a> {
    /// Protocol tag, e.g. `"BEAT/aba-coin"`.
    pub protocol: &'static str,
    /// The session all nodes of the committee share.
    pub session: &'a SessionId,
    /// The epoch.
    pub epoch: u64,
    /// The instance inside the epoch (for BEAT: the proposer's index).
    pub instance: u64,
}

impl Domain<'_> {
    /// The canonical byte encoding of the domain followed by `extra` parts, length-prefixed.
    pub fn encode(&self, extra: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.protocol.len() + extra.iter().map(|e| e.len() + 8).sum::<usize>());
        push_part(&mut out, self.protocol.as_bytes());
        push_part(&mut out, &self.session.0);
        push_part(&mut out, &self.epoch.to_be_bytes());
        push_part(&mut out, &self.instance.to_be_bytes());
        for part in extra {
            push_part(&mut out, part);
        }
        out
    }
}

fn push_part(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u64).to_be_bytes());
    out.extend_from_slice(part);
}

/// SHA-256 of `tag` followed by length-prefixed `parts`.
pub fn tagged_hash(tag: &str, parts: &[&[u8]]) -> Digest {
    let mut h = Sha256::new();
    h.update((tag.len() as u64).to_be_bytes());
    h.update(tag.as_bytes());
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// A SHA-512 hasher pre-loaded with `tag` (for hashing into Ristretto scalars and points).
pub fn tagged_sha512(tag: &str) -> Sha512 {
    let mut h = Sha512::new();
    h.update((tag.len() as u64).to_be_bytes());
    h.update(tag.as_bytes());
    h
}

/// Feed one length-prefixed part into a hasher.
pub fn update_part(h: &mut impl sha2::Digest, part: &[u8]) {
    h.update((part.len() as u64).to_be_bytes());
    h.update(part);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_unambiguous() {
        assert_ne!(tagged_hash("t", &[b"ab", b"c"]), tagged_hash("t", &[b"a", b"bc"]));
        assert_ne!(tagged_hash("t", &[b"abc"]), tagged_hash("u", &[b"abc"]));
    }

    #[test]
    fn domain_fields_all_matter() {
        let s1 = SessionId([1; 32]);
        let s2 = SessionId([2; 32]);
        let d = Domain { protocol: "p", session: &s1, epoch: 1, instance: 2 };
        let variants = [
            Domain { protocol: "q", ..d },
            Domain { session: &s2, ..d },
            Domain { epoch: 2, ..d },
            Domain { instance: 3, ..d },
        ];
        for v in variants {
            assert_ne!(v.encode(&[b"x"]), d.encode(&[b"x"]));
        }
        assert_ne!(d.encode(&[b"x"]), d.encode(&[b"y"]));
    }
}
