//! Stateless verification of transactions (encoding, signatures, proofs) in batches,
//! on a dedicated thread whose batch verification fans out over rayon, never on the
//! async runtime's threads. Each transaction's proofs are checked against the regulator
//! key its header names, so a verdict never depends on the height the transaction
//! lands at; whether that key is the chain's at that height is a stateful check
//! ([`crate::state_check::check_regulator_key`]).
//!
//! Requests that arrive while a batch is being verified are verified together in the
//! next batch: all RedPallas signatures in one batch and all Halo2 proofs in one
//! multi-proof check ([`BatchValidator`]), up to a cap on transactions per batch. The cap
//! keeps results flowing under a backlog: a proposer can use the first few hundred
//! verified transactions while the rest are checked, rather than wait for all of them.
//! If a batch fails it is split in halves and each half checked again, down to single
//! transactions whose own verification names the failure: one bad transaction among
//! `n` costs about `2·log2(n)` batch checks of shrinking size (about twice the batch's
//! work), not `n` single checks. A panic inside verification (a bug on hostile input,
//! in this code or a dependency) is caught: it counts as that batch failing, and at a
//! single transaction becomes its rejection. The verifier never dies of its input.
//!
//! A vote needs only a yes or no: [`Verifier::verify_all`] checks its transactions as
//! one batch of their own and answers no on the first failure, without bisecting, so a
//! leader that stuffs a proposal with junk proofs costs each voter one batch check.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures::channel::oneshot;
use sable_circuits::{
    circuit::VerifyingKey,
    transaction::{BatchValidator, Transaction, TxError},
};

use sable_primitives::{AdmissionError, Rejection};

/// Where a request's answer goes.
enum Reply {
    /// One verdict per transaction (failed batches are bisected).
    Each(oneshot::Sender<Vec<Result<(), Rejection>>>),
    /// Whether all verify (a batch of its own, never bisected).
    All(oneshot::Sender<bool>),
}
type Job = (Vec<Arc<Transaction>>, Reply);

/// Told of every batch a [`Verifier`] checks (the node's telemetry implements it; this
/// crate records no metrics of its own).
pub trait BatchObserver: Send + Sync + 'static {
    /// A batch of `actions` shielded actions (proofs and signatures) was checked in `took`.
    fn batch_verified(&self, actions: usize, took: Duration);
}

/// Observes nothing.
impl BatchObserver for () {
    fn batch_verified(&self, _: usize, _: Duration) {}
}

/// Handle to the verification thread (cheap to clone).
#[derive(Clone)]
pub struct Verifier {
    mode: Mode,
    checked: Arc<AtomicU64>,
    batches: Arc<AtomicU64>,
}

/// Where batches are verified.
#[derive(Clone)]
enum Mode {
    /// On the verification thread, in the order requests are queued.
    Threaded(std::sync::mpsc::Sender<Job>),
    /// At the call, on the caller's thread (see [`Verifier::inline`]).
    Inline {
        vk: Arc<VerifyingKey>,
        observer: Arc<dyn BatchObserver>,
    },
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier")
    }
}

/// Maps a stateless verification failure to its rejection.
pub fn rejection_of(e: TxError) -> Rejection {
    match e {
        TxError::BadProof(_) | TxError::BadDepositProof(_) => {
            Rejection::InvalidProof(e.to_string())
        }
        TxError::BadIssuerSignature(_)
        | TxError::BadSpendAuth { .. }
        | TxError::BadBindingSignature(_) => Rejection::InvalidSignature(e.to_string()),
        other => Rejection::Malformed(other.to_string()),
    }
}

/// What a panic carried, as text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// How verifying a batch went.
struct BatchRun {
    /// Transactions the batch queued (their structure passed).
    queued: Vec<usize>,
    /// Transactions refused before any cryptography, with why.
    refused: Vec<(usize, Rejection)>,
    /// Shielded actions queued.
    actions: usize,
    /// Whether every queued signature and proof verified.
    valid: bool,
}

/// Verifies `txs[i]` for every `i` in `which` as one batch.
fn run_batch(vk: &VerifyingKey, txs: &[Arc<Transaction>], which: &[usize]) -> BatchRun {
    let mut batch = BatchValidator::new();
    let (mut queued, mut refused) = (Vec::new(), Vec::new());
    for &i in which {
        match batch.add(&txs[i]) {
            Ok(()) => queued.push(i),
            Err(e) => refused.push((i, rejection_of(e))),
        }
    }
    let actions = batch.actions();
    // Every batch with anything queued is validated: a batch of issuances alone has no
    // proofs but still has signatures to check.
    let valid = queued.is_empty() || batch.validate(vk, &mut rand::rng());
    BatchRun {
        queued,
        refused,
        actions,
        valid,
    }
}

/// Runs `f`, turning a panic into its message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|panic| panic_message(panic.as_ref()))
}

/// Decides `which` into `results` (see the module docs): `batch` checks a set of
/// transactions together, `single` names one transaction's failure. A failed batch is
/// split in halves until each failing transaction stands alone; a panic in either
/// counts as a failure (and a transaction whose own check panics is refused). Returns
/// the actions the first batch queued.
fn bisect(
    which: &[usize],
    batch: &dyn Fn(&[usize]) -> BatchRun,
    single: &dyn Fn(usize) -> Result<(), Rejection>,
    results: &mut [Result<(), Rejection>],
) -> usize {
    let (suspects, actions) = match guarded(|| batch(which)) {
        Ok(run) => {
            for (i, r) in run.refused {
                results[i] = Err(r);
            }
            if run.valid {
                return run.actions;
            }
            (run.queued, run.actions)
        }
        Err(message) => {
            tracing::error!(%message, txs = which.len(), "a verification batch panicked; bisecting it");
            (which.to_vec(), 0)
        }
    };
    if let [one] = suspects[..] {
        results[one] = guarded(|| single(one)).unwrap_or_else(|message| {
            tracing::error!(%message, "verifying a transaction panicked; it is refused");
            Err(Rejection::Malformed(format!(
                "verification failed: {message}"
            )))
        });
        return actions;
    }
    let (left, right) = suspects.split_at(suspects.len() / 2);
    for half in [left, right] {
        if !half.is_empty() {
            bisect(half, batch, single, results);
        }
    }
    actions
}

/// Whether every one of `txs` verifies: one batch, no bisection, a panic counts as no.
fn verify_all_batch(
    vk: &VerifyingKey,
    txs: &[Arc<Transaction>],
    observer: &dyn BatchObserver,
) -> bool {
    let started = Instant::now();
    let all: Vec<usize> = (0..txs.len()).collect();
    match guarded(|| run_batch(vk, txs, &all)) {
        Ok(run) => {
            observer.batch_verified(run.actions, started.elapsed());
            run.valid && run.refused.is_empty()
        }
        Err(message) => {
            tracing::error!(%message, txs = txs.len(), "a verification batch panicked; answering no");
            false
        }
    }
}

fn verify_batch(
    vk: &VerifyingKey,
    txs: &[Arc<Transaction>],
    observer: &dyn BatchObserver,
) -> Vec<Result<(), Rejection>> {
    let started = Instant::now();
    let mut results = vec![Ok(()); txs.len()];
    let all: Vec<usize> = (0..txs.len()).collect();
    let actions = if all.is_empty() {
        0
    } else {
        bisect(
            &all,
            &|which| run_batch(vk, txs, which),
            &|i| txs[i].verify(vk).map_err(rejection_of),
            &mut results,
        )
    };
    observer.batch_verified(actions, started.elapsed());
    results
}

/// The requests at the front of `backlog` that make the next batch: at least one, and
/// then as many as keep it within `max` transactions. A yes-or-no request
/// ([`Reply::All`]) is a batch of its own.
fn next_batch<T>(backlog: &mut VecDeque<(Vec<T>, Reply)>, max: usize) -> Vec<(Vec<T>, Reply)> {
    let mut batch = Vec::new();
    let mut size = 0;
    while let Some((txs, reply)) = backlog.front() {
        let alone = matches!(reply, Reply::All(_));
        if !batch.is_empty() && (alone || size + txs.len() > max) {
            break;
        }
        if alone {
            batch.extend(backlog.pop_front());
            break;
        }
        size += txs.len();
        batch.extend(backlog.pop_front());
    }
    batch
}

impl Verifier {
    /// Starts the verification thread. Its batches fan out over `threads` threads of
    /// their own (0: rayon's global pool, one thread per core). Validators sharing a
    /// machine each take a share of the cores: more threads than cores between them
    /// only adds switching. A batch takes waiting requests whole, in order, up to
    /// `max_batch` transactions (a larger request is one batch of its own). `observer`
    /// is told of each batch.
    pub fn start(
        vk: Arc<VerifyingKey>,
        threads: usize,
        max_batch: usize,
        observer: Arc<dyn BatchObserver>,
    ) -> Self {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let pool = (threads > 0)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("sable-verify-{i}"))
                    .build()
                    .map_err(|e| tracing::error!(%e, "cannot start verification threads; using the global pool"))
                    .ok()
            })
            .flatten();
        let (checked, batches) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (counter, batch_counter) = (checked.clone(), batches.clone());
        std::thread::Builder::new()
            .name("sable-verifier".into())
            .spawn(move || {
                // The batch verifier's tables, before the first batch needs them.
                vk.warm_up();
                let mut backlog = VecDeque::new();
                loop {
                    if backlog.is_empty() {
                        match rx.recv() {
                            Ok(first) => backlog.push_back(first),
                            Err(_) => return,
                        }
                    }
                    backlog.extend(rx.try_iter());
                    let mut pending = next_batch(&mut backlog, max_batch);
                    if let [(txs, Reply::All(_))] = &pending[..] {
                        counter.fetch_add(txs.len() as u64, Ordering::Relaxed);
                        batch_counter.fetch_add(1, Ordering::Relaxed);
                        let run = || verify_all_batch(&vk, txs, observer.as_ref());
                        let ok = match &pool {
                            Some(p) => p.install(run),
                            None => run(),
                        };
                        if let Some((_, Reply::All(reply))) = pending.pop() {
                            let _ = reply.send(ok);
                        }
                        continue;
                    }
                    let all: Vec<Arc<Transaction>> = pending
                        .iter()
                        .flat_map(|(t, _)| t.iter().cloned())
                        .collect();
                    counter.fetch_add(all.len() as u64, Ordering::Relaxed);
                    batch_counter.fetch_add(1, Ordering::Relaxed);
                    let started = Instant::now();
                    let run = || verify_batch(&vk, &all, observer.as_ref());
                    // verify_batch catches what verification throws; this keeps the
                    // thread alive even past a bug in the batching itself (whose
                    // callers then hear "unavailable" and may ask again).
                    let results = guarded(|| match &pool {
                        Some(p) => p.install(run),
                        None => run(),
                    });
                    let mut results = match results {
                        Ok(results) => results.into_iter(),
                        Err(message) => {
                            tracing::error!(%message, "the verifier's batching panicked");
                            continue;
                        }
                    };
                    tracing::debug!(
                        txs = all.len(),
                        waiting = backlog.iter().map(|(t, _)| t.len()).sum::<usize>(),
                        ms = started.elapsed().as_millis() as u64,
                        "verified a batch"
                    );
                    for (txs, reply) in pending {
                        let mine: Vec<_> = results.by_ref().take(txs.len()).collect();
                        if let Reply::Each(reply) = reply {
                            let _ = reply.send(mine);
                        }
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(%e, "cannot start the verifier thread"));
        Verifier {
            mode: Mode::Threaded(jobs),
            checked,
            batches,
        }
    }

    /// A verifier with no thread of its own: each request is verified as one batch at
    /// the call, on the caller's thread, before [`Verifier::verify`] returns its (then
    /// ready) future. For runtimes where work on another thread would make results
    /// arrive at times no one controls: on `commonware_runtime::deterministic`, a
    /// verdict from a thread lands in whichever executor step happens to follow it, so a
    /// seeded simulation would not replay; inline, it lands in the step that asked.
    pub fn inline(vk: Arc<VerifyingKey>, observer: Arc<dyn BatchObserver>) -> Self {
        Verifier {
            mode: Mode::Inline { vk, observer },
            checked: Arc::new(AtomicU64::new(0)),
            batches: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Transactions this verifier has checked since it started (each check counts).
    pub fn transactions_checked(&self) -> u64 {
        self.checked.load(Ordering::Relaxed)
    }

    /// Batches this verifier has checked since it started.
    pub fn batches_checked(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Verifies `txs`: they are queued at the call, behind what is queued already
    /// (requests are verified in the order they are made), and the future resolves to
    /// one result per transaction, in order.
    pub fn verify(
        &self,
        txs: Vec<Arc<Transaction>>,
    ) -> impl std::future::Future<Output = Vec<Result<(), AdmissionError>>> + Send + 'static {
        let n = txs.len();
        let (tx, rx) = oneshot::channel();
        let queued = match &self.mode {
            Mode::Threaded(jobs) => jobs.send((txs, Reply::Each(tx))).is_ok(),
            Mode::Inline { vk, observer } => {
                self.checked.fetch_add(n as u64, Ordering::Relaxed);
                self.batches.fetch_add(1, Ordering::Relaxed);
                tx.send(verify_batch(vk, &txs, observer.as_ref())).is_ok()
            }
        };
        async move {
            match if queued { rx.await.ok() } else { None } {
                Some(verdicts) => verdicts
                    .into_iter()
                    .map(|v| v.map_err(AdmissionError::from))
                    .collect(),
                None => vec![Err(unavailable()); n],
            }
        }
    }
}

impl Verifier {
    /// Whether every one of `txs` verifies, checked as one batch of their own and never
    /// bisected (a vote needs a yes or no, not the culprits). Queued behind what is
    /// queued already; `Err` when the verifier has stopped.
    pub fn verify_all(
        &self,
        txs: Vec<Arc<Transaction>>,
    ) -> impl std::future::Future<Output = Result<bool, AdmissionError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let queued = match &self.mode {
            Mode::Threaded(jobs) => jobs.send((txs, Reply::All(tx))).is_ok(),
            Mode::Inline { vk, observer } => {
                self.checked.fetch_add(txs.len() as u64, Ordering::Relaxed);
                self.batches.fetch_add(1, Ordering::Relaxed);
                tx.send(verify_all_batch(vk, &txs, observer.as_ref()))
                    .is_ok()
            }
        };
        async move {
            match if queued { rx.await.ok() } else { None } {
                Some(ok) => Ok(ok),
                None => Err(unavailable()),
            }
        }
    }
}

/// The verdict for a transaction whose verifier has stopped.
pub fn unavailable() -> AdmissionError {
    AdmissionError::Unavailable("verifier unavailable".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlog(sizes: &[usize]) -> VecDeque<(Vec<()>, Reply)> {
        sizes
            .iter()
            .map(|&n| (vec![(); n], Reply::Each(oneshot::channel().0)))
            .collect()
    }

    fn sizes(batch: &[(Vec<()>, Reply)]) -> Vec<usize> {
        batch.iter().map(|(t, _)| t.len()).collect()
    }

    /// A batch check over transactions `bad` (invalid) and `panics` (whose check
    /// panics), counting the batches it was asked to check.
    fn decide(n: usize, bad: &[usize], panics: &[usize]) -> (Vec<Result<(), Rejection>>, usize) {
        let batches = std::cell::Cell::new(0);
        let batch = |which: &[usize]| {
            batches.set(batches.get() + 1);
            if which.iter().any(|i| panics.contains(i)) {
                panic!("a dependency's bug on hostile input");
            }
            BatchRun {
                queued: which.to_vec(),
                refused: vec![],
                actions: which.len() * 2,
                valid: !which.iter().any(|i| bad.contains(i)),
            }
        };
        let single = |i: usize| {
            if panics.contains(&i) {
                panic!("again, alone");
            }
            if bad.contains(&i) {
                Err(Rejection::InvalidProof(format!("tx {i}")))
            } else {
                Ok(())
            }
        };
        let mut results = vec![Ok(()); n];
        let all: Vec<usize> = (0..n).collect();
        bisect(&all, &batch, &single, &mut results);
        (results, batches.get())
    }

    #[test]
    fn a_failed_batch_is_bisected_to_its_culprits() {
        // One bad transaction in 256: 1 + 2·8 batch checks, not 256 single ones.
        let (results, batches) = decide(256, &[77], &[]);
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_err(), i == 77, "tx {i}");
        }
        assert_eq!(results[77], Err(Rejection::InvalidProof("tx 77".into())));
        assert_eq!(batches, 1 + 2 * 8);
        // Several culprits, at the edges too.
        let (results, _) = decide(100, &[0, 50, 99], &[]);
        let refused: Vec<usize> = (0..100).filter(|i| results[*i].is_err()).collect();
        assert_eq!(refused, [0, 50, 99]);
        // A valid batch is checked once.
        assert_eq!(decide(64, &[], &[]).1, 1);
    }

    #[test]
    fn a_panic_in_verification_refuses_its_transaction_and_nothing_else() {
        let (results, _) = decide(16, &[3], &[9]);
        for (i, r) in results.iter().enumerate() {
            match i {
                3 => assert_eq!(r, &Err(Rejection::InvalidProof("tx 3".into()))),
                9 => assert!(
                    matches!(r, Err(Rejection::Malformed(m)) if m.contains("again, alone")),
                    "{r:?}"
                ),
                _ => assert_eq!(r, &Ok(()), "tx {i}"),
            }
        }
    }

    #[test]
    fn batches_take_waiting_requests_in_order_up_to_the_cap() {
        let mut b = backlog(&[100, 100, 56, 1, 300, 10]);
        assert_eq!(sizes(&next_batch(&mut b, 256)), [100, 100, 56]);
        // The next request would pass the cap: it waits, however small.
        assert_eq!(sizes(&next_batch(&mut b, 256)), [1]);
        // A request over the cap is a batch of its own.
        assert_eq!(sizes(&next_batch(&mut b, 256)), [300]);
        assert_eq!(sizes(&next_batch(&mut b, 256)), [10]);
        assert!(next_batch(&mut b, 256).is_empty());
    }

    #[test]
    fn a_yes_or_no_request_is_a_batch_of_its_own() {
        let mut b = backlog(&[10, 20]);
        b.insert(1, (vec![(); 5], Reply::All(oneshot::channel().0)));
        assert_eq!(sizes(&next_batch(&mut b, 256)), [10]);
        assert_eq!(sizes(&next_batch(&mut b, 256)), [5]);
        assert_eq!(sizes(&next_batch(&mut b, 256)), [20]);
    }
}
