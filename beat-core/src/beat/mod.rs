//! BEAT epochs.
