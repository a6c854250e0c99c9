//! The node's shared state and the operations the API and consensus call: admission of
//! transactions and operator commands, status of a transaction, and execution of
//! finalized blocks.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, SystemTime},
};

use futures::FutureExt as _;
use parking_lot::{Mutex, RwLock};
use sable_circuits::transaction::Transaction;
use tracing::{info_span, Instrument};

use crate::{
    l1_view::check_l1,
    mempool::{Mempool, MempoolLimits},
    runtime::{blocking, Rt, TokioRt},
    telemetry::{metrics, ReasonLabel},
    throttle::SubmitterThrottle,
};
use sable_execution::{
    check_state, verifier::unavailable, Applied, ChainParams, CompliancePolicy, ExecError,
    Executor, Outcome, TxContext, Verifier,
};
use sable_pki::Fingerprint;
use sable_primitives::admin::SignedAdminCommand;
use sable_primitives::block::{Block, BlockHeader, TxId, MAX_ADMIN_BYTES, MAX_TX_BYTES};
use sable_primitives::{AdmissionError, BlockHash, RejectCode, Rejection, TxStatus};
use sable_storage::{ChainReader, Staged, StorageError, Store};

/// A block applied to the state (sent to stream subscribers).
#[derive(Clone, Debug)]
pub struct AppliedEvent {
    /// The header.
    pub header: BlockHeader,
    /// Outcomes of its commands.
    pub outcomes: Vec<Outcome>,
}

const RECENT_REJECTIONS: usize = 100_000;

/// State checks of admissions running at once on blocking threads. A burst of
/// submissions and gossip would otherwise start a blocking thread for each (up to the
/// runtime's 512), each with its own stack and allocator arena to fault in; a check is a
/// few point reads, so a handful of threads keep up.
const ADMISSION_CHECKS: usize = 4;

/// Where a command reaches this node from.
#[derive(Clone, Copy, Debug)]
pub enum Origin<'a> {
    /// A client of the API (the participant id from its certificate, if known). The
    /// node records the outcome for status queries and announces admitted commands to
    /// the other validators.
    Client(Option<&'a str>),
    /// Another validator's gossip. Outcomes are not recorded (a refusal here says
    /// nothing about the command at the validator that admitted it) and nothing is
    /// announced again.
    Peer,
}

/// A command for the other validators' pools: one this node admitted from a client, or
/// one of its pending commands sent to a validator that asks for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Announcement {
    /// A transaction's bytes.
    Tx(Vec<u8>),
    /// A signed operator command's bytes.
    Admin(Vec<u8>),
}

fn revocations(store: &Store) -> Result<HashSet<Fingerprint>, StorageError> {
    Ok(store
        .revocations()?
        .into_iter()
        .map(|(fingerprint, _)| fingerprint)
        .collect())
}

/// The node: admission, the pool, execution of finalized blocks and the events they
/// raise. Its state, pool and verifier are its own: other crates read the chain through
/// [`Node::chain`] (reads only) and reach the pool through the node's methods.
pub struct Node {
    pub(crate) store: Arc<Store>,
    pub(crate) params: Arc<ChainParams>,
    pub(crate) mempool: Arc<Mempool>,
    verifier: Verifier,
    executor: Executor,
    policy: Arc<dyn CompliancePolicy>,
    executed: AtomicU64,
    /// When each pending transaction of a client was admitted, and by whom.
    admitted_at: Mutex<HashMap<TxId, Admitted>>,
    /// Strikes against submitters whose transactions failed verification.
    throttle: SubmitterThrottle,
    rejected: Mutex<(
        HashMap<TxId, AdmissionError>,
        std::collections::VecDeque<TxId>,
    )>,
    revoked: RwLock<HashSet<Fingerprint>>,
    applied: tokio::sync::broadcast::Sender<Arc<AppliedEvent>>,
    apply_lock: Mutex<()>,
    announcer: OnceLock<tokio::sync::mpsc::Sender<Announcement>>,
    preverify: OnceLock<tokio::sync::mpsc::UnboundedSender<(TxId, Arc<Transaction>, SystemTime)>>,
    inflight: Mutex<HashMap<TxId, Verdict>>,
    admission_checks: tokio::sync::Semaphore,
    rt: Arc<dyn Rt>,
    halt: tokio::sync::watch::Sender<Option<Arc<str>>>,
}

/// What background verification has still to check, in the order it checks it: each
/// round (what was admitted together) in the order of transaction ids, the same on every
/// validator that received the same ones whatever order they arrived in, and rounds in
/// the order they were gathered. Pieces are cut from the front, so what a round leaves
/// over a piece's cap goes out with the next round's first transactions rather than as a
/// small batch of its own, each batch paying the fixed cost once.
#[derive(Debug)]
struct VerificationQueue<T> {
    waiting: std::collections::VecDeque<(TxId, T)>,
}

impl<T> VerificationQueue<T> {
    fn new() -> Self {
        VerificationQueue {
            waiting: std::collections::VecDeque::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Queues a round behind everything already waiting, in the order of its ids.
    fn push_round(&mut self, mut round: Vec<(TxId, T)>) {
        round.sort_unstable_by_key(|(id, _)| *id);
        self.waiting.extend(round);
    }

    /// The next piece: up to `max` (at least one) from the front that `keep` still wants;
    /// those it does not are dropped on the way.
    fn next_piece(&mut self, max: usize, keep: impl Fn(&TxId) -> bool) -> Vec<(TxId, T)> {
        let mut piece = Vec::new();
        while piece.len() < max.max(1) {
            match self.waiting.pop_front() {
                Some(entry) if keep(&entry.0) => piece.push(entry),
                Some(_) => {}
                None => break,
            }
        }
        piece
    }
}

/// A verification in progress, awaited by everyone who needs its verdict.
type Verdict =
    futures::future::Shared<futures::future::BoxFuture<'static, Result<(), AdmissionError>>>;

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node(height {})", self.executed_height())
    }
}

/// When a client's transaction was admitted, and the participant that submitted it.
type Admitted = (SystemTime, Option<Arc<str>>);

/// Node start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Storage.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Execution.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

impl Node {
    /// Opens the node over `store`, writing genesis if the store is empty; its
    /// background work runs on the caller's tokio runtime ([`TokioRt`]).
    pub fn new(
        store: Arc<Store>,
        params: Arc<ChainParams>,
        policy: Arc<dyn CompliancePolicy>,
        verifier: Verifier,
        limits: MempoolLimits,
    ) -> Result<Arc<Self>, NodeError> {
        Self::with_runtime(store, params, policy, verifier, limits, Arc::new(TokioRt))
    }

    /// [`Node::new`] with its background work (verification bookkeeping, admission's
    /// state checks) and its clock (admission of operator commands, latencies) on `rt`.
    pub fn with_runtime(
        store: Arc<Store>,
        params: Arc<ChainParams>,
        policy: Arc<dyn CompliancePolicy>,
        verifier: Verifier,
        limits: MempoolLimits,
        rt: Arc<dyn Rt>,
    ) -> Result<Arc<Self>, NodeError> {
        let executor = Executor::new(params.clone(), policy.clone());
        let tip = executor.init_genesis(&store)?;
        let revoked = revocations(&store)?;
        metrics().height.set(tip.height as i64);
        Ok(Arc::new(Node {
            store,
            params,
            mempool: Arc::new(Mempool::new(limits)),
            verifier,
            executor,
            policy,
            executed: AtomicU64::new(tip.height),
            admitted_at: Mutex::new(HashMap::new()),
            throttle: SubmitterThrottle::default(),
            rejected: Mutex::new(Default::default()),
            revoked: RwLock::new(revoked),
            applied: tokio::sync::broadcast::channel(1024).0,
            apply_lock: Mutex::new(()),
            announcer: OnceLock::new(),
            preverify: OnceLock::new(),
            inflight: Mutex::new(HashMap::new()),
            admission_checks: tokio::sync::Semaphore::new(ADMISSION_CHECKS),
            rt,
            halt: tokio::sync::watch::channel(None).0,
        }))
    }

    /// The runtime this node's background work runs on, and its clock.
    pub fn runtime(&self) -> &Arc<dyn Rt> {
        &self.rt
    }

    /// The chain as this node has executed it, for reading (nothing can be written
    /// through it: blocks reach the state only through [`Node::apply_finalized`]).
    pub fn chain(&self) -> &(impl ChainReader + '_) {
        self.store.as_ref()
    }

    /// Transactions pending in this node's pool.
    pub fn pending_count(&self) -> usize {
        self.mempool.len()
    }

    /// The chain's genesis parameters this node runs with.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// How many client-admitted transactions this node still keeps an admission record
    /// for (time and submitter): each leaves when its transaction finalizes, is refused
    /// at any later step, or is evicted (review M9), so the count never exceeds the pool.
    pub fn admission_records(&self) -> usize {
        self.admitted_at.lock().len()
    }

    /// Whether transaction `id` is pending in this node's pool.
    pub fn is_pending(&self, id: &TxId) -> bool {
        self.mempool.contains(id)
    }

    /// Whether transaction `id` is pending and its proofs and signatures already passed
    /// on this node (background verification reached it).
    pub fn is_preverified(&self, id: &TxId) -> bool {
        self.mempool.is_verified(id)
    }

    /// Stops this node taking part in the chain: it can no longer execute what the
    /// chain finalized (a storage fault, a full disk), so its state is frozen. From now
    /// on it neither proposes nor votes, its health reads NOT_SERVING, and the daemon
    /// exits non-zero. The first reason stands.
    pub fn halt(&self, reason: impl Into<String>) {
        let reason: String = reason.into();
        self.halt.send_if_modified(|h| {
            if h.is_some() {
                return false;
            }
            tracing::error!(%reason, height = self.executed_height(), "halting: this node no longer follows the chain");
            *h = Some(reason.into());
            true
        });
    }

    /// Why this node halted, if it did.
    pub fn halted(&self) -> Option<Arc<str>> {
        self.halt.borrow().clone()
    }

    /// Waits until this node halts; returns the reason.
    pub async fn until_halted(&self) -> Arc<str> {
        let mut rx = self.halt.subscribe();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as the node, which `self` borrows.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Height of the last applied block.
    pub fn executed_height(&self) -> u64 {
        self.executed.load(Ordering::Acquire)
    }

    /// Whether a certificate is revoked (as of the last applied block).
    pub fn is_revoked(&self, fp: &Fingerprint) -> bool {
        self.revoked.read().contains(fp)
    }

    /// Where commands admitted from clients are announced (set once, by the gossip
    /// layer). Announcing is best effort: when the queue is full the command stays in
    /// this pool and reaches a block when this validator leads.
    pub fn set_announcer(&self, tx: tokio::sync::mpsc::Sender<Announcement>) {
        let _ = self.announcer.set(tx);
    }

    /// Everything pending in this node's pool, operator commands first, then
    /// transactions in admission order: what a validator that (re)joins is sent, as it
    /// may have missed their announcements.
    pub fn pending_announcements(&self) -> Vec<Announcement> {
        let (txs, admin) =
            self.mempool
                .select(usize::MAX, usize::MAX, usize::MAX, &HashSet::new(), false);
        admin
            .into_iter()
            .map(Announcement::Admin)
            .chain(txs.into_iter().map(|t| Announcement::Tx(t.bytes)))
            .collect()
    }

    fn announce(&self, a: Announcement) {
        if let Some(tx) = self.announcer.get() {
            let _ = tx.try_send(a);
        }
    }

    /// Subscribes to applied blocks.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<AppliedEvent>> {
        self.applied.subscribe()
    }

    fn reject(&self, id: TxId, r: AdmissionError) -> AdmissionError {
        // A refused transaction will never finalize: its admission time goes too.
        self.admitted_at.lock().remove(&id);
        metrics()
            .rejected
            .get_or_create(&ReasonLabel {
                reason: r.code().label().to_string(),
            })
            .inc();
        let mut g = self.rejected.lock();
        let (map, order) = &mut *g;
        if map.insert(id, r.clone()).is_none() {
            order.push_back(id);
            if order.len() > RECENT_REJECTIONS {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        r
    }

    /// Puts a strike on whoever submitted `id` here when it failed its proofs or
    /// signatures (not when this node could not decide).
    fn strike_submitter(&self, id: &TxId, verdict: &AdmissionError) {
        let failed = matches!(
            verdict.code(),
            RejectCode::InvalidProof | RejectCode::InvalidSignature
        );
        let who = self.admitted_at.lock().get(id).and_then(|(_, w)| w.clone());
        if let (true, Some(who)) = (failed, who) {
            tracing::info!(tx = %id, submitter = %who, "transaction failed verification: a strike against its submitter");
            self.throttle.strike(&who, self.rt.now());
        }
    }

    /// Whether a finalized block already carried `id` (applied or rejected).
    fn already_executed(&self, id: &TxId) -> Result<bool, AdmissionError> {
        self.store
            .tx_location(id)
            .map(|loc| loc.is_some())
            .map_err(|e| AdmissionError::Unavailable(format!("state unavailable: {e}")))
    }

    /// Admits a transaction: size, decoding, duplicates, state (anchor, nullifiers,
    /// registry root, issuers), pool conflicts and the compliance policy. Proofs and
    /// signatures are verified afterwards, in batches ([`Node::start_preverifier`],
    /// [`Node::verify_txs`]), where one fixed cost serves the whole batch; a transaction
    /// that fails them leaves the pool and its status turns to rejected.
    pub async fn submit(
        &self,
        bytes: Vec<u8>,
        submitter: Option<&str>,
    ) -> Result<TxId, AdmissionError> {
        self.admit(bytes, Origin::Client(submitter)).await
    }

    /// Admits a transaction from `origin` (see [`Node::submit`] for the checks).
    pub async fn admit(&self, bytes: Vec<u8>, origin: Origin<'_>) -> Result<TxId, AdmissionError> {
        let id = TxId::of(&bytes);
        let (submitter, who) = match origin {
            Origin::Client(s) => (s, s.unwrap_or("-")),
            Origin::Peer => (None, "peer"),
        };
        let span = info_span!("submit", tx = %id, submitter = who);
        let announced = matches!(origin, Origin::Client(_)).then(|| bytes.clone());
        let result = match submitter.map(|s| self.throttle.check(s, self.rt.now())) {
            Some(Err(throttled)) => Err(throttled.into()),
            _ => {
                self.check_and_insert(id, bytes, submitter)
                    .instrument(info_span!(parent: &span, "admit"))
                    .await
            }
        };
        match (result, announced) {
            (Ok(()), Some(bytes)) => {
                self.admitted_at
                    .lock()
                    .insert(id, (self.rt.now(), submitter.map(Arc::from)));
                metrics().admitted.inc();
                self.announce(Announcement::Tx(bytes));
                Ok(id)
            }
            (Ok(()), None) => {
                metrics().gossip_admitted.inc();
                Ok(id)
            }
            (Err(AdmissionError::Rejected(Rejection::Duplicate)), _) => {
                Err(Rejection::Duplicate.into())
            }
            (Err(r), Some(_)) => Err(self.reject(id, r)),
            (Err(r), None) => Err(r),
        }
    }

    async fn check_and_insert(
        &self,
        id: TxId,
        bytes: Vec<u8>,
        submitter: Option<&str>,
    ) -> Result<(), AdmissionError> {
        if bytes.len() > MAX_TX_BYTES {
            return Err(Rejection::TooLarge(bytes.len()).into());
        }
        if self.mempool.contains(&id) || self.already_executed(&id)? {
            return Err(Rejection::Duplicate.into());
        }
        let tx = Arc::new(
            Transaction::from_bytes(&bytes).map_err(|e| Rejection::Malformed(e.to_string()))?,
        );
        let nullifiers = conflict_keys(&tx);
        self.mempool.check_conflicts(&nullifiers)?;
        let store = self.store.clone();
        let params = self.params.clone();
        let tx2 = tx.clone();
        let checked = {
            // The semaphore is never closed (a check without a permit would run anyway).
            let _permit = self.admission_checks.acquire().await.ok();
            blocking(&*self.rt, "admission_check", move || {
                let view = Staged::new(&store);
                check_state(&view, &params, &tx2)?;
                check_l1(&view, &tx2)
            })
            .await
        };
        checked.unwrap_or_else(|| {
            Err(AdmissionError::Unavailable(
                "state check failed: its task stopped".into(),
            ))
        })?;
        let ctx = TxContext {
            height: self.executed_height(),
            tx_id: &id,
            submitter,
        };
        self.policy
            .on_admission(&tx, &ctx)
            .map_err(|reason| Rejection::Compliance {
                policy: self.policy.name().to_string(),
                reason,
            })?;
        self.mempool.insert(id, bytes, tx.clone(), nullifiers)?;
        metrics().mempool_size.set(self.mempool.len() as i64);
        if let Some(q) = self.preverify.get() {
            let _ = q.send((id, tx, self.rt.now()));
        }
        Ok(())
    }

    /// Starts verifying admitted transactions in the background, so proposals and
    /// votes find their proofs already checked. When nothing waits, a round gathers what
    /// is admitted within `window` of its first transaction's admission; behind a
    /// backlog, a round is what arrived while the last piece was checked. Rounds are
    /// queued ([`VerificationQueue`]) and checked in pieces of at most `max_batch`, so
    /// the first are proposable while the rest are checked, and each piece pays one
    /// batch's fixed cost; what a round leaves over a piece goes out with the next
    /// round's first, not as a small batch of its own. A piece is cut only when the one
    /// before it is checked, and then only from what is still pending and unverified: a
    /// vote on a block whose transactions this node has not checked yet queues them
    /// behind the piece under way, not behind the whole backlog, and the background
    /// does not check them again. A transaction that fails leaves the pool and its
    /// status turns to rejected. Without this, a proposer verifies what it selects
    /// itself.
    ///
    /// A round is verified in the order of transaction ids, not arrival: each validator
    /// receives a burst in its own order (its clients' first), and verifying it in one
    /// order everywhere means the first piece is verified on every validator at about
    /// the same time, so a block of it is voted on at once, with nothing left to check.
    pub fn start_preverifier(self: &Arc<Self>, window: Duration, max_batch: usize) {
        let (tx, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<(TxId, Arc<Transaction>, SystemTime)>();
        if self.preverify.set(tx).is_err() {
            return;
        }
        let node = self.clone();
        let rt = self.rt.clone();
        self.rt.spawn(
            "preverify",
            Box::pin(async move {
                let mut queue = VerificationQueue::new();
                let pending = |id: &TxId| node.mempool.get(id).is_some_and(|(_, v)| !v);
                loop {
                    let mut round = Vec::new();
                    if queue.is_empty() {
                        // Idle: the round is what is admitted within `window` of the first
                        // arrival.
                        let Some(first) = rx.recv().await else {
                            return;
                        };
                        let mut deadline = rt.sleep_until(first.2 + window);
                        round.push(first);
                        loop {
                            commonware_macros::select! {
                                more = rx.recv() => match more {
                                    Some(more) => round.push(more),
                                    None => break,
                                },
                                _ = &mut deadline => break,
                            }
                        }
                    }
                    // And what waits now (behind a backlog, all of the round: what arrived
                    // while the last piece was checked).
                    while let Ok(more) = rx.try_recv() {
                        round.push(more);
                    }
                    queue.push_round(
                        round
                            .into_iter()
                            .filter(|(id, ..)| pending(id))
                            .map(|(id, tx, _)| (id, tx))
                            .collect(),
                    );
                    // What a vote verified, or a finalized block took, since it was queued
                    // is not checked again.
                    let piece = queue.next_piece(max_batch, pending);
                    if !piece.is_empty() {
                        node.verify_txs(piece)
                            .instrument(info_span!("preverify"))
                            .await;
                    }
                }
            }),
        );
    }

    /// Whether background verification runs and has admitted transactions still to
    /// check (every admitted transaction goes to it, and leaves the pool unverified
    /// only by failing).
    pub fn verification_pending(&self) -> bool {
        self.preverify.get().is_some() && self.mempool.has_unverified()
    }

    /// Verifies the proofs and signatures of `txs`, each at most once at a time on this
    /// node: pool entries already verified pass at once, those being verified are
    /// awaited, and the rest go to the verifier thread as one batch. Pool entries that
    /// pass are marked verified; those that fail leave the pool, rejected. One verdict
    /// per transaction, in order. The verification runs on its own task, so a caller
    /// that gives up (a view that ends) wastes nothing.
    pub async fn verify_txs(
        self: &Arc<Self>,
        txs: Vec<(TxId, Arc<Transaction>)>,
    ) -> Vec<Result<(), AdmissionError>> {
        let mut waits = Vec::with_capacity(txs.len());
        let mut fresh = Vec::new();
        {
            let mut inflight = self.inflight.lock();
            for (id, tx) in txs {
                if self.mempool.is_verified(&id) {
                    waits.push(None);
                } else if let Some(w) = inflight.get(&id) {
                    waits.push(Some(w.clone()));
                } else {
                    let (send, recv) = tokio::sync::oneshot::channel();
                    let w = recv
                        .map(|r| r.unwrap_or_else(|_| Err(unavailable())))
                        .boxed()
                        .shared();
                    inflight.insert(id, w.clone());
                    waits.push(Some(w));
                    fresh.push((id, tx, send));
                }
            }
        }
        if !fresh.is_empty() {
            // Queued before this returns: calls are verified in the order they are made.
            let verdicts = self
                .verifier
                .verify(fresh.iter().map(|(_, tx, _)| tx.clone()).collect());
            let node = self.clone();
            self.rt.spawn(
                "verdicts",
                Box::pin(async move {
                    let verdicts = verdicts.await;
                    let mut passed = Vec::with_capacity(fresh.len());
                    for ((id, _, _), verdict) in fresh.iter().zip(&verdicts) {
                        match verdict {
                            Ok(()) => passed.push(*id),
                            Err(r) => {
                                node.strike_submitter(id, r);
                                if node.mempool.remove(id) {
                                    node.reject(*id, r.clone());
                                }
                            }
                        }
                    }
                    // Marked before the in-flight entries go, so a caller sees one or the other.
                    node.mempool.mark_verified(&passed);
                    metrics().mempool_size.set(node.mempool.len() as i64);
                    let mut inflight = node.inflight.lock();
                    for ((id, _, send), verdict) in fresh.into_iter().zip(verdicts) {
                        inflight.remove(&id);
                        let _ = send.send(verdict);
                    }
                }),
            );
        }
        let mut out = Vec::with_capacity(waits.len());
        for w in waits {
            out.push(match w {
                None => Ok(()),
                Some(w) => w.await,
            });
        }
        out
    }

    /// Whether all of `txs` verify, as one batch never bisected (a vote on transactions
    /// this node has not admitted needs only a yes or no).
    pub(crate) async fn verify_all(
        &self,
        txs: Vec<Arc<Transaction>>,
    ) -> Result<bool, AdmissionError> {
        self.verifier.verify_all(txs).await
    }

    /// Admits a signed operator command after checking its certificate and signature.
    pub fn submit_admin(&self, signed: &SignedAdminCommand) -> Result<TxId, AdmissionError> {
        self.admit_admin(signed, Origin::Client(None))
    }

    /// Admits a signed operator command from `origin`.
    pub fn admit_admin(
        &self,
        signed: &SignedAdminCommand,
        origin: Origin<'_>,
    ) -> Result<TxId, AdmissionError> {
        let bytes = signed.to_bytes();
        let id = signed.id();
        if bytes.len() > MAX_ADMIN_BYTES {
            return Err(Rejection::TooLarge(bytes.len()).into());
        }
        if self.already_executed(&id)? {
            return Err(Rejection::Duplicate.into());
        }
        let now = crate::runtime::epoch_secs(self.rt.now());
        signed
            .verify(&self.params, now, |fp| self.is_revoked(fp))
            .map_err(|e| Rejection::Admin(e.to_string()))?;
        let announced = matches!(origin, Origin::Client(_)).then(|| bytes.clone());
        self.mempool.insert_admin(id, bytes)?;
        if let Some(bytes) = announced {
            self.announce(Announcement::Admin(bytes));
        }
        Ok(id)
    }

    /// Where a transaction or command stands.
    pub fn status(&self, id: &TxId) -> Result<TxStatus, StorageError> {
        if let Some(loc) = self.store.tx_location(id)? {
            return Ok(match loc.rejection_code {
                None => TxStatus::Finalized {
                    height: loc.height,
                    block_hash: self
                        .store
                        .header(loc.height)?
                        .map_or(BlockHash([0; 32]), |h| h.hash),
                    index: loc.index,
                },
                Some(code) => {
                    // The words are this node's own, where it saw the refusal; a
                    // finalized block records only the code.
                    let detail = self.rejected.lock().0.get(id).map(ToString::to_string);
                    TxStatus::Rejected {
                        code,
                        detail: detail.unwrap_or_default(),
                    }
                }
            });
        }
        if self.mempool.contains(id) {
            return Ok(TxStatus::Pending);
        }
        Ok(match self.rejected.lock().0.get(id) {
            Some(r) => TxStatus::from(r),
            None => TxStatus::Unknown,
        })
    }

    /// Applies a finalized block (blocking: call from a blocking thread). Idempotent for
    /// blocks already applied.
    pub fn apply_finalized(&self, block: &Block) -> Result<Applied, ExecError> {
        let _serial = self.apply_lock.lock();
        let _span = info_span!(
            "apply",
            height = block.height,
            txs = block.transactions.len()
        )
        .entered();
        let applied = self.executor.apply_with(&self.store, block, |id| {
            self.mempool.get(id).map(|(tx, _)| tx)
        })?;
        self.executed
            .store(applied.header.height, Ordering::Release);
        if !applied.fresh {
            return Ok(applied);
        }
        // Leave the pool: included commands, and anything the block's spends invalidate.
        let included: Vec<TxId> = applied.outcomes.iter().map(|o| o.id).collect();
        for evicted in self.mempool.finalized(&included, &applied.spent) {
            // Another validator's block spent its note first.
            self.reject(evicted, Rejection::SpentNullifier.into());
        }
        // And what can no longer be in any block: expired by the next one.
        let next = applied.header.height + 1;
        let expired = self
            .mempool
            .evict(|tx: &Arc<Transaction>| tx.header.expiry_height < next);
        for (id, tx) in expired {
            let expiry = tx.header.expiry_height;
            let horizon = next.saturating_add(sable_circuits::constants::MAX_EXPIRY_DELTA);
            self.reject(
                id,
                Rejection::Expired {
                    expiry,
                    height: next,
                    horizon,
                }
                .into(),
            );
        }
        // And what the chain's regulator key no longer takes: proven for the key before
        // a rotation that takes effect with the next block (or admitted in a race with
        // this block). A schedule that cannot be read evicts nothing: execution still
        // skips such a transaction.
        if let Ok(schedule) = self.store.regulator_schedule(self.params.regulator) {
            let key = schedule.key_at(next);
            let stale = self
                .mempool
                .evict(|tx: &Arc<Transaction>| tx.header.regulator != key);
            for (id, tx) in stale {
                let rejection = Rejection::WrongRegulatorKey {
                    expected: key.to_string(),
                    found: tx.header.regulator.to_string(),
                    height: next,
                };
                self.reject(id, rejection.into());
            }
        }
        let m = metrics();
        for o in &applied.outcomes {
            let admitted = self.admitted_at.lock().remove(&o.id);
            if let Some((t, _)) = admitted {
                let latency = self.rt.now().duration_since(t).unwrap_or_default();
                m.finality_latency.observe(latency.as_secs_f64());
            }
            match &o.rejection {
                None => {
                    m.applied.inc();
                }
                Some(r) => {
                    self.reject(o.id, r.clone().into());
                }
            }
        }
        // Only operator commands change the revocation list.
        if !block.admin.is_empty() {
            if let Ok(revoked) = revocations(&self.store) {
                *self.revoked.write() = revoked;
            }
        }
        m.height.set(applied.header.height as i64);
        m.mempool_size.set(self.mempool.len() as i64);
        let _ = self.applied.send(Arc::new(AppliedEvent {
            header: applied.header.clone(),
            outcomes: applied.outcomes.clone(),
        }));
        Ok(applied)
    }
}

/// What two pending transactions may not share: their nullifiers, and a key per L1
/// deposit they mint (so two claims of one deposit conflict in the pool like a double
/// spend).
pub fn conflict_keys(tx: &Transaction) -> Vec<[u8; 32]> {
    tx.nullifiers()
        .map(|n| n.to_bytes())
        .chain(tx.deposits.iter().map(|d| {
            let mut k = [0xffu8; 32];
            k[..8].copy_from_slice(b"deposit/");
            k[8..16].copy_from_slice(&d.index.to_be_bytes());
            k
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> TxId {
        TxId([n; 32])
    }

    fn letters<T>(piece: &[(TxId, T)]) -> String {
        piece.iter().map(|(id, _)| id.0[0] as char).collect()
    }

    fn round(order: &str) -> Vec<(TxId, ())> {
        order.chars().map(|c| (id(c as u8), ())).collect()
    }

    #[test]
    fn a_round_is_verified_in_id_order_whatever_the_arrival_order() {
        // The same five transactions, as two validators received them.
        let pieces = |order: &str| {
            let mut q = VerificationQueue::new();
            q.push_round(round(order));
            let mut pieces = Vec::new();
            while !q.is_empty() {
                pieces.push(letters(&q.next_piece(2, |_| true)));
            }
            pieces
        };
        assert_eq!(pieces("eadbc"), ["ab", "cd", "e"]);
        assert_eq!(pieces("bceda"), pieces("eadbc"));
    }

    #[test]
    fn a_rounds_remainder_goes_out_with_the_next_round_ahead_of_its_ids() {
        let mut q = VerificationQueue::new();
        q.push_round(round("mkl"));
        assert_eq!(letters(&q.next_piece(2, |_| true)), "kl");
        // "m" is left over; the next round's transactions sort before it but arrived
        // after it, so they follow it, and it is not checked as a batch of one.
        q.push_round(round("cab"));
        assert_eq!(letters(&q.next_piece(3, |_| true)), "mab");
        assert_eq!(letters(&q.next_piece(3, |_| true)), "c");
        assert!(q.is_empty());
        assert!(q.next_piece(3, |_| true).is_empty());
    }

    #[test]
    fn pieces_skip_what_no_longer_needs_checking_and_a_cap_of_0_is_1() {
        let mut q = VerificationQueue::new();
        q.push_round(round("abcde"));
        // "b" and "c" were checked for a vote meanwhile: the piece takes the next ones.
        let pending = |id: &TxId| !matches!(id.0[0], b'b' | b'c');
        assert_eq!(letters(&q.next_piece(2, pending)), "ad");
        assert_eq!(letters(&q.next_piece(0, pending)), "e");
        assert!(q.is_empty());
    }
}
