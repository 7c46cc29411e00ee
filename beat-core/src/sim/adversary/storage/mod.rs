//! Storage adversaries (BEAT3/4): holders that answer reads badly or not at all.

pub(crate) mod byzantine_holder;
pub(crate) mod data_fragment_corruptor;
pub(crate) mod silent_holders;
