//! What flows through the pipeline: feed items, orders, a node's batch, and the fixed-point
//! numbers they carry. Nothing here is a float: consensus state must come out bit-identical
//! on every node, and float formatting, rounding modes and fused multiply-adds differ between
//! machines.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Most bytes of an instrument or trader name.
pub const MAX_NAME: usize = 24;

/// A price in units of 10⁻⁴ (four decimals): `Price(1_234_500)` is 123.45.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Price(pub i64);

impl Price {
    /// Units per 1.0.
    pub const SCALE: i64 = 10_000;

    /// `whole` + `frac`/10⁴ (tests and configuration).
    pub const fn new(whole: i64, frac: i64) -> Self {
        Price(whole * Self::SCALE + frac)
    }

    /// Parse a decimal with at most four places (`"101.25"`).
    pub fn parse(s: &str) -> Option<Self> {
        Fixed::<4>::parse(s).map(|f| Price(f.0))
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Fixed::<4>(self.0), f)
    }
}

/// A signed fixed-point number with `D` decimals (Greeks use 10⁻⁶).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fixed<const D: u32>(pub i64);

impl<const D: u32> Fixed<D> {
    /// Units per 1.0.
    pub const SCALE: i64 = 10i64.pow(D);

    /// Parse a decimal with at most `D` places (`"-0.125"`).
    pub fn parse(s: &str) -> Option<Self> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty()
            || frac.len() > D as usize
            || !(whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac_units: i64 =
            if frac.is_empty() { 0 } else { frac.parse::<i64>().ok()? * 10i64.pow(D - frac.len() as u32) };
        let v = whole.checked_mul(Self::SCALE)?.checked_add(frac_units)?;
        Some(Fixed(if neg { -v } else { v }))
    }
}

impl<const D: u32> fmt::Display for Fixed<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let v = self.0.unsigned_abs();
        let scale = Self::SCALE.unsigned_abs();
        write!(f, "{sign}{}.{:0width$}", v / scale, v % scale, width = D as usize)
    }
}

/// Greeks and implied volatility: six decimals.
pub type Greek = Fixed<6>;

/// A quote from a feed: the source's best bid and ask and the size traded since its last tick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// Instrument name.
    pub instrument: String,
    /// Best bid.
    pub bid: Price,
    /// Best ask.
    pub ask: Price,
    /// Size traded at the source since its previous tick (weights the VWAP).
    pub size: u64,
    /// The source's timestamp, milliseconds since the Unix epoch (data: the state never reads a
    /// clock of its own).
    pub source_ts_ms: u64,
}

/// An option's Greeks as a feed computed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreeksSnapshot {
    /// The option's name.
    pub option: String,
    /// ∂V/∂S.
    pub delta: Greek,
    /// ∂²V/∂S².
    pub gamma: Greek,
    /// ∂V/∂σ, per volatility point.
    pub vega: Greek,
    /// ∂V/∂t, per day.
    pub theta: Greek,
    /// Implied volatility (0.25 is 25 %).
    pub implied_vol: Greek,
    /// The source's timestamp, milliseconds since the Unix epoch.
    pub source_ts_ms: u64,
}

/// What a [`crate::feed::DataFeed`] produces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedItem {
    /// A quote.
    Tick(Tick),
    /// Greeks of an option.
    Greeks(GreeksSnapshot),
}

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Side {
    /// Buy: rests on the bid side.
    Buy,
    /// Sell: rests on the ask side.
    Sell,
}

/// A limit order, good until filled. Its time priority is its place in the committed log,
/// never a timestamp a node or trader claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Who placed it (a name: this demo does not authenticate traders; see the README).
    pub trader: String,
    /// The trader's own number for it (unique per trader; fills name it).
    pub client_order_id: u64,
    /// Instrument name.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// Limit price.
    pub price: Price,
    /// Quantity.
    pub qty: u64,
}

/// One node's contribution for an epoch: the feed data it collected and the orders its
/// traders gave it. With BEAT0/1 the node threshold-encrypts its whole proposal, so no other
/// node reads a batch before the epoch's common set is fixed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketBatch {
    /// The node that made it.
    pub source: u32,
    /// Its number at that node (makes every batch's bytes distinct, so de-duplication never
    /// drops one).
    pub seq: u64,
    /// Quotes.
    pub ticks: Vec<Tick>,
    /// Greeks snapshots.
    pub greeks: Vec<GreeksSnapshot>,
    /// Orders.
    pub orders: Vec<Order>,
}

impl MarketBatch {
    /// Whether it carries nothing.
    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty() && self.greeks.is_empty() && self.orders.is_empty()
    }
}

impl MarketBatch {
    /// Split into batches whose [`MarketTx::Batch`] encoding is at most `max` bytes each,
    /// keeping the items' order (ticks, Greeks and orders each split in halves until they
    /// fit). An item that alone exceeds `max` cannot be proposed and is left out; the count of
    /// those is returned too.
    pub fn split_to_fit(self, max: usize) -> (Vec<MarketBatch>, usize) {
        let items = self.ticks.len() + self.greeks.len() + self.orders.len();
        if MarketTx::Batch(self.clone()).encode().len() <= max {
            return (vec![self], 0);
        }
        if items <= 1 {
            return (Vec::new(), items);
        }
        let (mut a, mut b) = (
            MarketBatch { source: self.source, seq: self.seq, ..Default::default() },
            MarketBatch { source: self.source, seq: self.seq, ..Default::default() },
        );
        // The first half of all items (in the order ticks, Greeks, orders) goes to `a`.
        let mut half = items / 2;
        let take = |n: usize, half: &mut usize| -> usize {
            let k = n.min(*half);
            *half -= k;
            k
        };
        let kt = take(self.ticks.len(), &mut half);
        let kg = take(self.greeks.len(), &mut half);
        let ko = take(self.orders.len(), &mut half);
        let (mut ticks, mut greeks, mut orders) = (self.ticks, self.greeks, self.orders);
        b.ticks = ticks.split_off(kt);
        b.greeks = greeks.split_off(kg);
        b.orders = orders.split_off(ko);
        (a.ticks, a.greeks, a.orders) = (ticks, greeks, orders);
        let (mut out, mut dropped) = a.split_to_fit(max);
        let (rest, d) = b.split_to_fit(max);
        out.extend(rest);
        dropped += d;
        (out, dropped)
    }

    /// Append `other`'s items after this batch's.
    pub fn append(&mut self, other: MarketBatch) {
        self.ticks.extend(other.ticks);
        self.greeks.extend(other.greeks);
        self.orders.extend(other.orders);
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.ticks.len() + self.greeks.len() + self.orders.len()
    }
}

/// A market transaction, as ordered by BEAT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketTx {
    /// A node's batch (BEAT0/1; BEAT2 when the node is a client of its own committee).
    Batch(MarketBatch),
    /// One order a trader encrypted itself (BEAT2: not even the node it went to reads it
    /// before the order is fixed).
    Order(Order),
}

/// Why bytes are not a market transaction.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    /// Not a CBOR [`MarketTx`], or larger than allowed.
    #[error("not a market transaction: {0}")]
    Decode(String),
    /// A name longer than [`MAX_NAME`] bytes.
    #[error("name of {0} bytes (at most {MAX_NAME})")]
    NameTooLong(usize),
}

impl MarketTx {
    /// Its bytes (CBOR).
    pub fn encode(&self) -> Vec<u8> {
        beat_core::codec::encode(self)
    }

    /// Decode bytes of at most `max` bytes, checking every name's length.
    pub fn decode(bytes: &[u8], max: usize) -> Result<Self, TxError> {
        let tx: MarketTx = beat_core::codec::decode(bytes, max).map_err(|e| TxError::Decode(e.to_string()))?;
        let names: Vec<&str> = match &tx {
            MarketTx::Batch(b) => b
                .ticks
                .iter()
                .map(|t| t.instrument.as_str())
                .chain(b.greeks.iter().map(|g| g.option.as_str()))
                .chain(b.orders.iter().flat_map(|o| [o.trader.as_str(), o.instrument.as_str()]))
                .collect(),
            MarketTx::Order(o) => vec![o.trader.as_str(), o.instrument.as_str()],
        };
        match names.iter().find(|n| n.len() > MAX_NAME) {
            Some(n) => Err(TxError::NameTooLong(n.len())),
            None => Ok(tx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_parses_and_prints_exactly() {
        assert_eq!(Price::parse("101.25"), Some(Price(1_012_500)));
        assert_eq!(Price::parse("7"), Some(Price::new(7, 0)));
        assert_eq!(Price::parse("-0.0001"), Some(Price(-1)));
        assert_eq!(Price(1_012_500).to_string(), "101.2500");
        assert_eq!(Price(-1).to_string(), "-0.0001");
        assert_eq!(Greek::parse("0.123456").unwrap().to_string(), "0.123456");
        for bad in ["", "1.23456", "1e5", "--1", ".5", "1.2.3", "99999999999999999999"] {
            assert_eq!(Price::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn batches_split_to_fit_in_order() {
        let tick = |i: u64| Tick {
            instrument: "ACME".into(),
            bid: Price(i as i64),
            ask: Price(i as i64 + 1),
            size: i,
            source_ts_ms: i,
        };
        let order = |i: u64| Order {
            trader: "t".into(),
            client_order_id: i,
            instrument: "ACME".into(),
            side: Side::Sell,
            price: Price(1),
            qty: 1,
        };
        let batch = MarketBatch {
            source: 2,
            seq: 0,
            ticks: (0..500).map(tick).collect(),
            greeks: Vec::new(),
            orders: (0..77).map(order).collect(),
        };
        let whole = MarketTx::Batch(batch.clone()).encode().len();
        let (pieces, dropped) = batch.clone().split_to_fit(whole / 5);
        assert_eq!(dropped, 0);
        assert!(pieces.len() >= 5);
        assert!(pieces.iter().all(|p| MarketTx::Batch(p.clone()).encode().len() <= whole / 5 && p.source == 2));
        let mut joined = MarketBatch { source: 2, ..MarketBatch::default() };
        for p in pieces {
            joined.append(p);
        }
        assert_eq!(joined, batch);
        // Nothing fits: every item is left out and counted.
        assert_eq!(batch.clone().split_to_fit(10), (Vec::new(), 577));
        assert_eq!(batch.clone().split_to_fit(whole), (vec![batch], 0));
    }

    #[test]
    fn transactions_round_trip_and_long_names_are_refused() {
        let order = Order {
            trader: "alice".into(),
            client_order_id: 1,
            instrument: "ACME".into(),
            side: Side::Buy,
            price: Price::new(10, 0),
            qty: 5,
        };
        let tx = MarketTx::Order(order.clone());
        assert_eq!(MarketTx::decode(&tx.encode(), 1 << 10), Ok(tx));
        let long = MarketTx::Order(Order { trader: "x".repeat(MAX_NAME + 1), ..order });
        assert_eq!(MarketTx::decode(&long.encode(), 1 << 10), Err(TxError::NameTooLong(MAX_NAME + 1)));
        assert!(matches!(MarketTx::decode(b"\xff", 1 << 10), Err(TxError::Decode(_))));
        assert!(matches!(MarketTx::decode(&[0; 64], 16), Err(TxError::Decode(_))));
    }
}
