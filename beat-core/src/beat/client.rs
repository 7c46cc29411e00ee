//! BEAT2 clients: transactions encrypted by the client itself, under the committee's threshold
//! key, so that no node learns a transaction before its place in the order is fixed.
//!
//! A client holds the committee's [`PublicKeys`] and a 64-bit client id, and numbers its
//! transactions `seq = 0, 1, 2, …`. The ciphertext's label binds
//! `(BEAT2/client-tx, session, client, seq)`: a node (or anyone) that copies a client's
//! ciphertext cannot pass it off under another client or sequence number (the label is inside
//! TDH2's proof), and a committed `(client, seq)` is committed at most once.
//!
//! *Causal order* (Reiter–Birman; BEAT §5): nodes order ciphertexts they cannot read, and
//! release decryption shares only for ciphertexts in an epoch's agreed common set. A node that
//! sees a transaction early sees only its ciphertext, so it cannot front-run it.
//!
//! ```
//! # use beat_core::{beat::{self, client::Client}, Params, SessionId};
//! # let mut rng = rand::thread_rng();
//! # let settings = beat::Settings::with_variant(beat::Variant::Beat2);
//! # let keys = beat::deal(Params::new(4).unwrap(), SessionId::from_name("doc"), settings, &mut rng);
//! let mut client = Client::new(keys[0].public.clone(), 42);
//! let tx: Vec<u8> = client.encrypt(b"transfer 10 to bob", &mut rng);
//! // submit `tx` to any node with `Input::Submit(tx)`
//! # assert!(beat::client::ClientTransaction::decode(&tx, 1 << 20).is_ok());
//! ```

use serde::{Deserialize, Serialize};

use super::batch::ClientTxId;
use super::keys::PublicKeys;
use crate::codec::{self, DecodeError};
use crate::crypto::elgamal::{Ciphertext, VerifiedCiphertext};
use crate::crypto::hash::{Digest, Domain};
use crate::SessionId;

/// Protocol tag of client transaction labels.
pub const CLIENT_TX_PROTOCOL: &str = "BEAT2/client-tx";

/// A client-encrypted transaction as submitted to nodes and ordered by them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTransaction {
    /// The client's id.
    pub client: u64,
    /// The client's sequence number for this transaction.
    pub seq: u64,
    /// The transaction encrypted under the committee key, labelled with [`client_label`].
    pub ciphertext: Ciphertext,
}

/// Why a client transaction is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientTxError {
    /// It does not decode.
    #[error("not a client transaction: {0}")]
    Decode(#[from] DecodeError),
    /// The ciphertext's label is not `(session, client, seq)`.
    #[error("ciphertext label does not bind client {client} and sequence number {seq} in this session")]
    WrongLabel { client: u64, seq: u64 },
    /// The ciphertext's well-formedness proof fails.
    #[error("ciphertext proof does not verify")]
    BadProof,
}

/// The label a client's `seq`-th ciphertext carries.
pub fn client_label(session: &SessionId, client: u64, seq: u64) -> Vec<u8> {
    Domain { protocol: CLIENT_TX_PROTOCOL, session, epoch: seq, instance: client }.encode(&[])
}

impl ClientTransaction {
    /// Decode, refusing more than `max_bytes`.
    pub fn decode(bytes: &[u8], max_bytes: usize) -> Result<Self, ClientTxError> {
        Ok(codec::decode(bytes, max_bytes)?)
    }

    /// The identity under which it is committed at most once: `(client, seq)`.
    pub fn id(&self) -> ClientTxId {
        ClientTxId { client: self.client, seq: self.seq }
    }

    /// The digest of [`ClientTransaction::id`] (what buffers and filters key it by).
    pub fn identity(&self) -> Digest {
        self.id().digest()
    }

    /// Check the label and the proof; the result is the only thing a node makes a decryption
    /// share for.
    pub fn verify(self, public: &PublicKeys) -> Result<VerifiedCiphertext, ClientTxError> {
        if self.ciphertext.label != client_label(&public.session, self.client, self.seq) {
            return Err(ClientTxError::WrongLabel { client: self.client, seq: self.seq });
        }
        public.encryption.verify_ciphertext(self.ciphertext).map_err(|_| ClientTxError::BadProof)
    }
}

/// A BEAT2 client: encrypts its transactions for the committee.
#[derive(Debug, Clone)]
pub struct Client {
    public: PublicKeys,
    id: u64,
    next_seq: u64,
}

impl Client {
    /// A client with id `id`, starting at sequence number 0.
    pub fn new(public: PublicKeys, id: u64) -> Self {
        Client { public, id, next_seq: 0 }
    }

    /// A client resuming at sequence number `next_seq` (it must never reuse one: a reused
    /// `(client, seq)` is committed at most once).
    pub fn resume(public: PublicKeys, id: u64, next_seq: u64) -> Self {
        Client { public, id, next_seq }
    }

    /// The next sequence number.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Encrypt `tx` as this client's next transaction; returns the bytes to submit to a node.
    pub fn encrypt(&mut self, tx: &[u8], rng: &mut impl rand_core::CryptoRngCore) -> Vec<u8> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let label = client_label(&self.public.session, self.id, seq);
        let ciphertext = self.public.encryption.encrypt(&label, tx, rng);
        codec::encode(&ClientTransaction { client: self.id, seq, ciphertext })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beat::node::{Beat, BeatError, Config, Input};
    use crate::beat::{deal, Settings, Variant};
    use crate::proto::Protocol;
    use crate::{Params, SessionId};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn setup() -> (Vec<crate::beat::NodeKeys>, ChaCha20Rng) {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let settings = Settings::with_variant(Variant::Beat2);
        (deal(Params::new(4).unwrap(), SessionId::from_name("client-test"), settings, &mut rng), rng)
    }

    #[test]
    fn label_binds_client_and_sequence_number() {
        let (keys, mut rng) = setup();
        let public = &keys[0].public;
        let mut client = Client::new(public.clone(), 7);
        let bytes = client.encrypt(b"pay bob", &mut rng);
        assert_eq!(client.next_seq(), 1);
        let tx = ClientTransaction::decode(&bytes, 1 << 16).unwrap();
        assert_eq!((tx.client, tx.seq), (7, 0));
        assert!(tx.clone().verify(public).is_ok());
        // Claimed by another client, or under another sequence number: refused.
        let stolen = ClientTransaction { client: 8, ..tx.clone() };
        assert_eq!(stolen.verify(public).unwrap_err(), ClientTxError::WrongLabel { client: 8, seq: 0 });
        let replayed = ClientTransaction { seq: 5, ..tx.clone() };
        assert!(matches!(replayed.verify(public), Err(ClientTxError::WrongLabel { .. })));
        // Tampered payload: the proof fails.
        let mut tampered = tx.clone();
        tampered.ciphertext.payload[0] ^= 1;
        assert_eq!(tampered.verify(public).unwrap_err(), ClientTxError::BadProof);
        // Another committee's session: wrong label.
        let other = deal(Params::new(4).unwrap(), SessionId::from_name("other"), Settings::default(), &mut rng);
        assert!(matches!(tx.verify(&other[0].public), Err(ClientTxError::WrongLabel { .. })));
    }

    #[test]
    fn beat2_nodes_refuse_invalid_client_transactions_at_submit() {
        let (keys, mut rng) = setup();
        let mut node = Beat::new(keys[0].clone(), Config::default());
        let err = node.handle_input(Input::Submit(b"plaintext is not a client tx".to_vec()), &mut rng).unwrap_err();
        assert!(matches!(err, BeatError::InvalidClientTransaction(ClientTxError::Decode(_))), "{err}");
        let mut client = Client::new(keys[0].public.clone(), 1);
        let good = client.encrypt(b"ok", &mut rng);
        let mut tx = ClientTransaction::decode(&good, 1 << 16).unwrap();
        tx.client = 2;
        let err = node.handle_input(Input::Submit(codec::encode(&tx)), &mut rng).unwrap_err();
        assert!(matches!(err, BeatError::InvalidClientTransaction(ClientTxError::WrongLabel { .. })));
        assert_eq!(node.buffered(), 0);
        let _ = node.handle_input(Input::Submit(good.clone()), &mut rng).unwrap();
        // The same (client, seq) again is a duplicate, not a second transaction.
        let _ = node.handle_input(Input::Submit(good), &mut rng).unwrap();
        assert!(node.buffered() <= 1);
    }
}
