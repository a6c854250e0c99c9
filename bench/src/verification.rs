//! Batch verification as the validators run it, to measure this machine's bound: one
//! verifier on all cores, or one single-threaded verifier per core at the same time.

use std::{sync::Arc, time::Instant};

use anyhow::{ensure, Result};
use sable_circuits::{
    circuit::VerifyingKey,
    transaction::{BatchValidator, Transaction},
};

/// Verifies `pool` in batches of `size` on the current rayon pool; the actions checked.
pub fn verify_pool(vk: &VerifyingKey, pool: &[Arc<Transaction>], size: usize) -> Result<usize> {
    let mut actions = 0;
    for chunk in pool.chunks(size.max(1)) {
        let mut batch = BatchValidator::new();
        for tx in chunk {
            batch.add(tx)?;
        }
        actions += batch.actions();
        ensure!(
            batch.validate(vk, &mut rand::rng()),
            "the pool does not verify"
        );
    }
    Ok(actions)
}

/// Runs `f` on a rayon pool of one thread.
pub fn on_one_thread<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()?
        .install(f)
}

/// Runs `k` copies of `f` at the same time, each on a thread of its own; the seconds
/// until the last one ends.
pub fn at_once(k: usize, f: impl Fn() -> Result<()> + Sync) -> Result<f64> {
    let t = Instant::now();
    std::thread::scope(|s| {
        let running: Vec<_> = (0..k).map(|_| s.spawn(&f)).collect();
        running
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("verifier panicked"))?)
    })?;
    Ok(t.elapsed().as_secs_f64())
}

/// Transactions per second verifying `pool` in one batch: the faster of one verifier
/// on all cores and one single-threaded verifier per core running at the same time
/// (as `node_throughput` measures the machine's bound).
pub fn machine_rate(vk: &VerifyingKey, pool: &[Arc<Transaction>]) -> Result<f64> {
    let n = pool.len() as f64;
    let whole = || verify_pool(vk, pool, pool.len());
    let t = Instant::now();
    whole()?;
    let all_cores = n / t.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let concurrent_s = at_once(cores, || on_one_thread(whole).map(drop))?;
    Ok(all_cores.max(cores as f64 * n / concurrent_s))
}
