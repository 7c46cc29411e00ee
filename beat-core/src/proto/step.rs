//! The result of feeding a protocol one input or one message.

use crate::NodeId;

/// Who a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Every node except the sender. A protocol applies its own broadcasts to itself
    /// directly; the network never loops a message back.
    All,
    /// One node.
    Node(NodeId),
}

impl Target {
    /// Whether a message with this target goes to `node` (sent by `from`).
    pub fn includes(&self, from: NodeId, node: NodeId) -> bool {
        match *self {
            Target::All => node != from,
            Target::Node(to) => to == node && to != from,
        }
    }
}

/// What a peer did wrong. Recorded in a [`Step`] against the peer; the offending message is
/// dropped and the node carries on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// A message that failed to decode, was oversized, or had trailing bytes.
    Malformed,
    /// A message naming a node, instance or round that does not exist or is out of bounds.
    OutOfRange,
    /// A message for an epoch too far ahead, beyond the future-epoch buffer.
    FutureEpochOverflow,
    /// RBC: a `Val` from a node that is not the instance's proposer, or a second `Val`.
    UnexpectedVal,
    /// RBC: a second, different `Echo` or `Ready` from the same node.
    Equivocation,
    /// RBC/AVID: a value whose size exceeds the configured maximum.
    OversizedValue,
    /// AVID: a fragment whose Merkle proof does not verify at the sender's (or our) position.
    BadFragment,
    /// AVID: the proposer dispersed fragments that are each valid against the root but do not
    /// form one codeword (caught by re-encoding).
    InconsistentDispersal,
    /// ABA: a second `BVal`/`Aux`/`Conf`/`Term` for the same round with a different value.
    AbaDuplicate,
    /// ABA: a coin share that does not verify against the sender's public key share.
    InvalidCoinShare,
    /// BEAT: a proposal whose ciphertext fails its well-formedness proof or carries the wrong label.
    MalformedCiphertext,
    /// BEAT: a proposal that decrypted but does not decode to a batch.
    MalformedBatch,
    /// BEAT: a decryption share whose DLEQ proof does not verify.
    InvalidDecryptionShare,
    /// BEAT: a decryption share for a proposal that was not accepted by ACS.
    UnexpectedDecryptionShare,
    /// Node: a rejoin answer reporting a frame of ours whose tag we never made.
    ForgedStamp,
    /// Node: a catch-up answer other than the batch `f + 1` peers confirmed.
    ForgedCommitted,
}

/// A fault observed against `node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fault {
    /// The node that misbehaved.
    pub node: NodeId,
    /// What it did.
    pub kind: FaultKind,
}

/// Observable milestones, for the simulator's checker, metrics and logs. They carry no
/// secrets and never influence the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    /// This node, as proposer, gave a broadcast instance a value; `digest` is what the
    /// instance delivers (the value's digest; for AVID-FP the cross-checksum's).
    Proposed { epoch: u64, proposer: NodeId, digest: [u8; 32] },
    /// AVID-FP: this node dispersed a value with this digest (what reads must return).
    Dispersed { epoch: u64, proposer: NodeId, value_digest: [u8; 32] },
    /// A broadcast instance delivered a value with this digest.
    Delivered { epoch: u64, proposer: NodeId, digest: [u8; 32] },
    /// An ABA instance revealed its round coin.
    Coin { epoch: u64, instance: NodeId, round: u32, value: bool },
    /// An ABA instance decided.
    Decided { epoch: u64, instance: NodeId, value: bool, round: u32 },
    /// An ABA instance received this node's input.
    AbaInput { epoch: u64, instance: NodeId, value: bool },
    /// ACS output the set of accepted proposers (bitmask over node ids).
    AcsOutput { epoch: u64, accepted: u64 },
}

/// What a protocol asks its driver to do after one input or message.
///
/// It must be used: dropping a step drops messages the protocol believes it has sent.
#[must_use = "a Step carries messages that must be sent and outputs that must be handled"]
#[derive(Debug)]
pub struct Step<M, O> {
    /// Messages to send.
    pub messages: Vec<(Target, M)>,
    /// Outputs, in order.
    pub output: Vec<O>,
    /// Faults observed against peers.
    pub faults: Vec<Fault>,
    /// Milestones reached.
    pub events: Vec<Event>,
}

impl<M, O> Default for Step<M, O> {
    fn default() -> Self {
        Step { messages: Vec::new(), output: Vec::new(), faults: Vec::new(), events: Vec::new() }
    }
}

impl<M, O> Step<M, O> {
    /// An empty step.
    pub fn new() -> Self {
        Self::default()
    }

    /// A step holding only a fault.
    pub fn fault(node: NodeId, kind: FaultKind) -> Self {
        let mut s = Self::new();
        s.faults.push(Fault { node, kind });
        s
    }

    /// Whether nothing happened.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.output.is_empty() && self.faults.is_empty() && self.events.is_empty()
    }

    /// Add a message.
    pub fn send(&mut self, target: Target, msg: M) {
        self.messages.push((target, msg));
    }

    /// Append another step of the same protocol.
    pub fn extend(&mut self, other: Step<M, O>) {
        self.messages.extend(other.messages);
        self.output.extend(other.output);
        self.faults.extend(other.faults);
        self.events.extend(other.events);
    }

    /// Lift a child protocol's step into this one: its messages are wrapped by `wrap`, its
    /// faults and events are kept, and its outputs are returned for the parent to act on.
    pub fn lift<CM, CO>(&mut self, child: Step<CM, CO>, wrap: impl Fn(CM) -> M) -> Vec<CO> {
        self.messages.extend(child.messages.into_iter().map(|(t, m)| (t, wrap(m))));
        self.faults.extend(child.faults);
        self.events.extend(child.events);
        child.output
    }
}

/// A sans-IO protocol instance.
///
/// `Err` from these methods means local misuse (an input given twice, a wrong-sized key set):
/// never a peer's misbehaviour, which is reported as a [`Fault`] in the step.
pub trait Protocol {
    /// What the local node feeds in (a value to broadcast, a bit to agree on, …).
    type Input;
    /// What nodes exchange.
    type Message;
    /// What the protocol outputs.
    type Output;
    /// Local-misuse error.
    type Error: std::error::Error;

    /// Feed the local input.
    fn handle_input(
        &mut self,
        input: Self::Input,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Step<Self::Message, Self::Output>, Self::Error>;

    /// Feed a message from `from` (authenticated by the transport).
    fn handle_message(
        &mut self,
        from: NodeId,
        msg: Self::Message,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Step<Self::Message, Self::Output>, Self::Error>;

    /// Whether the instance has finished: it will output nothing more and needs no more messages.
    fn terminated(&self) -> bool;
}
