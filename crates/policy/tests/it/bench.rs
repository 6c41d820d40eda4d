//! The decision benchmark runs (figures printed, never asserted: xtask reports them).
//! `QUORATE_BENCH_ITERS` raises the iteration count (for profiling).

#[test]
fn bench_decide_reports_figures() {
    let iters = std::env::var("QUORATE_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    for n in [1, 10, 50] {
        let (p50, p99) = quorate_policy::bench::bench_decide_iters(n, iters);
        println!("decide over {n} policies: p50 {p50} ns, p99 {p99} ns");
        assert!(p50 <= p99);
    }
}
