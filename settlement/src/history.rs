//! Reading settled batches back from L1 alone: every `BatchSettled` event, with the
//! batch's public data reassembled from the transactions that published it (calldata
//! chunks, and blobs fetched from the endpoint).
//!
//! Blob contents are not part of Ethereum's execution-layer JSON-RPC; this reads them
//! with `anvil_getBlobsByTransactionHash` (anvil and compatible development nodes).
//! The data's fold is recomputed here from what was fetched, so the caller checks it
//! against the batch's signed `dataHash` rather than trusting the endpoint.

use alloy::{
    consensus::Transaction as _,
    eips::eip4844::{
        builder::{SidecarCoder, SimpleCoder},
        env_settings::EnvKzgSettings,
        Blob, BlobTransactionSidecar,
    },
    primitives::{Address, TxHash, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolCall,
};

use crate::{
    bindings::{
        Batch,
        ISableSettlement::{publishCall, submitBatchCall, BatchSettled, DataPublished},
        Withdrawal,
    },
    client::rpc,
    DataFold, L1Client, SettlementError,
};

type Result<T> = std::result::Result<T, SettlementError>;

/// One settled batch as L1 records it.
#[derive(Clone, Debug)]
pub struct SettledBatch {
    /// The batch as settled (from the event).
    pub batch: Batch,
    /// The withdrawals it released (from the settling call).
    pub withdrawals: Vec<Withdrawal>,
    /// Its public data, reassembled from the publishing transactions.
    pub data: Vec<u8>,
    /// The fold of what was fetched (equal to `batch.dataHash` unless the data
    /// fetched is not what was published).
    pub fold: B256,
    /// Who published and settled it.
    pub publisher: Address,
    /// The settling transaction and its L1 block.
    pub tx: TxHash,
    /// The L1 block holding the settling transaction.
    pub l1_block: u64,
}

/// What one transaction contributed to a batch's data: a chunk, then its blobs.
struct Piece {
    chunk: Vec<u8>,
    blob_hashes: Vec<B256>,
    blobs: Vec<Blob>,
}

impl L1Client {
    /// Every settled batch in order (the canonical chain's `BatchSettled` events from
    /// L1 block `from_block`), each with its data reassembled.
    pub async fn settled_batches(&self, from_block: u64) -> Result<Vec<SettledBatch>> {
        let head = self.head().await?;
        let filter = Filter::new().address(self.settlement);
        let events = self.logs::<BatchSettled>(filter, from_block, head).await?;
        let mut out = Vec::with_capacity(events.len());
        for (event, log) in events {
            let tx_hash = log
                .transaction_hash
                .ok_or_else(|| rpc("a BatchSettled log without its transaction"))?;
            let l1_block = log
                .block_number
                .ok_or_else(|| rpc("a BatchSettled log without its block"))?;
            let tx = self.transaction(tx_hash).await?;
            let publisher = tx.inner.signer();
            let call = submitBatchCall::abi_decode(tx.input())
                .map_err(|e| rpc(format!("settling transaction {tx_hash}: {e}")))?;
            let mut pieces = self
                .published_pieces(event.batch.number, publisher, l1_block)
                .await?;
            pieces.push(self.piece(tx_hash, call.data.to_vec(), &tx).await?);
            let mut fold = DataFold::default();
            let mut chunks = Vec::new();
            let mut blobs = Vec::new();
            for p in pieces {
                fold = fold.chunk(&p.chunk);
                for h in &p.blob_hashes {
                    fold = fold.blob(*h);
                }
                chunks.extend_from_slice(&p.chunk);
                blobs.extend(p.blobs);
            }
            let data = if blobs.is_empty() {
                chunks
            } else {
                let mut decoded = SimpleCoder::default()
                    .decode_all(&blobs)
                    .ok_or_else(|| {
                        SettlementError::Blob(format!(
                            "batch {}: blobs do not decode",
                            event.batch.number
                        ))
                    })?
                    .concat();
                // Calldata, if any, precedes the blobs' contents.
                chunks.append(&mut decoded);
                chunks
            };
            out.push(SettledBatch {
                batch: event.batch,
                withdrawals: call.withdrawals,
                data,
                fold: fold.0,
                publisher,
                tx: tx_hash,
                l1_block,
            });
        }
        Ok(out)
    }

    async fn transaction(&self, hash: TxHash) -> Result<alloy::rpc::types::Transaction> {
        self.provider()
            .get_transaction_by_hash(hash)
            .await
            .map_err(rpc)?
            .ok_or_else(|| rpc(format!("transaction {hash} not found")))
    }

    /// What `publisher` published for batch `number` up to L1 block `until`, since its
    /// last restart, in order.
    async fn published_pieces(
        &self,
        number: u64,
        publisher: Address,
        until: u64,
    ) -> Result<Vec<Piece>> {
        let filter = Filter::new()
            .address(self.settlement)
            .topic1(B256::from(U256::from(number)))
            .topic2(publisher.into_word());
        let mut logs = self.logs::<DataPublished>(filter, 0, until).await?;
        logs.sort_by_key(|(_, l)| (l.block_number, l.log_index));
        let mut pieces = Vec::new();
        for (_, log) in logs {
            let Some(hash) = log.transaction_hash else {
                continue;
            };
            let tx = self.transaction(hash).await?;
            let Ok(call) = publishCall::abi_decode(tx.input()) else {
                continue;
            };
            if call.restart {
                pieces.clear();
            }
            pieces.push(self.piece(hash, call.chunk.to_vec(), &tx).await?);
        }
        Ok(pieces)
    }

    async fn piece(
        &self,
        hash: TxHash,
        chunk: Vec<u8>,
        tx: &alloy::rpc::types::Transaction,
    ) -> Result<Piece> {
        let blob_hashes = tx
            .blob_versioned_hashes()
            .map(<[B256]>::to_vec)
            .unwrap_or_default();
        let blobs = if blob_hashes.is_empty() {
            Vec::new()
        } else {
            let blobs: Option<Vec<Blob>> = self
                .provider()
                .raw_request("anvil_getBlobsByTransactionHash".into(), (hash,))
                .await
                .map_err(rpc)?;
            let blobs = blobs.ok_or_else(|| {
                SettlementError::Blob(format!("the endpoint has no blobs for transaction {hash}"))
            })?;
            // The endpoint is not trusted: the blobs must commit to the hashes the
            // transaction carried (and the contract folded).
            // KZG commitments take a while: off the async runtime's threads.
            let copy = blobs.clone();
            let fetched = tokio::task::spawn_blocking(move || {
                BlobTransactionSidecar::try_from_blobs_with_settings(
                    copy,
                    EnvKzgSettings::Default.get(),
                )
            })
            .await
            .map_err(|e| SettlementError::Blob(format!("transaction {hash}: {e}")))?
            .map_err(|e| SettlementError::Blob(format!("transaction {hash}: {e}")))?;
            if !fetched.versioned_hashes().eq(blob_hashes.iter().copied()) {
                return Err(SettlementError::Blob(format!(
                    "transaction {hash}: the blobs fetched are not the blobs it carried"
                )));
            }
            blobs
        };
        Ok(Piece {
            chunk,
            blob_hashes,
            blobs,
        })
    }
}
