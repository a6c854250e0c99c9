//! Where a transaction or operator command stands: one noun for the node that reports
//! it and the participants who ask.

use crate::{
    block::BlockHash,
    rejection::{AdmissionError, RejectCode},
};

/// Where a command stands, as the API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Waiting in a validator's mempool.
    Pending,
    /// Executed in a finalized block.
    Finalized {
        /// Height.
        height: u64,
        /// Block hash.
        block_hash: BlockHash,
        /// Index in the block (transactions after operator commands).
        index: u32,
    },
    /// Refused at admission or skipped at execution.
    Rejected {
        /// Why.
        code: RejectCode,
        /// The reason in words where the node still has it (a refusal it saw itself);
        /// empty where only the stored code is known.
        detail: String,
    },
    /// Never seen (or a refusal long forgotten).
    Unknown,
}

impl TxStatus {
    /// Whether the status can no longer change.
    pub fn is_final(&self) -> bool {
        matches!(self, TxStatus::Finalized { .. } | TxStatus::Rejected { .. })
    }

    /// The height it finalized at, if it did.
    pub fn finalized_height(&self) -> Option<u64> {
        match self {
            TxStatus::Finalized { height, .. } => Some(*height),
            _ => None,
        }
    }
}

impl From<&AdmissionError> for TxStatus {
    fn from(e: &AdmissionError) -> Self {
        TxStatus::Rejected {
            code: e.code(),
            detail: e.to_string(),
        }
    }
}
