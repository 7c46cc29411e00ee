//! Network adversaries: they control delivery (delays, drops, crashes, partitions, censorship),
//! not message contents.

pub(crate) mod censor;
pub(crate) mod crash;
pub(crate) mod dropper;
pub(crate) mod honest;
pub(crate) mod laggard;
pub(crate) mod partition;
pub(crate) mod reorder;
