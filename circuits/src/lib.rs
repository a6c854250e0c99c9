//! # sable-circuits — the shielded multi-asset protocol
//!
//! This crate owns everything that defines a Sable transaction: keys with decreasing
//! capability ([`keys`]), notes and their commitments and nullifiers ([`note`]), asset
//! types and homomorphic value commitments ([`asset`], [`value`]), the note commitment
//! tree ([`tree`]) and the participant registry ([`registry`]) with each participant's
//! epoch key schedule ([`epoch`]), the in-circuit-verifiable
//! encryption of every new note to the regulator ([`regulator`]), note encryption to
//! recipients ([`note_encryption`]), the Halo2 action and deposit circuits
//! ([`circuit`]), bridge deposits ([`deposit`]), selective disclosure of a note to a third party
//! ([`disclosure`]), and the transaction format with its
//! binding signatures and canonical encoding ([`transaction`], [`builder`]).
//!
//! The native functions in this crate are the *specification*: the circuit is tested
//! against them, and validators, wallets and compliance tools all call them.
//!
//! ## What this crate must never do
//! - Perform I/O, keep global mutable state, or depend on the node, the network or storage.
//! - Panic on bytes that come from outside: every decoder returns a typed error.
//! - Reveal plaintext in any public artefact except through the keys designed for it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod asset;
pub mod builder;
pub mod circuit;
pub mod constants;
pub mod deposit;
pub mod disclosure;
pub mod encoding;
pub mod epoch;
pub mod holdings;
pub mod keys;
pub mod note;
pub mod note_encryption;
pub mod nullifier_tree;
pub mod primitives;
pub mod registry;
pub mod regulator;
pub mod transaction;
pub mod tree;
pub mod value;

pub use pasta_curves::pallas;
