//! The first vote of each node, as both broadcasts count Echo and Ready messages.

use crate::NodeId;

/// What recording a vote found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The node's first vote.
    New,
    /// The same vote again (a network duplicate): ignore.
    Repeat,
    /// A different vote from a node that already voted: equivocation.
    Conflict,
}

/// One vote per node; later different votes are conflicts.
#[derive(Clone, Debug)]
pub(crate) struct Votes<T> {
    votes: Vec<Option<T>>,
}

impl<T: PartialEq> Votes<T> {
    /// No votes from any of `n` nodes.
    pub(crate) fn new(n: usize) -> Self {
        Votes { votes: (0..n).map(|_| None).collect() }
    }

    /// Record `from`'s vote.
    pub(crate) fn record(&mut self, from: NodeId, vote: T) -> Recorded {
        match &self.votes[from] {
            Some(v) if *v == vote => Recorded::Repeat,
            Some(_) => Recorded::Conflict,
            None => {
                self.votes[from] = Some(vote);
                Recorded::New
            }
        }
    }

    /// How many nodes voted `vote`.
    pub(crate) fn count(&self, vote: &T) -> usize {
        self.votes.iter().filter(|v| v.as_ref() == Some(vote)).count()
    }

    /// The votes cast so far (in node order).
    pub(crate) fn cast(&self) -> impl Iterator<Item = &T> {
        self.votes.iter().flatten()
    }

    /// `from`'s vote.
    pub(crate) fn get(&self, from: NodeId) -> Option<&T> {
        self.votes[from].as_ref()
    }
}
