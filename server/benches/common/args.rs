//! A benchmark's command line: `--flag value` pairs and `--short`.
//! (`cargo bench` adds `--bench`; nothing else of libtest's applies.)

pub struct Args {
    args: Vec<String>,
    /// A quick pass that proves the benchmark runs (CI): small defaults.
    pub short: bool,
}

impl Args {
    pub fn parse() -> Args {
        Args {
            args: std::env::args().collect(),
            short: super::report::short(),
        }
    }

    /// The value after `flag`.
    pub fn value(&self, flag: &str) -> Option<String> {
        self.args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| self.args.get(i + 1))
            .cloned()
    }

    /// A number after `flag`, else `long` (or `quick` with `--short`).
    pub fn number(&self, flag: &str, long: u64, quick: u64) -> u64 {
        self.value(flag)
            .and_then(|v| v.parse().ok())
            .unwrap_or(if self.short { quick } else { long })
    }

    /// `--backend sqlite|postgres`, else both.
    pub fn backends(&self) -> Vec<&'static str> {
        match self.value("--backend").as_deref() {
            Some("sqlite") => vec!["sqlite"],
            Some("postgres") => vec!["postgres"],
            _ => vec!["sqlite", "postgres"],
        }
    }
}
