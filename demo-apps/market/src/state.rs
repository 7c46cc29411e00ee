//! The market every node folds the committed log into: quotes, VWAP and Greeks per
//! instrument, and an order book with price-time priority whose time is the place in the
//! committed log. Applying the same log gives the same state, and the same
//! [`MarketState::hash`], on every node.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::types::{GreeksSnapshot, MarketTx, Order, Price, Side, Tick};

/// Largest order quantity accepted.
pub const MAX_QTY: u64 = 1_000_000_000;
/// Resting orders per instrument and side (what one trader's flood can make every node
/// hold); beyond it the worst-priced resting order makes way for a better-priced one, and an
/// order no better than the worst is refused.
pub const MAX_RESTING: usize = 4096;
/// Fills kept in [`MarketState::recent_fills`].
pub const RECENT_FILLS: usize = 32;

/// What an instrument is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstrumentKind {
    /// A stock, future or anything quoted on its own.
    Underlying,
    /// An option on `underlying`.
    Option {
        /// The underlying's name.
        underlying: String,
        /// Strike.
        strike: Price,
        /// Call (`true`) or put.
        call: bool,
    },
}

/// An instrument the market lists (the genesis configuration every node starts from).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentSpec {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: InstrumentKind,
    /// Where a synthetic feed starts its price.
    pub reference: Price,
}

/// The demo's listing: three underlyings and three options on them.
pub fn demo_instruments() -> Vec<InstrumentSpec> {
    let u = |name: &str, p: Price| InstrumentSpec { name: name.into(), kind: InstrumentKind::Underlying, reference: p };
    let o = |name: &str, und: &str, strike: Price, call: bool, p: Price| InstrumentSpec {
        name: name.into(),
        kind: InstrumentKind::Option { underlying: und.into(), strike, call },
        reference: p,
    };
    vec![
        u("ACME", Price::new(100, 0)),
        u("GLOBX", Price::new(50, 0)),
        u("INIT", Price::new(12, 5000)),
        o("ACME-C100", "ACME", Price::new(100, 0), true, Price::new(4, 2000)),
        o("ACME-P95", "ACME", Price::new(95, 0), false, Price::new(1, 8000)),
        o("GLOBX-C55", "GLOBX", Price::new(55, 0), true, Price::new(0, 9000)),
    ]
}

/// An order waiting in the book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resting {
    /// The market's number for it (its time priority).
    pub id: u64,
    /// Who placed it.
    pub trader: String,
    /// The trader's number for it.
    pub client_order_id: u64,
    /// Quantity still open.
    pub qty: u64,
}

/// One instrument's book: price levels, each a FIFO queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBook {
    /// Buy orders by price (best is the highest).
    pub bids: BTreeMap<Price, VecDeque<Resting>>,
    /// Sell orders by price (best is the lowest).
    pub asks: BTreeMap<Price, VecDeque<Resting>>,
    /// Resting buy orders.
    pub bid_orders: usize,
    /// Resting sell orders.
    pub ask_orders: usize,
}

impl OrderBook {
    /// Best bid and its open quantity.
    pub fn best_bid(&self) -> Option<(Price, u64)> {
        self.bids.iter().next_back().map(|(p, q)| (*p, q.iter().map(|r| r.qty).sum()))
    }

    /// Best ask and its open quantity.
    pub fn best_ask(&self) -> Option<(Price, u64)> {
        self.asks.iter().next().map(|(p, q)| (*p, q.iter().map(|r| r.qty).sum()))
    }
}

/// A trade in the book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// The epoch that committed the order that traded.
    pub epoch: u64,
    /// Instrument.
    pub instrument: String,
    /// The resting order's price.
    pub price: Price,
    /// Quantity.
    pub qty: u64,
    /// The incoming order's side.
    pub taker_side: Side,
    /// The resting order's trader and number.
    pub maker: (String, u64),
    /// The incoming order's trader and number.
    pub taker: (String, u64),
}

/// One instrument's market.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentState {
    /// What it is.
    pub spec: InstrumentSpec,
    /// The feeds' last quote: bid, ask, and its source time.
    pub quote: Option<(Price, Price, u64)>,
    /// Σ mid × size over the feeds' ticks (for the VWAP).
    pub vwap_notional: u128,
    /// Σ size over the feeds' ticks.
    pub vwap_volume: u128,
    /// Ticks applied.
    pub ticks: u64,
    /// The last Greeks (options only).
    pub greeks: Option<GreeksSnapshot>,
    /// The order book.
    pub book: OrderBook,
    /// The last fill in the book: price and quantity.
    pub last_fill: Option<(Price, u64)>,
    /// Quantity traded in the book.
    pub fill_volume: u64,
}

impl InstrumentState {
    /// Volume-weighted mid of the feeds' ticks, rounded down to a price unit.
    pub fn vwap(&self) -> Option<Price> {
        if self.vwap_volume == 0 {
            return None;
        }
        i64::try_from(self.vwap_notional / self.vwap_volume).ok().map(Price)
    }
}

/// Counters of what the log carried.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Transactions applied (batches and single orders).
    pub transactions: u64,
    /// Ticks applied.
    pub ticks: u64,
    /// Greeks snapshots applied.
    pub greeks: u64,
    /// Orders accepted (traded, or resting).
    pub orders: u64,
    /// Resting orders evicted from a full book side by a better-priced order.
    pub evicted: u64,
    /// Orders filled completely (resting and incoming alike).
    pub orders_filled: u64,
    /// Fills.
    pub fills: u64,
    /// What was refused, by reason (committed bytes a correct node's `validate` would have
    /// refused can still be proposed by a Byzantine node: the state counts and skips them).
    pub refused: BTreeMap<String, u64>,
}

/// The market state every node computes from the committed log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketState {
    /// Per instrument, by name.
    pub instruments: BTreeMap<String, InstrumentState>,
    /// Epochs applied (the next epoch to apply).
    pub epochs: u64,
    /// The next order's market number.
    pub next_order: u64,
    /// The latest source timestamp seen (data, not a clock).
    pub last_source_ts_ms: u64,
    /// The last [`RECENT_FILLS`] fills, oldest first.
    pub recent_fills: VecDeque<Fill>,
    /// Counters.
    pub counters: Counters,
}

impl MarketState {
    /// An empty market listing `instruments`.
    pub fn new(instruments: Vec<InstrumentSpec>) -> Self {
        let instruments = instruments
            .into_iter()
            .map(|spec| {
                let state = InstrumentState {
                    spec: spec.clone(),
                    quote: None,
                    vwap_notional: 0,
                    vwap_volume: 0,
                    ticks: 0,
                    greeks: None,
                    book: OrderBook::default(),
                    last_fill: None,
                    fill_volume: 0,
                };
                (spec.name, state)
            })
            .collect();
        MarketState {
            instruments,
            epochs: 0,
            next_order: 0,
            last_source_ts_ms: 0,
            recent_fills: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    /// SHA-256 of the state's canonical encoding (CBOR; maps are ordered), domain-separated.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"beat-market/state/v1\0");
        h.update(beat_core::codec::encode(self));
        h.finalize().into()
    }

    fn refuse(&mut self, reason: &str) {
        *self.counters.refused.entry(reason.to_owned()).or_default() += 1;
    }

    /// Apply the committed transactions of `epoch`, in order: the bytes of each are decoded
    /// here (at most `max_tx` bytes), and what does not decode is counted and skipped.
    pub fn apply_epoch(&mut self, epoch: u64, transactions: &[Vec<u8>], max_tx: usize) {
        for bytes in transactions {
            match MarketTx::decode(bytes, max_tx) {
                Ok(tx) => self.apply_tx(epoch, &tx),
                Err(_) => self.refuse("undecodable transaction"),
            }
        }
        self.epochs = self.epochs.max(epoch + 1);
    }

    /// Apply one committed transaction.
    pub fn apply_tx(&mut self, epoch: u64, tx: &MarketTx) {
        self.counters.transactions += 1;
        match tx {
            MarketTx::Batch(b) => {
                for t in &b.ticks {
                    self.apply_tick(t);
                }
                for g in &b.greeks {
                    self.apply_greeks(g);
                }
                for o in &b.orders {
                    self.apply_order(epoch, o);
                }
            }
            MarketTx::Order(o) => self.apply_order(epoch, o),
        }
    }

    fn apply_tick(&mut self, t: &Tick) {
        let Some(inst) = self.instruments.get_mut(&t.instrument) else {
            return self.refuse("tick for an unlisted instrument");
        };
        if t.bid.0 <= 0 || t.ask < t.bid || t.size > MAX_QTY {
            return self.refuse("tick with a crossed or non-positive quote");
        }
        inst.quote = Some((t.bid, t.ask, t.source_ts_ms));
        // bid, ask > 0 and ask ≥ bid: the mid is positive and fits (i64 halves).
        let mid = (t.bid.0 / 2 + t.ask.0 / 2 + (t.bid.0 % 2 + t.ask.0 % 2) / 2) as u128;
        inst.vwap_notional = inst.vwap_notional.saturating_add(mid * u128::from(t.size));
        inst.vwap_volume = inst.vwap_volume.saturating_add(u128::from(t.size));
        inst.ticks += 1;
        self.counters.ticks += 1;
        self.last_source_ts_ms = self.last_source_ts_ms.max(t.source_ts_ms);
    }

    fn apply_greeks(&mut self, g: &GreeksSnapshot) {
        let Some(inst) = self.instruments.get_mut(&g.option) else {
            return self.refuse("greeks for an unlisted instrument");
        };
        if inst.spec.kind == InstrumentKind::Underlying {
            return self.refuse("greeks for an underlying");
        }
        inst.greeks = Some(g.clone());
        self.counters.greeks += 1;
        self.last_source_ts_ms = self.last_source_ts_ms.max(g.source_ts_ms);
    }

    /// Match `o` against the opposite side (best price first, then the oldest order at that
    /// price, trading at the resting order's price), and rest what is left.
    fn apply_order(&mut self, epoch: u64, o: &Order) {
        if !self.instruments.contains_key(&o.instrument) {
            return self.refuse("order for an unlisted instrument");
        }
        if o.qty == 0 || o.qty > MAX_QTY || o.price.0 <= 0 {
            return self.refuse("order with a zero, too large or non-positive quantity or price");
        }
        let inst = self.instruments.get_mut(&o.instrument).expect("checked above");
        let book = &mut inst.book;
        let resting_now = match o.side {
            Side::Buy => book.bid_orders,
            Side::Sell => book.ask_orders,
        };
        let mut left = o.qty;
        let mut fills = Vec::new();
        loop {
            let level = match o.side {
                Side::Buy => book.asks.first_entry().filter(|e| *e.key() <= o.price),
                Side::Sell => book.bids.last_entry().filter(|e| *e.key() >= o.price),
            };
            let Some(mut level) = level else { break };
            let price = *level.key();
            let queue = level.get_mut();
            while left > 0 {
                let Some(maker) = queue.front_mut() else { break };
                let qty = left.min(maker.qty);
                maker.qty -= qty;
                left -= qty;
                fills.push(Fill {
                    epoch,
                    instrument: o.instrument.clone(),
                    price,
                    qty,
                    taker_side: o.side,
                    maker: (maker.trader.clone(), maker.client_order_id),
                    taker: (o.trader.clone(), o.client_order_id),
                });
                if maker.qty == 0 {
                    queue.pop_front();
                    self.counters.orders_filled += 1;
                    match o.side {
                        Side::Buy => book.ask_orders -= 1,
                        Side::Sell => book.bid_orders -= 1,
                    }
                }
            }
            if queue.is_empty() {
                level.remove();
            }
            if left == 0 {
                break;
            }
        }
        for f in &fills {
            inst.last_fill = Some((f.price, f.qty));
            inst.fill_volume = inst.fill_volume.saturating_add(f.qty);
        }
        let traded = !fills.is_empty();
        self.counters.fills += fills.len() as u64;
        for f in fills {
            if self.recent_fills.len() == RECENT_FILLS {
                self.recent_fills.pop_front();
            }
            self.recent_fills.push_back(f);
        }
        if left == 0 {
            self.counters.orders += 1;
            self.counters.orders_filled += 1;
            return;
        }
        let inst = self.instruments.get_mut(&o.instrument).expect("checked above");
        if resting_now >= MAX_RESTING {
            // The side is full: the worst-priced order on it (the newest at the lowest bid or
            // the highest ask) makes way for a better-priced one, so a flood of far-off orders
            // cannot lock the book; an order no better than the worst is refused.
            let worst = match o.side {
                Side::Buy => inst.book.bids.first_entry().filter(|e| *e.key() < o.price),
                Side::Sell => inst.book.asks.last_entry().filter(|e| *e.key() > o.price),
            };
            let Some(mut level) = worst else {
                if traded {
                    self.counters.orders += 1;
                }
                return self.refuse("book side full: the rest of the order is cancelled");
            };
            level.get_mut().pop_back();
            if level.get().is_empty() {
                level.remove();
            }
            match o.side {
                Side::Buy => inst.book.bid_orders -= 1,
                Side::Sell => inst.book.ask_orders -= 1,
            }
            self.counters.evicted += 1;
        }
        self.counters.orders += 1;
        let id = self.next_order;
        self.next_order += 1;
        let resting = Resting { id, trader: o.trader.clone(), client_order_id: o.client_order_id, qty: left };
        match o.side {
            Side::Buy => {
                inst.book.bids.entry(o.price).or_default().push_back(resting);
                inst.book.bid_orders += 1;
            }
            Side::Sell => {
                inst.book.asks.entry(o.price).or_default().push_back(resting);
                inst.book.ask_orders += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(trader: &str, id: u64, side: Side, price: i64, qty: u64) -> MarketTx {
        MarketTx::Order(Order {
            trader: trader.into(),
            client_order_id: id,
            instrument: "ACME".into(),
            side,
            price: Price::new(price, 0),
            qty,
        })
    }

    #[test]
    fn price_then_time_priority_and_maker_price() {
        let mut s = MarketState::new(demo_instruments());
        s.apply_tx(0, &order("a", 1, Side::Sell, 101, 5));
        s.apply_tx(0, &order("b", 1, Side::Sell, 100, 5));
        s.apply_tx(0, &order("c", 1, Side::Sell, 100, 5));
        // A buy at 101 for 12 takes b (100, older), then c (100), then 2 of a (101).
        s.apply_tx(1, &order("t", 9, Side::Buy, 101, 12));
        let fills: Vec<_> = s.recent_fills.iter().map(|f| (f.maker.0.as_str(), f.price, f.qty)).collect();
        assert_eq!(fills, [("b", Price::new(100, 0), 5), ("c", Price::new(100, 0), 5), ("a", Price::new(101, 0), 2)]);
        let book = &s.instruments["ACME"].book;
        assert_eq!(book.best_ask(), Some((Price::new(101, 0), 3)));
        assert_eq!(book.best_bid(), None);
        assert_eq!((s.counters.orders_filled, s.counters.fills), (3, 3));
        // A buy below the ask rests; a sell at or below it trades at the bid's price.
        s.apply_tx(2, &order("d", 1, Side::Buy, 99, 4));
        s.apply_tx(2, &order("e", 1, Side::Sell, 98, 1));
        assert_eq!(s.instruments["ACME"].last_fill, Some((Price::new(99, 0), 1)));
        assert_eq!(s.instruments["ACME"].book.best_bid(), Some((Price::new(99, 0), 3)));
    }

    #[test]
    fn bad_input_is_counted_not_applied() {
        let mut s = MarketState::new(demo_instruments());
        let before = s.instruments.clone();
        s.apply_epoch(
            0,
            &[b"junk".to_vec(), order("a", 1, Side::Buy, 0, 1).encode(), order("a", 2, Side::Buy, 1, 0).encode()],
            1 << 16,
        );
        let unlisted = MarketTx::Order(Order {
            trader: "a".into(),
            client_order_id: 3,
            instrument: "NOPE".into(),
            side: Side::Buy,
            price: Price::new(1, 0),
            qty: 1,
        });
        s.apply_tx(0, &unlisted);
        assert_eq!(s.instruments, before);
        assert_eq!(s.counters.refused.values().sum::<u64>(), 4);
        assert_eq!(s.epochs, 1);
    }

    #[test]
    fn a_full_book_side_takes_only_better_prices() {
        let mut s = MarketState::new(demo_instruments());
        // A flood of far-off bids fills the side…
        for i in 0..MAX_RESTING as u64 + 3 {
            s.apply_tx(0, &order("flood", i, Side::Buy, 1, 1));
        }
        assert_eq!(s.instruments["ACME"].book.bid_orders, MAX_RESTING);
        assert_eq!(s.counters.refused.values().sum::<u64>(), 3);
        assert_eq!(s.counters.orders, MAX_RESTING as u64);
        // …but cannot lock it: a better bid rests in place of the newest worst one.
        s.apply_tx(1, &order("honest", 1, Side::Buy, 99, 7));
        let book = &s.instruments["ACME"].book;
        assert_eq!(book.bid_orders, MAX_RESTING);
        assert_eq!(book.best_bid(), Some((Price::new(99, 0), 7)));
        assert_eq!(book.bids[&Price::new(1, 0)].back().map(|r| r.client_order_id), Some(MAX_RESTING as u64 - 2));
        assert_eq!(s.counters.evicted, 1);
        // The same on the ask side, mirrored.
        for i in 0..MAX_RESTING as u64 {
            s.apply_tx(2, &order("flood", i, Side::Sell, 1_000_000, 1));
        }
        s.apply_tx(3, &order("honest", 2, Side::Sell, 1_000_001, 1));
        assert_eq!(s.instruments["ACME"].book.ask_orders, MAX_RESTING);
        assert_eq!(s.counters.evicted, 1, "a worse ask is refused");
        s.apply_tx(3, &order("honest", 3, Side::Sell, 101, 1));
        assert_eq!(s.instruments["ACME"].book.best_ask(), Some((Price::new(101, 0), 1)));
        assert_eq!(s.counters.evicted, 2);
    }

    #[test]
    fn the_hash_covers_the_state_and_survives_encoding() {
        let mut s = MarketState::new(demo_instruments());
        let h0 = s.hash();
        s.apply_tx(0, &order("a", 1, Side::Buy, 50, 1));
        assert_ne!(s.hash(), h0);
        let back: MarketState = beat_core::codec::decode(&beat_core::codec::encode(&s), 1 << 20).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.hash(), s.hash());
    }
}
