//! # sable-node — the permissioned validator and observer daemon
//!
//! Owns: the gRPC API over mutual TLS ([`rpc`]), identities and the development PKI
//! ([`pki`]), operator commands ([`admin`]), the block format ([`block`]), admission
//! ([`mempool`]), execution of finalized blocks ([`execution`]) into RocksDB
//! ([`storage`], one atomic write batch per block), BFT ordering with commonware simplex
//! ([`consensus`]), mempool gossip between validators ([`gossip`]), the compliance hook
//! ([`compliance`]), the Ethereum bridge's deposits and withdrawals ([`bridge`]),
//! settlement to Ethereum ([`settlement`]), telemetry, and the participants' side of
//! the API ([`client`], [`wallet`]).
//!
//! Must never: see amounts, asset types or counterparties (it handles only commitments,
//! nullifiers, ciphertexts, proofs and public issuances), apply half a block, serve a
//! request without an authenticated certificate, or panic on input from the network.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod admin;
pub mod block;
pub mod bridge;
pub mod client;
pub mod compliance;
pub mod config;
pub mod consensus;
pub mod daemon;
mod daemon_rpc;
pub mod execution;
pub mod gossip;
pub mod mempool;
pub mod node;
pub mod pki;
pub mod rpc;
pub mod settlement;
pub mod storage;
pub mod telemetry;
#[cfg(feature = "test-utils")]
pub mod testkit;
pub mod verifier;
pub mod wallet;
