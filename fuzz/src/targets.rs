//! The fuzz targets: every decoder that reads bytes from outside the process, each as
//! the code that receives those bytes calls it.
//!
//! A target decodes (and, where the receiver does, converts) one input and says whether
//! it was [`Outcome::Accepted`] or [`Outcome::Rejected`]; a panic is the only failure.
//! No target verifies a proof or a signature.
//!
//! | target | where the bytes come from | decoder |
//! |---|---|---|
//! | `transaction` | a bank (gRPC `Submit`), a peer (gossip), a block | `Transaction::from_bytes` |
//! | `deposit_transaction` | a depositor, a block | `Transaction::from_bytes`, version 2 (deposit claims) |
//! | `keys_and_commitments` | inside transactions, gRPC, operator commands | addresses, regulator key, note and value commitments, spending key, RedPallas key |
//! | `block` | a proposer, storage, published data | `Block::from_bytes` |
//! | `consensus_block` | a peer, through simplex and marshal | `ConsensusBlock` (commonware codec) |
//! | `published_data` | L1 (calldata or blobs), `verify-l1` | `PublishedData::from_bytes` |
//! | `l1_blob_data` | L1 blobs (`verify-l1`) | `SimpleCoder::decode_all`, then the published data |
//! | `l1_settlement_calls` | L1 transactions' input (`verify-l1`) | ABI of `submitBatch` and `publish` |
//! | `admin_command` | an operator, inside a signed command | `AdminCommand::from_bytes` |
//! | `signed_admin_command` | a block, gossip | `SignedAdminCommand::from_bytes`, then its command |
//! | `operator_certificate` | a signed operator command | the certificate's DER and key (`CertificateAuthority::from_der`) |
//! | `withdrawal_records` | the bridge ledger's records | `WithdrawalRecord::decode_all` |
//! | `gossip_message` | a peer (gossip channel) | tags, `gossip::decode_batch`, then each announcement |
//! | `settlement_signature` | a peer (settlement channel) | `BatchSignature::from_bytes` |
//! | `grpc_submit_transaction` | `Transactions.Submit` | protobuf, then the transaction |
//! | `grpc_submit_admin` | `Admin.Submit` | protobuf, `convert::signed_admin_command`, then the command |
//! | `grpc_tx_id` | `GetStatus`, `WatchStatus`, `GetTransaction`, `GetCommandStatus` | protobuf, `convert::tx_id` |
//! | `grpc_get_block` | `Chain.GetBlock` | protobuf, `convert::block_at` |
//! | `grpc_registry_path` | `Chain.GetRegistryPath` | protobuf, `convert::registry_address` |
//! | `grpc_integer_requests` | `Chain.GetMerklePath`, `StreamBlocks`, `StreamCompactBlocks` | protobuf |
//! | `grpc_answer_tx_status` | a node's answer, in a participant's client | protobuf, `node_client::status_of` |
//! | `grpc_answer_merkle_path` | a node's answer, in a participant's client | protobuf, `node_client::note_path_of` |
//! | `grpc_answer_registry_path` | a node's answer, in a participant's client | protobuf, `node_client::registry_path_of` |

use alloy::{
    eips::eip4844::{
        builder::{SidecarCoder as _, SimpleCoder},
        Blob, BYTES_PER_BLOB,
    },
    sol_types::SolCall as _,
};
use commonware_codec::DecodeExt as _;
use prost::Message as _;
use sable_circuits::{
    keys::{Address, RegulatorPublicKey, SpendingKey},
    note::{NoteCommitment, Nullifier},
    transaction::Transaction,
    value::ValueCommitment,
};
use sable_client::node_client;
use sable_l1::bindings::ISableSettlement;
use sable_node::{consensus::ConsensusBlock, gossip, rpc::convert, settlement::exchange};
use sable_pki::CertificateAuthority;
use sable_primitives::{
    admin::{AdminCommand, SignedAdminCommand},
    block::{Block, MAX_ADMIN_BYTES, MAX_TX_BYTES},
    published::PublishedData,
    WithdrawalRecord,
};
use sable_proto::v1 as pb;

use crate::seeds;

/// A decoder's verdict on one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The input decoded (and converted) into a value.
    Accepted,
    /// The decoder refused the input with its error.
    Rejected,
}

impl Outcome {
    fn of<T, E>(r: Result<T, E>) -> Self {
        if r.is_ok() {
            Outcome::Accepted
        } else {
            Outcome::Rejected
        }
    }

    fn of_option<T>(o: Option<T>) -> Self {
        if o.is_some() {
            Outcome::Accepted
        } else {
            Outcome::Rejected
        }
    }
}

/// One decoder under fuzzing.
#[derive(Clone, Copy)]
pub struct Target {
    /// Its name (`--only`).
    pub name: &'static str,
    /// Decodes one input.
    pub decode: fn(&[u8]) -> Outcome,
    /// Valid encodings the generator mutates (built once per run).
    pub seeds: fn() -> Vec<Vec<u8>>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("name", &self.name).finish()
    }
}

/// Every target, in the order the report lists them.
pub fn registry() -> Vec<Target> {
    vec![
        Target {
            name: "transaction",
            decode: transaction,
            seeds: seeds::transactions,
        },
        Target {
            name: "deposit_transaction",
            decode: transaction,
            seeds: seeds::deposit_transactions,
        },
        Target {
            name: "keys_and_commitments",
            decode: keys_and_commitments,
            seeds: seeds::keys_and_commitments,
        },
        Target {
            name: "block",
            decode: block,
            seeds: seeds::blocks,
        },
        Target {
            name: "consensus_block",
            decode: consensus_block,
            seeds: seeds::consensus_blocks,
        },
        Target {
            name: "published_data",
            decode: published_data,
            seeds: seeds::published_data,
        },
        Target {
            name: "l1_blob_data",
            decode: l1_blob_data,
            seeds: seeds::l1_blob_data,
        },
        Target {
            name: "l1_settlement_calls",
            decode: l1_settlement_calls,
            seeds: seeds::l1_settlement_calls,
        },
        Target {
            name: "admin_command",
            decode: admin_command,
            seeds: seeds::admin_commands,
        },
        Target {
            name: "signed_admin_command",
            decode: signed_admin_command,
            seeds: seeds::signed_admin_commands,
        },
        Target {
            name: "operator_certificate",
            decode: operator_certificate,
            seeds: seeds::certificates,
        },
        Target {
            name: "withdrawal_records",
            decode: withdrawal_records,
            seeds: seeds::withdrawal_records,
        },
        Target {
            name: "gossip_message",
            decode: gossip_message,
            seeds: seeds::gossip_messages,
        },
        Target {
            name: "settlement_signature",
            decode: settlement_signature,
            seeds: seeds::settlement_signatures,
        },
        Target {
            name: "grpc_submit_transaction",
            decode: grpc_submit_transaction,
            seeds: seeds::grpc_submit_transactions,
        },
        Target {
            name: "grpc_submit_admin",
            decode: grpc_submit_admin,
            seeds: seeds::grpc_submit_admin,
        },
        Target {
            name: "grpc_tx_id",
            decode: grpc_tx_id,
            seeds: seeds::grpc_tx_ids,
        },
        Target {
            name: "grpc_get_block",
            decode: grpc_get_block,
            seeds: seeds::grpc_get_block,
        },
        Target {
            name: "grpc_registry_path",
            decode: grpc_registry_path,
            seeds: seeds::grpc_registry_path,
        },
        Target {
            name: "grpc_integer_requests",
            decode: grpc_integer_requests,
            seeds: seeds::grpc_integer_requests,
        },
        Target {
            name: "grpc_answer_tx_status",
            decode: grpc_answer_tx_status,
            seeds: seeds::grpc_answer_tx_status,
        },
        Target {
            name: "grpc_answer_merkle_path",
            decode: grpc_answer_merkle_path,
            seeds: seeds::grpc_answer_merkle_path,
        },
        Target {
            name: "grpc_answer_registry_path",
            decode: grpc_answer_registry_path,
            seeds: seeds::grpc_answer_registry_path,
        },
    ]
}

/// A transaction as the node admits one (`Node::submit`, gossip): over the size limit
/// it is refused before decoding.
fn transaction(data: &[u8]) -> Outcome {
    if data.len() > MAX_TX_BYTES {
        return Outcome::Rejected;
    }
    Outcome::of(Transaction::from_bytes(data))
}

/// The 32-byte decoders of keys and commitments; the first byte picks one.
fn keys_and_commitments(data: &[u8]) -> Outcome {
    let Some((&which, rest)) = data.split_first() else {
        return Outcome::Rejected;
    };
    let Ok(b) = <[u8; 32]>::try_from(rest) else {
        return Outcome::Rejected;
    };
    match which % seeds::KEY_DECODERS {
        0 => Outcome::of(Address::from_bytes(&b)),
        1 => Outcome::of(RegulatorPublicKey::from_bytes(&b)),
        2 => Outcome::of(ValueCommitment::from_bytes(&b)),
        3 => Outcome::of(NoteCommitment::from_bytes(&b)),
        4 => Outcome::of(Nullifier::from_bytes(&b)),
        5 => Outcome::of(SpendingKey::from_bytes(b)),
        _ => Outcome::of(reddsa::VerificationKey::<reddsa::orchard::SpendAuth>::try_from(b)),
    }
}

fn block(data: &[u8]) -> Outcome {
    Outcome::of(Block::from_bytes(data))
}

/// A block as consensus receives it from a peer: the commonware codec, with every byte
/// consumed.
fn consensus_block(data: &[u8]) -> Outcome {
    Outcome::of(ConsensusBlock::decode(bytes::Bytes::copy_from_slice(data)))
}

fn published_data(data: &[u8]) -> Outcome {
    Outcome::of(PublishedData::from_bytes(data))
}

/// A batch's data as `verify-l1` rebuilds it from blobs: the input cut into blobs (the
/// last one zero-padded), decoded, concatenated and decoded as published data.
fn l1_blob_data(data: &[u8]) -> Outcome {
    if data.is_empty() {
        return Outcome::Rejected;
    }
    let blobs: Vec<Blob> = data
        .chunks(BYTES_PER_BLOB)
        .map(|c| {
            let mut blob = Blob::default();
            blob[..c.len()].copy_from_slice(c);
            blob
        })
        .collect();
    match SimpleCoder::default().decode_all(&blobs) {
        Some(pieces) => published_data(&pieces.concat()),
        None => Outcome::Rejected,
    }
}

/// The settlement contract's calls that carry a batch's data, as `verify-l1` reads
/// them from L1 transactions (the first byte picks one).
fn l1_settlement_calls(data: &[u8]) -> Outcome {
    let Some((&which, input)) = data.split_first() else {
        return Outcome::Rejected;
    };
    if which % 2 == 0 {
        Outcome::of(ISableSettlement::submitBatchCall::abi_decode(input))
    } else {
        Outcome::of(ISableSettlement::publishCall::abi_decode(input))
    }
}

fn admin_command(data: &[u8]) -> Outcome {
    Outcome::of(AdminCommand::from_bytes(data))
}

/// A signed operator command as a block or gossip carries it, and the command inside
/// it (which a validator decodes once the signature verifies).
fn signed_admin_command(data: &[u8]) -> Outcome {
    if data.len() > MAX_ADMIN_BYTES {
        return Outcome::Rejected;
    }
    Outcome::of(
        SignedAdminCommand::from_bytes(data)
            .and_then(|signed| AdminCommand::from_bytes(&signed.command)),
    )
}

/// An operator's certificate: DER, then its Ed25519 key (what every certificate check
/// parses first).
fn operator_certificate(data: &[u8]) -> Outcome {
    Outcome::of(CertificateAuthority::from_der(data.to_vec()))
}

fn withdrawal_records(data: &[u8]) -> Outcome {
    Outcome::of_option(WithdrawalRecord::decode_all(data))
}

/// A gossip message as the receiving validator takes it apart (`gossip::receive_loop`
/// and `admit`): its tag, a batch's announcements, and each announcement's transaction
/// or signed operator command.
fn gossip_message(data: &[u8]) -> Outcome {
    fn announcement(a: &[u8]) -> Outcome {
        match a.split_first() {
            Some((&gossip::TAG_TX, tx)) => transaction(tx),
            Some((&gossip::TAG_ADMIN, cmd)) => signed_admin_command(cmd),
            _ => Outcome::Rejected,
        }
    }
    match data.split_first() {
        Some((&gossip::TAG_HEARTBEAT, [])) | Some((&gossip::TAG_POOL_REQUEST, [])) => {
            Outcome::Accepted
        }
        Some((&gossip::TAG_BATCH, body)) => match gossip::decode_batch(body) {
            Some(items) => {
                // Each announcement is admitted or refused on its own.
                let verdicts: Vec<Outcome> = items.into_iter().map(announcement).collect();
                if verdicts.iter().all(|v| *v == Outcome::Accepted) {
                    Outcome::Accepted
                } else {
                    Outcome::Rejected
                }
            }
            None => Outcome::Rejected,
        },
        _ => announcement(data),
    }
}

fn settlement_signature(data: &[u8]) -> Outcome {
    Outcome::of_option(exchange::BatchSignature::from_bytes(data))
}

/// `Transactions.Submit`: the protobuf request, then the transaction in it.
fn grpc_submit_transaction(data: &[u8]) -> Outcome {
    match pb::SubmitRequest::decode(data) {
        Ok(r) => transaction(&r.transaction),
        Err(_) => Outcome::Rejected,
    }
}

/// `Admin.Submit`: the protobuf request, its conversion, then the command in it.
fn grpc_submit_admin(data: &[u8]) -> Outcome {
    let Ok(m) = pb::SignedAdminCommand::decode(data) else {
        return Outcome::Rejected;
    };
    Outcome::of(
        convert::signed_admin_command(m)
            .ok()
            .filter(|s| s.command.len() <= MAX_ADMIN_BYTES)
            .ok_or(())
            .and_then(|s| AdminCommand::from_bytes(&s.command).map_err(|_| ())),
    )
}

fn grpc_tx_id(data: &[u8]) -> Outcome {
    Outcome::of(
        pb::TxId::decode(data)
            .map_err(|_| ())
            .and_then(|id| convert::tx_id(&id).map_err(|_| ())),
    )
}

fn grpc_get_block(data: &[u8]) -> Outcome {
    Outcome::of(
        pb::GetBlockRequest::decode(data)
            .map_err(|_| ())
            .and_then(|r| convert::block_at(r).map_err(|_| ())),
    )
}

fn grpc_registry_path(data: &[u8]) -> Outcome {
    Outcome::of(
        pb::GetRegistryPathRequest::decode(data)
            .map_err(|_| ())
            .and_then(|r| convert::registry_address(&r).map_err(|_| ())),
    )
}

/// The requests made only of integers: their protobuf is the whole conversion.
fn grpc_integer_requests(data: &[u8]) -> Outcome {
    let Some((&which, rest)) = data.split_first() else {
        return Outcome::Rejected;
    };
    if which % 2 == 0 {
        Outcome::of(pb::GetMerklePathRequest::decode(rest))
    } else {
        Outcome::of(pb::StreamRequest::decode(rest))
    }
}

/// A transaction's status as a participant's client reads a node's answer.
fn grpc_answer_tx_status(data: &[u8]) -> Outcome {
    Outcome::of(
        pb::TxStatus::decode(data)
            .map_err(|_| ())
            .and_then(|s| node_client::status_of(s).map_err(|_| ())),
    )
}

/// A note's Merkle path as a participant's client reads a node's answer.
fn grpc_answer_merkle_path(data: &[u8]) -> Outcome {
    Outcome::of(
        pb::MerklePathResponse::decode(data)
            .map_err(|_| ())
            .and_then(|p| node_client::note_path_of(&p, p.position).map_err(|_| ())),
    )
}

/// A participant's registry path as its client reads a node's answer.
fn grpc_answer_registry_path(data: &[u8]) -> Outcome {
    Outcome::of(
        pb::RegistryPathResponse::decode(data)
            .map_err(|_| ())
            .and_then(|p| {
                let me = crate::seeds::registry_participant().address();
                node_client::registry_path_of(&me, &p).map_err(|_| ())
            }),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_seed_is_accepted_by_its_target() {
        for t in registry() {
            let seeds = (t.seeds)();
            assert!(!seeds.is_empty(), "{} has no seed", t.name);
            for (i, s) in seeds.iter().enumerate() {
                assert_eq!((t.decode)(s), Outcome::Accepted, "{} seed {i}", t.name);
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = registry().iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), registry().len());
    }
}
