//! Mempool gossip and peer liveness between validators, over the same authenticated,
//! encrypted p2p transport as consensus (its own channel).
//!
//! A transaction or operator command a client submits to one validator is admitted
//! there, then announced to every other validator, which runs the admission checks
//! itself before putting it in its own pool. So every leader proposes everything
//! pending, rather than waiting for the validator that admitted it to lead. Gossip is
//! best effort: an announcement that is lost or refused leaves the command in the
//! admitting validator's pool, which proposes it when it leads.
//!
//! Every validator also sends a heartbeat each second; the validators heard from in the
//! last [`LIVE`] are the node's connected peers (`Chain.GetStatus`, metric
//! `sable_connected_peers`).
//!
//! A validator that starts hearing a peer (at its own start, or after a silence longer
//! than [`LIVE`]) asks it for its pool, and the peer sends what it has pending, as
//! announcements: what a restarted or cut-off validator missed reaches its pool, rather
//! than reaching it first in a proposal it must then decode and check while voting. A
//! peer serves one such request per [`LIVE`].
//!
//! Announcements waiting together when the sender gets to them (a burst of
//! submissions) go out as one message, so the transport's cost per message is paid
//! once for the lot; a lone announcement goes out at once, by itself.
//!
//! # Messages
//! ```text
//! message      = 0                                (heartbeat)
//!              | announcement
//!              | 3 || count:u32 || (len:u32 || announcement)*
//!              | 4                                (send me your pending pool)
//! announcement = 1 || transaction bytes
//!              | 2 || signed operator command bytes
//! ```

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, SystemTime},
};

use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Spawner};
use parking_lot::Mutex;
use tokio::sync::{mpsc, Semaphore};

use sable_circuits::encoding::{Reader, Writer};

use crate::{
    liveness::StatusSource,
    node::{Announcement, Node, Origin},
    runtime::Rt,
    telemetry::metrics,
};
use sable_primitives::admin::SignedAdminCommand;

/// The p2p channel of gossip (consensus uses 0–4).
pub const CHANNEL: u64 = 5;
/// How often a validator announces it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A peer heard from within this window counts as connected.
pub const LIVE: Duration = Duration::from_secs(3);
/// Announcements waiting to be sent (beyond this, new ones are dropped).
pub const OUTBOX: usize = 8192;
/// Gossiped transactions being admitted at once (beyond this, arrivals are dropped).
const IN_FLIGHT: usize = 1024;
/// Pool requests and answers waiting for the sender (beyond this, they are dropped).
const DIRECT: usize = 64;

/// Most bytes of announcements put in one message.
const BATCH_BYTES: usize = 1 << 20;
/// Most announcements in one message.
const BATCH_ITEMS: usize = 1024;

/// Tag of a heartbeat.
pub const TAG_HEARTBEAT: u8 = 0;
/// Tag of a transaction's announcement.
pub const TAG_TX: u8 = 1;
/// Tag of an operator command's announcement.
pub const TAG_ADMIN: u8 = 2;
/// Tag of a batch of announcements.
pub const TAG_BATCH: u8 = 3;
/// Tag of a request for the receiver's pending pool.
pub const TAG_POOL_REQUEST: u8 = 4;

/// Which validators this node has heard from, and when (on the node's clock: whether a
/// peer is heard anew decides whether its pool is asked for).
pub struct PeerLiveness {
    validators: u32,
    clock: Arc<dyn Rt>,
    seen: Mutex<HashMap<Vec<u8>, SystemTime>>,
}

impl std::fmt::Debug for PeerLiveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerLiveness")
            .field("validators", &self.validators)
            .field("seen", &self.seen.lock().len())
            .finish()
    }
}

/// Whether a peer last heard at `t` is silent at `now` (a clock that went back counts
/// no silence).
fn silent(t: SystemTime, now: SystemTime) -> bool {
    now.duration_since(t).unwrap_or_default() > LIVE
}

impl PeerLiveness {
    /// Liveness for a set of `validators` (this node included), on `clock`.
    pub fn new(validators: u32, clock: Arc<dyn Rt>) -> Self {
        PeerLiveness {
            validators,
            clock,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records a message from `peer`; returns whether this node starts hearing it (never
    /// heard before, or silent for longer than [`LIVE`]).
    pub fn heard(&self, peer: &[u8]) -> bool {
        let now = self.clock.now();
        let before = self.seen.lock().insert(peer.to_vec(), now);
        before.is_none_or(|t| silent(t, now))
    }

    /// Peers heard from within [`LIVE`].
    pub fn live(&self) -> u32 {
        let now = self.clock.now();
        let seen = self.seen.lock();
        seen.values().filter(|t| !silent(**t, now)).count() as u32
    }
}

impl StatusSource for PeerLiveness {
    fn validators(&self) -> u32 {
        self.validators
    }
    fn connected_peers(&self) -> u32 {
        self.live()
    }
}

/// How many validators gossip should reach: those whose certificates are not revoked,
/// this node aside. Consensus's peer tracking keeps it current; the sender counts what
/// falls short of it as unsent (`sable_gossip_unsent`), so a revoked validator, which
/// no one may reach, is not counted as missed.
#[derive(Debug)]
pub struct Reach(AtomicUsize);

impl Reach {
    /// `peers` validators to reach.
    pub fn new(peers: usize) -> Self {
        Reach(AtomicUsize::new(peers))
    }

    /// From now on, `peers` validators to reach.
    pub fn set(&self, peers: usize) {
        self.0.store(peers, Ordering::Relaxed);
    }

    /// Validators to reach.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

fn tagged(a: &Announcement) -> (u8, &[u8]) {
    match a {
        Announcement::Tx(b) => (TAG_TX, b),
        Announcement::Admin(b) => (TAG_ADMIN, b),
    }
}

/// One message for `batch` (not empty): the announcement itself when it is alone.
/// Public for the decoders' fuzzer (`sable-fuzz`), which starts from real messages.
pub fn encode(batch: &[Announcement]) -> Vec<u8> {
    let mut w = Writer::new();
    if let [a] = batch {
        let (tag, bytes) = tagged(a);
        w.u8(tag).bytes(bytes);
    } else {
        w.u8(TAG_BATCH).count(batch.len());
        for a in batch {
            let (tag, bytes) = tagged(a);
            w.count(1 + bytes.len()).u8(tag).bytes(bytes);
        }
    }
    w.into_bytes()
}

/// The announcements in a batch message's body, or `None` when it is malformed.
/// Public for the decoders' fuzzer (`sable-fuzz`): it reads a peer's bytes.
pub fn decode_batch(body: &[u8]) -> Option<Vec<&[u8]>> {
    let mut r = Reader::new(body);
    let n = r.count("gossip batch", BATCH_ITEMS).ok()?;
    let items = (0..n)
        .map(|_| r.var_bytes("announcement", BATCH_BYTES).ok())
        .collect::<Option<Vec<_>>>()?;
    r.finish().ok()?;
    Some(items)
}

/// Whether a batch of `items` announcements and `size` bytes takes another.
fn has_room(items: usize, size: usize) -> bool {
    items < BATCH_ITEMS && size < BATCH_BYTES
}

/// `first` and what else waits in `outbox` now, within the batch's limits.
fn gather(first: Announcement, outbox: &mut mpsc::Receiver<Announcement>) -> Vec<Announcement> {
    let mut size = tagged(&first).1.len();
    let mut batch = vec![first];
    while has_room(batch.len(), size) {
        match outbox.try_recv() {
            Ok(a) => {
                size += tagged(&a).1.len();
                batch.push(a);
            }
            Err(_) => break,
        }
    }
    batch
}

/// `all` as messages within the batch's limits, in order.
fn batches(all: Vec<Announcement>) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    let mut batch = Vec::new();
    let mut size = 0;
    for a in all {
        if !batch.is_empty() && !has_room(batch.len(), size) {
            messages.push(encode(&batch));
            batch.clear();
            size = 0;
        }
        size += tagged(&a).1.len();
        batch.push(a);
    }
    if !batch.is_empty() {
        messages.push(encode(&batch));
    }
    messages
}

/// A message for one peer, from the receiving side.
#[derive(Debug)]
enum Direct<P> {
    /// Ask `P` for its pending pool: this node starts hearing it.
    AskPool(P),
    /// Send `P` this node's pending pool: it asked.
    SendPool(P),
}

/// Peers' requests for this node's pool: each peer is served at most once per [`LIVE`]
/// (a validator asks when it starts hearing this node, so asking more often means it
/// restarted at once, or misbehaves); a request within that time is served when it
/// ends.
#[derive(Debug)]
struct PoolRequests<P> {
    served: HashMap<P, SystemTime>,
    deferred: Vec<P>,
}

impl<P> Default for PoolRequests<P> {
    fn default() -> Self {
        PoolRequests {
            served: HashMap::new(),
            deferred: Vec::new(),
        }
    }
}

impl<P: Clone + Eq + std::hash::Hash> PoolRequests<P> {
    /// `peer` asks at `now`: `Some(peer)` to serve it now, or `None` when it is deferred.
    fn asked_at(&mut self, peer: P, now: SystemTime) -> Option<P> {
        match self.served.get(&peer) {
            Some(t) if now.duration_since(*t).unwrap_or_default() < LIVE => {
                if !self.deferred.contains(&peer) {
                    self.deferred.push(peer);
                }
                None
            }
            _ => {
                self.served.insert(peer.clone(), now);
                Some(peer)
            }
        }
    }

    /// Deferred requests to serve at `now`.
    fn due_at(&mut self, now: SystemTime) -> Vec<P> {
        let deferred = std::mem::take(&mut self.deferred);
        deferred
            .into_iter()
            .filter_map(|peer| self.asked_at(peer, now))
            .collect()
    }
}

/// Sends `node`'s pending pool to `peer`, in batches.
fn send_pool<S: Sender>(node: &Node, sender: &mut S, peer: S::PublicKey) {
    let pending = node.pending_announcements();
    let n = pending.len();
    for message in batches(pending) {
        if sender
            .send(Recipients::One(peer.clone()), message, false)
            .is_empty()
        {
            metrics().gossip_unsent.inc();
        }
    }
    metrics().gossip_pool_sent.inc_by(n as u64);
    tracing::debug!(%peer, announcements = n, "pending pool sent to a peer that asked");
}

/// Sends this node's announcements and heartbeats to the peers it may reach, and what
/// the receiving side asks for to one peer, until the outbox closes.
async fn send_loop<E: Clock, S: Sender>(
    clock: E,
    node: Arc<Node>,
    mut sender: S,
    mut outbox: mpsc::Receiver<Announcement>,
    mut direct: mpsc::Receiver<Direct<S::PublicKey>>,
    reach: Arc<Reach>,
) {
    // The first beat at once, then one HEARTBEAT after the last (a late beat delays the
    // next rather than bunching them).
    let mut beat = clock.current();
    let mut pools = PoolRequests::default();
    loop {
        // Biased, in this order: a select that drew its branch at random would make a
        // simulation on the deterministic runtime unreproducible.
        let message = commonware_macros::select! {
            a = outbox.recv() => match a {
                Some(a) => encode(&gather(a, &mut outbox)),
                None => return,
            },
            _ = clock.sleep_until(beat) => {
                let now = clock.current();
                beat = now + HEARTBEAT;
                for peer in pools.due_at(now) {
                    send_pool(&node, &mut sender, peer);
                }
                vec![TAG_HEARTBEAT]
            },
            Some(d) = direct.recv() => {
                match d {
                    Direct::AskPool(peer) => {
                        if sender
                            .send(Recipients::One(peer), vec![TAG_POOL_REQUEST], false)
                            .is_empty()
                        {
                            metrics().gossip_unsent.inc();
                        }
                    }
                    Direct::SendPool(peer) => {
                        if let Some(peer) = pools.asked_at(peer, clock.current()) {
                            send_pool(&node, &mut sender, peer);
                        }
                    }
                }
                continue;
            },
        };
        // Offline or rate-limited peers miss it; gossip is best effort.
        let len = message.len();
        let sent = sender.send(Recipients::All, message, false).len();
        let missed = reach.get().saturating_sub(sent);
        if missed > 0 {
            metrics().gossip_unsent.inc_by(missed as u64);
            tracing::debug!(len, missed, "gossip not handed to every peer");
        }
    }
}

/// Admits what peers announce, records who is alive, asks a peer it starts hearing for
/// its pool and has the sender answer such requests, until the channel closes.
async fn receive_loop<E: Spawner, R: Receiver>(
    context: E,
    node: Arc<Node>,
    mut receiver: R,
    liveness: Arc<PeerLiveness>,
    direct: mpsc::Sender<Direct<R::PublicKey>>,
) {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let (peer, message) = match receiver.recv().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%e, "gossip channel closed");
                return;
            }
        };
        if liveness.heard(peer.as_ref()) {
            // Best effort: with the sender's queue full, the pool reaches it in blocks.
            let _ = direct.try_send(Direct::AskPool(peer.clone()));
        }
        let bytes = message.as_ref();
        match bytes.split_first() {
            Some((&TAG_HEARTBEAT, [])) => {}
            Some((&TAG_POOL_REQUEST, [])) => {
                let _ = direct.try_send(Direct::SendPool(peer));
            }
            Some((&TAG_BATCH, body)) => match decode_batch(body) {
                Some(items) => {
                    for a in items {
                        admit(&context, &node, &permits, a);
                    }
                }
                None => {
                    tracing::warn!(len = bytes.len(), "malformed gossip batch from a validator")
                }
            },
            _ => admit(&context, &node, &permits, bytes),
        }
    }
}

/// Admits one announcement from a peer on its own task, dropped when [`IN_FLIGHT`] are
/// being admitted already: neither a transaction's checks nor an operator command's
/// signatures and storage read hold up the receive loop (review L5).
fn admit<E: Spawner>(context: &E, node: &Arc<Node>, permits: &Arc<Semaphore>, announcement: &[u8]) {
    enum Incoming {
        Tx(Vec<u8>),
        Admin(SignedAdminCommand),
    }
    let incoming = match announcement.split_first() {
        Some((&TAG_TX, tx)) => Incoming::Tx(tx.to_vec()),
        Some((&TAG_ADMIN, cmd)) => match SignedAdminCommand::from_bytes(cmd) {
            Ok(signed) => Incoming::Admin(signed),
            Err(e) => return tracing::warn!(%e, "malformed operator command from a validator"),
        },
        _ => {
            return tracing::warn!(
                len = announcement.len(),
                "malformed gossip from a validator"
            )
        }
    };
    let Ok(permit) = permits.clone().try_acquire_owned() else {
        tracing::debug!("gossip admission saturated; dropping an announcement");
        return;
    };
    let node = node.clone();
    // Detached: the admission outlives nothing but the receiver's context.
    drop(context.child("admit").spawn(move |_| async move {
        match incoming {
            Incoming::Tx(tx) => {
                if let Err(r) = node.admit(tx, Origin::Peer).await {
                    tracing::debug!(reason = %r, "gossiped transaction not admitted");
                }
            }
            Incoming::Admin(signed) => {
                if let Err(r) = node.admit_admin(&signed, Origin::Peer) {
                    tracing::debug!(reason = %r, "gossiped operator command not admitted");
                }
            }
        }
        drop(permit);
    }));
}

/// Refreshes the connected-peers gauge every heartbeat.
async fn gauge_loop<E: Clock>(clock: E, liveness: Arc<PeerLiveness>) {
    loop {
        metrics().connected_peers.set(i64::from(liveness.live()));
        clock.sleep(HEARTBEAT).await;
    }
}

/// Starts gossip for `node` on a registered p2p channel, to the peers `reach` counts,
/// as tasks under `context` (they stop with it); returns the liveness record, on the
/// node's clock ([`Node::runtime`]).
pub fn start<E, S, R>(
    context: E,
    node: Arc<Node>,
    sender: S,
    receiver: R,
    validators: u32,
    reach: Arc<Reach>,
) -> Arc<PeerLiveness>
where
    E: Spawner + Clock,
    S: Sender,
    R: Receiver<PublicKey = S::PublicKey>,
{
    let liveness = Arc::new(PeerLiveness::new(validators, node.runtime().clone()));
    let (tx, rx) = mpsc::channel(OUTBOX);
    node.set_announcer(tx);
    let (direct_tx, direct_rx) = mpsc::channel(DIRECT);
    let n = node.clone();
    drop(
        context
            .child("gossip_send")
            .spawn(move |ctx| send_loop(ctx, n, sender, rx, direct_rx, reach)),
    );
    let l = liveness.clone();
    drop(
        context
            .child("gossip_receive")
            .spawn(move |ctx| receive_loop(ctx, node, receiver, l, direct_tx)),
    );
    let l = liveness.clone();
    drop(
        context
            .child("gossip_gauge")
            .spawn(move |ctx| gauge_loop(ctx, l)),
    );
    liveness
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_counts_recent_peers_once() {
        let l = PeerLiveness::new(4, Arc::new(crate::runtime::TokioRt));
        assert_eq!(l.live(), 0);
        assert!(l.heard(b"a"), "a peer heard for the first time is new");
        assert!(!l.heard(b"a"), "a peer heard again at once is not");
        assert!(l.heard(b"b"));
        assert_eq!(l.live(), 2);
        assert_eq!(l.connected_peers(), 2);
        assert_eq!(l.validators(), 4);
        l.seen.lock().insert(
            b"c".to_vec(),
            SystemTime::now() - LIVE - Duration::from_millis(1),
        );
        assert_eq!(
            l.live(),
            2,
            "a peer silent for longer than LIVE is not connected"
        );
        assert!(l.heard(b"c"), "a peer heard after a silence is new again");
        assert_eq!(l.live(), 3);
    }

    #[test]
    fn a_peer_is_served_its_pool_once_per_live_and_a_request_within_waits() {
        let mut pools = PoolRequests::default();
        let t0 = SystemTime::now();
        assert_eq!(pools.asked_at("a", t0), Some("a"));
        assert_eq!(
            pools.asked_at("b", t0),
            Some("b"),
            "peers are limited apart"
        );
        // Asked again within LIVE (twice): deferred, once.
        assert_eq!(pools.asked_at("a", t0 + LIVE / 2), None);
        assert_eq!(pools.asked_at("a", t0 + LIVE / 2), None);
        assert!(pools.due_at(t0 + LIVE / 2).is_empty(), "not due yet");
        assert_eq!(
            pools.due_at(t0 + LIVE),
            ["a"],
            "served once LIVE has passed"
        );
        assert!(pools.due_at(t0 + LIVE * 2).is_empty(), "and only once");
        assert_eq!(pools.asked_at("b", t0 + LIVE), Some("b"));
    }

    #[test]
    fn a_pool_goes_out_in_batches_within_the_limits_in_order() {
        assert!(
            batches(Vec::new()).is_empty(),
            "an empty pool sends nothing"
        );
        let lone = batches(vec![Announcement::Admin(vec![9])]);
        assert_eq!(lone, [vec![TAG_ADMIN, 9]], "one announcement goes alone");
        // Five of just over a third of the byte budget: batches of three and two.
        let pool: Vec<Announcement> = (0..5u8)
            .map(|i| Announcement::Tx(vec![i; BATCH_BYTES / 3 + 1]))
            .collect();
        let messages = batches(pool.clone());
        let sizes: Vec<usize> = messages
            .iter()
            .map(|m| decode_batch(&m[1..]).expect("a batch decodes").len())
            .collect();
        assert_eq!(sizes, [3, 2]);
        let items: Vec<Vec<u8>> = messages
            .iter()
            .flat_map(|m| decode_batch(&m[1..]).expect("a batch decodes"))
            .map(<[u8]>::to_vec)
            .collect();
        let expected: Vec<Vec<u8>> = pool
            .iter()
            .map(|a| encode(std::slice::from_ref(a)))
            .collect();
        assert_eq!(items, expected, "every announcement once, in order");
        // More small ones than a batch holds: split at BATCH_ITEMS.
        let many = vec![Announcement::Tx(vec![1]); BATCH_ITEMS + 1];
        let sizes: Vec<usize> = batches(many)
            .iter()
            .map(|m| match m[0] {
                TAG_BATCH => decode_batch(&m[1..]).expect("a batch decodes").len(),
                _ => 1,
            })
            .collect();
        assert_eq!(sizes, [BATCH_ITEMS, 1]);
    }

    #[test]
    fn announcements_are_tagged() {
        assert_eq!(encode(&[Announcement::Tx(vec![7, 8])]), vec![TAG_TX, 7, 8]);
        assert_eq!(encode(&[Announcement::Admin(vec![9])]), vec![TAG_ADMIN, 9]);
    }

    #[test]
    fn waiting_announcements_go_in_one_message() {
        let batch = [Announcement::Tx(vec![7, 8]), Announcement::Admin(vec![9])];
        let message = encode(&batch);
        assert_eq!(message[0], TAG_BATCH);
        let items = decode_batch(&message[1..]).expect("a batch decodes");
        assert_eq!(items, [&[TAG_TX, 7, 8][..], &[TAG_ADMIN, 9][..]]);
        // Truncated, with trailing bytes, or claiming more items than allowed: refused.
        assert!(decode_batch(&message[1..message.len() - 1]).is_none());
        assert!(decode_batch(&[&message[1..], &[0][..]].concat()).is_none());
        let mut too_many = message[1..].to_vec();
        too_many[..4].copy_from_slice(&(BATCH_ITEMS as u32 + 1).to_le_bytes());
        assert!(decode_batch(&too_many).is_none());
    }

    #[tokio::test]
    async fn a_batch_takes_what_waits_within_its_limits() {
        let (tx, mut rx) = mpsc::channel(OUTBOX);
        for i in 0..3u8 {
            tx.send(Announcement::Tx(vec![i; BATCH_BYTES / 2]))
                .await
                .expect("queued");
        }
        let first = rx.recv().await.expect("one waits");
        // Two halves fill the byte budget; the third waits for the next message.
        assert_eq!(gather(first, &mut rx).len(), 2);
        let next = rx.recv().await.expect("the third waits");
        assert_eq!(gather(next, &mut rx).len(), 1);
    }
}
