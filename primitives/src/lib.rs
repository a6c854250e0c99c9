//! # sable-primitives — the nouns every Sable program shares
//!
//! Owns: the block format and the ids that name blocks and commands ([`block`]), signed
//! operator commands ([`admin`]), the bridge's withdrawal records ([`bridge`]), the
//! chain's parameters ([`params`]), the published-batch format ([`published`]), why a command is refused, sorted by whose fact it is
//! ([`rejection`]), and where a command stands ([`status`]). The validator, the
//! participants' client and the compliance tooling all speak these types, so a status
//! or a rejection means one thing everywhere.
//!
//! Must never: depend on storage, networking, consensus or Ethereum crates (a bank's
//! wallet links this crate), or carry one validator's local circumstances into a type
//! that execution records (see [`rejection`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod admin;
pub mod block;
pub mod bridge;
pub mod params;
pub mod published;
pub mod regulator;
pub mod rejection;
pub mod status;

pub use block::{Block, BlockHash, BlockHeader, StateRef, TxId};
pub use bridge::WithdrawalRecord;
pub use params::ChainParams;
pub use published::PublishedData;
pub use regulator::{RegulatorRotation, RegulatorSchedule};
pub use rejection::{AdmissionError, L1View, PoolCondition, RejectCode, RejectKind, Rejection};
pub use status::TxStatus;
