//! The queue of one outbound (peer, transport) link, bounded in **bytes**.
//!
//! A peer that is slow, down or deliberately not reading makes the node queue frames for it;
//! frame counts say nothing about memory when frames range from 100 bytes to a proposal, so
//! the queue holds at most `budget` payload bytes. When a frame does not fit, frames of epochs
//! the node has closed (below the switch's watermark), and frames the peer has confirmed on
//! another transport, are evicted first (the peer gets closed epochs from committed batches,
//! and has the others), and if it still does not fit, the new frame is dropped and counted. One consumer (the link's writer) pops in order.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::reconnect::QueuedFrame;

/// What [`LinkQueue::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// The frame is queued.
    pub queued: bool,
    /// Closed-epoch frames evicted to make room.
    pub evicted: u64,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<QueuedFrame>,
    bytes: usize,
    closed: bool,
}

/// A byte-bounded FIFO of frames for one link.
#[derive(Debug)]
pub(crate) struct LinkQueue {
    state: Mutex<State>,
    ready: Notify,
    budget: usize,
}

impl LinkQueue {
    /// An empty queue holding at most `budget` payload bytes.
    pub fn new(budget: usize) -> Self {
        LinkQueue { state: Mutex::new(State::default()), ready: Notify::new(), budget: budget.max(1) }
    }

    /// Queue `frame`; frames of epochs below `watermark` may be evicted to make room.
    pub fn push(&self, frame: QueuedFrame, watermark: u64) -> Pushed {
        let len = frame.bytes.len();
        let Ok(mut s) = self.state.lock() else { return Pushed { queued: false, evicted: 0 } };
        if s.closed || len > self.budget {
            return Pushed { queued: false, evicted: 0 };
        }
        let mut evicted = 0;
        if s.bytes + len > self.budget {
            let before = s.frames.len();
            let mut freed = 0;
            s.frames.retain(|f| {
                let stale = f.epoch < watermark || f.is_delivered();
                if stale {
                    freed += f.bytes.len();
                }
                !stale
            });
            s.bytes -= freed;
            evicted = (before - s.frames.len()) as u64;
        }
        if s.bytes + len > self.budget {
            return Pushed { queued: false, evicted };
        }
        s.bytes += len;
        s.frames.push_back(frame);
        drop(s);
        self.ready.notify_one();
        Pushed { queued: true, evicted }
    }

    /// The next frame, waiting for one; `None` once the queue is closed.
    pub async fn pop(&self) -> Option<QueuedFrame> {
        loop {
            {
                let mut s = self.state.lock().ok()?;
                if let Some(f) = s.frames.pop_front() {
                    s.bytes -= f.bytes.len();
                    return Some(f);
                }
                if s.closed {
                    return None;
                }
            }
            // `notify_one` stores a permit when nobody waits, so a push between the check
            // above and this wait is not lost.
            self.ready.notified().await;
        }
    }

    /// Close (the node stopped): what is queued is dropped and `pop` returns `None`.
    pub fn close(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.closed = true;
            s.frames.clear();
            s.bytes = 0;
        }
        self.ready.notify_one();
    }

    /// Whether no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.state.lock().map(|s| s.frames.is_empty()).unwrap_or(true)
    }

    /// Payload bytes queued.
    pub fn bytes(&self) -> usize {
        self.state.lock().map(|s| s.bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn frame(id: u64, epoch: u64, len: usize) -> QueuedFrame {
        QueuedFrame::new(id, epoch, Arc::new(vec![0; len]))
    }

    #[tokio::test]
    async fn bounded_in_bytes_evicting_closed_epochs_first() {
        let q = LinkQueue::new(1000);
        assert!(q.push(frame(1, 1, 400), 0).queued);
        assert!(q.push(frame(2, 2, 400), 0).queued);
        // No room, nothing stale: the new frame is dropped, the queue keeps its bytes.
        assert_eq!(q.push(frame(3, 3, 400), 0), Pushed { queued: false, evicted: 0 });
        assert_eq!(q.bytes(), 800);
        // Epoch 1 closed: its frame goes, the new one fits.
        assert_eq!(q.push(frame(4, 3, 400), 2), Pushed { queued: true, evicted: 1 });
        assert_eq!(q.bytes(), 800);
        // Larger than the whole budget: never queued.
        assert!(!q.push(frame(5, 9, 1001), 0).queued);
        assert_eq!(q.pop().await.map(|f| f.id), Some(2));
        assert_eq!(q.pop().await.map(|f| f.id), Some(4));
        assert_eq!(q.bytes(), 0);
        q.close();
        assert!(q.pop().await.is_none());
        assert!(!q.push(frame(6, 9, 1), 0).queued);
    }

    #[tokio::test]
    async fn a_waiting_pop_wakes_on_push() {
        let q = Arc::new(LinkQueue::new(100));
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.pop().await.map(|f| f.id) });
        tokio::task::yield_now().await;
        assert!(q.push(frame(7, 0, 10), 0).queued);
        assert_eq!(waiter.await.unwrap(), Some(7));
    }
}
