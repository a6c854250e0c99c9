//! # sable-node — the permissioned validator and observer daemon
//!
//! Owns: the gRPC API over mutual TLS ([`rpc`]), admission ([`mempool`]), BFT ordering
//! with commonware simplex ([`consensus`]), which hands finalized blocks to
//! `sable-execution` over RocksDB (`sable-storage`), mempool gossip between validators
//! ([`gossip`]), this validator's own view of L1 ([`l1_view`]), settlement to Ethereum
//! ([`settlement`]), throttling of submitters whose transactions fail verification
//! ([`throttle`]), telemetry, and the daemon. The nouns it shares with participants
//! live in `sable-primitives`, identities in `sable-pki`; the participants' own
//! programs build on `sable-client`, which never links this crate.
//!
//! Must never: see amounts, asset types or counterparties (it handles only commitments,
//! nullifiers, ciphertexts, proofs and public issuances), apply half a block, serve a
//! request without an authenticated certificate, or panic on input from the network.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod consensus;
pub mod daemon;
pub mod gossip;
pub mod l1_view;
pub mod liveness;
pub mod mempool;
pub mod node;
pub mod rpc;
pub mod runtime;
pub mod settlement;
pub mod telemetry;
pub mod throttle;
