//! # sable-node — the permissioned validator and observer daemon
//!
//! Will own: the gRPC API over mutual TLS, the mempool and admission checks, BFT
//! consensus (commonware simplex), RocksDB state applied one atomic batch per finalized
//! block, Ethereum settlement, and telemetry.
//!
//! Must never: see amounts, asset types or counterparties (it handles only commitments,
//! nullifiers, ciphertexts and proofs), or apply half a block.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
