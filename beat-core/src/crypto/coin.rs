//! The BLS12-381 threshold coin used by ABA (Cachin, Kursawe, Shoup, *Random oracles in
//! Constantinople*, J. Cryptology 2005, the "coin-tossing" scheme from threshold BLS).
//!
//! * The dealer picks a secret polynomial `p` of degree `f`; node `i` holds `sk_i = p(i + 1)`,
//!   everybody knows `pk = g1^p(0)` and every `pk_i = g1^sk_i` (minimal-signature-size BLS:
//!   public keys in G1, signatures in G2).
//! * The coin for a [`Domain`] and round `r` is named by the message
//!   `m = domain ‖ r` (session, epoch, ABA instance, round; see [`CoinName`]) hashed to G2 with
//!   the RFC 9380 hash-to-curve (`BLS12381G2_XMD:SHA-256_SSWU_RO_` with BEAT's DST).
//! * A coin share is `σ_i = H(m)^sk_i`; it verifies iff `e(g1, σ_i) = e(pk_i, H(m))`.
//! * Any `f + 1` shares combine by Lagrange interpolation in the exponent into
//!   `σ = H(m)^p(0)`, which verifies iff `e(g1, σ) = e(pk, H(m))`. The signature is unique, so
//!   every honest node obtains the same `σ` whichever shares it used.
//! * The coin value is the low bit of `SHA-256(tag ‖ σ)`.
//!
//! Cost (a pairing is ~1 ms): the caller combines `f + 1` unverified shares and verifies the
//! *combined* signature (two pairings). Only when that fails does it verify shares one by one
//! ([`CoinPublicKey::verify_share`]) and attribute the bad ones.

use bls12_381::hash_to_curve::{ExpandMsgXmd, HashToCurve};
use bls12_381::{multi_miller_loop, G1Affine, G1Projective, G2Affine, G2Prepared, G2Projective, Gt, Scalar};
use serde::{Deserialize, Serialize};
use zeroize::ZeroizeOnDrop;

use super::hash::Domain;
use super::CryptoError;
use crate::NodeId;

/// What a coin is tossed for: a domain (session, epoch, instance) and an ABA round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoinName<'a> {
    /// Session, epoch and instance.
    pub domain: Domain<'a>,
    /// ABA round.
    pub round: u32,
}

/// Public key of the coin: the group key and every node's public key share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinPublicKey {
    /// `pk = g1^p(0)`.
    pub group_key: G1Affine,
    /// `pk_i = g1^p(i + 1)` for every node `i`.
    pub key_shares: Vec<G1Affine>,
    /// Degree of the polynomial: `f + 1` shares are needed.
    pub threshold: usize,
}

/// One node's secret key share. Zeroized on drop; `Debug` shows the index only.
#[derive(Clone, ZeroizeOnDrop)]
pub struct CoinSecretShare {
    #[zeroize(skip)]
    index: NodeId,
    secret: Scalar,
}

/// A signature share `H(m)^sk_i` on a coin name (96-byte compressed G2 point on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoinShare(pub G2Affine);

/// The combined threshold signature `H(m)^p(0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoinSignature(pub G2Affine);

/// Domain separation tag for hashing coin names to G2 (RFC 9380 suite `BLS12381G2_XMD:SHA-256_SSWU_RO_`).
const DST: &[u8] = b"BEAT-V01-CS01-with-BLS12381G2_XMD:SHA-256_SSWU_RO_";

/// Tag of the hash that turns a combined signature into the coin bit.
const BIT_TAG: &str = "BEAT/coin-bit";

/// Length of a compressed G2 point.
const G2_COMPRESSED_LEN: usize = 96;

/// Length of a compressed G1 point (a public key or public key share).
pub const G1_COMPRESSED_LEN: usize = 48;

/// `H(m)` for the coin `name`: the RFC 9380 hash of `domain ‖ round` to G2.
fn hash_name(name: &CoinName<'_>) -> G2Affine {
    let msg = name.domain.encode(&[&name.round.to_be_bytes()]);
    G2Affine::from(<G2Projective as HashToCurve<ExpandMsgXmd<sha2_09::Sha256>>>::hash_to_curve(&msg, DST))
}

/// `e(g1, sigma) == e(pk, h)`, computed as `e(-g1, sigma) · e(pk, h) == 1` with one shared
/// Miller loop and a single final exponentiation.
fn pairing_check(pk: &G1Affine, h: G2Affine, sigma: G2Affine) -> bool {
    let neg_g1 = -G1Affine::generator();
    let sigma = G2Prepared::from(sigma);
    let h = G2Prepared::from(h);
    multi_miller_loop(&[(&neg_g1, &sigma), (pk, &h)]).final_exponentiation() == Gt::identity()
}

/// A uniformly random scalar (512 random bits reduced modulo the group order).
fn random_scalar(rng: &mut impl rand_core::CryptoRngCore) -> Scalar {
    let mut wide = zeroize::Zeroizing::new([0u8; 64]);
    rng.fill_bytes(wide.as_mut());
    Scalar::from_bytes_wide(&wide)
}

/// `Σ scalars[k] · points[k]` by interleaved double-and-add: one shared chain of 255
/// doublings and a mixed addition per set bit. Variable time: only for public inputs
/// (signature shares and Lagrange coefficients).
fn g2_multi_mul_vartime(points: &[G2Affine], scalars: &[Scalar]) -> G2Projective {
    let bytes: Vec<[u8; 32]> = scalars.iter().map(Scalar::to_bytes).collect();
    let mut acc = G2Projective::identity();
    // Scalars are < 2^255, so bit 255 is always clear.
    for bit in (0..255).rev() {
        acc = acc.double();
        for (point, le) in points.iter().zip(&bytes) {
            if (le[bit / 8] >> (bit % 8)) & 1 == 1 {
                acc = acc.add_mixed(point);
            }
        }
    }
    acc
}

/// Trusted-dealer key generation: `n` shares, any `threshold + 1` of which combine.
pub fn deal(
    n: usize,
    threshold: usize,
    rng: &mut impl rand_core::CryptoRngCore,
) -> (CoinPublicKey, Vec<CoinSecretShare>) {
    // p(x) = coeffs[0] + coeffs[1] x + ... + coeffs[threshold] x^threshold; wiped on drop.
    let coeffs: zeroize::Zeroizing<Vec<Scalar>> =
        zeroize::Zeroizing::new((0..=threshold).map(|_| random_scalar(rng)).collect());
    let g1 = G1Affine::generator();

    let shares: Vec<CoinSecretShare> = (0..n)
        .map(|index| {
            // Horner evaluation of p(index + 1).
            let x = Scalar::from(index as u64 + 1);
            let secret = coeffs.iter().rev().fold(Scalar::zero(), |acc, c| acc * x + c);
            CoinSecretShare { index, secret }
        })
        .collect();

    let key_shares_proj: Vec<G1Projective> = shares.iter().map(|s| g1 * s.secret).collect();
    let mut key_shares = vec![G1Affine::identity(); n];
    G1Projective::batch_normalize(&key_shares_proj, &mut key_shares);
    let group_key = G1Affine::from(g1 * coeffs[0]);

    (CoinPublicKey { group_key, key_shares, threshold }, shares)
}

impl CoinSecretShare {
    /// Rebuild a share from its index and 32-byte little-endian scalar (keystore loading).
    pub fn from_bytes(index: NodeId, bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let secret: Option<Scalar> = Scalar::from_bytes(bytes).into();
        let secret = secret.ok_or(CryptoError::InvalidEncoding("coin secret share"))?;
        Ok(Self { index, secret })
    }
    /// The 32-byte encoding of the secret (for the sealed keystore only).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.secret.to_bytes())
    }
    /// This share's node index.
    pub fn index(&self) -> NodeId {
        self.index
    }
    /// Sign the coin `name`: `H(m)^sk_i`.
    pub fn sign(&self, name: &CoinName<'_>) -> CoinShare {
        CoinShare(G2Affine::from(hash_name(name) * self.secret))
    }
}

impl std::fmt::Debug for CoinSecretShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CoinSecretShare {{ index: {}, .. }}", self.index)
    }
}

impl CoinPublicKey {
    /// Rebuild a public key from compressed G1 points (keystore loading) and check it.
    ///
    /// Refuses: a point that is not on the curve or not in the prime-order subgroup, an
    /// identity group key, `threshold ≥ n` (with `n = key_shares.len()`), and key shares that
    /// do not lie on one polynomial of degree `threshold` through the group key. The last
    /// check interpolates every window of `threshold + 1` consecutive shares at zero: two
    /// neighbouring windows share `threshold` points, and with the group key that is
    /// `threshold + 1` points, so their polynomials coincide; by induction all shares lie on
    /// one polynomial.
    pub fn from_compressed(
        group_key: &[u8; G1_COMPRESSED_LEN],
        key_shares: &[[u8; G1_COMPRESSED_LEN]],
        threshold: usize,
    ) -> Result<Self, CryptoError> {
        let decode = |bytes: &[u8; G1_COMPRESSED_LEN], what: &'static str| {
            Option::<G1Affine>::from(G1Affine::from_compressed(bytes)).ok_or(CryptoError::InvalidEncoding(what))
        };
        let group_key = decode(group_key, "coin group key")?;
        if bool::from(group_key.is_identity()) {
            return Err(CryptoError::InvalidEncoding("coin group key (identity)"));
        }
        let key_shares =
            key_shares.iter().map(|b| decode(b, "coin key share")).collect::<Result<Vec<G1Affine>, CryptoError>>()?;
        let n = key_shares.len();
        if threshold >= n {
            return Err(CryptoError::NotEnoughShares { needed: threshold.saturating_add(1), have: n });
        }
        for start in 0..n - threshold {
            let indices: Vec<NodeId> = (start..=start + threshold).collect();
            let lambdas = super::lagrange_at_zero(&indices, Scalar::from, |d| Option::from(d.invert()))
                .ok_or(CryptoError::BadShareIndex(start))?;
            let at_zero = indices
                .iter()
                .zip(&lambdas)
                .map(|(&i, l)| key_shares[i] * l)
                .fold(G1Projective::identity(), |acc, p| acc + p);
            if G1Affine::from(at_zero) != group_key {
                return Err(CryptoError::InconsistentKeyShare(start + threshold));
            }
        }
        Ok(CoinPublicKey { group_key, key_shares, threshold })
    }
    /// Check a node's secret share against its public key share `pk_i = g1^sk_i`.
    pub fn verify_key_share(&self, share: &CoinSecretShare) -> bool {
        match self.key_shares.get(share.index) {
            Some(pk) => G1Affine::from(G1Affine::generator() * share.secret) == *pk,
            None => false,
        }
    }
    /// Check node `index`'s share for `name` (two pairings).
    pub fn verify_share(&self, index: NodeId, name: &CoinName<'_>, share: &CoinShare) -> bool {
        match self.key_shares.get(index) {
            Some(pk) => pairing_check(pk, hash_name(name), share.0),
            None => false,
        }
    }
    /// Lagrange-combine exactly `threshold + 1` shares given as `(node index, share)`.
    /// Does not verify anything; fails only on a repeated or out-of-range index or a wrong count.
    pub fn combine(&self, shares: &[(NodeId, CoinShare)]) -> Result<CoinSignature, CryptoError> {
        let needed = self.threshold.saturating_add(1);
        if shares.len() != needed {
            return Err(CryptoError::NotEnoughShares { needed, have: shares.len() });
        }
        let n = self.key_shares.len();
        let mut seen = vec![false; n];
        for &(index, _) in shares {
            match seen.get_mut(index) {
                Some(s) if !*s => *s = true,
                _ => return Err(CryptoError::BadShareIndex(index)),
            }
        }
        let indices: Vec<NodeId> = shares.iter().map(|&(i, _)| i).collect();
        let lambdas = super::lagrange_at_zero(&indices, Scalar::from, |d| Option::from(d.invert()))
            .expect("indices are distinct and < n, so every x_j - x_i is a non-zero field element");
        let points: Vec<G2Affine> = shares.iter().map(|(_, s)| s.0).collect();
        Ok(CoinSignature(G2Affine::from(g2_multi_mul_vartime(&points, &lambdas))))
    }
    /// Check a combined signature against the group key (two pairings).
    pub fn verify(&self, name: &CoinName<'_>, signature: &CoinSignature) -> bool {
        pairing_check(&self.group_key, hash_name(name), signature.0)
    }
}

impl CoinSignature {
    /// The coin's value.
    pub fn bit(&self) -> bool {
        let compressed = self.0.to_compressed();
        super::hash::tagged_hash(BIT_TAG, &[&compressed])[0] & 1 == 1
    }
}

// Serde: CoinShare as a 96-byte compressed G2 point (serde_bytes); deserialisation rejects
// bytes that are not a valid point in the prime-order subgroup.

/// Deserialises a 96-byte compressed G2 point in the prime-order subgroup.
struct G2Visitor;

impl G2Visitor {
    fn decode<E: serde::de::Error>(bytes: &[u8]) -> Result<G2Affine, E> {
        let arr: &[u8; G2_COMPRESSED_LEN] =
            bytes.try_into().map_err(|_| E::invalid_length(bytes.len(), &"96 bytes"))?;
        Option::from(G2Affine::from_compressed(arr))
            .ok_or_else(|| E::custom("invalid compressed G2 point (not on the curve or not in the subgroup)"))
    }
}

impl<'de> serde::de::Visitor<'de> for G2Visitor {
    type Value = G2Affine;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a 96-byte compressed BLS12-381 G2 point")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<G2Affine, E> {
        Self::decode(v)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<G2Affine, A::Error> {
        use serde::de::Error as _;
        let mut buf = [0u8; G2_COMPRESSED_LEN];
        for (k, slot) in buf.iter_mut().enumerate() {
            *slot = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(k, &"96 bytes"))?;
        }
        if seq.next_element::<u8>()?.is_some() {
            return Err(A::Error::invalid_length(G2_COMPRESSED_LEN + 1, &"96 bytes"));
        }
        Self::decode(&buf)
    }
}

impl Serialize for CoinShare {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0.to_compressed())
    }
}

impl<'de> Deserialize<'de> for CoinShare {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(G2Visitor).map(CoinShare)
    }
}

impl Serialize for CoinSignature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0.to_compressed())
    }
}

impl<'de> Deserialize<'de> for CoinSignature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(G2Visitor).map(CoinSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionId;
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    const PROTOCOL: &str = "BEAT/aba-coin";

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn domain(session: &SessionId) -> Domain<'_> {
        Domain { protocol: PROTOCOL, session, epoch: 7, instance: 2 }
    }

    use crate::crypto::test_util::subsets;

    fn sign_all(sks: &[CoinSecretShare], name: &CoinName<'_>) -> Vec<CoinShare> {
        sks.iter().map(|sk| sk.sign(name)).collect()
    }

    fn pick(shares: &[CoinShare], subset: &[usize]) -> Vec<(NodeId, CoinShare)> {
        subset.iter().map(|&i| (i, shares[i])).collect()
    }

    fn check_all_subsets_agree(n: usize, f: usize, seed: u64) {
        let (pk, sks) = deal(n, f, &mut rng(seed));
        assert_eq!(pk.key_shares.len(), n);
        assert_eq!(pk.threshold, f);
        let session = SessionId([9; 32]);
        let name = CoinName { domain: domain(&session), round: 3 };
        let shares = sign_all(&sks, &name);
        for (i, s) in shares.iter().enumerate() {
            assert!(pk.verify_share(i, &name, s), "honest share {i} must verify");
        }
        let all = subsets(n, f + 1);
        assert_eq!(all.len(), if n == 4 { 6 } else { 35 });
        let reference = pk.combine(&pick(&shares, &all[0])).expect("valid subset");
        assert!(pk.verify(&name, &reference));
        for subset in &all {
            let sig = pk.combine(&pick(&shares, subset)).expect("valid subset");
            assert_eq!(sig, reference, "subset {subset:?} gives a different signature");
            assert_eq!(sig.bit(), reference.bit());
            // Order of the shares does not matter either.
            let mut reversed = pick(&shares, subset);
            reversed.reverse();
            assert_eq!(pk.combine(&reversed).expect("valid subset"), reference);
        }
    }

    #[test]
    fn every_subset_combines_to_the_same_signature_n4() {
        check_all_subsets_agree(4, 1, 1);
    }

    #[test]
    fn every_subset_combines_to_the_same_signature_n7() {
        check_all_subsets_agree(7, 2, 2);
    }

    #[test]
    fn combined_signature_is_the_group_key_signature() {
        // H(m)^p(0) equals what a single signer holding p(0) would produce: check against the
        // group key and against the interpolation of the public key shares in G1.
        let (pk, sks) = deal(4, 1, &mut rng(3));
        let idx = [1usize, 3];
        let lambdas =
            crate::crypto::lagrange_at_zero(&idx, Scalar::from, |d| Option::from(d.invert())).expect("distinct");
        let interpolated: G1Projective =
            idx.iter().zip(&lambdas).map(|(&i, l)| pk.key_shares[i] * l).fold(G1Projective::identity(), |a, b| a + b);
        assert_eq!(G1Affine::from(interpolated), pk.group_key);
        let session = SessionId([1; 32]);
        let name = CoinName { domain: domain(&session), round: 0 };
        let shares = sign_all(&sks, &name);
        let sig = pk.combine(&pick(&shares, &idx)).expect("valid");
        assert!(pk.verify(&name, &sig));
    }

    #[test]
    fn corrupted_share_is_detected() {
        let (pk, sks) = deal(4, 1, &mut rng(4));
        let session = SessionId([2; 32]);
        let name = CoinName { domain: domain(&session), round: 1 };
        let mut shares = sign_all(&sks, &name);
        let good = pk.combine(&pick(&shares, &[0, 1])).expect("valid");
        assert!(pk.verify(&name, &good));

        // Corruptions: doubled share, the generator, the identity, another node's share.
        let corruptions = [
            CoinShare(G2Affine::from(G2Projective::from(shares[1].0).double())),
            CoinShare(G2Affine::generator()),
            CoinShare(G2Affine::identity()),
            shares[2],
        ];
        for bad in corruptions {
            shares[1] = bad;
            assert!(!pk.verify_share(1, &name, &bad));
            let sig = pk.combine(&pick(&shares, &[0, 1])).expect("combine does not verify");
            assert!(!pk.verify(&name, &sig), "a corrupted share must spoil the combined signature");
            assert_ne!(sig, good);
        }
        // The genuine share still verifies, but not under another node's key.
        let genuine = sks[1].sign(&name);
        assert!(pk.verify_share(1, &name, &genuine));
        assert!(!pk.verify_share(0, &name, &genuine));
        assert!(!pk.verify_share(2, &name, &genuine));
    }

    #[test]
    fn out_of_range_index_does_not_verify() {
        let (pk, sks) = deal(4, 1, &mut rng(5));
        let session = SessionId([3; 32]);
        let name = CoinName { domain: domain(&session), round: 0 };
        let share = sks[0].sign(&name);
        assert!(!pk.verify_share(4, &name, &share));
        assert!(!pk.verify_share(usize::MAX, &name, &share));
    }

    #[test]
    fn domain_separation() {
        let (pk, sks) = deal(4, 1, &mut rng(6));
        let s1 = SessionId([4; 32]);
        let s2 = SessionId([5; 32]);
        let base = CoinName { domain: domain(&s1), round: 10 };
        let others = [
            CoinName { round: 11, ..base },
            CoinName { domain: Domain { epoch: 8, ..base.domain }, ..base },
            CoinName { domain: Domain { instance: 3, ..base.domain }, ..base },
            CoinName { domain: Domain { session: &s2, ..base.domain }, ..base },
            CoinName { domain: Domain { protocol: "BEAT/other", ..base.domain }, ..base },
        ];
        let base_sig = pk.combine(&pick(&sign_all(&sks, &base), &[0, 2])).expect("valid");
        assert!(pk.verify(&base, &base_sig));
        for other in &others {
            let shares = sign_all(&sks, other);
            for (i, s) in shares.iter().enumerate() {
                assert!(pk.verify_share(i, other, s));
                assert!(!pk.verify_share(i, &base, s), "share for {other:?} verified for the base name");
            }
            let sig = pk.combine(&pick(&shares, &[0, 2])).expect("valid");
            assert!(pk.verify(other, &sig));
            assert!(!pk.verify(&base, &sig));
            assert_ne!(sig, base_sig);
        }
    }

    #[test]
    fn combine_rejects_bad_inputs() {
        let (pk, sks) = deal(4, 1, &mut rng(7));
        let session = SessionId([6; 32]);
        let name = CoinName { domain: domain(&session), round: 0 };
        let s = sign_all(&sks, &name);
        assert_eq!(pk.combine(&[(0, s[0]), (0, s[0])]), Err(CryptoError::BadShareIndex(0)));
        assert_eq!(pk.combine(&[(2, s[2]), (2, s[1])]), Err(CryptoError::BadShareIndex(2)));
        assert_eq!(pk.combine(&[(0, s[0]), (4, s[1])]), Err(CryptoError::BadShareIndex(4)));
        assert_eq!(pk.combine(&[(usize::MAX, s[0]), (1, s[1])]), Err(CryptoError::BadShareIndex(usize::MAX)));
        assert_eq!(pk.combine(&[]), Err(CryptoError::NotEnoughShares { needed: 2, have: 0 }));
        assert_eq!(pk.combine(&[(0, s[0])]), Err(CryptoError::NotEnoughShares { needed: 2, have: 1 }));
        assert_eq!(
            pk.combine(&[(0, s[0]), (1, s[1]), (2, s[2])]),
            Err(CryptoError::NotEnoughShares { needed: 2, have: 3 })
        );
    }

    fn to_cbor<T: Serialize>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).expect("serialise into a Vec");
        out
    }

    fn from_cbor<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ciborium::de::Error<std::io::Error>> {
        ciborium::from_reader(bytes)
    }

    /// A point on the G2 curve that is not in the prime-order subgroup, compressed.
    fn non_subgroup_point(rng: &mut ChaCha20Rng) -> [u8; 96] {
        loop {
            let mut bytes = [0u8; 96];
            rng.fill_bytes(&mut bytes);
            // Compression flag set, infinity and sort flags clear, both Fp limbs below p.
            bytes[0] = 0x80 | (bytes[0] & 0x0f);
            bytes[48] &= 0x0f;
            let point: Option<G2Affine> = G2Affine::from_compressed_unchecked(&bytes).into();
            if let Some(p) = point {
                if !bool::from(p.is_torsion_free()) {
                    return bytes;
                }
            }
        }
    }

    #[test]
    fn serde_round_trip_and_rejection() {
        let mut r = rng(8);
        let (pk, sks) = deal(4, 1, &mut r);
        let session = SessionId([7; 32]);
        let name = CoinName { domain: domain(&session), round: 2 };
        let shares = sign_all(&sks, &name);
        let sig = pk.combine(&pick(&shares, &[1, 2])).expect("valid");

        let enc = to_cbor(&shares[0]);
        // A CBOR byte string: header 0x58 0x60 then the 96 compressed bytes.
        assert_eq!(enc.len(), 98);
        assert_eq!(&enc[..2], &[0x58, 0x60]);
        assert_eq!(&enc[2..], &shares[0].0.to_compressed());
        assert_eq!(from_cbor::<CoinShare>(&enc).expect("round trip"), shares[0]);
        let enc_sig = to_cbor(&sig);
        let back: CoinSignature = from_cbor(&enc_sig).expect("round trip");
        assert_eq!(back, sig);
        assert!(pk.verify(&name, &back));
        assert_eq!(back.bit(), sig.bit());

        // Wrong lengths.
        for len in [0usize, 1, 48, 95, 97, 192] {
            let bytes = vec![0u8; len];
            assert!(from_cbor::<CoinShare>(&to_cbor(&serde_bytes::Bytes::new(&bytes))).is_err(), "len {len}");
            assert!(from_cbor::<CoinSignature>(&to_cbor(&serde_bytes::Bytes::new(&bytes))).is_err(), "len {len}");
        }
        // 96 bytes that are not a point (all 0xff: x not a field element; all zero: no compression flag).
        for garbage in [[0xffu8; 96], [0u8; 96]] {
            assert!(from_cbor::<CoinShare>(&to_cbor(&serde_bytes::Bytes::new(&garbage))).is_err());
            assert!(from_cbor::<CoinSignature>(&to_cbor(&serde_bytes::Bytes::new(&garbage))).is_err());
        }
        // On the curve but outside the prime-order subgroup.
        for _ in 0..3 {
            let bytes = non_subgroup_point(&mut r);
            assert!(from_cbor::<CoinShare>(&to_cbor(&serde_bytes::Bytes::new(&bytes))).is_err());
            assert!(from_cbor::<CoinSignature>(&to_cbor(&serde_bytes::Bytes::new(&bytes))).is_err());
        }
        // Not a byte string at all, truncated CBOR, random junk.
        assert!(from_cbor::<CoinShare>(&to_cbor(&42u32)).is_err());
        assert!(from_cbor::<CoinShare>(&to_cbor(&"a string")).is_err());
        assert!(from_cbor::<CoinShare>(&enc[..50]).is_err());
        assert!(from_cbor::<CoinShare>(&[]).is_err());
        for _ in 0..50 {
            let mut junk = vec![0u8; (r.next_u32() % 200) as usize];
            r.fill_bytes(&mut junk);
            // Must not panic; junk that happens to decode must be a valid subgroup point.
            if let Ok(s) = from_cbor::<CoinShare>(&junk) {
                assert!(bool::from(s.0.is_torsion_free()));
            }
        }
        // A flipped bit in a valid encoding either fails or decodes to a different point.
        let mut flipped = enc.clone();
        flipped[50] ^= 1;
        if let Ok(s) = from_cbor::<CoinShare>(&flipped) {
            assert_ne!(s, shares[0]);
        }
    }

    #[test]
    fn secret_bytes_round_trip() {
        let (pk, sks) = deal(4, 1, &mut rng(9));
        let session = SessionId([8; 32]);
        let name = CoinName { domain: domain(&session), round: 4 };
        for sk in &sks {
            let bytes = sk.to_bytes();
            let back = CoinSecretShare::from_bytes(sk.index(), &bytes).expect("canonical");
            assert_eq!(back.index(), sk.index());
            assert_eq!(*back.to_bytes(), *bytes);
            assert_eq!(back.sign(&name), sk.sign(&name));
            assert!(pk.verify_share(back.index(), &name, &back.sign(&name)));
        }
        // Non-canonical encodings (>= the group order) are rejected.
        assert_eq!(
            CoinSecretShare::from_bytes(0, &[0xff; 32]).map(|s| s.index()),
            Err(CryptoError::InvalidEncoding("coin secret share"))
        );
        // r - 1 is the largest canonical scalar; r (whose low byte is 0x01, so no carry) is not.
        let r_minus_1 = (-Scalar::one()).to_bytes();
        let mut r = r_minus_1;
        r[0] += 1;
        assert!(CoinSecretShare::from_bytes(0, &r_minus_1).is_ok());
        assert_eq!(
            CoinSecretShare::from_bytes(0, &r).map(|s| s.index()),
            Err(CryptoError::InvalidEncoding("coin secret share"))
        );
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let (_, sks) = deal(4, 1, &mut rng(10));
        let dbg = format!("{:?}", sks[2]);
        assert_eq!(dbg, "CoinSecretShare { index: 2, .. }");
        assert!(!dbg.contains(&hex::encode(*sks[2].to_bytes())));
    }

    #[test]
    fn public_key_from_compressed_round_trip_and_checks() {
        let mut r = rng(14);
        let (pk, sks) = deal(7, 2, &mut r);
        let group = pk.group_key.to_compressed();
        let shares: Vec<[u8; 48]> = pk.key_shares.iter().map(G1Affine::to_compressed).collect();
        let back = CoinPublicKey::from_compressed(&group, &shares, 2).expect("dealt key");
        assert_eq!(back, pk);
        assert!(sks.iter().all(|sk| back.verify_key_share(sk)));

        // A share moved to another index, or from another dealing, does not verify.
        let moved = CoinSecretShare::from_bytes(3, &sks[2].to_bytes()).expect("canonical");
        assert!(!pk.verify_key_share(&moved));
        let out_of_range = CoinSecretShare::from_bytes(7, &sks[2].to_bytes()).expect("canonical");
        assert!(!pk.verify_key_share(&out_of_range));
        let (_, other) = deal(7, 2, &mut r);
        assert!(other.iter().all(|sk| !pk.verify_key_share(sk)));

        // Any single share changed (to the generator added onto it) breaks consistency,
        // whichever window it falls in.
        for j in 0..7 {
            let mut bad = shares.clone();
            bad[j] = G1Affine::from(G1Projective::from(pk.key_shares[j]) + G1Affine::generator()).to_compressed();
            let err = CoinPublicKey::from_compressed(&group, &bad, 2).expect_err("inconsistent");
            assert!(matches!(err, CryptoError::InconsistentKeyShare(_)), "{j}: {err:?}");
        }
        // Two shares swapped.
        let mut swapped = shares.clone();
        swapped.swap(1, 5);
        assert!(CoinPublicKey::from_compressed(&group, &swapped, 2).is_err());
        // Too low a threshold (the shares are not on a line), a threshold >= n, a missing share.
        // (A higher threshold below n is consistent: a degree-2 polynomial has degree <= 3.)
        assert!(CoinPublicKey::from_compressed(&group, &shares, 1).is_err());
        assert!(CoinPublicKey::from_compressed(&group, &shares, 3).is_ok());
        assert_eq!(
            CoinPublicKey::from_compressed(&group, &shares, 7),
            Err(CryptoError::NotEnoughShares { needed: 8, have: 7 })
        );
        assert_eq!(
            CoinPublicKey::from_compressed(&group, &shares[..2], 2),
            Err(CryptoError::NotEnoughShares { needed: 3, have: 2 })
        );
        // Another dealing's group key.
        let (pk2, _) = deal(7, 2, &mut r);
        assert!(CoinPublicKey::from_compressed(&pk2.group_key.to_compressed(), &shares, 2).is_err());
        // Identity group key, garbage, and points outside the prime-order subgroup.
        let identity = G1Affine::identity().to_compressed();
        assert_eq!(
            CoinPublicKey::from_compressed(&identity, &shares, 2),
            Err(CryptoError::InvalidEncoding("coin group key (identity)"))
        );
        assert!(CoinPublicKey::from_compressed(&[0xff; 48], &shares, 2).is_err());
        let mut garbage = shares.clone();
        garbage[4] = [0u8; 48];
        assert_eq!(
            CoinPublicKey::from_compressed(&group, &garbage, 2),
            Err(CryptoError::InvalidEncoding("coin key share"))
        );
        let mut found = 0;
        while found < 3 {
            let mut bytes = [0u8; 48];
            r.fill_bytes(&mut bytes);
            bytes[0] = 0x80 | (bytes[0] & 0x0f);
            let point: Option<G1Affine> = G1Affine::from_compressed_unchecked(&bytes).into();
            if let Some(p) = point.filter(|p| !bool::from(p.is_torsion_free())) {
                found += 1;
                let mut bad = shares.clone();
                bad[0] = p.to_compressed();
                assert_eq!(
                    CoinPublicKey::from_compressed(&group, &bad, 2),
                    Err(CryptoError::InvalidEncoding("coin key share"))
                );
                assert_eq!(
                    CoinPublicKey::from_compressed(&bytes, &shares, 2),
                    Err(CryptoError::InvalidEncoding("coin group key"))
                );
            }
        }
    }

    #[test]
    fn bits_are_roughly_balanced() {
        let (pk, sks) = deal(4, 1, &mut rng(11));
        let session = SessionId([10; 32]);
        let mut ones = 0;
        for round in 0..200u32 {
            let name = CoinName { domain: domain(&session), round };
            let sig = pk.combine(&pick(&sign_all(&sks[..2], &name), &[0, 1])).expect("valid");
            if sig.bit() {
                ones += 1;
            }
        }
        assert!((60..=140).contains(&ones), "{ones} ones out of 200");
    }

    #[test]
    fn independent_deals_give_independent_coins() {
        let (pk1, sks1) = deal(4, 1, &mut rng(12));
        let (pk2, sks2) = deal(4, 1, &mut rng(13));
        assert_ne!(pk1.group_key, pk2.group_key);
        let session = SessionId([11; 32]);
        let name = CoinName { domain: domain(&session), round: 0 };
        let share = sks1[0].sign(&name);
        assert!(pk1.verify_share(0, &name, &share));
        assert!(!pk2.verify_share(0, &name, &share));
        let sig2 = pk2.combine(&pick(&sign_all(&sks2, &name), &[0, 1])).expect("valid");
        assert!(!pk1.verify(&name, &sig2));
    }
}
