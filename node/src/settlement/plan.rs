//! What a batch holds, decided from finalized blocks alone so that every validator
//! reaches the same batch and signs the same digest: where it ends ([`BatchRule`]), the
//! public data it publishes ([`PublishedData`]), and the batch itself ([`plan`]).
//!
//! # Published data
//! ```text
//! data = version:u8(=1) || count:u32 || (len:u32 || block)*      (blocks first..=last)
//! ```
//! Each block is its canonical encoding (`sable_primitives::block`), transactions and proofs
//! included, so anyone holding the data can re-execute and re-verify the batch.

use alloy::primitives::B256;
use sable_l1::{
    provider::DEFAULT_CHUNK, withdrawals_hash, BlobData, DataFold, Domain, SettledState, Withdrawal,
};

use super::SettleError;
use sable_execution::bridge_ledger::MAX_BATCH_WITHDRAWALS;

use crate::{
    config::Publication,
    l1_view::{batch_withdrawals, AssetListing},
};
use sable_primitives::block::BlockHeader;
use sable_storage::{ChainReader, Staged, Store};

pub use sable_primitives::published::{
    PublishedData, DATA_VERSION, MAX_BATCH_BLOCKS, MAX_BATCH_BLOCK_BYTES,
};

/// Where batches end: after `max_blocks` blocks, at the first block whose timestamp
/// is `max_interval_ms` past the batch's first, or before a block that would take the
/// batch's withdrawals past [`MAX_BATCH_WITHDRAWALS`] or its blocks' bytes past
/// `max_bytes`, whichever comes first (a batch always holds its first block).
/// Block timestamps, encodings and withdrawals are chain state, so every validator
/// finds the same boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRule {
    /// Blocks per batch at most.
    pub max_blocks: u64,
    /// Block-timestamp span that closes a batch, milliseconds.
    pub max_interval_ms: u64,
    /// Bytes of block encodings per batch at most (clamped to
    /// [`MAX_BATCH_BLOCK_BYTES`], the chain's rule; smaller only in tests).
    pub max_bytes: usize,
}

impl BatchRule {
    /// The chain's rule with these block and time bounds.
    pub fn new(max_blocks: u64, max_interval_ms: u64) -> Self {
        BatchRule {
            max_blocks,
            max_interval_ms,
            max_bytes: MAX_BATCH_BLOCK_BYTES,
        }
    }

    /// The last block of the batch starting at `first`, once the chain up to `tip`
    /// holds it; `None` while the batch is still open.
    pub fn last_block(
        &self,
        store: &Store,
        first: u64,
        tip: u64,
    ) -> Result<Option<u64>, SettleError> {
        let max_blocks = self.max_blocks.clamp(1, MAX_BATCH_BLOCKS as u64);
        let max_bytes = self.max_bytes.min(MAX_BATCH_BLOCK_BYTES);
        if first == 0 || first > tip {
            return Ok(None);
        }
        let view = Staged::new(store);
        let start = header(store, first)?.timestamp_ms;
        let end = tip.min(first + max_blocks - 1);
        let (mut withdrawals, mut bytes) = (0usize, 0usize);
        for h in first..=end {
            let ts = if h == first {
                start
            } else {
                header(store, h)?.timestamp_ms
            };
            let in_block = view.withdrawals_at(h)?.len();
            let size = store.block_size(h)?.ok_or(SettleError::MissingBlock(h))?;
            if h > first
                && (withdrawals + in_block > MAX_BATCH_WITHDRAWALS || bytes + size > max_bytes)
            {
                return Ok(Some(h - 1));
            }
            withdrawals += in_block;
            bytes += size;
            if h - first + 1 >= max_blocks
                || ts.saturating_sub(start) >= self.max_interval_ms
                || withdrawals >= MAX_BATCH_WITHDRAWALS
                || bytes >= max_bytes
            {
                return Ok(Some(h));
            }
        }
        Ok(None)
    }
}

fn header(store: &Store, h: u64) -> Result<BlockHeader, SettleError> {
    store.header(h)?.ok_or(SettleError::MissingBlock(h))
}

/// How the data goes out, with what it folds to (the batch's `dataHash`).
#[derive(Clone, Debug)]
pub enum Encoded {
    /// Calldata chunks of [`DEFAULT_CHUNK`] bytes.
    Calldata(Vec<u8>),
    /// Blob sidecars.
    Blobs(BlobData),
}

impl Encoded {
    /// Encodes `data` for `publication`.
    pub fn new(data: Vec<u8>, publication: Publication) -> Result<Self, SettleError> {
        Ok(match publication {
            Publication::Calldata => Encoded::Calldata(data),
            Publication::Blobs => Encoded::Blobs(BlobData::new(&data)?),
        })
    }

    /// The fold the contract will compute of it.
    pub fn fold(&self) -> B256 {
        match self {
            Encoded::Calldata(d) => DataFold::of_chunks(d.chunks(DEFAULT_CHUNK)).0,
            Encoded::Blobs(b) => b.fold.0,
        }
    }
}

/// A batch ready to sign: the next one on top of the contract's state.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The batch.
    pub batch: sable_l1::Batch,
    /// What validators sign.
    pub digest: B256,
    /// Its data, encoded for publication.
    pub data: Encoded,
    /// The withdrawals it releases (hashed into the batch's `withdrawalsHash`).
    pub withdrawals: Vec<Withdrawal>,
    /// The timestamp of its last block (for the finality-to-inclusion metric).
    pub last_timestamp_ms: u64,
}

/// The batch after `state`'s, from this validator's finalized blocks up to `tip`:
/// `None` while it is still open. Refuses to build on a contract state this validator's
/// chain disagrees with (the roots of the last settled block, or the genesis hash).
pub fn plan(
    store: &Store,
    rule: BatchRule,
    publication: Publication,
    state: &SettledState,
    domain: &Domain,
    genesis: B256,
    tip: u64,
) -> Result<Option<Plan>, SettleError> {
    if state.last_batch == 0 {
        if state.last_batch_hash != genesis {
            return Err(SettleError::Diverged(format!(
                "the contract's genesis hash {} is not this chain's {genesis}",
                state.last_batch_hash
            )));
        }
    } else if state.last_block <= tip {
        let h = header(store, state.last_block)?;
        if B256::from(h.anchor) != state.commitment_root
            || B256::from(h.nullifier_root) != state.nullifier_root
        {
            return Err(SettleError::Diverged(format!(
                "batch {} settled roots for block {} that this validator's state does not have",
                state.last_batch, state.last_block
            )));
        }
    }
    let first = state.last_block + 1;
    let Some(last) = rule.last_block(store, first, tip)? else {
        return Ok(None);
    };
    let blocks = (first..=last)
        .map(|h| store.block(h)?.ok_or(SettleError::MissingBlock(h)))
        .collect::<Result<Vec<_>, _>>()?;
    let end = header(store, last)?;
    let view = Staged::new(store);
    let consumed = view.deposits_minted_at(last)?;
    if consumed < state.deposits_consumed {
        return Err(SettleError::Diverged(format!(
            "the contract counts {} deposits minted, this validator's chain {consumed} at block {last}",
            state.deposits_consumed
        )));
    }
    // Each withdrawal is paid in the token this validator's watcher saw listed for its
    // asset; listings are permanent and one to one, so every watcher that has caught
    // up maps it alike.
    let withdrawals =
        batch_withdrawals(&view, first, last, |asset| AssetListing::get(&view, asset))?;
    let data = Encoded::new(PublishedData(blocks).to_bytes(), publication)?;
    let batch = sable_l1::Batch {
        commitmentRoot: end.anchor.into(),
        nullifierRoot: end.nullifier_root.into(),
        depositsConsumed: consumed,
        withdrawalsHash: withdrawals_hash(&withdrawals),
        ..state.next_batch(last, data.fold())
    };
    Ok(Some(Plan {
        digest: domain.batch_digest(&batch),
        batch,
        data,
        withdrawals,
        last_timestamp_ms: end.timestamp_ms,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sable_primitives::block::{Block, BlockHash};

    fn block(h: u64) -> Block {
        Block {
            height: h,
            parent: BlockHash([h as u8; 32]),
            timestamp_ms: 1000 * h,
            state: Default::default(),
            transactions: vec![vec![h as u8; 40]],
            admin: vec![],
        }
    }

    /// A store holding blocks 1..=6 (timestamps in ms below), each with its own roots.
    fn chain(dir: &std::path::Path) -> Store {
        let store = Store::open(dir).unwrap();
        let mut s = Staged::new(&store);
        for (h, ts) in [
            (1u64, 1000u64),
            (2, 1500),
            (3, 2000),
            (4, 2500),
            (5, 3000),
            (6, 6000),
        ] {
            let mut b = block(h);
            b.timestamp_ms = ts;
            let header = BlockHeader {
                height: h,
                hash: b.hash(),
                parent: b.parent,
                timestamp_ms: ts,
                anchor: [h as u8; 32],
                tree_size: h,
                registry_root: [0; 32],
                nullifier_root: [100 + h as u8; 32],
                state_root: [200 + h as u8; 32],
                tx_count: 1,
            };
            s.put_block(b.to_bytes(), &header);
        }
        store.commit(s).unwrap();
        store
    }

    #[test]
    fn batches_close_on_block_count_or_timestamp_span_and_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let store = chain(dir.path());
        let by_count = BatchRule::new(4, 100_000);
        assert_eq!(
            by_count.last_block(&store, 1, 3).unwrap(),
            None,
            "still open"
        );
        assert_eq!(by_count.last_block(&store, 1, 6).unwrap(), Some(4));
        assert_eq!(by_count.last_block(&store, 5, 6).unwrap(), None);
        assert_eq!(by_count.last_block(&store, 7, 6).unwrap(), None);
        let by_time = |ms| BatchRule::new(100, ms);
        assert_eq!(by_time(1000).last_block(&store, 1, 6).unwrap(), Some(3));
        assert_eq!(by_time(2500).last_block(&store, 1, 6).unwrap(), Some(6));
        assert_eq!(by_time(2500).last_block(&store, 1, 5).unwrap(), None);
        // A tip the store does not hold is a typed error, not a panic.
        assert!(matches!(
            by_count.last_block(&store, 5, 9),
            Err(SettleError::MissingBlock(7))
        ));
    }

    #[test]
    fn batches_close_before_a_block_that_would_take_their_withdrawals_past_the_cap() {
        use sable_primitives::WithdrawalRecord;
        let dir = tempfile::tempdir().unwrap();
        let store = chain(dir.path());
        let records = |n: usize| {
            (0..n)
                .map(|i| WithdrawalRecord {
                    id: [i as u8; 32],
                    asset: [1; 32],
                    value: 1,
                    recipient: [2; 20],
                })
                .collect::<Vec<_>>()
        };
        let mut s = Staged::new(&store);
        s.put_withdrawals(2, &records(200));
        s.put_withdrawals(3, &records(100));
        s.put_withdrawals(5, &records(MAX_BATCH_WITHDRAWALS));
        store.commit(s).unwrap();
        let rule = BatchRule::new(100, 100_000);
        // 200 + 100 is past the cap: the batch ends before block 3.
        assert_eq!(rule.last_block(&store, 1, 6).unwrap(), Some(2));
        // Block 3's 100 and block 4's none, then block 5 alone reaches the cap.
        assert_eq!(rule.last_block(&store, 3, 6).unwrap(), Some(4));
        assert_eq!(rule.last_block(&store, 5, 6).unwrap(), Some(5));
        assert_eq!(rule.last_block(&store, 6, 6).unwrap(), None);
    }

    #[test]
    fn batches_close_before_a_block_that_would_take_their_bytes_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let store = chain(dir.path());
        let size = |h| store.block_size(h).unwrap().unwrap();
        assert!((1..=6).all(|h| size(h) == size(1)), "the blocks are alike");
        let rule = |max_bytes| BatchRule {
            max_bytes,
            ..BatchRule::new(100, 100_000)
        };
        // Two blocks and a byte fit, the third would not: the batch ends at block 2.
        assert_eq!(
            rule(2 * size(1) + 1).last_block(&store, 1, 6).unwrap(),
            Some(2)
        );
        // Exactly two blocks close it at the second.
        assert_eq!(rule(2 * size(1)).last_block(&store, 1, 6).unwrap(), Some(2));
        assert_eq!(rule(2 * size(1)).last_block(&store, 1, 1).unwrap(), None);
        // A block larger than the cap still forms a batch of its own.
        assert_eq!(rule(1).last_block(&store, 3, 6).unwrap(), Some(3));
        assert_eq!(rule(usize::MAX).last_block(&store, 1, 6).unwrap(), None);
        // A block the store lacks is a typed error.
        assert!(matches!(
            rule(usize::MAX).last_block(&store, 5, 7),
            Err(SettleError::MissingBlock(7))
        ));
    }

    #[test]
    fn plans_extend_only_a_contract_state_this_chain_agrees_with() {
        let dir = tempfile::tempdir().unwrap();
        let store = chain(dir.path());
        let rule = BatchRule::new(4, 100_000);
        let domain = Domain {
            chain_id: 31337,
            contract: alloy::primitives::Address::repeat_byte(1),
        };
        let genesis = B256::repeat_byte(9);
        let mut state = SettledState {
            validator_set_id: 1,
            last_batch: 0,
            last_block: 0,
            deposits_consumed: 0,
            last_batch_hash: genesis,
            commitment_root: B256::ZERO,
            nullifier_root: B256::ZERO,
        };
        let go =
            |s: &SettledState, g: B256| plan(&store, rule, Publication::Calldata, s, &domain, g, 6);
        let p = go(&state, genesis).unwrap().unwrap();
        assert_eq!(
            (p.batch.number, p.batch.firstBlock, p.batch.lastBlock),
            (1, 1, 4)
        );
        assert_eq!(p.batch.parent, genesis);
        assert_eq!(p.batch.commitmentRoot, B256::repeat_byte(4));
        assert_eq!(p.batch.nullifierRoot, B256::repeat_byte(104));
        assert_eq!(p.digest, domain.batch_digest(&p.batch));
        assert!(matches!(
            go(&state, B256::ZERO),
            Err(SettleError::Diverged(_))
        ));

        state.last_batch = 1;
        state.last_block = 4;
        state.last_batch_hash = sable_l1::batch_hash(&p.batch);
        state.commitment_root = B256::repeat_byte(4);
        state.nullifier_root = B256::repeat_byte(104);
        assert!(
            go(&state, genesis).unwrap().is_none(),
            "blocks 5..=6 are still open"
        );
        state.nullifier_root = B256::repeat_byte(77);
        assert!(matches!(go(&state, genesis), Err(SettleError::Diverged(_))));
    }

    #[test]
    fn calldata_and_blob_folds_differ_and_are_deterministic() {
        let data = PublishedData(vec![block(1)]).to_bytes();
        let a = Encoded::new(data.clone(), Publication::Calldata).unwrap();
        let b = Encoded::new(data.clone(), Publication::Blobs).unwrap();
        assert_ne!(a.fold(), b.fold());
        assert_eq!(
            Encoded::new(data, Publication::Blobs).unwrap().fold(),
            b.fold()
        );
    }
}
