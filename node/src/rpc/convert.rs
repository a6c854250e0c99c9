//! Between the node's types and the wire messages of `sable.v1`, and from internal
//! failures to gRPC statuses.

use std::sync::Arc;

use sable_proto::v1 as pb;
use tokio::sync::{
    broadcast::{error::RecvError, Receiver},
    watch,
};
use tonic::Status;

use crate::node::AppliedEvent;
use sable_circuits::keys::Address;
use sable_pki::Identity;
use sable_primitives::admin::{Approval, SignedAdminCommand, MAX_APPROVALS};
use sable_primitives::block::{Block, BlockHeader, TxId};
use sable_primitives::{RejectCode, TxStatus};
use sable_storage::StorageError;

/// Fires when the server shuts down, so open streams end and the server can drain.
#[derive(Clone, Debug)]
pub(super) struct Stop(watch::Receiver<bool>);

impl Stop {
    /// The signal and its trigger.
    pub(super) fn new() -> (watch::Sender<bool>, Stop) {
        let (tx, rx) = watch::channel(false);
        (tx, Stop(rx))
    }

    async fn stopped(&mut self) {
        // A dropped trigger means the server is gone: stop as well.
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}

/// What woke a stream waiting for the chain to move.
pub(super) enum Wake {
    /// A block was applied (or several were, and the receiver lagged behind).
    Applied,
    /// The caller's certificate has just expired.
    Expiring,
    /// The server is shutting down (or the node stopped applying blocks).
    Stopping,
}

/// Waits for the next applied block, the expiry of the caller's certificate (`who`:
/// the stream then checks [`super::auth::still_admitted`] again) or the shutdown of
/// the server.
pub(super) async fn wake(
    applied: &mut Receiver<Arc<AppliedEvent>>,
    stop: &mut Stop,
    who: &Identity,
) -> Wake {
    // The first second after `notAfter`, on the wall clock the certificate is read by.
    let left = who
        .not_after
        .saturating_add(1)
        .saturating_sub(super::auth::unix_now());
    let expiry = std::time::Duration::from_secs(u64::try_from(left).unwrap_or(0));
    tokio::select! {
        r = applied.recv() => match r {
            Ok(_) | Err(RecvError::Lagged(_)) => Wake::Applied,
            Err(RecvError::Closed) => Wake::Stopping,
        },
        () = tokio::time::sleep(expiry) => Wake::Expiring,
        () = stop.stopped() => Wake::Stopping,
    }
}

/// What a stream's client receives when the server shuts down under it.
pub(super) fn shutting_down() -> Status {
    Status::unavailable("the node is shutting down")
}

/// A 32-byte field of a request, or `INVALID_ARGUMENT` naming the field.
pub fn bytes32(field: &str, bytes: &[u8]) -> Result<[u8; 32], Status> {
    bytes.try_into().map_err(|_| {
        Status::invalid_argument(format!("{field} must be 32 bytes, got {}", bytes.len()))
    })
}

/// The id in a `TxId` message.
pub fn tx_id(id: &pb::TxId) -> Result<TxId, Status> {
    bytes32("tx id", &id.id).map(TxId)
}

/// The command of an `Admin.Submit` request (its approvals are checked at admission,
/// its command decoded there).
pub fn signed_admin_command(m: pb::SignedAdminCommand) -> Result<SignedAdminCommand, Status> {
    if m.approvals.len() > MAX_APPROVALS {
        return Err(Status::invalid_argument(format!(
            "at most {MAX_APPROVALS} approvals, got {}",
            m.approvals.len()
        )));
    }
    let approvals = m
        .approvals
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let signature: [u8; 64] = a.signature.as_slice().try_into().map_err(|_| {
                Status::invalid_argument(format!(
                    "approval {i}: signature must be 64 bytes, got {}",
                    a.signature.len()
                ))
            })?;
            Ok(Approval {
                certificate: a.operator_certificate,
                signature,
            })
        })
        .collect::<Result<_, Status>>()?;
    Ok(SignedAdminCommand {
        command: m.command,
        approvals,
    })
}

/// Which block a `Chain.GetBlock` request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockAt {
    /// The block at this height.
    Height(u64),
    /// The block with this hash.
    Hash([u8; 32]),
}

/// The block a `Chain.GetBlock` request names.
pub fn block_at(request: pb::GetBlockRequest) -> Result<BlockAt, Status> {
    use pb::get_block_request::At;
    match request.at {
        Some(At::Height(h)) => Ok(BlockAt::Height(h)),
        Some(At::Hash(hash)) => bytes32("block hash", &hash).map(BlockAt::Hash),
        None => Err(Status::invalid_argument("give a height or a hash")),
    }
}

/// The address of a `Chain.GetRegistryPath` request: its bytes (the registry's key)
/// and the point they encode.
pub fn registry_address(
    request: &pb::GetRegistryPathRequest,
) -> Result<([u8; 32], Address), Status> {
    let key = bytes32("address", &request.address)?;
    let address =
        Address::from_bytes(&key).map_err(|e| Status::invalid_argument(format!("address: {e}")))?;
    Ok((key, address))
}

/// A storage failure: logged here with its cause; the caller sees only that the state
/// is unavailable.
pub(super) fn storage(e: StorageError) -> Status {
    tracing::error!(error = %e, "state read failed while serving a request");
    Status::internal("node state unavailable")
}

/// Runs a blocking state read off the async threads.
pub(super) async fn blocking<T, F>(f: F) -> Result<T, Status>
where
    F: FnOnce() -> Result<T, Status> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "state read task failed");
        Status::internal("node state unavailable")
    })?
}

/// The wire reason of a rejection: the wire enum uses [`RejectCode`]'s numbers (a code
/// the wire did not know would be `UNSPECIFIED`, with the detail saying why).
pub(super) fn reject_reason(code: RejectCode) -> pb::RejectReason {
    pb::RejectReason::try_from(i32::from(code as u8)).unwrap_or(pb::RejectReason::Unspecified)
}

/// The answer to a status query (`Transactions.GetStatus`, `Admin.GetCommandStatus`),
/// read off the async runtime.
pub(super) async fn status_reply(
    node: &std::sync::Arc<crate::node::Node>,
    request: &tonic::Request<pb::TxId>,
) -> Result<tonic::Response<pb::TxStatus>, Status> {
    super::auth::caller(request)?;
    let id = tx_id(request.get_ref())?;
    let node = node.clone();
    let status = blocking(move || node.status(&id).map_err(storage)).await?;
    Ok(tonic::Response::new(tx_status(&id, &status)))
}

pub(super) fn tx_status(id: &TxId, status: &TxStatus) -> pb::TxStatus {
    use pb::tx_status::State;
    let state = match status {
        TxStatus::Pending => State::Pending(pb::Pending {}),
        TxStatus::Finalized {
            height,
            block_hash,
            index,
        } => State::Finalized(pb::Finalized {
            height: *height,
            block_hash: block_hash.0.to_vec(),
            index: *index,
        }),
        TxStatus::Rejected { code, detail } => State::Rejected(pb::Rejected {
            reason: reject_reason(*code) as i32,
            detail: detail.clone(),
        }),
        TxStatus::Unknown => State::Unknown(pb::Unknown {}),
    };
    pb::TxStatus {
        tx_id: Some(pb::TxId { id: id.0.to_vec() }),
        state: Some(state),
    }
}

pub(super) fn header(h: &BlockHeader) -> pb::BlockHeader {
    pb::BlockHeader {
        height: h.height,
        hash: h.hash.0.to_vec(),
        parent_hash: h.parent.0.to_vec(),
        timestamp_ms: h.timestamp_ms,
        anchor: h.anchor.to_vec(),
        registry_root: h.registry_root.to_vec(),
        nullifier_root: h.nullifier_root.to_vec(),
        tree_size: h.tree_size,
        tx_count: h.tx_count,
        state_root: h.state_root.to_vec(),
    }
}

pub(super) fn block(b: Block, h: &BlockHeader) -> pb::Block {
    pb::Block {
        header: Some(header(h)),
        transactions: b.transactions,
        admin_commands: b.admin,
        state_height: b.state.height,
        state_root: b.state.root.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reject_reasons_mirror_the_codes_in_number_and_name() {
        for code in RejectCode::ALL {
            let reason = reject_reason(code);
            assert_eq!(reason as i32, i32::from(code as u8), "{code}");
            assert_eq!(
                reason.as_str_name(),
                format!("REJECT_REASON_{}", code.label().to_uppercase()),
            );
        }
    }

    #[test]
    fn requests_convert_or_are_invalid_arguments() {
        use pb::get_block_request::At;
        let at = |at| block_at(pb::GetBlockRequest { at });
        assert_eq!(at(Some(At::Height(5))).unwrap(), BlockAt::Height(5));
        assert_eq!(
            at(Some(At::Hash(vec![1; 32]))).unwrap(),
            BlockAt::Hash([1; 32])
        );
        for bad in [None, Some(At::Hash(vec![1; 31]))] {
            assert_eq!(at(bad).unwrap_err().code(), tonic::Code::InvalidArgument);
        }
        let signed = |signature: Vec<u8>, n| {
            signed_admin_command(pb::SignedAdminCommand {
                command: vec![1],
                approvals: vec![
                    pb::OperatorApproval {
                        operator_certificate: vec![2],
                        signature,
                    };
                    n
                ],
            })
        };
        assert_eq!(
            signed(vec![3; 64], 2).unwrap().approvals[1].signature,
            [3; 64]
        );
        assert_eq!(
            signed(vec![3; 63], 1).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            signed(vec![3; 64], MAX_APPROVALS + 1).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        // Too short, and the identity (all zero), which is no address.
        for address in [vec![7; 31], vec![0; 32]] {
            let e = registry_address(&pb::GetRegistryPathRequest { address }).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
        }
    }

    #[test]
    fn ids_must_be_32_bytes() {
        assert!(tx_id(&pb::TxId { id: vec![0; 32] }).is_ok());
        for n in [0, 31, 33] {
            let e = tx_id(&pb::TxId { id: vec![0; n] }).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
        }
    }
}
