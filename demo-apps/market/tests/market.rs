//! The market's promises: every node folds the committed log into the same state at every
//! epoch; a replayed recording gives the same final state on every run; no node's view of an
//! epoch holds another node's order contents before the epoch's common set is fixed; and the
//! real four-node market (`beat-market run`) agrees too. Prints the `BEAT-MARKET …` lines.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failure here is a test failure

use std::process::Command;

use beat_core::beat::Variant;
use beat_market::feed::parse_recording;
use beat_market::sim::{simulate, SimConfig, SimReport};
use beat_market::types::FeedItem;

const SAMPLE: &[u8] = include_bytes!("../data/sample.fbf");

fn run(cfg: SimConfig) -> SimReport {
    let r = simulate(&cfg).unwrap();
    println!("{:?} seed={}: {} final_state_hash={}", cfg.variant, cfg.seed, r.line(), r.final_hash());
    r
}

/// Four nodes, three feeds, 60 simulated seconds (120 epochs of 500 ms) on BEAT0, shorter runs
/// on BEAT1 and BEAT2: every node's state hash after every epoch is the same, everything
/// the feeds produced is committed, and orders trade.
#[test]
fn four_nodes_three_feeds_agree_at_every_epoch() {
    let r = run(SimConfig::default());
    assert!(r.state_hash_agree, "first disagreement after epoch {:?}", r.first_disagreement);
    // 3 feeds × 40 ticks/s × 60 s, every one committed (BEAT0 leaves nothing behind here).
    assert_eq!(r.ticks_committed, 3 * 40 * 60);
    assert!(r.orders_filled > 100, "{}", r.line());
    assert!(r.states.iter().all(|s| s == &r.states[0] && s.epochs == r.epochs));
    assert!(r.epochs >= 120 && r.seconds >= 60.0);
    println!("{}", r.line());
    for variant in [Variant::Beat1, Variant::Beat2] {
        let r = run(SimConfig { variant, epochs: 40, seed: 2, ..SimConfig::default() });
        assert!(r.state_hash_agree, "{variant:?}: first disagreement after epoch {:?}", r.first_disagreement);
        assert!(r.ticks_committed > 0 && r.orders_filled > 0, "{variant:?}: {}", r.line());
    }
}

/// A Byzantine proposer gets junk committed every epoch (undecodable bytes, long names,
/// unlisted instruments, crossed quotes, extreme prices, a flood of far-off orders): every node
/// refuses the same items, evicts the same orders, and agrees at every epoch.
#[test]
fn hostile_proposals_are_refused_alike_everywhere() {
    for variant in [Variant::Beat0, Variant::Beat2] {
        let r = run(SimConfig { variant, epochs: 16, hostile: Some(1), seed: 4, ..SimConfig::default() });
        assert!(r.state_hash_agree, "{variant:?}: first disagreement after epoch {:?}", r.first_disagreement);
        let c = &r.states[0].counters;
        println!("{variant:?}: refused {:?}, evicted {}", c.refused, c.evicted);
        assert!(c.refused.len() >= 5, "{variant:?}: {:?}", c.refused);
        assert!(c.refused.values().sum::<u64>() >= 16 * 8, "{variant:?}: {:?}", c.refused);
        assert!(r.ticks_committed > 0 && r.orders_filled > 0);
    }
}

/// The agreement check is not vacuous: one node that folds one epoch differently is caught at
/// that epoch.
#[test]
fn a_node_that_folds_differently_is_caught_at_that_epoch() {
    let r = run(SimConfig { epochs: 12, canary_skew: Some((2, 7)), ..SimConfig::default() });
    assert!(!r.state_hash_agree);
    assert_eq!(r.first_disagreement, Some(7));
    assert!(r.line().ends_with("state_hash_agree=no"));
}

/// A replayed recording (`data/sample.fbf`, 10 s of a synthetic feed) gives the same final
/// state however the committee runs it: other keys, another message order, other node
/// randomness. With traders on top, the same seed gives the same state again.
#[test]
fn a_replayed_recording_gives_the_same_final_state_on_every_run() {
    let items = parse_recording(SAMPLE).unwrap();
    let ticks = items.iter().filter(|i| matches!(i, FeedItem::Tick(_))).count() as u64;
    assert!(ticks >= 300, "the sample holds {ticks} ticks");
    let replay = |seed, variant| SimConfig {
        variant,
        feeds: 1,
        orders_per_epoch: 0,
        epochs: 20, // the 10 s recording (then empty epochs until everything is committed)
        seed,
        recording: Some(SAMPLE.to_vec()),
        ..SimConfig::default()
    };
    let first = run(replay(1, Variant::Beat0));
    assert!(first.state_hash_agree);
    assert_eq!(first.ticks_committed, ticks, "every recorded tick committed");
    for (seed, variant) in [(2, Variant::Beat0), (3, Variant::Beat1), (4, Variant::Beat2)] {
        let again = run(replay(seed, variant));
        assert!(again.state_hash_agree);
        assert_eq!(again.final_hash(), first.final_hash(), "{variant:?} seed {seed}");
    }
    // Replay plus synthetic feeds and traders: a function of the seed.
    let mixed = |seed| SimConfig { epochs: 20, seed, recording: Some(SAMPLE.to_vec()), ..SimConfig::default() };
    let (a, b, c) = (run(mixed(5)), run(mixed(5)), run(mixed(6)));
    assert_eq!(a.final_hash(), b.final_hash());
    assert_ne!(a.final_hash(), c.final_hash(), "other traders, other state");
}

/// The checked-in sample is exactly what its documented command records
/// (`beat-market record --out data/sample.fbf --seconds 10 --seed 7`): re-record it when the
/// synthetic feed changes.
#[test]
fn the_sample_is_what_its_command_records() {
    let out = std::env::temp_dir().join(format!("beat-market-sample-{}.fbf", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_beat-market"))
        .args(["record", "--out", out.to_str().unwrap(), "--seconds", "10", "--seed", "7"])
        .status()
        .unwrap();
    assert!(status.success());
    let recorded = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert!(recorded == SAMPLE, "data/sample.fbf differs from what `beat-market record` writes now");
}

/// The orders whose bytes appear in any node's view of any epoch before that node's common
/// set of the epoch was fixed, other than the node it was given to (`include_own`: that one
/// too): `(order's node, viewer, view's epoch)`. Every view is scanned, not only the epoch the
/// order was placed in: a proposal can commit epochs later, and plaintext in any view before
/// its set was fixed is a leak.
fn leaks(r: &SimReport, include_own: bool) -> Vec<(usize, usize, u64)> {
    let mut found = Vec::new();
    for (_, owner, bytes) in &r.orders {
        for ((viewer, e), view) in &r.views {
            if (include_own || viewer != owner) && view.windows(bytes.len()).any(|w| w == &bytes[..]) {
                found.push((*owner, *viewer, *e));
                break;
            }
        }
    }
    found
}

/// Front-running: before an epoch's common set is fixed at a node, the bytes that node has
/// received for the epoch hold no other node's order (BEAT0/1: the proposer encrypts its
/// batch; BEAT2: the trader encrypts its order, so not even its own node reads it). BEAT3,
/// which disperses proposals in the clear, is the control: there the same scan finds orders,
/// so the scan can see what it looks for.
#[test]
fn no_node_sees_another_nodes_orders_before_the_common_set_is_fixed() {
    let cfg = |variant| SimConfig {
        variant,
        epochs: 8,
        orders_per_epoch: 6,
        record_views: true,
        seed: 9,
        ..SimConfig::default()
    };
    for variant in [Variant::Beat0, Variant::Beat1, Variant::Beat2] {
        let r = simulate(&cfg(variant)).unwrap();
        assert!(r.state_hash_agree);
        assert_eq!(r.orders.len(), 8 * 4 * 6);
        let viewed: usize = r.views.values().map(Vec::len).sum();
        assert!(r.views.len() >= 8 * 4 && viewed > 500_000, "{variant:?}: views of {viewed} bytes");
        let found = leaks(&r, variant.client_encrypted());
        assert!(found.is_empty(), "{variant:?}: orders seen before their epoch's set was fixed: {found:?}");
        // Nor did any node release a decryption share before its own set was fixed (the way
        // a proposal would become readable early).
        assert_eq!(r.early_shares, 0, "{variant:?}");
        // …and they were all ordered and applied afterwards.
        assert_eq!(r.states[0].counters.orders, r.orders.len() as u64, "{variant:?}");
        println!(
            "{variant:?}: {} orders, {} views of {viewed} bytes before the set was fixed: none readable, no early shares",
            r.orders.len(),
            r.views.len()
        );
    }
    let control = simulate(&cfg(Variant::Beat3)).unwrap();
    let found = leaks(&control, false);
    println!(
        "BEAT3 (control, no encryption): {} of {} orders readable by another node early",
        found.len(),
        control.orders.len()
    );
    assert!(found.len() * 2 >= control.orders.len(), "the scan found only {} orders in the clear", found.len());
}

/// The real thing: `beat-market run` with four nodes on loopback TCP (Noise, WAL on disk),
/// three feeds and four traders for a few seconds; every node's hash agrees at every epoch
/// all of them reached.
#[test]
fn four_real_nodes_agree() {
    for variant in ["beat0", "beat2"] {
        let out = Command::new(env!("CARGO_BIN_EXE_beat-market"))
            .args(["run", "--seconds", "6", "--no-table", "--variant", variant])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{variant}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let line = stdout.lines().find(|l| l.starts_with("BEAT-MARKET ")).unwrap();
        println!("{variant} (real nodes): {line}");
        let field = |k: &str| -> f64 {
            line.split(' ').find_map(|kv| kv.strip_prefix(k)?.strip_prefix('=')).unwrap().parse().unwrap_or(0.0)
        };
        assert!(line.ends_with("state_hash_agree=yes"), "{line}");
        assert!(field("epochs") >= 5.0 && field("ticks_committed") > 100.0 && field("orders_filled") > 0.0, "{line}");
        let compared: u64 = stdout.lines().find_map(|l| l.strip_prefix("compared_epochs=")).unwrap().parse().unwrap();
        assert!(compared >= 5, "{compared} epochs compared");
    }
}

/// Bad command lines get a one-line error naming the problem.
#[test]
fn bad_arguments_are_named() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_beat-market")).args(args).output().unwrap();
    let out = run(&["run", "--variant", "beat3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BEAT3 stores blobs"), "{out:?}");
    let out = run(&["simulate", "--replay", "/nonexistent/rec.fbf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--replay /nonexistent/rec.fbf"), "{out:?}");
    let out = run(&["simulate", "--nodes", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["simulate", "--feeds", "5"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("5 feeds for 4 nodes"), "{out:?}");
}
