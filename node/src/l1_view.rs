//! This validator's view of Ethereum: written by its settlement service's watcher and
//! read when admitting a transaction, voting on a block ([`check_l1`]) and planning a
//! batch ([`batch_withdrawals`]), never by execution:
//! - confirmed bridge deposits (`sable_storage::L1DepositRecord`);
//! - confirmed asset listings ([`AssetListing`]).
//!
//! The chain's own record of the bridge (deposits minted, withdrawals owed) is
//! `sable_execution::bridge_ledger`.
//!
//! Must never: let execution depend on this validator's view of L1, or release a
//! withdrawal whose asset has no listed token.

use alloy::primitives::{Address, U256};
use sable_circuits::transaction::Transaction;
use sable_l1::Withdrawal;
use sable_primitives::{AdmissionError, L1View};

use sable_storage::{ChainReader, L1AssetRecord, StorageError};

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
    view: &impl ChainReader,
    first: u64,
    last: u64,
    listing: impl Fn(&[u8; 32]) -> Result<Option<AssetListing>, StorageError>,
) -> Result<Vec<Withdrawal>, WithdrawalsError> {
    let mut out = Vec::new();
    for height in first..=last {
        for r in view.withdrawals_at(height)? {
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

/// A confirmed L1 asset listing in Ethereum's types (stored as
/// [`sable_storage::L1AssetRecord`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetListing {
    /// The ERC-20 token.
    pub token: Address,
    /// Token base units per Sable unit.
    pub unit: U256,
    /// The L1 block that holds the listing.
    pub l1_block: u64,
}

impl From<&sable_l1::L1Listing> for AssetListing {
    fn from(l: &sable_l1::L1Listing) -> Self {
        AssetListing {
            token: l.token,
            unit: l.unit,
            l1_block: l.l1_block,
        }
    }
}

impl From<L1AssetRecord> for AssetListing {
    fn from(r: L1AssetRecord) -> Self {
        AssetListing {
            token: Address::from(r.token),
            unit: U256::from_be_bytes(r.unit),
            l1_block: r.l1_block,
        }
    }
}

impl From<AssetListing> for L1AssetRecord {
    fn from(l: AssetListing) -> Self {
        L1AssetRecord {
            token: l.token.into_array(),
            unit: l.unit.to_be_bytes::<32>(),
            l1_block: l.l1_block,
        }
    }
}

impl AssetListing {
    /// The listing of `asset` this node's watcher stored, if any.
    pub fn get(view: &impl ChainReader, asset: &[u8; 32]) -> Result<Option<Self>, StorageError> {
        Ok(view.l1_asset(asset)?.map(Self::from))
    }
}

/// Whether `tx` agrees with this node's view of L1: every deposit matches a confirmed
/// bridge deposit (same index, asset, value and commitment), and every withdrawal's
/// asset has a confirmed listing (so the bridge knows which token to pay). Checked
/// when admitting a transaction and when voting on a block, never in execution, which
/// is decided by chain state alone: a block is final only with 2f+1 votes, so f+1
/// honest validators checked it against L1.
pub fn check_l1(view: &impl ChainReader, tx: &Transaction) -> Result<(), AdmissionError> {
    let db = |e: StorageError| AdmissionError::Unavailable(format!("state unavailable: {e}"));
    for d in &tx.deposits {
        let seen = view.l1_deposit(d.index).map_err(db)?;
        let matches = seen.is_some_and(|l1| {
            l1.asset == d.asset.0 && l1.value == d.value && l1.commitment == d.cm.to_bytes()
        });
        if !matches {
            return Err(L1View::UnconfirmedDeposit(d.index).into());
        }
    }
    for (_, _, burn) in tx.withdrawals() {
        if view.l1_asset(&burn.asset.0).map_err(db)?.is_none() {
            return Err(L1View::UnlistedAsset(burn.asset.0).into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sable_primitives::WithdrawalRecord;
    use sable_storage::{Staged, Store};

    fn record(i: u8) -> WithdrawalRecord {
        WithdrawalRecord {
            id: [i; 32],
            asset: [i + 1; 32],
            value: u64::from(i) * 1000,
            recipient: [i + 2; 20],
        }
    }

    #[test]
    fn listings_round_trip_through_their_stored_form() {
        let listing = AssetListing {
            token: Address::repeat_byte(7),
            unit: U256::from(1_000_000u64) << 200,
            l1_block: 42,
        };
        assert_eq!(AssetListing::from(L1AssetRecord::from(listing)), listing);
    }

    #[test]
    fn batch_withdrawals_map_assets_to_tokens_and_refuse_unlisted_or_overflowing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut s = Staged::new(&store);
        s.put_withdrawals(2, &[record(1), record(2)]);
        s.put_withdrawals(3, &[]);
        s.put_withdrawals(4, &[record(3)]);
        store.commit(s).unwrap();
        let view = Staged::new(&store);
        assert_eq!(view.withdrawals_at(3).unwrap(), vec![]);
        let unit = |u: u64| {
            move |asset: &[u8; 32]| {
                Ok(Some(AssetListing {
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
            Ok((asset[0] == 2).then_some(AssetListing {
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
            Ok(Some(AssetListing {
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
