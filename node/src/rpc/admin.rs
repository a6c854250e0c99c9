//! `sable.v1.Admin`: operators submit signed commands and read the registry, the
//! authorised issuers and the revocation list.
//!
//! The caller's operator certificate opens the service, but a command's authority is
//! its own signature and certificate: the node checks them at admission and every
//! validator again at execution, so a command relayed by another operator is as good
//! as one sent by its signer.

use std::sync::Arc;

use sable_proto::v1::{self as pb, admin_server::Admin};
use tonic::{Request, Response, Status};

use super::{auth::caller, convert};
use crate::node::Node;
use sable_primitives::TxStatus;
use sable_storage::{ChainReader, StorageError, Store};

/// The `Admin` service.
#[derive(Debug, Clone)]
pub struct AdminService {
    node: Arc<Node>,
}

impl AdminService {
    /// The service over `node`.
    pub(super) fn new(node: Arc<Node>) -> Self {
        AdminService { node }
    }
}

/// A small listing read off the async threads, each row mapped to its message.
async fn rows<R, T>(
    store: Arc<Store>,
    read: impl FnOnce(&Store) -> Result<Vec<R>, StorageError> + Send + 'static,
    row: impl Fn(R) -> T + Send + 'static,
) -> Result<Vec<T>, Status>
where
    R: Send + 'static,
    T: Send + 'static,
{
    convert::blocking(move || {
        read(&store)
            .map(|rows| rows.into_iter().map(row).collect())
            .map_err(convert::storage)
    })
    .await
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn get_command_status(
        &self,
        request: Request<pb::TxId>,
    ) -> Result<Response<pb::TxStatus>, Status> {
        convert::status_reply(&self.node, &request).await
    }

    async fn submit(
        &self,
        request: Request<pb::SignedAdminCommand>,
    ) -> Result<Response<pb::AdminReceipt>, Status> {
        let relayed_by = caller(&request)?.to_string();
        let signed = convert::signed_admin_command(request.into_inner())?;
        let id = signed.id();
        let status = match self.node.submit_admin(&signed) {
            Ok(_) => {
                tracing::info!(command = %id, relayed_by, "operator command admitted");
                TxStatus::Pending
            }
            Err(r) => {
                tracing::warn!(command = %id, relayed_by, reason = %r, "operator command refused");
                TxStatus::from(&r)
            }
        };
        Ok(Response::new(pb::AdminReceipt {
            command_id: Some(pb::TxId { id: id.0.to_vec() }),
            status: Some(convert::tx_status(&id, &status)),
        }))
    }

    async fn list_participants(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ParticipantList>, Status> {
        caller(&request)?;
        let participants = rows(
            self.node.store.clone(),
            |s| s.participants(),
            |(address, entry)| pb::Participant {
                address: address.to_vec(),
                slot: entry.slot,
                label: entry.label,
            },
        )
        .await?;
        Ok(Response::new(pb::ParticipantList { participants }))
    }

    async fn list_issuers(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::IssuerList>, Status> {
        caller(&request)?;
        let issuers = rows(
            self.node.store.clone(),
            |s| s.issuers(),
            |(issuer_key, label)| pb::Issuer {
                issuer_key: issuer_key.to_vec(),
                label,
            },
        )
        .await?;
        Ok(Response::new(pb::IssuerList { issuers }))
    }

    async fn list_revocations(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::RevocationList>, Status> {
        caller(&request)?;
        let revocations = rows(
            self.node.store.clone(),
            |s| s.revocations(),
            |(fingerprint, r)| pb::Revocation {
                certificate_fingerprint: fingerprint.to_vec(),
                height: r.height,
                reason: r.reason,
            },
        )
        .await?;
        Ok(Response::new(pb::RevocationList { revocations }))
    }
}
