//! The published-batch format: what a settlement batch publishes on L1 (as calldata or
//! blobs), so anyone can rebuild the batch's blocks from L1 alone and re-verify them.
//!
//! ```text
//! data = version:u8(=1) || count:u32 || (len:u32 || block)*count
//! ```

use sable_circuits::encoding::{DecodeError, Reader, Writer};

use crate::block::{Block, MAX_BLOCK_BYTES};

/// Published-data encoding version.
pub const DATA_VERSION: u8 = 1;
/// Most blocks in one batch.
pub const MAX_BATCH_BLOCKS: usize = 4096;
/// Most bytes of block encodings in one batch (review L7): a batch closes before a
/// block that would take it past this, so its data is at most this plus its framing
/// (`5 + 4 × blocks` bytes). One block always fits (blocks are at most
/// [`MAX_BLOCK_BYTES`]), so a batch is never empty.
pub const MAX_BATCH_BLOCK_BYTES: usize = MAX_BLOCK_BYTES;

/// One settled batch as L1 holds it: what the settlement contract recorded of it and
/// the data published with it, as anyone replaying the chain from L1 reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettledBatch {
    /// Its number (from 1).
    pub number: u64,
    /// The first block it settles.
    pub first_block: u64,
    /// The last.
    pub last_block: u64,
    /// The note commitment tree root after its last block.
    pub commitment_root: [u8; 32],
    /// The nullifier root after its last block.
    pub nullifier_root: [u8; 32],
    /// Its published data ([`PublishedData`] encoding).
    pub data: Vec<u8>,
}

/// A batch's public data: its blocks, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedData(pub Vec<Block>);

impl PublishedData {
    /// The canonical encoding published on L1.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(DATA_VERSION).count(self.0.len());
        for b in &self.0 {
            w.var_bytes(&b.to_bytes());
        }
        w.into_bytes()
    }

    /// Decodes published data, enforcing every limit before allocating.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("published data version")?;
        if version != DATA_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "published data",
                found: version,
                expected: DATA_VERSION,
            });
        }
        let n = r.count("published blocks", MAX_BATCH_BLOCKS)?;
        let blocks = (0..n)
            .map(|_| Block::from_bytes(r.var_bytes("published block", MAX_BLOCK_BYTES)?))
            .collect::<Result<_, _>>()?;
        r.finish()?;
        Ok(PublishedData(blocks))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::block::BlockHash;

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

    #[test]
    fn published_data_round_trips_and_rejects_truncation() {
        let d = PublishedData(vec![block(1), block(2)]);
        let bytes = d.to_bytes();
        assert_eq!(PublishedData::from_bytes(&bytes).unwrap(), d);
        for n in 0..bytes.len() {
            assert!(
                PublishedData::from_bytes(&bytes[..n]).is_err(),
                "prefix {n}"
            );
        }
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(matches!(
            PublishedData::from_bytes(&v2),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
        let mut long = bytes;
        long.push(0);
        assert!(PublishedData::from_bytes(&long).is_err());
    }
}
