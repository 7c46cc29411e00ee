//! Authenticated, encrypted channels between nodes: a Noise `XX` handshake
//! (`Noise_XX_25519_ChaChaPoly_SHA256`, through the `snow` crate) bound to the nodes' ed25519
//! identities.
//!
//! Each node's Noise static key is its ed25519 identity key in Montgomery form (the standard
//! Ed25519 → X25519 map: the secret scalar and the birationally equivalent public point), so
//! the cluster file's identity keys are all a node needs to know its peers. The prologue binds
//! the protocol version and the session id. After the handshake:
//!
//! * the dialler checks that the responder's static key is the one of the node it dialled;
//! * the listener maps the dialler's static key to a node id, and refuses a key that is not in
//!   the cluster (or is its own);
//! * frames travel as `u32 length ‖ ciphertext chunks` of at most 65 519 plaintext bytes each,
//!   with ChaCha20-Poly1305 and Noise's counter nonces: a tampered, replayed, reordered or
//!   truncated frame fails to decrypt and closes the connection (counted by the transport).

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

use crate::keystore::{IdentityKey, IdentityPublic};
use crate::{NodeId, SessionId};

const PATTERN: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
const PROLOGUE: &[u8] = b"BEAT/noise/v1";
/// Largest Noise message.
const NOISE_MAX: usize = 65_535;
/// Authentication tag per message.
const TAG: usize = 16;
/// Plaintext bytes per transport message.
const CHUNK: usize = NOISE_MAX - TAG;

/// Why a handshake or a frame failed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The connection failed or closed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The Noise layer refused a message (bad key, tampered or replayed data).
    #[error("noise: {0}")]
    Noise(String),
    /// The peer's static key is not the expected node's, or not in the cluster.
    #[error("unknown or unexpected peer key")]
    UnknownPeer,
    /// A frame over the size limit.
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
}

fn noise(e: snow::Error) -> ChannelError {
    ChannelError::Noise(e.to_string())
}

/// What a node needs for its channels: its Noise secret and every node's Noise public key.
pub struct ChannelKeys {
    me: NodeId,
    secret: Zeroizing<[u8; 32]>,
    peers: Vec<[u8; 32]>,
    prologue: Vec<u8>,
}

impl std::fmt::Debug for ChannelKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelKeys").field("me", &self.me).field("peers", &self.peers.len()).finish_non_exhaustive()
    }
}

impl ChannelKeys {
    /// Keys of node `me` with identity `identity` in a cluster whose identities (by id) are
    /// `peers`, for `session`.
    pub fn new(me: NodeId, identity: &IdentityKey, peers: &[IdentityPublic], session: &SessionId) -> Self {
        let mut prologue = PROLOGUE.to_vec();
        prologue.extend_from_slice(&session.0);
        ChannelKeys {
            me,
            secret: Zeroizing::new(identity.signing_key().to_scalar_bytes()),
            peers: peers.iter().map(|p| p.verifying_key().to_montgomery().to_bytes()).collect(),
            prologue,
        }
    }

    fn builder(&self) -> snow::Builder<'_> {
        // The pattern string is a constant this build parses; it cannot fail.
        let params = PATTERN.parse().expect("valid Noise pattern");
        snow::Builder::new(params).local_private_key(&self.secret[..]).prologue(&self.prologue)
    }
}

/// An established channel: a [`ChannelSender`] and a [`ChannelReceiver`] that may be used
/// from different tasks (see [`Channel::split`]).
pub struct Channel {
    sender: ChannelSender,
    receiver: ChannelReceiver,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Channel")
    }
}

/// The sending direction of a channel.
pub struct ChannelSender {
    state: Arc<snow::StatelessTransportState>,
    nonce: u64,
}

/// The receiving direction of a channel. It expects the peer's nonces in order, so a
/// replayed, reordered or dropped message fails to decrypt.
pub struct ChannelReceiver {
    state: Arc<snow::StatelessTransportState>,
    nonce: u64,
}

impl std::fmt::Debug for ChannelSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSender").field("nonce", &self.nonce).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ChannelReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelReceiver").field("nonce", &self.nonce).finish_non_exhaustive()
    }
}

impl Channel {
    fn new(state: snow::StatelessTransportState) -> Self {
        let state = Arc::new(state);
        Channel {
            sender: ChannelSender { state: state.clone(), nonce: 0 },
            receiver: ChannelReceiver { state, nonce: 0 },
        }
    }

    /// The two directions, for a writer task and a reader task.
    pub fn split(self) -> (ChannelSender, ChannelReceiver) {
        (self.sender, self.receiver)
    }

    /// Encrypt and send one frame.
    pub async fn send<S: AsyncWriteExt + Unpin>(&mut self, s: &mut S, frame: &[u8]) -> Result<(), ChannelError> {
        self.sender.send(s, frame).await
    }

    /// Receive and decrypt one frame of at most `max` bytes.
    pub async fn recv<S: AsyncReadExt + Unpin>(&mut self, s: &mut S, max: usize) -> Result<Vec<u8>, ChannelError> {
        self.receiver.recv(s, max).await
    }
}

async fn write_msg<S: AsyncWriteExt + Unpin>(s: &mut S, msg: &[u8]) -> Result<(), ChannelError> {
    s.write_u16(msg.len() as u16).await?;
    s.write_all(msg).await?;
    Ok(())
}

async fn read_msg<S: AsyncReadExt + Unpin>(s: &mut S) -> Result<Vec<u8>, ChannelError> {
    let len = usize::from(s.read_u16().await?);
    let mut buf = vec![0; len];
    s.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Dial side: run the handshake and check that the responder is node `expect`.
pub async fn initiate<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    keys: &ChannelKeys,
    expect: NodeId,
) -> Result<Channel, ChannelError> {
    let mut hs = keys.builder().build_initiator().map_err(noise)?;
    let mut buf = vec![0u8; NOISE_MAX];
    let n = hs.write_message(&[], &mut buf).map_err(noise)?;
    write_msg(s, &buf[..n]).await?;
    let msg = read_msg(s).await?;
    hs.read_message(&msg, &mut buf).map_err(noise)?;
    if hs.get_remote_static() != keys.peers.get(expect).map(|k| &k[..]) {
        return Err(ChannelError::UnknownPeer);
    }
    let n = hs.write_message(&[], &mut buf).map_err(noise)?;
    write_msg(s, &buf[..n]).await?;
    Ok(Channel::new(hs.into_stateless_transport_mode().map_err(noise)?))
}

/// Listen side: run the handshake and name the dialler, refusing keys outside the cluster.
pub async fn respond<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    keys: &ChannelKeys,
) -> Result<(NodeId, Channel), ChannelError> {
    let mut hs = keys.builder().build_responder().map_err(noise)?;
    let mut buf = vec![0u8; NOISE_MAX];
    let msg = read_msg(s).await?;
    hs.read_message(&msg, &mut buf).map_err(noise)?;
    let n = hs.write_message(&[], &mut buf).map_err(noise)?;
    write_msg(s, &buf[..n]).await?;
    let msg = read_msg(s).await?;
    hs.read_message(&msg, &mut buf).map_err(noise)?;
    let remote = hs.get_remote_static().ok_or(ChannelError::UnknownPeer)?;
    let from = keys.peers.iter().position(|k| &k[..] == remote).ok_or(ChannelError::UnknownPeer)?;
    if from == keys.me {
        return Err(ChannelError::UnknownPeer);
    }
    Ok((from, Channel::new(hs.into_stateless_transport_mode().map_err(noise)?)))
}

impl ChannelSender {
    /// Encrypt and send one frame.
    pub async fn send<S: AsyncWriteExt + Unpin>(&mut self, s: &mut S, frame: &[u8]) -> Result<(), ChannelError> {
        // One buffer for the whole frame: a single write, so a frame is never interleaved
        // with a partial one if the writer is cancelled between chunks.
        let count = frame.len().div_ceil(CHUNK).max(1);
        let mut out = Vec::with_capacity(4 + frame.len() + count * TAG);
        out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        let mut buf = vec![0u8; NOISE_MAX];
        // An empty frame is still one (empty) message, as `recv` expects.
        for i in 0..count {
            let chunk = &frame[(i * CHUNK).min(frame.len())..((i + 1) * CHUNK).min(frame.len())];
            let n = self.state.write_message(self.nonce, chunk, &mut buf).map_err(noise)?;
            self.nonce += 1;
            out.extend_from_slice(&buf[..n]);
        }
        s.write_all(&out).await?;
        Ok(())
    }
}

impl ChannelReceiver {
    /// Receive and decrypt one frame of at most `max` bytes.
    pub async fn recv<S: AsyncReadExt + Unpin>(&mut self, s: &mut S, max: usize) -> Result<Vec<u8>, ChannelError> {
        let len = s.read_u32().await? as usize;
        if len > max {
            return Err(ChannelError::TooLarge(len));
        }
        let mut out = Vec::with_capacity(len.min(1 << 20));
        let mut cipher = vec![0u8; NOISE_MAX];
        let mut plain = vec![0u8; NOISE_MAX];
        let mut left = len;
        // An empty frame is one empty message (its tag still authenticates the length).
        loop {
            let take = left.min(CHUNK);
            s.read_exact(&mut cipher[..take + TAG]).await?;
            let n = self.state.read_message(self.nonce, &cipher[..take + TAG], &mut plain).map_err(noise)?;
            self.nonce += 1;
            out.extend_from_slice(&plain[..n]);
            left -= take;
            if left == 0 {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<IdentityKey> {
        (0..n).map(|i| IdentityKey::from_bytes(&[i as u8 + 7; 32])).collect()
    }

    fn keys(me: usize, ids: &[IdentityKey], session: &SessionId) -> ChannelKeys {
        let publics: Vec<IdentityPublic> = ids.iter().map(|i| i.public()).collect();
        ChannelKeys::new(me, &ids[me], &publics, session)
    }

    /// Handshake `a` (dialling, expecting `expect`) with `b`; both results.
    async fn pair(
        a: &ChannelKeys,
        b: &ChannelKeys,
        expect: NodeId,
    ) -> (
        Result<Channel, ChannelError>,
        Result<(NodeId, Channel), ChannelError>,
        tokio::io::DuplexStream,
        tokio::io::DuplexStream,
    ) {
        let (mut x, mut y) = tokio::io::duplex(1 << 20);
        // A side that fails stops talking; the other would wait forever without a deadline.
        let limit = std::time::Duration::from_secs(2);
        let timed_out = || ChannelError::Io(std::io::ErrorKind::TimedOut.into());
        let (ra, rb) = tokio::join!(
            tokio::time::timeout(limit, initiate(&mut x, a, expect)),
            tokio::time::timeout(limit, respond(&mut y, b))
        );
        (ra.unwrap_or_else(|_| Err(timed_out())), rb.unwrap_or_else(|_| Err(timed_out())), x, y)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn peers_authenticate_and_frames_round_trip() {
        rt().block_on(async {
            let s = SessionId([1; 32]);
            let ids = ids(4);
            let (a, b) = (keys(0, &ids, &s), keys(2, &ids, &s));
            let (ra, rb, mut x, mut y) = pair(&a, &b, 2).await;
            let mut ca = ra.unwrap();
            let (from, mut cb) = rb.unwrap();
            assert_eq!(from, 0);
            for frame in [vec![], vec![5u8; 10], vec![9u8; 200_000]] {
                ca.send(&mut x, &frame).await.unwrap();
                assert_eq!(cb.recv(&mut y, 1 << 20).await.unwrap(), frame);
            }
            // Over the receiver's limit: refused.
            ca.send(&mut x, &[0u8; 100]).await.unwrap();
            assert!(matches!(cb.recv(&mut y, 50).await, Err(ChannelError::TooLarge(100))));
        });
    }

    #[test]
    fn strangers_wrong_peers_and_other_sessions_are_refused() {
        rt().block_on(async {
            let s = SessionId([1; 32]);
            let ids = ids(4);
            // A key outside the cluster dials node 1.
            let stranger = IdentityKey::from_bytes(&[99; 32]);
            let mut with_stranger: Vec<IdentityPublic> = ids.iter().map(|i| i.public()).collect();
            with_stranger[0] = stranger.public();
            let outsider = ChannelKeys::new(0, &stranger, &with_stranger, &s);
            let (_, rb, _, _) = pair(&outsider, &keys(1, &ids, &s), 1).await;
            assert!(matches!(rb, Err(ChannelError::UnknownPeer)));
            // Dialling node 1 but reaching node 2.
            let (ra, _, _, _) = pair(&keys(0, &ids, &s), &keys(2, &ids, &s), 1).await;
            assert!(matches!(ra, Err(ChannelError::UnknownPeer)));
            // Another session: the prologues differ, the handshake fails.
            let (ra, rb, _, _) = pair(&keys(0, &ids, &s), &keys(1, &ids, &SessionId([2; 32])), 1).await;
            assert!(ra.is_err() || rb.is_err());
        });
    }

    #[test]
    fn tampered_and_replayed_frames_fail() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        rt().block_on(async {
            let s = SessionId([1; 32]);
            let ids = ids(4);
            let (a, b) = (keys(0, &ids, &s), keys(1, &ids, &s));
            // Capture the wire bytes of two frames, then feed altered copies to the receiver.
            let (ra, rb, _, _) = pair(&a, &b, 1).await;
            let (mut ca, (_, mut cb)) = (ra.unwrap(), rb.unwrap());
            let (mut w, mut r) = tokio::io::duplex(1 << 16);
            ca.send(&mut w, b"first").await.unwrap();
            ca.send(&mut w, b"second").await.unwrap();
            drop(w);
            let mut wire = Vec::new();
            r.read_to_end(&mut wire).await.unwrap();
            let first_len = 4 + 5 + TAG;
            // Replay: the first frame twice. The copy fails (its nonce is used up).
            let mut replay = Vec::new();
            replay.extend_from_slice(&wire[..first_len]);
            replay.extend_from_slice(&wire[..first_len]);
            let (mut feed, mut inbox) = tokio::io::duplex(1 << 16);
            feed.write_all(&replay).await.unwrap();
            assert_eq!(cb.recv(&mut inbox, 1024).await.unwrap(), b"first");
            assert!(matches!(cb.recv(&mut inbox, 1024).await, Err(ChannelError::Noise(_))));
            // Tamper: a fresh channel pair, one flipped ciphertext bit.
            let (ra, rb, _, _) = pair(&a, &b, 1).await;
            let (mut ca, (_, mut cb)) = (ra.unwrap(), rb.unwrap());
            let (mut w, mut r) = tokio::io::duplex(1 << 16);
            ca.send(&mut w, b"payload").await.unwrap();
            drop(w);
            let mut wire = Vec::new();
            r.read_to_end(&mut wire).await.unwrap();
            wire[6] ^= 1;
            let (mut feed, mut inbox) = tokio::io::duplex(1 << 16);
            feed.write_all(&wire).await.unwrap();
            assert!(matches!(cb.recv(&mut inbox, 1024).await, Err(ChannelError::Noise(_))));
        });
    }
}
