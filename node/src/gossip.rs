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
//! Announcements waiting together when the sender gets to them (a burst of
//! submissions) go out as one message, so the transport's cost per message is paid
//! once for the lot; a lone announcement goes out at once, by itself.
//!
//! # Messages
//! ```text
//! message      = 0                                (heartbeat)
//!              | announcement
//!              | 3 || count:u32 || (len:u32 || announcement)*
//! announcement = 1 || transaction bytes
//!              | 2 || signed operator command bytes
//! ```

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use commonware_p2p::{Receiver, Recipients, Sender};
use parking_lot::Mutex;
use tokio::sync::{mpsc, Semaphore};

use sable_circuits::encoding::{Reader, Writer};

use crate::{
    admin::SignedAdminCommand,
    node::{Announcement, Node, Origin},
    rpc::StatusSource,
    telemetry::metrics,
};

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

/// Most bytes of announcements put in one message.
const BATCH_BYTES: usize = 1 << 20;
/// Most announcements in one message.
const BATCH_ITEMS: usize = 1024;

const TAG_HEARTBEAT: u8 = 0;
const TAG_TX: u8 = 1;
const TAG_ADMIN: u8 = 2;
const TAG_BATCH: u8 = 3;

/// Which validators this node has heard from, and when.
#[derive(Debug)]
pub struct PeerLiveness {
    validators: u32,
    seen: Mutex<HashMap<Vec<u8>, Instant>>,
}

impl PeerLiveness {
    /// Liveness for a set of `validators` (this node included).
    pub fn new(validators: u32) -> Self {
        PeerLiveness {
            validators,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records a message from `peer`.
    pub fn heard(&self, peer: &[u8]) {
        self.seen.lock().insert(peer.to_vec(), Instant::now());
    }

    /// Peers heard from within [`LIVE`].
    pub fn live(&self) -> u32 {
        let seen = self.seen.lock();
        seen.values().filter(|t| t.elapsed() <= LIVE).count() as u32
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

fn tagged(a: &Announcement) -> (u8, &[u8]) {
    match a {
        Announcement::Tx(b) => (TAG_TX, b),
        Announcement::Admin(b) => (TAG_ADMIN, b),
    }
}

/// One message for `batch` (not empty): the announcement itself when it is alone.
fn encode(batch: &[Announcement]) -> Vec<u8> {
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
fn decode_batch(body: &[u8]) -> Option<Vec<&[u8]>> {
    let mut r = Reader::new(body);
    let n = r.count("gossip batch", BATCH_ITEMS).ok()?;
    let items = (0..n)
        .map(|_| r.var_bytes("announcement", BATCH_BYTES).ok())
        .collect::<Option<Vec<_>>>()?;
    r.finish().ok()?;
    Some(items)
}

/// `first` and what else waits in `outbox` now, within the batch's limits.
fn gather(first: Announcement, outbox: &mut mpsc::Receiver<Announcement>) -> Vec<Announcement> {
    let mut size = tagged(&first).1.len();
    let mut batch = vec![first];
    while batch.len() < BATCH_ITEMS && size < BATCH_BYTES {
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

/// Sends this node's announcements and heartbeats to its `peers` until the outbox closes.
async fn send_loop<S: Sender>(
    mut sender: S,
    mut outbox: mpsc::Receiver<Announcement>,
    peers: usize,
) {
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let message = tokio::select! {
            a = outbox.recv() => match a {
                Some(a) => encode(&gather(a, &mut outbox)),
                None => return,
            },
            _ = beat.tick() => vec![TAG_HEARTBEAT],
        };
        // Offline or rate-limited peers miss it; gossip is best effort.
        let len = message.len();
        let missed = peers.saturating_sub(sender.send(Recipients::All, message, false).len());
        if missed > 0 {
            metrics().gossip_unsent.inc_by(missed as u64);
            tracing::debug!(len, missed, "gossip not handed to every peer");
        }
    }
}

/// Admits what peers announce, and records who is alive, until the channel closes.
async fn receive_loop<R: Receiver>(node: Arc<Node>, mut receiver: R, liveness: Arc<PeerLiveness>)
where
    R::PublicKey: AsRef<[u8]>,
{
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let (peer, message) = match receiver.recv().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%e, "gossip channel closed");
                return;
            }
        };
        liveness.heard(peer.as_ref());
        let bytes = message.as_ref();
        match bytes.split_first() {
            Some((&TAG_HEARTBEAT, [])) => {}
            Some((&TAG_BATCH, body)) => match decode_batch(body) {
                Some(items) => {
                    for a in items {
                        admit(&node, &permits, a);
                    }
                }
                None => {
                    tracing::warn!(len = bytes.len(), "malformed gossip batch from a validator")
                }
            },
            _ => admit(&node, &permits, bytes),
        }
    }
}

/// Admits one announcement from a peer: a transaction on its own task (dropped when
/// [`IN_FLIGHT`] are being admitted already), an operator command at once.
fn admit(node: &Arc<Node>, permits: &Arc<Semaphore>, announcement: &[u8]) {
    match announcement.split_first() {
        Some((&TAG_TX, tx)) => {
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                tracing::debug!("gossip admission saturated; dropping an announcement");
                return;
            };
            let (node, tx) = (node.clone(), tx.to_vec());
            tokio::spawn(async move {
                if let Err(r) = node.admit(tx, Origin::Peer).await {
                    tracing::debug!(reason = %r, "gossiped transaction not admitted");
                }
                drop(permit);
            });
        }
        Some((&TAG_ADMIN, cmd)) => match SignedAdminCommand::from_bytes(cmd) {
            Ok(signed) => {
                if let Err(r) = node.admit_admin(&signed, Origin::Peer) {
                    tracing::debug!(reason = %r, "gossiped operator command not admitted");
                }
            }
            Err(e) => tracing::warn!(%e, "malformed operator command from a validator"),
        },
        _ => tracing::warn!(
            len = announcement.len(),
            "malformed gossip from a validator"
        ),
    }
}

/// Refreshes the connected-peers gauge every heartbeat.
async fn gauge_loop(liveness: Arc<PeerLiveness>) {
    let mut beat = tokio::time::interval(HEARTBEAT);
    loop {
        beat.tick().await;
        metrics().connected_peers.set(i64::from(liveness.live()));
    }
}

/// Starts gossip for `node` on a registered p2p channel; returns the liveness record.
pub fn start<S, R>(node: Arc<Node>, sender: S, receiver: R, validators: u32) -> Arc<PeerLiveness>
where
    S: Sender,
    R: Receiver,
    R::PublicKey: AsRef<[u8]>,
{
    let liveness = Arc::new(PeerLiveness::new(validators));
    let (tx, rx) = mpsc::channel(OUTBOX);
    node.set_announcer(tx);
    tokio::spawn(send_loop(sender, rx, validators.saturating_sub(1) as usize));
    tokio::spawn(receive_loop(node, receiver, liveness.clone()));
    tokio::spawn(gauge_loop(liveness.clone()));
    liveness
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_counts_recent_peers_once() {
        let l = PeerLiveness::new(4);
        assert_eq!(l.live(), 0);
        l.heard(b"a");
        l.heard(b"a");
        l.heard(b"b");
        assert_eq!(l.live(), 2);
        assert_eq!(l.connected_peers(), 2);
        assert_eq!(l.validators(), 4);
        l.seen.lock().insert(
            b"c".to_vec(),
            Instant::now() - LIVE - Duration::from_millis(1),
        );
        assert_eq!(
            l.live(),
            2,
            "a peer silent for longer than LIVE is not connected"
        );
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
