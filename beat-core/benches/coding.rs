//! Benchmarks of the coding layer of AVID / AVID-FP: encoding with Reed–Solomon RS(3, 7) and
//! the pyramid code (k = 2, L = 2, n = 7), building a fingerprinted cross-checksum over all
//! fragments, and verifying one fragment against it (commitment + fingerprint).

use std::hint::black_box;
use std::time::Duration;

use beat_core::crypto::erasure::Code;
use beat_core::crypto::fpc::{CrossChecksum, FragmentCommitment, LinearCode};
use beat_core::crypto::pyramid::PyramidCode;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const CONTEXT: &[u8] = b"bench session / epoch 1 / proposer 0";

fn bench_code<C: LinearCode>(c: &mut Criterion, name: &str, code: &C) {
    let mut group = c.benchmark_group(format!("coding/{name}"));
    group.measurement_time(Duration::from_secs(3)).sample_size(20);
    for len in [100 << 10, 1 << 20] {
        let value: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        let label = format!("{}KiB", len >> 10);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("encode", &label), &value, |b, v| b.iter(|| code.encode(black_box(v))));
        let frags = code.encode(&value);
        let commitment = FragmentCommitment::Flat;
        group.bench_with_input(BenchmarkId::new("build_cross_checksum", &label), &frags, |b, f| {
            b.iter(|| CrossChecksum::build(code, commitment, CONTEXT, black_box(f)))
        });
        let (cc, _) = CrossChecksum::build(code, commitment, CONTEXT, &frags).expect("honest fragments");
        // Verify a parity fragment (the non-trivial generator row).
        let i = code.n() - 1;
        group.throughput(Throughput::Bytes(frags[i].len() as u64));
        group.bench_with_input(BenchmarkId::new("verify_fragment", &label), &frags[i], |b, f| {
            b.iter(|| cc.verify_fragment(code, commitment, CONTEXT, i, black_box(f), None))
        });
        // BEAT4: chunked commitments with row fingerprints (every row checked).
        let chunked = FragmentCommitment::Chunked { chunk: 1024 };
        group.bench_with_input(BenchmarkId::new("build_cross_checksum_chunked", &label), &frags, |b, f| {
            b.iter(|| CrossChecksum::build(code, chunked, CONTEXT, black_box(f)))
        });
        let (cc, rows) = CrossChecksum::build(code, chunked, CONTEXT, &frags).expect("honest fragments");
        group.bench_with_input(BenchmarkId::new("verify_fragment_chunked", &label), &frags[i], |b, f| {
            b.iter(|| cc.verify_fragment(code, chunked, CONTEXT, i, black_box(f), rows.as_ref()))
        });
    }
    group.finish();
}

fn coding(c: &mut Criterion) {
    let rs = Code::new(3, 7).expect("valid parameters");
    bench_code(c, "rs_3_7", &rs);
    let pyramid = PyramidCode::new(2, 2, 7).expect("valid parameters");
    bench_code(c, "pyramid_2_2_7", &pyramid);
}

criterion_group!(benches, coding);
criterion_main!(benches);
