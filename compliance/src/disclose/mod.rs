//! Verifiable disclosures: a bank shows a named third party chosen fields of one note
//! on chain (asset, value, owner), proven against the note commitment with a small
//! Halo2 proof ([`sable_circuits::disclosure`]), and the third party checks it against
//! a node. The note's opening comes from the bank's full viewing key ([`open_output`]):
//! disclosing needs no spending key.
//!
//! A [`DisclosurePackage`] names the chain, the transaction and output, whom it is for
//! (its audience), a fresh nonce and the last height it may be accepted at; the proof is
//! bound to all of them ([`Addressing::binding`]). A [`Verifier`] accepts a package
//! only if it is addressed to the verifier, of the verifier's chain, unexpired, its
//! proof holds, the transaction is final with that commitment at that output, and its
//! nonce was never accepted before; each refusal is a [`DisclosureError`] naming why,
//! and a refused package is not recorded.
//!
//! What a note commitment does not hold (the note's sender, its memo) is not disclosed
//! this way (see `docs/compliance.md`).

mod open;
mod package;
mod verify;

pub use open::{open_output, received_outputs};
pub use package::{Addressing, DisclosurePackage, MAX_AUDIENCE, MAX_PROOF, VERSION};
pub use verify::{chain_facts, ChainFacts, Verifier};

/// Why a disclosure cannot be made or is refused. A refused package changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    /// The package does not decode.
    #[error("malformed disclosure package: {0}")]
    Malformed(String),
    /// The proof could not be made (the note's opening is inconsistent).
    #[error("the disclosure proof could not be made: {0}")]
    Proving(String),
    /// Addressed to someone else (a package shown to a party it was not made for).
    #[error("the package is addressed to {to:?}, not to {you:?}")]
    NotForYou {
        /// The package's audience.
        to: String,
        /// The verifier's name.
        you: String,
    },
    /// Of another chain.
    #[error("the package is of chain {package}, this node serves chain {node}")]
    OtherChain {
        /// The package's genesis digest (hex).
        package: String,
        /// The node's genesis digest (hex).
        node: String,
    },
    /// Past its last height.
    #[error("the package expired at height {expires_at}; the chain is at {height}")]
    Expired {
        /// The package's last height.
        expires_at: u64,
        /// The chain's height.
        height: u64,
    },
    /// The proof does not prove these fields of this commitment under this addressing:
    /// a field, the audience, the nonce, the expiry or the transaction was altered.
    #[error("the proof does not hold: the package's fields or addressing were altered, or it was never proven")]
    Forged,
    /// The transaction is not final on this chain.
    #[error("transaction {tx} is not final on this chain")]
    NotOnChain {
        /// The transaction id (hex).
        tx: String,
    },
    /// The transaction has no such output, or another commitment there.
    #[error("transaction {tx} has no note commitment {cm} at output {output}")]
    Mismatch {
        /// The transaction id (hex).
        tx: String,
        /// The output index.
        output: u32,
        /// The package's commitment (hex).
        cm: String,
    },
    /// Accepted before: a package is accepted once.
    #[error("the package with nonce {nonce} was accepted before")]
    Replayed {
        /// Its nonce (hex).
        nonce: String,
    },
    /// The node could not be asked.
    #[error("the node could not be asked: {0}")]
    Node(String),
    /// The record of accepted packages could not be read or written.
    #[error(transparent)]
    Record(#[from] crate::recipient::RecordError),
}

impl From<crate::recipient::Misaddressed> for DisclosureError {
    fn from(m: crate::recipient::Misaddressed) -> Self {
        use crate::recipient::Misaddressed::*;
        match m {
            NotForYou(to, you) => DisclosureError::NotForYou { to, you },
            OtherChain(package, node) => DisclosureError::OtherChain { package, node },
            Expired(expires_at, height) => DisclosureError::Expired { expires_at, height },
        }
    }
}
