//! `cargo run --release -p xtask -- bench`: throughput, latency and stamp-verification figures
//! for quorate, measured against real in-process servers. It prints numbers; it never asserts.

mod activities;
mod cu;
mod fuzz;
mod load;
mod policy;
mod sign;
mod stamp;
mod tidy;
mod v1;
mod vault;
mod whoami;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "xtask", about = "quorate development tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print throughput/latency figures (stamped whoami, durable activities, stamp verification).
    Bench(BenchArgs),
    /// Mutation-fuzz the transaction, raw-payload and EIP-712 parsers (stable Rust, no coverage).
    Fuzz(fuzz::FuzzArgs),
}

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// Measured seconds per load run (each run also gets a short warm-up).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Run only one part.
    #[arg(long, value_enum)]
    pub only: Option<Part>,
    /// Skip the PostgreSQL activity runs.
    #[arg(long)]
    pub skip_postgres: bool,
    /// Concurrent connections (one task and one keep-alive HTTP/1.1 connection each).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Iterations per case of the stamp-verification micro-benchmark.
    #[arg(long, default_value_t = 20_000)]
    pub iterations: u32,
}

impl BenchArgs {
    /// The warm-up before each measured window (connections, caches, pools).
    pub fn warmup(&self) -> Duration {
        Duration::from_millis(500)
    }

    pub fn measure(&self) -> Duration {
        Duration::from_secs(self.seconds.max(1))
    }

    fn runs(&self, part: Part) -> bool {
        self.only.is_none_or(|p| p == part)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    Whoami,
    Activities,
    Stamp,
    Vault,
    Policy,
    /// Usage metering: 1 M CU runs ingested, aggregation latencies, query plans.
    Cu,
    /// Management API: secret-key requests/s, with and without the audit log.
    V1,
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Bench(args) => bench(args).await,
        Command::Fuzz(args) => fuzz::run(args),
    }
}

async fn bench(args: BenchArgs) -> Result<()> {
    let started = std::time::Instant::now();
    load::print_environment(&args);
    if args.runs(Part::Whoami) {
        whoami::run(&args).await?;
    }
    if args.runs(Part::Activities) {
        activities::run(&args).await?;
    }
    if args.runs(Part::Stamp) {
        let iterations = args.iterations;
        tokio::task::spawn_blocking(move || stamp::run(iterations)).await??;
    }
    if args.runs(Part::Vault) {
        vault::run(&args).await?;
    }
    if args.runs(Part::Policy) {
        tokio::task::spawn_blocking(policy::run).await??;
    }
    if args.runs(Part::V1) {
        v1::run(&args).await?;
    }
    if args.runs(Part::Cu) {
        cu::run(&args).await?;
    }
    println!(
        "\ntotal bench time: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
