//! Benchmarks the Sable action circuit side by side with the `orchard` crate, in one run.
//!
//! Run: `cargo run --release -p sable-bench` (add `-- --reps N`, default 3).
//! Each side runs in its own child process so peak memory (VmHWM) is measured apart.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use sable_bench::Transfer;
use sable_circuits::{
    circuit::{Proof, ProvingKey, VerifyingKey},
    transaction::BatchValidator,
};

const BATCH_PROOFS: usize = 32; // 32 two-action proofs = 64 actions

struct Figures {
    keygen: Duration,
    prove: Duration,
    verify: Duration,
    batch_per_action: Duration,
    proof_bytes: usize,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `f` `reps` times; returns the last result and the median time.
fn repeat<T, E: std::fmt::Debug>(
    reps: usize,
    mut f: impl FnMut() -> Result<T, E>,
) -> Result<(T, Duration)> {
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps.max(1) {
        let (r, t) = time(&mut f);
        last = Some(r.map_err(|e| anyhow::anyhow!("{e:?}"))?);
        times.push(t);
    }
    Ok((last.context("at least one rep")?, median(times)))
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

fn sable(reps: usize) -> Result<Figures> {
    let mut rng = UnwrapErr(SysRng);
    // Sable's verifying key holds the action and deposit circuits' keys; the batch
    // verifier's generator tables are built here too, as a validator does at start.
    let ((pk, vk), keygen) = time(|| {
        let vk = VerifyingKey::build();
        vk.warm_up();
        (ProvingKey::build(), vk)
    });
    let fixture = Transfer::new(&mut rng)?;
    let part = fixture.part(&mut rng)?;
    let (circuits, instances) = part.circuits();
    let (proof, prove) = repeat(reps, || Proof::create(&pk, &circuits, instances, rng))?;
    let ((), verify) = repeat(reps, || proof.verify(&vk, instances))?;
    // Full transactions (proof and signatures) through the batch validator.
    let tx = fixture.transaction(&pk, &mut rng)?;
    tx.verify(&vk)?;
    let mut batch = BatchValidator::new();
    for _ in 0..BATCH_PROOFS {
        batch.add(&tx)?;
    }
    let (ok, batch_time) = time(|| batch.validate(&vk, &mut rng));
    anyhow::ensure!(ok, "batch verification failed");
    Ok(Figures {
        keygen,
        prove,
        verify,
        batch_per_action: batch_time / (2 * BATCH_PROOFS) as u32,
        proof_bytes: proof.as_bytes().len(),
    })
}

fn orchard(reps: usize) -> Result<Figures> {
    use orchard::{
        builder::{Builder, BundleType},
        bundle::BundleVersion,
        circuit::{OrchardCircuitVersion, ProvingKey, VerifyingKey},
        keys::{FullViewingKey, Scope, SpendingKey},
        value::NoteValue,
        Anchor, Bundle,
    };
    let mut rng = UnwrapErr(SysRng);
    let version = OrchardCircuitVersion::FixedPostNu6_2;
    let ((pk, vk), keygen) = time(|| (ProvingKey::build(version), VerifyingKey::build(version)));
    let sk = SpendingKey::from_bytes([7; 32])
        .into_option()
        .context("sk")?;
    let recipient = FullViewingKey::from(&sk).address_at(0u32, Scope::External);
    let mut builder = Builder::new(
        BundleType::DEFAULT,
        BundleVersion::orchard_v2(),
        BundleVersion::orchard_v2().default_flags(),
        Anchor::from_bytes([0; 32])
            .into_option()
            .context("anchor")?,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    builder
        .add_output(None, recipient, NoteValue::from_raw(10), [0; 512])
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let bundle: Bundle<_, i64> = builder
        .build(&mut rng)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .context("bundle")?
        .0;
    anyhow::ensure!(bundle.actions().len() == 2, "orchard pads to 2 actions");
    let instances: Vec<_> = bundle
        .actions()
        .iter()
        .map(|a| a.to_instance(*bundle.flags(), *bundle.anchor()))
        .collect();
    let (proof, prove) = repeat(reps, || {
        bundle
            .authorization()
            .create_proof(&pk, &instances, &mut rng)
    })?;
    let ((), verify) = repeat(reps, || proof.verify(&vk, &instances))?;
    // Full bundles (proof and signatures) through orchard's public batch validator.
    let sighash = [0u8; 32];
    let authorized = bundle
        .create_proof(&pk, &mut rng)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .apply_signatures(rng, sighash, &[])
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut batch = orchard::bundle::BatchValidator::new(&vk);
    for _ in 0..BATCH_PROOFS {
        batch
            .add_bundle(&authorized, sighash)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let (ok, batch_time) = time(|| batch.validate(rng));
    anyhow::ensure!(ok, "orchard batch verification failed");
    Ok(Figures {
        keygen,
        prove,
        verify,
        batch_per_action: batch_time / (2 * BATCH_PROOFS) as u32,
        proof_bytes: proof.as_ref().len(),
    })
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

fn run_side(side: &str, reps: usize) -> Result<()> {
    let f = match side {
        "sable" => sable(reps)?,
        "orchard" => orchard(reps)?,
        other => anyhow::bail!("unknown side {other}"),
    };
    println!(
        "{side} {} {} {} {} {} {:.1}",
        f.keygen.as_secs_f64(),
        f.prove.as_secs_f64(),
        f.verify.as_secs_f64(),
        f.batch_per_action.as_secs_f64(),
        f.proof_bytes,
        peak_rss_mib()
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let reps = args
        .iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(3usize);
    if let Some(i) = args.iter().position(|a| a == "--side") {
        return run_side(args.get(i + 1).context("--side needs a value")?, reps);
    }
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    for side in ["orchard", "sable"] {
        eprintln!("running {side} ({reps} reps)…");
        let out = std::process::Command::new(&exe)
            .args(["--side", side, "--reps", &reps.to_string()])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{side}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout)?;
        let v: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse())
            .collect::<Result<_, _>>()?;
        anyhow::ensure!(v.len() == 6, "unexpected output {line}");
        rows.push(v);
    }
    let (o, s) = (&rows[0], &rows[1]);
    println!("2-action transfer, median of {reps} (batch: {BATCH_PROOFS} two-action proofs = {} actions)", 2 * BATCH_PROOFS);
    println!(
        "{:<28} {:>12} {:>12} {:>9}",
        "metric", "orchard", "sable", "sable/orc"
    );
    let names = [
        ("key generation (s)", 0),
        ("prove 2 actions (s)", 1),
        ("verify one proof (s)", 2),
        ("batch verify, per action (ms)", 3),
        ("proof size (bytes)", 4),
        ("peak memory (MiB)", 5),
    ];
    for (name, i) in names {
        let scale = if i == 3 { 1000.0 } else { 1.0 };
        println!(
            "{:<28} {:>12.3} {:>12.3} {:>9.2}",
            name,
            o[i] * scale,
            s[i] * scale,
            s[i] / o[i]
        );
    }
    Ok(())
}
