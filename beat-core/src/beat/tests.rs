//! Node-level tests of catch-up, de-duplication and storage on a small FIFO network (the
//! simulator covers the adversaries; these pin down one mechanism each).
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::client::Client;
use super::*;
use crate::proto::{Protocol, Step};
use crate::{NodeId, Params, SessionId};

/// Drops a message `(from, to, msg)` when it returns true.
type Cut = Box<dyn Fn(NodeId, NodeId, &Message) -> bool>;

/// `n` nodes over a FIFO network. `cut(from, to, msg)` drops a message.
struct Net {
    nodes: Vec<Beat>,
    rngs: Vec<ChaCha20Rng>,
    queue: VecDeque<(NodeId, NodeId, Message)>,
    batches: Vec<Vec<Batch>>,
    reads: Vec<Vec<ReadOutcome>>,
    repairs: Vec<Vec<RepairOutcome>>,
    cut: Cut,
}

impl Net {
    fn new(n: usize, settings: Settings, seed: u64) -> (Self, Vec<NodeKeys>) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let keys = deal(Params::new(n).unwrap(), SessionId::from_name("beat-tests"), settings, &mut rng);
        let nodes = keys.iter().map(|k| Beat::new(k.clone(), Config::default())).collect();
        let net = Net {
            nodes,
            rngs: (0..n).map(|i| ChaCha20Rng::seed_from_u64(seed * 100 + i as u64)).collect(),
            queue: VecDeque::new(),
            batches: vec![Vec::new(); n],
            reads: vec![Vec::new(); n],
            repairs: vec![Vec::new(); n],
            cut: Box::new(|_, _, _| false),
        };
        (net, keys)
    }

    fn absorb(&mut self, from: NodeId, step: Step<Message, Output>) {
        for (target, msg) in step.messages {
            for to in 0..self.nodes.len() {
                if target.includes(from, to) && !(self.cut)(from, to, &msg) {
                    self.queue.push_back((from, to, msg.clone()));
                }
            }
        }
        for out in step.output {
            match out {
                Output::Batch(b) => self.batches[from].push(b),
                Output::Read(r) => self.reads[from].push(r),
                Output::Repaired(r) => self.repairs[from].push(r),
                Output::Stored(_) => {}
            }
        }
    }

    fn input(&mut self, i: NodeId, input: Input) {
        let step = self.nodes[i].handle_input(input, &mut self.rngs[i]).unwrap();
        self.absorb(i, step);
    }

    /// Deliver until quiet; a run that never settles (nodes that disagree can keep each other
    /// busy forever) fails instead of hanging.
    fn run(&mut self) {
        let mut delivered = 0u64;
        while let Some((from, to, msg)) = self.queue.pop_front() {
            delivered += 1;
            assert!(delivered < 1_000_000, "the network did not settle after {delivered} messages");
            let step = self.nodes[to].handle_message(from, msg, &mut self.rngs[to]).unwrap();
            self.absorb(to, step);
        }
    }

    /// Propose everywhere (except at `skip`) and deliver until quiet.
    fn epoch(&mut self, skip: &[NodeId]) {
        for i in 0..self.nodes.len() {
            if !skip.contains(&i) {
                self.input(i, Input::Propose);
            }
        }
        self.run();
    }

    fn fast_forward(&mut self, i: NodeId, batch: Batch) {
        let step = self.nodes[i].fast_forward(batch, &mut self.rngs[i]).unwrap();
        self.absorb(i, step);
    }
}

/// Hole 2: a BEAT2 node that takes an epoch by catch-up must learn the committed transactions'
/// `(client, seq)` identities (what its duplicate filter uses), not digests of plaintexts.
/// Otherwise it re-proposes a transaction the others committed, and commits it a second time
/// while they skip it: the logs diverge.
#[test]
fn beat2_catch_up_learns_client_identities() {
    let settings = Settings { variant: Variant::Beat2, batch_size: 8, ..Settings::default() };
    let (mut net, keys) = Net::new(4, settings, 1);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut client = Client::new(keys[0].public.clone(), 7);
    let txs: Vec<Vec<u8>> = (0..4).map(|i| client.encrypt(format!("pay {i}").as_bytes(), &mut rng)).collect();
    // Every transaction reaches every node; node 3 is cut off during epoch 0.
    for i in 0..4 {
        for tx in &txs {
            net.nodes[i].buffer_transaction(tx.clone()).unwrap();
        }
    }
    net.cut = Box::new(|from, to, _| from == 3 || to == 3);
    net.epoch(&[3]);
    let epoch0 = net.batches[0][0].clone();
    assert!(!epoch0.transactions.is_empty());
    assert!(net.batches[1..3].iter().all(|b| b.len() == 1 && b[0] == epoch0));
    // Node 3 catches up on epoch 0 (its driver got f + 1 matching answers), then everyone
    // runs epoch 1 together.
    net.fast_forward(3, epoch0.clone());
    net.cut = Box::new(|_, _, _| false);
    net.epoch(&[]);
    assert_logs_agree(&net);
    for b in &net.batches[0][1..] {
        for tx in &b.transactions {
            assert!(!epoch0.transactions.contains(tx), "a transaction of epoch 0 committed again in {}", b.epoch);
        }
    }
}

/// Every node committed the same batches.
fn assert_logs_agree(net: &Net) {
    let summary: Vec<Vec<(u64, usize)>> =
        net.batches.iter().map(|b| b.iter().map(|x| (x.epoch, x.transactions.len())).collect()).collect();
    for log in &net.batches[1..] {
        assert_eq!(log, &net.batches[0], "logs differ (epoch, transactions): {summary:?}");
    }
}

/// Hole 3: a client's `(client, seq)` commits at most once, even when the same ciphertext is
/// proposed again after the de-duplication window has passed.
#[test]
fn beat2_client_transaction_never_commits_twice() {
    let settings = Settings { variant: Variant::Beat2, batch_size: 4, dedup_epochs: 3, ..Settings::default() };
    let (mut net, keys) = Net::new(4, settings, 2);
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut client = Client::new(keys[0].public.clone(), 11);
    let old = client.encrypt(b"pay bob 10", &mut rng);
    net.nodes[0].buffer_transaction(old.clone()).unwrap();
    net.epoch(&[]);
    assert_eq!(net.batches[0][0].transactions, vec![b"pay bob 10".to_vec()]);
    // Epochs pass: the window forgets the transaction.
    for _ in 0..5 {
        net.epoch(&[]);
    }
    // A Byzantine proposer (or a replaying client) brings the old ciphertext back: refused at
    // submit by correct nodes, and never committed even when a proposer includes it anyway.
    let err = net.nodes[1].buffer_transaction(old.clone());
    assert!(matches!(err, Err(BeatError::ReplayedClientTransaction { client: 11, seq: 0 })), "{err:?}");
    net.nodes[1].force_buffer_for_test(old.clone());
    net.epoch(&[]);
    assert_logs_agree(&net);
    let count = net.batches[0].iter().flat_map(|b| &b.transactions).filter(|t| t.as_slice() == b"pay bob 10").count();
    assert_eq!(count, 1, "replayed transaction committed again");
    // New sequence numbers of the same client still go through.
    net.nodes[2].buffer_transaction(client.encrypt(b"pay bob 11", &mut rng)).unwrap();
    net.epoch(&[]);
    assert_eq!(net.batches[0].last().unwrap().transactions, vec![b"pay bob 11".to_vec()]);
}

/// BEAT0/1 promise de-duplication within `dedup_epochs` only (documented): the same bytes
/// proposed again (here by a proposer that keeps them in its buffer) never commit twice within
/// the window, and may after it.
#[test]
fn beat0_deduplicates_within_the_window_only() {
    let settings = Settings { variant: Variant::Beat0, batch_size: 4, dedup_epochs: 3, ..Settings::default() };
    let (mut net, _) = Net::new(4, settings, 3);
    net.nodes[0].buffer_transaction(b"set a 1".to_vec()).unwrap();
    net.epoch(&[]);
    assert_eq!(net.batches[0][0].transactions, vec![b"set a 1".to_vec()]);
    // A correct node refuses it within the window; a proposer that has it anyway proposes it
    // every epoch until it commits again, which happens only once the window has passed.
    assert!(net.nodes[1].buffer_transaction(b"set a 1".to_vec()).is_ok());
    assert_eq!(net.nodes[1].buffered(), 0, "refused silently as a duplicate");
    net.nodes[1].force_buffer_for_test(b"set a 1".to_vec());
    net.epoch(&[]);
    assert_logs_agree(&net);
    let epochs: Vec<u64> = net.batches[0]
        .iter()
        .filter(|b| b.transactions.iter().any(|t| t.as_slice() == b"set a 1"))
        .map(|b| b.epoch)
        .collect();
    // Committed at 0, blocked in epochs 1..=3 (within 3 epochs), committed again at 4.
    assert_eq!(epochs, vec![0, 4], "committed at epochs {epochs:?}: again within the window, or never after it");
}

/// A node combines its own decryption shares without checking their proof only when its key
/// share's `g^x_i` is the public key's `h_i` (`SecretKeyShare::decrypt_own_shares`). A node
/// whose key share does not match (a damaged keystore) must wait for `f + 1` other senders and
/// open what everyone opens: combining its own wrong share would fail to decrypt, fault the
/// proposers and commit empty contributions the others do not.
#[test]
fn a_node_with_a_mismatched_key_share_decrypts_from_the_others() {
    for variant in [Variant::Beat0, Variant::Beat1, Variant::Beat2] {
        let settings = Settings { variant, batch_size: 8, ..Settings::default() };
        let (mut net, keys) = Net::new(4, settings, 5);
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let (_, foreign) = crate::crypto::elgamal::deal(4, 1, &mut rng);
        let mut damaged = keys[3].clone();
        damaged.decryption_secret = std::sync::Arc::new(foreign[3].clone());
        net.nodes[3] = Beat::new(damaged, Config::default());
        let mut client = Client::new(keys[0].public.clone(), 3);
        for e in 0..3u8 {
            for i in 0..4u8 {
                let tx = format!("pay {e} {i}").into_bytes();
                let tx = if variant == Variant::Beat2 { client.encrypt(&tx, &mut rng) } else { tx };
                net.nodes[usize::from(i)].buffer_transaction(tx).unwrap();
            }
            net.epoch(&[]);
        }
        assert_logs_agree(&net);
        let committed: usize = net.batches[3].iter().map(|b| b.transactions.len()).sum();
        assert_eq!(committed, 12, "{variant:?}: node 3 committed {committed} of 12 transactions");
    }
}

/// Hole 7: a BEAT3/4 node that takes an epoch by catch-up keeps the fragments it had already
/// verified and echoed (with their cross-checksums, so it can serve and read them), and does not
/// disperse its own already-committed transactions again.
#[test]
fn beat3_catch_up_keeps_fragments_and_never_redisperses() {
    for variant in [Variant::Beat3, Variant::Beat4] {
        let settings = Settings { variant, batch_size: 8, ..Settings::default() };
        let (mut net, _) = Net::new(4, settings, 4);
        for i in 0..4 {
            net.nodes[i].buffer_transaction(format!("file {i}").into_bytes()).unwrap();
        }
        // Node 3 takes part in the broadcasts but hears no agreement traffic: it holds
        // fragments of epoch 0 but cannot commit it.
        net.cut = Box::new(|_, to, m| {
            to == 3
                && matches!(&m.content, Content::Acs(a) if matches!(a.content, crate::proto::acs::AcsContent::Aba(_)))
        });
        net.epoch(&[]);
        let epoch0 = net.batches[0][0].clone();
        assert!(net.batches[3].is_empty());
        assert!(epoch0.stored.iter().any(|v| v.proposer == 3), "{variant}: node 3's value was committed");
        net.fast_forward(3, epoch0.clone());
        for v in &epoch0.stored {
            let id = ValueId { epoch: 0, proposer: v.proposer };
            assert!(
                net.nodes[3].fragment_store().get(id).is_some(),
                "{variant}: node 3 dropped its fragment of {id:?}"
            );
            assert!(net.nodes[3].committed_checksum(id).is_some(), "{variant}: no cross-checksum for {id:?}");
        }
        // Node 3's own transaction was committed in its value: it must not disperse it again.
        assert_eq!(net.nodes[3].buffered(), 0, "{variant}: committed transactions left in the buffer");
        net.cut = Box::new(|_, _, _| false);
        net.epoch(&[]);
        assert_logs_agree(&net);
        // What node 3 dispersed next does not hold its committed transaction again.
        let epoch1 = net.batches[0][1].clone();
        assert!(epoch1.stored.iter().any(|v| v.proposer == 3));
        net.input(0, Input::Read { id: ValueId { epoch: 1, proposer: 3 }, range: None });
        net.run();
        let read = net.reads[0].pop().unwrap();
        let txs = super::batch::Contribution::decode(&read.result.unwrap(), 1 << 20, 100, 1 << 16).unwrap();
        assert!(txs.is_empty(), "{variant}: node 3 dispersed {txs:?} again");
    }
}

/// A proposal never exceeds the committee's `max_proposal_bytes`: what does not fit waits for a
/// later epoch (a proposal over the limit used to be refused by the broadcast, and the node,
/// drawing the same transactions again, never proposed).
#[test]
fn proposals_respect_the_size_limit() {
    for variant in Variant::ALL {
        let settings =
            Settings { variant, batch_size: 40, max_tx_size: 1000, max_proposal_bytes: 5096, dedup_epochs: 8 };
        settings.validate().unwrap();
        let (mut net, keys) = Net::new(4, settings, 7);
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let mut client = Client::new(keys[0].public.clone(), 3);
        let mut submitted = 0;
        for i in 0..40u32 {
            let plain = [i.to_le_bytes().as_slice(), &[7u8; 600]].concat();
            let tx = if variant.client_encrypted() { client.encrypt(&plain, &mut rng) } else { plain };
            assert!(tx.len() <= 1000);
            net.nodes[(i % 4) as usize].buffer_transaction(tx).unwrap();
            submitted += 1;
        }
        for _ in 0..20 {
            net.epoch(&[]);
        }
        assert_logs_agree(&net);
        if !variant.dispersed() {
            let committed: usize = net.batches[0].iter().map(|b| b.transactions.len()).sum();
            assert_eq!(committed, submitted, "{variant}: every transaction commits, over several epochs");
        }
        assert!(net.nodes.iter().all(|n| n.buffered() == 0), "{variant}: buffers drained");
    }
}

/// Found by fuzzing (`fuzz/crashes/beat_node/`): a range ending near `u64::MAX` overflowed the
/// bounds check, and a node without its own fragment asked itself over the network (a request
/// nobody answers). Every read of a committed value is answered; no node ever messages itself.
#[test]
fn reads_with_extreme_ranges_and_without_an_own_fragment() {
    for variant in [Variant::Beat3, Variant::Beat4] {
        let settings = Settings { variant, batch_size: 8, ..Settings::default() };
        let (mut net, keys) = Net::new(4, settings, 5);
        // Node 0 keeps no fragments (a lost or wiped fragment store).
        #[derive(Debug)]
        struct Forgetful;
        impl super::store::FragmentStore for Forgetful {
            fn put(&mut self, _: ValueId, _: super::store::HeldFragment) {}
            fn get(&self, _: ValueId) -> Option<super::store::HeldFragment> {
                None
            }
            fn stored_bytes(&self) -> u64 {
                0
            }
        }
        net.nodes[0] = Beat::with_fragment_store(keys[0].clone(), Config::default(), Box::new(Forgetful));
        for i in 0..4 {
            net.nodes[i].buffer_transaction(format!("value {i}").into_bytes()).unwrap();
        }
        net.epoch(&[]);
        let id = ValueId { epoch: 0, proposer: 1 };
        for range in [u64::MAX - 3..u64::MAX, 0..u64::MAX, 5..u64::MAX - 7] {
            net.input(0, Input::Read { id, range: Some(range.clone()) });
            net.run();
            let read = net.reads[0].pop().unwrap_or_else(|| panic!("{variant}: no answer to {range:?}"));
            assert!(matches!(read.result, Err(ReadError::OutOfBounds)), "{variant} {range:?}: {:?}", read.result);
        }
        // Without its own fragment, node 0's read asks only the others, and completes.
        net.input(0, Input::Read { id, range: None });
        assert!(net.queue.iter().all(|(from, to, _)| from != to), "{variant}: a node messaged itself");
        net.run();
        let read = net.reads[0].pop().expect("an answer");
        assert!(read.result.is_ok(), "{variant}: {:?}", read.result);
    }
}

/// A node that committed values without their fragments (it never got its `Val`) learns which
/// ones ([`Beat::take_missing`]) and rebuilds each from its peers' fragments ([`Input::Repair`]):
/// the result verifies against the committed cross-checksum, serves reads, and a damaged
/// stored fragment is found ([`Beat::check_own`]) and repaired the same way.
#[test]
fn missed_and_damaged_fragments_are_repaired_from_peers() {
    use crate::proto::acs::AcsContent;
    use crate::proto::avid_fp::AvidFpMessage;
    use crate::proto::broadcast::BroadcastMessage;
    for variant in [Variant::Beat3, Variant::Beat4] {
        let settings = Settings { variant, batch_size: 8, ..Settings::default() };
        let (mut net, _) = Net::new(4, settings, 9);
        // Node 3 gets no fragment from anyone but itself.
        net.cut = Box::new(|from, to, m| {
            to == 3
                && from != 3
                && matches!(&m.content, Content::Acs(a)
                    if matches!(&a.content, AcsContent::Broadcast(BroadcastMessage::AvidFp(AvidFpMessage::Val { .. }))))
        });
        for i in 0..4 {
            net.nodes[i].buffer_transaction(vec![i as u8; 3000]).unwrap();
        }
        net.epoch(&[]);
        net.cut = Box::new(|_, _, _| false);
        assert_logs_agree(&net);
        let stored: Vec<ValueId> =
            net.batches[3][0].stored.iter().map(|v| ValueId { epoch: 0, proposer: v.proposer }).collect();
        let missing = net.nodes[3].take_missing();
        let others: Vec<ValueId> = stored.iter().copied().filter(|id| id.proposer != 3).collect();
        assert_eq!(missing, others, "{variant}: node 3 knows exactly which fragments it lacks");
        assert!(net.nodes[0].take_missing().is_empty(), "{variant}: node 0 lacks nothing");
        for id in &missing {
            assert_eq!(net.nodes[3].check_own(*id), OwnFragment::Missing);
            net.input(3, Input::Repair { id: *id });
            net.run();
            let r = net.repairs[3].pop().expect("a repair outcome");
            assert!(matches!(r.result, Ok(b) if b > 0), "{variant} {id:?}: {:?}", r.result);
            assert!(matches!(net.nodes[3].check_own(*id), OwnFragment::Good(_)), "{variant} {id:?}");
        }
        // The repaired fragments serve: node 0 reads every value with node 1 and 2 silent.
        net.cut = Box::new(|from, _, m| (from == 1 || from == 2) && m.is_read());
        for id in &stored {
            net.input(0, Input::Read { id: *id, range: None });
            net.run();
            // The read timer: silent holders were asked first, ask the rest.
            net.input(0, Input::RetryReads);
            net.run();
            let read = net.reads[0].pop().expect("an answer");
            assert!(read.result.is_ok(), "{variant} {id:?} with node 3's repaired fragment: {:?}", read.result);
        }
        net.cut = Box::new(|_, _, _| false);
        // A fragment damaged in the store is found and repaired.
        let id = stored[0];
        let mut held = net.nodes[2].fragment_store().get(id).unwrap();
        held.fragment[5] ^= 1;
        let mut store = MemFragmentStore::default();
        for v in &stored {
            let h = if *v == id { held.clone() } else { net.nodes[2].fragment_store().get(*v).unwrap() };
            store.put(*v, h);
        }
        net.nodes[2].set_fragment_store(Box::new(store));
        assert_eq!(net.nodes[2].check_own(id), OwnFragment::Bad, "{variant}: a flipped bit is found");
        net.input(2, Input::Repair { id });
        net.run();
        let r = net.repairs[2].pop().expect("a repair outcome");
        assert!(r.result.is_ok(), "{variant}: {:?}", r.result);
        assert!(matches!(net.nodes[2].check_own(id), OwnFragment::Good(_)));
        // Unknown values are refused at once.
        net.input(2, Input::Repair { id: ValueId { epoch: 9, proposer: 0 } });
        let r = net.repairs[2].pop().expect("an outcome");
        assert_eq!(r.result, Err(ReadError::Unknown(ValueId { epoch: 9, proposer: 0 })));
    }
}

/// A checkpoint taken after the node proposed records the proposal, and a node resumed from
/// it makes exactly that proposal again before a later transaction can change it. Without the
/// record, the replayed log's first submit (the log starts after the record that proposed)
/// went into the buffer first and the node proposed again, differently: the equivocation the
/// crash/restart cluster test saw now and then.
#[test]
fn a_resumed_node_makes_the_checkpointed_proposal_again() {
    for variant in Variant::ALL {
        let settings = Settings { variant, batch_size: 8, ..Settings::default() };
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let keys = deal(Params::new(4).unwrap(), SessionId::from_name("beat-tests"), settings, &mut rng);
        let mut client = Client::new(keys[0].public.clone(), 1);
        let mut tx = |plain: &[u8], rng: &mut ChaCha20Rng| {
            if variant.client_encrypted() {
                client.encrypt(plain, rng)
            } else {
                plain.to_vec()
            }
        };
        let (a, b, c) = (tx(b"tx-a", &mut rng), tx(b"tx-b", &mut rng), tx(b"tx-c", &mut rng));
        let mut node = Beat::new(keys[0].clone(), Config::default());
        let first = node.handle_input(Input::Submit(a), &mut rng).unwrap();
        let sent: Vec<Message> = first.messages.into_iter().map(|(_, m)| m).collect();
        assert!(!sent.is_empty(), "{variant}: the submit proposed");
        let cp = node.checkpoint();
        assert_eq!(cp.proposed.as_ref().map(Vec::len), Some(1), "{variant}: the proposal is recorded");
        let cp: Checkpoint = crate::codec::decode(&crate::codec::encode(&cp), usize::MAX).unwrap();
        let mut resumed = Beat::resume(keys[0].clone(), Config::default(), &cp);
        assert_eq!(resumed.checkpoint().proposed, cp.proposed, "{variant}: still recorded before it is made");
        let again = resumed.handle_input(Input::Submit(b), &mut rng).unwrap();
        let resent: Vec<Message> = again.messages.into_iter().map(|(_, m)| m).collect();
        assert_eq!(resent, sent, "{variant}: the same proposal, and nothing else");
        let later = resumed.handle_input(Input::Submit(c), &mut rng).unwrap();
        assert!(later.messages.is_empty(), "{variant}: one proposal per epoch");
        assert_eq!(resumed.buffered(), 3, "{variant}");
    }
}
