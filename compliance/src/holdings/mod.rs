//! Proofs of holdings as a bank hands them to a named third party: "bank B held at
//! least `X` of asset `A` at height `H`", proven with the holdings circuit
//! ([`sable_circuits::holdings`]) from the bank's full viewing key alone, and checked
//! by the third party against a node's header at `H` or against the roots a settled
//! batch put on Ethereum.
//!
//! - The bank replays the chain up to `H` with its key ([`HoldingsScan`]): the note tree,
//!   the nullifier set, and its own notes, checked against the chain's roots at `H`
//!   ([`ChainRoots`]), so no node is told which notes are the bank's.
//! - A [`HoldingsPackage`] names the chain, the height, the asset, the threshold, the
//!   purpose, whom it is for (its audience), a fresh nonce and the last height it may
//!   be accepted at ([`HoldingsAddressing`]). The tags' statement is derived from the
//!   chain, the height, the asset and the purpose
//!   ([`HoldingsAddressing::statement`]), never from the audience: the same notes
//!   pledged for one purpose show the same tags to every audience. The proof's binding
//!   covers every field ([`HoldingsAddressing::binding`]).
//! - A [`HoldingsVerifier`] accepts a package only if it is addressed to the verifier,
//!   of the verifier's chain, unexpired, its roots are the chain's at its height, its
//!   proof holds, its nonce was never accepted, and none of its tags was counted by a
//!   package accepted before. Each refusal is a [`HoldingsPackageError`] naming why;
//!   a refused package is not recorded.

mod package;
mod scan;
mod verify;

pub use package::{HoldingsAddressing, HoldingsPackage, MAX_PURPOSE, VERSION};
pub use scan::{ChainRoots, HoldingsScan, HoldingsSnapshot};
pub use verify::{holdings_facts, HoldingsFacts, HoldingsVerifier};

use sable_circuits::holdings::HoldingsError;

/// Why a proof of holdings cannot be made or is refused. A refused package changes
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldingsPackageError {
    /// The package does not decode.
    #[error("malformed holdings package: {0}")]
    Malformed(String),
    /// The blocks replayed are not the chain's (a gap, a block twice, a full tree).
    #[error("the blocks replayed are not a chain: {0}")]
    Replay(String),
    /// The replay's roots at the height differ from the chain's.
    #[error("the {root} root rebuilt at height {height} is {rebuilt}, the chain's is {chain}")]
    Rebuilt {
        /// The height.
        height: u64,
        /// Which root ("note commitment" or "nullifier").
        root: &'static str,
        /// Rebuilt (hex).
        rebuilt: String,
        /// The chain's (hex).
        chain: String,
    },
    /// The bank's unspent notes of the asset at the height do not reach the threshold
    /// (at most [`sable_circuits::holdings::HOLDINGS_NOTES`] notes count in one proof).
    #[error("the {notes} largest unspent notes of the asset hold {held}, below the threshold {threshold}")]
    NotEnough {
        /// How many notes were counted.
        notes: usize,
        /// What they hold.
        held: u128,
        /// The threshold.
        threshold: u64,
    },
    /// The proof could not be made.
    #[error("the proof of holdings could not be made: {0}")]
    Proving(HoldingsError),
    /// Addressed to someone else.
    #[error("the package is addressed to {to:?}, not to {you:?}")]
    NotForYou {
        /// The package's audience.
        to: String,
        /// The verifier's name.
        you: String,
    },
    /// Of another chain.
    #[error("the package is of chain {package}, the verifier's chain is {chain}")]
    OtherChain {
        /// The package's genesis digest (hex).
        package: String,
        /// The verifier's (hex).
        chain: String,
    },
    /// Past its last height.
    #[error("the package expired at height {expires_at}; the chain is at {height}")]
    Expired {
        /// The package's last height.
        expires_at: u64,
        /// The chain's height.
        height: u64,
    },
    /// The verifier does not know the chain's roots at the package's height: not final
    /// on its node, or not the last block of a batch settled on Ethereum.
    #[error("the chain's roots at height {height} are not known to the verifier (not final, or not the end of a settled batch)")]
    NoRoots {
        /// The package's height.
        height: u64,
    },
    /// A root the package was proven under is not the chain's at its height.
    #[error("the package's {root} root is not the chain's at height {height}")]
    OtherRoots {
        /// The package's height.
        height: u64,
        /// Which root ("note commitment" or "nullifier").
        root: &'static str,
    },
    /// The proof does not prove the package's claim: a field, the audience, the nonce,
    /// the expiry or the purpose was altered, or it was never proven.
    #[error("the proof does not hold: the package's claim or addressing was altered, or it was never proven")]
    Forged,
    /// Accepted before: a package is accepted once.
    #[error("the package with nonce {nonce} was accepted before")]
    Replayed {
        /// Its nonce (hex).
        nonce: String,
    },
    /// A note this package counts was counted by a package accepted before, for the
    /// same statement (the same chain, height, asset and purpose).
    #[error("a note this package counts (tag {tag}) was pledged before for the same statement")]
    Pledged {
        /// The repeated tag (hex).
        tag: String,
    },
    /// The node could not be asked.
    #[error("the node could not be asked: {0}")]
    Node(String),
    /// The record of accepted packages could not be read or written.
    #[error(transparent)]
    Record(#[from] crate::recipient::RecordError),
}

impl From<crate::recipient::Misaddressed> for HoldingsPackageError {
    fn from(m: crate::recipient::Misaddressed) -> Self {
        use crate::recipient::Misaddressed::*;
        match m {
            NotForYou(to, you) => HoldingsPackageError::NotForYou { to, you },
            OtherChain(package, chain) => HoldingsPackageError::OtherChain { package, chain },
            Expired(expires_at, height) => HoldingsPackageError::Expired { expires_at, height },
        }
    }
}
