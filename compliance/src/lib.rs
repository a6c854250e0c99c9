//! # sable-compliance — compliance tooling for regulators and compliance officers
//!
//! Will own: viewing keys in use (a bank's compliance officer scanning its activity),
//! the regulator's audit of every action through the proven regulator ciphertexts, epoch
//! keys, verifiable disclosure packages of one transaction, holdings proofs, and
//! compliance policies (implementations of the validator's `CompliancePolicy` trait;
//! the trait itself is the validator's). Built on `sable-client`, never on the
//! validator's crates.
//!
//! Must never: hold a spending key, weaken a check the circuit enforces, or send
//! plaintext anywhere but to the party entitled to it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
