//! # sable-compliance — compliance tooling for regulators and compliance officers
//!
//! Owns today: the regulator's audit ledger ([`audit`]): every regulator ciphertext on
//! the chain opened by a [`RegulatorDecryptor`](audit::RegulatorDecryptor), and from
//! them every note with its asset, value, owner and creator, every spend linked to its
//! note, every burn, and positions and flows at any height, named through the chain's
//! public registry and issuances; and the reports over it ([`report`]: JSON, CSV, a
//! terminal summary and a self-contained HTML page with charts, for the whole network
//! or one participant, with large transactions and activity after removal flagged).
//! The threshold regulator key ([`threshold`]): its distributed key generation,
//! decryption shares with proofs and their combination, and the hash-chained audit log
//! of every share released, checked against the heads committed on chain. A bank's
//! own view with its full viewing key, into the same ledger and reports
//! ([`audit::view`]). Verifiable disclosures of chosen fields of one note to a named
//! third party, and their check against a node ([`disclose`]). Proofs that a bank
//! held at least an amount of an asset at a height, made from its full viewing key
//! and handed to a named third party, and their check against a node's header or the
//! roots settled on Ethereum ([`holdings`]). What a third party keeps of the packages
//! it accepted ([`recipient`]). A bank's epoch view key for an auditor, as a file naming
//! the participant, and its check against the schedule the chain registered for it
//! ([`epoch_key`]). The desk that checks packages for the node's compliance service
//! ([`desk`]).
//! The design of the rest is in `docs/compliance.md`.
//!
//! Will own: the scan with an epoch key, and the rest of the compliance gRPC
//! services. Policies that decide what the chain accepts are the validator's
//! (`sable_execution::policy`); this crate only reads their log. Built on the
//! participants' side (`sable-client`, `sable-circuits`), never on the validator's
//! crates.
//!
//! Must never: hold a spending key, weaken a check the circuit enforces, or send
//! plaintext anywhere but to the party entitled to it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod audit;
pub mod desk;
pub mod disclose;
pub mod epoch_key;
pub mod holdings;
pub mod recipient;
pub mod report;
pub mod threshold;

/// Lower-case hex, for names and messages.
pub(crate) fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}
