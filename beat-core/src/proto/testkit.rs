//! Test support: run instances of one protocol over a FIFO network with some nodes Byzantine.

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::{Fault, Protocol, Step};
use crate::NodeId;

/// What a run produced.
pub(crate) struct Outcome<O> {
    pub outputs: Vec<Option<O>>,
    pub faults: Vec<Fault>,
    /// Bytes of every delivered message (as encoded on the wire), per recipient.
    pub bytes: u64,
}

/// Run `nodes` (index = node id) with FIFO delivery. `inputs` are given first. Messages from
/// nodes in `byz` go through `tamper(from, to, msg)`, which may change or drop them.
pub(crate) fn run_fifo<P>(
    mut nodes: Vec<P>,
    inputs: Vec<(NodeId, P::Input)>,
    byz: &[NodeId],
    mut tamper: impl FnMut(NodeId, NodeId, &P::Message) -> Option<P::Message>,
) -> Outcome<P::Output>
where
    P: Protocol,
    P::Message: Clone + serde::Serialize,
    P::Error: std::fmt::Debug,
{
    let n = nodes.len();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut out = Outcome { outputs: (0..n).map(|_| None).collect(), faults: Vec::new(), bytes: 0 };
    let mut queue: VecDeque<(NodeId, NodeId, P::Message)> = VecDeque::new();
    let mut push =
        |from: NodeId, step: Step<P::Message, P::Output>, queue: &mut VecDeque<_>, out: &mut Outcome<P::Output>| {
            for (t, m) in step.messages {
                for to in (0..n).filter(|to| t.includes(from, *to)) {
                    let m = if byz.contains(&from) { tamper(from, to, &m) } else { Some(m.clone()) };
                    if let Some(m) = m {
                        out.bytes += crate::codec::encode(&m).len() as u64;
                        queue.push_back((from, to, m));
                    }
                }
            }
            for o in step.output {
                assert!(out.outputs[from].is_none(), "node {from} output twice");
                out.outputs[from] = Some(o);
            }
            out.faults.extend(step.faults);
        };
    for (i, input) in inputs {
        let step = nodes[i].handle_input(input, &mut rng).expect("input");
        push(i, step, &mut queue, &mut out);
    }
    while let Some((from, to, m)) = queue.pop_front() {
        let step = nodes[to].handle_message(from, m, &mut rng).expect("handle_message");
        push(to, step, &mut queue, &mut out);
    }
    out
}

/// A proposer restarted without memory of its proposal (a stale log): it gets the others'
/// messages of the instance, which deliver the value it proposed before; asked to propose
/// again, it must send nothing (a second, different `Val` would be an equivocation). `fresh`
/// makes the proposer's new instance.
pub(crate) fn forgetful_proposer_sends_nothing<P>(
    nodes: Vec<P>,
    mut fresh: P,
    proposer: NodeId,
    first: P::Input,
    second: P::Input,
) where
    P: Protocol,
    P::Message: Clone + serde::Serialize,
    P::Error: std::fmt::Debug,
{
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut to_proposer = Vec::new();
    let n = nodes.len();
    // Record what the others send the proposer (everyone is "Byzantine" only to observe).
    let all: Vec<NodeId> = (0..n).collect();
    let out = run_fifo(nodes, vec![(proposer, first)], &all, |from, to, m| {
        if to == proposer && from != proposer {
            to_proposer.push((from, m.clone()));
        }
        Some(m.clone())
    });
    assert!(out.outputs.iter().all(Option::is_some), "everyone delivered the first proposal");
    let mut delivered = false;
    for (from, m) in to_proposer {
        let step = fresh.handle_message(from, m, &mut rng).expect("handle_message");
        delivered |= !step.output.is_empty();
    }
    assert!(delivered, "the others' messages deliver the forgotten proposal");
    let step = fresh.handle_input(second, &mut rng).expect("proposing into a delivered instance is not an error");
    assert!(step.messages.is_empty(), "a proposer must not propose a second value for a delivered instance");
}
