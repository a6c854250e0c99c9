//! The Ethereum bridge as chain state: written by execution from finalized blocks alone
//! and so identical on every validator.
//! - `deposits`: each L1 deposit minted, and per block the count minted without a gap
//!   ([`deposits_minted_at`], a batch's `depositsConsumed`);
//! - `withdrawals`: each block's withdrawals, the burns that name an Ethereum
//!   recipient ([`WithdrawalRecord`]), which the batch settling the block releases.
//!
//! This validator's own view of L1 is apart, in [`crate::l1_view`]; nothing here reads it.
//!
//! Must never: depend on anything but finalized blocks and chain state.

use sable_circuits::{encoding::Writer, transaction::Transaction};
use sable_primitives::block::{hash32, TxId};

use crate::storage::{height_key, meta, u64_le, Cf, Staged, StorageError};

/// Most withdrawals one batch releases: the contract pays about 50k gas for each, so
/// 256 stay well inside an L1 block. A batch closes before the block that would take it
/// past this, or at the block that reaches it.
pub const MAX_BATCH_WITHDRAWALS: usize = 256;

/// Most withdrawals one block carries (proposers stop there, validators vote against a
/// block with more), so that every block fits in a batch.
pub const MAX_BLOCK_WITHDRAWALS: usize = MAX_BATCH_WITHDRAWALS;

// Every transaction fits in a block on its own.
const _: () = assert!(
    sable_circuits::constants::MAX_PARTS * sable_circuits::constants::MAX_BURNS_PER_PART
        <= MAX_BLOCK_WITHDRAWALS
);

/// What is left of a block's withdrawals while a proposer fills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WithdrawalBudget(usize);

impl WithdrawalBudget {
    /// A whole block's: [`MAX_BLOCK_WITHDRAWALS`].
    pub fn block() -> Self {
        WithdrawalBudget(MAX_BLOCK_WITHDRAWALS)
    }

    /// Takes a transaction's `n` withdrawals if they fit (else takes nothing).
    pub fn take(&mut self, n: usize) -> bool {
        let fits = n <= self.0;
        if fits {
            self.0 -= n;
        }
        fits
    }
}

/// Whether transactions with these withdrawal counts fit in one block together (a
/// validator votes against a block that does not).
pub fn within_block_cap(counts: impl IntoIterator<Item = usize>) -> bool {
    let mut budget = WithdrawalBudget::block();
    counts.into_iter().all(|n| budget.take(n))
}

/// How many L1 deposits were minted without a gap as of the block at `height` (0
/// before any; what a settlement batch ending there reports as `depositsConsumed`).
pub fn deposits_minted_at(view: &Staged<'_>, height: u64) -> Result<u64, StorageError> {
    Ok(view
        .get(Cf::Meta, &meta::deposits_prefix_at(height))?
        .map(|b| u64_le(&b, "deposits prefix"))
        .transpose()?
        .unwrap_or(0))
}

/// Records, for the block at `height` being executed, how many deposits are minted
/// without a gap once its own are (staged in `s`).
pub(crate) fn stage_deposits_prefix(s: &mut Staged<'_>, height: u64) -> Result<(), StorageError> {
    let mut prefix = s
        .get(Cf::Meta, meta::DEPOSITS_PREFIX)?
        .map(|b| u64_le(&b, "deposits prefix"))
        .transpose()?
        .unwrap_or(0);
    while s.contains(Cf::Deposits, &prefix.to_be_bytes())? {
        prefix += 1;
    }
    let value = prefix.to_le_bytes().to_vec();
    s.put(Cf::Meta, meta::DEPOSITS_PREFIX.to_vec(), value.clone());
    s.put(Cf::Meta, meta::deposits_prefix_at(height).to_vec(), value);
    Ok(())
}

/// A withdrawal a block executed: a burn naming an Ethereum recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WithdrawalRecord {
    /// Its id on L1 ([`WithdrawalRecord::id_of`]).
    pub id: [u8; 32],
    /// The Sable asset burned.
    pub asset: [u8; 32],
    /// The value burned, in Sable units.
    pub value: u64,
    /// Who the bridge pays.
    pub recipient: [u8; 20],
}

const WITHDRAWAL_BYTES: usize = 32 + 32 + 8 + 20;

impl WithdrawalRecord {
    /// The id of burn `burn` of part `part` of the transaction `tx`: unique, since a
    /// transaction executes at most once, and computable by its sender.
    pub fn id_of(tx: &TxId, part: usize, burn: usize) -> [u8; 32] {
        let mut w = Writer::new();
        w.bytes(&tx.0).u32(part as u32).u32(burn as u32);
        hash32(b"Sable_Withdrawal", &w.into_bytes())
    }

    /// The withdrawals of `tx`, whose id is `id`, in order.
    pub fn of(id: &TxId, tx: &Transaction) -> Vec<Self> {
        tx.withdrawals()
            .map(|(part, burn, b)| WithdrawalRecord {
                id: Self::id_of(id, part, burn),
                asset: b.asset.0,
                value: b.value,
                recipient: b.recipient,
            })
            .collect()
    }

    fn encode_all(records: &[Self]) -> Vec<u8> {
        let mut v = Vec::with_capacity(records.len() * WITHDRAWAL_BYTES);
        for r in records {
            v.extend_from_slice(&r.id);
            v.extend_from_slice(&r.asset);
            v.extend_from_slice(&r.value.to_le_bytes());
            v.extend_from_slice(&r.recipient);
        }
        v
    }

    fn decode_all(b: &[u8]) -> Result<Vec<Self>, StorageError> {
        let bad = || StorageError::Corrupt("withdrawals");
        if !b.len().is_multiple_of(WITHDRAWAL_BYTES) {
            return Err(bad());
        }
        b.chunks_exact(WITHDRAWAL_BYTES)
            .map(|c| {
                Ok(WithdrawalRecord {
                    id: c[..32].try_into().map_err(|_| bad())?,
                    asset: c[32..64].try_into().map_err(|_| bad())?,
                    value: u64_le(&c[64..72], "withdrawals")?,
                    recipient: c[72..].try_into().map_err(|_| bad())?,
                })
            })
            .collect()
    }
}

/// Stages the withdrawals the block at `height` executed (nothing if none).
pub(crate) fn stage_withdrawals(s: &mut Staged<'_>, height: u64, records: &[WithdrawalRecord]) {
    if !records.is_empty() {
        s.put(
            Cf::Withdrawals,
            height_key(height).to_vec(),
            WithdrawalRecord::encode_all(records),
        );
    }
}

/// The withdrawals the block at `height` executed, in order.
pub fn withdrawals_at(
    view: &Staged<'_>,
    height: u64,
) -> Result<Vec<WithdrawalRecord>, StorageError> {
    view.get(Cf::Withdrawals, &height_key(height))?
        .map(|b| WithdrawalRecord::decode_all(&b))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Why a batch's withdrawals cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawalsError {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A withdrawn asset has no listing in the view of L1 at hand (a lagging watcher
    /// catches up; listings are permanent).
    #[error(
        "block {height} withdraws asset {} that no confirmed L1 listing maps to a token",
        hex::encode(asset)
    )]
    Unlisted {
        /// The block.
        height: u64,
        /// The asset.
        asset: [u8; 32],
    },
    /// `value × unit` does not fit in 256 bits.
    #[error("block {height} withdraws an amount that overflows 256 bits")]
    Overflow {
        /// The block.
        height: u64,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(i: u8) -> WithdrawalRecord {
        WithdrawalRecord {
            id: [i; 32],
            asset: [i + 1; 32],
            value: u64::from(i) * 1000,
            recipient: [i + 2; 20],
        }
    }

    #[test]
    fn a_block_takes_withdrawals_up_to_its_cap_and_no_further() {
        let mut b = WithdrawalBudget::block();
        assert!(b.take(200));
        assert!(!b.take(57), "past the cap: taken by a later block");
        assert!(b.take(56));
        assert!(!b.take(1));
        assert!(b.take(0), "a transaction without withdrawals always fits");
        assert!(within_block_cap([0, MAX_BLOCK_WITHDRAWALS, 0]));
        assert!(within_block_cap([100, 100, 56]));
        assert!(!within_block_cap([100, 100, 57]));
        assert!(!within_block_cap([MAX_BLOCK_WITHDRAWALS + 1]));
        assert!(within_block_cap([]));
    }

    #[test]
    fn withdrawal_ids_differ_by_transaction_part_and_burn() {
        let (a, b) = (TxId([1; 32]), TxId([2; 32]));
        let ids = [
            WithdrawalRecord::id_of(&a, 0, 0),
            WithdrawalRecord::id_of(&a, 0, 1),
            WithdrawalRecord::id_of(&a, 1, 0),
            WithdrawalRecord::id_of(&b, 0, 0),
        ];
        for (i, x) in ids.iter().enumerate() {
            for y in &ids[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(ids[0], WithdrawalRecord::id_of(&a, 0, 0));
    }

    #[test]
    fn records_round_trip_and_corruption_is_typed() {
        let all = vec![record(1), record(2), record(3)];
        let bytes = WithdrawalRecord::encode_all(&all);
        assert_eq!(WithdrawalRecord::decode_all(&bytes).unwrap(), all);
        assert!(matches!(
            WithdrawalRecord::decode_all(&bytes[1..]),
            Err(StorageError::Corrupt("withdrawals"))
        ));
    }
}
