//! Progress of a long command: a bar with rate and time left on a terminal, plain lines
//! (every tenth) otherwise.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

pub struct Progress {
    label: &'static str,
    started: Instant,
    tty: bool,
    last_tenth: Mutex<u64>,
}

impl Progress {
    pub fn new(label: &'static str) -> Self {
        Progress { label, started: Instant::now(), tty: std::io::stderr().is_terminal(), last_tenth: Mutex::new(0) }
    }

    pub fn update(&self, done: u64, total: u64) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = done as f64 / secs;
        let left = if rate > 0.0 { total.saturating_sub(done) as f64 / rate } else { 0.0 };
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        if self.tty {
            let filled = (pct / 5) as usize;
            eprint!("\r{} [{}{}] {pct:>3}% {done}/{total} {rate:.0}/s ETA {:.0}s ", self.label, "#".repeat(filled), ".".repeat(20 - filled.min(20)), left);
            let _ = std::io::stderr().flush();
        } else if let Ok(mut last) = self.last_tenth.lock() {
            let tenth = pct / 10;
            if tenth > *last || done == total {
                *last = tenth;
                eprintln!("{}: {done}/{total} ({pct}%) {rate:.0}/s, about {left:.0}s left", self.label);
            }
        }
    }

    pub fn finish(&self) {
        if self.tty {
            eprintln!();
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
