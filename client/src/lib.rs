//! # sable-client — what a participant's software runs against a node
//!
//! Owns: the mutual-TLS channel to a node's API ([`connect`]; it checks that the node's
//! certificate is a validator's, review M8), the typed client of the
//! `sable.v1` services ([`NodeClient`]: submit and follow transactions, anchors and
//! Merkle paths, compact blocks, operator commands), and the wallet ([`wallet`]: notes
//! found with a bank's incoming viewing key, balances, building and proving legs and
//! atomic multi-party transactions, public issuance, deposits and withdrawals, signed
//! operator commands). Banks, issuers, operators, the compliance tooling and the CLI
//! build on it.
//!
//! Must never: link the validator's stack (RocksDB, commonware, an Ethereum provider,
//! axum), send a node anything but proven, signed transactions and signed operator
//! commands (keys and plaintexts stay with the caller), or open a plaintext channel.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod connect;
pub mod node_client;
pub mod wallet;

pub use connect::{
    connect, connect_to_validator, connect_without_identity, ConnectError, ServerRejection,
};
pub use node_client::{ClientError, NodeClient};
pub use wallet::{Wallet, WalletError};
