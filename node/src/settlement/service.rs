//! The settlement loop: read the contract, build the next batch, sign it, gather a
//! quorum, and submit it when it is this validator's turn.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::primitives::{Address, B256};
use commonware_p2p::{Receiver, Sender};
use commonware_runtime::{Handle, Spawner};
use sable_l1::{BlobData, Domain, L1Error, L1Provider, Quorum, SettledState, SettlementKey};

use super::{
    cosign::{BatchSpec, Cosigned, Cosigner},
    genesis_hash,
    plan::{BatchRule, Encoded},
    SettleError,
};
use crate::{
    config::{BlobSidecars, Publication, SettlementSection},
    l1_view::AssetListing,
    node::Node,
    telemetry::metrics,
};
use sable_storage::{ChainReader, L1AssetRecord, L1DepositRecord, Staged, StorageError};

/// The environment variable that injects a crash: `before_submit` aborts the process
/// when this validator is about to submit a batch it holds a quorum for. Read only by
/// builds with the `failpoints` feature (tests).
pub const FAILPOINT_ENV: &str = "SABLE_SETTLEMENT_FAILPOINT";
/// The longest wait between rounds after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The settlement service of one validator, configured and not yet running.
pub struct Settler {
    node: Arc<Node>,
    client: L1Provider,
    key: SettlementKey,
    spec: BatchSpec,
    sidecars: BlobSidecars,
    takeover: Duration,
    poll: Duration,
    crash_before_submit: bool,
}

/// The running service.
pub struct SettlementHandle {
    /// The settlement loop.
    pub task: tokio::task::JoinHandle<()>,
    /// The signature receiver.
    pub receiver: Handle<()>,
}

impl Settler {
    /// Loads the settlement key and prepares the L1 provider (nothing is contacted yet:
    /// an unreachable endpoint is retried by the running service).
    pub fn new(
        node: Arc<Node>,
        section: &SettlementSection,
        namespace: &str,
    ) -> Result<Self, SettleError> {
        let text = sable_pki::read_secret(&section.key)
            .map_err(|e| SettleError::Config(format!("key file {}: {e}", section.key.display())))?;
        let text = String::from_utf8_lossy(&text);
        let key = SettlementKey::from_hex(&text)
            .map_err(|e| SettleError::Config(format!("key file {}: {e}", section.key.display())))?;
        let contract: Address = section
            .contract
            .parse()
            .map_err(|e| SettleError::Config(format!("contract address: {e}")))?;
        let config = sable_l1::L1Config {
            confirmations: section.confirmations,
            from_block: section.from_block,
            log_page: section.log_page_blocks,
            max_gas_price: section
                .max_gas_price_gwei
                .map(|g| u128::from(g) * 1_000_000_000),
            ..Default::default()
        };
        let client = L1Provider::connect(&section.rpc, &key, contract, Address::ZERO, config)?;
        Ok(Settler {
            node,
            client,
            key,
            spec: BatchSpec {
                rule: BatchRule {
                    max_blocks: section.batch_blocks,
                    max_interval_ms: section.batch_interval_ms,
                },
                publication: section.publish,
                genesis: genesis_hash(namespace),
            },
            sidecars: section.blob_sidecars,
            takeover: Duration::from_millis(section.takeover_ms),
            poll: Duration::from_millis(section.poll_ms),
            crash_before_submit: cfg!(feature = "failpoints")
                && std::env::var(FAILPOINT_ENV).as_deref() == Ok("before_submit"),
        })
    }

    /// This validator's settlement address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// Starts the service, exchanging signatures over a registered p2p channel (its
    /// receiver a task of `context`). The service itself runs on tokio: the L1 provider
    /// needs it.
    pub fn spawn<E, S, R>(self, context: E, sender: S, receiver: R) -> SettlementHandle
    where
        E: Spawner,
        S: Sender + 'static,
        R: Receiver + 'static,
    {
        tracing::info!(address = %self.address(), contract = %self.client.settlement, "settlement service starting");
        let (cosigner, receiver) = Cosigner::start(
            context,
            self.node.clone(),
            self.key.clone(),
            self.spec,
            sender,
            receiver,
        );
        let service = Service {
            s: self,
            cosigner,
            domain: None,
            ready_since: None,
            not_member_logged: false,
            l1: None,
            next_deposit: 0,
            scan_from: 0,
        };
        SettlementHandle {
            task: tokio::spawn(service.run()),
            receiver,
        }
    }
}

struct Service<S: Sender> {
    s: Settler,
    cosigner: Cosigner<S>,
    domain: Option<Domain>,
    ready_since: Option<(B256, Instant)>,
    not_member_logged: bool,
    l1: Option<(SettledState, Vec<Address>, Instant)>,
    /// The next L1 deposit index the watcher looks for.
    next_deposit: u64,
    /// The first L1 block the watcher has not read (blocks it read were confirmed, so
    /// are never read again; a restart reads from `from_block` once more).
    scan_from: u64,
}

impl<S: Sender> Service<S> {
    /// Rounds run every `poll`, and also at once when a block is applied or a new
    /// signature arrives (reusing the contract state read within the last `poll`), so a
    /// closed batch is signed and submitted without waiting for the timer.
    async fn run(mut self) {
        if self.s.spec.publication == Publication::Blobs {
            let _ = tokio::task::spawn_blocking(BlobData::warm_up).await;
        }
        let mut applied = self.s.node.subscribe();
        let book = self.cosigner.book().clone();
        let mut failures = 0u32;
        let mut read_l1 = true;
        loop {
            let wait = match self.round(read_l1).await {
                Ok(()) => {
                    failures = 0;
                    self.s.poll
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    metrics().settlement_errors.inc();
                    tracing::warn!(%e, failures, "settlement round failed");
                    (self.s.poll * 2u32.saturating_pow(failures.min(8))).min(MAX_BACKOFF)
                }
            };
            let timer = tokio::time::sleep(wait);
            read_l1 = if failures > 0 {
                timer.await;
                true
            } else {
                tokio::select! {
                    _ = timer => true,
                    r = applied.recv() => {
                        if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                            applied = self.s.node.subscribe();
                        }
                        false
                    }
                    _ = book.added() => false,
                }
            };
        }
    }

    async fn domain(&mut self) -> Result<Domain, SettleError> {
        if let Some(d) = self.domain {
            return Ok(d);
        }
        let d = self.s.client.domain().await?;
        self.domain = Some(d);
        Ok(d)
    }

    /// The contract's state and validator set: read from L1 when `read` or when the
    /// last read is older than `poll`, else the last read.
    async fn l1_state(&mut self, read: bool) -> Result<(SettledState, Vec<Address>), SettleError> {
        if let Some((state, validators, at)) = &self.l1 {
            if !read && at.elapsed() < self.s.poll {
                return Ok((state.clone(), validators.clone()));
            }
        }
        let state = self.s.client.state().await?;
        let validators = self.s.client.validators().await?;
        self.watch_bridge().await?;
        metrics().settled_batch.set(state.last_batch as i64);
        self.cosigner.observe(&validators, &state);
        self.l1 = Some((state.clone(), validators.clone(), Instant::now()));
        Ok((state, validators))
    }

    /// The bridge watcher: stores the bridge deposits confirmed on L1 (the client's
    /// `confirmations`) that this node has not stored yet, in index order, and the
    /// confirmed asset listings it has not stored yet, where admission, votes and batch
    /// plans look them up. Records are never removed: `confirmations` must cover the
    /// reorgs the L1 can have.
    async fn watch_bridge(&mut self) -> Result<(), SettleError> {
        let events = self
            .s
            .client
            .confirmed_bridge_events(self.scan_from)
            .await?;
        let mut deposits = events.deposits;
        deposits.retain(|d| d.index >= self.next_deposit);
        // Confirmed deposits arrive in index order from the last one stored: a gap means
        // the endpoint left logs out, and the next round reads from `from_block` again.
        if let Some((expected, found)) = deposits
            .iter()
            .zip(self.next_deposit..)
            .find_map(|(d, i)| (d.index != i).then_some((i, d.index)))
        {
            self.scan_from = 0;
            return Err(SettleError::L1(L1Error::Rpc(format!(
                "the endpoint's logs skip bridge deposit {expected} (found {found} next); reading again"
            ))));
        }
        let listings = events.listings;
        let store = self.s.node.store.clone();
        let last_deposit = deposits.last().map(|d| d.index);
        let found = deposits;
        let new_listings = tokio::task::spawn_blocking(move || {
            let mut staged = Staged::new(&store);
            for d in &found {
                let record = L1DepositRecord {
                    asset: d.asset.0,
                    value: d.value,
                    commitment: d.commitment_le(),
                    l1_block: d.l1_block,
                };
                staged.put_l1_deposit(d.index, &record);
            }
            let mut new_listings = 0usize;
            for l in &listings {
                if staged.l1_asset(&l.asset.0)?.is_none() {
                    let record = L1AssetRecord::from(AssetListing::from(l));
                    staged.put_l1_asset(&l.asset.0, &record);
                    new_listings += 1;
                }
            }
            if !found.is_empty() || new_listings > 0 {
                store.commit(staged)?;
            }
            Ok::<_, StorageError>(new_listings)
        })
        .await
        .map_err(|e| SettleError::Config(format!("bridge watcher task: {e}")))??;
        if new_listings > 0 {
            tracing::info!(new_listings, "confirmed L1 asset listings stored");
        }
        if let Some(last) = last_deposit {
            tracing::info!(
                from = self.next_deposit,
                to = last,
                "confirmed L1 deposits stored"
            );
            self.next_deposit = last + 1;
        }
        self.scan_from = events.next_block;
        Ok(())
    }

    async fn round(&mut self, read_l1: bool) -> Result<(), SettleError> {
        let domain = self.domain().await?;
        let (state, validators) = self.l1_state(read_l1).await?;
        let (plan, signatures, position) = match self
            .cosigner
            .round(&state, &validators, domain)
            .await?
        {
            Cosigned::NotMember => {
                if !self.not_member_logged {
                    tracing::warn!(address = %self.cosigner.address(), "this settlement key is not in the contract's validator set: not signing");
                    self.not_member_logged = true;
                }
                return Ok(());
            }
            Cosigned::Open => return Ok(()),
            Cosigned::Waiting {
                number, dissenters, ..
            } => {
                if !dissenters.is_empty() {
                    tracing::warn!(number, dissent = ?dissenters, "validators signed a different batch");
                }
                return Ok(());
            }
            Cosigned::Quorum {
                plan,
                signatures,
                position,
            } => (plan, signatures, position),
        };
        let (number, digest) = (plan.batch.number, plan.digest);
        let since = match self.ready_since {
            Some((d, t)) if d == digest => t,
            _ => {
                let now = Instant::now();
                self.ready_since = Some((digest, now));
                now
            }
        };
        let n = validators.len();
        let designated = ((number - 1) % n as u64) as usize;
        let turn = (position + n - designated) % n;
        if since.elapsed() < self.s.takeover * turn as u32 {
            return Ok(());
        }
        if self.s.crash_before_submit {
            tracing::error!(number, "failpoint before_submit reached: aborting");
            std::process::abort();
        }
        let mut quorum = Quorum::new(digest);
        for (signer, sig) in &signatures {
            quorum.add(*signer, sig)?;
        }
        let sent = match &plan.data {
            Encoded::Calldata(d) => {
                self.s
                    .client
                    .submit(&plan.batch, &plan.withdrawals, d, quorum.packed())
                    .await
            }
            Encoded::Blobs(b) => {
                let cells;
                let b = match self.s.sidecars {
                    BlobSidecars::Eip4844 => b,
                    BlobSidecars::Eip7594 => {
                        let b = b.clone();
                        cells = tokio::task::spawn_blocking(move || b.to_eip7594())
                            .await
                            .map_err(|e| SettleError::Config(format!("cell proofs task: {e}")))??;
                        &cells
                    }
                };
                self.s
                    .client
                    .submit_blobs(&plan.batch, &plan.withdrawals, b, quorum.packed())
                    .await
            }
        };
        // Whatever happened, the next round reads the contract again.
        self.l1 = None;
        match sent {
            Ok(txs) => {
                let latency = now_ms().saturating_sub(plan.last_timestamp_ms) as f64 / 1000.0;
                metrics().settlement_submitted.inc();
                metrics().settlement_inclusion.observe(latency);
                tracing::info!(
                    number,
                    first_block = plan.batch.firstBlock,
                    last_block = plan.batch.lastBlock,
                    signers = signatures.len(),
                    turn,
                    l1_transactions = txs.len(),
                    inclusion_s = latency,
                    "batch settled"
                );
                Ok(())
            }
            // Someone else's submission landed first (seen before sending, or when
            // the contract refused ours): the contract says so.
            Err(L1Error::AlreadySettled { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
