//! # sable-execution — what a finalized block does to the state
//!
//! Owns: the stateful checks admission shares with execution ([`state_check`]),
//! applying finalized blocks in one atomic commit ([`executor`]), the bridge as chain
//! state ([`bridge_ledger`]: deposits minted, withdrawals owed), stateless batch
//! verification of encodings, signatures and proofs ([`verifier`]), the compliance-policy
//! hook ([`policy`]) and uses the chain-wide parameters of `sable-primitives` ([`ChainParams`]).
//!
//! Must never: reach the network or L1 (no p2p, no Ethereum provider, no RPC), read a
//! clock or a local file while executing, or record a storage failure as a
//! transaction's verdict: a read that fails stops the block ([`ExecError::Storage`],
//! [`StateCheckError::Storage`]) and commits nothing, so one validator's disk fault
//! cannot fork its state from the others'.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bridge_ledger;
pub mod executor;
pub mod failpoint;
pub mod policy;
pub mod state_check;
pub mod verifier;

pub use executor::{Applied, ExecError, Executor, Outcome};
pub use failpoint::{ApplyStep, FailAction, FailPoint};
pub use policy::{AllowAll, CompliancePolicy, TxContext};
pub use sable_primitives::params::ChainParams;
pub use state_check::{
    check_regulator_key, check_state, registry_root_acceptable, StateCheckError,
};
pub use verifier::{BatchObserver, Verifier};
