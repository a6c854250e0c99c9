//! Valid encodings the generator mutates: real transactions (issuances, shielded parts
//! with the pinned 2-action proof, deposit claims), blocks that carry them, operator
//! commands, an operator certificate, gossip and settlement messages, gRPC requests.
//!
//! Everything is drawn from a fixed RNG, so the seeds (and so every run) are the same
//! on every machine. The transactions are built in memory, not proven: decoding checks
//! a proof's length, never its validity, and the pinned proof has the right length.

use alloy::{
    eips::eip4844::builder::{SidecarBuilder, SimpleCoder},
    sol_types::SolCall as _,
};
use commonware_codec::Encode as _;
use ff::{Field as _, PrimeField as _};
use group::{Curve as _, Group as _, GroupEncoding as _};
use prost::Message as _;
use rand::{rngs::StdRng, SeedableRng as _};
use sable_circuits::{
    asset::AssetId,
    circuit::{Proof, DEPOSIT_PROOF_SIZE, NUM_PUBLIC_INPUTS},
    constants::NOTE_COMMITMENT_TREE_DEPTH,
    deposit::Deposit,
    keys::{FullViewingKey, RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    note_encryption::{encrypt_note, MEMO_SIZE},
    pallas,
    registry::ParticipantRegistry,
    regulator::{random_esk, RegulatorCiphertext, RegulatorPlaintext},
    transaction::{
        digest_of, Action, Burn, ChainId, Issuance, IssuedNote, Part, PartEffects, Transaction,
        TxHeader,
    },
    tree::CommitmentTree,
    value::{ValueCommitTrapdoor, ValueCommitment, ValueSum},
};
use sable_l1::bindings::{Batch, ISableSettlement, Withdrawal};
use sable_node::{
    consensus::ConsensusBlock, gossip, node::Announcement, settlement::exchange::BatchSignature,
};
use sable_primitives::{
    admin::{AdminCommand, AdminOp},
    block::{Block, BlockHash, StateRef},
    published::PublishedData,
    WithdrawalRecord,
};
use sable_proto::v1 as pb;

/// The pinned proof of a 2-action part (`circuits/tests/fixtures`): its instances'
/// count (`u32`), their public inputs, then the proof.
const PINNED_PROOF: &[u8] = include_bytes!("../../circuits/tests/fixtures/proof_2_actions.bin");

/// The proof in [`PINNED_PROOF`], after its public inputs.
fn proof_2_actions() -> Proof {
    let n = u32::from_le_bytes([
        PINNED_PROOF[0],
        PINNED_PROOF[1],
        PINNED_PROOF[2],
        PINNED_PROOF[3],
    ]);
    let at = 4 + n as usize * NUM_PUBLIC_INPUTS * 32;
    Proof::from_bytes(PINNED_PROOF[at..].to_vec())
}
/// A consortium CA and an operator certificate it issued (Ed25519, the
/// `urn:sable:operator:operator-0` role), made once with openssl for these seeds.
const OPERATOR_CERT: &[u8] = include_bytes!("../seeds/operator.der");
const CA_CERT: &[u8] = include_bytes!("../seeds/consortium-ca.der");

/// How many decoders `keys_and_commitments` picks from with its first byte.
pub const KEY_DECODERS: u8 = 7;

fn rng() -> StdRng {
    StdRng::seed_from_u64(0x5ab1_ef02)
}

fn header() -> TxHeader {
    TxHeader {
        chain: ChainId::from_namespace("sable-devnet"),
        expiry_height: 1_000,
        regulator: RegulatorSecretKey::random(&mut rng()).public_key(),
    }
}

/// A 2-action part spending and creating notes of `asset`, with a withdrawal and a
/// plain burn, signed (by keys nobody keeps) over the digest of `header` alone: the
/// decoder checks no signature.
fn part(rng: &mut StdRng, owner_sk: &SpendingKey, asset: AssetId) -> Part {
    let fvk = owner_sk.full_viewing_key();
    let owner = fvk.address();
    let regulator = RegulatorSecretKey::random(rng).public_key();
    let actions = (0..2u64)
        .map(|i| {
            let note = Note::new(asset, NoteValue(100 + i), owner, rng);
            let alpha = pallas::Scalar::random(&mut *rng);
            let cv_net = ValueCommitment::derive(
                ValueSum::net(100 + i, 100 + i),
                asset.base(),
                ValueCommitTrapdoor::random(rng),
            );
            Action {
                nf: note.nullifier(fvk.nk(), i),
                rk: fvk.ak().randomize(&alpha),
                cv_net,
                cm_new: note.commitment(),
                regulator_ciphertext: RegulatorCiphertext::encrypt(
                    &regulator,
                    random_esk(rng),
                    &RegulatorPlaintext::of_deposit(&note),
                ),
                encrypted_note: encrypt_note(&note, &[7; MEMO_SIZE], None, rng),
            }
        })
        .collect();
    let effects = PartEffects {
        anchor: CommitmentTree::new().anchor(),
        registry_root: ParticipantRegistry::new().root(),
        actions,
        burns: vec![
            Burn {
                asset,
                value: 5,
                recipient: [0x42; 20],
            },
            Burn {
                asset,
                value: 1,
                recipient: [0; 20],
            },
        ],
    };
    let digest = digest_of(&header(), &[], &[]);
    let ask = owner_sk.spend_authorizing_key();
    let spend_auth_sigs = (0..2)
        .map(|_| {
            ask.randomize(&pallas::Scalar::random(&mut *rng))
                .sign(&mut *rng, digest.as_bytes())
        })
        .collect();
    let binding_sig = ValueCommitTrapdoor::random(rng)
        .into_bsk()
        .sign(&mut *rng, digest.as_bytes());
    Part {
        effects,
        proof: proof_2_actions(),
        spend_auth_sigs,
        binding_sig,
    }
}

fn issuance(rng: &mut StdRng, to: &SpendingKey) -> Issuance {
    let isk = SpendingKey::random(rng)
        .spend_authorizing_key()
        .randomize(&pallas::Scalar::random(&mut *rng));
    let digest = digest_of(&header(), &[], &[]);
    Issuance {
        issuer: reddsa::VerificationKey::from(&isk),
        name: "USD deposit token".into(),
        notes: (0..2)
            .map(|i| IssuedNote {
                value: 1_000 * (i + 1),
                owner: to.full_viewing_key().address(),
                rcm: pallas::Base::random(&mut *rng),
            })
            .collect(),
        signature: isk.sign(&mut *rng, digest.as_bytes()),
    }
}

/// Transactions without deposits: an issuance and a part together, each alone, and
/// two parts.
pub fn transactions() -> Vec<Vec<u8>> {
    let mut rng = rng();
    let bank = SpendingKey::random(&mut rng);
    let usd = AssetId::from_name("USD");
    let bond = AssetId::from_name("BOND-2030");
    let tx = |issuances, parts| Transaction {
        header: header(),
        issuances,
        parts,
        deposits: vec![],
    };
    let both = tx(
        vec![issuance(&mut rng, &bank)],
        vec![part(&mut rng, &bank, usd)],
    );
    let issue_only = tx(vec![issuance(&mut rng, &bank)], vec![]);
    let part_only = tx(vec![], vec![part(&mut rng, &bank, usd)]);
    let dvp = tx(
        vec![],
        vec![part(&mut rng, &bank, usd), part(&mut rng, &bank, bond)],
    );
    [both, issue_only, part_only, dvp]
        .iter()
        .map(Transaction::to_bytes)
        .collect()
}

fn deposit(rng: &mut StdRng, index: u64) -> Deposit {
    let owner = SpendingKey::random(rng).full_viewing_key().address();
    let asset = AssetId::from_name("USDC");
    let note = Note::new(asset, NoteValue(50_000 + index), owner, rng);
    let regulator = RegulatorSecretKey::random(rng).public_key();
    // A filler of the deposit proof's length: the decoder checks only the length.
    let proof = (0..DEPOSIT_PROOF_SIZE)
        .map(|i| (i as u8).wrapping_mul(31))
        .collect();
    Deposit {
        index,
        asset,
        value: note.value().inner(),
        cm: note.commitment(),
        registry_root: ParticipantRegistry::new().root(),
        regulator_ciphertext: RegulatorCiphertext::encrypt(
            &regulator,
            random_esk(rng),
            &RegulatorPlaintext::of_deposit(&note),
        ),
        encrypted_note: encrypt_note(&note, &[0; MEMO_SIZE], None, rng),
        proof: Proof::from_bytes(proof),
    }
}

/// Version 2 transactions: one and two deposit claims.
pub fn deposit_transactions() -> Vec<Vec<u8>> {
    let mut rng = rng();
    let tx = |deposits| Transaction {
        header: header(),
        issuances: vec![],
        parts: vec![],
        deposits,
    };
    let one = tx(vec![deposit(&mut rng, 0)]);
    let two = tx(vec![deposit(&mut rng, 1), deposit(&mut rng, 2)]);
    [one, two].iter().map(Transaction::to_bytes).collect()
}

/// A selector byte (which decoder) and a valid 32-byte encoding for each.
pub fn keys_and_commitments() -> Vec<Vec<u8>> {
    let mut rng = rng();
    let sk = SpendingKey::random(&mut rng);
    let fvk = sk.full_viewing_key();
    let note = Note::new(
        AssetId::from_name("USD"),
        NoteValue(9),
        fvk.address(),
        &mut rng,
    );
    let rk: [u8; 32] = fvk.ak().randomize(&pallas::Scalar::random(&mut rng)).into();
    let cv = ValueCommitment::derive(
        ValueSum::net(3, 1),
        AssetId::from_name("USD").base(),
        ValueCommitTrapdoor::random(&mut rng),
    );
    let encodings: [[u8; 32]; KEY_DECODERS as usize] = [
        fvk.address().to_bytes(),
        RegulatorSecretKey::random(&mut rng).public_key().to_bytes(),
        cv.to_bytes(),
        note.commitment().to_bytes(),
        note.nullifier(fvk.nk(), 5).to_bytes(),
        sk.to_bytes(),
        rk,
    ];
    encodings
        .iter()
        .zip(0u8..)
        .map(|(e, which)| [&[which][..], e].concat())
        .collect()
}

/// Signed operator commands, one per kind of operation.
fn admin() -> Vec<AdminCommand> {
    let mut rng = rng();
    let fvk = SpendingKey::random(&mut rng).full_viewing_key();
    let address = fvk.address();
    let issuer_key = pallas::Point::generator().to_affine().to_bytes();
    let ops = [
        AdminOp::add_participant(&fvk, "Bank A"),
        AdminOp::RemoveParticipant { address },
        AdminOp::AuthorizeIssuer {
            issuer_key,
            label: "Treasury".into(),
        },
        AdminOp::RevokeIssuer { issuer_key },
        AdminOp::RevokeCertificate {
            fingerprint: [9; 32],
            reason: "key compromise".into(),
        },
        AdminOp::ReinstateCertificate {
            fingerprint: [9; 32],
            reason: "revoked in error".into(),
        },
        AdminOp::CommitAuditLog {
            log: [5; 32],
            entries: 3,
            head: [6; 32],
        },
        AdminOp::RotateRegulatorKey {
            key: RegulatorSecretKey::random(&mut rng).public_key(),
            from_height: 120,
        },
    ];
    ops.into_iter()
        .zip(1..)
        .map(|(op, nonce)| AdminCommand { nonce, op })
        .collect()
}

/// Every kind of operator command.
pub fn admin_commands() -> Vec<Vec<u8>> {
    admin().iter().map(AdminCommand::to_bytes).collect()
}

/// Each command with one approval, and with two (the second by another key).
fn signed_admin() -> Vec<sable_primitives::admin::SignedAdminCommand> {
    let chain = sable_circuits::transaction::ChainId::from_namespace("sable-fuzz");
    admin()
        .iter()
        .flat_map(|c| {
            let key = |seed| sable_pki::SigningKey::ed25519([seed; 32]).expect("a 32-byte seed");
            let one = c
                .sign(&chain, &key(0x11), OPERATOR_CERT.to_vec())
                .expect("Ed25519 signing cannot fail");
            let mut two = one.clone();
            two.approvals.push(
                c.approve(&chain, &key(0x22), OPERATOR_CERT.to_vec())
                    .expect("Ed25519 signing cannot fail"),
            );
            [one, two]
        })
        .collect()
}

/// Every kind of operator command, signed, with the operator's certificate.
pub fn signed_admin_commands() -> Vec<Vec<u8>> {
    signed_admin().iter().map(|s| s.to_bytes()).collect()
}

/// An operator certificate and the CA's.
pub fn certificates() -> Vec<Vec<u8>> {
    vec![OPERATOR_CERT.to_vec(), CA_CERT.to_vec()]
}

fn chain_blocks() -> Vec<Block> {
    let txs = transactions();
    let deposits = deposit_transactions();
    let admin = signed_admin_commands();
    vec![
        Block::genesis(),
        Block {
            height: 1,
            parent: Block::genesis().hash(),
            timestamp_ms: 1_700_000_000_000,
            state: StateRef::default(),
            transactions: vec![],
            admin: admin.clone(),
        },
        Block {
            height: 2,
            parent: BlockHash([2; 32]),
            timestamp_ms: 1_700_000_000_500,
            state: StateRef {
                height: 1,
                root: [7; 32],
            },
            transactions: vec![txs[0].clone(), deposits[0].clone()],
            admin: admin[..1].to_vec(),
        },
        Block {
            height: 3,
            parent: BlockHash([3; 32]),
            timestamp_ms: 1_700_000_001_000,
            state: StateRef {
                height: 2,
                root: [8; 32],
            },
            transactions: vec![txs[1].clone(), vec![], vec![1, 2, 3]],
            admin: vec![],
        },
    ]
}

/// Blocks: genesis, one of operator commands, two of transactions.
pub fn blocks() -> Vec<Vec<u8>> {
    chain_blocks().iter().map(Block::to_bytes).collect()
}

/// The same blocks under the consensus codec (a `u32` length, then the block).
pub fn consensus_blocks() -> Vec<Vec<u8>> {
    chain_blocks()
        .into_iter()
        .map(|b| ConsensusBlock(b).encode().to_vec())
        .collect()
}

/// Batches of the blocks, as published on L1.
pub fn published_data() -> Vec<Vec<u8>> {
    let blocks = chain_blocks();
    vec![
        PublishedData(vec![]).to_bytes(),
        PublishedData(blocks[1..3].to_vec()).to_bytes(),
        PublishedData(blocks.clone()).to_bytes(),
    ]
}

/// None, one and three withdrawal records.
pub fn withdrawal_records() -> Vec<Vec<u8>> {
    let record = |i: u8| WithdrawalRecord {
        id: [i; 32],
        asset: [i.wrapping_add(1); 32],
        value: u64::from(i) * 1_000,
        recipient: [i.wrapping_add(2); 20],
    };
    vec![
        WithdrawalRecord::encode_all(&[]),
        WithdrawalRecord::encode_all(&[record(1)]),
        WithdrawalRecord::encode_all(&[record(1), record(2), record(3)]),
    ]
}

/// Every kind of gossip message: a heartbeat, a pool request, a lone transaction, a
/// lone operator command, batches of both.
pub fn gossip_messages() -> Vec<Vec<u8>> {
    let txs = transactions();
    let admin = signed_admin_commands();
    let batch = vec![
        Announcement::Tx(txs[2].clone()),
        Announcement::Admin(admin[0].clone()),
        Announcement::Tx(deposit_transactions()[0].clone()),
    ];
    vec![
        vec![gossip::TAG_HEARTBEAT],
        vec![gossip::TAG_POOL_REQUEST],
        gossip::encode(&[Announcement::Tx(txs[0].clone())]),
        gossip::encode(&[Announcement::Admin(admin[2].clone())]),
        gossip::encode(&batch),
        gossip::encode(&[
            Announcement::Admin(admin[3].clone()),
            Announcement::Admin(admin[4].clone()),
        ]),
    ]
}

/// Batch signature messages.
pub fn settlement_signatures() -> Vec<Vec<u8>> {
    (1..=3u8)
        .map(|i| {
            BatchSignature {
                number: u64::from(i),
                digest: [i; 32].into(),
                signature: [i.wrapping_mul(17); 65],
            }
            .to_bytes()
        })
        .collect()
}

/// `SubmitRequest`s with each transaction.
pub fn grpc_submit_transactions() -> Vec<Vec<u8>> {
    transactions()
        .into_iter()
        .chain(deposit_transactions())
        .map(|transaction| pb::SubmitRequest { transaction }.encode_to_vec())
        .collect()
}

/// `Admin.Submit` requests with each signed command.
pub fn grpc_submit_admin() -> Vec<Vec<u8>> {
    signed_admin()
        .into_iter()
        .map(|s| sable_client::node_client::admin_request(&s).encode_to_vec())
        .collect()
}

/// Transaction ids.
pub fn grpc_tx_ids() -> Vec<Vec<u8>> {
    [[0u8; 32], [0xab; 32]]
        .iter()
        .map(|id| pb::TxId { id: id.to_vec() }.encode_to_vec())
        .collect()
}

/// Blocks asked for by height and by hash.
pub fn grpc_get_block() -> Vec<Vec<u8>> {
    use pb::get_block_request::At;
    [
        At::Height(0),
        At::Height(u64::MAX),
        At::Hash(vec![0x5e; 32]),
    ]
    .into_iter()
    .map(|at| pb::GetBlockRequest { at: Some(at) }.encode_to_vec())
    .collect()
}

/// Registry paths asked for by a participant's address.
pub fn grpc_registry_path() -> Vec<Vec<u8>> {
    let mut rng = rng();
    (0..2)
        .map(|_| {
            let address = SpendingKey::random(&mut rng).full_viewing_key().address();
            pb::GetRegistryPathRequest {
                address: address.to_bytes().to_vec(),
            }
            .encode_to_vec()
        })
        .collect()
}

/// Merkle path and stream requests, after their selector byte.
pub fn grpc_integer_requests() -> Vec<Vec<u8>> {
    let path = pb::GetMerklePathRequest {
        position: 12_345,
        at_height: 0,
    }
    .encode_to_vec();
    let stream = pb::StreamRequest {
        from_height: 1 << 40,
    }
    .encode_to_vec();
    vec![[&[0u8][..], &path].concat(), [&[1u8][..], &stream].concat()]
}

/// A status of each kind, as a node answers.
pub fn grpc_answer_tx_status() -> Vec<Vec<u8>> {
    use pb::tx_status::State;
    let id = Some(pb::TxId { id: vec![7; 32] });
    [
        State::Pending(pb::Pending {}),
        State::Finalized(pb::Finalized {
            height: 12,
            block_hash: vec![3; 32],
            index: 1,
        }),
        State::Rejected(pb::Rejected {
            reason: 1,
            detail: "nullifier already spent".into(),
        }),
        State::Unknown(pb::Unknown {}),
    ]
    .into_iter()
    .map(|state| {
        pb::TxStatus {
            tx_id: id.clone(),
            state: Some(state),
        }
        .encode_to_vec()
    })
    .collect()
}

fn siblings(depth: usize) -> Vec<Vec<u8>> {
    (0..depth as u64)
        .map(|i| pallas::Base::from(i * 7919 + 1).to_repr().to_vec())
        .collect()
}

/// Note paths at the tip, as a node answers.
pub fn grpc_answer_merkle_path() -> Vec<Vec<u8>> {
    [0u64, 41]
        .into_iter()
        .map(|position| {
            pb::MerklePathResponse {
                position,
                leaf: pallas::Base::from(position).to_repr().to_vec(),
                siblings: siblings(NOTE_COMMITMENT_TREE_DEPTH),
                anchor: CommitmentTree::new().anchor().to_bytes().to_vec(),
                height: 9,
            }
            .encode_to_vec()
        })
        .collect()
}

/// The participant whose registry answers the registry path seeds hold (the target
/// reads each answer as this participant's client would).
pub fn registry_participant() -> FullViewingKey {
    SpendingKey::from_bytes([7; 32])
        .expect("a valid spending key")
        .full_viewing_key()
}

/// Registry paths, as a node answers: the participant's membership in a registry where
/// it has slot 0 or 3.
pub fn grpc_answer_registry_path() -> Vec<Vec<u8>> {
    let me = registry_participant();
    [0usize, 3]
        .into_iter()
        .map(|slot| {
            let mut registry = ParticipantRegistry::new();
            for other in 0..slot {
                let other = SpendingKey::from_bytes([other as u8 + 10; 32])
                    .expect("a valid spending key")
                    .full_viewing_key();
                registry
                    .add(&other.address(), other.epoch_schedule())
                    .expect("room");
            }
            registry
                .add(&me.address(), me.epoch_schedule())
                .expect("room");
            let membership = registry.membership(&me.address()).expect("registered");
            sable_client::node_client::registry_answer(&membership, registry.root(), 9)
                .encode_to_vec()
        })
        .collect()
}

/// The published data as blobs (each seed the blobs' bytes without the last blob's
/// zero padding, which the target restores).
pub fn l1_blob_data() -> Vec<Vec<u8>> {
    published_data()
        .iter()
        .map(|data| {
            let blobs = SidecarBuilder::<SimpleCoder>::from_slice(data).take();
            let mut bytes: Vec<u8> = blobs.iter().flat_map(|b| b.iter().copied()).collect();
            while bytes.last() == Some(&0) {
                bytes.pop();
            }
            bytes
        })
        .collect()
}

/// `submitBatch` (selector byte 0) with published data and withdrawals, and `publish`
/// (selector byte 1) with a chunk of it.
pub fn l1_settlement_calls() -> Vec<Vec<u8>> {
    let data = published_data().swap_remove(1);
    let withdrawal = |i: u8| Withdrawal {
        id: [i; 32].into(),
        token: [0x70 + i; 20].into(),
        recipient: [0x42; 20].into(),
        amount: alloy::primitives::U256::from(1_000u64 * u64::from(i)),
    };
    let submit = ISableSettlement::submitBatchCall {
        b: Batch {
            number: 3,
            ..Batch::default()
        },
        withdrawals: vec![withdrawal(1), withdrawal(2)],
        data: data.clone().into(),
        signatures: vec![0x1b; 65 * 3].into(),
    };
    let publish = ISableSettlement::publishCall {
        number: 3,
        restart: true,
        chunk: data[..data.len() / 2].to_vec().into(),
    };
    vec![
        [&[0u8][..], &submit.abi_encode()].concat(),
        [&[1u8][..], &publish.abi_encode()].concat(),
    ]
}
