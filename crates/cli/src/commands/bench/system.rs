//! The machine the numbers come from, and what its memory can deliver: decoding reads every
//! weight once per token, so memory bandwidth ÷ bytes of weights bounds decode speed.

use serde::Serialize;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Threads reading memory (default: every logical CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// MiB read per pass (much larger than the caches).
    #[arg(long, default_value_t = 1024)]
    mib: usize,
}

#[derive(Serialize)]
pub struct Report {
    cpu: String,
    logical_cpus: usize,
    memory_gib: f64,
    os: String,
    threads: usize,
    /// Best of several passes of summing a buffer much larger than the caches.
    read_bandwidth_gb_s: f64,
}

pub async fn run(args: Args) -> anyhow::Result<Report> {
    let logical = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = args.threads.unwrap_or(logical).max(1);
    let mib = args.mib.max(64);
    let bandwidth = tokio::task::spawn_blocking(move || read_bandwidth(mib, threads)).await?;
    Ok(Report {
        cpu: cpu_model(),
        logical_cpus: logical,
        memory_gib: memory_bytes() as f64 / f64::from(1u32 << 30),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        threads,
        read_bandwidth_gb_s: bandwidth / 1e9,
    })
}

/// Bytes per second of summing `mib` MiB of u64 words split across `threads`.
fn read_bandwidth(mib: usize, threads: usize) -> f64 {
    let words = mib * (1 << 20) / 8;
    let buffer: Vec<u64> = (0..words as u64).collect();
    let part = words.div_ceil(threads);
    let mut best = 0f64;
    for _ in 0..5 {
        let start = Instant::now();
        let total: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = buffer
                .chunks(part)
                .map(|slice| s.spawn(move || slice.iter().fold(0u64, |a, &w| a.wrapping_add(w))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(0))
                .fold(0u64, u64::wrapping_add)
        });
        std::hint::black_box(total);
        best = best.max((words * 8) as f64 / start.elapsed().as_secs_f64());
    }
    best
}

/// The CPU's marketing name (Linux: /proc/cpuinfo).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Physical memory in bytes (Linux: /proc/meminfo), 0 when unknown.
pub fn memory_bytes() -> u64 {
    proc_kib("/proc/meminfo", "MemTotal:").map_or(0, |k| k * 1024)
}

/// Peak resident memory of this process so far, in bytes (Linux), 0 when unknown.
pub fn peak_rss_bytes() -> u64 {
    proc_kib("/proc/self/status", "VmHWM:").map_or(0, |k| k * 1024)
}

/// Resident memory of this process now, in bytes (Linux), 0 when unknown.
pub fn rss_bytes() -> u64 {
    proc_kib("/proc/self/status", "VmRSS:").map_or(0, |k| k * 1024)
}

fn proc_kib(file: &str, key: &str) -> Option<u64> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (Linux).
pub fn cpu_seconds() -> Option<f64> {
    proc_stat_seconds(11..=12)
}

/// CPU seconds of this process and of its finished children (the extraction workers).
pub fn cpu_seconds_with_children() -> Option<f64> {
    proc_stat_seconds(11..=14)
}

/// CPU seconds of this process's finished children alone (the extraction workers and the
/// OCR tools they run).
pub fn children_cpu_seconds() -> Option<f64> {
    proc_stat_seconds(13..=14)
}

/// The sum of the clock-tick fields `fields` of /proc/self/stat (utime, stime, cutime,
/// cstime counted from the field after the state), in seconds.
fn proc_stat_seconds(fields: std::ops::RangeInclusive<usize>) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let all: Vec<&str> = rest.split_whitespace().collect();
    let mut ticks = 0.0;
    for i in fields {
        ticks += all.get(i)?.parse::<f64>().ok()?;
    }
    // Clock ticks are 100 per second on every Linux Cairn runs on.
    Some(ticks / 100.0)
}

/// Bytes of the files under `path`.
pub fn disk_bytes(path: &std::path::Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| disk_bytes(&e.path()))
                    .sum::<u64>()
            })
            .unwrap_or(0)
    } else {
        meta.len()
    }
}
