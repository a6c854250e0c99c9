//! This validator's view of Ethereum: written by its settlement service's watcher and
//! read when admitting a transaction, voting on a block ([`check_l1`]) and planning a
//! batch ([`batch_withdrawals`]), never by execution:
//! - `l1_deposits`: confirmed bridge deposits ([`L1DepositRecord`]);
//! - `l1_assets`: confirmed asset listings ([`L1AssetRecord`]).
//!
//! The chain's own record of the bridge (deposits minted, withdrawals owed) is
//! [`crate::bridge_ledger`].
//!
//! Must never: let execution depend on this validator's view of L1, or release a
//! withdrawal whose asset has no listed token.

use alloy::primitives::{Address, U256};
use sable_circuits::transaction::Transaction;
use sable_primitives::{AdmissionError, L1View};
use sable_settlement::Withdrawal;

use crate::{
    bridge_ledger::{withdrawals_at, WithdrawalsError},
    storage::{u64_le, Cf, Staged, StorageError},
};

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
pub fn check_l1(view: &Staged<'_>, tx: &Transaction) -> Result<(), AdmissionError> {
    let db = |e: StorageError| AdmissionError::Unavailable(format!("state unavailable: {e}"));
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
            return Err(L1View::UnconfirmedDeposit(d.index).into());
        }
    }
    for (_, _, burn) in tx.withdrawals() {
        if L1AssetRecord::get(view, &burn.asset.0)
            .map_err(db)?
            .is_none()
        {
            return Err(L1View::UnlistedAsset(burn.asset.0).into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{
        bridge_ledger::{stage_withdrawals, WithdrawalRecord},
        storage::Store,
    };

    fn record(i: u8) -> WithdrawalRecord {
        WithdrawalRecord {
            id: [i; 32],
            asset: [i + 1; 32],
            value: u64::from(i) * 1000,
            recipient: [i + 2; 20],
        }
    }

    #[test]
    fn listings_round_trip_and_corruption_is_typed() {
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
