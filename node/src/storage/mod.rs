//! RocksDB state: blocks, transactions, the nullifier set, the note commitment tree and
//! its historic anchors, the compact ciphertext index, the participant registry,
//! authorised issuers, revocations and applied operator commands.
//!
//! Every finalized block is applied as one synced RocksDB write batch ([`Store::commit`]),
//! built in a [`Staged`] overlay that reads through to the committed state. A crash at
//! any point therefore leaves either the whole block or none of it;
//! [`Store::check_invariants`] verifies that on open in tests.
//!
//! # Layout (column families; integers big-endian in keys, little-endian in values)
//! | column | key | value |
//! |---|---|---|
//! | `meta` | `tip` | header of the last applied block |
//! | `meta` | `registry_free`, `registry_next`, `last_removal` | registry slot allocation |
//! | `headers` | height | [`BlockHeader`] |
//! | `blocks` | height | [`Block`] bytes |
//! | `block_hashes` | hash | height |
//! | `tx_index` | tx id | height · index · outcome |
//! | `nullifiers` | nullifier | height |
//! | `note_tree`, `registry_tree` | level · index | node |
//! | `anchors` | anchor | height it was first current |
//! | `compact` | height | compact block (protobuf) |
//! | `registry` | address | slot · label |
//! | `registry_roots` | root | last height it was current (`u64::MAX`: current) |
//! | `issuers` | issuer key | label |
//! | `revocations` | fingerprint | height · reason |
//! | `admin_ids` | command id | height |
//! | `deposits` | L1 deposit index | height it was minted |
//! | `withdrawals` | height | the block's withdrawals |
//! | `l1_deposits` | L1 deposit index | asset · value · commitment · L1 block (local) |
//! | `l1_assets` | asset id | token · unit · L1 block (local) |

mod merkle;
mod staged;

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, Options, WriteOptions, DB};

use sable_primitives::block::{Block, BlockHeader};

pub use merkle::{PersistentTree, NOTE_TREE, REGISTRY_TREE};
pub use staged::Staged;

/// Column families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cf {
    /// Chain tip and counters.
    Meta,
    /// Applied block headers by height.
    Headers,
    /// Blocks by height.
    Blocks,
    /// Height by block hash.
    BlockHashes,
    /// Transaction locations and outcomes.
    TxIndex,
    /// The nullifier set.
    Nullifiers,
    /// Note commitment tree nodes.
    NoteTree,
    /// Historic anchors.
    Anchors,
    /// Compact blocks for wallets.
    Compact,
    /// Registered addresses.
    Registry,
    /// Registry tree nodes.
    RegistryTree,
    /// Registry roots and until when they were current.
    RegistryRoots,
    /// Authorised issuers.
    Issuers,
    /// Revoked certificates.
    Revocations,
    /// Applied operator command ids.
    AdminIds,
    /// Bridge deposits minted: L1 deposit index (big-endian) → height. Chain state.
    Deposits,
    /// Confirmed L1 bridge deposits this node's watcher has seen: index (big-endian) →
    /// `asset:32 || value:u64 LE || commitment:32 || l1_block:u64 LE`. Local: read when
    /// admitting and voting, never in execution.
    L1Deposits,
    /// Withdrawals (burns naming an Ethereum recipient) each block executed: height →
    /// the block's [`crate::bridge_ledger::WithdrawalRecord`]s. Chain state.
    Withdrawals,
    /// Confirmed L1 asset listings this node's watcher has seen: asset id → token ·
    /// unit · L1 block. Local: read when admitting, voting and planning a batch.
    L1Assets,
}

impl Cf {
    /// Every column family.
    pub const ALL: [Cf; 19] = [
        Cf::Meta,
        Cf::Headers,
        Cf::Blocks,
        Cf::BlockHashes,
        Cf::TxIndex,
        Cf::Nullifiers,
        Cf::NoteTree,
        Cf::Anchors,
        Cf::Compact,
        Cf::Registry,
        Cf::RegistryTree,
        Cf::RegistryRoots,
        Cf::Issuers,
        Cf::Revocations,
        Cf::AdminIds,
        Cf::Deposits,
        Cf::L1Deposits,
        Cf::Withdrawals,
        Cf::L1Assets,
    ];

    /// The column family's name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Headers => "headers",
            Cf::Blocks => "blocks",
            Cf::BlockHashes => "block_hashes",
            Cf::TxIndex => "tx_index",
            Cf::Nullifiers => "nullifiers",
            Cf::NoteTree => "note_tree",
            Cf::Anchors => "anchors",
            Cf::Compact => "compact",
            Cf::Registry => "registry",
            Cf::RegistryTree => "registry_tree",
            Cf::RegistryRoots => "registry_roots",
            Cf::Issuers => "issuers",
            Cf::Revocations => "revocations",
            Cf::AdminIds => "admin_ids",
            Cf::Deposits => "deposits",
            Cf::L1Deposits => "l1_deposits",
            Cf::Withdrawals => "withdrawals",
            Cf::L1Assets => "l1_assets",
        }
    }
}

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB failed.
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    /// A stored value does not decode: the database is corrupt or from another version.
    #[error("corrupt {0} record")]
    Corrupt(&'static str),
    /// A block does not extend the tip.
    #[error("block {got} does not extend the tip (expected height {expected})")]
    NotNext {
        /// Expected height.
        expected: u64,
        /// Height offered.
        got: u64,
    },
    /// A stored-state invariant does not hold.
    #[error("invariant violated: {0}")]
    Invariant(String),
}

/// Keys in `meta`.
pub(crate) mod meta {
    pub const TIP: &[u8] = b"tip";
    pub const REGISTRY_FREE: &[u8] = b"registry_free";
    pub const REGISTRY_NEXT: &[u8] = b"registry_next";
    pub const LAST_REMOVAL: &[u8] = b"last_removal";
    /// How many L1 deposits are minted without a gap (the settlement's
    /// `depositsConsumed`).
    pub const DEPOSITS_PREFIX: &[u8] = b"deposits_prefix";

    /// `DEPOSITS_PREFIX` as of the block at `height`.
    pub fn deposits_prefix_at(height: u64) -> [u8; 10] {
        let mut k = [0u8; 10];
        k[..2].copy_from_slice(b"dp");
        k[2..].copy_from_slice(&height.to_be_bytes());
        k
    }
}

/// Height key (big-endian, so iteration is in height order).
pub fn height_key(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}

pub(crate) fn u64_le(v: &[u8], what: &'static str) -> Result<u64, StorageError> {
    v.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or(StorageError::Corrupt(what))
}

/// A stored `(key, value)` pair.
pub type Row = (Vec<u8>, Vec<u8>);

/// The node's database.
pub struct Store {
    db: DB,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.db.path().display())
    }
}

impl Store {
    /// Opens (creating if missing) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::None);
        let cfs = Cf::ALL.map(|cf| ColumnFamilyDescriptor::new(cf.name(), Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        Ok(Store { db })
    }

    pub(crate) fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let handle = self
            .db
            .cf_handle(cf.name())
            .ok_or(StorageError::Corrupt("column family"))?;
        Ok(self.db.get_cf(&handle, key)?)
    }

    /// Every `(key, value)` of a column family in key order (small families only:
    /// registry, issuers, revocations).
    pub fn scan(&self, cf: Cf) -> Result<Vec<Row>, StorageError> {
        let handle = self
            .db
            .cf_handle(cf.name())
            .ok_or(StorageError::Corrupt("column family"))?;
        self.db
            .iterator_cf(&handle, rocksdb::IteratorMode::Start)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into))
            .collect()
    }

    /// The header of the last applied block (`None` before genesis is applied).
    pub fn tip(&self) -> Result<Option<BlockHeader>, StorageError> {
        self.get(Cf::Meta, meta::TIP)?
            .map(|b| BlockHeader::from_bytes(&b).map_err(|_| StorageError::Corrupt("tip")))
            .transpose()
    }

    /// Height of the last applied block (0 before any).
    pub fn height(&self) -> Result<u64, StorageError> {
        Ok(self.tip()?.map_or(0, |h| h.height))
    }

    /// The header applied at `height`.
    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>, StorageError> {
        self.get(Cf::Headers, &height_key(height))?
            .map(|b| BlockHeader::from_bytes(&b).map_err(|_| StorageError::Corrupt("header")))
            .transpose()
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        self.get(Cf::Blocks, &height_key(height))?
            .map(|b| Block::from_bytes(&b).map_err(|_| StorageError::Corrupt("block")))
            .transpose()
    }

    /// The height of the block with `hash`.
    pub fn height_of(&self, hash: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        self.get(Cf::BlockHashes, hash)?
            .map(|b| {
                b.as_slice()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| StorageError::Corrupt("block hash index"))
            })
            .transpose()
    }

    /// Applies a staged block atomically and durably.
    pub fn commit(&self, staged: Staged<'_>) -> Result<(), StorageError> {
        let mut batch = rocksdb::WriteBatch::default();
        for ((cf, key), value) in staged.into_writes() {
            let handle = self
                .db
                .cf_handle(cf.name())
                .ok_or(StorageError::Corrupt("column family"))?;
            match value {
                Some(v) => batch.put_cf(&handle, key, v),
                None => batch.delete_cf(&handle, key),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo)?;
        Ok(())
    }

    /// Checks that the stored state is whole where a torn write would show: the tip's
    /// block and header are stored, nothing exists above the tip, and the tip's roots
    /// match the trees. Cheap enough to run at every start (it reads no history).
    pub fn check_invariants(&self) -> Result<(), StorageError> {
        let tip = self.tip()?;
        let height = tip.as_ref().map_or(0, |h| h.height);
        let inv = |m: String| Err(StorageError::Invariant(m));
        if let Some(tip) = &tip {
            if self.header(height)?.as_ref() != Some(tip) || self.block(height)?.is_none() {
                return inv(format!("the tip {height} has no stored block and header"));
            }
            let staged = Staged::new(self);
            if NOTE_TREE.root(&staged)?.to_repr_bytes() != tip.anchor {
                return inv("note tree root differs from the tip's anchor".into());
            }
            if REGISTRY_TREE.root(&staged)?.to_repr_bytes() != tip.registry_root {
                return inv("registry root differs from the tip's".into());
            }
        }
        if self.header(height + 1)?.is_some() || self.block(height + 1)?.is_some() {
            return inv(format!("a block above the tip {height} is stored"));
        }
        Ok(())
    }
}

/// Canonical bytes of a field element.
pub trait ReprBytes {
    /// 32-byte little-endian canonical encoding.
    fn to_repr_bytes(&self) -> [u8; 32];
}

impl ReprBytes for pasta_curves::pallas::Base {
    fn to_repr_bytes(&self) -> [u8; 32] {
        use ff::PrimeField;
        self.to_repr()
    }
}
