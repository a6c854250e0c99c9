//! Shared pieces of Sable's benchmarks: a one-note world in which Alice pays Bob, to
//! prove and time the action circuit or to get real transaction bytes.

pub mod verification;

use std::path::Path;

use anyhow::{ensure, Context as _, Result};
use rand::{rand_core::UnwrapErr, rngs::SysRng};
use sable_circuits::{
    asset::AssetId,
    builder::{OutputInfo, PartBuilder, SpendInfo},
    circuit::ProvingKey,
    keys::{RegulatorPublicKey, RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    registry::ParticipantRegistry,
    transaction::{digest_of, ChainId, Transaction, TxHeader},
    tree::CommitmentTree,
};

/// The benchmarks' randomness.
pub type Rng = UnwrapErr<SysRng>;

/// Alice holds one 100 USD note; Alice and Bob are registered.
pub struct Transfer {
    /// The network regulator the transfer encrypts to.
    pub regulator: RegulatorPublicKey,
    alice: SpendingKey,
    bob: SpendingKey,
    registry: ParticipantRegistry,
    tree: CommitmentTree,
    note: Note,
    position: u64,
}

impl Transfer {
    /// A fresh world (keys, registry, tree).
    pub fn new(rng: &mut Rng) -> Result<Self> {
        let regulator = RegulatorSecretKey::random(rng).public_key();
        let alice = SpendingKey::random(rng);
        let bob = SpendingKey::random(rng);
        let mut registry = ParticipantRegistry::new();
        registry.add(
            &alice.full_viewing_key().address(),
            alice.full_viewing_key().epoch_schedule(),
        )?;
        registry.add(
            &bob.full_viewing_key().address(),
            bob.full_viewing_key().epoch_schedule(),
        )?;
        let mut tree = CommitmentTree::new();
        let note = Note::new(
            AssetId::from_name("USD"),
            NoteValue(100),
            alice.full_viewing_key().address(),
            rng,
        );
        let position = tree.append(note.commitment())?;
        Ok(Transfer {
            regulator,
            alice,
            bob,
            registry,
            tree,
            note,
            position,
        })
    }

    /// The unproven 2-action part: pay 60 to Bob, 40 change to Alice.
    pub fn part(&self, rng: &mut Rng) -> Result<sable_circuits::builder::UnprovenPart> {
        let a_fvk = self.alice.full_viewing_key();
        let b_addr = self.bob.full_viewing_key().address();
        let mut b = PartBuilder::new(self.tree.anchor(), self.registry.root(), self.regulator);
        let spend = SpendInfo {
            fvk: a_fvk.clone(),
            note: self.note,
            path: self.tree.path(self.position)?,
            registry: self.registry.membership(&a_fvk.address())?,
            split: false,
        };
        let pay = OutputInfo {
            recipient: b_addr,
            value: NoteValue(60),
            registry: self.registry.membership(&b_addr)?,
            memo: [0; 64],
        };
        b.add_payment(spend, pay, rng)?;
        Ok(b.build(rng)?)
    }

    /// The whole transaction: proven and signed.
    pub fn transaction(&self, pk: &ProvingKey, rng: &mut Rng) -> Result<Transaction> {
        let proven = self.part(rng)?.prove(pk, rng)?;
        let header = TxHeader {
            chain: ChainId::from_namespace("sable-bench"),
            expiry_height: 1_000,
            regulator: self.regulator,
        };
        let digest = digest_of(&header, &[], &[proven.signed_data()]);
        let ask = self.alice.spend_authorizing_key();
        Ok(Transaction {
            header,
            issuances: vec![],
            parts: vec![proven.authorize(&digest, &[&ask], rng)?],
            deposits: vec![],
        })
    }
}

/// Writes transactions to `path`, each as its length (u32, little-endian) and bytes.
pub fn write_pool(path: &Path, pool: &[Transaction]) -> Result<()> {
    let mut out = Vec::new();
    for tx in pool {
        let bytes = tx.to_bytes();
        out.extend_from_slice(&u32::try_from(bytes.len())?.to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// Reads what [`write_pool`] wrote.
pub fn read_pool(path: &Path) -> Result<Vec<Transaction>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rest = bytes.as_slice();
    let mut pool = Vec::new();
    while !rest.is_empty() {
        ensure!(rest.len() >= 4, "{}: truncated", path.display());
        let (len, tail) = rest.split_at(4);
        let len = u32::from_le_bytes(len.try_into()?) as usize;
        ensure!(tail.len() >= len, "{}: truncated", path.display());
        let (tx, tail) = tail.split_at(len);
        pool.push(Transaction::from_bytes(tx).with_context(|| path.display().to_string())?);
        rest = tail;
    }
    Ok(pool)
}

/// The value after `name` on the command line, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Prints one row of a timing table, `name  median ms  (min–max)`, with `decimals`
/// digits, and returns the median of `xs` (milliseconds).
pub fn print_median(name: &str, mut xs: Vec<f64>, decimals: usize) -> f64 {
    xs.sort_by(f64::total_cmp);
    let median = percentile(&xs, 0.5);
    let (min, max) = (xs.first().copied(), xs.last().copied());
    println!(
        "{name:<44} {median:>10.decimals$} ms   ({:.decimals$}–{:.decimals$})",
        min.unwrap_or(f64::NAN),
        max.unwrap_or(f64::NAN)
    );
    median
}

/// The `p` quantile (0..=1) of ascending `sorted` (nearest rank); NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}
