//! Configuration adversaries: members started with settings that differ from the committee's.

pub(crate) mod mismatched_settings;
