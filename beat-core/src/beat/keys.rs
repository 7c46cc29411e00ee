//! The key material of a BEAT committee member.

use std::sync::Arc;

use super::settings::Settings;
use crate::crypto::{coin, elgamal};
use crate::proto::aba::CoinKeys;
use crate::{NodeId, Params, SessionId};

/// What every member (and every client, for BEAT2) knows: the committee's public keys.
#[derive(Clone, Debug)]
pub struct PublicKeys {
    /// Committee size and fault threshold.
    pub params: Params,
    /// The settings that decide validity (every member shares them).
    pub settings: Settings,
    /// The session every signature, share and proof is bound to: the dealer's base session
    /// bound to `params` and `settings` ([`Settings::bind_session`]).
    pub session: SessionId,
    /// Threshold coin public keys (ABA).
    pub coin: Arc<coin::CoinPublicKey>,
    /// Threshold encryption public key with Feldman commitments.
    pub encryption: Arc<elgamal::PublicKey>,
}

/// One member's keys: the public set and its own secret shares.
#[derive(Clone, Debug)]
pub struct NodeKeys {
    /// This member's id.
    pub id: NodeId,
    /// The committee's public keys.
    pub public: PublicKeys,
    /// Coin secret share.
    pub coin_secret: Arc<coin::CoinSecretShare>,
    /// Decryption key share.
    pub decryption_secret: Arc<elgamal::SecretKeyShare>,
}

impl NodeKeys {
    /// The coin keys an ABA instance uses.
    pub fn coin_keys(&self) -> CoinKeys {
        CoinKeys { public: self.public.coin.clone(), secret: self.coin_secret.clone() }
    }
}

/// Trusted-dealer generation of a whole committee's keys (thresholds `f + 1`) for `settings`,
/// under the session `settings.bind_session(base, params)`.
pub fn deal(
    params: Params,
    base: SessionId,
    settings: Settings,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Vec<NodeKeys> {
    let (coin_pk, coin_sks) = coin::deal(params.n, params.f, rng);
    let (enc_pk, enc_sks) = elgamal::deal(params.n, params.f, rng);
    let session = settings.bind_session(&base, params);
    let public = PublicKeys { params, settings, session, coin: Arc::new(coin_pk), encryption: Arc::new(enc_pk) };
    coin_sks
        .into_iter()
        .zip(enc_sks)
        .enumerate()
        .map(|(id, (c, e))| NodeKeys {
            id,
            public: public.clone(),
            coin_secret: Arc::new(c),
            decryption_secret: Arc::new(e),
        })
        .collect()
}
