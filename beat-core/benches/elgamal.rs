//! Threshold ElGamal (hybrid TDH2 over Ristretto255) micro-benchmarks.
//!
//! `cargo bench -p beat-core --bench elgamal`

use std::hint::black_box;
use std::time::Duration;

use beat_core::crypto::elgamal::{deal, VerifiedCiphertext, VerifiedShares};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const LABEL: &[u8] = b"BEAT/bench/epoch 42/proposer 3";

fn plaintext(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

fn bench_elgamal(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(0xbea7);
    let (pk, sks) = deal(4, 1, &mut rng);
    let msg_1k = plaintext(&mut rng, 1024);
    let msg_64k = plaintext(&mut rng, 64 * 1024);

    let mut group = c.benchmark_group("elgamal");

    group.bench_function("encrypt_1KiB", |b| b.iter(|| pk.encrypt(LABEL, black_box(&msg_1k), &mut rng)));
    group.bench_function("encrypt_64KiB", |b| b.iter(|| pk.encrypt(LABEL, black_box(&msg_64k), &mut rng)));

    let ct = pk.encrypt(LABEL, &msg_1k, &mut rng);
    group.bench_function("verify_ciphertext_1KiB", |b| {
        // The clone (a 1 KiB copy) is part of the measurement but negligible.
        b.iter_batched(|| ct.clone(), |ct| pk.verify_ciphertext(black_box(ct)), BatchSize::SmallInput)
    });

    let vct = match pk.verify_ciphertext(ct) {
        Ok(v) => v,
        Err(e) => panic!("bench ciphertext does not verify: {e}"),
    };
    const CTX: &[u8] = b"BEAT/bench/shares";
    group.bench_function("decrypt_shares_1", |b| b.iter(|| sks[0].decrypt_shares(CTX, black_box(&[&vct]))));
    let shares = sks[0].decrypt_shares(CTX, &[&vct]);
    group.bench_function("verify_shares_1", |b| {
        b.iter(|| pk.verify_shares(0, CTX, black_box(&[&vct]), black_box(&shares)))
    });

    // A BEAT2 proposal's worth of client ciphertexts: one list, one batched proof.
    let many: Vec<VerifiedCiphertext> = (0..250)
        .map(|i: u32| match pk.verify_ciphertext(pk.encrypt(LABEL, &i.to_le_bytes(), &mut rng)) {
            Ok(v) => v,
            Err(e) => panic!("bench ciphertext does not verify: {e}"),
        })
        .collect();
    let refs: Vec<&VerifiedCiphertext> = many.iter().collect();
    group.bench_function("decrypt_shares_250", |b| b.iter(|| sks[0].decrypt_shares(CTX, black_box(&refs))));
    let shares = sks[0].decrypt_shares(CTX, &refs);
    group.bench_function("verify_shares_250", |b| {
        b.iter(|| pk.verify_shares(0, CTX, black_box(&refs), black_box(&shares)))
    });

    for (n, f) in [(4usize, 1usize), (7, 2)] {
        let (pk, sks) = deal(n, f, &mut rng);
        let vct = match pk.verify_ciphertext(pk.encrypt(LABEL, &msg_1k, &mut rng)) {
            Ok(v) => v,
            Err(e) => panic!("bench ciphertext does not verify: {e}"),
        };
        let verified: Vec<VerifiedShares> = sks
            .iter()
            .take(f + 1)
            .map(|sk| match pk.verify_shares(sk.index(), CTX, &[&vct], &sk.decrypt_shares(CTX, &[&vct])) {
                Ok(v) => v,
                Err(e) => panic!("bench shares do not verify: {e}"),
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("combine", format!("n{n}")), &verified, |b, verified| {
            b.iter(|| {
                let chosen: Vec<_> = verified.iter().filter_map(|v| v.share(0)).collect();
                pk.combine(black_box(&vct), black_box(&chosen))
            })
        });
    }

    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(20);
    targets = bench_elgamal
}
criterion_main!(benches);
