//! A minimal `tracing` subscriber: one line per event on stderr, filtered by `RUST_LOG`.
//!
//! `RUST_LOG` is a comma-separated list of `level` or `target_prefix=level` items (levels:
//! `off`, `error`, `warn`, `info`, `debug`, `trace`); the longest matching prefix wins.
//! Without `RUST_LOG` the level is `warn`. Spans are ignored.

use std::io::Write;
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// The stderr subscriber.
#[derive(Debug)]
pub struct StderrLog {
    default: LevelFilter,
    targets: Vec<(String, LevelFilter)>,
    start: Instant,
}

fn parse_level(s: &str) -> Option<LevelFilter> {
    match s.trim().to_ascii_lowercase().as_str() {
        "off" => Some(LevelFilter::OFF),
        "error" => Some(LevelFilter::ERROR),
        "warn" => Some(LevelFilter::WARN),
        "info" => Some(LevelFilter::INFO),
        "debug" => Some(LevelFilter::DEBUG),
        "trace" => Some(LevelFilter::TRACE),
        _ => None,
    }
}

impl StderrLog {
    /// Parses a `RUST_LOG`-style filter (`None`: `warn`). Unknown items are ignored.
    pub fn new(filter: Option<&str>) -> Self {
        let mut log = StderrLog { default: LevelFilter::WARN, targets: Vec::new(), start: Instant::now() };
        for item in filter.unwrap_or("").split(',').filter(|s| !s.trim().is_empty()) {
            match item.split_once('=') {
                Some((target, level)) => {
                    if let Some(level) = parse_level(level) {
                        log.targets.push((target.trim().to_string(), level));
                    }
                }
                None => {
                    if let Some(level) = parse_level(item) {
                        log.default = level;
                    }
                }
            }
        }
        // Longest prefix first.
        log.targets.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        log
    }

    fn level_for(&self, target: &str) -> LevelFilter {
        self.targets.iter().find(|(t, _)| target.starts_with(t.as_str())).map(|(_, l)| *l).unwrap_or(self.default)
    }

    /// Installs this subscriber for the whole process (a second call is ignored).
    pub fn install(self) {
        let _ = tracing::subscriber::set_global_default(self);
    }
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for StderrLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.level_for(metadata.target())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.targets.iter().map(|(_, l)| *l).fold(self.default, std::cmp::max))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut line =
            Line(format!("{:>9.3} {:<5} {}:", self.start.elapsed().as_secs_f64(), meta.level(), meta.target()));
        event.record(&mut line);
        line.0.push('\n');
        let _ = std::io::stderr().lock().write_all(line.0.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let log = StderrLog::new(None);
        assert_eq!(log.level_for("emissary::router"), LevelFilter::WARN);
        let log = StderrLog::new(Some("info,emissary=debug,emissary::tunnel=off,bogus=loud"));
        assert_eq!(log.level_for("beat_i2pnet"), LevelFilter::INFO);
        assert_eq!(log.level_for("emissary::router"), LevelFilter::DEBUG);
        assert_eq!(log.level_for("emissary::tunnel::pool"), LevelFilter::OFF);
        assert_eq!(log.max_level_hint(), Some(LevelFilter::DEBUG));
    }
}
