//! Reading settled batches back from L1 alone: every `BatchSettled` event, with the
//! batch's public data reassembled from the transactions that published it (calldata
//! chunks, and blobs fetched from the endpoint).
//!
//! Blob contents are not part of Ethereum's execution-layer JSON-RPC: the client's
//! [`BlobSource`] says where they come from, a beacon node's blob API (public networks,
//! within its retention window) or `anvil_getBlobsByTransactionHash` (anvil and compatible
//! development nodes). Whatever the source, fetched blobs must commit to the versioned
//! hashes their transaction carried, and the data's fold is recomputed here from them, so
//! the caller checks it against the batch's signed `dataHash` rather than trusting any
//! endpoint.

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
    batch::DataFold,
    bindings::{
        Batch,
        ISableSettlement::{publishCall, submitBatchCall, BatchSettled, DataPublished},
        Withdrawal,
    },
    error::{redact_urls, rpc, L1Error},
    provider::{BlobSource, L1Provider},
};

type Result<T> = std::result::Result<T, L1Error>;

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

impl L1Provider {
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
            let l1_block = Self::block_of::<BatchSettled>(&log)?;
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
                        L1Error::Blob(format!("batch {}: blobs do not decode", event.batch.number))
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
            let fetched = match &self.config().blobs {
                BlobSource::Anvil => {
                    let blobs: Option<Vec<Blob>> = self
                        .provider()
                        .raw_request("anvil_getBlobsByTransactionHash".into(), (hash,))
                        .await
                        .map_err(rpc)?;
                    blobs.ok_or_else(|| {
                        L1Error::Blob(format!("the endpoint has no blobs for transaction {hash}"))
                    })?
                }
                BlobSource::Beacon {
                    url,
                    seconds_per_slot,
                } => {
                    let block = tx.block_number.ok_or_else(|| {
                        L1Error::Blob(format!("transaction {hash} is not in a block"))
                    })?;
                    self.beacon_blobs(url, *seconds_per_slot, block, &blob_hashes)
                        .await?
                }
            };
            matching_blobs(hash, fetched, &blob_hashes).await?
        };
        Ok(Piece {
            chunk,
            blob_hashes,
            blobs,
        })
    }
}

impl L1Provider {
    /// The blobs a beacon node at `url` holds for the slot of L1 block `block`, asking
    /// for those with `hashes`.
    async fn beacon_blobs(
        &self,
        url: &str,
        seconds_per_slot: u64,
        block: u64,
        hashes: &[B256],
    ) -> Result<Vec<Blob>> {
        let base = url.trim_end_matches('/');
        let genesis = beacon_get(&format!("{base}/eth/v1/beacon/genesis")).await?;
        let genesis_time = genesis["data"]["genesis_time"]
            .as_str()
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| beacon_error(base, "a genesis without genesis_time"))?;
        let timestamp = self
            .provider()
            .get_block_by_number(block.into())
            .await
            .map_err(rpc)?
            .ok_or_else(|| rpc(format!("L1 block {block} not found")))?
            .header
            .timestamp;
        let slot = timestamp
            .checked_sub(genesis_time)
            .ok_or_else(|| beacon_error(base, "L1 block before the beacon genesis"))?
            / seconds_per_slot.max(1);
        let wanted: Vec<String> = hashes.iter().map(ToString::to_string).collect();
        let reply = beacon_get(&format!(
            "{base}/eth/v1/beacon/blobs/{slot}?versioned_hashes={}",
            wanted.join(",")
        ))
        .await?;
        reply["data"]
            .as_array()
            .ok_or_else(|| beacon_error(base, "a blobs reply without data"))?
            .iter()
            .map(|b| {
                let bytes = b
                    .as_str()
                    .and_then(|h| alloy::primitives::hex::decode(h).ok())
                    .ok_or_else(|| beacon_error(base, "a blob that is not hex"))?;
                Blob::try_from(bytes.as_slice())
                    .map_err(|_| beacon_error(base, "a blob of the wrong size"))
            })
            .collect()
    }
}

fn beacon_error(url: &str, what: &str) -> L1Error {
    L1Error::Blob(redact_urls(&format!("beacon node {url}: {what}")))
}

/// GETs `url` and parses its JSON body.
async fn beacon_get(url: &str) -> Result<serde_json::Value> {
    let reply = reqwest::get(url)
        .await
        .map_err(|e| L1Error::Blob(redact_urls(&format!("GET {url}: {e}"))))?;
    let status = reply.status();
    let body = reply
        .bytes()
        .await
        .map_err(|e| L1Error::Blob(redact_urls(&format!("GET {url}: {e}"))))?;
    if !status.is_success() {
        return Err(L1Error::Blob(redact_urls(&format!(
            "GET {url}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))));
    }
    serde_json::from_slice(&body)
        .map_err(|e| L1Error::Blob(redact_urls(&format!("GET {url}: not JSON: {e}"))))
}

/// `fetched`, put in the order of the versioned hashes transaction `tx` carried; an
/// error unless every one of those is there. An endpoint is never trusted: each blob's
/// KZG commitment is computed here (off the async runtime's threads).
async fn matching_blobs(tx: TxHash, fetched: Vec<Blob>, hashes: &[B256]) -> Result<Vec<Blob>> {
    let copy = fetched.clone();
    let sidecar = tokio::task::spawn_blocking(move || {
        BlobTransactionSidecar::try_from_blobs_with_settings(copy, EnvKzgSettings::Default.get())
    })
    .await
    .map_err(|e| L1Error::Blob(format!("transaction {tx}: {e}")))?
    .map_err(|e| L1Error::Blob(format!("transaction {tx}: {e}")))?;
    let by_hash: std::collections::HashMap<B256, Blob> =
        sidecar.versioned_hashes().zip(fetched).collect();
    hashes
        .iter()
        .map(|h| {
            by_hash.get(h).copied().ok_or_else(|| {
                L1Error::Blob(format!(
                    "transaction {tx}: the blobs fetched are not the blobs it carried (no {h})"
                ))
            })
        })
        .collect()
}
