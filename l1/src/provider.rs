//! The L1 provider: reads the settlement contract's state, publishes a batch's data and
//! settles it under a gas-price limit, waits for confirmations (replacing a transaction
//! that is not mined in time with a higher fee, same nonce), bounds every JSON-RPC
//! request by a timeout, and turns the contracts' custom errors into typed rejections.

use std::time::{Duration, Instant};

use alloy::{
    contract::{CallBuilder, CallDecoder},
    eips::eip4844::{
        builder::{SidecarBuilder, SimpleCoder},
        BlobTransactionSidecar,
    },
    eips::BlockId,
    network::EthereumWallet,
    primitives::{Address, Bytes, TxHash, B256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};

use alloy::eips::eip7594::BlobTransactionSidecarVariant;

use crate::{
    batch::{withdrawals_hash, DataFold, Domain, SettlementKey},
    bindings::{Batch, ISableBridge, ISableSettlement, Withdrawal},
    error::{redact_urls, rejected, rpc, L1Error},
};

type Result<T> = std::result::Result<T, L1Error>;

/// The largest calldata chunk one transaction publishes (below common 128 KiB
/// transaction-pool limits).
pub const DEFAULT_CHUNK: usize = 96 * 1024;

/// The most L1 blocks one `eth_getLogs` call spans by default (public endpoints cap the
/// range of a log query; 10,000 is a common cap).
pub const DEFAULT_LOG_PAGE: u64 = 10_000;

/// How long one JSON-RPC request may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a sent transaction may stay unmined by default before it is replaced with a
/// higher fee (five Ethereum slots).
pub const DEFAULT_RESUBMIT_AFTER: Duration = Duration::from_secs(60);

/// How long [`L1Provider::send`] waits for one transaction by default, replacements
/// included, before it gives up with [`L1Error::NotMined`].
pub const DEFAULT_TX_TIMEOUT: Duration = Duration::from_secs(600);

/// Blobs per publishing transaction (the per-transaction limit since Fusaka; Prague
/// allows a block's nine).
pub const BLOBS_PER_TX: usize = 6;

/// A batch's public data as EIP-4844 blobs (`SimpleCoder`: 31 data bytes per field
/// element), split into sidecars of at most [`BLOBS_PER_TX`]; every validator derives
/// the same blobs, and so the same versioned hashes and fold, from the same data.
#[derive(Clone, Debug)]
pub struct BlobData {
    /// One sidecar per publishing transaction, in order: EIP-4844 (blob proofs) from
    /// [`BlobData::new`], EIP-7594 (cell proofs) after [`BlobData::to_eip7594`].
    pub sidecars: Vec<BlobTransactionSidecarVariant>,
    /// The fold of every blob's versioned hash, in order: the batch's `dataHash`.
    pub fold: DataFold,
}

impl BlobData {
    /// Loads the KZG trusted setup now (it takes seconds the first time), so that the
    /// first batch does not wait for it.
    pub fn warm_up() {
        let _ = alloy::eips::eip4844::env_settings::EnvKzgSettings::Default.get();
    }

    /// Encodes `data` into blobs.
    pub fn new(data: &[u8]) -> Result<Self> {
        if data.is_empty() {
            return Err(L1Error::Blob("no data to publish".into()));
        }
        let all: BlobTransactionSidecar = SidecarBuilder::<SimpleCoder>::from_slice(data)
            .build_4844()
            .map_err(|e| L1Error::Blob(e.to_string()))?;
        let fold = all
            .versioned_hashes()
            .fold(DataFold::default(), |f, h| f.blob(h));
        let sidecars = (0..all.blobs.len())
            .step_by(BLOBS_PER_TX)
            .map(|i| {
                let j = (i + BLOBS_PER_TX).min(all.blobs.len());
                BlobTransactionSidecarVariant::Eip4844(BlobTransactionSidecar {
                    blobs: all.blobs[i..j].to_vec(),
                    commitments: all.commitments[i..j].to_vec(),
                    proofs: all.proofs[i..j].to_vec(),
                })
            })
            .collect();
        Ok(BlobData { sidecars, fold })
    }

    /// The same blobs with EIP-7594 cell proofs, as networks past Fusaka require:
    /// the commitments, and so the versioned hashes and the fold, are unchanged. Only
    /// the submitter needs this (128 cell proofs per blob take a while).
    pub fn to_eip7594(&self) -> Result<Self> {
        let sidecars = self
            .sidecars
            .iter()
            .map(|s| {
                s.clone()
                    .try_convert_into_eip7594()
                    .map_err(|e| L1Error::Blob(e.to_string()))
            })
            .collect::<Result<_>>()?;
        Ok(BlobData {
            sidecars,
            fold: self.fold,
        })
    }

    /// Blobs in all.
    pub fn blob_count(&self) -> usize {
        self.sidecars.iter().map(|s| s.blobs().len()).sum()
    }
}

/// The settlement contract's view of the chain: the source of truth on restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettledState {
    /// The current validator set.
    pub validator_set_id: u64,
    /// The last settled batch (0 before the first).
    pub last_batch: u64,
    /// The last settled Sable block.
    pub last_block: u64,
    /// Bridge deposits minted on Sable up to the last batch.
    pub deposits_consumed: u64,
    /// The last batch's hash (the genesis hash before the first).
    pub last_batch_hash: B256,
    /// The commitment-tree root after the last settled block.
    pub commitment_root: B256,
    /// The nullifier-set root after the last settled block.
    pub nullifier_root: B256,
}

impl SettledState {
    /// The batch after the last settled one, settling the blocks up to `last_block`
    /// with published data folding to `data_hash`. Number, parent, first block, consumed
    /// deposits and validator set follow from this state; the roots are zero and the
    /// withdrawals none until the caller sets them.
    pub fn next_batch(&self, last_block: u64, data_hash: B256) -> Batch {
        Batch {
            number: self.last_batch + 1,
            parent: self.last_batch_hash,
            firstBlock: self.last_block + 1,
            lastBlock: last_block,
            commitmentRoot: B256::ZERO,
            nullifierRoot: B256::ZERO,
            dataHash: data_hash,
            withdrawalsHash: withdrawals_hash(&[]),
            depositsConsumed: self.deposits_consumed,
            validatorSetId: self.validator_set_id,
        }
    }
}

/// Where blob contents are read from.
///
/// Blob contents are not part of Ethereum's execution-layer JSON-RPC, so reading a
/// batch's data back ([`L1Provider::settled_batches`]) needs a second source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BlobSource {
    /// `anvil_getBlobsByTransactionHash` on the JSON-RPC endpoint.
    #[default]
    Anvil,
    /// A beacon node's `GET /eth/v1/beacon/blobs/{slot}`. The slot of the L1 block
    /// holding a transaction is `(timestamp − genesis_time) / seconds_per_slot`, with
    /// the genesis time from the node's `/eth/v1/beacon/genesis`.
    Beacon {
        /// The beacon node's base URL (`http://host:5052`).
        url: String,
        /// Seconds per slot (12 on Ethereum's networks).
        seconds_per_slot: u64,
    },
}

/// When an L1 block counts as final for the bridge reads: a deposit is stored (and so
/// can be minted on Sable) only from a final block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Finality {
    /// L1's `finalized` block (the JSON-RPC block tag): on Ethereum, two epochs
    /// (about 13 minutes) behind the head, and reverting it would burn a third of all
    /// stake. The default.
    #[default]
    Finalized,
    /// Blocks with this many confirmations (the head has 1), for chains without a
    /// `finalized` tag; it must cover the deepest reorg the chain can have.
    Depth(u64),
}

/// How an [`L1Provider`] sends and reads: fixed at [`L1Provider::connect`], so that no
/// caller ever holds a half-configured client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1Config {
    /// Blocks on top of a sent transaction's before it counts as done.
    pub confirmations: u64,
    /// When an L1 block counts as final for the bridge reads (deposits and listings):
    /// L1's `finalized` block, or a fixed depth below the head.
    pub finality: Finality,
    /// The longest one JSON-RPC request may take before it fails.
    pub request_timeout: Duration,
    /// A sent transaction not mined after this long is replaced: the same nonce, both
    /// fees 12.5 % higher, never above `max_gas_price`.
    pub resubmit_after: Duration,
    /// The longest [`L1Provider::send`] waits for one transaction, replacements
    /// included, before it gives up with [`L1Error::NotMined`].
    pub tx_timeout: Duration,
    /// The largest calldata chunk per transaction.
    pub chunk_size: usize,
    /// Refuse to send while the node's gas price is above this (wei); `None`: no limit.
    pub max_gas_price: Option<u128>,
    /// The first L1 block whose logs are read: the contracts' deployment block (0 reads
    /// the whole chain).
    pub from_block: u64,
    /// The most L1 blocks one log query spans.
    pub log_page: u64,
    /// Where blob contents are read from.
    pub blobs: BlobSource,
}

impl Default for L1Config {
    /// One confirmation, bridge reads up to L1's `finalized` block, the default
    /// timeouts ([`DEFAULT_REQUEST_TIMEOUT`], [`DEFAULT_RESUBMIT_AFTER`],
    /// [`DEFAULT_TX_TIMEOUT`]), [`DEFAULT_CHUNK`], no gas-price limit, logs from block 0
    /// in pages of [`DEFAULT_LOG_PAGE`], blobs from anvil.
    fn default() -> Self {
        L1Config {
            confirmations: 1,
            finality: Finality::Finalized,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            resubmit_after: DEFAULT_RESUBMIT_AFTER,
            tx_timeout: DEFAULT_TX_TIMEOUT,
            chunk_size: DEFAULT_CHUNK,
            max_gas_price: None,
            from_block: 0,
            log_page: DEFAULT_LOG_PAGE,
            blobs: BlobSource::default(),
        }
    }
}

/// A connection to an Ethereum JSON-RPC endpoint, sending as one key, with the Sable
/// contracts' addresses.
#[derive(Clone)]
pub struct L1Provider {
    provider: DynProvider,
    /// The settlement contract.
    pub settlement: Address,
    /// The bridge contract.
    pub bridge: Address,
    /// The sending account.
    pub from: Address,
    config: L1Config,
}

impl L1Provider {
    /// A client of the endpoint at `url` sending as `key`, configured by `config`.
    pub fn connect(
        url: &str,
        key: &SettlementKey,
        settlement: Address,
        bridge: Address,
        config: L1Config,
    ) -> Result<Self> {
        // reqwest's rustls takes the process's provider: ring, as everywhere in Sable.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let parsed = url.parse::<reqwest::Url>().map_err(|e| L1Error::Url {
            url: redact_urls(url),
            reason: e.to_string(),
        })?;
        // Every request is bounded: an endpoint that accepts the connection and never
        // answers must not hang the settlement service or the bridge watcher.
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| L1Error::Url {
                url: redact_urls(url),
                reason: redact_urls(&e.to_string()),
            })?;
        // `send` sets nonce, gas and fees itself (a replacement must reuse them); the
        // fillers are for other senders (tests, tools). The nonce comes from the
        // endpoint for every transaction: a call refused at gas estimation must not
        // leave a cached nonce behind, and a restarted submitter picks up where the
        // chain is.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(EthereumWallet::from(key.signer().clone()))
            .connect_reqwest(http, parsed)
            .erased();
        Ok(L1Provider {
            provider,
            settlement,
            bridge,
            from: key.address(),
            config,
        })
    }

    /// How this client sends and reads.
    pub fn config(&self) -> &L1Config {
        &self.config
    }

    /// The same connection (endpoint, key, contracts) configured by `config` instead.
    pub fn with_config(&self, config: L1Config) -> Self {
        L1Provider {
            config,
            ..self.clone()
        }
    }

    /// Every `E` log that `filter` (its address and topics) matches in L1 blocks
    /// `max(from, from_block)..=to`, queried `log_page` blocks at a time, decoded, in
    /// chain order.
    pub async fn logs<E: SolEvent>(
        &self,
        filter: Filter,
        from: u64,
        to: u64,
    ) -> Result<Vec<(E, Log)>> {
        let page = self.config.log_page.max(1);
        let mut out = Vec::new();
        let mut start = from.max(self.config.from_block);
        while start <= to {
            let end = to.min(start.saturating_add(page - 1));
            let f = filter
                .clone()
                .event_signature(E::SIGNATURE_HASH)
                .from_block(start)
                .to_block(end);
            for log in self.provider.get_logs(&f).await.map_err(rpc)? {
                let decoded = log.log_decode::<E>().map_err(|e| {
                    rpc(format!("a {} log that does not decode: {e}", E::SIGNATURE))
                })?;
                out.push((decoded.inner.data, log));
            }
            match end.checked_add(1) {
                Some(next) => start = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// The L1 block holding `log`, an `E` log (an error if the endpoint left it out).
    pub(crate) fn block_of<E: SolEvent>(log: &Log) -> Result<u64> {
        log.block_number
            .ok_or_else(|| rpc(format!("a {} log without its block", E::SIGNATURE)))
    }

    /// The latest L1 block number.
    pub async fn head(&self) -> Result<u64> {
        self.provider.get_block_number().await.map_err(rpc)
    }

    /// The underlying provider (signing as `from`).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The settlement contract, to call directly.
    pub fn settlement_contract(&self) -> ISableSettlement::ISableSettlementInstance<DynProvider> {
        ISableSettlement::new(self.settlement, self.provider.clone())
    }

    /// The bridge contract, to call directly.
    pub fn bridge_contract(&self) -> ISableBridge::ISableBridgeInstance<DynProvider> {
        ISableBridge::new(self.bridge, self.provider.clone())
    }

    /// The EIP-712 domain of this chain's settlement contract.
    pub async fn domain(&self) -> Result<Domain> {
        let chain_id = self.provider.get_chain_id().await.map_err(rpc)?;
        Ok(Domain {
            chain_id,
            contract: self.settlement,
        })
    }

    /// The contract's state, every field read at the same L1 block (the latest).
    pub async fn state(&self) -> Result<SettledState> {
        let c = self.settlement_contract();
        let at = BlockId::number(self.provider.get_block_number().await.map_err(rpc)?);
        Ok(SettledState {
            validator_set_id: c.validatorSetId().block(at).call().await.map_err(rpc)?,
            last_batch: c.lastBatch().block(at).call().await.map_err(rpc)?,
            last_block: c.lastBlock().block(at).call().await.map_err(rpc)?,
            deposits_consumed: c.depositsConsumed().block(at).call().await.map_err(rpc)?,
            last_batch_hash: c.lastBatchHash().block(at).call().await.map_err(rpc)?,
            commitment_root: c.commitmentRoot().block(at).call().await.map_err(rpc)?,
            nullifier_root: c.nullifierRoot().block(at).call().await.map_err(rpc)?,
        })
    }

    /// The current validator set (ascending).
    pub async fn validators(&self) -> Result<Vec<Address>> {
        self.settlement_contract()
            .getValidators()
            .call()
            .await
            .map_err(rpc)
    }

    /// Publishes `data` (in chunks of `chunk_size`, all but the last ahead of the batch,
    /// the last with it) and settles `batch` with `signatures` (packed, signers
    /// ascending). Returns every transaction sent, in order, the settling one last. A
    /// batch the contract already holds is refused before anything is sent: the
    /// contract is the source of truth.
    pub async fn submit(
        &self,
        batch: &Batch,
        withdrawals: &[Withdrawal],
        data: &[u8],
        signatures: Bytes,
    ) -> Result<Vec<TxHash>> {
        self.ensure_unsettled(batch.number).await?;
        let c = self.settlement_contract();
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[]]
        } else {
            data.chunks(self.config.chunk_size.max(1)).collect()
        };
        let (last, ahead) = chunks.split_last().unwrap_or((&(&[] as &[u8]), &[]));
        let stale = c
            .published(self.from, batch.number)
            .call()
            .await
            .map_err(rpc)?;
        let mut sent = Vec::new();
        if ahead.is_empty() && stale != B256::ZERO {
            // An earlier attempt's chunks are folded under our address: discard them.
            let call = c.publish(batch.number, true, Bytes::new());
            sent.push(self.send("publish", call).await?);
        }
        for (i, chunk) in ahead.iter().enumerate() {
            let call = c.publish(batch.number, i == 0, Bytes::copy_from_slice(chunk));
            sent.push(self.send("publish", call).await?);
        }
        let call = c.submitBatch(
            batch.clone(),
            withdrawals.to_vec(),
            Bytes::copy_from_slice(last),
            signatures,
        );
        sent.push(self.send("submitBatch", call).await?);
        Ok(sent)
    }

    /// Publishes `blobs` (one transaction per sidecar, the first restarting this
    /// sender's fold for the batch) and settles `batch`, whose `dataHash` is
    /// `blobs.fold`. Returns every transaction sent, the settling one last.
    pub async fn submit_blobs(
        &self,
        batch: &Batch,
        withdrawals: &[Withdrawal],
        blobs: &BlobData,
        signatures: Bytes,
    ) -> Result<Vec<TxHash>> {
        self.ensure_unsettled(batch.number).await?;
        let c = self.settlement_contract();
        let mut sent = Vec::new();
        for (i, sidecar) in blobs.sidecars.iter().enumerate() {
            let fee = self.provider.get_blob_base_fee().await.map_err(rpc)?;
            let call = c.publish(batch.number, i == 0, Bytes::new());
            let call = match sidecar {
                BlobTransactionSidecarVariant::Eip4844(s) => call.sidecar(s.clone()),
                BlobTransactionSidecarVariant::Eip7594(s) => call.sidecar_7594(s.clone()),
            }
            .max_fee_per_blob_gas(fee.saturating_mul(2).max(1));
            let blob_fee = Some(fee.saturating_mul(2).max(1));
            sent.push(self.send_bumping("publish", call, blob_fee).await?);
        }
        let call = c.submitBatch(
            batch.clone(),
            withdrawals.to_vec(),
            Bytes::new(),
            signatures,
        );
        sent.push(self.send("submitBatch", call).await?);
        Ok(sent)
    }

    /// Hands settlement over to `validators` (ascending) as the next validator set, under
    /// `signatures` (packed, signers ascending) from a quorum of the current set over
    /// [`Domain::rotation_digest`] of the next set id. Batches signed by the old set are
    /// refused from then on.
    pub async fn rotate_validators(
        &self,
        validators: &[Address],
        signatures: Bytes,
    ) -> Result<TxHash> {
        let c = self.settlement_contract();
        let call = c.rotateValidators(validators.to_vec(), signatures);
        self.send("rotateValidators", call).await
    }

    /// Refuses a batch the contract already holds, before anything is sent: the
    /// contract, not this process's memory, says what is settled.
    async fn ensure_unsettled(&self, number: u64) -> Result<()> {
        let last = self
            .settlement_contract()
            .lastBatch()
            .call()
            .await
            .map_err(rpc)?;
        if number <= last {
            return Err(L1Error::AlreadySettled { number });
        }
        Ok(())
    }

    /// Sends `call` under the gas-price limit and waits for its confirmations.
    ///
    /// Nonce, gas and fees are fixed here: fees from the endpoint's EIP-1559 estimate,
    /// the fee cap at most `max_gas_price`. A transaction still unmined after
    /// `resubmit_after` is replaced by the same one (same nonce) with both fees
    /// 12.5 % higher, capped at `max_gas_price`; whichever of them is mined counts.
    /// After `tx_timeout` without one mined and confirmed, [`L1Error::NotMined`]: the
    /// caller re-reads the contract and tries again (the nonce is the account's mined
    /// count, so the next attempt replaces the stuck one rather than queueing behind it).
    pub async fn send<D: CallDecoder + Clone>(
        &self,
        name: &'static str,
        call: CallBuilder<&DynProvider, D>,
    ) -> Result<TxHash> {
        self.send_bumping(name, call, None).await
    }

    /// [`L1Provider::send`], for a blob transaction whose blob fee cap is `blob_fee`:
    /// a replacement doubles it (blob pools ask for that much).
    pub(crate) async fn send_bumping<D: CallDecoder + Clone>(
        &self,
        name: &'static str,
        call: CallBuilder<&DynProvider, D>,
        mut blob_fee: Option<u128>,
    ) -> Result<TxHash> {
        let limit = self.config.max_gas_price;
        if let Some(limit) = limit {
            let price = self.provider.get_gas_price().await.map_err(rpc)?;
            if price > limit {
                return Err(L1Error::GasPriceTooHigh { price, limit });
            }
        }
        let estimate = self.provider.estimate_eip1559_fees().await.map_err(rpc)?;
        let mut fees = Fees {
            max: estimate.max_fee_per_gas,
            tip: estimate.max_priority_fee_per_gas,
        }
        .capped(limit);
        let call = call.from(self.from);
        let gas = call.estimate_gas().await.map_err(|e| rejected(name, e))?;
        let nonce = self
            .provider
            .get_transaction_count(self.from)
            .latest()
            .await
            .map_err(rpc)?;
        let mut call = call
            .nonce(nonce)
            .gas(gas)
            .max_fee_per_gas(fees.max)
            .max_priority_fee_per_gas(fees.tip);
        // A transaction of an earlier attempt may still wait at this nonce: outbid it,
        // up to the limit.
        let pending = loop {
            match call.send().await {
                Ok(p) => break p,
                Err(e) if e.to_string().to_lowercase().contains("underpriced") => {
                    let higher = fees.bumped().capped(limit);
                    if higher.max <= fees.max {
                        return Err(rejected(name, e));
                    }
                    fees = higher;
                    blob_fee = blob_fee.map(|f| f.saturating_mul(2));
                    call = call
                        .max_fee_per_gas(fees.max)
                        .max_priority_fee_per_gas(fees.tip);
                    if let Some(fee) = blob_fee {
                        call = call.max_fee_per_blob_gas(fee);
                    }
                }
                Err(e) => return Err(rejected(name, e)),
            }
        };
        let mut sent = vec![*pending.tx_hash()];
        // Polls start quick (a local or fast chain mines at once) and slow down.
        let slowest = (self.config.resubmit_after / 4).clamp(POLL_MIN, POLL_MAX);
        let mut poll = POLL_MIN;
        let start = Instant::now();
        let mut last_sent = Instant::now();
        loop {
            let (mined, confirmed) = self.receipt_of(&sent).await?;
            if let Some(receipt) = confirmed {
                if !receipt.status() {
                    return Err(L1Error::Reverted {
                        call: name,
                        tx: receipt.transaction_hash.to_string(),
                    });
                }
                return Ok(receipt.transaction_hash);
            }
            if start.elapsed() >= self.config.tx_timeout {
                return Err(L1Error::NotMined {
                    call: name,
                    tx: sent.last().map(ToString::to_string).unwrap_or_default(),
                    waited_s: start.elapsed().as_secs(),
                });
            }
            if !mined && last_sent.elapsed() >= self.config.resubmit_after {
                last_sent = Instant::now();
                let higher = fees.bumped().capped(limit);
                if higher.max > fees.max {
                    let mut next = call
                        .clone()
                        .max_fee_per_gas(higher.max)
                        .max_priority_fee_per_gas(higher.tip);
                    let next_blob_fee = blob_fee.map(|f| f.saturating_mul(2));
                    if let Some(fee) = next_blob_fee {
                        next = next.max_fee_per_blob_gas(fee);
                    }
                    match next.send().await {
                        Ok(p) => {
                            tracing::warn!(
                                call = name,
                                nonce,
                                replaced = %sent.last().map(ToString::to_string).unwrap_or_default(),
                                by = %p.tx_hash(),
                                max_fee_per_gas = higher.max,
                                max_priority_fee_per_gas = higher.tip,
                                "L1 transaction not mined in time: replaced with a higher fee"
                            );
                            sent.push(*p.tx_hash());
                            fees = higher;
                            blob_fee = next_blob_fee;
                            call = next;
                        }
                        // Mined meanwhile (nonce too low), or refused as underpriced:
                        // the transactions already sent are still awaited.
                        Err(e) => {
                            tracing::warn!(call = name, nonce, %e, "L1 replacement transaction not accepted")
                        }
                    }
                }
            }
            tokio::time::sleep(poll).await;
            poll = (poll * 2).min(slowest);
        }
    }

    /// Whether one of `sent` is mined, and its receipt once it has the configured
    /// confirmations (one that a reorg took out of the chain is awaited again).
    async fn receipt_of(
        &self,
        sent: &[TxHash],
    ) -> Result<(bool, Option<alloy::rpc::types::TransactionReceipt>)> {
        for hash in sent.iter().rev() {
            let Some(receipt) = self
                .provider
                .get_transaction_receipt(*hash)
                .await
                .map_err(rpc)?
            else {
                continue;
            };
            let Some(block) = receipt.block_number else {
                continue;
            };
            let depth = (self.head().await? + 1).saturating_sub(block);
            let confirmed = depth >= self.config.confirmations.max(1);
            return Ok((true, confirmed.then_some(receipt)));
        }
        Ok((false, None))
    }
}

/// The shortest and longest wait between two receipt polls.
const POLL_MIN: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_secs(2);

/// EIP-1559 fee caps (wei per gas).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fees {
    max: u128,
    tip: u128,
}

impl Fees {
    /// Both 12.5 % higher (rounded up, and at least 1 wei higher): what a replacement
    /// needs (geth and reth ask 10 %, others 12.5 %).
    fn bumped(self) -> Self {
        let up = |f: u128| f.saturating_add(f.div_ceil(8).max(1));
        Fees {
            max: up(self.max),
            tip: up(self.tip),
        }
    }

    /// The fee cap at most `limit`, the tip at most the fee cap.
    fn capped(self, limit: Option<u128>) -> Self {
        let max = limit.map_or(self.max, |l| self.max.min(l));
        Fees {
            max,
            tip: self.tip.min(max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Fees;

    #[test]
    fn a_replacement_pays_an_eighth_more_and_never_above_the_limit() {
        let f = Fees { max: 800, tip: 8 };
        assert_eq!(f.bumped(), Fees { max: 900, tip: 9 });
        // Rounded up, and at least one wei more even from nothing.
        assert_eq!(Fees { max: 9, tip: 0 }.bumped(), Fees { max: 11, tip: 1 });
        assert_eq!(f.bumped().capped(Some(850)), Fees { max: 850, tip: 9 });
        assert_eq!(f.capped(Some(5)), Fees { max: 5, tip: 5 });
        assert_eq!(f.capped(None), f);
    }
}
