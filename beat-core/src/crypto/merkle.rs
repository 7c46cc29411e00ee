//! A Merkle tree over erasure-coded fragments (AVID), with domain-separated leaves and nodes.
//!
//! `leaf_i = H("BEAT/merkle/leaf", i, fragment_i)`, `node = H("BEAT/merkle/node", left, right)`;
//! the leaf level is padded to a power of two with `H("BEAT/merkle/empty")`. Binding the index
//! into the leaf means a fragment proved at one position cannot be replayed at another, and the
//! distinct tags rule out second-preimage tricks between levels.

use serde::{Deserialize, Serialize};

use super::hash::{tagged_hash, Digest};

/// Most leaves a tree (and a proof) may have: bounds proof length on decode.
pub const MAX_LEAVES: usize = 1 << 16;

fn leaf_hash(index: usize, data: &[u8]) -> Digest {
    tagged_hash("BEAT/merkle/leaf", &[&(index as u64).to_be_bytes(), data])
}

fn node_hash(left: &Digest, right: &Digest) -> Digest {
    tagged_hash("BEAT/merkle/node", &[left, right])
}

/// A Merkle tree over `n` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    /// Levels from the leaves (padded) up to the root.
    levels: Vec<Vec<Digest>>,
    leaves: usize,
}

/// The sibling path of one leaf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// Siblings from the leaf level upwards.
    pub siblings: Vec<SerdeDigest>,
}

/// A digest that serialises as a CBOR byte string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerdeDigest(#[serde(with = "serde_bytes")] pub Digest);

impl MerkleTree {
    /// Build the tree over `leaves` (at least one, at most [`MAX_LEAVES`]).
    pub fn new<L: AsRef<[u8]>>(leaves: &[L]) -> Self {
        assert!(!leaves.is_empty() && leaves.len() <= MAX_LEAVES, "a Merkle tree needs 1..=MAX_LEAVES leaves");
        let width = leaves.len().next_power_of_two();
        let empty = tagged_hash("BEAT/merkle/empty", &[]);
        let mut level: Vec<Digest> = leaves.iter().enumerate().map(|(i, l)| leaf_hash(i, l.as_ref())).collect();
        level.resize(width, empty);
        let mut levels = vec![level];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let prev = levels.last().map(Vec::as_slice).unwrap_or_default();
            let next = prev.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
            levels.push(next);
        }
        MerkleTree { levels, leaves: leaves.len() }
    }

    /// The root.
    pub fn root(&self) -> Digest {
        self.levels.last().map(|l| l[0]).unwrap_or_default()
    }

    /// The proof for leaf `index`.
    pub fn proof(&self, index: usize) -> Proof {
        assert!(index < self.leaves, "leaf index out of range");
        let mut i = index;
        let siblings = self.levels[..self.levels.len() - 1]
            .iter()
            .map(|level| {
                let s = SerdeDigest(level[i ^ 1]);
                i /= 2;
                s
            })
            .collect();
        Proof { siblings }
    }
}

impl Proof {
    /// Whether `data` is leaf `index` of the tree with `root` over `leaves` leaves.
    pub fn verify(&self, root: &Digest, leaves: usize, index: usize, data: &[u8]) -> bool {
        if leaves == 0 || leaves > MAX_LEAVES || index >= leaves {
            return false;
        }
        let depth = leaves.next_power_of_two().trailing_zeros() as usize;
        if self.siblings.len() != depth {
            return false;
        }
        let mut h = leaf_hash(index, data);
        let mut i = index;
        for s in &self.siblings {
            h = if i % 2 == 0 { node_hash(&h, &s.0) } else { node_hash(&s.0, &h) };
            i /= 2;
        }
        subtle::ConstantTimeEq::ct_eq(&h[..], &root[..]).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_proves_and_nothing_else_does() {
        for n in 1..=9 {
            let leaves: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 3 + i]).collect();
            let t = MerkleTree::new(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let p = t.proof(i);
                assert!(p.verify(&t.root(), n, i, leaf), "n={n} i={i}");
                // Wrong data, wrong position, wrong size, wrong root.
                assert!(!p.verify(&t.root(), n, i, b"other"));
                if n > 1 {
                    assert!(!p.verify(&t.root(), n, (i + 1) % n, leaf));
                }
                assert!(!p.verify(&t.root(), n * 4, i, leaf));
                assert!(!p.verify(&[0; 32], n, i, leaf));
                assert!(!p.verify(&t.root(), n, n, leaf));
            }
        }
    }

    #[test]
    fn index_is_bound_into_the_leaf() {
        // Two identical fragments at different positions have different leaf hashes.
        let t = MerkleTree::new(&[b"x", b"x"]);
        let p0 = t.proof(0);
        assert!(p0.verify(&t.root(), 2, 0, b"x"));
        assert!(!p0.verify(&t.root(), 2, 1, b"x"));
    }
}
