//! # sable-fuzz — every decoder of outside bytes, fed seeded random and mutated inputs
//!
//! Owns: the registry of fuzz targets ([`targets`]), one per decoder that reads bytes
//! from outside the process: transactions and deposit claims; blocks as stored, as
//! consensus carries them and as published on L1 (blobs, contract calls); operator
//! commands and their certificates; gossip; the settlement signature exchange; the
//! conversions of gRPC requests (in the node) and answers (in a participant's client).
//! Also the valid encodings the targets start from ([`seeds`]), the input generator
//! ([`generate`]) and the runner that counts every verdict and catches every panic
//! ([`run`]).
//!
//! It runs on stable Rust, with no instrumentation: inputs are uniform random bytes,
//! mutations of real encodings (bit flips, inserted, deleted and overwritten bytes,
//! edited length prefixes, truncations, splices) and edge field and point encodings,
//! all drawn from one `u64` seed, so a run (and each input of it) replays exactly.
//!
//! Must never: verify a proof or a signature as part of a target (decoding and
//! structural conversion only: verification has its own tests and would make a
//! million inputs take hours), hold state between two inputs of a target, or be linked
//! by the validator or a participant's program.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod generate;
pub mod run;
pub mod seeds;
pub mod targets;

pub use run::{run, Finding, Report};
pub use targets::{registry, Outcome, Target};
