//! `sable.v1.Transactions`: banks submit transactions and follow their status.
//!
//! A refused submission is an answer, not an error: `Submit` returns a `TxStatus` with
//! `rejected { reason, detail }`, the reason mirroring `sable_primitives::RejectCode`.
//! Errors (`INVALID_ARGUMENT`, `OUT_OF_RANGE` for a request far over the size limit,
//! `INTERNAL`) mean the request itself could not be handled.

use std::{pin::Pin, sync::Arc};

use futures::Stream;
use sable_pki::Identity;
use sable_proto::v1::{self as pb, transactions_server::Transactions};
use tokio::sync::broadcast::Receiver;
use tonic::{Request, Response, Status};

use super::{
    auth::{caller, still_admitted},
    convert::{self, Stop, Wake},
};
use crate::node::{AppliedEvent, Node};
use sable_primitives::{block::TxId, TxStatus};

/// The `Transactions` service.
#[derive(Debug, Clone)]
pub struct TransactionsService {
    node: Arc<Node>,
    stop: Stop,
}

impl TransactionsService {
    /// The service over `node`; its streams end on `stop`.
    pub(super) fn new(node: Arc<Node>, stop: Stop) -> Self {
        TransactionsService { node, stop }
    }
}

/// A stream of status updates.
pub type StatusStream = Pin<Box<dyn Stream<Item = Result<pb::TxStatus, Status>> + Send>>;

fn is_final(s: &TxStatus) -> bool {
    // Unknown is final for a watcher: never seen, or dropped from the pool.
    !matches!(s, TxStatus::Pending)
}

/// Follows one transaction: its current status, then each change, until it is final.
struct Watch {
    node: Arc<Node>,
    /// Who opened the stream: served only while [`still_admitted`].
    who: Identity,
    id: TxId,
    applied: Receiver<Arc<AppliedEvent>>,
    stop: Stop,
    last: Option<TxStatus>,
    done: bool,
}

impl Watch {
    async fn next(mut self) -> Option<(Result<pb::TxStatus, Status>, Self)> {
        if self.done {
            return None;
        }
        loop {
            if self.last.is_some() {
                // Every applied block may finalize, skip or evict it; a lagging receiver
                // has missed blocks, so look again all the same.
                if let Wake::Stopping =
                    convert::wake(&mut self.applied, &mut self.stop, &self.who).await
                {
                    self.done = true;
                    return Some((Err(convert::shutting_down()), self));
                }
            }
            if let Err(e) = still_admitted(&self.node, &self.who) {
                self.done = true;
                return Some((Err(e), self));
            }
            let status = match self.node.status(&self.id) {
                Ok(s) => s,
                Err(e) => {
                    self.done = true;
                    return Some((Err(convert::storage(e)), self));
                }
            };
            if self.last.as_ref() == Some(&status) {
                continue;
            }
            self.done = is_final(&status);
            let msg = convert::tx_status(&self.id, &status);
            self.last = Some(status);
            return Some((Ok(msg), self));
        }
    }
}

#[tonic::async_trait]
impl Transactions for TransactionsService {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::TxStatus>, Status> {
        let submitter = caller(&request)?.participant.clone();
        let bytes = request.into_inner().transaction;
        let id = TxId::of(&bytes);
        let status = match self.node.submit(bytes, Some(&submitter)).await {
            Ok(_) => TxStatus::Pending,
            Err(r) => {
                tracing::info!(tx = %id, submitter, reason = %r, "transaction refused");
                TxStatus::from(&r)
            }
        };
        Ok(Response::new(convert::tx_status(&id, &status)))
    }

    async fn get_status(
        &self,
        request: Request<pb::TxId>,
    ) -> Result<Response<pb::TxStatus>, Status> {
        convert::status_reply(&self.node, &request).await
    }

    type WatchStatusStream = StatusStream;

    async fn watch_status(
        &self,
        request: Request<pb::TxId>,
    ) -> Result<Response<StatusStream>, Status> {
        let who = caller(&request)?.clone();
        let id = convert::tx_id(request.get_ref())?;
        // Subscribe before the first look, so no block slips between the two.
        let watch = Watch {
            who,
            applied: self.node.subscribe(),
            stop: self.stop.clone(),
            node: self.node.clone(),
            id,
            last: None,
            done: false,
        };
        let stream = futures::stream::unfold(watch, Watch::next);
        Ok(Response::new(Box::pin(stream)))
    }
}
