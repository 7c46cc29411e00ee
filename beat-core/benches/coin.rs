//! Benchmarks of the BLS12-381 threshold coin: signing a share, verifying a share,
//! combining `f + 1` shares and verifying the combined signature.

use std::hint::black_box;
use std::time::Duration;

use beat_core::crypto::coin::{deal, CoinName};
use beat_core::crypto::hash::Domain;
use beat_core::{NodeId, SessionId};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn coin(c: &mut Criterion) {
    let session = SessionId([42; 32]);
    let name =
        CoinName { domain: Domain { protocol: "BEAT/aba-coin", session: &session, epoch: 1, instance: 0 }, round: 0 };

    let mut group = c.benchmark_group("coin");
    group.measurement_time(Duration::from_secs(3)).sample_size(20);

    for (n, f) in [(4usize, 1usize), (7, 2)] {
        let mut rng = ChaCha20Rng::seed_from_u64(n as u64);
        let (pk, sks) = deal(n, f, &mut rng);
        let shares: Vec<_> = sks.iter().map(|sk| sk.sign(&name)).collect();
        let subset: Vec<(NodeId, _)> = (0..=f).map(|i| (i, shares[i])).collect();
        let sig = pk.combine(&subset).expect("f + 1 distinct shares combine");
        assert!(pk.verify(&name, &sig));

        if n == 4 {
            // Signing and single-share / combined verification do not depend on n.
            group.bench_function("sign", |b| b.iter(|| sks[0].sign(black_box(&name))));
            group.bench_function("verify_share", |b| {
                b.iter(|| pk.verify_share(black_box(0), black_box(&name), black_box(&shares[0])))
            });
            group.bench_function("verify_combined", |b| b.iter(|| pk.verify(black_box(&name), black_box(&sig))));
        }
        group.bench_with_input(BenchmarkId::new("combine", format!("n{n}_f{f}")), &subset, |b, subset| {
            b.iter(|| pk.combine(black_box(subset)))
        });
    }
    group.finish();
}

criterion_group!(benches, coin);
criterion_main!(benches);
