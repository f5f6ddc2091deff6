//! Progress of a long command: an indicatif bar with rate and time left on a terminal,
//! plain lines (every tenth) otherwise, so that a log keeps a readable record.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// The bar: label, bar, percent, count, rate and time left.
const BAR: &str = "{msg} [{bar:20}] {percent:>3}% {pos}/{len} {per_sec} ETA {eta}";

pub struct Progress {
    label: &'static str,
    started: Instant,
    /// On a terminal: the bar (its length set at the first update).
    bar: Option<ProgressBar>,
    last_tenth: Mutex<u64>,
}

impl Progress {
    pub fn new(label: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(BAR).map(|s| s.progress_chars("#>."));
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar.set_message(label);
            bar
        });
        Progress { label, started: Instant::now(), bar, last_tenth: Mutex::new(0) }
    }

    pub fn update(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            return;
        }
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let Ok(mut last) = self.last_tenth.lock() else { return };
        let tenth = pct / 10;
        if tenth > *last || done == total {
            *last = tenth;
            #[allow(clippy::cast_precision_loss)] // counts of rows, far below 2^52
            let (rate, left) = {
                let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                (rate, if rate > 0.0 { total.saturating_sub(done) as f64 / rate } else { 0.0 })
            };
            eprintln!("{}: {done}/{total} ({pct}%) {rate:.0}/s, about {left:.0}s left", self.label);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// A file read through a count of its bytes, so a long import can show how far it is.
pub fn counted(file: std::fs::File) -> (std::io::BufReader<Counted>, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    (std::io::BufReader::new(Counted { file, read: read.clone() }), read)
}

pub struct Counted {
    file: std::fs::File,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::io::Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bar_template_is_one_indicatif_reads() {
        assert!(indicatif::ProgressStyle::with_template(super::BAR).is_ok());
    }
}
