//! Transports between nodes (feature `node`). Today: clearnet TCP. The multi-network switch
//! (Tor, I2P, authenticated channels) is the network issue's work.

pub mod clearnet;
