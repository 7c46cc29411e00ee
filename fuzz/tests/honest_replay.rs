//! Deterministic checks behind the `beat_node` target and its corpus (a normal `cargo test`,
//! no fuzzer needed): `cargo test --release --manifest-path fuzz/Cargo.toml`.

use beat_core::beat::Variant;
use beat_core::codec;
use beat_fuzz::{honest_run, run_script, Event, Script};

/// Honest nodes never record a fault, and node 0 fed exactly the honest messages it received
/// (and its own inputs), in order, replays the same log without a fault against any sender.
#[test]
fn honest_traffic_replays_without_faults() {
    for v in Variant::ALL {
        let run = honest_run(v, 2);
        assert!(run.faults.is_empty(), "{v}: faults among honest nodes: {:?}", run.faults);
        assert!(run.batches[0].len() >= 2, "{v}: at least two epochs committed");
        for b in &run.batches[1..] {
            assert_eq!(b, &run.batches[0], "{v}: logs differ");
        }
        // The script survives its byte layout.
        let bytes = run.script.to_bytes();
        let parsed = Script::parse(&mut arbitrary::Unstructured::new(&bytes));
        assert_eq!(parsed, run.script, "{v}: script layout round trip");
        let (node, report) = run_script(&parsed);
        assert!(report.faults.is_empty(), "{v}: faults against honest senders on replay: {:?}", report.faults);
        assert_eq!(report.batches, run.batches[0], "{v}: replay committed another log");
        assert_eq!(report.undecodable, 0);
        assert_eq!(node.epoch(), run.batches[0].len() as u64);
        if v.dispersed() {
            assert!(report.reads > 0, "{v}: reads finished");
        }
        // Each honest sender's messages alone, in order (the others' withheld): still no fault.
        for sender in 1..4 {
            let events = parsed
                .events
                .iter()
                .filter(|e| !matches!(e, Event::Message { from, .. } if *from != sender))
                .cloned()
                .collect();
            let (_, report) = run_script(&Script { variant: v, events });
            assert!(report.faults.is_empty(), "{v}: faults with only sender {sender}'s messages: {:?}", report.faults);
        }
        // Every message delivered twice (a transport that duplicates): still no fault.
        let doubled = parsed
            .events
            .iter()
            .flat_map(|e| match e {
                Event::Message { .. } => vec![e.clone(), e.clone()],
                _ => vec![e.clone()],
            })
            .collect();
        let (_, report) = run_script(&Script { variant: v, events: doubled });
        assert!(report.faults.is_empty(), "{v}: faults for duplicated honest messages: {:?}", report.faults);
        assert_eq!(report.batches, run.batches[0], "{v}: duplicates changed the log");
    }
}

/// Every checked-in `beat_node` corpus input runs through the target's checks.
#[test]
fn beat_node_corpus_runs_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/beat_node");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let script = Script::parse(&mut arbitrary::Unstructured::new(&bytes));
        let _ = run_script(&script);
    }
}

/// Messages carried in scripts decode with the codec's bound.
#[test]
fn script_messages_decode() {
    let run = honest_run(Variant::Beat1, 1);
    for e in &run.script.events {
        if let Event::Message { bytes, .. } = e {
            assert!(codec::decode::<beat_core::beat::Message>(bytes, codec::MAX_FRAME_BYTES).is_ok());
        }
    }
}
