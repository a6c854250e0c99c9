//! Runs a target over a number of inputs on every core, each decode under
//! `catch_unwind`, and counts the verdicts.
//!
//! Input `i` goes to thread `i mod threads` and is drawn from its own RNG
//! ([`crate::generate::rng_for`]), so the inputs, and so the counts, do not depend on
//! the number of threads. A panic is recorded with its message, its location, the run's
//! seed, the input's index and the input in hex; the panic hook stays quiet for panics
//! caught here (and only those).

use std::{
    cell::{Cell, RefCell},
    panic::{self, AssertUnwindSafe},
    sync::Once,
    time::Instant,
};

use crate::{
    generate::{rng_for, Generator},
    targets::{Outcome, Target},
};

/// Panics kept per target with their inputs (all are counted).
const KEPT: usize = 16;

/// A panic a target raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The target.
    pub target: &'static str,
    /// The run's seed.
    pub seed: u64,
    /// The input's index in the run.
    pub iteration: u64,
    /// The input.
    pub input: Vec<u8>,
    /// The panic's message and location.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PANIC in {} (seed {}, input {}): {}\n  input ({} bytes): {}",
            self.target,
            self.seed,
            self.iteration,
            self.message,
            self.input.len(),
            hex::encode(&self.input)
        )
    }
}

/// What a run of one target found.
#[derive(Clone, Debug)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// Inputs decoded.
    pub inputs: u64,
    /// Inputs the decoder accepted.
    pub accepted: u64,
    /// Inputs the decoder refused with an error.
    pub rejected: u64,
    /// Inputs that made the decoder panic.
    pub panics: u64,
    /// The first panics, with their inputs.
    pub findings: Vec<Finding>,
    /// Wall-clock seconds, input generation included.
    pub seconds: f64,
}

impl Report {
    /// Nothing decoded yet.
    fn empty(target: &'static str) -> Self {
        Report {
            target,
            inputs: 0,
            accepted: 0,
            rejected: 0,
            panics: 0,
            findings: Vec::new(),
            seconds: 0.0,
        }
    }
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LOCATION: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Wraps the panic hook once: on a thread running inputs, a panic's location is kept
/// for its finding and nothing is printed; elsewhere the previous hook runs.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LOCATION.with(|l| *l.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".into());
    let at = LOCATION.with(|l| std::mem::take(&mut *l.borrow_mut()));
    format!("{text} at {at}")
}

/// Runs `inputs` inputs of `target` from `seed` on `threads` threads (at least one).
pub fn run(target: &Target, inputs: u64, seed: u64, threads: usize) -> Report {
    install_hook();
    let start = Instant::now();
    let generator = Generator::new((target.seeds)());
    let threads = threads.max(1) as u64;
    let parts: Vec<Report> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let generator = &generator;
                s.spawn(move || {
                    QUIET.with(|q| q.set(true));
                    let mut r = Report::empty(target.name);
                    let mut i = t;
                    while i < inputs {
                        let input = generator.input(&mut rng_for(seed, target.name, i));
                        match panic::catch_unwind(AssertUnwindSafe(|| (target.decode)(&input))) {
                            Ok(Outcome::Accepted) => r.accepted += 1,
                            Ok(Outcome::Rejected) => r.rejected += 1,
                            Err(payload) => {
                                r.panics += 1;
                                if r.findings.len() < KEPT {
                                    r.findings.push(Finding {
                                        target: target.name,
                                        seed,
                                        iteration: i,
                                        message: message(payload.as_ref()),
                                        input,
                                    });
                                }
                            }
                        }
                        r.inputs += 1;
                        i += threads;
                    }
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .expect("a fuzzing thread never panics outside a decode")
            })
            .collect()
    });
    let mut total = Report::empty(target.name);
    for p in parts {
        total.inputs += p.inputs;
        total.accepted += p.accepted;
        total.rejected += p.rejected;
        total.panics += p.panics;
        total.findings.extend(p.findings);
    }
    total.findings.sort_by_key(|f| f.iteration);
    total.findings.truncate(KEPT);
    total.seconds = start.elapsed().as_secs_f64();
    total
}

/// The input `iteration` of `target` in a run seeded with `seed` (to replay a finding).
pub fn input_at(target: &Target, seed: u64, iteration: u64) -> Vec<u8> {
    Generator::new((target.seeds)()).input(&mut rng_for(seed, target.name, iteration))
}
