//! The runtime the node's own background work runs on, behind one object-safe handle,
//! so [`crate::node::Node`] stays a plain (non-generic) type that the API, consensus and
//! tests share as `Arc<Node>`.
//!
//! Two implementations: [`TokioRt`] (plain `tokio::spawn`, `spawn_blocking` and the
//! system clock: the daemon and `#[tokio::test]` callers), and [`RtOf`] over any
//! commonware runtime context (on `commonware_runtime::deterministic` every spawn,
//! blocking or not, runs on the one seeded executor and the clock is simulated, which is
//! what makes a multi-validator simulation reproducible).
//!
//! Must never: be used for work whose result decides consensus or state with a clock
//! other than the one the handle gives (a wall clock read beside a simulated one makes a
//! simulation unreproducible).

use std::{future::Future, pin::Pin, time::SystemTime};

use commonware_runtime::{Clock, Spawner};

/// A boxed future that the runtime may move between threads.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Spawning and time for the node's background work.
pub trait Rt: Send + Sync + 'static {
    /// The current time (the system clock, or the simulated one).
    fn now(&self) -> SystemTime;
    /// Resolves at `deadline` (at once when it has passed).
    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture;
    /// Runs `f` as a task of its own; `label` names it (snake case: it becomes a metric
    /// label on commonware runtimes).
    fn spawn(&self, label: &'static str, f: BoxFuture);
    /// Runs blocking work `f` where it does not hold up the async tasks (on the
    /// deterministic runtime: inline, on the executor).
    fn spawn_blocking(&self, label: &'static str, f: Box<dyn FnOnce() + Send + 'static>);
}

/// Runs blocking `f` on `rt` and awaits its result; `None` when the task was dropped
/// before it finished (the runtime is shutting down, or `f` panicked).
pub async fn blocking<T: Send + 'static>(
    rt: &dyn Rt,
    label: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    rt.spawn_blocking(
        label,
        Box::new(move || {
            let _ = tx.send(f());
        }),
    );
    rx.await.ok()
}

/// Milliseconds since the Unix epoch of `t` (0 before it).
pub fn epoch_millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Seconds since the Unix epoch of `t` (0 before it), as certificates' validity and
/// operator commands read time.
pub fn epoch_secs(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The tokio runtime the caller is on, and the system clock. Spawning outside a tokio
/// runtime panics, as `tokio::spawn` does.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioRt;

impl Rt for TokioRt {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture {
        let wait = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }

    fn spawn(&self, _label: &'static str, f: BoxFuture) {
        tokio::spawn(f);
    }

    fn spawn_blocking(&self, _label: &'static str, f: Box<dyn FnOnce() + Send + 'static>) {
        tokio::task::spawn_blocking(f);
    }
}

/// A commonware runtime context as an [`Rt`]. Tasks are spawned as children of this
/// context, so they stop with the task that created it: give it a context that lives as
/// long as the node (e.g. `validator_context.child("node")`), not one a view or request
/// owns.
pub struct RtOf<E>(pub E);

impl<E> std::fmt::Debug for RtOf<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RtOf")
    }
}

impl<E: Spawner + Clock> Rt for RtOf<E> {
    fn now(&self) -> SystemTime {
        self.0.current()
    }

    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture {
        Box::pin(self.0.sleep_until(deadline))
    }

    fn spawn(&self, label: &'static str, f: BoxFuture) {
        // Detached: dropping the handle does not stop the task.
        drop(self.0.child(label).spawn(move |_| f));
    }

    fn spawn_blocking(&self, label: &'static str, f: Box<dyn FnOnce() + Send + 'static>) {
        drop(
            self.0
                .child(label)
                .shared(true)
                .spawn(move |_| async move { f() }),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use commonware_runtime::{deterministic, Runner as _, Supervisor as _};
    use std::time::Duration;

    #[test]
    fn a_context_handle_spawns_and_sleeps_on_the_simulated_clock() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let cfg = deterministic::Config::new()
            .with_seed(7)
            .with_start_time(start);
        deterministic::Runner::new(cfg).start(|context| async move {
            let rt = RtOf(context.child("node"));
            assert_eq!(rt.now(), start);
            let answer = blocking(&rt, "answer", || 42).await;
            assert_eq!(answer, Some(42));
            let (tx, rx) = tokio::sync::oneshot::channel();
            let deadline = start + Duration::from_secs(5);
            let sleep = rt.sleep_until(deadline);
            rt.spawn(
                "sleeper",
                Box::pin(async move {
                    sleep.await;
                    let _ = tx.send(());
                }),
            );
            rx.await.unwrap();
            // The executor advances its clock one cycle (1 ms) past the wake-up.
            let woke = rt.now();
            assert!(
                woke >= deadline && woke <= deadline + Duration::from_millis(10),
                "simulated time moved to the deadline: {woke:?}"
            );
            assert_eq!(epoch_millis(deadline), 1_000_005_000);
        });
    }
}
