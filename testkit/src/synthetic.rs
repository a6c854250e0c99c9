//! A synthetic chain for the compliance tooling's tests and benchmarks: banks,
//! issuers and payments built exactly as wallets build them (real notes, real
//! regulator and recipient ciphertexts, real signatures) but with a proof of zeros, and
//! laid out in blocks without validators. What an audit reads of a chain (the
//! ciphertexts, the issuances, the operator commands) is all there; what it never
//! reads (the proofs, which the validators checked) is not.
//!
//! The generator also keeps the truth to compare against: every payment's sender,
//! recipient, asset and value, and each bank's own wallet, which absorbs every block
//! as a bank's does.

use ff::PrimeField;
use rand::{rngs::StdRng, RngExt as _, SeedableRng as _};
use sable_circuits::{
    asset::AssetId,
    builder::{OutputInfo, PartBuilder, SpendInfo},
    circuit::Proof,
    constants::MAX_EXPIRY_DELTA,
    keys::{Address, RegulatorSecretKey, SpendingKey},
    note::NoteValue,
    nullifier_tree::NullifierTree,
    registry::ParticipantRegistry,
    transaction::{ChainId, Transaction, TxHeader},
    tree::CommitmentTree,
};
use sable_client::wallet::{assemble, issue, ChainTx, Issuer, OwnedNote, Wallet};
use sable_primitives::{
    admin::{AdminCommand, AdminOp, SignedAdminCommand},
    block::{Block, StateRef, TxId},
    published::{PublishedData, SettledBatch},
};

/// One block of the synthetic chain.
#[derive(Clone, Debug)]
pub struct SyntheticBlock {
    /// Its height (from 1).
    pub height: u64,
    /// Its time (Unix milliseconds).
    pub timestamp_ms: u64,
    /// Its transactions, in order.
    pub txs: Vec<(TxId, Transaction)>,
    /// Its operator commands.
    pub admin: Vec<AdminCommand>,
}

/// One payment as its sender meant it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
    /// The transaction.
    pub tx: TxId,
    /// Its block.
    pub height: u64,
    /// The paying bank (index into [`SyntheticChain::banks`]).
    pub from: usize,
    /// The paid bank, or `None` for a withdrawal to L1.
    pub to: Option<usize>,
    /// The asset (index into [`SyntheticChain::assets`]).
    pub asset: usize,
    /// The value.
    pub value: u64,
}

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Seed of every choice (not of the ciphertexts' randomness).
    pub seed: u64,
    /// Banks (at least 2).
    pub banks: usize,
    /// Assets (at least 1), each issued to every bank.
    pub assets: usize,
    /// Payments to make.
    pub payments: usize,
    /// Payments per block at most (one per bank and block).
    pub per_block: usize,
    /// Issued to each bank of each asset.
    pub issued: u64,
    /// One payment in this many is a withdrawal to L1 (0: none).
    pub withdrawal_every: usize,
    /// The regulator key rotates from this height on (scheduled by an operator command
    /// in block 1; `None`: never): payments from it encrypt to
    /// [`SyntheticChain::rotated`]'s key.
    pub rotate_at: Option<u64>,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            seed: 23,
            banks: 5,
            assets: 3,
            payments: 400,
            per_block: 4,
            issued: 1_000_000,
            withdrawal_every: 25,
            rotate_at: None,
        }
    }
}

/// A generated chain (see the module docs).
pub struct SyntheticChain {
    /// The chain's regulator key at genesis.
    pub regulator: RegulatorSecretKey,
    /// The key it rotated to, and from which height ([`Workload::rotate_at`]).
    pub rotated: Option<(u64, RegulatorSecretKey)>,
    /// The banks' wallets, each having absorbed every block.
    pub banks: Vec<Wallet>,
    /// The assets, as issued.
    pub assets: Vec<AssetId>,
    /// The asset names.
    pub asset_names: Vec<String>,
    /// The blocks, from height 1.
    pub blocks: Vec<SyntheticBlock>,
    /// Every payment, in chain order.
    pub payments: Vec<Payment>,
    tree: CommitmentTree,
    registry: ParticipantRegistry,
}

/// The synthetic chain's regulator key ([`crate::genesis::test_regulator`]'s seed).
pub const SYNTHETIC_REGULATOR_SEED: u8 = 5;

/// The header every synthetic transaction carries (valid at every height up to
/// `MAX_EXPIRY_DELTA`, as execution judges expiry, and naming the chain's regulator
/// key).
pub fn header() -> TxHeader {
    TxHeader {
        chain: ChainId::from_namespace("sable-synthetic"),
        expiry_height: MAX_EXPIRY_DELTA,
        regulator: crate::genesis::test_regulator(SYNTHETIC_REGULATOR_SEED).public_key(),
    }
}

/// The first block's time.
const GENESIS_MS: u64 = 1_800_000_000_000;

impl SyntheticChain {
    /// Generates `w`.
    pub fn generate(w: Workload) -> Self {
        assert!(w.banks >= 2 && w.assets >= 1 && w.per_block >= 1);
        let mut choose = StdRng::seed_from_u64(w.seed);
        let mut chain = SyntheticChain {
            regulator: crate::genesis::test_regulator(SYNTHETIC_REGULATOR_SEED),
            rotated: w.rotate_at.map(|h| {
                assert!(
                    h > 1,
                    "a rotation takes effect after block 1, which schedules it"
                );
                (
                    h,
                    crate::genesis::test_regulator(SYNTHETIC_REGULATOR_SEED + 1),
                )
            }),
            banks: (0..w.banks)
                .map(|i| Wallet::random(&format!("Bank {}", (b'A' + i as u8) as char)))
                .collect(),
            assets: Vec::new(),
            asset_names: Vec::new(),
            blocks: Vec::new(),
            payments: Vec::new(),
            tree: CommitmentTree::new(),
            registry: ParticipantRegistry::new(),
        };
        let issuer = Issuer::random();
        // Block 1: the registry, the issuer, and every asset issued to every bank.
        let mut admin: Vec<AdminCommand> = chain
            .banks
            .iter()
            .enumerate()
            .map(|(i, b)| AdminCommand {
                nonce: i as u64,
                op: AdminOp::add_participant(&b.spending_key().full_viewing_key(), &b.name),
            })
            .collect();
        admin.push(AdminCommand {
            nonce: w.banks as u64,
            op: AdminOp::AuthorizeIssuer {
                issuer_key: issuer.public(),
                label: "Central issuer".into(),
            },
        });
        if let Some((from_height, key)) = &chain.rotated {
            admin.push(AdminCommand {
                nonce: w.banks as u64 + 1,
                op: AdminOp::RotateRegulatorKey {
                    key: key.public_key(),
                    from_height: *from_height,
                },
            });
        }
        for b in &chain.banks {
            let fvk = b.spending_key().full_viewing_key();
            chain
                .registry
                .add(&fvk.address(), fvk.epoch_schedule())
                .expect("registry has room");
        }
        let names: Vec<String> = ["USD deposit token", "EUR deposit token", "Tokenised bond"]
            .iter()
            .map(|s| s.to_string())
            .chain((3..).map(|i| format!("Asset {i}")))
            .take(w.assets)
            .collect();
        let holders: Vec<(Address, u64)> = chain
            .banks
            .iter()
            .map(|b| (b.address(), w.issued))
            .collect();
        let orders: Vec<_> = names
            .iter()
            .map(|n| (&issuer, n.as_str(), holders.as_slice()))
            .collect();
        let (issuance, _) = issue(header(), &orders);
        chain.assets = names.iter().map(|n| issuer.asset(n)).collect();
        chain.asset_names = names;
        chain.push_block(vec![issuance], admin);

        while chain.payments.len() < w.payments {
            let mut txs = Vec::new();
            let mut senders: Vec<usize> = (0..w.banks).collect();
            // A random order of senders, one payment each at most.
            for i in (1..senders.len()).rev() {
                senders.swap(i, choose.random_range(0..=i));
            }
            let height = chain.blocks.len() as u64 + 1;
            for &from in senders.iter().take(w.per_block) {
                if chain.payments.len() >= w.payments {
                    break;
                }
                let asset = choose.random_range(0..w.assets);
                let value = if choose.random_range(0..50) == 0 {
                    choose.random_range(100_000..200_000)
                } else {
                    choose.random_range(1..5_000)
                };
                let count = chain.payments.len() + 1;
                let withdraw = w.withdrawal_every > 0 && count.is_multiple_of(w.withdrawal_every);
                let to = if withdraw {
                    None
                } else {
                    let mut to = choose.random_range(0..w.banks - 1);
                    if to >= from {
                        to += 1;
                    }
                    Some(to)
                };
                let Some(note) = chain.banks[from].note_for(chain.assets[asset], value) else {
                    continue;
                };
                let tx = chain.pay(from, note, to, value);
                chain.payments.push(Payment {
                    tx: TxId::of(&tx.to_bytes()),
                    height,
                    from,
                    to,
                    asset,
                    value,
                });
                txs.push(tx);
            }
            chain.push_block(txs, Vec::new());
        }
        chain
    }

    /// Appends a block of `txs` and `admin`, and lets every wallet absorb it.
    fn push_block(&mut self, txs: Vec<Transaction>, admin: Vec<AdminCommand>) {
        let height = self.blocks.len() as u64 + 1;
        let mut chain_txs = Vec::new();
        let mut ids = Vec::new();
        for tx in txs {
            let id = TxId::of(&tx.to_bytes());
            let positions: Vec<u64> = tx
                .commitments()
                .into_iter()
                .map(|cm| self.tree.append(cm).expect("tree has room"))
                .collect();
            chain_txs.push(ChainTx {
                id,
                height,
                first_position: positions.first().copied().unwrap_or(0),
                tx: tx.clone(),
            });
            ids.push((id, tx));
        }
        for bank in &mut self.banks {
            bank.absorb(&chain_txs);
        }
        self.blocks.push(SyntheticBlock {
            height,
            timestamp_ms: GENESIS_MS + height * 1_000,
            txs: ids,
            admin,
        });
    }

    /// The chain's regulator key at `height`.
    pub fn regulator_at(&self, height: u64) -> &RegulatorSecretKey {
        match &self.rotated {
            Some((from, key)) if height >= *from => key,
            _ => &self.regulator,
        }
    }

    /// Bank `from` pays `value` of `note` to bank `to` (or withdraws it to L1),
    /// keeping the change, in the next block (under its regulator key).
    fn pay(&self, from: usize, note: OwnedNote, to: Option<usize>, value: u64) -> Transaction {
        let sk: &SpendingKey = self.banks[from].spending_key();
        let height = self.blocks.len() as u64 + 1;
        self.part_paying(
            sk,
            note,
            to.map(|t| self.banks[t].address()),
            value,
            self.regulator_at(height),
        )
    }

    /// A payment of `value` from `sk`'s `note` to `to` (or to L1), with its regulator
    /// ciphertexts encrypted to `regulator`, the key its header names: the chain's key,
    /// or another one for a sender who tries to hide from the regulator (whose proof
    /// would verify under the key it names; execution refuses the key).
    pub fn part_paying(
        &self,
        sk: &SpendingKey,
        note: OwnedNote,
        to: Option<Address>,
        value: u64,
        regulator: &RegulatorSecretKey,
    ) -> Transaction {
        let mut r = rand::rng();
        let fvk = sk.full_viewing_key();
        let me = fvk.address();
        let spend = SpendInfo {
            fvk: fvk.clone(),
            note: note.note,
            path: self.tree.path(note.position).expect("note in the tree"),
            registry: self.registry.membership(&me).expect("sender registered"),
            split: false,
        };
        let mut b = PartBuilder::new(
            self.tree.anchor(),
            self.registry.root(),
            regulator.public_key(),
        );
        let kept = note
            .note
            .value()
            .inner()
            .checked_sub(value)
            .expect("the note covers the payment");
        let (recipient, paid) = match to {
            Some(to) => (to, value),
            None => (me, 0),
        };
        b.add_action(
            spend.clone(),
            OutputInfo {
                recipient,
                value: NoteValue(paid),
                registry: self
                    .registry
                    .membership(&recipient)
                    .expect("recipient registered"),
                memo: [0; 64],
            },
            &mut r,
        )
        .expect("action builds");
        b.add_action(
            SpendInfo {
                split: true,
                ..spend
            },
            OutputInfo {
                recipient: me,
                value: NoteValue(kept),
                registry: self.registry.membership(&me).expect("sender registered"),
                memo: [0; 64],
            },
            &mut r,
        )
        .expect("action builds");
        if to.is_none() {
            b.add_withdrawal(note.note.asset(), value, [0x42; 20])
                .expect("withdrawal builds");
        }
        // A proof's exact length of zeros: the transaction's bytes are as long as a real
        // one's and decode as one does (an audit never reads the proof).
        let part = b
            .build(&mut r)
            .expect("part builds")
            .with_unchecked_proof(Proof::from_bytes(vec![0; Proof::expected_size(2)]));
        let header = TxHeader {
            regulator: regulator.public_key(),
            ..header()
        };
        assemble(header, vec![(part, sk)]).expect("transaction assembles")
    }

    /// A batch after `last` settling one more block, a second after `last`'s tip,
    /// holding `txs`, every one of which execution skips: the block moves no root, so
    /// the batch keeps `last`'s roots.
    pub fn skipped_batch(last: &SettledBatch, txs: &[Transaction]) -> SettledBatch {
        let tip = PublishedData::from_bytes(&last.data)
            .ok()
            .and_then(|d| d.0.last().cloned())
            .expect("the batch holds blocks");
        let height = last.last_block + 1;
        let block = Block {
            height,
            parent: tip.hash(),
            timestamp_ms: tip.timestamp_ms + 1_000,
            state: StateRef::default(),
            transactions: txs.iter().map(Transaction::to_bytes).collect(),
            admin: Vec::new(),
        };
        SettledBatch {
            number: last.number + 1,
            first_block: height,
            last_block: height,
            commitment_root: last.commitment_root,
            nullifier_root: last.nullifier_root,
            data: PublishedData(vec![block]).to_bytes(),
        }
    }

    /// The blocks as settled batches of `per_batch` blocks (the last may hold fewer),
    /// with their roots as execution, which applies every synthetic transaction,
    /// reaches them. Operator commands carry no approvals (an audit does not check
    /// them: validators did).
    pub fn batches(&self, per_batch: usize) -> Vec<SettledBatch> {
        let mut tree = CommitmentTree::new();
        let mut nullifiers = NullifierTree::new();
        let mut parent = Block::genesis().hash();
        let mut out = Vec::new();
        for (i, chunk) in self.blocks.chunks(per_batch.max(1)).enumerate() {
            let mut blocks = Vec::new();
            for b in chunk {
                let mut nfs = Vec::new();
                for (_, tx) in &b.txs {
                    nfs.extend(tx.nullifiers().map(|nf| nf.inner()));
                    for cm in tx.commitments() {
                        tree.append(cm).expect("tree has room");
                    }
                }
                nullifiers
                    .insert(&nfs)
                    .expect("a synthetic chain spends each note once");
                let block = Block {
                    height: b.height,
                    parent,
                    timestamp_ms: b.timestamp_ms,
                    state: StateRef::default(),
                    transactions: b.txs.iter().map(|(_, tx)| tx.to_bytes()).collect(),
                    admin: b
                        .admin
                        .iter()
                        .map(|c| SignedAdminCommand::new(c, Vec::new()).to_bytes())
                        .collect(),
                };
                parent = block.hash();
                blocks.push(block);
            }
            out.push(SettledBatch {
                number: i as u64 + 1,
                first_block: chunk[0].height,
                last_block: chunk[chunk.len() - 1].height,
                commitment_root: tree.anchor().to_bytes(),
                nullifier_root: nullifiers.root().to_repr(),
                data: PublishedData(blocks).to_bytes(),
            });
        }
        out
    }

    /// Every transaction, in chain order.
    pub fn transactions(&self) -> usize {
        self.blocks.iter().map(|b| b.txs.len()).sum()
    }
}
