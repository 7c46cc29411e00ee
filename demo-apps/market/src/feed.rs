//! Market data sources: a [`DataFeed`] yields [`FeedItem`]s in source-time order.
//!
//! - [`SyntheticFeed`]: a seeded random walk per underlying, options priced and their Greeks
//!   computed from it, at a configurable rate. Integer arithmetic only, so a seed gives the
//!   same items on every machine.
//! - [`FlexbuffersFeed`]: replays a recording ([`record`]): frames of a 4-byte little-endian
//!   length and one flexbuffers-encoded [`FeedItem`].
//!
//! [`SyntheticTrader`] makes limit orders around the prices a node's feed shows it.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::state::{InstrumentKind, InstrumentSpec};
use crate::types::{FeedItem, Fixed, GreeksSnapshot, Order, Price, Side, Tick};

/// Largest frame a recording may hold.
pub const MAX_FRAME: usize = 64 << 10;

/// A source of market data.
pub trait DataFeed: Send {
    /// The items whose source time is before `until_ms`, in order (each item once).
    fn poll(&mut self, until_ms: u64) -> Vec<FeedItem>;
    /// A name for logs and tables.
    fn name(&self) -> &str;
}

/// A seeded random walk per underlying; each tick quotes one instrument (options too), and
/// every `greeks_every`-th tick of an option comes with its Greeks.
#[derive(Debug)]
pub struct SyntheticFeed {
    name: String,
    rng: ChaCha20Rng,
    specs: Vec<InstrumentSpec>,
    /// Underlying prices, by name.
    prices: BTreeMap<String, i64>,
    interval_us: u64,
    next_us: u64,
    ticks: u64,
    greeks_every: u64,
}

impl SyntheticFeed {
    /// A feed over `specs` starting at source time `start_ms`, `ticks_per_s` ticks a second.
    pub fn new(name: &str, seed: u64, specs: Vec<InstrumentSpec>, ticks_per_s: u32, start_ms: u64) -> Self {
        let prices = specs
            .iter()
            .filter(|s| s.kind == InstrumentKind::Underlying)
            .map(|s| (s.name.clone(), s.reference.0))
            .collect();
        SyntheticFeed {
            name: name.to_owned(),
            rng: ChaCha20Rng::seed_from_u64(seed),
            specs,
            prices,
            interval_us: (1_000_000 / u64::from(ticks_per_s.max(1))).max(1),
            next_us: start_ms.saturating_mul(1000),
            ticks: 0,
            greeks_every: 4,
        }
    }

    fn step(&mut self) -> Vec<FeedItem> {
        let ts = self.next_us / 1000;
        self.next_us += self.interval_us;
        self.ticks += 1;
        let spec = self.specs[self.rng.gen_range(0..self.specs.len())].clone();
        // Every underlying drifts a little at each tick: ±0.05 % in steps of 1 bp at most.
        for p in self.prices.values_mut() {
            let bp = self.rng.gen_range(-5i64..=5);
            *p = (*p + *p * bp / 10_000).max(Price::SCALE / 100);
        }
        let size = self.rng.gen_range(1..=500u64);
        match &spec.kind {
            InstrumentKind::Underlying => {
                let mid = self.prices[&spec.name];
                let half = (mid / 10_000).max(1) * self.rng.gen_range(1..=3); // 1–3 bp
                vec![FeedItem::Tick(Tick {
                    instrument: spec.name,
                    bid: Price(mid - half),
                    ask: Price(mid + half),
                    size,
                    source_ts_ms: ts,
                })]
            }
            InstrumentKind::Option { underlying, strike, call } => {
                let s = self.prices.get(underlying).copied().unwrap_or(spec.reference.0);
                let (value, greeks) = option_model(s, strike.0, *call, spec.reference.0);
                let half = (value / 200).max(1);
                let mut out = vec![FeedItem::Tick(Tick {
                    instrument: spec.name.clone(),
                    bid: Price((value - half).max(1)),
                    ask: Price(value + half),
                    size: size / 10 + 1,
                    source_ts_ms: ts,
                })];
                if self.ticks % self.greeks_every == 0 {
                    out.push(FeedItem::Greeks(GreeksSnapshot { option: spec.name, source_ts_ms: ts, ..greeks }));
                }
                out
            }
        }
    }
}

/// A toy option model in integers (price units of 10⁻⁴, Greeks of 10⁻⁶): intrinsic value plus
/// a time value that falls off with moneyness; delta ramps linearly through the strike. Not a
/// pricing model: it gives feeds plausible, deterministic numbers.
fn option_model(s: i64, k: i64, call: bool, time_value: i64) -> (i64, GreeksSnapshot) {
    let intrinsic = if call { (s - k).max(0) } else { (k - s).max(0) };
    let distance = (s - k).abs();
    let width = (k / 10).max(1); // delta goes from 0 to 1 over ±10 % of the strike
    let tv = (time_value * width / (width + distance)).max(1);
    let m = ((s - k) * 500_000 / width).clamp(-500_000, 500_000); // (S-K)/width, in 10⁻⁶, half-range
    let delta = if call { 500_000 + m } else { -500_000 + m };
    // Per unit of the underlying, in 10⁻⁶: 1 / (2 × width), inside the ramp.
    let gamma = if distance < width { 1_000_000 * Price::SCALE / (2 * width) } else { 0 };
    let g = Fixed::<6>;
    let greeks = GreeksSnapshot {
        option: String::new(),
        delta: g(delta),
        gamma: g(gamma),
        vega: g(tv * 100),
        theta: g(-tv * 100 / 30),
        implied_vol: g(200_000 + (distance * 100_000 / width).min(300_000)),
        source_ts_ms: 0,
    };
    (intrinsic + tv, greeks)
}

impl DataFeed for SyntheticFeed {
    fn poll(&mut self, until_ms: u64) -> Vec<FeedItem> {
        let mut out = Vec::new();
        while self.next_us < until_ms.saturating_mul(1000) {
            out.extend(self.step());
        }
        out
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Why a recording cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file ends inside a frame.
    #[error("the recording ends inside frame {0}")]
    Truncated(usize),
    /// A frame longer than [`MAX_FRAME`].
    #[error("frame {index} claims {len} bytes (at most {MAX_FRAME})")]
    FrameTooLarge {
        /// Which frame.
        index: usize,
        /// Its claimed length.
        len: usize,
    },
    /// A frame that is not a flexbuffers [`FeedItem`].
    #[error("frame {index} is not a feed item: {reason}")]
    Malformed {
        /// Which frame.
        index: usize,
        /// What flexbuffers said.
        reason: String,
    },
    /// Items out of source-time order.
    #[error("frame {0} goes back in time")]
    OutOfOrder(usize),
}

fn item_ts(item: &FeedItem) -> u64 {
    match item {
        FeedItem::Tick(t) => t.source_ts_ms,
        FeedItem::Greeks(g) => g.source_ts_ms,
    }
}

/// Replays a recording made by [`record`], with its source timestamps unchanged, paced so
/// that its first item falls at `start_ms` (the items' own times move nothing in the
/// state but their order, so a replay gives the same state on every run).
#[derive(Debug)]
pub struct FlexbuffersFeed {
    name: String,
    items: std::vec::IntoIter<FeedItem>,
    next: Option<FeedItem>,
    offset: i128,
}

impl FlexbuffersFeed {
    /// Parse a whole recording (every frame checked before any is used).
    pub fn new(name: &str, recording: &[u8], start_ms: u64) -> Result<Self, RecordingError> {
        let items = parse_recording(recording)?;
        let first = items.first().map(item_ts).unwrap_or(0);
        let mut items = items.into_iter();
        let next = items.next();
        Ok(FlexbuffersFeed { name: name.to_owned(), items, next, offset: i128::from(start_ms) - i128::from(first) })
    }

    /// Items not yet replayed.
    pub fn remaining(&self) -> usize {
        self.items.len() + usize::from(self.next.is_some())
    }
}

impl DataFeed for FlexbuffersFeed {
    fn poll(&mut self, until_ms: u64) -> Vec<FeedItem> {
        let mut out = Vec::new();
        while let Some(item) = self.next.take() {
            if i128::from(item_ts(&item)) + self.offset >= i128::from(until_ms) {
                self.next = Some(item);
                break;
            }
            out.push(item);
            self.next = self.items.next();
        }
        out
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Every frame of a recording.
pub fn parse_recording(mut bytes: &[u8]) -> Result<Vec<FeedItem>, RecordingError> {
    let mut items = Vec::new();
    let mut last = 0;
    while !bytes.is_empty() {
        let index = items.len();
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else { return Err(RecordingError::Truncated(index)) };
        let len = u32::from_le_bytes(*len) as usize;
        if len > MAX_FRAME {
            return Err(RecordingError::FrameTooLarge { index, len });
        }
        if rest.len() < len {
            return Err(RecordingError::Truncated(index));
        }
        let (frame, rest) = rest.split_at(len);
        let item: FeedItem =
            flexbuffers::from_slice(frame).map_err(|e| RecordingError::Malformed { index, reason: e.to_string() })?;
        if item_ts(&item) < last {
            return Err(RecordingError::OutOfOrder(index));
        }
        last = item_ts(&item);
        items.push(item);
        bytes = rest;
    }
    Ok(items)
}

/// Record `seconds` of `feed` (source time from `start_ms`) as flexbuffers frames.
pub fn record(feed: &mut dyn DataFeed, start_ms: u64, seconds: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for item in feed.poll(start_ms + seconds * 1000) {
        let frame = flexbuffers::to_vec(&item).expect("feed items serialize");
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

/// A run's feeds.
pub type Feeds = Vec<Box<dyn DataFeed>>;

/// The feeds and traders of a market run: `feeds` feeds (feed 0 replays `recording` if given,
/// the others are synthetic, seeded from `seed`, at `ticks_per_s`, from source time
/// `start_ms`) and one trader per node (`trader-<i>`).
pub fn market_sources(
    feeds: usize,
    nodes: usize,
    seed: u64,
    ticks_per_s: u32,
    start_ms: u64,
    recording: Option<&[u8]>,
) -> Result<(Feeds, Vec<SyntheticTrader>), RecordingError> {
    let instruments = crate::state::demo_instruments();
    let mut out: Feeds = Vec::new();
    for i in 0..feeds {
        let name = format!("feed-{i}");
        match (recording, i) {
            (Some(rec), 0) => out.push(Box::new(FlexbuffersFeed::new(&name, rec, start_ms)?)),
            _ => out.push(Box::new(SyntheticFeed::new(
                &name,
                seed.wrapping_mul(31) + i as u64,
                instruments.clone(),
                ticks_per_s,
                start_ms,
            ))),
        }
    }
    let traders = (0..nodes)
        .map(|i| SyntheticTrader::new(&format!("trader-{i}"), seed.wrapping_mul(77) + i as u64, &instruments))
        .collect();
    Ok((out, traders))
}

/// The BEAT2 client id of node `node`'s trader.
pub fn trader_client_id(node: usize) -> u64 {
    (2 << 32) | node as u64
}

/// Places limit orders around the last quotes its node's feed showed it (or the listing's
/// reference prices), on the underlyings, so that traders cross each other and trade.
#[derive(Debug)]
pub struct SyntheticTrader {
    name: String,
    rng: ChaCha20Rng,
    marks: BTreeMap<String, i64>,
    next_id: u64,
}

impl SyntheticTrader {
    /// A trader named `name` over the underlyings of `specs`.
    pub fn new(name: &str, seed: u64, specs: &[InstrumentSpec]) -> Self {
        let marks = specs
            .iter()
            .filter(|s| s.kind == InstrumentKind::Underlying)
            .map(|s| (s.name.clone(), s.reference.0))
            .collect();
        SyntheticTrader { name: name.to_owned(), rng: ChaCha20Rng::seed_from_u64(seed), marks, next_id: 0 }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Follow the quotes in `items`.
    pub fn observe(&mut self, items: &[FeedItem]) {
        for item in items {
            if let FeedItem::Tick(t) = item {
                if let Some(m) = self.marks.get_mut(&t.instrument) {
                    *m = t.bid.0 / 2 + t.ask.0 / 2;
                }
            }
        }
    }

    /// `count` new orders: a random underlying and side, priced within ±0.2 % of its mark.
    pub fn orders(&mut self, count: usize) -> Vec<Order> {
        let names: Vec<String> = self.marks.keys().cloned().collect();
        (0..count)
            .map(|_| {
                let instrument = names[self.rng.gen_range(0..names.len())].clone();
                let mark = self.marks[&instrument];
                let side = if self.rng.gen_bool(0.5) { Side::Buy } else { Side::Sell };
                let bp = self.rng.gen_range(-20i64..=20);
                let price = (mark + mark * bp / 10_000).max(1);
                let price = price - price % 100; // whole cents, so orders meet at levels
                self.next_id += 1;
                Order {
                    trader: self.name.clone(),
                    client_order_id: self.next_id,
                    instrument,
                    side,
                    price: Price(price.max(100)),
                    qty: self.rng.gen_range(1..=100),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::demo_instruments;

    #[test]
    fn synthetic_feed_is_a_function_of_its_seed_and_paced_by_source_time() {
        let mut a = SyntheticFeed::new("a", 7, demo_instruments(), 50, 1_000);
        let mut b = SyntheticFeed::new("b", 7, demo_instruments(), 50, 1_000);
        let first = a.poll(2_000);
        assert_eq!(first.len(), b.poll(2_000).len());
        assert!(first.iter().filter(|i| matches!(i, FeedItem::Tick(_))).count() == 50);
        assert!(first.iter().any(|i| matches!(i, FeedItem::Greeks(_))));
        assert_eq!(a.poll(3_000), b.poll(3_000));
        assert!(a.poll(3_000).is_empty(), "each item once");
        let mut c = SyntheticFeed::new("c", 8, demo_instruments(), 50, 1_000);
        assert_ne!(c.poll(2_000), first);
        for item in &first {
            if let FeedItem::Tick(t) = item {
                assert!(t.bid.0 > 0 && t.ask >= t.bid, "{t:?}");
            }
        }
    }

    #[test]
    fn a_recording_replays_exactly_and_damage_is_named() {
        let mut feed = SyntheticFeed::new("s", 3, demo_instruments(), 40, 5_000);
        let rec = record(&mut feed, 5_000, 2);
        let mut again = SyntheticFeed::new("s", 3, demo_instruments(), 40, 5_000);
        let want = again.poll(7_000);
        assert_eq!(parse_recording(&rec).unwrap(), want);
        // Paced from another start: the same items, in the same order, with their own times.
        let mut replay = FlexbuffersFeed::new("r", &rec, 100).unwrap();
        let early = replay.poll(1_100);
        assert!(!early.is_empty() && early.len() < want.len());
        let rest = replay.poll(u64::MAX);
        assert_eq!([early, rest].concat(), want);
        assert_eq!(replay.remaining(), 0);
        assert!(matches!(parse_recording(&rec[..rec.len() - 1]), Err(RecordingError::Truncated(_))));
        let mut huge = rec.clone();
        huge[..4].copy_from_slice(&(MAX_FRAME as u32 + 1).to_le_bytes());
        assert!(matches!(parse_recording(&huge), Err(RecordingError::FrameTooLarge { index: 0, .. })));
        let mut bad = rec.clone();
        bad[4..8].copy_from_slice(b"\xff\xff\xff\xff");
        assert!(parse_recording(&bad).is_err());
    }

    #[test]
    fn traders_price_around_their_marks() {
        let mut t = SyntheticTrader::new("t", 1, &demo_instruments());
        for o in t.orders(200) {
            let mark = demo_instruments().iter().find(|s| s.name == o.instrument).unwrap().reference.0;
            assert!((o.price.0 - mark).abs() <= mark / 400 + 100, "{o:?}");
            assert!(o.qty >= 1 && o.qty <= 100);
        }
    }
}
