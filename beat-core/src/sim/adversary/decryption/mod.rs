//! Threshold-decryption adversaries (BEAT0–2): bad shares and malformed ciphertexts.

pub(crate) mod bad_dec_share;
pub(crate) mod canary_decrypt;
pub(crate) mod crafted_kappa;
pub(crate) mod malformed_ciphertext;
pub(crate) mod share_equivocator;
