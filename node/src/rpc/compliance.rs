//! `sable.v1.Compliance`: the node checks a disclosure or a proof of holdings for the
//! party it is addressed to (the caller: its certificate's participant id must be the
//! package's audience) against the node's own finalized state, and keeps the record of
//! what each party accepted ([`VerificationDesk`], under the node's data directory).
//! The checks are `sable-compliance`'s; this module only reads the chain facts they
//! need from the store and translates to and from the wire.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{auth::caller, convert};
use crate::node::Node;
use sable_circuits::transaction::Transaction;
use sable_compliance::{
    desk::VerificationDesk,
    disclose::{ChainFacts, DisclosureError, DisclosurePackage},
    holdings::{ChainRoots, HoldingsFacts, HoldingsPackage, HoldingsPackageError},
};
use sable_proto::v1 as pb;
use sable_storage::{ChainReader, Store};

/// The service.
pub struct ComplianceService {
    node: Arc<Node>,
    desk: Arc<VerificationDesk>,
}

impl ComplianceService {
    /// Serves `node`'s state, keeping the records in `desk`.
    pub fn new(node: Arc<Node>, desk: Arc<VerificationDesk>) -> Self {
        ComplianceService { node, desk }
    }
}

fn tip_height(store: &Store) -> Result<u64, Status> {
    Ok(store
        .tip()
        .map_err(convert::storage)?
        .map_or(0, |h| h.height))
}

/// A refusal: a package that does not decode is the caller's argument; any other
/// reason is the package's state against the chain.
fn refused(malformed: bool, reason: String) -> Status {
    if malformed {
        Status::invalid_argument(reason)
    } else {
        Status::failed_precondition(reason)
    }
}

fn disclosure_refused(e: DisclosureError) -> Status {
    match e {
        DisclosureError::Record(_) => {
            tracing::error!(error = %e, "compliance record unavailable");
            Status::internal("the compliance record is unavailable")
        }
        e => refused(matches!(e, DisclosureError::Malformed(_)), e.to_string()),
    }
}

fn holdings_refused(e: HoldingsPackageError) -> Status {
    match e {
        HoldingsPackageError::Record(_) => {
            tracing::error!(error = %e, "compliance record unavailable");
            Status::internal("the compliance record is unavailable")
        }
        e => refused(
            matches!(e, HoldingsPackageError::Malformed(_)),
            e.to_string(),
        ),
    }
}

#[tonic::async_trait]
impl pb::compliance_server::Compliance for ComplianceService {
    async fn verify_disclosure(
        &self,
        request: Request<pb::PackageRequest>,
    ) -> Result<Response<pb::DisclosureVerdict>, Status> {
        let party = caller(&request)?.participant.clone();
        let package = DisclosurePackage::from_json(&request.into_inner().package)
            .map_err(disclosure_refused)?;
        let (store, desk) = (self.node.store.clone(), self.desk.clone());
        let chain = self.node.params.genesis_digest();
        let verdict = convert::blocking(move || {
            let id = package.addressing.tx;
            let commitments = match store.tx_location(&id).map_err(convert::storage)? {
                Some(loc) if loc.rejection_code.is_none() => {
                    let block = store.block(loc.height).map_err(convert::storage)?;
                    let index = (loc.index as usize)
                        .checked_sub(block.as_ref().map_or(0, |b| b.admin.len()));
                    block
                        .and_then(|b| index.and_then(|i| b.transactions.get(i).cloned()))
                        .and_then(|bytes| Transaction::from_bytes(&bytes).ok())
                        .map(|tx| tx.commitments())
                }
                _ => None,
            };
            let facts = ChainFacts {
                chain,
                height: tip_height(&store)?,
                commitments,
            };
            desk.accept_disclosure(&party, &package, &facts)
                .map_err(disclosure_refused)?;
            let s = &package.statement;
            Ok(pb::DisclosureVerdict {
                tx: id.0.to_vec(),
                output: package.addressing.output,
                cm: s.cm.to_bytes().to_vec(),
                asset: s.asset.map(|a| a.0.to_vec()),
                value: s.value.map(|v| v.inner()),
                owner: s.owner.map(|o| o.to_bytes().to_vec()),
            })
        })
        .await?;
        Ok(Response::new(verdict))
    }

    async fn verify_holdings(
        &self,
        request: Request<pb::PackageRequest>,
    ) -> Result<Response<pb::HoldingsVerdict>, Status> {
        let party = caller(&request)?.participant.clone();
        let package =
            HoldingsPackage::from_json(&request.into_inner().package).map_err(holdings_refused)?;
        let (store, desk) = (self.node.store.clone(), self.desk.clone());
        let chain = self.node.params.genesis_digest();
        let verdict = convert::blocking(move || {
            let a = &package.addressing;
            let roots = match store.header(a.height).map_err(convert::storage)? {
                Some(h) if a.height >= 1 => Some(
                    ChainRoots::from_bytes(&h.anchor, &h.nullifier_root).map_err(|e| {
                        tracing::error!(error = %e, height = a.height, "a stored header's roots do not decode");
                        Status::internal("node state unavailable")
                    })?,
                ),
                _ => None,
            };
            let facts = HoldingsFacts {
                chain,
                height: tip_height(&store)?,
                roots,
            };
            desk.accept_holdings(&party, &package, &facts)
                .map_err(holdings_refused)?;
            Ok(pb::HoldingsVerdict {
                owner: package.owner.to_bytes().to_vec(),
                asset: a.asset.0.to_vec(),
                at_least: a.threshold,
                height: a.height,
                purpose: a.purpose.clone(),
                notes: package.notes_counted() as u32,
            })
        })
        .await?;
        Ok(Response::new(verdict))
    }
}
