//! Shared support for BEAT's fuzz targets (`fuzz_targets/*.rs`), the corpus generator
//! (`examples/gen_corpus.rs`) and the honest-replay test (`tests/honest_replay.rs`).
//!
//! * [`alloc`]: a counting global allocator, so targets can assert that decoding `N` hostile
//!   bytes never allocates more than a stated bound.
//! * [`committee`]: the fixed 4-node committees (one per variant) every node target runs with,
//!   dealt once per process from a fixed seed, so captured honest traffic stays valid input.
//! * [`Script`]: the input format of the `beat_node` target (a sequence of peer messages and
//!   local inputs for node 0), parsed through [`arbitrary::Unstructured`] and writable by
//!   [`Script::to_bytes`], so real honest traffic can be checked in as corpus.
//! * [`run_script`]: node 0 consuming a script, with every invariant the target asserts.
//! * [`honest_run`]: four honest nodes over a FIFO network, capturing node 0's life as a script.

#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use beat_core::beat::client::Client;
use beat_core::beat::{
    deal, Batch, Beat, BeatError, Config, Input, Message, NodeKeys, Output, Settings, ValueId, Variant,
};
use beat_core::codec::{self, MAX_FRAME_BYTES};
use beat_core::proto::{Fault, Protocol, Step, Target};
use beat_core::{NodeId, Params, SessionId};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

pub mod alloc {
    //! A global allocator that counts live bytes and the peak since the last [`measure`].
    //!
    //! Every fuzz binary links this crate, so every allocation (ASan's interceptors sit below
    //! `System`) is counted. [`measure`] runs a closure and returns how far the live heap rose
    //! above its level at the start: the transient cost of, say, decoding one frame.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The counting allocator (the process's global allocator through this crate).
    #[derive(Debug)]
    pub struct Counting;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    // SAFETY: every method forwards to `System` unchanged; the counters are only statistics.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = System.alloc(layout);
            if !p.is_null() {
                grow(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = System.alloc_zeroed(layout);
            if !p.is_null() {
                grow(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            System.dealloc(ptr, layout);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = System.realloc(ptr, layout, new_size);
            if !p.is_null() {
                if new_size >= layout.size() {
                    grow(new_size - layout.size());
                } else {
                    LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
                }
            }
            p
        }
    }

    fn grow(by: usize) {
        let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Bytes live right now.
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    /// Run `f`; return its result and the peak rise of the live heap while it ran, in bytes.
    /// (Single-threaded use: another thread allocating meanwhile would be counted too.)
    pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let start = LIVE.load(Ordering::Relaxed);
        PEAK.store(start, Ordering::Relaxed);
        let out = f();
        let peak = PEAK.load(Ordering::Relaxed);
        (out, peak.saturating_sub(start))
    }

    /// Panic unless `peak <= per_byte * input + fixed`: the bound a target states for one input.
    pub fn assert_bounded(what: &str, input: usize, peak: usize, per_byte: usize, fixed: usize) {
        let bound = per_byte.saturating_mul(input).saturating_add(fixed);
        assert!(
            peak <= bound,
            "{what}: {input} input bytes made the heap grow by {peak} bytes, over the bound \
             {per_byte}·{input} + {fixed} = {bound}"
        );
    }
}

/// Name of the base session the fuzz committees are dealt under.
pub const SESSION_NAME: &str = "fuzz";
/// Committee size of every node target.
pub const N: usize = 4;
/// The session the wire targets decode frames for (the codec golden vectors' session).
pub const WIRE_SESSION: SessionId = SessionId([7; 32]);
/// Seed of node 0's randomness in [`run_script`] (and in [`honest_run`], so captures replay exactly).
pub const NODE0_SEED: u64 = 0x5eed_0000;

/// The settings of the fuzz committee of `variant`: small batches, defaults otherwise.
pub fn settings(variant: Variant) -> Settings {
    Settings { variant, batch_size: 8, ..Settings::default() }
}

/// The 4-node committee of `variant` (keys dealt once per process, from a fixed seed, so the
/// checked-in corpus of captured traffic stays valid).
pub fn committee(variant: Variant) -> &'static [NodeKeys] {
    static KEYS: [OnceLock<Vec<NodeKeys>>; 5] = [const { OnceLock::new() }; 5];
    let i = variant_index(variant);
    KEYS[i].get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(0xbea7_0000 + i as u64);
        deal(Params::new(N).unwrap(), SessionId::from_name(SESSION_NAME), settings(variant), &mut rng)
    })
}

/// `variant`'s position in [`Variant::ALL`].
pub fn variant_index(variant: Variant) -> usize {
    Variant::ALL.iter().position(|v| *v == variant).unwrap()
}

/// A current-thread tokio runtime for the async targets, built once per process.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap())
}

/// A WAL record (`beat_core::node::core::WalEntry` is private; this mirrors its serde shape, so
/// the corpus generator can write records and the store target can check their round trip).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WalEntry {
    /// A peer's frame (an `Envelope<Wire::Consensus>`), as received.
    Message {
        /// The sender.
        from: u32,
        /// The frame.
        frame: serde_bytes::ByteBuf,
    },
    /// A client transaction.
    Submit(serde_bytes::ByteBuf),
    /// A committed batch of the current epoch, confirmed by `f + 1` peers (catch-up).
    CatchUp(serde_bytes::ByteBuf),
    /// A peer (re)started with a new incarnation.
    Rejoin {
        /// The peer.
        from: u32,
        /// Its new incarnation.
        incarnation: u64,
    },
}

// ---------------------------------------------------------------------------------------------
// The `beat_node` input format.

/// One thing that happens to node 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes from peer `from` (1..=3), decoded with `codec::decode::<Message>`.
    Message {
        /// The authenticated sender (never node 0 itself: the transport refuses its own key).
        from: NodeId,
        /// The encoded `Message`.
        bytes: Vec<u8>,
    },
    /// `Input::Submit`.
    Submit(Vec<u8>),
    /// `Input::Propose`.
    Propose,
    /// `Input::RetryReads`.
    RetryReads,
    /// `Input::Read`.
    Read {
        /// Epoch of the value.
        epoch: u64,
        /// Proposer of the value.
        proposer: NodeId,
        /// Byte range, if any.
        range: Option<(u64, u64)>,
    },
    /// `Input::Repair`.
    Repair {
        /// Epoch of the value.
        epoch: u64,
        /// Proposer of the value.
        proposer: NodeId,
    },
}

/// Tags of local inputs in the byte format; every other tag is a peer message.
const TAG_SUBMIT: u8 = 0xf0;
const TAG_PROPOSE: u8 = 0xf1;
const TAG_RETRY_READS: u8 = 0xf2;
const TAG_READ: u8 = 0xf3;
const TAG_REPAIR: u8 = 0xf4;

/// The `beat_node` input: a variant and what node 0 sees, in order.
///
/// Byte layout (what [`Script::to_bytes`] writes and the [`Arbitrary`] impl reads):
///
/// ```text
/// variant: u8 (mod 5: BEAT0..BEAT4)
/// then records until the input ends:
///   tag: u8, len: u16 little-endian, body: len bytes (a short last record takes what is left)
///   tag 0xf0 Submit(body) | 0xf1 Propose | 0xf2 RetryReads
///   tag 0xf3 Read: body = epoch u64 LE, proposer u8, [start u64 LE, end u64 LE]
///   any other tag t: a message from peer 1 + t mod 3, body = codec::encode(&Message)
/// ```
///
/// A length-prefixed layout rather than `#[derive(Arbitrary)]`: the derived format of
/// `Vec<(u8, Vec<u8>)>` takes collection lengths from the end of the input, which a generator
/// cannot practically write, and the captured honest traffic must be expressible as corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The committee's variant.
    pub variant: Variant,
    /// What happens to node 0, in order.
    pub events: Vec<Event>,
}

impl Script {
    /// Parse the byte layout (never fails; an empty input is BEAT0 with no events).
    pub fn parse(u: &mut Unstructured<'_>) -> Script {
        let variant = Variant::ALL[usize::from(u.arbitrary::<u8>().unwrap_or(0)) % 5];
        let mut events = Vec::new();
        while !u.is_empty() {
            let tag: u8 = u.arbitrary().unwrap_or(0);
            let len_bytes = u.bytes(2.min(u.len())).unwrap_or(&[]);
            let len = match len_bytes {
                [a, b] => usize::from(u16::from_le_bytes([*a, *b])),
                [a] => usize::from(*a),
                _ => 0,
            };
            let body = u.bytes(len.min(u.len())).unwrap_or(&[]).to_vec();
            events.push(match tag {
                TAG_SUBMIT => Event::Submit(body),
                TAG_PROPOSE => Event::Propose,
                TAG_RETRY_READS => Event::RetryReads,
                TAG_READ => {
                    let word = |at: usize| {
                        let mut w = [0u8; 8];
                        if let Some(s) = body.get(at..at + 8) {
                            w.copy_from_slice(s);
                        }
                        u64::from_le_bytes(w)
                    };
                    let proposer = usize::from(body.get(8).copied().unwrap_or(0)) % N;
                    let range = (body.len() >= 25).then(|| (word(9), word(17)));
                    Event::Read { epoch: word(0), proposer, range }
                }
                TAG_REPAIR => {
                    let mut w = [0u8; 8];
                    if let Some(s) = body.get(..8) {
                        w.copy_from_slice(s);
                    }
                    let proposer = usize::from(body.get(8).copied().unwrap_or(0)) % N;
                    Event::Repair { epoch: u64::from_le_bytes(w), proposer }
                }
                t => Event::Message { from: 1 + usize::from(t) % (N - 1), bytes: body },
            });
        }
        Script { variant, events }
    }

    /// The byte layout of this script.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![variant_index(self.variant) as u8];
        let mut record = |tag: u8, body: &[u8]| {
            let len = u16::try_from(body.len()).expect("a record body fits in u16");
            out.push(tag);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(body);
        };
        for e in &self.events {
            match e {
                Event::Message { from, bytes } => {
                    assert!((1..N).contains(from), "messages come from peers 1..{N}");
                    record((*from - 1) as u8, bytes);
                }
                Event::Submit(tx) => record(TAG_SUBMIT, tx),
                Event::Propose => record(TAG_PROPOSE, &[]),
                Event::RetryReads => record(TAG_RETRY_READS, &[]),
                Event::Read { epoch, proposer, range } => {
                    let mut body = epoch.to_le_bytes().to_vec();
                    body.push(*proposer as u8);
                    if let Some((a, b)) = range {
                        body.extend_from_slice(&a.to_le_bytes());
                        body.extend_from_slice(&b.to_le_bytes());
                    }
                    record(TAG_READ, &body);
                }
                Event::Repair { epoch, proposer } => {
                    let mut body = epoch.to_le_bytes().to_vec();
                    body.push(*proposer as u8);
                    record(TAG_REPAIR, &body);
                }
            }
        }
        out
    }
}

impl<'a> Arbitrary<'a> for Script {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Script::parse(u))
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Script::parse(&mut u))
    }
}

/// What node 0 did while consuming a script.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Faults it recorded against peers.
    pub faults: Vec<Fault>,
    /// Epochs it committed, in order.
    pub batches: Vec<Batch>,
    /// Reads it finished.
    pub reads: usize,
    /// Messages it sent.
    pub sent: usize,
    /// Peer records whose bytes did not decode (the driver counts those as `Malformed`).
    pub undecodable: usize,
}

/// The only errors a local input may return (a refused transaction); anything else is a bug.
pub fn assert_local_refusal(e: &BeatError) {
    assert!(
        matches!(
            e,
            BeatError::TransactionTooLarge { .. }
                | BeatError::BufferFull(_)
                | BeatError::InvalidClientTransaction(_)
                | BeatError::ReplayedClientTransaction { .. }
        ),
        "a local input failed with an internal error: {e}"
    );
}

/// Node 0 of `script.variant`'s committee consumes `script`; returns the node and what it did.
/// Panics (a fuzz finding) when:
/// `handle_message` returns `Err` for any peer message; a local input fails other than by
/// refusing the transaction; the node outputs epochs out of order or twice; or a message it
/// sends does not survive `codec::encode` → `codec::decode` (peers could not read it).
pub fn run_script(script: &Script) -> (Beat, RunReport) {
    let mut node = Beat::new(committee(script.variant)[0].clone(), Config::default());
    let mut rng = ChaCha20Rng::seed_from_u64(NODE0_SEED);
    let mut report = RunReport::default();
    for (i, event) in script.events.iter().enumerate() {
        if trace() {
            eprintln!("[{i}] epoch {} <- {}", node.epoch(), describe(event));
        }
        let step = apply(&mut node, event, &mut rng, &mut report);
        if let Some(step) = step {
            if trace() {
                for (t, m) in &step.messages {
                    eprintln!("      -> {t:?}: epoch {} {:.160}", m.epoch, format!("{:?}", m.content));
                }
                for f in &step.faults {
                    eprintln!("      fault {f:?}");
                }
            }
            absorb(&node, step, &mut report);
        }
    }
    (node, report)
}

/// Whether the known issue `id` is to be tolerated: `BEAT_FUZZ_KNOWN` lists ids, separated by
/// commas. By default (unset) every finding is a crash. The ids (README.md, "Known issues"):
///
/// * `self-message`: a node addresses a message to itself (`beat_node`);
/// * `redb-panic`: redb panics on a damaged store file and the panic escapes `RedbStore`
///   (`store_records`).
///
/// Meant for fuzzing past a reported bug until it is fixed, never for CI.
pub fn known(id: &str) -> bool {
    static KNOWN: OnceLock<Vec<String>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            std::env::var("BEAT_FUZZ_KNOWN")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default()
        })
        .iter()
        .any(|k| k == id)
}

/// Whether `BEAT_FUZZ_TRACE` is set: [`run_script`] then logs every event and step to stderr
/// (run a fuzz binary on one input with it to see what led to a crash).
pub fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("BEAT_FUZZ_TRACE").is_some())
}

fn describe(event: &Event) -> String {
    match event {
        Event::Message { from, bytes } => match codec::decode::<Message>(bytes, MAX_FRAME_BYTES) {
            Ok(m) => format!("peer {from}: epoch {} {:.160}", m.epoch, format!("{:?}", m.content)),
            Err(e) => format!("peer {from}: {} undecodable bytes ({e})", bytes.len()),
        },
        other => format!("{other:.160}", other = format!("{other:?}")),
    }
}

/// Feed one event to `node`; `None` when there is no step (undecodable bytes, refused input).
fn apply(
    node: &mut Beat,
    event: &Event,
    rng: &mut ChaCha20Rng,
    report: &mut RunReport,
) -> Option<Step<Message, Output>> {
    let input = match event {
        Event::Message { from, bytes } => {
            let Ok(msg) = codec::decode::<Message>(bytes, MAX_FRAME_BYTES) else {
                report.undecodable += 1;
                return None;
            };
            return match node.handle_message(*from, msg, rng) {
                Ok(step) => Some(step),
                Err(e) => panic!("handle_message returned Err for a message from peer {from}: {e:?}"),
            };
        }
        Event::Submit(tx) => Input::Submit(tx.clone()),
        Event::Propose => Input::Propose,
        Event::RetryReads => Input::RetryReads,
        Event::Read { epoch, proposer, range } => {
            Input::Read { id: ValueId { epoch: *epoch, proposer: *proposer }, range: range.map(|(a, b)| a..b) }
        }
        Event::Repair { epoch, proposer } => Input::Repair { id: ValueId { epoch: *epoch, proposer: *proposer } },
    };
    match node.handle_input(input, rng) {
        Ok(step) => Some(step),
        Err(e) => {
            assert_local_refusal(&e);
            None
        }
    }
}

fn absorb(node: &Beat, step: Step<Message, Output>, report: &mut RunReport) {
    for (target, msg) in &step.messages {
        if let Target::Node(j) = target {
            assert!(*j < N, "message addressed to node {j} of {N}");
            assert!(
                *j != node.our_id() || known("self-message"),
                "node {j} addressed a message to itself (it is never delivered): {msg:?}"
            );
        }
        let bytes = codec::encode(msg);
        assert!(bytes.len() <= MAX_FRAME_BYTES, "node sent a {}-byte message", bytes.len());
        let back: Message = codec::decode(&bytes, MAX_FRAME_BYTES).expect("a message the node sends decodes");
        assert_eq!(&back, msg, "a message the node sends does not round-trip the codec");
    }
    report.sent += step.messages.len();
    report.faults.extend(step.faults.iter().copied());
    for out in step.output {
        match out {
            Output::Batch(b) => {
                let want = report.batches.len() as u64;
                assert_eq!(b.epoch, want, "node 0 output epoch {} when {want} was next", b.epoch);
                report.batches.push(b);
            }
            Output::Read(_) | Output::Repaired(_) => report.reads += 1,
            Output::Stored(_) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Honest traffic.

/// A run of four honest nodes: node 0's life as a [`Script`], and every message any node sent.
#[derive(Debug)]
pub struct HonestRun {
    /// What node 0 saw, in order (replays exactly through [`run_script`]).
    pub script: Script,
    /// Every message sent in the run, with its sender (for the wire corpus).
    pub traffic: Vec<(NodeId, Message)>,
    /// Each node's committed batches.
    pub batches: Vec<Vec<Batch>>,
    /// Faults any node recorded (must be none: everyone is honest).
    pub faults: Vec<(NodeId, Fault)>,
    /// Client transactions submitted (BEAT2), for the client corpus.
    pub client_txs: Vec<Vec<u8>>,
}

/// Four honest nodes of `variant` over a FIFO network: `epochs` rounds of three transactions
/// submitted to every node and a `Propose` everywhere, each delivered until quiet (nodes keep
/// proposing while their buffers hold transactions, so more epochs than rounds may commit); for
/// BEAT3/4 node 0 then reads every value committed in epoch 0 (whole and a range).
pub fn honest_run(variant: Variant, epochs: u64) -> HonestRun {
    let keys = committee(variant);
    let mut nodes: Vec<Beat> = keys.iter().map(|k| Beat::new(k.clone(), Config::default())).collect();
    let mut rngs: Vec<ChaCha20Rng> = (0..N)
        .map(
            |i| if i == 0 { ChaCha20Rng::seed_from_u64(NODE0_SEED) } else { ChaCha20Rng::seed_from_u64(77 + i as u64) },
        )
        .collect();
    let mut run = HonestRun {
        script: Script { variant, events: Vec::new() },
        traffic: Vec::new(),
        batches: vec![Vec::new(); N],
        faults: Vec::new(),
        client_txs: Vec::new(),
    };
    let mut queue: VecDeque<(NodeId, NodeId, Message)> = VecDeque::new();
    let mut client_rng = ChaCha20Rng::seed_from_u64(4242);
    let mut clients: Vec<Client> = (0..N).map(|i| Client::new(keys[0].public.clone(), 100 + i as u64)).collect();

    // Node `i`'s step: faults, messages onto the queue, batches.
    fn deliver(
        run: &mut HonestRun,
        queue: &mut VecDeque<(NodeId, NodeId, Message)>,
        i: NodeId,
        step: Result<Step<Message, Output>, BeatError>,
    ) {
        let step = step.unwrap_or_else(|e| panic!("honest node {i}: {e}"));
        for f in &step.faults {
            run.faults.push((i, *f));
        }
        for (target, msg) in step.messages {
            run.traffic.push((i, msg.clone()));
            for to in 0..N {
                if target.includes(i, to) {
                    queue.push_back((i, to, msg.clone()));
                }
            }
        }
        for out in step.output {
            if let Output::Batch(b) = out {
                run.batches[i].push(b);
            }
        }
    }

    // Node `i` handles `input` (node 0's inputs are recorded in its script).
    let input = |run: &mut HonestRun,
                 nodes: &mut [Beat],
                 rngs: &mut [ChaCha20Rng],
                 queue: &mut VecDeque<(NodeId, NodeId, Message)>,
                 i: NodeId,
                 input: Input| {
        if i == 0 {
            run.script.events.push(match &input {
                Input::Submit(tx) => Event::Submit(tx.clone()),
                Input::Propose => Event::Propose,
                Input::RetryReads => Event::RetryReads,
                Input::Read { id, range } => Event::Read {
                    epoch: id.epoch,
                    proposer: id.proposer,
                    range: range.as_ref().map(|r| (r.start, r.end)),
                },
                Input::Repair { id } => Event::Repair { epoch: id.epoch, proposer: id.proposer },
            });
        }
        let step = nodes[i].handle_input(input, &mut rngs[i]);
        deliver(run, queue, i, step);
    };

    for e in 0..epochs {
        for (i, client) in clients.iter_mut().enumerate() {
            for t in 0..3u64 {
                let tx = if variant.client_encrypted() {
                    let tx = client.encrypt(format!("set k{i}-{e}-{t} v{t}").as_bytes(), &mut client_rng);
                    run.client_txs.push(tx.clone());
                    tx
                } else if variant.dispersed() {
                    // Values worth dispersing: a few hundred bytes.
                    format!("set blob{i}-{e}-{t} {}", "x".repeat(200 + 37 * t as usize)).into_bytes()
                } else {
                    format!("set k{i}-{e}-{t} v{t}").into_bytes()
                };
                input(&mut run, &mut nodes, &mut rngs, &mut queue, i, Input::Submit(tx));
            }
        }
        for i in 0..N {
            input(&mut run, &mut nodes, &mut rngs, &mut queue, i, Input::Propose);
        }
        while let Some((from, to, msg)) = queue.pop_front() {
            if to == 0 {
                run.script.events.push(Event::Message { from, bytes: codec::encode(&msg) });
            }
            let step = nodes[to].handle_message(from, msg, &mut rngs[to]);
            deliver(&mut run, &mut queue, to, step);
        }
    }
    if variant.dispersed() {
        let stored: Vec<_> = run.batches[0].first().map(|b| b.stored.clone()).unwrap_or_default();
        for v in stored {
            for range in [None, Some(3..40)] {
                let id = ValueId { epoch: 0, proposer: v.proposer };
                input(&mut run, &mut nodes, &mut rngs, &mut queue, 0, Input::Read { id, range });
                while let Some((from, to, msg)) = queue.pop_front() {
                    if to == 0 {
                        run.script.events.push(Event::Message { from, bytes: codec::encode(&msg) });
                    }
                    let step = nodes[to].handle_message(from, msg, &mut rngs[to]);
                    deliver(&mut run, &mut queue, to, step);
                }
            }
        }
    }
    run
}
