//! The node core (`beat_core::node::NodeCore`): what every frame from an authenticated peer goes
//! through before and after the protocol — routing, budgets, the write-ahead log, catch-up,
//! rejoin — and the replay of that log after a restart.
//!
//! The input is a `beat_fuzz::Script` whose message records carry whole wire frames (a
//! `router::Wire` envelope in the committee's session) instead of bare messages: each goes to
//! `NodeCore::frame(from, frame)`; `Submit` to `submit`, `Read` to `read`, `Propose` and
//! `RetryReads` advance the clock by 250 ms (`tick`). Node 0 runs with checkpoints off, so its
//! whole WAL is kept. The corpus is honest traffic as frames, after the peers' rejoin answers.
//!
//! Asserts: no frame from a peer makes the core fail (`Ready::failed`); every frame it sends is
//! addressed to a peer and routes in the committee's session; epochs commit in order, each once;
//! and a core restarted from the WAL the live one wrote (`NodeCore::replay`) commits exactly the
//! same batches and sends nothing before its rejoin.
#![no_main]

use beat_core::beat::{Batch, Input, ValueId};
use beat_core::net::router;
use beat_core::node::{CoreConfig, NodeCore, Ready, Recovery};
use beat_fuzz::{committee, Event, Script, N};
use libfuzzer_sys::fuzz_target;

const SEED: [u8; 32] = [9; 32];
/// Node 0's incarnation (the corpus's rejoin answers name it).
pub const INCARNATION: u64 = 1;

struct Log {
    wal: Vec<(u64, Vec<u8>)>,
    commits: Vec<Batch>,
}

fn absorb(ready: Ready, what: &str, log: &mut Log, session: &beat_core::SessionId) {
    assert!(ready.failed.is_none(), "{what} made the core fail: {:?}", ready.failed);
    for out in &ready.send {
        assert!(out.to != 0 && out.to < N, "frame addressed to node {}", out.to);
        assert!(router::route(&out.frame, session).is_ok(), "the core sent a frame that does not route");
    }
    for (seq, bytes) in ready.append {
        if let Some((last, _)) = log.wal.last() {
            assert!(seq > *last, "WAL record {seq} after {last}");
        }
        log.wal.push((seq, bytes));
    }
    for (batch, _) in ready.commit {
        assert_eq!(batch.epoch, log.commits.len() as u64, "epochs commit in order");
        log.commits.push(batch);
    }
}

fuzz_target!(|script: Script| {
    let keys = committee(script.variant);
    let session = keys[0].public.session;
    let mut config = CoreConfig::for_settings(&keys[0].public.settings, N);
    config.snapshot_every = 0;
    let mut core = NodeCore::new(keys[0].clone(), config.clone(), SEED, INCARNATION, &Recovery::default());
    let mut log = Log { wal: Vec::new(), commits: Vec::new() };
    let replayed = core.replay(&[]).expect("an empty log replays");
    absorb(replayed, "an empty replay", &mut log, &session);
    let mut now = 0;
    let started = core.start(now);
    absorb(started, "start", &mut log, &session);
    for event in &script.events {
        let ready = match event {
            Event::Message { from, bytes } => core.frame(*from, bytes.clone()),
            Event::Submit(tx) => core.submit(vec![tx.clone()]),
            Event::Propose | Event::RetryReads => {
                now += 250;
                core.tick(now)
            }
            Event::Read { epoch, proposer, range } => core.read(Input::Read {
                id: ValueId { epoch: *epoch, proposer: *proposer },
                range: range.map(|(a, b)| a..b),
            }),
            Event::Repair { epoch, proposer } => {
                core.read(Input::Repair { id: ValueId { epoch: *epoch, proposer: *proposer } })
            }
        };
        absorb(ready, "an input", &mut log, &session);
    }
    if beat_fuzz::trace() {
        eprintln!(
            "node_core: {} events, {} WAL records, {} epochs committed, {} frames dropped, epoch {}",
            script.events.len(),
            log.wal.len(),
            log.commits.len(),
            core.dropped(),
            core.epoch()
        );
    }
    // Restart from the log.
    let recovery = Recovery {
        last_seq: log.wal.last().map(|(s, _)| *s),
        first_seq: log.wal.first().map(|(s, _)| *s),
        ..Recovery::default()
    };
    let mut again = NodeCore::new(keys[0].clone(), config, SEED, INCARNATION + 1, &recovery);
    let ready = again.replay(&log.wal).expect("the node's own WAL replays");
    assert!(ready.send.is_empty(), "replay sent frames before the rejoin");
    let commits: Vec<Batch> = ready.commit.into_iter().map(|(b, _)| b).collect();
    assert!(commits == log.commits, "replay committed {} epochs, the live node {}", commits.len(), log.commits.len());
});
