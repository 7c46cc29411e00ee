//! Agreement-layer adversaries (ABA and its threshold coin).

pub(crate) mod aba_equivocator;
pub(crate) mod bad_coin;
pub(crate) mod coin_steering;
