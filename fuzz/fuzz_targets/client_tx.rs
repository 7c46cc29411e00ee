//! BEAT2 client transactions: the bytes any client submits, and that proposers put into
//! proposals (`beat::client::ClientTransaction`).
//!
//! `ClientTransaction::decode(&bytes, 1 << 16)`, then `verify` against the BEAT2 fuzz
//! committee, then a fresh BEAT2 node's `Input::Submit` of the same bytes. Asserts:
//!
//! * decode round-trips (re-encoded, it decodes to the same transaction);
//! * decoding `N` bytes raises the heap by at most `64·N + 8 MiB`;
//! * the node accepts exactly what decodes and verifies (and is fresh), refusing the rest with
//!   `InvalidClientTransaction` (or `TransactionTooLarge`);
//! * a verified ciphertext decrypts to the same result (plaintext, or the same refusal) from
//!   any two nodes' verified decryption shares: `{0, 1}` and `{2, 3}` agree.
#![no_main]

use beat_core::beat::client::{ClientTransaction, ClientTxError};
use beat_core::beat::node::shares_context;
use beat_core::beat::{Beat, BeatError, Config, Input, Variant};
use beat_core::codec;
use beat_core::proto::Protocol;
use beat_fuzz::alloc::{assert_bounded, measure};
use beat_fuzz::committee;
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const MAX_TX: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let keys = committee(Variant::Beat2);
    let public = &keys[0].public;
    let (decoded, peak) = measure(|| ClientTransaction::decode(data, MAX_TX));
    assert_bounded("ClientTransaction::decode", data.len(), peak, 64, 8 << 20);
    let verified = match decoded {
        Ok(tx) => {
            let again = ClientTransaction::decode(&codec::encode(&tx), usize::MAX).expect("re-encoded transaction");
            assert_eq!(again, tx);
            tx.verify(public).ok()
        }
        Err(ClientTxError::Decode(_)) => None,
        Err(e) => panic!("decode failed with {e}"),
    };

    let mut node = Beat::new(keys[0].clone(), Config::default());
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    match node.handle_input(Input::Submit(data.to_vec()), &mut rng) {
        Ok(_) => assert!(verified.is_some(), "the node buffered a transaction that does not verify"),
        Err(BeatError::InvalidClientTransaction(_) | BeatError::TransactionTooLarge { .. }) => {
            assert!(verified.is_none() || data.len() > MAX_TX, "the node refused a valid transaction")
        }
        Err(e) => panic!("submit failed with {e}"),
    }

    if let Some(ct) = verified {
        let context = shares_context(&public.session, 0, 0);
        let open = |a: usize, b: usize| {
            let shares: Vec<_> = [a, b]
                .iter()
                .map(|&i| {
                    let s = keys[i].decryption_secret.decrypt_shares(&context, &[&ct]);
                    public.encryption.verify_shares(i, &context, &[&ct], &s).expect("honest shares verify")
                })
                .collect();
            let picked: Vec<_> = shares.iter().map(|s| s.share(0).expect("one share per ciphertext")).collect();
            public.encryption.combine(&ct, &picked)
        };
        let (x, y) = (open(0, 1), open(2, 3));
        assert_eq!(x.is_ok(), y.is_ok(), "share subsets disagree on whether the transaction opens");
        if let (Ok(x), Ok(y)) = (x, y) {
            assert_eq!(x, y, "share subsets decrypt to different plaintexts");
        }
    }
});
