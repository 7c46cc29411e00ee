//! Writes the seed inputs of every fuzz target into `<OUT>/<target>/`, from real data:
//!
//! * `beat_node`: node 0's life in honest 4-node runs of every variant (2 epochs; BEAT3/4 also
//!   read every value of epoch 0), whole and cut short, after checking that node 0 replays it
//!   without a single fault;
//! * `node_core`: the same lives as whole wire frames, after the peers' rejoin answers;
//! * `wire_route`: the codec's golden vectors and every kind of honest message as router frames,
//!   envelopes and bare messages, plus catch-up requests and answers;
//! * `client_tx`: real BEAT2 client transactions (and a few damaged ones);
//! * `store_records`: real checkpoints, committed batches, WAL records, `KvApp` snapshots and
//!   `beat.redb` files written by `RedbStore`;
//! * `operator_input`: cluster files and key files from `beat keygen` (pass the directories with
//!   `--keygen DIR`), settings of every variant, node key files (plain and sealed);
//! * `noise_handshake`: real handshake messages and sealed frames;
//! * `sam_socks`: SAM conversations and SOCKS5 replies that succeed, and typical failures.
//!
//! ```text
//! cargo run --release --manifest-path fuzz/Cargo.toml --example gen_corpus -- OUT [--keygen DIR]...
//! ```
//! then minimise into the checked-in corpus with `cargo fuzz cmin` (see README.md).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use beat_core::app::{ConsensusApp, KvApp};
use beat_core::beat::client::{Client, ClientTransaction};
use beat_core::beat::{Content, Message, Settings, Variant};
use beat_core::codec::{self, Envelope};
use beat_core::keystore::storage::{self, KdfParams};
use beat_core::keystore::{deal_cluster, Addresses, DealSpec, IdentityKey, IdentityPublic, KeySource};
use beat_core::net::handshake::{initiate, respond, ChannelKeys};
use beat_core::net::router::{self, Stamp, Wire};
use beat_core::net::sam::i2p_base64_encode;
use beat_core::state::{redb_store::FILE_NAME, FragmentKey, RedbStore, Store};
use beat_core::SessionId;
use beat_fuzz::{committee, honest_run, run_script, Event, Script, WalEntry, WIRE_SESSION};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Same constants as `fuzz_targets/operator_input.rs`.
const RAW_KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PASSPHRASE: &str = "fuzz passphrase";

struct Out {
    root: PathBuf,
    count: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        self.count += 1;
    }

    fn put_mode(&mut self, target: &str, name: &str, mode: u8, bytes: &[u8]) {
        let mut v = vec![mode];
        v.extend_from_slice(bytes);
        self.put(target, name, &v);
    }
}

/// A consensus frame's `Wire` (the stamp's tag is the sender's MAC, which receivers only hand
/// back; zeros here).
fn consensus(incarnation: u64, seq: u64, message: Message) -> Wire {
    Wire::Consensus { stamp: Stamp { incarnation, seq, epoch: message.epoch, tag: [0; 16] }, message }
}

/// A kind name for a message (one corpus file per kind and variant is plenty).
fn kind(m: &Message) -> String {
    let full = format!("{:?}", m.content);
    // The variant path down to the first payload, e.g. `Acs(AcsMessage { proposer: 1, content: Aba(AbaMessage { round: 0, content: BVal`.
    let mut k: String = full.chars().filter(|c| c.is_ascii_alphabetic() || *c == '(').collect();
    k.truncate(60);
    k
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().expect("usage: gen_corpus OUT [--keygen DIR]..."));
    let mut keygen = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--keygen" => keygen.push(PathBuf::from(args.next().expect("--keygen DIR"))),
            other => panic!("unknown argument {other}"),
        }
    }
    let mut out = Out { root, count: 0 };
    node_and_wire(&mut out);
    client(&mut out);
    operator(&mut out, &keygen);
    noise(&mut out);
    sam_socks(&mut out);
    println!("wrote {} seed inputs under {}", out.count, out.root.display());
}

fn node_and_wire(out: &mut Out) {
    let mut store_n = 0;
    for v in Variant::ALL {
        let name = v.name().to_ascii_lowercase();
        let run = honest_run(v, 2);
        assert!(run.faults.is_empty(), "{v}: honest nodes recorded faults: {:?}", run.faults);
        for b in &run.batches {
            assert!(b.len() >= 2, "{v}: every node commits at least two epochs");
            assert_eq!(b, &run.batches[0], "{v}: logs differ");
        }
        let (node, report) = run_script(&run.script);
        assert!(report.faults.is_empty(), "{v}: replay recorded faults: {:?}", report.faults);
        assert_eq!(report.batches, run.batches[0], "{v}: replay committed something else");
        // beat_node: the whole life, and cut at a few places.
        let bytes = run.script.to_bytes();
        println!("{v}: node 0 saw {} events ({} bytes)", run.script.events.len(), bytes.len());
        out.put("beat_node", &format!("{name}-honest-2-epochs"), &bytes);
        let n = run.script.events.len();
        for (i, cut) in [n / 8, n / 4, n / 2, 3 * n / 4].into_iter().enumerate() {
            let part = Script { variant: v, events: run.script.events[..cut].to_vec() };
            out.put("beat_node", &format!("{name}-honest-prefix-{i}"), &part.to_bytes());
        }
        // The second epoch alone: messages for epoch 1 reach a node still at epoch 0.
        let epoch1: Vec<Event> = run
            .script
            .events
            .iter()
            .filter(|e| match e {
                Event::Message { bytes, .. } => codec::decode::<Message>(bytes, usize::MAX).is_ok_and(|m| m.epoch == 1),
                _ => false,
            })
            .cloned()
            .collect();
        out.put("beat_node", &format!("{name}-epoch-1-only"), &Script { variant: v, events: epoch1 }.to_bytes());

        // node_core: the same life as frames (after each peer's rejoin answer naming node 0's
        // incarnation, 1), one incarnation per peer and increasing record numbers.
        let mut frames = Vec::new();
        for from in 1..4 {
            let answer = Wire::RejoinAnswer { incarnation: 1, stale: None, epoch: 0 };
            frames.push(Event::Message { from, bytes: router::encode(committee(v)[0].public.session, answer) });
        }
        let mut seqs = [0u64; 4];
        for e in &run.script.events {
            frames.push(match e {
                Event::Message { from, bytes } => {
                    let message: Message = codec::decode(bytes, usize::MAX).unwrap();
                    seqs[*from] += 1;
                    let wire = consensus(100 + *from as u64, seqs[*from], message);
                    Event::Message { from: *from, bytes: router::encode(committee(v)[0].public.session, wire) }
                }
                other => other.clone(),
            });
        }
        let n = frames.len();
        out.put("node_core", &format!("{name}-honest"), &Script { variant: v, events: frames.clone() }.to_bytes());
        out.put(
            "node_core",
            &format!("{name}-honest-half"),
            &Script { variant: v, events: frames[..n / 2].to_vec() }.to_bytes(),
        );
        out.put(
            "node_core",
            &format!("{name}-no-rejoin"),
            &Script { variant: v, events: frames[3..n / 3].to_vec() }.to_bytes(),
        );

        // wire_route: one message of each kind, three framings.
        let mut seen = BTreeSet::new();
        for (_, m) in &run.traffic {
            if !seen.insert(kind(m)) {
                continue;
            }
            let i = seen.len();
            let wire = consensus(7, i as u64, m.clone());
            out.put("wire_route", &format!("{name}-{i}-router"), &router::encode(WIRE_SESSION, wire));
            out.put("wire_route", &format!("{name}-{i}-envelope"), &Envelope::new(WIRE_SESSION, m.clone()).to_bytes());
            out.put("wire_route", &format!("{name}-{i}-message"), &codec::encode(m));
        }
        let batch = &run.batches[0][0];
        let batch_bytes = codec::encode(batch);
        out.put(
            "wire_route",
            &format!("{name}-committed"),
            &router::encode(
                WIRE_SESSION,
                Wire::Committed { epoch: 0, batch: serde_bytes::ByteBuf::from(batch_bytes.clone()) },
            ),
        );
        // store_records: checkpoint, batches, WAL records, snapshot.
        let vi = beat_fuzz::variant_index(v) as u8;
        let mut cp = vec![vi];
        cp.extend_from_slice(&codec::encode(&node.checkpoint()));
        out.put_mode("store_records", &format!("{name}-checkpoint"), 0, &cp);
        for (e, b) in run.batches[0].iter().enumerate() {
            let mut bb = vec![vi];
            bb.extend_from_slice(&codec::encode(b));
            out.put_mode("store_records", &format!("{name}-batch-{e}"), 1, &bb);
        }
        // WAL records (mode 2: variant byte, then the record), frames in the committee's session.
        let session = committee(v)[0].public.session;
        let wal = |rec: &WalEntry| {
            let mut r = vec![vi];
            r.extend_from_slice(&codec::encode(rec));
            r
        };
        if let Some((from, m)) = run.traffic.iter().find(|(f, _)| *f != 0) {
            let frame = router::encode(session, consensus(3, 0, m.clone()));
            let rec = WalEntry::Message { from: *from as u32, frame: serde_bytes::ByteBuf::from(frame) };
            out.put_mode("store_records", &format!("{name}-wal-message"), 2, &wal(&rec));
        }
        let rec = WalEntry::CatchUp(serde_bytes::ByteBuf::from(batch_bytes));
        out.put_mode("store_records", &format!("{name}-wal-catchup"), 2, &wal(&rec));
        if let Some(Event::Submit(tx)) = run.script.events.iter().find(|e| matches!(e, Event::Submit(_))) {
            let rec = WalEntry::Submit(serde_bytes::ByteBuf::from(tx.clone()));
            out.put_mode("store_records", &format!("{name}-wal-submit"), 2, &wal(&rec));
        }
        let rec = WalEntry::Rejoin { from: 2, incarnation: 99 };
        out.put_mode("store_records", &format!("{name}-wal-rejoin"), 2, &wal(&rec));
        if !v.dispersed() {
            let mut app = KvApp::default();
            for b in &run.batches[0] {
                app.apply(b.epoch, &b.transactions);
            }
            out.put_mode("store_records", &format!("{name}-kv-snapshot"), 3, &app.snapshot());
        }
        if store_n == 0 {
            // beat.redb files written by the store itself. Whole files are 3.6 MB: mode 4 gets
            // their heads (a file cut short), mode 5 small edits of the target's own real file
            // at the offsets of the pages that hold data.
            store_n += 1;
            let dir = tempfile::tempdir().unwrap();
            let store = RedbStore::open(dir.path()).unwrap();
            for (seq, (_, m)) in run.traffic.iter().take(8).enumerate() {
                store.wal_append(&[(seq as u64, &codec::encode(m))]).unwrap();
            }
            store.put_snapshot(0, b"snapshot").unwrap();
            store.put_committed(0, &codec::encode(&run.batches[0][0])).unwrap();
            store.put_fragment(&FragmentKey { epoch: 0, proposer: 1, index: 0 }, b"fragment").unwrap();
            store.put_meta(b"node/seed", &[7; 32]).unwrap();
            store.wal_truncate_before(2).unwrap();
            drop(store);
            let file = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
            for cut in [64usize, 512, 4096, 16384] {
                out.put_mode("store_records", &format!("redb-head-{cut}"), 4, &file[..cut.min(file.len())]);
            }
            let pages: Vec<usize> =
                (0..file.len()).step_by(4096).filter(|p| file[*p..].iter().take(4096).any(|b| *b != 0)).collect();
            println!("redb file: {} bytes, {} pages hold data", file.len(), pages.len());
            out.put_mode("store_records", "redb-pristine", 5, &[]);
            for (i, p) in pages.iter().step_by(8).enumerate() {
                // Overwrite 4 bytes 16 bytes into the page; zero one 256-byte block; cut there.
                let o = (p + 16).to_le_bytes();
                out.put_mode(
                    "store_records",
                    &format!("redb-edit-{i}"),
                    5,
                    &[0, o[0], o[1], o[2], 4, 0xde, 0xad, 0xbe, 0xef],
                );
            }
            let o = pages[pages.len() / 2].to_le_bytes();
            out.put_mode("store_records", "redb-zero", 5, &[2, o[0], o[1], o[2], 1]);
            out.put_mode("store_records", "redb-truncate", 5, &[1, o[0], o[1], o[2], 0]);
        }
        if v == Variant::Beat2 {
            for (i, tx) in run.client_txs.iter().take(6).enumerate() {
                out.put("client_tx", &format!("honest-{i}"), tx);
            }
        }
    }
    // The codec's golden vectors (beat-core/src/codec/mod.rs tests).
    let golden_val = concat!(
        "a3",
        "6776657273696f6e",
        "04",
        "6773657373696f6e",
        "5820",
        "0707070707070707070707070707070707070707070707070707070707070707",
        "676d657373616765",
        "a2",
        "6565706f6368",
        "03",
        "67636f6e74656e74",
        "a1",
        "63416373",
        "a2",
        "6870726f706f736572",
        "02",
        "67636f6e74656e74",
        "a1",
        "6942726f616463617374",
        "a1",
        "63526263",
        "a1",
        "6356616c",
        "45",
        "68656c6c6f",
    );
    let golden_shares = concat!(
        "a2",
        "6565706f6368",
        "04",
        "67636f6e74656e74",
        "a1",
        "69446563536861726573",
        "a2",
        "6870726f706f736572",
        "01",
        "66736861726573",
        "a2",
        "66736861726573",
        "5820",
        "0101010101010101010101010101010101010101010101010101010101010101",
        "6570726f6f66",
        "a2",
        "6163",
        "5820",
        "0500000000000000000000000000000000000000000000000000000000000000",
        "617a",
        "5820",
        "0700000000000000000000000000000000000000000000000000000000000000",
    );
    let val = hex::decode(golden_val).unwrap();
    assert!(Envelope::<Message>::from_bytes(&val, &WIRE_SESSION, codec::MAX_FRAME_BYTES).is_ok(), "golden vector");
    out.put("wire_route", "golden-val-envelope", &val);
    let shares = hex::decode(golden_shares).unwrap();
    assert!(codec::decode::<Message>(&shares, codec::MAX_FRAME_BYTES).is_ok(), "golden shares vector");
    out.put("wire_route", "golden-dec-shares-message", &shares);
    out.put("wire_route", "fetch", &router::encode(WIRE_SESSION, Wire::FetchCommitted { from: 3, count: 64 }));
    out.put("wire_route", "resend", &router::encode(WIRE_SESSION, Wire::Resend { epoch: 3 }));
    // Hostile length fields (the codec test's): a 2^63-byte string, a 2^32-element array.
    out.put("wire_route", "hostile-bytes-len", &[0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    out.put("wire_route", "hostile-array-len", &[0x9a, 0xff, 0xff, 0xff, 0xff]);
    // Undecodable peer bytes for the node too.
    let m = Message { epoch: 0, content: Content::ReadRequest { read: 0, proposer: 9, chunks: Some((0, 1)) } };
    let s = Script { variant: Variant::Beat3, events: vec![Event::Message { from: 1, bytes: codec::encode(&m) }] };
    out.put("beat_node", "beat3-read-request-bad-proposer", &s.to_bytes());
}

fn client(out: &mut Out) {
    let keys = committee(Variant::Beat2);
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut c = Client::new(keys[0].public.clone(), 5);
    for (i, len) in [0usize, 1, 31, 32, 33, 1000].into_iter().enumerate() {
        let tx = c.encrypt(&vec![0x61; len], &mut rng);
        out.put("client_tx", &format!("len-{len}"), &tx);
        if i == 2 {
            // Claimed by another client: decodes, fails its label.
            let mut t = ClientTransaction::decode(&tx, 1 << 16).unwrap();
            t.client = 6;
            out.put("client_tx", "wrong-client", &codec::encode(&t));
            let mut t = ClientTransaction::decode(&tx, 1 << 16).unwrap();
            t.ciphertext.payload[0] ^= 1;
            out.put("client_tx", "tampered-payload", &codec::encode(&t));
        }
    }
    // Another committee's transaction: wrong session in the label.
    let other = committee(Variant::Beat0);
    let tx = Client::new(other[0].public.clone(), 5).encrypt(b"elsewhere", &mut rng);
    out.put("client_tx", "other-committee", &tx);
}

fn operator(out: &mut Out, keygen: &[PathBuf]) {
    for (i, dir) in keygen.iter().enumerate() {
        let cluster = std::fs::read(dir.join("cluster.toml")).unwrap();
        out.put_mode("operator_input", &format!("keygen-{i}-cluster"), 0, &cluster);
        let text = String::from_utf8(cluster).unwrap();
        if let Some(at) = text.find("[consensus]") {
            let table = &text[at + "[consensus]".len()..];
            let end = table.find("\n[").unwrap_or(table.len());
            out.put_mode("operator_input", &format!("keygen-{i}-settings"), 1, table[..end].trim().as_bytes());
        }
        if let Ok(key) = std::fs::read(dir.join("node-0.key")) {
            out.put_mode("operator_input", &format!("keygen-{i}-sealed-node-0"), 3, &key);
        }
        if let Ok(secret) = std::fs::read(dir.join("node-0.secret")) {
            out.put_mode("operator_input", &format!("keygen-{i}-raw-key"), 4, &secret);
        }
    }
    for v in Variant::ALL {
        let s = Settings { variant: v, batch_size: 64, ..Settings::default() };
        out.put_mode("operator_input", &format!("settings-{}", v.name()), 1, toml::to_string(&s).unwrap().as_bytes());
    }
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let spec = DealSpec {
        session: SessionId::from_name("fuzz-cluster"),
        settings: Settings::with_variant(Variant::Beat4),
        addresses: (0..4).map(|i| Addresses::clearnet(format!("10.0.0.{i}:7000"))).collect(),
        onion_port: Some(7001),
    };
    let (cfg, secrets) = deal_cluster(&spec, &mut rng).unwrap();
    out.put_mode("operator_input", "dealt-cluster-onion", 0, cfg.to_toml().unwrap().as_bytes());
    let plain = secrets[1].to_bytes();
    out.put_mode("operator_input", "node-key-plain", 2, &plain);
    let raw = KeySource::raw_from_hex(RAW_KEY_HEX).unwrap();
    let sealed = storage::seal(&plain, &raw, &KdfParams::default(), &mut rng).unwrap();
    out.put_mode("operator_input", "node-key-sealed-raw", 3, &sealed);
    let cheap = KdfParams::new(8, 1, 1).unwrap();
    let sealed = storage::seal(&plain, &KeySource::passphrase(PASSPHRASE), &cheap, &mut rng).unwrap();
    out.put_mode("operator_input", "node-key-sealed-passphrase", 3, &sealed);
    for (i, name) in ["beat3", "BEAT0", " 4 ", "BEAT9"].into_iter().enumerate() {
        out.put_mode("operator_input", &format!("variant-name-{i}"), 4, name.as_bytes());
    }
    out.put_mode("operator_input", "raw-key-hex", 4, RAW_KEY_HEX.as_bytes());
}

/// A stream that copies everything written through it into a shared buffer.
struct Tap<S> {
    inner: S,
    written: Arc<Mutex<Vec<u8>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.written.lock().unwrap().extend_from_slice(&buf[..*n]);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn noise(out: &mut Out) {
    // The same identities as the target.
    let ids: Vec<IdentityKey> = (0..4).map(|i| IdentityKey::from_bytes(&[i as u8 + 7; 32])).collect();
    let publics: Vec<IdentityPublic> = ids.iter().map(|k| k.public()).collect();
    let keys: Vec<ChannelKeys> = (0..4).map(|i| ChannelKeys::new(i, &ids[i], &publics, &WIRE_SESSION)).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (dialler, listener) = rt.block_on(async {
        let (a, b) = tokio::io::duplex(1 << 18);
        let (wa, wb) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        let mut ta = Tap { inner: a, written: wa.clone() };
        let mut tb = Tap { inner: b, written: wb.clone() };
        let (ra, rb) = tokio::join!(initiate(&mut ta, &keys[0], 1), respond(&mut tb, &keys[1]));
        let mut ca = ra.unwrap();
        let _ = rb.unwrap();
        let handshake_a = wa.lock().unwrap().clone();
        // Sealed frames after the handshake (they cannot be opened by another handshake's keys,
        // but their framing is right).
        for f in [&b""[..], b"frame", &[9u8; 70_000][..]] {
            ca.send(&mut ta, f).await.unwrap();
        }
        let all_a = wa.lock().unwrap().clone();
        let b_bytes = wb.lock().unwrap().clone();
        ((handshake_a.clone(), all_a[handshake_a.len()..].to_vec()), b_bytes)
    });
    let ((hs, frames), msg2) = (dialler, listener);
    out.put_mode("noise_handshake", "dialler-msg1-msg3", 0, &hs);
    let msg1_len = 2 + usize::from(u16::from_be_bytes([hs[0], hs[1]]));
    out.put_mode("noise_handshake", "dialler-msg1", 0, &hs[..msg1_len]);
    out.put_mode("noise_handshake", "listener-msg2", 1, &msg2);
    out.put_mode("noise_handshake", "sealed-frames", 2, &frames);
    out.put_mode("noise_handshake", "frame-empty", 2, &[0, 0, 0, 0]);
    // Mode 3: frame plans (count, then len/fill triples, then 4-byte edits).
    out.put_mode("noise_handshake", "plan-clean", 3, &[3, 5, 0, 1, 0, 0, 2, 0x80, 0x80, 3]);
    out.put_mode("noise_handshake", "plan-flip", 3, &[2, 5, 0, 1, 200, 0, 2, 0, 30, 0, 1]);
    out.put_mode("noise_handshake", "plan-truncate-dup", 3, &[2, 16, 0, 1, 16, 0, 2, 1, 40, 0, 0, 3, 4, 0, 9]);
}

fn sam_socks(out: &mut Out) {
    let mut dest = vec![3u8; 385];
    dest.extend_from_slice(&[0, 0]);
    let dest64 = i2p_base64_encode(&dest);
    let mut private = dest.clone();
    private.extend_from_slice(&[4u8; 64]);
    let priv64 = i2p_base64_encode(&private);
    // Mode 0: codecs.
    out.put_mode("sam_socks", "b64-destination", 0, dest64.as_bytes());
    out.put_mode("sam_socks", "b64-private", 0, priv64.as_bytes());
    out.put_mode("sam_socks", "b64-padded", 0, b"aGVsbG8=");
    out.put_mode("sam_socks", "onion-key", 0, &[0x42; 32]);
    // Mode 1 (0x81: persistent key): control, accept and connect conversations, NUL-separated.
    let hello = "HELLO REPLY RESULT=OK VERSION=3.1\n";
    let conversation = format!(
        "{hello}SESSION STATUS RESULT=OK DESTINATION={priv64}\nNAMING REPLY RESULT=OK NAME=ME VALUE={dest64}\n\0\
         {hello}STREAM STATUS RESULT=OK\n{dest64} FROM_PORT=0 TO_PORT=0\nstream data\0\
         HELLO REPLY RESULT=OK VERSION=3.3\nSTREAM STATUS RESULT=OK\nmore data"
    );
    out.put_mode("sam_socks", "sam-transient-ok", 1, conversation.as_bytes());
    let persistent = format!(
        "{hello}SESSION STATUS RESULT=OK\nPING 1\nNAMING REPLY RESULT=OK NAME=ME VALUE={dest64}\n\0\
         {hello}STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"tunnel \\\"down\\\"\"\n\0\
         {hello}STREAM STATUS RESULT=CANT_REACH_PEER MESSAGE=\"no lease set\""
    );
    out.put_mode("sam_socks", "sam-persistent-errors", 0x81, persistent.as_bytes());
    out.put_mode("sam_socks", "sam-duplicate", 1, format!("{hello}SESSION STATUS RESULT=DUPLICATE_ID").as_bytes());
    out.put_mode("sam_socks", "sam-noversion", 1, b"HELLO REPLY RESULT=NOVERSION\n");
    // Mode 2: DEST GENERATE.
    out.put_mode("sam_socks", "dest-generate", 2, format!("{hello}DEST REPLY PUB={dest64} PRIV={priv64}\n").as_bytes());
    // Mode 3: SOCKS5 (target length, target, reply).
    let socks = |target: &str, reply: &[u8]| {
        let mut v = vec![target.len() as u8];
        v.extend_from_slice(target.as_bytes());
        v.extend_from_slice(reply);
        v
    };
    let onion = format!("{}.onion:7000", "a".repeat(56));
    out.put_mode(
        "sam_socks",
        "socks-ipv4",
        3,
        &socks(&onion, &[5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x1b, 0x58, b'h', b'i']),
    );
    let mut v6 = vec![5, 0, 5, 0, 0, 4];
    v6.extend_from_slice(&[0; 16]);
    v6.extend_from_slice(&[0, 80]);
    out.put_mode("sam_socks", "socks-ipv6", 3, &socks("[::1]:80", &v6));
    let mut dom = vec![5, 0, 5, 0, 0, 3, 9];
    dom.extend_from_slice(b"localhost");
    dom.extend_from_slice(&[0, 80, 1, 2, 3]);
    out.put_mode("sam_socks", "socks-domain", 3, &socks("10.0.0.1:9", &dom));
    out.put_mode("sam_socks", "socks-refused", 3, &socks(&onion, &[5, 0, 5, 0xf2, 0, 1]));
    out.put_mode("sam_socks", "socks-auth", 3, &socks("b32.i2p:1", &[5, 0xff]));
    out.put_mode("sam_socks", "socks-bad-target", 3, &socks("no-port", &[5, 0]));
}
