//! The regulator's audit: opening every regulator ciphertext on the chain
//! ([`decrypt`]) and rebuilding from them who holds what and who paid whom
//! ([`ledger`]), named through the chain's public registry and issuances
//! ([`directory`]), block by block from a node ([`scan`]) or batch by batch from
//! what Ethereum holds ([`l1`]); and a bank's own view of itself with its full viewing
//! key, into the same ledger ([`view`]). A scan keeps what it read in an archive on
//! disk ([`archive`]), so the next resumes where it stopped.

pub mod archive;
pub mod decrypt;
pub mod directory;
pub mod l1;
pub mod ledger;
pub mod scan;
pub mod view;

pub use decrypt::{Keyring, RegulatorDecryptor, RegulatorKeys, SingleKey};
pub use directory::{AssetEntry, Directory, ParticipantEntry};
pub use ledger::{
    AssetTag, AuditBlock, AuditLedger, BurnRecord, FlowKey, NoteRecord, Origin, OwnerTag,
    SpendRecord, TransferRecord,
};

use sable_primitives::block::TxId;

use crate::hex;

/// Why a block cannot be added to an audit. Nothing of the block is recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// Blocks must come in height order, each once.
    #[error(
        "block {height} comes after block {applied}: blocks are applied in height order, each once"
    )]
    OutOfOrder {
        /// The block offered.
        height: u64,
        /// The last block applied.
        applied: u64,
    },
    /// A ciphertext opened to something no proof allows: the key is not the one the
    /// transaction was proven for.
    #[error("transaction {}: its regulator ciphertext does not open under this key ({what})", hex(&tx.0))]
    Undecryptable {
        /// The transaction.
        tx: TxId,
        /// The field that made no sense.
        what: &'static str,
    },
    /// A spend of a note the ledger never saw created: the scan did not start at genesis
    /// (or the key is wrong).
    #[error("transaction {} spends note {}, which this ledger never saw created", hex(&tx.0), hex(cm))]
    UnknownNote {
        /// The transaction.
        tx: TxId,
        /// The note's commitment.
        cm: [u8; 32],
    },
    /// A note consumed twice (a chain the validators would never have produced).
    #[error("transaction {} spends note {}, already spent by {}", hex(&tx.0), hex(cm), hex(&first.0))]
    DoubleSpend {
        /// The second spender.
        tx: TxId,
        /// The note.
        cm: [u8; 32],
        /// The first spender.
        first: TxId,
    },
    /// A transaction's ciphertexts were proven for a regulator key this audit does not
    /// hold (one from before or after a rotation: add it to the [`Keyring`]).
    #[error("transaction {}: proven for regulator key {key}, which this audit does not hold", hex(&tx.0))]
    KeyNotHeld {
        /// The transaction.
        tx: TxId,
        /// The key (its first bytes, in hex).
        key: String,
    },
    /// A threshold key could not open a ciphertext (too few holders answered, a share
    /// was invalid, the audit log refused the request); the error names the holder.
    #[error("threshold decryption: {0}")]
    Threshold(#[from] crate::threshold::ThresholdError),
    /// A transaction the chain could not have applied.
    #[error("transaction {}: {what}", hex(&tx.0))]
    Inconsistent {
        /// The transaction.
        tx: TxId,
        /// What is wrong.
        what: &'static str,
    },
}
