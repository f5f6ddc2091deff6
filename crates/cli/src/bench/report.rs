//! The figures of a benchmark run, gathered for `ykt bench all`: every benchmark prints
//! its own table as it goes and also records its headline figures here, each beside
//! the baseline measured in the same run. `ykt bench all` renders them as one table
//! and as the Markdown section of `docs/benchmarks.md`, with the machine they ran on.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// The figures recorded in this process since the last [`take`].
static FIGURES: Mutex<Vec<Figure>> = Mutex::new(Vec::new());

/// One measured figure beside its same-run baseline.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    /// The benchmark (`settle`, `card-life` …).
    pub(crate) bench: String,
    /// What was measured (`2207, 8 cashiers`, `postgres: import applications`).
    pub(crate) name: String,
    pub(crate) value: f64,
    pub(crate) unit: String,
    /// The baseline's name and value, in the same unit.
    pub(crate) baseline: Option<(String, f64)>,
    pub(crate) latency: Option<(Duration, Duration)>,
    /// The aim for the ratio to the baseline: at least this for a rate, at most this for
    /// a time.
    pub(crate) aim: Option<f64>,
    /// A time (less is better): the ratio is the figure's time over the baseline's.
    pub(crate) is_time: bool,
}

impl Figure {
    /// A rate (more is better).
    pub(crate) fn rate(bench: &str, name: &str, value: f64, unit: &str, baseline: Option<(String, f64)>) -> Figure {
        Figure { bench: bench.into(), name: name.into(), value, unit: unit.into(), baseline, latency: None, aim: None, is_time: false }
    }

    /// A time in `unit` (less is better).
    pub(crate) fn time(bench: &str, name: &str, value: f64, unit: &str, baseline: Option<(String, f64)>) -> Figure {
        Figure { is_time: true, ..Figure::rate(bench, name, value, unit, baseline) }
    }

    pub(crate) fn with_latency(mut self, p50: Duration, p99: Duration) -> Figure {
        self.latency = Some((p50, p99));
        self
    }

    pub(crate) fn aim(mut self, ratio: f64) -> Figure {
        self.aim = Some(ratio);
        self
    }

    /// The figure over its baseline (for a time: how many times the baseline's time).
    pub(crate) fn ratio(&self) -> Option<f64> {
        self.baseline.as_ref().map(|(_, b)| self.value / b.max(f64::MIN_POSITIVE))
    }

    /// Whether the ratio meets the aim (`None` without an aim or a baseline).
    pub(crate) fn meets_aim(&self) -> Option<bool> {
        let (ratio, aim) = (self.ratio()?, self.aim?);
        Some(if self.is_time { ratio <= aim } else { ratio >= aim })
    }
}

/// Records a figure of this run.
pub(crate) fn record(figure: Figure) {
    FIGURES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(figure);
}

/// The figures recorded so far, taken out.
pub(crate) fn take() -> Vec<Figure> {
    std::mem::take(&mut *FIGURES.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

fn number(v: f64) -> String {
    if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

fn cells(f: &Figure) -> [String; 7] {
    let (base_name, base_value) = f.baseline.as_ref().map_or((String::new(), String::new()), |(n, v)| (n.clone(), number(*v)));
    let ratio = f.ratio().map(|r| if f.is_time { format!("{r:.1}x") } else { format!("{r:.2}") }).unwrap_or_default();
    let aim = match (f.aim, f.meets_aim()) {
        (Some(a), Some(met)) => {
            format!("{}{}{}", if f.is_time { "≤ " } else { "≥ " }, if f.is_time { format!("{a:.0}x") } else { format!("{a:.2}") }, if met { " met" } else { " not met" })
        }
        _ => String::new(),
    };
    let latency = f.latency.map(|(p50, p99)| format!("{:.1} / {:.1} ms", ms(p50), ms(p99))).unwrap_or_default();
    [format!("{}: {}", f.bench, f.name), format!("{} {}", number(f.value), f.unit), latency, base_name, base_value, ratio, aim]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

const HEADERS: [&str; 7] = ["figure", "value", "p50 / p99", "baseline (same run)", "baseline", "ratio", "aim"];

/// The figures as one plain-text table.
pub(crate) fn table(figures: &[Figure]) -> String {
    let rows: Vec<[String; 7]> = figures.iter().map(cells).collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).chain([HEADERS[i].chars().count()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..7).map(width).collect();
    let line = |cols: &[String]| cols.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string();
    let mut out = line(&HEADERS.map(str::to_string));
    for r in &rows {
        out.push('\n');
        out.push_str(&line(r));
    }
    out
}

/// The figures as a Markdown table.
pub(crate) fn markdown(figures: &[Figure]) -> String {
    let mut out = format!("| {} |\n|{}\n", HEADERS.join(" | "), " --- |".repeat(HEADERS.len()));
    for r in figures.iter().map(cells) {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out
}

/// The machine a run is on: cores, memory, CPU and the databases' versions.
pub(crate) async fn machine(pg: &str) -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo.lines().find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string())).unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
        .map_or_else(|| "unknown".into(), |kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0));
    let postgres = match sqlx::PgPool::connect(pg).await {
        Ok(pool) => {
            let v: Result<String, _> = sqlx::query_scalar("SHOW server_version").fetch_one(&pool).await;
            pool.close().await;
            v.map_or_else(|e| format!("unknown ({e})"), |v| format!("PostgreSQL {v}"))
        }
        Err(e) => format!("not reached ({e})"),
    };
    let sqlite = match sqlx::SqlitePool::connect("sqlite::memory:").await {
        Ok(pool) => sqlx::query_scalar::<_, String>("SELECT sqlite_version()").fetch_one(&pool).await.map_or_else(|e| format!("unknown ({e})"), |v| format!("SQLite {v}")),
        Err(e) => format!("unknown ({e})"),
    };
    vec![
        ("cores".into(), std::thread::available_parallelism().map_or(1, std::num::NonZero::get).to_string()),
        ("memory".into(), memory),
        ("CPU".into(), cpu),
        ("PostgreSQL".into(), postgres),
        ("SQLite".into(), sqlite),
        ("ykt".into(), format!("{} (release build: {})", env!("CARGO_PKG_VERSION"), !cfg!(debug_assertions))),
    ]
}

/// Where `docs/benchmarks.md` keeps the generated part; the rest of the file (the
/// profile, the notes) is kept as it is.
pub(crate) const BEGIN: &str = "<!-- ykt bench all: begin -->";
pub(crate) const END: &str = "<!-- ykt bench all: end -->";

/// `existing` with its generated part replaced by `section` (appended when it has none).
pub(crate) fn replace_section(existing: &str, section: &str) -> String {
    let generated = format!("{BEGIN}\n{section}{END}");
    match (existing.find(BEGIN), existing.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{generated}{}", &existing[..b], &existing[e + END.len()..]),
        _ if existing.trim().is_empty() => format!("# Benchmarks\n\n{generated}\n"),
        _ => format!("{}\n\n{generated}\n", existing.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_and_a_time_are_judged_by_their_aims() {
        let rate = Figure::rate("settle", "2207, 8 cashiers", 1300.0, "settlements/s", Some(("pgbench".into(), 2000.0))).aim(0.6);
        assert_eq!((rate.ratio(), rate.meets_aim()), (Some(0.65), Some(true)));
        let time = Figure::time("city", "import", 9.0, "s", Some(("COPY".into(), 2.0))).aim(3.0);
        assert_eq!((time.ratio(), time.meets_aim()), (Some(4.5), Some(false)));
        assert_eq!(Figure::rate("engine", "receipts", 1.0, "/s", None).meets_aim(), None);
        let text = table(&[rate.clone(), time.clone()]);
        assert!(
            text.contains("settle: 2207, 8 cashiers") && text.contains("0.65") && text.contains("≥ 0.60 met") && text.contains("4.5x") && text.contains("≤ 3x not met"),
            "{text}"
        );
        assert_eq!(markdown(&[rate, time]).lines().count(), 4);
    }

    #[test]
    fn the_generated_section_is_replaced_and_the_rest_kept() {
        let first = replace_section("", "one\n");
        assert!(first.starts_with("# Benchmarks") && first.contains("one"));
        let with_notes = format!("{first}\n## Profile\nkept\n");
        let second = replace_section(&with_notes, "two\n");
        assert!(second.contains("two") && !second.contains("one") && second.contains("## Profile\nkept"), "{second}");
    }
}
