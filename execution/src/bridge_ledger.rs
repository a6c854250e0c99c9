//! The Ethereum bridge as chain state: written by execution from finalized blocks alone
//! and so identical on every validator.
//! - deposits: each L1 deposit minted, and per block the count minted without a gap
//!   (`ChainReader::deposits_minted_at`, a batch's `depositsConsumed`);
//! - withdrawals: each block's withdrawals, the burns that name an Ethereum
//!   recipient (`WithdrawalRecord`), which the batch settling the block releases.
//!
//! A validator's own view of L1 is apart, in the node (`sable_node::l1_view`); nothing
//! here reads it.
//!
//! Must never: depend on anything but finalized blocks and chain state.

use sable_storage::{ChainReader, Staged, StorageError};

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

/// Records, for the block at `height` being executed, how many deposits are minted
/// without a gap once its own are (staged in `s`).
pub(crate) fn stage_deposits_prefix(s: &mut Staged<'_>, height: u64) -> Result<(), StorageError> {
    let mut prefix = s.deposits_prefix()?;
    while s.is_deposit_minted(prefix)? {
        prefix += 1;
    }
    s.put_deposits_prefix(height, prefix);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
}
