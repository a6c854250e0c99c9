//! The bridge as the node reads it: confirmed deposits in index order, and the
//! governance digests validators sign to list assets.

use alloy::{
    primitives::{keccak256, Address, B256, U256},
    providers::Provider,
    sol_types::SolValue,
};

use crate::{batch::Domain, client::rpc, L1Client, SettlementError};

type Result<T> = std::result::Result<T, SettlementError>;

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

impl L1Client {
    /// The deposits with index `from_index` onwards whose L1 block has the client's
    /// `confirmations`, in index order and without gaps (a deposit whose predecessor is
    /// not yet confirmed waits with it), from the client's bridge or, if it has none,
    /// the one the settlement contract is bound to.
    pub async fn confirmed_deposits(&self, from_index: u64) -> Result<Vec<L1Deposit>> {
        let head = self.provider().get_block_number().await.map_err(rpc)?;
        // A deposit in block b has head − b + 1 confirmations.
        let Some(last) = (head + 1).checked_sub(self.confirmations.max(1)) else {
            return Ok(vec![]);
        };
        // A client connected without the bridge's address reads it from the settlement
        // contract (no bridge bound yet: no deposits).
        let bridge = if self.bridge.is_zero() {
            self.settlement_contract()
                .bridge()
                .call()
                .await
                .map_err(rpc)?
        } else {
            self.bridge
        };
        if bridge.is_zero() {
            return Ok(vec![]);
        }
        let events = crate::bindings::ISableBridge::new(bridge, self.provider().clone())
            .Deposited_filter()
            .from_block(0)
            .to_block(last)
            .query()
            .await
            .map_err(rpc)?;
        let mut found: Vec<L1Deposit> = events
            .into_iter()
            .filter(|(e, _)| e.index >= from_index)
            .map(|(e, log)| {
                Ok(L1Deposit {
                    index: e.index,
                    asset: e.assetId,
                    value: e.value,
                    commitment: e.noteCommitment,
                    l1_block: log
                        .block_number
                        .ok_or_else(|| rpc("a Deposited log without its block"))?,
                })
            })
            .collect::<Result<_>>()?;
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
