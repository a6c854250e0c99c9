//! The Ethereum bridge as a validator holds it.
//!
//! Chain state, written by execution from finalized blocks alone and so identical on
//! every validator:
//! - `deposits`: each L1 deposit minted, and per block the count minted without a gap
//!   ([`deposits_minted_at`], a batch's `depositsConsumed`);
//! - `withdrawals`: each block's withdrawals, the burns that name an Ethereum
//!   recipient ([`WithdrawalRecord`]), which the batch settling the block releases.
//!
//! This validator's view of L1, written by its settlement service's watcher and read
//! when admitting a transaction, voting on a block ([`check_l1`]) and planning a batch
//! ([`batch_withdrawals`]), never by execution:
//! - `l1_deposits`: confirmed bridge deposits ([`L1DepositRecord`]);
//! - `l1_assets`: confirmed asset listings ([`L1AssetRecord`]).
//!
//! Must never: let execution depend on this validator's view of L1, or release a
//! withdrawal whose asset has no listed token.

use alloy::primitives::{Address, U256};
use sable_circuits::{encoding::Writer, transaction::Transaction};
use sable_settlement::Withdrawal;

use crate::{
    block::{hash32, TxId},
    execution::Rejection,
    storage::{height_key, meta, u64_le, Cf, Staged, StorageError},
};

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

/// The contract's withdrawals for the blocks `first..=last` of `view`, in block order,
/// each paid in the token `listing` maps its asset to, `value × unit` base units.
pub fn batch_withdrawals(
    view: &Staged<'_>,
    first: u64,
    last: u64,
    listing: impl Fn(&[u8; 32]) -> Result<Option<L1AssetRecord>, StorageError>,
) -> Result<Vec<Withdrawal>, WithdrawalsError> {
    let mut out = Vec::new();
    for height in first..=last {
        for r in withdrawals_at(view, height)? {
            let asset = listing(&r.asset)?.ok_or(WithdrawalsError::Unlisted {
                height,
                asset: r.asset,
            })?;
            let amount = U256::from(r.value)
                .checked_mul(asset.unit)
                .ok_or(WithdrawalsError::Overflow { height })?;
            out.push(Withdrawal {
                id: r.id.into(),
                token: asset.token,
                recipient: Address::from(r.recipient),
                amount,
            });
        }
    }
    Ok(out)
}

/// A confirmed L1 deposit as this node's watcher stored it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1DepositRecord {
    /// The Sable asset id.
    pub asset: [u8; 32],
    /// The value in Sable units.
    pub value: u64,
    /// The note commitment (little-endian, as Sable encodes it).
    pub commitment: [u8; 32],
    /// The L1 block that holds it.
    pub l1_block: u64,
}

impl L1DepositRecord {
    /// The stored encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(80);
        v.extend_from_slice(&self.asset);
        v.extend_from_slice(&self.value.to_le_bytes());
        v.extend_from_slice(&self.commitment);
        v.extend_from_slice(&self.l1_block.to_le_bytes());
        v
    }

    /// Parses the stored encoding.
    pub fn from_bytes(b: &[u8]) -> Result<Self, StorageError> {
        let bad = || StorageError::Corrupt("l1 deposit");
        if b.len() != 80 {
            return Err(bad());
        }
        Ok(L1DepositRecord {
            asset: b[..32].try_into().map_err(|_| bad())?,
            value: u64_le(&b[32..40], "l1 deposit")?,
            commitment: b[40..72].try_into().map_err(|_| bad())?,
            l1_block: u64_le(&b[72..], "l1 deposit")?,
        })
    }
}

/// A confirmed L1 asset listing as this node's watcher stored it (keyed by asset id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1AssetRecord {
    /// The ERC-20 token.
    pub token: Address,
    /// Token base units per Sable unit.
    pub unit: U256,
    /// The L1 block that holds the listing.
    pub l1_block: u64,
}

impl From<&sable_settlement::L1Listing> for L1AssetRecord {
    fn from(l: &sable_settlement::L1Listing) -> Self {
        L1AssetRecord {
            token: l.token,
            unit: l.unit,
            l1_block: l.l1_block,
        }
    }
}

impl L1AssetRecord {
    /// The stored encoding: token · unit (big-endian) · L1 block.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(60);
        v.extend_from_slice(self.token.as_slice());
        v.extend_from_slice(&self.unit.to_be_bytes::<32>());
        v.extend_from_slice(&self.l1_block.to_le_bytes());
        v
    }

    /// Parses the stored encoding.
    pub fn from_bytes(b: &[u8]) -> Result<Self, StorageError> {
        if b.len() != 60 {
            return Err(StorageError::Corrupt("l1 asset"));
        }
        Ok(L1AssetRecord {
            token: Address::from_slice(&b[..20]),
            unit: U256::from_be_slice(&b[20..52]),
            l1_block: u64_le(&b[52..], "l1 asset")?,
        })
    }

    /// The listing of `asset` this node's watcher stored, if any.
    pub fn get(view: &Staged<'_>, asset: &[u8; 32]) -> Result<Option<Self>, StorageError> {
        view.get(Cf::L1Assets, asset)?
            .map(|b| Self::from_bytes(&b))
            .transpose()
    }
}

/// Whether `tx` agrees with this node's view of L1: every deposit matches a confirmed
/// bridge deposit (same index, asset, value and commitment), and every withdrawal's
/// asset has a confirmed listing (so the bridge knows which token to pay). Checked
/// when admitting a transaction and when voting on a block, never in execution, which
/// is decided by chain state alone: a block is final only with 2f+1 votes, so f+1
/// honest validators checked it against L1.
pub fn check_l1(view: &Staged<'_>, tx: &Transaction) -> Result<(), Rejection> {
    let db = |e: StorageError| Rejection::Malformed(format!("state unavailable: {e}"));
    for d in &tx.deposits {
        let seen = view
            .get(Cf::L1Deposits, &d.index.to_be_bytes())
            .map_err(db)?
            .map(|b| L1DepositRecord::from_bytes(&b))
            .transpose()
            .map_err(db)?;
        let matches = seen.is_some_and(|l1| {
            l1.asset == d.asset.0 && l1.value == d.value && l1.commitment == d.cm.to_bytes()
        });
        if !matches {
            return Err(Rejection::UnconfirmedDeposit(d.index));
        }
    }
    for (_, _, burn) in tx.withdrawals() {
        if L1AssetRecord::get(view, &burn.asset.0)
            .map_err(db)?
            .is_none()
        {
            return Err(Rejection::UnlistedAsset(burn.asset.0));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::storage::Store;

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
        let listing = L1AssetRecord {
            token: Address::repeat_byte(7),
            unit: U256::from(1_000_000u64),
            l1_block: 42,
        };
        assert_eq!(
            L1AssetRecord::from_bytes(&listing.to_bytes()).unwrap(),
            listing
        );
        assert!(L1AssetRecord::from_bytes(&listing.to_bytes()[..59]).is_err());
    }

    #[test]
    fn batch_withdrawals_map_assets_to_tokens_and_refuse_unlisted_or_overflowing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut s = Staged::new(&store);
        stage_withdrawals(&mut s, 2, &[record(1), record(2)]);
        stage_withdrawals(&mut s, 3, &[]);
        stage_withdrawals(&mut s, 4, &[record(3)]);
        store.commit(s).unwrap();
        let view = Staged::new(&store);
        assert_eq!(withdrawals_at(&view, 3).unwrap(), vec![]);
        let unit = |u: u64| {
            move |asset: &[u8; 32]| {
                Ok(Some(L1AssetRecord {
                    token: Address::repeat_byte(asset[0]),
                    unit: U256::from(u),
                    l1_block: 1,
                }))
            }
        };
        let w = batch_withdrawals(&view, 1, 4, unit(10)).unwrap();
        let got: Vec<_> = w
            .iter()
            .map(|w| (w.id.0[0], w.token, w.recipient, w.amount))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    1,
                    Address::repeat_byte(2),
                    Address::repeat_byte(3),
                    U256::from(10_000)
                ),
                (
                    2,
                    Address::repeat_byte(3),
                    Address::repeat_byte(4),
                    U256::from(20_000)
                ),
                (
                    3,
                    Address::repeat_byte(4),
                    Address::repeat_byte(5),
                    U256::from(30_000)
                ),
            ]
        );
        assert_eq!(batch_withdrawals(&view, 3, 3, unit(10)).unwrap(), vec![]);
        let only_asset_2 = |asset: &[u8; 32]| {
            Ok((asset[0] == 2).then_some(L1AssetRecord {
                token: Address::ZERO,
                unit: U256::from(1),
                l1_block: 1,
            }))
        };
        assert!(matches!(
            batch_withdrawals(&view, 1, 4, only_asset_2),
            Err(WithdrawalsError::Unlisted { height: 2, asset }) if asset == [3; 32]
        ));
        let huge = |_: &[u8; 32]| {
            Ok(Some(L1AssetRecord {
                token: Address::ZERO,
                unit: U256::MAX,
                l1_block: 1,
            }))
        };
        assert!(matches!(
            batch_withdrawals(&view, 1, 4, huge),
            Err(WithdrawalsError::Overflow { height: 2 })
        ));
    }
}
