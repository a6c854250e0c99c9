//! The settlement loop: read the contract, build the next batch, sign it, gather a
//! quorum, and submit it when it is this validator's turn; beside it, the bridge
//! watcher's task ([`super::watcher`]).

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
    watcher::Watcher,
    SettleError,
};
use crate::{
    config::{BlobSidecars, DepositFinality, Publication, SettlementSection},
    node::Node,
    telemetry::metrics,
};

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
    /// The bridge watcher ([`super::watcher`]).
    pub watcher: tokio::task::JoinHandle<()>,
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
            finality: match section.deposit_finality {
                DepositFinality::Finalized => sable_l1::Finality::Finalized,
                DepositFinality::Depth(n) => sable_l1::Finality::Depth(n),
            },
            request_timeout: Duration::from_millis(section.request_timeout_ms),
            resubmit_after: Duration::from_millis(section.resubmit_after_ms),
            tx_timeout: Duration::from_millis(section.tx_timeout_ms),
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
                rule: BatchRule::new(section.batch_blocks, section.batch_interval_ms),
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
        // The watcher is a task of its own: a submission waiting on L1 (up to the
        // client's `tx_timeout`) never holds deposits back.
        let watcher = Watcher::new(self.node.clone(), self.client.clone(), self.poll);
        let service = Service {
            s: self,
            cosigner,
            domain: None,
            ready_since: None,
            not_member_logged: false,
            l1: None,
        };
        SettlementHandle {
            watcher: tokio::spawn(watcher.run()),
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
        metrics().settled_batch.set(state.last_batch as i64);
        self.cosigner.observe(&validators, &state);
        self.l1 = Some((state.clone(), validators.clone(), Instant::now()));
        Ok((state, validators))
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
