//! `cargo run --release -p xtask -- fuzz [TARGET] [--seconds N] [--seed S]`: a coverage-less
//! mutation fuzzer that runs on stable Rust. For each target in
//! `quorate_crypto::fuzz::TARGETS` it replays the seed corpus (valid encodings from
//! `tests/vectors`), then mutates corpus entries (bit flips, interesting bytes, inserts,
//! deletions, duplications, truncations, splices, dictionary tokens) for N seconds. Inputs the
//! target accepts join the corpus. A panic (or an input slower than a second) is reported with
//! the input in hex and the run exits non-zero. The PRNG seed is printed so a run can be
//! repeated.

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use quorate_crypto::fuzz;

/// Arguments of `xtask fuzz`.
#[derive(clap::Args, Clone)]
pub struct FuzzArgs {
    /// Target to run (`eth`, `solana`, `raw_payload`, `eip712`); all when omitted.
    pub target: Option<String>,
    /// Seconds per target.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// PRNG seed (default: from the clock; printed either way).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Largest input the mutator builds.
const MAX_INPUT: usize = 70 * 1024;
/// Largest corpus kept per target.
const MAX_CORPUS: usize = 4096;
/// An input slower than this is reported as a hang.
const SLOW: Duration = Duration::from_secs(1);

/// SplitMix64: tiny, deterministic, good enough for mutation choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x7f, 0x80, 0x81, 0xb7, 0xb8, 0xb9, 0xbf, 0xc0, 0xc1, 0xf7,
    0xf8, 0xf9, 0xff, 0x20, 0x40,
];

/// Byte strings worth inserting: RLP headers, compact-u16 extremes, JSON and EIP-712 tokens.
const DICTIONARY: &[&[u8]] = &[
    &[0xb8, 0x38],
    &[0xb9, 0xff, 0xff],
    &[0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0xf8, 0x38],
    &[0xf9, 0xff, 0xff],
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0x80, 0x80, 0x80],
    &[0xff, 0xff, 0x03],
    &[0x80, 0x80, 0x04],
    &[0x80, 0x00],
    b"\"",
    b"{}",
    b"[]",
    b"[1]",
    b"[2]",
    b"[0]",
    b",",
    b":",
    b"null",
    b"true",
    b"-1",
    b"1e400",
    b"0x",
    b"\"0x\"",
    b"\"-0x80\"",
    b"uint256",
    b"int8",
    b"bytes32",
    b"bytes",
    b"string",
    b"address",
    b"EIP712Domain",
    b"\"types\":{}",
    b"\"primaryType\":\"",
    b"115792089237316195423570985008687907853269984665640564039457584007913129639936",
    b"\\u0000",
    b"ff",
    b"0X",
];

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], input: &mut Vec<u8>) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = input.len();
        match rng.below(11) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            3 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                input.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                input.drain(at..at + n);
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(128));
                let chunk = input[from..from + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            6 if len > 0 => input.truncate(rng.below(len)),
            7 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            8 if len > 0 => {
                let i = rng.below(len);
                input[i] = if rng.chance(2) {
                    input[i].wrapping_add(1)
                } else {
                    input[i].wrapping_sub(1)
                };
            }
            9 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())];
                let at = rng.below(len + 1);
                if rng.chance(2) || len == 0 {
                    input.splice(at..at, token.iter().copied());
                } else {
                    let end = (at + token.len()).min(len);
                    input.splice(at..end, token.iter().copied());
                }
            }
            _ => {
                // Overwrite a random span with a copy from elsewhere (keeps length).
                if len > 1 {
                    let a = rng.below(len);
                    let b = rng.below(len);
                    let n = 1 + rng.below((len - a.max(b)).min(32));
                    let chunk = input[a..a + n].to_vec();
                    input[b..b + n].copy_from_slice(&chunk);
                }
            }
        }
    }
    input.truncate(MAX_INPUT);
}

struct Failure {
    message: String,
    input: Vec<u8>,
}

/// Fuzz one target: `f` returns whether it accepted the input (`None`: unknown target).
fn run_target(
    target: &str,
    f: &dyn Fn(&[u8]) -> Option<bool>,
    mut corpus: Vec<Vec<u8>>,
    seconds: u64,
    seed: u64,
    last_panic: &Arc<Mutex<Option<String>>>,
) -> Result<Option<Failure>> {
    let mut rng = Rng(seed ^ fnv(target.as_bytes()));
    if corpus.is_empty() {
        bail!("target {target} has no seeds");
    }
    let mut seen: HashSet<u64> = corpus.iter().map(|c| fnv(c)).collect();
    let seeds = corpus.len();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut iterations: u64 = 0;
    let mut accepted: u64 = 0;
    let mut queue: Vec<Vec<u8>> = corpus.clone();

    loop {
        let input = match queue.pop() {
            Some(i) => i,
            None => {
                if Instant::now() >= deadline {
                    break;
                }
                let mut i = corpus[rng.below(corpus.len())].clone();
                mutate(&mut rng, &corpus, &mut i);
                i
            }
        };
        iterations += 1;
        let started = Instant::now();
        let result = panic::catch_unwind(AssertUnwindSafe(|| f(&input)));
        let took = started.elapsed();
        match result {
            Ok(Some(ok)) => {
                if ok {
                    accepted += 1;
                    if corpus.len() < MAX_CORPUS && seen.insert(fnv(&input)) {
                        corpus.push(input.clone());
                    }
                }
            }
            Ok(None) => bail!("unknown fuzz target {target}"),
            Err(_) => {
                let message = last_panic
                    .lock()
                    .map(|mut m| m.take())
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "panic".into());
                return Ok(Some(Failure { message, input }));
            }
        }
        if took > SLOW {
            return Ok(Some(Failure {
                message: format!("slow input: {:.2} s for one call", took.as_secs_f64()),
                input,
            }));
        }
    }
    println!(
        "  {target:<12} {iterations:>9} runs  {accepted:>8} accepted  corpus {} ({seeds} seeds)  {:.0} runs/s",
        corpus.len(),
        iterations as f64 / seconds.max(1) as f64
    );
    Ok(None)
}

/// FNV-1a, for corpus de-duplication and per-target seeds.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Run the fuzzer.
pub fn run(args: FuzzArgs) -> Result<()> {
    let targets: Vec<&str> = match &args.target {
        Some(t) => match fuzz::TARGETS.iter().find(|x| **x == t.as_str()) {
            Some(t) => vec![*t],
            None => bail!(
                "unknown fuzz target {t:?} (targets: {})",
                fuzz::TARGETS.join(", ")
            ),
        },
        None => fuzz::TARGETS.to_vec(),
    };
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed)
    });
    println!(
        "fuzz: seed {seed} (repeat with --seed {seed}), {} s per target, targets: {}",
        args.seconds,
        targets.join(", ")
    );

    // Silence the default panic output; keep the message and location for the report.
    let last_panic: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&last_panic);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Ok(mut m) = sink.lock() {
            *m = Some(info.to_string());
        }
    }));

    let mut failures = Vec::new();
    for target in &targets {
        let f = |data: &[u8]| fuzz::run(target, data);
        match run_target(
            target,
            &f,
            fuzz::seeds(target),
            args.seconds,
            seed,
            &last_panic,
        ) {
            Ok(None) => {}
            Ok(Some(f)) => failures.push((*target, f)),
            Err(e) => {
                panic::set_hook(previous);
                return Err(e);
            }
        }
    }
    panic::set_hook(previous);

    if failures.is_empty() {
        println!("fuzz: no failures");
        return Ok(());
    }
    for (target, f) in &failures {
        eprintln!("\nFAILURE in target {target} (seed {seed}): {}", f.message);
        eprintln!(
            "input ({} bytes) hex: {}",
            f.input.len(),
            hex::encode(&f.input)
        );
    }
    bail!("{} fuzz target(s) failed", failures.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutator_stays_bounded_and_reaches_a_planted_panic() {
        let mut rng = Rng(7);
        let corpus = vec![vec![1, 2, 3], vec![0xc0; 10]];
        for _ in 0..10_000 {
            let mut input = corpus[rng.below(2)].clone();
            mutate(&mut rng, &corpus, &mut input);
            assert!(input.len() <= MAX_INPUT);
        }

        // A target that panics on inputs starting with 0x00 0x00 must be caught and reported
        // with the input (the panic hook is not replaced here, so the message is "panic").
        let sink = Arc::new(Mutex::new(None));
        let f = |d: &[u8]| -> Option<bool> {
            if d.starts_with(&[0, 0]) {
                panic!("planted");
            }
            Some(d.len() > 3)
        };
        let failure = run_target("test", &f, vec![vec![0, 1, 2, 3]], 5, 42, &sink)
            .unwrap()
            .expect("the planted panic is found within 5 s");
        assert!(failure.input.starts_with(&[0, 0]));
    }
}
