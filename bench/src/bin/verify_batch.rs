//! Batch proof verification: Sable's batch verifier (the IPA generators' MSM on
//! precomputed tables) against halo2's `BatchVerifier`, the reference, in the same run.
//!
//! `cargo run --release -p sable-bench --bin verify_batch [--sizes 1,2,4,8,16,32,64]
//! [--reps 7] [--threads 1]`
//!
//! Proves `max(sizes)` distinct 2-action payments, then for each batch size times both
//! verifiers on the same proofs (alternating, median of `--reps`) on a pool of
//! `--threads` threads. A fixed cost per batch and a cost per proof are fitted between
//! the smallest and the largest size.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use rand::{rand_core::UnwrapErr, rngs::SysRng};
use sable_bench::{arg, percentile, Transfer};
use sable_circuits::circuit::{Instance, Proof, ProofBatch, ProvingKey, VerifyingKey};

fn main() -> Result<()> {
    let sizes: Vec<usize> = arg("--sizes", "1,2,4,8,16,32,64".to_string())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("--sizes: comma-separated batch sizes")?;
    let reps: usize = arg("--reps", 7);
    let threads: usize = arg("--threads", 1);
    let max = sizes.iter().copied().max().context("--sizes is empty")?;
    ensure!(max > 0 && reps > 0, "sizes and --reps must be positive");

    let mut rng = UnwrapErr(SysRng);
    let pk = ProvingKey::build();
    let vk = VerifyingKey::build();
    let t = Instant::now();
    vk.warm_up();
    let table_s = t.elapsed().as_secs_f64();

    let world = Transfer::new(&mut rng)?;
    eprintln!("proving {max} distinct 2-action payments...");
    let t = Instant::now();
    let mut proofs: Vec<(Proof, Vec<Instance>)> = Vec::with_capacity(max);
    for _ in 0..max {
        let tx = world.transaction(&pk, &mut rng)?;
        let part = &tx.parts[0];
        proofs.push((
            part.proof.clone(),
            part.effects.instances(&world.regulator)?,
        ));
    }
    eprintln!("proved in {:.1} s", t.elapsed().as_secs_f64());

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let batch = |n: usize| {
        let mut b = ProofBatch::new();
        for (p, i) in &proofs[..n] {
            b.add(p, i);
        }
        b
    };
    let time = |f: &(dyn Fn() -> bool + Sync)| -> Result<f64> {
        let t = Instant::now();
        ensure!(pool.install(f), "an honest batch failed verification");
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    let mut rows = Vec::new();
    for &n in &sizes {
        let (mut reference, mut ours) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            reference.push(time(&|| batch(n).finalize_reference(&vk))?);
            ours.push(time(&|| batch(n).finalize(&vk, &mut UnwrapErr(SysRng)))?);
        }
        reference.sort_by(f64::total_cmp);
        ours.sort_by(f64::total_cmp);
        rows.push((n, percentile(&reference, 0.5), percentile(&ours, 0.5)));
    }

    println!("Batch proof verification, {threads} thread(s), median of {reps} (ms):\n");
    println!("| proofs | halo2 BatchVerifier | Sable ProofBatch | ratio | halo2 per proof | Sable per proof |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for &(n, r, o) in &rows {
        println!(
            "| {n} | {r:.1} | {o:.1} | {:.2}× | {:.2} | {:.2} |",
            r / o,
            r / n as f64,
            o / n as f64
        );
    }
    if let (Some(&(n0, r0, o0)), Some(&(n1, r1, o1))) = (rows.first(), rows.last()) {
        if n1 > n0 {
            let slope = |a: f64, b: f64| (b - a) / (n1 - n0) as f64;
            let (sr, so) = (slope(r0, r1), slope(o0, o1));
            println!(
                "\nfitted between {n0} and {n1} proofs: fixed cost per batch {:.1} ms (halo2) vs {:.1} ms (Sable); per proof {sr:.2} vs {so:.2} ms",
                r0 - sr * n0 as f64,
                o0 - so * n0 as f64,
            );
        }
    }
    println!(
        "generator table: built once per verifying key in {:.2} s",
        table_s
    );
    Ok(())
}
