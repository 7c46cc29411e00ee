//! Client-layer adversaries: transactions proposed again long after they committed.

pub(crate) mod replay;
