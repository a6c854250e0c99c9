//! What can go wrong on the Ethereum side, and the conversions every module that talks
//! to L1 shares: an endpoint's failure into [`L1Error::Rpc`], a contract's
//! custom error into a typed rejection.

use crate::bindings::{ISableBridge, ISableSettlement};

/// What can go wrong on the Ethereum side.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// A settlement key that does not parse or cannot sign.
    #[error("settlement key: {0}")]
    Key(String),
    /// A signature that is malformed or recovers to someone else.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The JSON-RPC endpoint's URL does not parse.
    #[error("invalid RPC URL {url}: {reason}")]
    Url {
        /// As given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The endpoint failed or is unreachable.
    #[error("L1 RPC: {0}")]
    Rpc(String),
    /// The contract refused the call (found when estimating it, so nothing was sent).
    #[error("the contract rejected {call}: {error}")]
    Rejected {
        /// The contract function.
        call: &'static str,
        /// The contract's custom error, decoded.
        error: String,
    },
    /// The contract already holds this batch: nothing was sent.
    #[error("batch {number} is already settled")]
    AlreadySettled {
        /// The batch number.
        number: u64,
    },
    /// A sent transaction was mined but reverted.
    #[error("{call} was mined but reverted (transaction {tx})")]
    Reverted {
        /// The contract function.
        call: &'static str,
        /// The transaction hash.
        tx: String,
    },
    /// A sent transaction (and every replacement of it) was not mined and confirmed
    /// within the configured time: it may still be mined later.
    #[error("{call} was not mined within {waited_s} s (last transaction {tx})")]
    NotMined {
        /// The contract function.
        call: &'static str,
        /// The last transaction sent for it.
        tx: String,
        /// Seconds waited.
        waited_s: u64,
    },
    /// Nothing was sent: L1 gas costs more than configured.
    #[error("gas price {price} wei exceeds the configured limit {limit} wei")]
    GasPriceTooHigh {
        /// The endpoint's current gas price.
        price: u128,
        /// The configured limit.
        limit: u128,
    },
    /// The batch data cannot be encoded as blobs.
    #[error("blob encoding: {0}")]
    Blob(String),
    /// forge's build output directory was not located (see
    /// [`crate::deploy::contracts_out`]).
    #[error(
        "forge's build output (contracts/out) not found: {looked}; set SABLE_CONTRACTS_OUT to \
         forge's out directory, or run from inside a checkout whose contracts are built"
    )]
    ContractsOutNotFound {
        /// Where it was looked for, and why it is not there.
        looked: String,
    },
    /// A forge build artifact is missing or malformed.
    #[error("contract artifact {path}: {reason}")]
    Artifact {
        /// The artifact's path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// An endpoint's failure (unreachable, refused, or an answer that does not decode).
pub(crate) fn rpc(e: impl std::fmt::Display) -> L1Error {
    L1Error::Rpc(e.to_string())
}

/// The contract's custom error when `e` carries one, else the RPC failure.
pub(crate) fn rejected(call: &'static str, e: alloy::contract::Error) -> L1Error {
    if let Some(err) = e.as_decoded_interface_error::<ISableSettlement::ISableSettlementErrors>() {
        // Another submitter's transaction landed first: the same outcome as the check
        // before sending, so the same error.
        if let ISableSettlement::ISableSettlementErrors::BatchAlreadySettled(a) = err {
            return L1Error::AlreadySettled { number: a.number };
        }
        return L1Error::Rejected {
            call,
            error: format!("{err:?}"),
        };
    }
    if let Some(err) = e.as_decoded_interface_error::<ISableBridge::ISableBridgeErrors>() {
        return L1Error::Rejected {
            call,
            error: format!("{err:?}"),
        };
    }
    rpc(e)
}
