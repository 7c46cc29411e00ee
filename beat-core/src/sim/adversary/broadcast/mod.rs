//! Broadcast-layer adversaries (RBC, AVID, AVID-FP): equivocating proposers and echoers, bad
//! and inconsistent fragments.

pub(crate) mod bad_fragment;
pub(crate) mod broadcast_equivocator;
pub(crate) mod equivocator;
pub(crate) mod inconsistent_fragments;
