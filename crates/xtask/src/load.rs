//! The closed-loop load driver shared by the HTTP benchmarks: N tasks, each on its own
//! keep-alive connection, issue requests back to back until a deadline; latencies of requests
//! started inside the measured window are recorded and summarized.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::BenchArgs;

/// The timing of one run: requests started before `measure_from` are warm-up.
#[derive(Clone, Copy)]
pub struct Window {
    pub measure_from: Instant,
    pub end: Instant,
}

impl Window {
    pub fn starting_now(warmup: Duration, measure: Duration) -> Self {
        let measure_from = Instant::now() + warmup;
        Window {
            measure_from,
            end: measure_from + measure,
        }
    }

    pub fn measured(&self) -> Duration {
        self.end.duration_since(self.measure_from)
    }
}

/// One worker's tally.
pub struct Recorder {
    window: Window,
    /// Latencies (µs) of successful requests started in the measured window.
    latencies_us: Vec<u32>,
    /// Successful requests completed in each second of the measured window.
    per_second: Vec<u64>,
    /// Successful requests over the whole run, warm-up included.
    pub ok_total: u64,
    errors: BTreeMap<String, u64>,
}

impl Recorder {
    pub fn new(window: Window) -> Self {
        Recorder {
            window,
            latencies_us: Vec::with_capacity(4096),
            per_second: vec![0; window.measured().as_secs_f64().ceil() as usize],
            ok_total: 0,
            errors: BTreeMap::new(),
        }
    }

    /// Whether another request may start.
    pub fn running(&self) -> bool {
        Instant::now() < self.window.end
    }

    /// Records a request that started at `started`; errors are tallied by message.
    pub fn record(&mut self, started: Instant, outcome: std::result::Result<(), String>) {
        match outcome {
            Ok(()) => {
                self.ok_total += 1;
                if started >= self.window.measure_from {
                    let us = started.elapsed().as_micros();
                    self.latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                    let second = self.window.measure_from.elapsed().as_secs() as usize;
                    if let Some(n) = self.per_second.get_mut(second) {
                        *n += 1;
                    }
                }
            }
            Err(e) => *self.errors.entry(e).or_default() += 1,
        }
    }
}

/// Spawns `n` workers, each given its index and a fresh recorder, and merges their tallies.
pub async fn run_workers<F, Fut>(n: usize, window: Window, mut worker: F) -> Result<Outcome>
where
    F: FnMut(usize, Recorder) -> Fut,
    Fut: Future<Output = Result<Recorder>> + Send + 'static,
{
    let cpu_before = process_cpu();
    let machine_before = machine_cpu();
    let spawned = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| tokio::spawn(worker(i, Recorder::new(window))))
        .collect();
    let mut recorders = Vec::with_capacity(n);
    for h in handles {
        recorders.push(h.await.context("worker task")??);
    }
    let wall = spawned.elapsed();
    let cpu = match (cpu_before, process_cpu(), machine_before, machine_cpu()) {
        (Some(a), Some(b), Some(ma), Some(mb)) => Some(CpuUse {
            process: b.saturating_sub(a),
            machine: mb.saturating_sub(ma),
            wall,
        }),
        _ => None,
    };
    Ok(Outcome::merge(recorders, window, cpu))
}

/// The merged result of a run.
pub struct Outcome {
    /// Sorted latencies (µs) of successful requests in the measured window.
    latencies_us: Vec<u32>,
    per_second: Vec<u64>,
    pub measured: Duration,
    pub per_worker_ok: Vec<u64>,
    pub errors: BTreeMap<String, u64>,
    cpu: Option<CpuUse>,
}

/// CPU time over a whole run, warm-up included.
struct CpuUse {
    /// This process: server, store (SQLite) and load generator.
    process: Duration,
    /// Every process on the machine (PostgreSQL backends, and anything else running).
    machine: Duration,
    wall: Duration,
}

impl Outcome {
    fn merge(recorders: Vec<Recorder>, window: Window, cpu: Option<CpuUse>) -> Self {
        let mut latencies_us = Vec::new();
        let mut per_second = vec![0u64; window.measured().as_secs_f64().ceil() as usize];
        let mut errors = BTreeMap::new();
        let mut per_worker_ok = Vec::with_capacity(recorders.len());
        for r in recorders {
            latencies_us.extend_from_slice(&r.latencies_us);
            for (total, n) in per_second.iter_mut().zip(&r.per_second) {
                *total += n;
            }
            per_worker_ok.push(r.ok_total);
            for (k, v) in r.errors {
                *errors.entry(k).or_default() += v;
            }
        }
        latencies_us.sort_unstable();
        Outcome {
            latencies_us,
            per_second,
            measured: window.measured(),
            per_worker_ok,
            errors,
            cpu,
        }
    }

    pub fn measured_ok(&self) -> usize {
        self.latencies_us.len()
    }

    pub fn rate(&self) -> f64 {
        self.measured_ok() as f64 / self.measured.as_secs_f64()
    }

    /// The `q` quantile (0..=1) of latency, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let last = self.latencies_us.len() - 1;
        let idx = ((last as f64) * q).round() as usize;
        f64::from(self.latencies_us[idx.min(last)]) / 1000.0
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// `rate req/s  p50 … p99 … max …` plus errors and CPU, on one or more lines.
    pub fn print(&self, label: &str, unit: &str, target: Option<(f64, &str)>) {
        let target = target
            .map(|(t, what)| {
                let verdict = if self.rate() >= t { "met" } else { "NOT met" };
                format!("   [target ≥ {t:.0} {what}: {verdict}]")
            })
            .unwrap_or_default();
        println!(
            "  {label:<34} {:>9.0} {unit}   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   (n={}){target}",
            self.rate(),
            self.quantile_ms(0.50),
            self.quantile_ms(0.99),
            self.quantile_ms(1.0),
            self.measured_ok(),
        );
        if let (Some(first), Some(last)) = (self.per_second.first(), self.per_second.last()) {
            if self.per_second.len() >= 3 {
                println!(
                    "  {:<34} completed in the first second {first}, in the last second {last}",
                    ""
                );
            }
        }
        if let Some(cpu) = &self.cpu {
            let wall = cpu.wall.as_secs_f64().max(1e-9);
            let own = cpu.process.as_secs_f64() / wall;
            let rest = (cpu.machine.as_secs_f64() / wall - own).max(0.0);
            println!(
                "  {:<34} cores busy: {own:.2} this process (server + load generator), {rest:.2} other processes",
                ""
            );
        }
        if !self.errors.is_empty() {
            println!("  {:<34} errors: {}", "", self.error_count());
            for (msg, n) in self.errors.iter().take(5) {
                println!("  {:<36} {n} × {msg}", "");
            }
        }
    }
}

/// User + system CPU time of this process so far (Linux; `None` elsewhere).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every mainstream Linux ABI.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Busy (non-idle, non-iowait) CPU time of the whole machine so far, from /proc/stat.
fn machine_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map_while(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq (then steal and guest time, not ours)
    let busy: u64 = ticks.iter().take(7).sum::<u64>() - ticks.get(3)? - ticks.get(4)?;
    Some(Duration::from_millis(busy * 10))
}

/// The filesystem type holding `path` (longest matching mount point in /proc/mounts).
pub fn filesystem_of(path: &std::path::Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return "unknown".into();
    };
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (dev, mnt, fs) = (it.next()?, it.next()?, it.next()?);
            path.starts_with(mnt)
                .then(|| (mnt.len(), format!("{fs} ({dev} on {mnt})")))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, s)| s)
        .unwrap_or_else(|| "unknown".into())
}

pub fn print_environment(args: &BenchArgs) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("quorate bench (release build: {})", !cfg!(debug_assertions));
    println!(
        "  {cores} CPU core(s); server, store and load generator all run in THIS process on one \
         tokio runtime, so they share the cores: figures are a floor for a dedicated server."
    );
    println!(
        "  {} connections, {} s measured per run after a {} ms warm-up; temp dir on {}",
        args.concurrency,
        args.measure().as_secs(),
        args.warmup().as_millis(),
        filesystem_of(&std::env::temp_dir()),
    );
    println!(
        "  load average before start: {} (anything else running skews every figure below)",
        load.join(" ")
    );
}

/// A reqwest client holding at most one keep-alive HTTP/1.1 connection.
pub fn single_connection_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

/// Sends one stamped POST and returns the body of a 200 answer (or a short error label).
pub async fn post_stamped(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    stamp: &str,
) -> std::result::Result<Vec<u8>, String> {
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-stamp", stamp)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("reading body: {e}"))?;
    if status == 200 {
        Ok(bytes.to_vec())
    } else {
        let text = String::from_utf8_lossy(&bytes);
        Err(format!(
            "HTTP {status}: {}",
            text.chars().take(160).collect::<String>()
        ))
    }
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat` (Linux).
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // /proc reports in USER_HZ, which Linux fixes at 100 for user space.
    Some((utime + stime) / 100.0)
}
