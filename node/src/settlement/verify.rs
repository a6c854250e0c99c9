//! `verify-l1`: rebuild the whole chain from what L1 holds and check every batch.
//!
//! For each settled batch in order: it chains to the previous one (number, parent hash,
//! block range) starting from this chain's genesis hash; its published data, fetched
//! from L1, folds to the signed `dataHash` and decodes to exactly its blocks, each
//! linked to the one before; every transaction's proofs and signatures verify; the
//! blocks, executed from genesis on a scratch store, reach the commitment-tree and
//! nullifier roots the batch settled; every deposit the blocks mint is a bridge deposit
//! on L1 with the same asset, value and commitment, and the batch's `depositsConsumed`
//! is what execution minted; the withdrawals it released are exactly the blocks'
//! withdrawals, each paid in the token L1 lists for its asset. The first failure is
//! reported with its batch.

use std::{collections::HashMap, path::Path, sync::Arc};

use alloy::primitives::{B256, U256};
use sable_circuits::transaction::Transaction;
use sable_l1::{
    batch_hash, withdrawals_hash, L1Deposit, L1Error, L1Provider, SettledBatch, Withdrawal,
};

use super::plan::PublishedData;
use crate::l1_view::{batch_withdrawals, AssetListing};
use sable_execution::{ChainParams, CompliancePolicy, ExecError, Executor, Verifier};
use sable_primitives::block::Block;
use sable_storage::{ChainReader, Staged, StorageError, Store};

/// What an honest chain verified to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Batches checked.
    pub batches: u64,
    /// The last block they settle.
    pub last_block: u64,
    /// Transactions whose proofs were verified.
    pub transactions: u64,
}

/// Why verification stopped.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// L1 could not be read (nothing was judged).
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The scratch store failed (nothing was judged).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The first batch that does not check out, and why.
    #[error("batch {number}: {what}")]
    Mismatch {
        /// The batch number.
        number: u64,
        /// What is wrong with it.
        what: String,
    },
}

fn mismatch(number: u64, what: impl Into<String>) -> VerifyError {
    VerifyError::Mismatch {
        number,
        what: what.into(),
    }
}

/// Checks every batch `client`'s settlement contract holds, replaying it on a fresh
/// store in `scratch` (an empty directory) with the chain's `params`.
pub async fn verify_l1(
    client: &L1Provider,
    params: Arc<ChainParams>,
    policy: Arc<dyn CompliancePolicy>,
    verifier: &Verifier,
    genesis: B256,
    scratch: &Path,
) -> Result<VerifyReport, VerifyError> {
    let batches = client.settled_batches(0).await?;
    let deposits: HashMap<u64, L1Deposit> = client
        .confirmed_deposits(0)
        .await?
        .into_iter()
        .map(|d| (d.index, d))
        .collect();
    let listings: Arc<HashMap<[u8; 32], AssetListing>> = Arc::new(
        client
            .confirmed_listings()
            .await?
            .into_iter()
            .map(|l| (l.asset.0, AssetListing::from(&l)))
            .collect(),
    );
    let store = Arc::new(Store::open(scratch)?);
    let executor = Arc::new(Executor::new(params, policy));
    let tip = executor
        .init_genesis(&store)
        .map_err(|e| mismatch(0, format!("genesis: {e}")))?;
    let mut parent = genesis;
    let mut last_block = 0u64;
    let mut block_hash = tip.hash;
    let mut transactions = 0u64;
    for (i, settled) in batches.iter().enumerate() {
        let b = &settled.batch;
        let n = b.number;
        check_links(settled, i as u64 + 1, parent, last_block)?;
        let blocks = PublishedData::from_bytes(&settled.data)
            .map_err(|e| mismatch(n, format!("published data does not decode: {e}")))?
            .0;
        let expected = b.lastBlock - b.firstBlock + 1;
        if blocks.len() as u64 != expected {
            return Err(mismatch(
                n,
                format!(
                    "publishes {} blocks for blocks {}..={}",
                    blocks.len(),
                    b.firstBlock,
                    b.lastBlock
                ),
            ));
        }
        for (k, block) in blocks.iter().enumerate() {
            let h = b.firstBlock + k as u64;
            if block.height != h || block.parent != block_hash {
                return Err(mismatch(
                    n,
                    format!("block {h} does not extend block {}", h - 1),
                ));
            }
            block_hash = block.hash();
        }
        transactions += verify_proofs(n, &blocks, verifier, &deposits).await?;
        let (store, executor, listings) = (store.clone(), executor.clone(), listings.clone());
        let (first, last) = (b.firstBlock, b.lastBlock);
        let (header, consumed, withdrawals) = tokio::task::spawn_blocking(move || {
            let roots = apply_all(&store, &executor, &blocks)?;
            let view = Staged::new(&store);
            let withdrawals =
                batch_withdrawals(&view, first, last, |asset| Ok(listings.get(asset).copied()))
                    .map_err(|e| e.to_string());
            Ok::<_, ExecError>((roots, view.deposits_minted_at(last)?, withdrawals))
        })
        .await
        .map_err(|e| mismatch(n, format!("execution task: {e}")))?
        .map_err(|e| mismatch(n, format!("execution: {e}")))?;
        let withdrawals = withdrawals.map_err(|e| mismatch(n, e))?;
        check_withdrawals(n, &withdrawals, &settled.withdrawals)?;
        if consumed != b.depositsConsumed {
            return Err(mismatch(
                n,
                format!(
                    "{} deposits consumed settled, execution minted {consumed}",
                    b.depositsConsumed
                ),
            ));
        }
        if B256::from(header.0) != b.commitmentRoot {
            return Err(mismatch(
                n,
                format!(
                    "commitment root {} settled, execution gives {}",
                    b.commitmentRoot,
                    B256::from(header.0)
                ),
            ));
        }
        if B256::from(header.1) != b.nullifierRoot {
            return Err(mismatch(
                n,
                format!(
                    "nullifier root {} settled, execution gives {}",
                    b.nullifierRoot,
                    B256::from(header.1)
                ),
            ));
        }
        parent = batch_hash(b);
        last_block = b.lastBlock;
    }
    Ok(VerifyReport {
        batches: batches.len() as u64,
        last_block,
        transactions,
    })
}

/// The batch's place in the chain of batches and its data commitment.
fn check_links(
    s: &SettledBatch,
    number: u64,
    parent: B256,
    last_block: u64,
) -> Result<(), VerifyError> {
    let b = &s.batch;
    if b.number != number {
        return Err(mismatch(b.number, format!("expected batch {number} here")));
    }
    if b.parent != parent {
        return Err(mismatch(
            number,
            format!("parent {} is not {parent}", b.parent),
        ));
    }
    if b.firstBlock != last_block + 1 || b.lastBlock < b.firstBlock {
        return Err(mismatch(
            number,
            format!(
                "blocks {}..={} do not follow block {last_block}",
                b.firstBlock, b.lastBlock
            ),
        ));
    }
    if s.fold != b.dataHash {
        return Err(mismatch(
            number,
            format!(
                "the data on L1 folds to {}, the batch signed {}",
                s.fold, b.dataHash
            ),
        ));
    }
    if withdrawals_hash(&s.withdrawals) != b.withdrawalsHash {
        return Err(mismatch(
            number,
            "the withdrawals do not match their signed hash",
        ));
    }
    Ok(())
}

/// The withdrawals a batch released against those its blocks executed.
fn check_withdrawals(
    number: u64,
    executed: &[Withdrawal],
    released: &[Withdrawal],
) -> Result<(), VerifyError> {
    let show = |w: &Withdrawal| {
        format!(
            "{} of token {} to {} (id {})",
            w.amount, w.token, w.recipient, w.id
        )
    };
    for (i, (e, r)) in executed.iter().zip(released).enumerate() {
        if e != r {
            return Err(mismatch(
                number,
                format!(
                    "withdrawal {i} released {}, execution gives {}",
                    show(r),
                    show(e)
                ),
            ));
        }
    }
    if executed.len() != released.len() {
        let total = |w: &[Withdrawal]| w.iter().fold(U256::ZERO, |a, w| a.saturating_add(w.amount));
        return Err(mismatch(
            number,
            format!(
                "{} withdrawals released ({} base units), execution gives {} ({})",
                released.len(),
                total(released),
                executed.len(),
                total(executed)
            ),
        ));
    }
    Ok(())
}

/// Verifies every transaction of `blocks` in one batch, and that each deposit they
/// carry is the bridge deposit with its index on L1 (`l1`); returns how many.
async fn verify_proofs(
    number: u64,
    blocks: &[Block],
    verifier: &Verifier,
    l1: &HashMap<u64, L1Deposit>,
) -> Result<u64, VerifyError> {
    let mut txs = Vec::new();
    let mut at = Vec::new();
    for block in blocks {
        for (i, bytes) in block.transactions.iter().enumerate() {
            let tx = Transaction::from_bytes(bytes).map_err(|e| {
                mismatch(
                    number,
                    format!(
                        "block {} transaction {i} does not decode: {e}",
                        block.height
                    ),
                )
            })?;
            for d in &tx.deposits {
                let matches = l1.get(&d.index).is_some_and(|e| {
                    e.asset.0 == d.asset.0
                        && e.value == d.value
                        && e.commitment_le() == d.cm.to_bytes()
                });
                if !matches {
                    return Err(mismatch(
                        number,
                        format!(
                            "block {} transaction {i} mints deposit {} that L1 does not hold",
                            block.height, d.index
                        ),
                    ));
                }
            }
            txs.push(Arc::new(tx));
            at.push((block.height, i));
        }
    }
    let count = txs.len() as u64;
    for (result, (height, i)) in verifier.verify(txs).await.into_iter().zip(at) {
        if let Err(r) = result {
            return Err(mismatch(
                number,
                format!("block {height} transaction {i} does not verify: {r}"),
            ));
        }
    }
    Ok(count)
}

/// Applies `blocks` in order; the commitment and nullifier roots after the last.
fn apply_all(
    store: &Store,
    executor: &Executor,
    blocks: &[Block],
) -> Result<([u8; 32], [u8; 32]), ExecError> {
    let mut roots = ([0; 32], [0; 32]);
    for block in blocks {
        let applied = executor.apply(store, block)?;
        roots = (applied.header.anchor, applied.header.nullifier_root);
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloy::primitives::Address;

    fn w(i: u8, amount: u64) -> Withdrawal {
        Withdrawal {
            id: B256::repeat_byte(i),
            token: Address::repeat_byte(0x70),
            recipient: Address::repeat_byte(i),
            amount: U256::from(amount),
        }
    }

    fn what(r: Result<(), VerifyError>) -> String {
        match r {
            Err(VerifyError::Mismatch { number: 7, what }) => what,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn released_withdrawals_must_be_exactly_those_executed_in_order() {
        let executed = vec![w(1, 10), w(2, 20)];
        check_withdrawals(7, &executed, &executed).unwrap();
        check_withdrawals(7, &[], &[]).unwrap();
        let mut inflated = executed.clone();
        inflated[1].amount = U256::from(21);
        assert!(what(check_withdrawals(7, &executed, &inflated))
            .starts_with("withdrawal 1 released 21 of token"));
        let mut redirected = executed.clone();
        redirected[0].recipient = Address::repeat_byte(0xee);
        assert!(what(check_withdrawals(7, &executed, &redirected)).starts_with("withdrawal 0 "));
        let reordered = vec![w(2, 20), w(1, 10)];
        assert!(what(check_withdrawals(7, &executed, &reordered)).starts_with("withdrawal 0 "));
        assert_eq!(
            what(check_withdrawals(7, &executed, &executed[..1])),
            "1 withdrawals released (10 base units), execution gives 2 (30)"
        );
        let extra = vec![w(1, 10), w(2, 20), w(3, 5)];
        assert_eq!(
            what(check_withdrawals(7, &executed, &extra)),
            "3 withdrawals released (35 base units), execution gives 2 (30)"
        );
    }
}
