//! Transports between nodes (feature `node`): clearnet TCP with Noise channels bound to the
//! nodes' ed25519 identities. The multi-network switch (Tor, I2P) is the network issue's work.

pub mod clearnet;
pub mod handshake;
