//! Scanning a node's finalized blocks into an [`AuditLedger`]: whole blocks from
//! `StreamBlocks` and, from `StreamCompactBlocks`, which of their transactions the chain
//! applied (a transaction refused at execution moved nothing). Resumes from the
//! ledger's height, so a scan is incremental.

use std::collections::HashSet;

use rayon::prelude::*;

use sable_circuits::transaction::Transaction;
use sable_client::node_client::{ClientError, NodeClient};
use sable_primitives::{
    admin::{AdminCommand, SignedAdminCommand},
    block::TxId,
};
use sable_proto::v1;

use super::{decrypt::RegulatorKeys, AuditBlock, AuditError, AuditLedger};

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
    /// The scan's archive could not be written.
    #[error(transparent)]
    Archive(#[from] super::archive::ArchiveError),
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
    key: &dyn RegulatorKeys,
    to: Option<u64>,
    progress: impl FnMut(ScanProgress),
) -> Result<ScanProgress, ScanError> {
    scan_node_with(client, ledger, key, to, progress, |_| Ok(())).await
}

/// [`scan_node`], handing each window's blocks, once applied, to `keep` (to archive
/// them: [`super::archive::ScanArchive`]); an error from `keep` stops the scan.
pub async fn scan_node_with(
    client: &mut NodeClient,
    ledger: &mut AuditLedger,
    key: &dyn RegulatorKeys,
    to: Option<u64>,
    progress: impl FnMut(ScanProgress),
    keep: impl FnMut(&[ReadBlock]) -> Result<(), ScanError>,
) -> Result<ScanProgress, ScanError> {
    let from = ledger.height();
    let apply = |block: &ReadBlock| Ok(ledger.apply_block(block.audit_block(), key)?);
    scan_node_blocks(client, from, to, progress, apply, keep).await
}

/// The node's finalized blocks after height `from`, up to `to` (the node's tip when
/// `None`), each read and handed to `apply` in order (the regulator's ledger, or a
/// bank's view: [`super::view::ViewScan`]), then each window to `keep`, with
/// `progress` after each window. An error from `apply` or `keep` stops the scan.
pub async fn scan_node_blocks(
    client: &mut NodeClient,
    from: u64,
    to: Option<u64>,
    mut progress: impl FnMut(ScanProgress),
    mut apply: impl FnMut(&ReadBlock) -> Result<(), ScanError>,
    mut keep: impl FnMut(&[ReadBlock]) -> Result<(), ScanError>,
) -> Result<ScanProgress, ScanError> {
    let target = match to {
        Some(h) => h,
        None => client.height().await?,
    };
    let mut at = ScanProgress {
        height: from,
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
        let mut window = Vec::with_capacity(blocks.len());
        for (block, compact) in blocks.iter().zip(&compact) {
            let read = read_block(block, compact, end)?;
            let count = read.txs.len() as u64;
            apply(&read)?;
            at.height = read.height;
            at.transactions += count;
            window.push(read);
        }
        keep(&window)?;
        progress(at);
    }
    Ok(at)
}

/// A block as read for the audit, owning its decoded transactions.
#[derive(Debug)]
pub struct ReadBlock {
    /// Its height.
    pub height: u64,
    /// Its proposer's timestamp (Unix milliseconds).
    pub timestamp_ms: u64,
    /// The transactions the chain applied, in block order.
    pub txs: Vec<(TxId, Transaction)>,
    /// Its operator commands.
    pub admin: Vec<AdminCommand>,
}

impl ReadBlock {
    /// The block as the ledger takes it.
    pub fn audit_block(&self) -> AuditBlock<'_> {
        AuditBlock {
            height: self.height,
            timestamp_ms: self.timestamp_ms,
            transactions: self.txs.iter().map(|(id, tx)| (*id, tx)).collect(),
            admin: self.admin.clone(),
        }
    }
}

/// The height, time and operator commands of `block` and the transactions of it that
/// the chain applied, as its compact record lists them, in block order (decoded
/// across the cores); refused when the two disagree (another height, an applied
/// transaction missing from the block, a block past `end`) or a transaction or command
/// does not decode.
pub fn read_block(
    block: &v1::Block,
    compact: &v1::CompactBlock,
    end: u64,
) -> Result<ReadBlock, ScanError> {
    let height = block.header.as_ref().map_or(0, |h| h.height);
    let timestamp_ms = block.header.as_ref().map_or(0, |h| h.timestamp_ms);
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
    // A transaction repeated in a block was applied once, at its first place.
    let ids: Vec<TxId> = block.transactions.par_iter().map(|b| TxId::of(b)).collect();
    let mut seen = HashSet::new();
    let chosen: Vec<(TxId, &Vec<u8>)> = ids
        .into_iter()
        .zip(&block.transactions)
        .filter(|(id, _)| applied.contains(&id.0) && seen.insert(*id))
        .collect();
    let txs: Vec<(TxId, Transaction)> = chosen
        .into_par_iter()
        .map(|(id, bytes)| {
            Transaction::from_bytes(bytes)
                .map(|tx| (id, tx))
                .map_err(|e| inconsistent(format!("transaction {id}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    if txs.len() != compact.txs.len() {
        return Err(inconsistent(format!(
            "{} applied transactions listed, {} found in the block",
            compact.txs.len(),
            txs.len()
        )));
    }
    let admin = block
        .admin_commands
        .iter()
        .map(|bytes| {
            SignedAdminCommand::from_bytes(bytes)
                .and_then(|signed| AdminCommand::from_bytes(&signed.command))
                .map_err(|e| inconsistent(format!("operator command: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(ReadBlock {
        height,
        timestamp_ms,
        txs,
        admin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(height: u64, transactions: Vec<Vec<u8>>) -> v1::Block {
        v1::Block {
            header: Some(v1::BlockHeader {
                height,
                ..Default::default()
            }),
            transactions,
            ..Default::default()
        }
    }

    fn compact(height: u64, ids: &[TxId]) -> v1::CompactBlock {
        v1::CompactBlock {
            height,
            txs: ids
                .iter()
                .map(|id| v1::CompactTx {
                    tx_id: Some(v1::TxId { id: id.0.to_vec() }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn refusal(r: Result<ReadBlock, ScanError>) -> String {
        match r {
            Err(ScanError::Inconsistent { what, .. }) => what,
            other => panic!("{:?}", other.map(|b| (b.height, b.txs.len()))),
        }
    }

    #[test]
    fn a_node_whose_streams_disagree_is_refused_with_the_reason() {
        // An empty block whose compact record agrees: nothing applied.
        let read = read_block(&block(7, vec![]), &compact(7, &[]), 7).unwrap();
        assert_eq!((read.height, read.txs.len()), (7, 0));
        // Another height in each stream; a block past the window.
        assert!(refusal(read_block(&block(7, vec![]), &compact(8, &[]), 9)).contains("disagree"));
        assert!(refusal(read_block(&block(9, vec![]), &compact(9, &[]), 8)).contains("disagree"));
        // An applied transaction the block does not hold.
        let missing = TxId::of(b"not in the block");
        assert!(
            refusal(read_block(&block(7, vec![]), &compact(7, &[missing]), 7))
                .contains("1 applied transactions listed, 0 found")
        );
        // An applied transaction whose bytes do not decode.
        let junk = vec![1, 2, 3];
        let id = TxId::of(&junk);
        let why = refusal(read_block(&block(7, vec![junk]), &compact(7, &[id]), 7));
        assert!(why.starts_with(&format!("transaction {id}:")), "{why}");
        // Bytes the compact record does not list are not decoded: refused transactions
        // move nothing.
        let read = read_block(&block(7, vec![vec![9; 5]]), &compact(7, &[]), 7).unwrap();
        assert!(read.txs.is_empty());
        // An operator command that does not decode.
        let mut with_junk_command = block(7, vec![]);
        with_junk_command.admin_commands = vec![vec![0xff; 3]];
        assert!(refusal(read_block(&with_junk_command, &compact(7, &[]), 7))
            .starts_with("operator command:"));
    }
}
