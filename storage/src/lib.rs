//! # sable-storage — the validator's state in RocksDB
//!
//! Owns: the on-disk layout (column families and key encodings, private to this crate),
//! the stored records ([`records`]), the persistent note and registry trees
//! ([`PersistentTree`]), atomic block commits ([`Store::commit`] of a [`Staged`]
//! overlay), and the read trait every other crate reads through ([`ChainReader`]).
//! The RPC, the settlement service and execution never name a column family: they
//! call [`ChainReader`] methods and the typed writers on [`Staged`].
//!
//! Must never: decide anything about a transaction (that is execution's), reach the
//! network, or let a read failure look like an absent record: every decode failure is
//! [`StorageError::Corrupt`].
//!
//! The state: blocks, transactions, the nullifier set, the note commitment tree and
//! its historic anchors, the compact ciphertext index, the participant registry,
//! authorised issuers, revocations and applied operator commands; and, apart, this
//! validator's own view of L1 (confirmed deposits and asset listings), which only
//! admission, voting and settlement read.
//!
//! Every finalized block is applied as one synced RocksDB write batch ([`Store::commit`]),
//! built in a [`Staged`] overlay that reads through to the committed state. A crash at
//! any point therefore leaves either the whole block or none of it;
//! [`Store::check_invariants`] verifies that on open.
//!
//! # Layout (column families; integers big-endian in keys, little-endian in values)
//! | column | key | value |
//! |---|---|---|
//! | `meta` | `tip` | header of the last applied block |
//! | `meta` | `registry_free`, `registry_next`, `last_removal` | registry slot allocation |
//! | `meta` | `nullifier_leaves` | leaves in the nullifier tree |
//! | `headers` | height | [`BlockHeader`] |
//! | `blocks` | height | [`Block`] bytes |
//! | `block_hashes` | hash | height |
//! | `tx_index` | tx id | height · index · outcome |
//! | `nullifiers` | nullifier | height |
//! | `nullifier_leaves` | nullifier's integer (big-endian) | index · leaf of the nullifier tree |
//! | `note_tree`, `nullifier_tree`, `registry_tree` | level · index | node |
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
//! | `audit_logs` | log · entries | height · head of a regulator decryption audit log |
//! | `regulator_keys` | from height | key · height scheduled (a regulator key rotation) |

mod merkle;
mod nullifiers;
pub mod reader;
pub mod records;
mod schema;
mod staged;
#[cfg(feature = "test-utils")]
pub mod testing;
mod writer;

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, Options, WriteOptions, DB};

pub use merkle::{PersistentTree, NOTE_TREE, NULLIFIER_TREE, REGISTRY_TREE};
pub use reader::ChainReader;
pub use records::{
    AuditLogHead, L1AssetRecord, L1DepositRecord, RegistryEntry, Revocation, TxLocation,
};
pub use staged::Staged;

use schema::Cf;

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

/// A stored `(key, value)` pair.
type Row = (Vec<u8>, Vec<u8>);

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

    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let handle = self
            .db
            .cf_handle(cf.name())
            .ok_or(StorageError::Corrupt("column family"))?;
        Ok(self.db.get_cf(&handle, key)?)
    }

    /// Every `(key, value)` of a column family in key order (small families only:
    /// registry, issuers, revocations, registry roots).
    fn scan(&self, cf: Cf) -> Result<Vec<Row>, StorageError> {
        let handle = self
            .db
            .cf_handle(cf.name())
            .ok_or(StorageError::Corrupt("column family"))?;
        self.db
            .iterator_cf(&handle, rocksdb::IteratorMode::Start)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into))
            .collect()
    }

    /// The rows of a column family at or below `key`, largest key first.
    fn rows_down_from<'a>(
        &'a self,
        cf: Cf,
        key: &[u8],
    ) -> Result<impl Iterator<Item = Result<Row, StorageError>> + 'a, StorageError> {
        let handle = self
            .db
            .cf_handle(cf.name())
            .ok_or(StorageError::Corrupt("column family"))?;
        Ok(self
            .db
            .iterator_cf(
                &handle,
                rocksdb::IteratorMode::From(key, rocksdb::Direction::Reverse),
            )
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into)))
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
            if staged.nullifier_root()? != tip.nullifier_root {
                return inv("nullifier tree root differs from the tip's".into());
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
