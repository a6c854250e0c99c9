//! Every decoder of outside bytes survives 20,000 seeded inputs without a panic, and
//! the inputs reach both its accepting and its refusing paths. The full run (10⁶
//! inputs per decoder) is `cargo run --release -p sable-fuzz`; its figures are in the
//! README.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sable_fuzz::{registry, run, Outcome, Target};

const INPUTS: u64 = 20_000;
const SEED: u64 = 0x22;

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[test]
fn no_decoder_panics_and_each_accepts_and_refuses() {
    let mut failures = Vec::new();
    for t in registry() {
        let r = run(&t, INPUTS, SEED, threads());
        println!(
            "{:<26} {:>7} inputs {:>7} accepted {:>7} rejected {} panics {:.1} s",
            r.target, r.inputs, r.accepted, r.rejected, r.panics, r.seconds
        );
        assert_eq!(r.inputs, INPUTS);
        assert_eq!(r.accepted + r.rejected + r.panics, r.inputs);
        for f in &r.findings {
            failures.push(f.to_string());
        }
        if r.accepted == 0 {
            failures.push(format!("{}: no input was accepted", r.target));
        }
        if r.rejected == 0 {
            failures.push(format!("{}: no input was refused", r.target));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A toy decoder that panics on inputs starting with `0xdead` (its one seed) and
/// accepts the rest.
fn panics_on_dead(data: &[u8]) -> Outcome {
    if data.starts_with(&[0xde, 0xad]) {
        panic!("toy decoder: dead input");
    }
    if data.len().is_multiple_of(2) {
        Outcome::Accepted
    } else {
        Outcome::Rejected
    }
}

#[test]
fn a_panicking_decoder_is_caught_and_reported_with_its_input() {
    let toy = Target {
        name: "toy",
        decode: panics_on_dead,
        seeds: || vec![vec![0xde, 0xad, 0xbe, 0xef]],
    };
    let r = run(&toy, 2_000, 9, 2);
    assert_eq!(r.inputs, 2_000);
    assert!(r.panics > 0, "the toy's panic went unnoticed: {r:?}");
    assert_eq!(r.accepted + r.rejected + r.panics, r.inputs);
    let f = r.findings.first().expect("a panic is kept with its input");
    assert_eq!(f.target, "toy");
    assert_eq!(f.seed, 9);
    assert!(f.input.starts_with(&[0xde, 0xad]), "{f}");
    assert!(f.message.contains("toy decoder: dead input"), "{f}");
    assert!(
        f.message.contains("decoders.rs"),
        "the location is kept: {f}"
    );
    // The finding replays from its seed and index.
    assert_eq!(
        sable_fuzz::run::input_at(&toy, f.seed, f.iteration),
        f.input
    );
    assert!(f.to_string().contains(&hex::encode(&f.input)));
}
