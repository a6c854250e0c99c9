//! The bridge as the node reads it: deposits and asset listings in final L1 blocks
//! ([`Finality`](crate::Finality): L1's `finalized` block, or a depth below the head), a watcher's
//! reorg-aware incremental scan ([`BridgeScan`]), and the governance digests validators
//! sign to list assets.

use std::collections::BTreeMap;

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{keccak256, Address, TxHash, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolValue,
};

use crate::{
    batch::Domain,
    bindings::{ISableBridge, Withdrawal},
    error::{rpc, L1Error},
    provider::{Finality, L1Provider},
};

type Result<T> = std::result::Result<T, L1Error>;

/// How many reorg checkpoints a [`BridgeScan`] keeps (the scanned ranges' last blocks).
/// A reorg deeper than all of them re-reads the bridge from the configured
/// `from_block`.
pub const SCAN_CHECKPOINTS: usize = 256;

/// A watcher's position in the bridge's log: the first L1 block it has not read, and the
/// hashes of the last blocks of the ranges it read, by which it notices that L1
/// reorganised beneath what it read. A fresh scan reads from the configured
/// `from_block`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BridgeScan {
    next_block: u64,
    checkpoints: BTreeMap<u64, B256>,
}

impl BridgeScan {
    /// The first L1 block this scan has not read (0: none read yet).
    pub fn next_block(&self) -> u64 {
        self.next_block
    }
}

/// One step of a [`BridgeScan`]: what the bridge logged in the final L1 blocks from
/// `from_block` on. These are the canonical contents of those blocks: anything read
/// from them before (a reorg made the scan step back, or a fresh scan) is replaced by
/// this.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BridgeStep {
    /// The first L1 block read (earlier than the scan's last `next_block` after a reorg).
    pub from_block: u64,
    /// The deposits and listings in the final blocks from `from_block` on.
    pub events: BridgeEvents,
    /// Whether L1 reorganised beneath blocks the scan had read: `from_block` is then the
    /// block after the last checkpoint that is still in the chain.
    pub reorged: bool,
}

/// A deposit the bridge holds on L1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1Deposit {
    /// Its index in the bridge's queue (0, 1, …).
    pub index: u64,
    /// The Sable asset id the token maps to.
    pub asset: B256,
    /// The value in Sable units of the asset.
    pub value: u64,
    /// The note commitment (a canonical Pallas base field element, as an integer).
    pub commitment: U256,
    /// The L1 block that holds it.
    pub l1_block: u64,
}

impl L1Deposit {
    /// The commitment's little-endian bytes: the encoding Sable's note commitments use.
    pub fn commitment_le(&self) -> [u8; 32] {
        self.commitment.to_le_bytes()
    }
}

/// What the bridge logged in a range of confirmed L1 blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BridgeEvents {
    /// Deposits, in index order.
    pub deposits: Vec<L1Deposit>,
    /// Listings, in L1 order.
    pub listings: Vec<L1Listing>,
    /// The first L1 block not read.
    pub next_block: u64,
}

impl BridgeEvents {
    fn none(next_block: u64) -> Self {
        BridgeEvents {
            next_block,
            ..Self::default()
        }
    }
}

/// A token the bridge lists: its Sable asset and how many token base units make one
/// Sable unit. Listings are permanent (the bridge neither relists a token nor reuses
/// an asset id), so any later view of L1 agrees with an earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1Listing {
    /// The ERC-20 token.
    pub token: Address,
    /// The Sable asset id it maps to.
    pub asset: B256,
    /// Token base units per Sable unit.
    pub unit: U256,
    /// The L1 block that holds the listing.
    pub l1_block: u64,
}

impl L1Provider {
    /// The last final L1 block (the client's [`Finality`]) and its hash, or `None`
    /// while there is none.
    pub async fn final_block(&self) -> Result<Option<(u64, B256)>> {
        let tag = match self.config().finality {
            Finality::Finalized => BlockNumberOrTag::Finalized,
            Finality::Depth(depth) => match (self.head().await? + 1).checked_sub(depth.max(1)) {
                Some(n) => BlockNumberOrTag::Number(n),
                None => return Ok(None),
            },
        };
        let block = self
            .provider()
            .get_block_by_number(tag)
            .await
            .map_err(|e| match tag {
                BlockNumberOrTag::Finalized => rpc(format!(
                    "the `finalized` block ({e}); for a chain without one, configure a depth"
                )),
                _ => rpc(e),
            })?;
        Ok(block.map(|b| (b.header.number, b.header.hash)))
    }

    /// The hash of L1 block `number` in the endpoint's current chain (`None` past its
    /// head).
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        Ok(self
            .provider()
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(rpc)?
            .map(|b| b.header.hash))
    }

    /// The last final L1 block (the client's [`Finality`]), or `None` while there is
    /// none.
    async fn confirmed_head(&self) -> Result<Option<u64>> {
        Ok(self.final_block().await?.map(|(n, _)| n))
    }

    /// The next step of the watcher's `scan`: first, whether L1 reorganised beneath
    /// the blocks it read (the hash of its last checkpoint changed); if so, it steps back
    /// to the block after the newest checkpoint still in the chain (or to `from_block`
    /// when none is) and reads again from there. Then it reads the bridge's deposits (in
    /// index order) and listings up to the last final block, and records that block as a
    /// checkpoint.
    pub async fn scan_bridge(&self, scan: &mut BridgeScan) -> Result<BridgeStep> {
        let start = self.config().from_block;
        let mut from = scan.next_block.max(start);
        let mut reorged = false;
        let last_final = self.final_block().await?;
        if let Some((&height, &hash)) = scan.checkpoints.last_key_value() {
            let now = match last_final {
                Some((n, h)) if n == height => Some(h),
                _ => self.block_hash(height).await?,
            };
            if now != Some(hash) {
                reorged = true;
                let mut fork = start;
                for (&h, &hash) in scan.checkpoints.iter().rev().skip(1) {
                    if self.block_hash(h).await? == Some(hash) {
                        fork = h + 1;
                        break;
                    }
                }
                scan.checkpoints.retain(|&h, _| h < fork);
                scan.next_block = fork;
                from = fork.max(start);
            }
        }
        let bridge = self.bridge_address().await?;
        let (last, last_hash) = match last_final {
            Some((last, hash)) if !bridge.is_zero() && last >= from => (last, hash),
            _ => {
                // Nothing final to read (yet): after a reorg, the blocks from `from` on
                // hold nothing final any more.
                return Ok(BridgeStep {
                    from_block: from,
                    events: BridgeEvents::none(from),
                    reorged,
                });
            }
        };
        let mut deposits = self.deposits_in(bridge, from, last).await?;
        deposits.sort_by_key(|d| d.index);
        deposits.dedup_by_key(|d| d.index);
        let listings = self.listings_in(bridge, from, last).await?;
        scan.checkpoints.insert(last, last_hash);
        while scan.checkpoints.len() > SCAN_CHECKPOINTS {
            scan.checkpoints.pop_first();
        }
        scan.next_block = last + 1;
        Ok(BridgeStep {
            from_block: from,
            events: BridgeEvents {
                deposits,
                listings,
                next_block: last + 1,
            },
            reorged,
        })
    }

    /// The client's bridge or, if it was connected without one, the bridge the
    /// settlement contract is bound to (zero while none is).
    async fn bridge_address(&self) -> Result<Address> {
        if !self.bridge.is_zero() {
            return Ok(self.bridge);
        }
        self.settlement_contract()
            .bridge()
            .call()
            .await
            .map_err(rpc)
    }

    /// The deposits with index `from_index` onwards whose L1 block is final (the
    /// client's [`Finality`]), in index order and without gaps (a deposit whose predecessor is
    /// not yet confirmed waits with it).
    pub async fn confirmed_deposits(&self, from_index: u64) -> Result<Vec<L1Deposit>> {
        let (Some(last), bridge) = (self.confirmed_head().await?, self.bridge_address().await?)
        else {
            return Ok(vec![]);
        };
        if bridge.is_zero() {
            return Ok(vec![]);
        }
        let mut found = self.deposits_in(bridge, 0, last).await?;
        found.retain(|d| d.index >= from_index);
        found.sort_by_key(|d| d.index);
        found.dedup_by_key(|d| d.index);
        let contiguous = found
            .iter()
            .zip(from_index..)
            .take_while(|(d, i)| d.index == *i)
            .count();
        found.truncate(contiguous);
        Ok(found)
    }

    /// Every withdrawal settled batches have released, with the batch that released
    /// it, in L1 order (claimed or not: see the bridge's `claimable`).
    pub async fn released_withdrawals(&self) -> Result<Vec<(u64, Withdrawal)>> {
        let bridge = self.bridge_address().await?;
        if bridge.is_zero() {
            return Ok(vec![]);
        }
        let head = self.head().await?;
        Ok(self
            .logs::<ISableBridge::WithdrawalReleased>(Filter::new().address(bridge), 0, head)
            .await?
            .into_iter()
            .map(|(e, _)| {
                let w = Withdrawal {
                    id: e.id,
                    token: e.token,
                    recipient: e.recipient,
                    amount: e.amount,
                };
                (e.batch, w)
            })
            .collect())
    }

    /// Pays the released withdrawal `w` to its recipient (anyone may send this; the
    /// bridge refuses one that is not released, or already paid, with `NotClaimable`).
    pub async fn claim(&self, w: &Withdrawal) -> Result<TxHash> {
        let bridge = ISableBridge::new(self.bridge_address().await?, self.provider().clone());
        self.send("claim", bridge.claim(w.clone())).await
    }

    /// Every listing whose L1 block is final (the client's [`Finality`]), in L1 order.
    pub async fn confirmed_listings(&self) -> Result<Vec<L1Listing>> {
        let (Some(last), bridge) = (self.confirmed_head().await?, self.bridge_address().await?)
        else {
            return Ok(vec![]);
        };
        if bridge.is_zero() {
            return Ok(vec![]);
        }
        self.listings_in(bridge, 0, last).await
    }

    /// What the bridge logged in the L1 blocks from `from_block` to the last final one
    /// (the client's [`Finality`]): deposits in index order and listings, and the block
    /// to read from next time. An incremental read that does not notice reorgs
    /// ([`L1Provider::scan_bridge`] does); [`L1Provider::confirmed_deposits`] reads
    /// everything.
    pub async fn confirmed_bridge_events(&self, from_block: u64) -> Result<BridgeEvents> {
        let (Some(last), bridge) = (self.confirmed_head().await?, self.bridge_address().await?)
        else {
            return Ok(BridgeEvents::none(from_block));
        };
        if bridge.is_zero() || last < from_block.max(self.config().from_block) {
            return Ok(BridgeEvents::none(from_block));
        }
        let mut deposits = self.deposits_in(bridge, from_block, last).await?;
        deposits.sort_by_key(|d| d.index);
        deposits.dedup_by_key(|d| d.index);
        Ok(BridgeEvents {
            deposits,
            listings: self.listings_in(bridge, from_block, last).await?,
            next_block: last + 1,
        })
    }

    async fn deposits_in(&self, bridge: Address, from: u64, to: u64) -> Result<Vec<L1Deposit>> {
        let filter = Filter::new().address(bridge);
        self.logs::<ISableBridge::Deposited>(filter, from, to)
            .await?
            .into_iter()
            .map(|(e, log)| {
                Ok(L1Deposit {
                    index: e.index,
                    asset: e.assetId,
                    value: e.value,
                    commitment: e.noteCommitment,
                    l1_block: Self::block_of::<ISableBridge::Deposited>(&log)?,
                })
            })
            .collect()
    }

    async fn listings_in(&self, bridge: Address, from: u64, to: u64) -> Result<Vec<L1Listing>> {
        let filter = Filter::new().address(bridge);
        self.logs::<ISableBridge::AssetListed>(filter, from, to)
            .await?
            .into_iter()
            .map(|(e, log)| {
                Ok(L1Listing {
                    token: e.token,
                    asset: e.assetId,
                    unit: e.unit,
                    l1_block: Self::block_of::<ISableBridge::AssetListed>(&log)?,
                })
            })
            .collect()
    }
}

/// `keccak256("ListAsset(address bridge,address token,bytes32 assetId,uint256 unit,uint64 nonce)")`.
fn list_typehash() -> B256 {
    keccak256("ListAsset(address bridge,address token,bytes32 assetId,uint256 unit,uint64 nonce)")
}

/// What validators sign (EIP-712, the settlement contract's domain) to list `token`
/// on `bridge` as Sable asset `asset` with `unit` token base units per Sable unit, at
/// the bridge's governance `nonce`.
pub fn listing_digest(
    domain: &Domain,
    bridge: Address,
    token: Address,
    asset: B256,
    unit: U256,
    nonce: u64,
) -> B256 {
    let struct_hash = keccak256((list_typehash(), bridge, token, asset, unit, nonce).abi_encode());
    domain.digest(struct_hash)
}
