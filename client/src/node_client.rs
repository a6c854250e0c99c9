//! A typed client of the node API for banks, operators and tests: submit and follow
//! transactions, fetch anchors and Merkle paths, send operator commands.
//!
//! The channel must be a mutual-TLS channel ([`crate::connect`]); this module only
//! turns protobuf messages into protocol types and back, with typed errors.

use std::time::Duration;

use sable_circuits::{
    encoding::decode_base,
    epoch::EpochSchedule,
    keys::{Address, RegulatorPublicKey},
    nullifier_tree::NullifierTree,
    registry::{Membership, RegistryPath, RegistryRoot, REGISTRY_SLOTS},
    transaction::{ChainId, Transaction, TxHeader},
    tree::{Anchor, NotePath},
};
use sable_proto::v1::{
    self, admin_client::AdminClient, chain_client::ChainClient,
    compliance_client::ComplianceClient, transactions_client::TransactionsClient, tx_status::State,
};
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

use sable_primitives::{
    admin::SignedAdminCommand,
    block::{BlockHash, TxId},
    RegulatorRotation, RegulatorSchedule, RejectCode, TxStatus,
};

/// Client errors.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node answered with an error status.
    #[error("node refused the call: {0}")]
    Rpc(#[from] tonic::Status),
    /// The node's answer does not decode.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The transaction did not reach a final state in time.
    #[error("timed out waiting for {0}")]
    Timeout(TxId),
    /// The chain's regulator key for the next block is not the one this client was
    /// configured with (a rotation, or a node that lies): nothing was encrypted.
    #[error(
        "the chain's regulator key for block {height} is {chain}, not the configured {configured}; check the rotation with the chain's operators and configure the new key"
    )]
    RegulatorKey {
        /// The next block's height.
        height: u64,
        /// The key the node's schedule gives it (first bytes, hex).
        chain: String,
        /// The configured key (first bytes, hex).
        configured: String,
    },
    /// The node has not applied the block asked about yet.
    #[error("the node is at block {tip}; block {height} is not applied yet")]
    NotYet {
        /// The height asked about.
        height: u64,
        /// The node's tip.
        tip: u64,
    },
    /// The nullifier set rebuilt from the node's compact blocks does not have the root
    /// the node's header gives: the node's blocks and headers disagree, so neither can
    /// be used.
    #[error("the nullifier set rebuilt up to block {height} has root {rebuilt}, the node's header says {node}")]
    NullifierRoot {
        /// The height.
        height: u64,
        /// The header's root (hex).
        node: String,
        /// The rebuilt root (hex).
        rebuilt: String,
    },
}

/// The nullifier set after block `height` from the compact blocks `1..=height` (each
/// block's nullifiers in the order execution spent them; blocks above `height` are
/// ignored), checked against `header_root`, the nullifier root of the header at
/// `height`.
pub fn nullifier_set_from(
    blocks: &[v1::CompactBlock],
    height: u64,
    header_root: &[u8],
) -> Result<NullifierTree, ClientError> {
    let mut tree = NullifierTree::new();
    let mut next = 1;
    for b in blocks.iter().take_while(|b| b.height <= height) {
        if b.height != next {
            return Err(ClientError::Malformed(format!(
                "compact block {} where block {next} was due",
                b.height
            )));
        }
        let nfs = b
            .txs
            .iter()
            .flat_map(|t| &t.nullifiers)
            .map(|nf| field(nf, "nullifier"))
            .collect::<Result<Vec<_>, _>>()?;
        tree.insert(&nfs)
            .map_err(|e| ClientError::Malformed(format!("compact block {next}: {e}")))?;
        next += 1;
    }
    if next != height + 1 {
        return Err(ClientError::Malformed(format!(
            "compact blocks end at {} before block {height}",
            next - 1
        )));
    }
    let rebuilt = ff::PrimeField::to_repr(&tree.root());
    if header_root != rebuilt {
        return Err(ClientError::NullifierRoot {
            height,
            node: hex::encode(header_root),
            rebuilt: hex::encode(rebuilt),
        });
    }
    Ok(tree)
}

/// The items of a block stream up to the one at height `to`; an error when the stream
/// ends before it.
async fn collect_until<T>(
    mut stream: tonic::Streaming<T>,
    to: u64,
    height: impl Fn(&T) -> u64,
    what: &str,
) -> Result<Vec<T>, ClientError> {
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        let item = item?;
        let at = height(&item);
        out.push(item);
        if at >= to {
            return Ok(out);
        }
    }
    Err(ClientError::Malformed(format!("{what} stream ended early")))
}

/// The status in a node's answer. Public for the decoders' fuzzer (`sable-fuzz`), as
/// are the other conversions of answers.
#[doc(hidden)]
pub fn status_of(s: v1::TxStatus) -> Result<TxStatus, ClientError> {
    Ok(match s.state {
        Some(State::Pending(_)) => TxStatus::Pending,
        Some(State::Finalized(f)) => TxStatus::Finalized {
            height: f.height,
            block_hash: BlockHash(bytes32(&f.block_hash, "block hash")?),
            index: f.index,
        },
        Some(State::Rejected(r)) => TxStatus::Rejected {
            code: u8::try_from(r.reason)
                .ok()
                .and_then(RejectCode::from_u8)
                .ok_or_else(|| {
                    ClientError::Malformed(format!("unknown rejection reason {}", r.reason))
                })?,
            detail: r.detail,
        },
        Some(State::Unknown(_)) | None => TxStatus::Unknown,
    })
}

fn bytes32(bytes: &[u8], what: &'static str) -> Result<[u8; 32], ClientError> {
    bytes
        .try_into()
        .map_err(|_| ClientError::Malformed(format!("{what}: {} bytes", bytes.len())))
}

fn malformed(e: sable_circuits::encoding::DecodeError) -> ClientError {
    ClientError::Malformed(e.to_string())
}

fn field(bytes: &[u8], what: &'static str) -> Result<sable_circuits::pallas::Base, ClientError> {
    decode_base(&bytes32(bytes, what)?, what).map_err(malformed)
}

fn siblings<const D: usize>(
    raw: &[Vec<u8>],
) -> Result<[sable_circuits::pallas::Base; D], ClientError> {
    let v = raw
        .iter()
        .map(|s| field(s, "sibling"))
        .collect::<Result<Vec<_>, _>>()?;
    v.try_into()
        .map_err(|v: Vec<_>| ClientError::Malformed(format!("path of depth {}", v.len())))
}

/// The path of the note at `position` and the anchor in a `GetMerklePath` answer.
#[doc(hidden)]
pub fn note_path_of(
    p: &v1::MerklePathResponse,
    position: u64,
) -> Result<(NotePath, Anchor), ClientError> {
    let anchor = Anchor::from_bytes(&bytes32(&p.anchor, "anchor")?).map_err(malformed)?;
    Ok((
        NotePath {
            position,
            siblings: siblings(&p.siblings)?,
        },
        anchor,
    ))
}

/// A `GetRegistryPath` answer holding `membership` under `root` at `height` (what a node
/// sends; [`registry_path_of`] reads it back).
#[doc(hidden)]
pub fn registry_answer(
    membership: &Membership,
    root: RegistryRoot,
    height: u64,
) -> v1::RegistryPathResponse {
    v1::RegistryPathResponse {
        slot: membership.path.position / 2,
        siblings: membership
            .path
            .siblings
            .iter()
            .map(|s| ff::PrimeField::to_repr(s).to_vec())
            .collect(),
        root: root.to_bytes().to_vec(),
        height,
        epoch_keys: membership.schedule.to_bytes(),
    }
}

/// The membership of `address` and the registry root in a `GetRegistryPath` answer:
/// checked to lead from the address, beside the schedule the answer names, to the
/// root it names (so a node cannot hand a wallet another participant's schedule).
#[doc(hidden)]
pub fn registry_path_of(
    address: &Address,
    p: &v1::RegistryPathResponse,
) -> Result<(Membership, RegistryRoot), ClientError> {
    let root = RegistryRoot::from_bytes(&bytes32(&p.root, "root")?).map_err(malformed)?;
    if p.slot >= REGISTRY_SLOTS {
        return Err(ClientError::Malformed(format!(
            "registry slot {} (there are {REGISTRY_SLOTS})",
            p.slot
        )));
    }
    let membership = Membership {
        path: RegistryPath {
            position: 2 * p.slot,
            siblings: siblings(&p.siblings)?,
        },
        schedule: EpochSchedule::from_bytes(&p.epoch_keys).map_err(malformed)?,
    };
    if membership.root(address) != Some(root.inner()) {
        return Err(ClientError::Malformed(
            "the registry path and epoch schedule do not lead to the root the node names".into(),
        ));
    }
    Ok((membership, root))
}

/// A transaction as a finalized block holds it ([`NodeClient::transaction`]).
#[derive(Clone, Debug)]
pub struct FinalizedTx {
    /// The transaction.
    pub transaction: Transaction,
    /// The height of its block.
    pub height: u64,
    /// Whether execution applied it (`false`: included but skipped).
    pub applied: bool,
}

/// A connection to one node.
#[derive(Clone, Debug)]
pub struct NodeClient {
    txs: TransactionsClient<Channel>,
    chain: ChainClient<Channel>,
    admin: AdminClient<Channel>,
    compliance: ComplianceClient<Channel>,
}

impl NodeClient {
    /// A client over an established channel.
    pub fn new(channel: Channel) -> Self {
        NodeClient {
            txs: TransactionsClient::new(channel.clone()).max_decoding_message_size(64 << 20),
            chain: ChainClient::new(channel.clone()).max_decoding_message_size(64 << 20),
            admin: AdminClient::new(channel.clone()),
            compliance: ComplianceClient::new(channel),
        }
    }

    /// Asks the node to check a disclosure package (its JSON file) addressed to this
    /// client's identity, and to record it as accepted; a refusal is
    /// [`ClientError::Rpc`] with the reason.
    pub async fn verify_disclosure(
        &mut self,
        package: &str,
    ) -> Result<v1::DisclosureVerdict, ClientError> {
        let request = v1::PackageRequest {
            package: package.to_owned(),
        };
        Ok(self
            .compliance
            .verify_disclosure(request)
            .await?
            .into_inner())
    }

    /// Asks the node to check a proof of holdings (its JSON file) addressed to this
    /// client's identity, and to record it and the notes it counts as accepted.
    pub async fn verify_holdings(
        &mut self,
        package: &str,
    ) -> Result<v1::HoldingsVerdict, ClientError> {
        let request = v1::PackageRequest {
            package: package.to_owned(),
        };
        Ok(self.compliance.verify_holdings(request).await?.into_inner())
    }

    /// Submits a transaction; returns its id and admission status.
    pub async fn submit(&mut self, tx: &Transaction) -> Result<(TxId, TxStatus), ClientError> {
        self.submit_bytes(tx.to_bytes()).await
    }

    /// Submits encoded transaction bytes.
    pub async fn submit_bytes(&mut self, bytes: Vec<u8>) -> Result<(TxId, TxStatus), ClientError> {
        let id = TxId::of(&bytes);
        let s = self
            .txs
            .submit(v1::SubmitRequest { transaction: bytes })
            .await?
            .into_inner();
        Ok((id, status_of(s)?))
    }

    /// The status of a transaction or operator command.
    pub async fn status(&mut self, id: &TxId) -> Result<TxStatus, ClientError> {
        let s = self
            .txs
            .get_status(v1::TxId { id: id.0.to_vec() })
            .await?
            .into_inner();
        status_of(s)
    }

    /// Follows a transaction until it is finalized or rejected.
    pub async fn wait_final(
        &mut self,
        id: &TxId,
        timeout: Duration,
    ) -> Result<TxStatus, ClientError> {
        let mut stream = self
            .txs
            .watch_status(v1::TxId { id: id.0.to_vec() })
            .await?
            .into_inner();
        let run = async {
            while let Some(s) = stream.next().await {
                let s = status_of(s?)?;
                if s.is_final() {
                    return Ok(s);
                }
            }
            Err(ClientError::Malformed("status stream ended early".into()))
        };
        tokio::time::timeout(timeout, run)
            .await
            .map_err(|_| ClientError::Timeout(*id))?
    }

    /// The latest anchor, its height and the tree size.
    pub async fn anchor(&mut self) -> Result<(Anchor, u64, u64), ClientError> {
        let a = self
            .chain
            .get_anchor(v1::GetAnchorRequest {})
            .await?
            .into_inner();
        let anchor = Anchor::from_bytes(&bytes32(&a.anchor, "anchor")?).map_err(malformed)?;
        Ok((anchor, a.height, a.tree_size))
    }

    /// The path of the note at `position` to the latest anchor, and that anchor.
    pub async fn note_path(&mut self, position: u64) -> Result<(NotePath, Anchor), ClientError> {
        let p = self
            .chain
            .get_merkle_path(v1::GetMerklePathRequest {
                position,
                at_height: 0,
            })
            .await?
            .into_inner();
        note_path_of(&p, position)
    }

    /// The registry membership of `address` (its path and registered epoch schedule)
    /// and the current registry root.
    pub async fn registry_membership(
        &mut self,
        address: &Address,
    ) -> Result<(Membership, RegistryRoot), ClientError> {
        let p = self
            .chain
            .get_registry_path(v1::GetRegistryPathRequest {
                address: address.to_bytes().to_vec(),
            })
            .await?
            .into_inner();
        registry_path_of(address, &p)
    }

    /// The node's status (its tip, its chain).
    async fn node_status(&mut self) -> Result<v1::NodeStatus, ClientError> {
        Ok(self
            .chain
            .get_status(v1::GetStatusRequest {})
            .await?
            .into_inner())
    }

    /// Height of the node's last applied block.
    pub async fn height(&mut self) -> Result<u64, ClientError> {
        Ok(self.node_status().await?.height)
    }

    /// The digest of the node's chain's genesis parameters (its CA, regulator key,
    /// validator set and governance among them), to compare with the one the bank was
    /// given for its chain (`sable-node genesis` prints it).
    pub async fn genesis_digest(&mut self) -> Result<[u8; 32], ClientError> {
        bytes32(&self.node_status().await?.genesis_digest, "genesis digest")
    }

    /// The committed heads of the regulator decryption audit log `log` (the digest of
    /// the regulator key it records), by entries: `(entries, head, height committed)`.
    pub async fn audit_log_heads(
        &mut self,
        log: &[u8; 32],
    ) -> Result<Vec<(u64, [u8; 32], u64)>, ClientError> {
        let heads = self
            .chain
            .get_audit_log_heads(v1::AuditLogHeadsRequest { log: log.to_vec() })
            .await?
            .into_inner()
            .heads;
        heads
            .into_iter()
            .map(|h| Ok((h.entries, bytes32(&h.head, "audit log head")?, h.height)))
            .collect()
    }

    /// The chain the node runs (the id every transaction and command is signed for).
    pub async fn chain_id(&mut self) -> Result<ChainId, ClientError> {
        Ok(ChainId(bytes32(
            &self.node_status().await?.chain_id,
            "chain id",
        )?))
    }

    /// The chain's regulator key schedule as the node's state holds it (its genesis
    /// key, then each scheduled rotation).
    pub async fn regulator_schedule(&mut self) -> Result<RegulatorSchedule, ClientError> {
        let keys = self
            .chain
            .get_regulator_keys(v1::GetRegulatorKeysRequest {})
            .await?
            .into_inner();
        let key =
            |b: &[u8], what| RegulatorPublicKey::from_bytes(&bytes32(b, what)?).map_err(malformed);
        let rotations = keys
            .rotations
            .iter()
            .map(|r| {
                Ok(RegulatorRotation {
                    from_height: r.from_height,
                    key: key(&r.key, "regulator key")?,
                    scheduled_at: r.scheduled_at,
                })
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        RegulatorSchedule::with_rotations(key(&keys.genesis, "genesis regulator key")?, rotations)
            .map_err(|e| ClientError::Malformed(format!("regulator key schedule: {e}")))
    }

    /// The header for a transaction signed now, proven for `regulator`: the node's
    /// chain, and an expiry `window` blocks past its last applied block (at most
    /// [`MAX_EXPIRY_DELTA`](sable_circuits::constants::MAX_EXPIRY_DELTA), or validators
    /// refuse it), cut to the last block before a scheduled rotation, since no later
    /// block takes the transaction. `regulator` is the key the bank trusts (its
    /// configuration, never the node's word): when the chain's schedule gives the next
    /// block another key, this is [`ClientError::RegulatorKey`] and nothing is
    /// encrypted to a key the bank was not given. A bank that knows its chain should
    /// check `chain` against it.
    pub async fn tx_header(
        &mut self,
        window: u64,
        regulator: RegulatorPublicKey,
    ) -> Result<TxHeader, ClientError> {
        let status = self.node_status().await?;
        let schedule = self.regulator_schedule().await?;
        let next = status.height.saturating_add(1);
        let chain_key = schedule.key_at(next);
        if chain_key != regulator {
            return Err(ClientError::RegulatorKey {
                height: next,
                chain: chain_key.to_string(),
                configured: regulator.to_string(),
            });
        }
        let mut expiry_height = status.height.saturating_add(window);
        if let Some(r) = schedule.rotations().iter().find(|r| r.from_height > next) {
            expiry_height = expiry_height.min(r.from_height - 1);
        }
        Ok(TxHeader {
            chain: ChainId(bytes32(&status.chain_id, "chain id")?),
            expiry_height,
            regulator,
        })
    }

    /// Compact records of finalized blocks `from..=to` (applied transactions only, with
    /// their nullifiers and new notes at their tree positions).
    pub async fn compact_blocks(
        &mut self,
        from: u64,
        to: u64,
    ) -> Result<Vec<v1::CompactBlock>, ClientError> {
        if from > to {
            return Ok(Vec::new());
        }
        let stream = self
            .chain
            .stream_compact_blocks(v1::StreamRequest { from_height: from })
            .await?
            .into_inner();
        collect_until(stream, to, |b| b.height, "compact block").await
    }

    /// The nullifier set after block `height` (at most the node's tip), rebuilt here from
    /// the node's compact blocks and checked against the nullifier root of its header
    /// at `height` ([`nullifier_set_from`]): the set a bank shows its notes' nullifiers
    /// absent from at `height`, built without telling the node which nullifiers it
    /// cares about.
    pub async fn nullifier_set(&mut self, height: u64) -> Result<NullifierTree, ClientError> {
        let header = self.header(height).await?;
        let blocks = self.compact_blocks(1, height).await?;
        nullifier_set_from(&blocks, height, &header.nullifier_root)
    }

    /// The header of finalized block `height` (1 to the node's tip).
    pub async fn header(&mut self, height: u64) -> Result<v1::BlockHeader, ClientError> {
        let tip = self.height().await?;
        if height > tip {
            return Err(ClientError::NotYet { height, tip });
        }
        self.blocks(height, height)
            .await?
            .into_iter()
            .find_map(|b| b.header.filter(|h| h.height == height))
            .ok_or_else(|| ClientError::Malformed(format!("no header for block {height}")))
    }

    /// Finalized blocks `from..=to`, whole: headers and every command's encoding,
    /// applied or refused at execution (which [`NodeClient::compact_blocks`] tells).
    pub async fn blocks(&mut self, from: u64, to: u64) -> Result<Vec<v1::Block>, ClientError> {
        if from > to {
            return Ok(Vec::new());
        }
        let stream = self
            .chain
            .stream_blocks(v1::StreamRequest { from_height: from })
            .await?
            .into_inner();
        collect_until(
            stream,
            to,
            |b| b.header.as_ref().map_or(0, |h| h.height),
            "block",
        )
        .await
    }

    /// A transaction in a finalized block, by id, with its height and whether execution
    /// applied it (one included but skipped created and spent nothing). Any role that
    /// reads the chain may ask. `None`: no finalized block holds it.
    pub async fn transaction(&mut self, id: &TxId) -> Result<Option<FinalizedTx>, ClientError> {
        let r = match self
            .chain
            .get_transaction(v1::TxId { id: id.0.to_vec() })
            .await
        {
            Ok(r) => r.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
            Err(status) => return Err(status.into()),
        };
        let transaction = Transaction::from_bytes(&r.transaction)
            .map_err(|e| ClientError::Malformed(e.to_string()))?;
        let height = r
            .location
            .ok_or_else(|| ClientError::Malformed("a transaction without its location".into()))?
            .height;
        Ok(Some(FinalizedTx {
            transaction,
            height,
            applied: r.applied,
        }))
    }

    /// The status of an operator command (operator role).
    pub async fn admin_status(&mut self, id: &TxId) -> Result<TxStatus, ClientError> {
        let s = self
            .admin
            .get_command_status(v1::TxId { id: id.0.to_vec() })
            .await?
            .into_inner();
        status_of(s)
    }

    /// Polls an operator command until it is finalized or rejected.
    pub async fn wait_admin_final(
        &mut self,
        id: &TxId,
        timeout: Duration,
    ) -> Result<TxStatus, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let s = self.admin_status(id).await?;
            if s.is_final() {
                return Ok(s);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::Timeout(*id));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a signed operator command; returns its id and status.
    pub async fn admin(
        &mut self,
        cmd: &SignedAdminCommand,
    ) -> Result<(TxId, TxStatus), ClientError> {
        let r = self.admin.submit(admin_request(cmd)).await?.into_inner();
        let status = r
            .status
            .map(status_of)
            .transpose()?
            .unwrap_or(TxStatus::Unknown);
        Ok((cmd.id(), status))
    }
}

/// The `Admin.Submit` request carrying `cmd` and its approvals.
pub fn admin_request(cmd: &SignedAdminCommand) -> v1::SignedAdminCommand {
    v1::SignedAdminCommand {
        command: cmd.command.clone(),
        approvals: cmd
            .approvals
            .iter()
            .map(|a| v1::OperatorApproval {
                operator_certificate: a.certificate.clone(),
                signature: a.signature.to_vec(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ff::{Field, PrimeField};
    use sable_circuits::pallas;

    fn block(height: u64, nfs: &[pallas::Base]) -> v1::CompactBlock {
        v1::CompactBlock {
            height,
            hash: Vec::new(),
            txs: vec![v1::CompactTx {
                tx_id: None,
                nullifiers: nfs.iter().map(|nf| nf.to_repr().to_vec()).collect(),
                notes: Vec::new(),
            }],
        }
    }

    fn random(n: usize) -> Vec<pallas::Base> {
        (0..n)
            .map(|_| pallas::Base::random(&mut rand::rng()))
            .collect()
    }

    /// The set rebuilt from honest compact blocks has the header's root; a block that
    /// differs, is missing or repeats a nullifier is refused by name.
    #[test]
    fn the_rebuilt_nullifier_set_must_have_the_headers_root() {
        let nfs: Vec<_> = (0..3).map(|_| random(4)).collect();
        let blocks: Vec<_> = nfs
            .iter()
            .enumerate()
            .map(|(i, n)| block(i as u64 + 1, n))
            .collect();
        let mut reference = NullifierTree::new();
        reference.insert(&nfs[0]).unwrap();
        reference.insert(&nfs[1]).unwrap();
        let root = reference.root().to_repr();
        // Block 3 is past the height asked about: ignored.
        let set = nullifier_set_from(&blocks, 2, &root).unwrap();
        assert_eq!(set.root(), reference.root());
        assert!(set.contains(&nfs[1][2]) && !set.contains(&nfs[2][0]));
        // Genesis: the genesis set, from no blocks.
        let genesis = NullifierTree::genesis_root().to_repr();
        assert!(nullifier_set_from(&[], 0, &genesis).is_ok());

        let mut tampered = blocks.clone();
        tampered[1].txs[0].nullifiers[0] = random(1)[0].to_repr().to_vec();
        assert!(matches!(
            nullifier_set_from(&tampered, 2, &root),
            Err(ClientError::NullifierRoot { height: 2, .. })
        ));
        assert!(matches!(
            nullifier_set_from(&blocks[1..], 2, &root),
            Err(ClientError::Malformed(m)) if m.contains("block 1 was due")
        ));
        assert!(matches!(
            nullifier_set_from(&blocks[..1], 2, &root),
            Err(ClientError::Malformed(m)) if m.contains("before block 2")
        ));
        let mut repeated = blocks.clone();
        repeated[1].txs[0].nullifiers[3] = repeated[0].txs[0].nullifiers[0].clone();
        assert!(matches!(
            nullifier_set_from(&repeated, 2, &root),
            Err(ClientError::Malformed(m)) if m.contains("already in the set")
        ));
        let mut garbled = blocks;
        garbled[0].txs[0].nullifiers[0] = vec![0xff; 32];
        assert!(matches!(
            nullifier_set_from(&garbled, 2, &root),
            Err(ClientError::Malformed(_))
        ));
    }

    /// A node's registry answer is checked before a wallet proves with it: the path and
    /// the schedule must lead from the address to the root the node names.
    #[test]
    fn a_registry_answer_must_lead_from_the_address_to_its_root() {
        use sable_circuits::{keys::SpendingKey, registry::ParticipantRegistry};
        let fvks: Vec<_> = (0..2)
            .map(|_| SpendingKey::random(&mut rand::rng()).full_viewing_key())
            .collect();
        let mut registry = ParticipantRegistry::new();
        for f in &fvks {
            registry.add(&f.address(), f.epoch_schedule()).unwrap();
        }
        let me = fvks[1].address();
        let m = registry.membership(&me).unwrap();
        let answer = registry_answer(&m, registry.root(), 3);
        assert_eq!(answer.slot, 1);
        let (got, root) = registry_path_of(&me, &answer).unwrap();
        assert_eq!((got, root), (m, registry.root()));
        let refused = |a: &v1::RegistryPathResponse, who: &Address| {
            matches!(registry_path_of(who, a), Err(ClientError::Malformed(_)))
        };
        // Another participant's schedule, another address, another slot, a slot past
        // the registry, a truncated schedule.
        let other_schedule = v1::RegistryPathResponse {
            epoch_keys: fvks[0].epoch_schedule().to_bytes(),
            ..answer.clone()
        };
        assert!(refused(&other_schedule, &me));
        assert!(refused(&answer, &fvks[0].address()));
        for slot in [0, REGISTRY_SLOTS] {
            assert!(refused(
                &v1::RegistryPathResponse {
                    slot,
                    ..answer.clone()
                },
                &me
            ));
        }
        let short = v1::RegistryPathResponse {
            epoch_keys: answer.epoch_keys[..100].to_vec(),
            ..answer.clone()
        };
        assert!(refused(&short, &me));
    }
}
