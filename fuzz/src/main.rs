//! `sable-fuzz`: runs every decoder target (or one) over seeded inputs and prints, per
//! target, the inputs, the verdicts, the panics and the time; exits non-zero if any
//! input made a decoder panic.
//!
//! ```sh
//! cargo run --release -p sable-fuzz -- [--inputs N] [--seed S] [--only NAME] [--list]
//! ```

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;
use sable_fuzz::{registry, run, Report};

/// Fuzzes Sable's decoders of outside bytes with seeded random and mutated inputs.
#[derive(Parser, Debug)]
#[command(name = "sable-fuzz")]
struct Args {
    /// Inputs per target.
    #[arg(long, default_value_t = 1_000_000)]
    inputs: u64,
    /// The run's seed (a run and each of its inputs replay from it).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only the target with this name.
    #[arg(long)]
    only: Option<String>,
    /// Threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Lists the targets and exits.
    #[arg(long)]
    list: bool,
    /// Prints input number N of `--only`'s target for `--seed` in hex and exits.
    #[arg(long, value_name = "N")]
    replay: Option<u64>,
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    let all = registry();
    if args.list {
        for t in &all {
            println!("{}", t.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let targets: Vec<_> = match &args.only {
        Some(name) => all.into_iter().filter(|t| t.name == name).collect(),
        None => all,
    };
    if let (Some(name), []) = (&args.only, &targets[..]) {
        bail!("no target named {name:?} (see --list)");
    }
    if let Some(n) = args.replay {
        let [t] = &targets[..] else {
            bail!("--replay needs --only");
        };
        println!(
            "{}",
            hex::encode(sable_fuzz::run::input_at(t, args.seed, n))
        );
        return Ok(ExitCode::SUCCESS);
    }
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    println!(
        "sable-fuzz: {} inputs per target, seed {}, {} threads",
        args.inputs, args.seed, threads
    );
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>7} {:>9}",
        "target", "inputs", "accepted", "rejected", "panics", "seconds"
    );
    let mut reports: Vec<Report> = Vec::new();
    for t in &targets {
        let r = run(t, args.inputs, args.seed, threads);
        println!(
            "{:<26} {:>10} {:>10} {:>10} {:>7} {:>9.1}",
            r.target, r.inputs, r.accepted, r.rejected, r.panics, r.seconds
        );
        for f in &r.findings {
            eprintln!("{f}");
        }
        reports.push(r);
    }
    let sum = |f: fn(&Report) -> u64| reports.iter().map(f).sum::<u64>();
    let panics = sum(|r| r.panics);
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>7} {:>9.1}",
        format!("total ({} targets)", reports.len()),
        sum(|r| r.inputs),
        sum(|r| r.accepted),
        sum(|r| r.rejected),
        panics,
        reports.iter().map(|r| r.seconds).sum::<f64>()
    );
    Ok(if panics == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("{panics} inputs made a decoder panic");
        ExitCode::FAILURE
    })
}
