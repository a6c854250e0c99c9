//! [`ChainReader`]: every read of the state other crates make, by what it means.
//!
//! Implemented by the committed [`Store`] and by a [`Staged`] overlay (which reads its
//! own writes first), so execution checks a block's later transactions against its
//! earlier ones with the same calls the RPC uses on the committed state.

use sable_circuits::keys::RegulatorPublicKey;
use sable_primitives::{
    block::{Block, BlockHeader, TxId},
    RegulatorRotation, RegulatorSchedule, WithdrawalRecord,
};

use crate::{
    records::{
        self, AuditLogHead, L1AssetRecord, L1DepositRecord, RegistryEntry, Revocation, TxLocation,
    },
    schema::{height_key, meta, u64_le, Cf},
    Row, Staged, StorageError, Store,
};

mod sealed {
    use crate::{schema::Cf, StorageError};

    /// Raw access by column family: private to this crate, so nothing outside it can
    /// read a column by name.
    pub trait RawRead {
        fn raw_get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
        #[allow(clippy::type_complexity)]
        fn raw_scan(&self, cf: Cf) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError>;
    }
}

impl sealed::RawRead for Store {
    fn raw_get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(cf, key)
    }
    fn raw_scan(&self, cf: Cf) -> Result<Vec<Row>, StorageError> {
        self.scan(cf)
    }
}

impl sealed::RawRead for Staged<'_> {
    fn raw_get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(cf, key)
    }
    fn raw_scan(&self, cf: Cf) -> Result<Vec<Row>, StorageError> {
        self.scan(cf)
    }
}

fn u64_be(v: &[u8], what: &'static str) -> Result<u64, StorageError> {
    v.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| StorageError::Corrupt(what))
}

fn key32(k: Vec<u8>, what: &'static str) -> Result<[u8; 32], StorageError> {
    k.try_into().map_err(|_| StorageError::Corrupt(what))
}

/// Reads of the chain state and of this validator's view of L1, by meaning.
pub trait ChainReader: sealed::RawRead {
    /// The header of the last applied block (`None` before genesis is applied).
    fn tip(&self) -> Result<Option<BlockHeader>, StorageError> {
        self.raw_get(Cf::Meta, meta::TIP)?
            .map(|b| BlockHeader::from_bytes(&b).map_err(|_| StorageError::Corrupt("tip")))
            .transpose()
    }

    /// Height of the last applied block (0 before any).
    fn height(&self) -> Result<u64, StorageError> {
        Ok(self.tip()?.map_or(0, |h| h.height))
    }

    /// The header applied at `height`.
    fn header(&self, height: u64) -> Result<Option<BlockHeader>, StorageError> {
        self.raw_get(Cf::Headers, &height_key(height))?
            .map(|b| BlockHeader::from_bytes(&b).map_err(|_| StorageError::Corrupt("header")))
            .transpose()
    }

    /// The block at `height`.
    fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        self.raw_get(Cf::Blocks, &height_key(height))?
            .map(|b| Block::from_bytes(&b).map_err(|_| StorageError::Corrupt("block")))
            .transpose()
    }

    /// The length of the block at `height`'s canonical encoding, without decoding it.
    fn block_size(&self, height: u64) -> Result<Option<usize>, StorageError> {
        Ok(self
            .raw_get(Cf::Blocks, &height_key(height))?
            .map(|b| b.len()))
    }

    /// The height of the block with `hash`.
    fn height_of(&self, hash: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        self.raw_get(Cf::BlockHashes, hash)?
            .map(|b| u64_be(&b, "block hash index"))
            .transpose()
    }

    /// Where a finalized transaction or operator command ended up.
    fn tx_location(&self, id: &TxId) -> Result<Option<TxLocation>, StorageError> {
        self.raw_get(Cf::TxIndex, &id.0)?
            .map(|b| TxLocation::from_bytes(&b))
            .transpose()
    }

    /// The compact block (protobuf `sable.v1.CompactBlock`) executed at `height`;
    /// genesis has none.
    fn compact_block(&self, height: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.raw_get(Cf::Compact, &height_key(height))
    }

    /// Whether the nullifier has been spent.
    fn is_spent(&self, nullifier: &[u8; 32]) -> Result<bool, StorageError> {
        Ok(self.raw_get(Cf::Nullifiers, nullifier)?.is_some())
    }

    /// Whether `anchor` was ever the note tree's root.
    fn is_anchor(&self, anchor: &[u8; 32]) -> Result<bool, StorageError> {
        Ok(self.raw_get(Cf::Anchors, anchor)?.is_some())
    }

    /// Whether L1 deposit `index` has been minted.
    fn is_deposit_minted(&self, index: u64) -> Result<bool, StorageError> {
        Ok(self.raw_get(Cf::Deposits, &index.to_be_bytes())?.is_some())
    }

    /// How many L1 deposits are minted without a gap now.
    fn deposits_prefix(&self) -> Result<u64, StorageError> {
        Ok(self
            .raw_get(Cf::Meta, meta::DEPOSITS_PREFIX)?
            .map(|b| u64_le(&b, "deposits prefix"))
            .transpose()?
            .unwrap_or(0))
    }

    /// How many L1 deposits were minted without a gap as of the block at `height` (0
    /// before any; what a settlement batch ending there reports as `depositsConsumed`).
    fn deposits_minted_at(&self, height: u64) -> Result<u64, StorageError> {
        Ok(self
            .raw_get(Cf::Meta, &meta::deposits_prefix_at(height))?
            .map(|b| u64_le(&b, "deposits prefix"))
            .transpose()?
            .unwrap_or(0))
    }

    /// The withdrawals the block at `height` executed, in order.
    fn withdrawals_at(&self, height: u64) -> Result<Vec<WithdrawalRecord>, StorageError> {
        self.raw_get(Cf::Withdrawals, &height_key(height))?
            .map(|b| WithdrawalRecord::decode_all(&b).ok_or(StorageError::Corrupt("withdrawals")))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// The last height at which the registry `root` was current (`u64::MAX`: it is
    /// current), or `None` if it never was.
    fn registry_root_last_current(&self, root: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        self.raw_get(Cf::RegistryRoots, root)?
            .map(|b| u64_le(&b, "registry root"))
            .transpose()
    }

    /// Every registry root there has been, with the last height it was current.
    fn registry_roots(&self) -> Result<Vec<([u8; 32], u64)>, StorageError> {
        self.raw_scan(Cf::RegistryRoots)?
            .into_iter()
            .map(|(k, v)| Ok((key32(k, "registry root")?, u64_le(&v, "registry root")?)))
            .collect()
    }

    /// Height of the last block that removed a participant (0 if none).
    fn last_removal(&self) -> Result<u64, StorageError> {
        Ok(self
            .raw_get(Cf::Meta, meta::LAST_REMOVAL)?
            .map(|b| u64_le(&b, "last removal"))
            .transpose()?
            .unwrap_or(0))
    }

    /// The registry entry of `address` (its 32-byte encoding), if registered.
    fn participant(&self, address: &[u8; 32]) -> Result<Option<RegistryEntry>, StorageError> {
        self.raw_get(Cf::Registry, address)?
            .map(|b| RegistryEntry::from_bytes(&b))
            .transpose()
    }

    /// Every registered participant (address encoding, entry), in address order.
    fn participants(&self) -> Result<Vec<([u8; 32], RegistryEntry)>, StorageError> {
        self.raw_scan(Cf::Registry)?
            .into_iter()
            .map(|(k, v)| Ok((key32(k, "registry entry")?, RegistryEntry::from_bytes(&v)?)))
            .collect()
    }

    /// Registry slots freed by removals, to be reused last-freed first.
    fn registry_free_slots(&self) -> Result<Vec<u64>, StorageError> {
        let free = self
            .raw_get(Cf::Meta, meta::REGISTRY_FREE)?
            .unwrap_or_default();
        if !free.len().is_multiple_of(8) {
            return Err(StorageError::Corrupt("registry free list"));
        }
        free.chunks_exact(8)
            .map(|c| u64_le(c, "registry free list"))
            .collect()
    }

    /// The next never-used registry slot.
    fn registry_next_slot(&self) -> Result<u64, StorageError> {
        Ok(self
            .raw_get(Cf::Meta, meta::REGISTRY_NEXT)?
            .map(|b| u64_le(&b, "registry next"))
            .transpose()?
            .unwrap_or(0))
    }

    /// The label of an authorised issuer, if it is one.
    fn issuer(&self, issuer_key: &[u8; 32]) -> Result<Option<String>, StorageError> {
        Ok(self
            .raw_get(Cf::Issuers, issuer_key)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Every authorised issuer (key, label), in key order.
    fn issuers(&self) -> Result<Vec<([u8; 32], String)>, StorageError> {
        self.raw_scan(Cf::Issuers)?
            .into_iter()
            .map(|(k, v)| {
                Ok((
                    key32(k, "issuer")?,
                    String::from_utf8_lossy(&v).into_owned(),
                ))
            })
            .collect()
    }

    /// The committed heads of the regulator decryption audit log `log`, by entries.
    fn audit_log_heads(&self, log: &[u8; 32]) -> Result<Vec<AuditLogHead>, StorageError> {
        self.raw_scan(Cf::AuditLogs)?
            .into_iter()
            .filter(|(k, _)| k.starts_with(log))
            .map(|(k, v)| AuditLogHead::from_row(&k, &v))
            .collect()
    }

    /// The scheduled regulator key rotations, by the height they take effect.
    fn regulator_rotations(&self) -> Result<Vec<RegulatorRotation>, StorageError> {
        self.raw_scan(Cf::RegulatorKeys)?
            .into_iter()
            .map(|(k, v)| records::rotation_from_row(&k, &v))
            .collect()
    }

    /// The chain's regulator key schedule, whose genesis key is `genesis`.
    fn regulator_schedule(
        &self,
        genesis: RegulatorPublicKey,
    ) -> Result<RegulatorSchedule, StorageError> {
        RegulatorSchedule::with_rotations(genesis, self.regulator_rotations()?)
            .map_err(|_| StorageError::Corrupt("regulator key schedule"))
    }

    /// Whether the certificate with this fingerprint is revoked.
    fn is_revoked(&self, fingerprint: &[u8; 32]) -> Result<bool, StorageError> {
        Ok(self.raw_get(Cf::Revocations, fingerprint)?.is_some())
    }

    /// Every revoked certificate (fingerprint, revocation), in fingerprint order.
    fn revocations(&self) -> Result<Vec<([u8; 32], Revocation)>, StorageError> {
        self.raw_scan(Cf::Revocations)?
            .into_iter()
            .map(|(k, v)| Ok((key32(k, "revocation")?, Revocation::from_bytes(&v)?)))
            .collect()
    }

    /// The confirmed L1 deposit `index` this validator's watcher saw, if any.
    fn l1_deposit(&self, index: u64) -> Result<Option<L1DepositRecord>, StorageError> {
        self.raw_get(Cf::L1Deposits, &index.to_be_bytes())?
            .map(|b| L1DepositRecord::from_bytes(&b))
            .transpose()
    }

    /// The confirmed L1 listing of `asset` this validator's watcher saw, if any.
    fn l1_asset(&self, asset: &[u8; 32]) -> Result<Option<L1AssetRecord>, StorageError> {
        self.raw_get(Cf::L1Assets, asset)?
            .map(|b| L1AssetRecord::from_bytes(&b))
            .transpose()
    }
}

impl<T: sealed::RawRead + ?Sized> ChainReader for T {}
