//! `sable.v1.Chain`: the finalized chain and the state wallets need (blocks, compact
//! note data, anchors, Merkle paths, the participant registry), read from the store.
//!
//! Paths are served at the tip only: the stored trees hold their current nodes, not
//! past ones. A path is checked against the tip's root before it is returned, so a
//! block applied while it was being read cannot produce a path that matches no anchor.

use std::{pin::Pin, sync::Arc};

use futures::Stream;
use prost::Message;
use sable_circuits::{
    constants::{NOTE_COMMITMENT_TREE_DEPTH, REGISTRY_DEPTH},
    tree::AuthPath,
};
use sable_pki::Identity;
use sable_proto::v1::{self as pb, chain_server::Chain};
use tokio::sync::broadcast::Receiver;
use tonic::{Request, Response, Status};

use super::{
    auth::{caller, still_admitted},
    convert::{self, BlockAt, Stop, Wake},
};
use crate::{
    liveness::StatusSource,
    node::{AppliedEvent, Node},
};
use sable_primitives::block::BlockHeader;
use sable_storage::{
    ChainReader, PersistentTree, ReprBytes, Staged, Store, NOTE_TREE, REGISTRY_TREE,
};

/// How often a path read is retried when a block lands during it.
const PATH_ATTEMPTS: usize = 4;

/// The `Chain` service.
#[derive(Clone)]
pub struct ChainService {
    node: Arc<Node>,
    node_id: String,
    status: Arc<dyn StatusSource>,
    stop: Stop,
}

impl std::fmt::Debug for ChainService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainService")
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

impl ChainService {
    /// The service over `node`, reporting itself as `node_id` and consensus figures
    /// from `status`; its streams end on `stop`.
    pub(super) fn new(
        node: Arc<Node>,
        node_id: String,
        status: Arc<dyn StatusSource>,
        stop: Stop,
    ) -> Self {
        ChainService {
            node,
            node_id,
            status,
            stop,
        }
    }

    fn store(&self) -> Arc<Store> {
        self.node.store.clone()
    }
}

/// A stream of blocks or compact blocks.
pub type ChainStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn tip(store: &Store) -> Result<BlockHeader, Status> {
    store
        .tip()
        .map_err(convert::storage)?
        .ok_or_else(|| Status::unavailable("the node has not applied genesis yet"))
}

fn read_block(store: &Store, height: u64) -> Result<Option<pb::Block>, Status> {
    let header = store.header(height).map_err(convert::storage)?;
    let block = store.block(height).map_err(convert::storage)?;
    Ok(match (block, header) {
        (Some(b), Some(h)) => Some(convert::block(b, &h)),
        _ => None,
    })
}

fn read_compact(store: &Store, height: u64) -> Result<Option<pb::CompactBlock>, Status> {
    match store.compact_block(height).map_err(convert::storage)? {
        Some(bytes) => pb::CompactBlock::decode(bytes.as_slice())
            .map(Some)
            .map_err(|e| {
                tracing::error!(height, error = %e, "stored compact block does not decode");
                Status::internal("node state unavailable")
            }),
        // Genesis has no notes and no compact record.
        None if height == 0 => {
            Ok(store
                .header(0)
                .map_err(convert::storage)?
                .map(|h| pb::CompactBlock {
                    height: 0,
                    hash: h.hash.0.to_vec(),
                    txs: Vec::new(),
                }))
        }
        None => Ok(None),
    }
}

/// Finalized items from a height to the tip, then each one as it is applied. Applied
/// blocks only wake the feed; items are always read from the store in height order, so
/// none is skipped or repeated even when the subscription lags.
struct Feed<T> {
    node: Arc<Node>,
    /// Who opened the stream: served only while [`still_admitted`].
    who: Identity,
    next: u64,
    applied: Receiver<Arc<AppliedEvent>>,
    stop: Stop,
    read: fn(&Store, u64) -> Result<Option<T>, Status>,
    done: bool,
}

impl<T: Send + 'static> Feed<T> {
    async fn next(mut self) -> Option<(Result<T, Status>, Self)> {
        if self.done {
            return None;
        }
        loop {
            if let Err(e) = still_admitted(&self.node, &self.who) {
                self.done = true;
                return Some((Err(e), self));
            }
            if self.next <= self.node.executed_height() {
                let (store, height, read) = (self.node.store.clone(), self.next, self.read);
                let item = convert::blocking(move || {
                    read(&store, height)?.ok_or_else(|| {
                        tracing::error!(height, "finalized block missing from the store");
                        Status::internal(format!("block {height} is missing"))
                    })
                })
                .await;
                self.next += 1;
                self.done = item.is_err();
                return Some((item, self));
            }
            if let Wake::Stopping =
                convert::wake(&mut self.applied, &mut self.stop, &self.who).await
            {
                self.done = true;
                return Some((Err(convert::shutting_down()), self));
            }
        }
    }
}

fn feed<T: Send + 'static>(
    node: &Arc<Node>,
    who: Identity,
    stop: &Stop,
    from_height: u64,
    read: fn(&Store, u64) -> Result<Option<T>, Status>,
) -> Result<ChainStream<T>, Status> {
    // Subscribe before reading the tip, so no block slips between the two.
    let applied = node.subscribe();
    let tip = node.executed_height();
    if from_height > tip.saturating_add(1) {
        return Err(Status::out_of_range(format!(
            "from_height {from_height} is beyond the next block {}",
            tip + 1
        )));
    }
    let feed = Feed {
        node: node.clone(),
        who,
        next: from_height,
        applied,
        stop: stop.clone(),
        read,
        done: false,
    };
    Ok(Box::pin(futures::stream::unfold(feed, Feed::next)))
}

/// Reads `tree`'s path to `position` at the tip, retrying while blocks land under it;
/// returns the path and the tip it matches.
fn path_at_tip<const D: usize>(
    store: &Store,
    tree: &PersistentTree,
    position: u64,
    leaf: Option<pasta_curves::pallas::Base>,
    root_of: fn(&BlockHeader) -> [u8; 32],
) -> Result<(pasta_curves::pallas::Base, AuthPath<D>, BlockHeader), Status> {
    for _ in 0..PATH_ATTEMPTS {
        let tip = tip(store)?;
        let s = Staged::new(store);
        let leaf = match leaf {
            Some(l) => l,
            None => tree.leaf(&s, position).map_err(convert::storage)?,
        };
        let path = tree.path::<D>(&s, position).map_err(convert::storage)?;
        if path.root(leaf).to_repr_bytes() == root_of(&tip) {
            return Ok((leaf, path, tip));
        }
    }
    Err(Status::unavailable(
        "the tree changed during every read; try again",
    ))
}

fn siblings<const D: usize>(path: &AuthPath<D>) -> Vec<Vec<u8>> {
    path.siblings
        .iter()
        .map(|s| s.to_repr_bytes().to_vec())
        .collect()
}

#[tonic::async_trait]
impl Chain for ChainService {
    async fn get_block(
        &self,
        request: Request<pb::GetBlockRequest>,
    ) -> Result<Response<pb::Block>, Status> {
        caller(&request)?;
        let store = self.store();
        let at = convert::block_at(request.into_inner())?;
        let block = convert::blocking(move || {
            let height = match at {
                BlockAt::Height(h) => h,
                BlockAt::Hash(hash) => store
                    .height_of(&hash)
                    .map_err(convert::storage)?
                    .ok_or_else(|| {
                        Status::not_found(format!("no block with hash {}", hex::encode(hash)))
                    })?,
            };
            read_block(&store, height)?
                .ok_or_else(|| Status::not_found(format!("no block at height {height}")))
        })
        .await?;
        Ok(Response::new(block))
    }

    /// A transaction skipped at execution is still in its block and found here;
    /// `Transactions.GetStatus` says whether it applied.
    async fn get_transaction(
        &self,
        request: Request<pb::TxId>,
    ) -> Result<Response<pb::GetTransactionResponse>, Status> {
        caller(&request)?;
        let id = convert::tx_id(request.get_ref())?;
        let store = self.store();
        let found = convert::blocking(move || {
            let not_found =
                || Status::not_found(format!("transaction {id} is not in a finalized block"));
            let loc = store
                .tx_location(&id)
                .map_err(convert::storage)?
                .ok_or_else(not_found)?;
            let (block, header) = match (
                store.block(loc.height).map_err(convert::storage)?,
                store.header(loc.height).map_err(convert::storage)?,
            ) {
                (Some(b), Some(h)) => (b, h),
                _ => return Err(not_found()),
            };
            // Operator commands come first in a block's numbering, then transactions.
            let index = loc.index as usize;
            let bytes = match index.checked_sub(block.admin.len()) {
                None => block.admin.get(index).cloned(),
                Some(i) => block.transactions.get(i).cloned(),
            }
            .ok_or_else(not_found)?;
            Ok(pb::GetTransactionResponse {
                transaction: bytes,
                location: Some(pb::Finalized {
                    height: loc.height,
                    block_hash: header.hash.0.to_vec(),
                    index: loc.index,
                }),
                applied: loc.rejection_code.is_none(),
            })
        })
        .await?;
        Ok(Response::new(found))
    }

    type StreamBlocksStream = ChainStream<pb::Block>;

    async fn stream_blocks(
        &self,
        request: Request<pb::StreamRequest>,
    ) -> Result<Response<Self::StreamBlocksStream>, Status> {
        let who = caller(&request)?.clone();
        let from = request.get_ref().from_height;
        Ok(Response::new(feed(
            &self.node, who, &self.stop, from, read_block,
        )?))
    }

    type StreamCompactBlocksStream = ChainStream<pb::CompactBlock>;

    async fn stream_compact_blocks(
        &self,
        request: Request<pb::StreamRequest>,
    ) -> Result<Response<Self::StreamCompactBlocksStream>, Status> {
        let who = caller(&request)?.clone();
        let from = request.get_ref().from_height;
        Ok(Response::new(feed(
            &self.node,
            who,
            &self.stop,
            from,
            read_compact,
        )?))
    }

    async fn get_anchor(
        &self,
        request: Request<pb::GetAnchorRequest>,
    ) -> Result<Response<pb::AnchorResponse>, Status> {
        caller(&request)?;
        let tip = tip(&self.node.store)?;
        Ok(Response::new(pb::AnchorResponse {
            height: tip.height,
            anchor: tip.anchor.to_vec(),
            tree_size: tip.tree_size,
        }))
    }

    async fn get_merkle_path(
        &self,
        request: Request<pb::GetMerklePathRequest>,
    ) -> Result<Response<pb::MerklePathResponse>, Status> {
        caller(&request)?;
        let pb::GetMerklePathRequest {
            position,
            at_height,
        } = request.into_inner();
        let store = self.store();
        let response = convert::blocking(move || {
            let current = tip(&store)?;
            if at_height > current.height {
                return Err(Status::out_of_range(format!(
                    "at_height {at_height} is beyond the tip {}",
                    current.height
                )));
            }
            if at_height != 0 && at_height != current.height {
                return Err(Status::failed_precondition(format!(
                    "paths are served at the tip only (height {}); ask with at_height 0",
                    current.height
                )));
            }
            if position >= current.tree_size {
                return Err(Status::out_of_range(format!(
                    "position {position} is beyond the note commitment tree (size {})",
                    current.tree_size
                )));
            }
            let (leaf, path, tip) = path_at_tip::<NOTE_COMMITMENT_TREE_DEPTH>(
                &store,
                &NOTE_TREE,
                position,
                None,
                |h| h.anchor,
            )?;
            Ok(pb::MerklePathResponse {
                position,
                leaf: leaf.to_repr_bytes().to_vec(),
                siblings: siblings(&path),
                anchor: tip.anchor.to_vec(),
                height: tip.height,
            })
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn get_audit_log_heads(
        &self,
        request: Request<pb::AuditLogHeadsRequest>,
    ) -> Result<Response<pb::AuditLogHeads>, Status> {
        caller(&request)?;
        let log = convert::bytes32("log", &request.get_ref().log)?;
        let store = self.store();
        let heads =
            convert::blocking(move || store.audit_log_heads(&log).map_err(convert::storage))
                .await?;
        Ok(Response::new(pb::AuditLogHeads {
            heads: heads
                .into_iter()
                .map(|h| pb::AuditLogHead {
                    entries: h.entries,
                    head: h.head.to_vec(),
                    height: h.height,
                })
                .collect(),
        }))
    }

    async fn get_regulator_keys(
        &self,
        request: Request<pb::GetRegulatorKeysRequest>,
    ) -> Result<Response<pb::RegulatorKeys>, Status> {
        caller(&request)?;
        let (store, genesis) = (self.store(), self.node.params.regulator);
        let schedule =
            convert::blocking(move || store.regulator_schedule(genesis).map_err(convert::storage))
                .await?;
        Ok(Response::new(pb::RegulatorKeys {
            genesis: schedule.genesis().to_bytes().to_vec(),
            rotations: schedule
                .rotations()
                .iter()
                .map(|r| pb::RegulatorRotation {
                    from_height: r.from_height,
                    key: r.key.to_bytes().to_vec(),
                    scheduled_at: r.scheduled_at,
                })
                .collect(),
        }))
    }

    async fn get_registry_root(
        &self,
        request: Request<pb::GetRegistryRootRequest>,
    ) -> Result<Response<pb::RegistryRootResponse>, Status> {
        caller(&request)?;
        let store = self.store();
        let window = self.node.params.registry_root_window;
        let response = convert::blocking(move || {
            let tip = tip(&store)?;
            let last_removal = store.last_removal().map_err(convert::storage)?;
            let mut accepted = Vec::new();
            for (root, last_current) in store.registry_roots().map_err(convert::storage)? {
                if sable_execution::registry_root_acceptable(
                    last_current,
                    tip.height,
                    last_removal,
                    window,
                ) {
                    accepted.push(root.to_vec());
                }
            }
            Ok(pb::RegistryRootResponse {
                height: tip.height,
                root: tip.registry_root.to_vec(),
                accepted_roots: accepted,
            })
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn get_registry_path(
        &self,
        request: Request<pb::GetRegistryPathRequest>,
    ) -> Result<Response<pb::RegistryPathResponse>, Status> {
        caller(&request)?;
        let (key, address) = convert::registry_address(request.get_ref())?;
        let store = self.store();
        let response = convert::blocking(move || {
            let entry = store
                .participant(&key)
                .map_err(convert::storage)?
                .ok_or_else(|| Status::not_found("address is not registered"))?;
            let (_, path, tip) = path_at_tip::<REGISTRY_DEPTH>(
                &store,
                &REGISTRY_TREE,
                2 * entry.slot,
                Some(address.registry_leaf()),
                |h| h.registry_root,
            )?;
            Ok(pb::RegistryPathResponse {
                slot: entry.slot,
                siblings: siblings(&path),
                root: tip.registry_root.to_vec(),
                height: tip.height,
                epoch_keys: entry.epoch_keys,
            })
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn get_status(
        &self,
        request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::NodeStatus>, Status> {
        caller(&request)?;
        let tip = tip(&self.node.store)?;
        Ok(Response::new(pb::NodeStatus {
            node_id: self.node_id.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            height: tip.height,
            last_block_hash: tip.hash.0.to_vec(),
            mempool_size: self.node.mempool.len() as u64,
            validators: self.status.validators(),
            connected_peers: self.status.connected_peers(),
            anchor: tip.anchor.to_vec(),
            registry_root: tip.registry_root.to_vec(),
            chain_id: self.node.params.chain.0.to_vec(),
            genesis_digest: self.node.params.genesis_digest().to_vec(),
        }))
    }
}
