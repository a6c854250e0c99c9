//! Blocks: what consensus orders.
//!
//! A block carries transactions and operator commands as opaque canonical bytes; the
//! proposer does not execute them first (execution trails consensus: a block is
//! executed once finalized). Every validator executes finalized blocks in order
//! (`sable-execution`) and reaches the same [`BlockHeader`] roots, which is what
//! settlement signs.
//!
//! Validators check that they reached the same state: each block carries a
//! [`StateRef`], the state root its proposer's execution reached at an ancestor (the
//! latest it executed, at most [`MAX_STATE_LAG`] below the parent). A validator votes
//! only for a block whose reference equals its own execution at that height, and a
//! validator that executes a finalized block whose reference differs from its own state
//! has diverged from a quorum and halts.
//!
//! # Format
//! ```text
//! block = version:u8(=2) || height:u64 || parent:32 || timestamp_ms:u64
//!         || state_height:u64 || state_root:32
//!         || ntx:u32 || (len:u32 || tx)* || nadmin:u32 || (len:u32 || admin)*
//! hash  = SHA-256(block)
//! ```

use sable_circuits::encoding::{DecodeError, Reader, Writer};

/// Block encoding version.
pub const BLOCK_VERSION: u8 = 2;
/// How far below its parent a block's [`StateRef`] may be: execution may trail
/// consensus by this many blocks before proposals must wait for it.
pub const MAX_STATE_LAG: u64 = 32;
/// Most transactions in one block.
pub const MAX_BLOCK_TXS: usize = 1024;
/// Most operator commands in one block.
pub const MAX_BLOCK_ADMIN: usize = 64;
/// Largest encoded transaction the node accepts.
pub const MAX_TX_BYTES: usize = 256 * 1024;
/// Largest encoded operator command (with its approvals: up to
/// [`MAX_APPROVALS`](crate::admin::MAX_APPROVALS) certificates of 2 KiB).
pub const MAX_ADMIN_BYTES: usize = 20 * 1024;
/// Largest encoded block (bounds p2p messages and storage reads).
pub const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;

/// A 32-byte hash naming a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct BlockHash(pub [u8; 32]);

/// A 32-byte hash naming a transaction: BLAKE2b-256 of its canonical encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub [u8; 32]);

impl TxId {
    /// The id of an encoded transaction (or operator command).
    pub fn of(bytes: &[u8]) -> Self {
        TxId(hash32(b"Sable_Tx_Id_____", bytes))
    }
}

impl std::fmt::Display for TxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Display for BlockHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// BLAKE2b-256 of `data` under a 16-byte personalisation (Sable's domain-separated hash
/// for ids and state keys).
pub fn hash32(personal: &[u8; 16], data: &[u8]) -> [u8; 32] {
    let h = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(personal)
        .hash(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(h.as_bytes());
    out
}

/// The state root a block's proposer reached by executing the chain up to `height` (an
/// ancestor of the block): [`BlockHeader::state_root`] at that height.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StateRef {
    /// The height executed.
    pub height: u64,
    /// The state root after it.
    pub root: [u8; 32],
}

impl StateRef {
    /// Whether a block at `parent_height + 1` on a parent carrying `parent` may carry
    /// this reference: at or below the parent, never behind the parent's own reference,
    /// and at most [`MAX_STATE_LAG`] below the parent.
    pub fn follows(&self, parent: &StateRef, parent_height: u64) -> bool {
        self.height <= parent_height
            && self.height >= parent.height
            && parent_height - self.height <= MAX_STATE_LAG
    }
}

/// An ordered block of commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Height (genesis is 0 and holds nothing).
    pub height: u64,
    /// Hash of the parent block.
    pub parent: BlockHash,
    /// Proposer's clock, milliseconds since the Unix epoch (informational).
    pub timestamp_ms: u64,
    /// The state its proposer's execution reached at an ancestor.
    pub state: StateRef,
    /// Encoded transactions, in execution order.
    pub transactions: Vec<Vec<u8>>,
    /// Encoded signed operator commands, executed before the transactions.
    pub admin: Vec<Vec<u8>>,
}

impl Block {
    /// The genesis block every validator starts from.
    pub fn genesis() -> Self {
        Block {
            height: 0,
            parent: BlockHash::default(),
            timestamp_ms: 0,
            state: StateRef::default(),
            transactions: Vec::new(),
            admin: Vec::new(),
        }
    }

    /// Length of [`Block::to_bytes`], without encoding.
    pub fn encoded_len(&self) -> usize {
        let var = |items: &[Vec<u8>]| 4 + items.iter().map(|b| 4 + b.len()).sum::<usize>();
        1 + 8 + 32 + 8 + 8 + 32 + var(&self.transactions) + var(&self.admin)
    }

    /// Feeds the canonical encoding to `out` piece by piece, so hashing a block or
    /// writing it into a buffer never builds a copy of the whole (a block of a few
    /// hundred transactions is megabytes).
    pub fn encode_to(&self, out: &mut impl FnMut(&[u8])) {
        // Counts and lengths as `Writer::count` writes them: little-endian u32 (blocks
        // are bounded far below it).
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
        out(&[BLOCK_VERSION]);
        out(&self.height.to_le_bytes());
        out(&self.parent.0);
        out(&self.timestamp_ms.to_le_bytes());
        out(&self.state.height.to_le_bytes());
        out(&self.state.root);
        for items in [&self.transactions, &self.admin] {
            out(&count(items.len()));
            for item in items {
                out(&count(item.len()));
                out(item);
            }
        }
    }

    /// Canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.encoded_len());
        self.encode_to(&mut |piece| bytes.extend_from_slice(piece));
        bytes
    }

    /// Decodes a canonical encoding, enforcing every size limit before allocating.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(DecodeError::TooMany {
                what: "block bytes",
                found: bytes.len() as u64,
                max: MAX_BLOCK_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("block version")?;
        if version != BLOCK_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "block",
                found: version,
                expected: BLOCK_VERSION,
            });
        }
        let height = r.u64("block height")?;
        let parent = BlockHash(r.array("parent hash")?);
        let timestamp_ms = r.u64("block timestamp")?;
        let state = StateRef {
            height: r.u64("state height")?,
            root: r.array("state root")?,
        };
        let ntx = r.count("block transactions", MAX_BLOCK_TXS)?;
        let transactions = (0..ntx)
            .map(|_| r.var_bytes("transaction", MAX_TX_BYTES).map(<[u8]>::to_vec))
            .collect::<Result<_, _>>()?;
        let nadmin = r.count("block admin commands", MAX_BLOCK_ADMIN)?;
        let admin = (0..nadmin)
            .map(|_| {
                r.var_bytes("admin command", MAX_ADMIN_BYTES)
                    .map(<[u8]>::to_vec)
            })
            .collect::<Result<_, _>>()?;
        r.finish()?;
        Ok(Block {
            height,
            parent,
            timestamp_ms,
            state,
            transactions,
            admin,
        })
    }

    /// The block's hash (SHA-256 of its canonical encoding, the digest consensus
    /// votes on), hashed as it is encoded.
    pub fn hash(&self) -> BlockHash {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        self.encode_to(&mut |piece| hasher.update(piece));
        BlockHash(hasher.finalize().into())
    }

    /// The hash of the block whose canonical encoding is `encoded` (for a caller that
    /// keeps the encoding: a block's transactions make it large).
    pub fn hash_of_encoding(encoded: &[u8]) -> BlockHash {
        use sha2::Digest;
        BlockHash(sha2::Sha256::digest(encoded).into())
    }
}

/// What a validator records after executing a block: the block's identity and the
/// state roots it produced. Equal headers at a height mean equal state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub hash: BlockHash,
    /// Parent hash.
    pub parent: BlockHash,
    /// Proposer's timestamp.
    pub timestamp_ms: u64,
    /// Note commitment tree root after the block.
    pub anchor: [u8; 32],
    /// Commitments in the tree after the block.
    pub tree_size: u64,
    /// Registry root after the block.
    pub registry_root: [u8; 32],
    /// The nullifier tree's root after the block (`sable_circuits::nullifier_tree`):
    /// the header and the settled batch commit to it, so anyone replaying the blocks (a
    /// validator, `verify-l1`, the regulator's audit from L1) checks which nullifiers
    /// execution spent, and a proof of holdings shows a nullifier absent at a height.
    pub nullifier_root: [u8; 32],
    /// Commits to the whole state after the block: the previous state root, this
    /// header's identity and roots, and every command's outcome (see
    /// `sable_execution`). Equal state roots at a height mean equal state.
    pub state_root: [u8; 32],
    /// Transactions in the block (applied or not).
    pub tx_count: u32,
}

impl BlockHeader {
    /// The reference a block proposed on top of this state carries.
    pub fn state_ref(&self) -> StateRef {
        StateRef {
            height: self.height,
            root: self.state_root,
        }
    }

    /// Canonical encoding (storage).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u64(self.height)
            .bytes(&self.hash.0)
            .bytes(&self.parent.0)
            .u64(self.timestamp_ms)
            .bytes(&self.anchor)
            .u64(self.tree_size)
            .bytes(&self.registry_root)
            .bytes(&self.nullifier_root)
            .bytes(&self.state_root)
            .u32(self.tx_count);
        w.into_bytes()
    }

    /// Decodes [`BlockHeader::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let h = BlockHeader {
            height: r.u64("height")?,
            hash: BlockHash(r.array("hash")?),
            parent: BlockHash(r.array("parent")?),
            timestamp_ms: r.u64("timestamp")?,
            anchor: r.array("anchor")?,
            tree_size: r.u64("tree size")?,
            registry_root: r.array("registry root")?,
            nullifier_root: r.array("nullifier root")?,
            state_root: r.array("state root")?,
            tx_count: r.u32("tx count")?,
        };
        r.finish()?;
        Ok(h)
    }
}

#[cfg(any(test, feature = "test-utils"))]
impl Block {
    /// A small block with a transaction, an empty one and an operator command, for codec
    /// tests here and in the crates that carry blocks.
    pub fn sample() -> Block {
        Block {
            height: 7,
            parent: BlockHash([3; 32]),
            timestamp_ms: 1_700_000_000_000,
            state: StateRef {
                height: 5,
                root: [4; 32],
            },
            transactions: vec![vec![1, 2, 3], vec![]],
            admin: vec![vec![9; 10]],
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> Block {
        Block::sample()
    }

    #[test]
    fn blocks_round_trip_and_reject_every_truncation() {
        let b = sample();
        let bytes = b.to_bytes();
        assert_eq!(bytes.len(), b.encoded_len());
        assert_eq!(Block::from_bytes(&bytes).unwrap(), b);
        for n in 0..bytes.len() {
            assert!(Block::from_bytes(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Block::from_bytes(&long), Err(DecodeError::TrailingBytes(1)));
        let mut v1 = bytes;
        v1[0] = 1;
        assert!(matches!(
            Block::from_bytes(&v1),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn oversized_counts_are_refused_before_allocation() {
        let mut w = Writer::new();
        w.u8(BLOCK_VERSION)
            .u64(1)
            .bytes(&[0; 32])
            .u64(0)
            .u64(0)
            .bytes(&[0; 32])
            .u32(u32::MAX);
        assert!(matches!(
            Block::from_bytes(&w.into_bytes()),
            Err(DecodeError::TooMany { .. })
        ));
    }

    #[test]
    fn the_encoding_is_the_protocol_layout_and_the_hash_is_of_it() {
        // The layout, written field by field: stored blocks and every block hash
        // depend on it.
        let b = sample();
        let mut w = Writer::new();
        w.u8(BLOCK_VERSION)
            .u64(b.height)
            .bytes(&b.parent.0)
            .u64(b.timestamp_ms)
            .u64(b.state.height)
            .bytes(&b.state.root)
            .count(2)
            .var_bytes(&[1, 2, 3])
            .var_bytes(&[])
            .count(1)
            .var_bytes(&[9; 10]);
        let expected = w.into_bytes();
        assert_eq!(b.to_bytes(), expected);
        assert_eq!(b.hash(), Block::hash_of_encoding(&expected));
    }

    #[test]
    fn the_hash_commits_to_every_field() {
        let b = sample();
        let mut c = b.clone();
        c.timestamp_ms += 1;
        assert_ne!(b.hash(), c.hash());
        let mut d = b.clone();
        d.admin.clear();
        assert_ne!(b.hash(), d.hash());
        let mut e = b.clone();
        e.state.root[31] ^= 1;
        assert_ne!(b.hash(), e.hash());
        let mut f = b.clone();
        f.state.height += 1;
        assert_ne!(b.hash(), f.hash());
    }

    #[test]
    fn a_state_reference_trails_the_parent_within_the_lag_and_never_goes_back() {
        let at = |height| StateRef {
            height,
            root: [0; 32],
        };
        assert!(at(10).follows(&at(10), 10));
        assert!(at(10).follows(&at(3), 10));
        assert!(at(100 - MAX_STATE_LAG).follows(&at(0), 100));
        // Beyond the parent: not executed by anyone yet.
        assert!(!at(11).follows(&at(10), 10));
        // Behind the parent's reference.
        assert!(!at(9).follows(&at(10), 12));
        // Too far behind the parent.
        assert!(!at(99 - MAX_STATE_LAG).follows(&at(0), 100));
    }

    #[test]
    fn headers_round_trip() {
        let h = BlockHeader {
            height: 1,
            hash: BlockHash([1; 32]),
            parent: BlockHash([2; 32]),
            timestamp_ms: 3,
            anchor: [4; 32],
            tree_size: 5,
            registry_root: [6; 32],
            nullifier_root: [7; 32],
            state_root: [9; 32],
            tx_count: 8,
        };
        assert_eq!(BlockHeader::from_bytes(&h.to_bytes()).unwrap(), h);
    }
}
