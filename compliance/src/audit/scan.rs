//! Scanning a node's finalized blocks into an [`AuditLedger`]: whole blocks from
//! `StreamBlocks` and, from `StreamCompactBlocks`, which of their transactions the chain
//! applied (a transaction refused at execution moved nothing). Resumes from the
//! ledger's height, so a scan is incremental.

use std::collections::HashSet;

use sable_circuits::transaction::Transaction;
use sable_client::node_client::{ClientError, NodeClient};
use sable_primitives::block::TxId;

use super::{decrypt::RegulatorDecryptor, AuditError, AuditLedger};

/// Blocks fetched per round trip.
pub const SCAN_WINDOW: u64 = 256;

/// Why a scan stopped. What it applied before stays applied (whole blocks only).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The node refused a call or sent something that does not decode.
    #[error(transparent)]
    Node(#[from] ClientError),
    /// A block does not fit the ledger.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The node's blocks and compact blocks disagree, or a transaction does not decode.
    #[error("block {height}: {what}")]
    Inconsistent {
        /// The block.
        height: u64,
        /// What is wrong.
        what: String,
    },
}

/// Where a scan stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanProgress {
    /// The last block applied to the ledger.
    pub height: u64,
    /// The height the scan goes to.
    pub target: u64,
    /// Transactions applied to the ledger by this scan so far.
    pub transactions: u64,
}

/// Applies the node's finalized blocks after the ledger's height, up to `to` (the node's
/// tip when `None`), calling `progress` after each window.
pub async fn scan_node(
    client: &mut NodeClient,
    ledger: &mut AuditLedger,
    key: &dyn RegulatorDecryptor,
    to: Option<u64>,
    mut progress: impl FnMut(ScanProgress),
) -> Result<ScanProgress, ScanError> {
    let target = match to {
        Some(h) => h,
        None => client.height().await?,
    };
    let mut at = ScanProgress {
        height: ledger.height(),
        target,
        transactions: 0,
    };
    while at.height < target {
        let (from, end) = (at.height + 1, target.min(at.height + SCAN_WINDOW));
        let blocks = client.blocks(from, end).await?;
        let compact = client.compact_blocks(from, end).await?;
        if blocks.len() != compact.len() {
            return Err(ScanError::Inconsistent {
                height: from,
                what: format!(
                    "{} blocks but {} compact blocks from it",
                    blocks.len(),
                    compact.len()
                ),
            });
        }
        for (block, compact) in blocks.iter().zip(&compact) {
            let height = block.header.as_ref().map_or(0, |h| h.height);
            let inconsistent = |what: String| ScanError::Inconsistent { height, what };
            if height != compact.height || height > end {
                return Err(inconsistent(format!(
                    "the streams disagree (compact block {})",
                    compact.height
                )));
            }
            let applied: HashSet<[u8; 32]> = compact
                .txs
                .iter()
                .filter_map(|t| t.tx_id.as_ref())
                .filter_map(|t| t.id.as_slice().try_into().ok())
                .collect();
            let mut txs: Vec<(TxId, Transaction)> = Vec::with_capacity(applied.len());
            for bytes in &block.transactions {
                let id = TxId::of(bytes);
                if applied.contains(&id.0) {
                    let tx = Transaction::from_bytes(bytes)
                        .map_err(|e| inconsistent(format!("transaction {id}: {e}")))?;
                    txs.push((id, tx));
                }
            }
            if txs.len() != compact.txs.len() {
                return Err(inconsistent(format!(
                    "{} applied transactions listed, {} found in the block",
                    compact.txs.len(),
                    txs.len()
                )));
            }
            ledger.apply_block(height, txs.iter().map(|(id, tx)| (*id, tx)), key)?;
            at.height = height;
            at.transactions += txs.len() as u64;
        }
        progress(at);
    }
    Ok(at)
}
