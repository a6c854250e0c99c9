//! The records the store keeps, with their encodings (integers little-endian).

use sable_circuits::keys::RegulatorPublicKey;
use sable_primitives::{RegulatorRotation, RejectCode};

use crate::{schema::u64_le, StorageError};

/// Where a finalized transaction or operator command ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
    /// Applied, or skipped with this rejection code.
    pub rejection_code: Option<RejectCode>,
}

impl TxLocation {
    /// height · index · code (0: applied).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(13);
        v.extend_from_slice(&self.height.to_le_bytes());
        v.extend_from_slice(&self.index.to_le_bytes());
        v.push(self.rejection_code.map_or(0, |c| c as u8));
        v
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Result<Self, StorageError> {
        if b.len() != 13 {
            return Err(StorageError::Corrupt("tx location"));
        }
        Ok(TxLocation {
            height: u64_le(&b[..8], "tx location")?,
            index: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
            rejection_code: match b[12] {
                0 => None,
                c => Some(RejectCode::from_u8(c).ok_or(StorageError::Corrupt("rejection code"))?),
            },
        })
    }
}

/// A registered participant: its slot in the registry tree, its epoch schedule and its
/// label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryEntry {
    /// Participant slot: its address leaf is registry leaf `2 · slot`, its epoch
    /// schedule's root leaf `2 · slot + 1` ([`sable_circuits::registry`]).
    pub slot: u64,
    /// The canonical encoding of its epoch schedule
    /// ([`sable_circuits::epoch::EpochSchedule::to_bytes`], checked when the operator
    /// command was decoded).
    pub epoch_keys: Vec<u8>,
    /// The operator's label for it.
    pub label: String,
}

impl RegistryEntry {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.slot.to_le_bytes().to_vec();
        v.extend_from_slice(&(self.epoch_keys.len() as u32).to_le_bytes());
        v.extend_from_slice(&self.epoch_keys);
        v.extend_from_slice(self.label.as_bytes());
        v
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Result<Self, StorageError> {
        let slot = u64_le(b, "registry entry")?;
        let len = b
            .get(8..12)
            .map(|l| u32::from_le_bytes(l.try_into().expect("4 bytes")) as usize)
            .ok_or(StorageError::Corrupt("registry entry epoch key length"))?;
        let epoch_keys = b
            .get(12..12 + len)
            .ok_or(StorageError::Corrupt("registry entry epoch keys"))?
            .to_vec();
        Ok(RegistryEntry {
            slot,
            epoch_keys,
            label: String::from_utf8_lossy(b.get(12 + len..).unwrap_or_default()).into_owned(),
        })
    }
}

/// A revoked certificate: when and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The height of the block that revoked it.
    pub height: u64,
    /// The operator's reason.
    pub reason: String,
}

impl Revocation {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.height.to_le_bytes().to_vec();
        v.extend_from_slice(self.reason.as_bytes());
        v
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Result<Self, StorageError> {
        Ok(Revocation {
            height: u64_le(b, "revocation")?,
            reason: String::from_utf8_lossy(b.get(8..).unwrap_or_default()).into_owned(),
        })
    }
}

/// A committed head of a regulator decryption audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditLogHead {
    /// How many entries the head covers.
    pub entries: u64,
    /// The hash of the last of them.
    pub head: [u8; 32],
    /// The height of the block that committed it.
    pub height: u64,
}

impl AuditLogHead {
    pub(crate) fn value_bytes(&self) -> Vec<u8> {
        let mut v = self.height.to_le_bytes().to_vec();
        v.extend_from_slice(&self.head);
        v
    }

    pub(crate) fn from_row(key: &[u8], value: &[u8]) -> Result<Self, StorageError> {
        let corrupt = || StorageError::Corrupt("audit log head");
        let entries = key
            .get(32..40)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(corrupt)?;
        let head = value
            .get(8..40)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(corrupt)?;
        Ok(AuditLogHead {
            entries,
            head,
            height: u64_le(value, "audit log head")?,
        })
    }
}

/// A regulator key rotation's value: key · height scheduled.
pub(crate) fn rotation_value(rotation: &RegulatorRotation) -> Vec<u8> {
    let mut v = rotation.key.to_bytes().to_vec();
    v.extend_from_slice(&rotation.scheduled_at.to_le_bytes());
    v
}

/// A regulator key rotation from its row (from height, big-endian · its value).
pub(crate) fn rotation_from_row(
    key: &[u8],
    value: &[u8],
) -> Result<RegulatorRotation, StorageError> {
    let corrupt = || StorageError::Corrupt("regulator key rotation");
    let from_height = <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt())?;
    let point: [u8; 32] = value
        .get(..32)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(corrupt)?;
    if value.len() != 40 {
        return Err(corrupt());
    }
    Ok(RegulatorRotation {
        from_height,
        key: RegulatorPublicKey::from_bytes(&point).map_err(|_| corrupt())?,
        scheduled_at: u64_le(&value[32..], "regulator key rotation")?,
    })
}

/// A confirmed L1 deposit as this validator's watcher stored it (its own view of L1,
/// never read by execution).
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
    /// asset · value · commitment · L1 block.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(80);
        v.extend_from_slice(&self.asset);
        v.extend_from_slice(&self.value.to_le_bytes());
        v.extend_from_slice(&self.commitment);
        v.extend_from_slice(&self.l1_block.to_le_bytes());
        v
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Result<Self, StorageError> {
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

/// A confirmed L1 asset listing as this validator's watcher stored it (keyed by asset
/// id; its own view of L1, never read by execution).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1AssetRecord {
    /// The ERC-20 token's address.
    pub token: [u8; 20],
    /// Token base units per Sable unit, a 256-bit big-endian integer.
    pub unit: [u8; 32],
    /// The L1 block that holds the listing.
    pub l1_block: u64,
}

impl L1AssetRecord {
    /// token · unit · L1 block.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let mut v = Vec::with_capacity(60);
        v.extend_from_slice(&self.token);
        v.extend_from_slice(&self.unit);
        v.extend_from_slice(&self.l1_block.to_le_bytes());
        v
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Result<Self, StorageError> {
        let bad = || StorageError::Corrupt("l1 asset");
        if b.len() != 60 {
            return Err(bad());
        }
        Ok(L1AssetRecord {
            token: b[..20].try_into().map_err(|_| bad())?,
            unit: b[20..52].try_into().map_err(|_| bad())?,
            l1_block: u64_le(&b[52..], "l1 asset")?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_round_trip_and_short_ones_are_corrupt() {
        let loc = TxLocation {
            height: 7,
            index: 3,
            rejection_code: Some(RejectCode::SpentNullifier),
        };
        assert_eq!(TxLocation::from_bytes(&loc.to_bytes()).unwrap(), loc);
        assert!(matches!(
            TxLocation::from_bytes(&loc.to_bytes()[1..]),
            Err(StorageError::Corrupt("tx location"))
        ));
        let mut bad_code = loc.to_bytes();
        bad_code[12] = 250;
        assert!(matches!(
            TxLocation::from_bytes(&bad_code),
            Err(StorageError::Corrupt("rejection code"))
        ));
        let entry = RegistryEntry {
            slot: 9,
            epoch_keys: vec![7; 2048],
            label: "bank".into(),
        };
        assert_eq!(RegistryEntry::from_bytes(&entry.to_bytes()).unwrap(), entry);
        assert!(RegistryEntry::from_bytes(&[1, 2]).is_err());
        assert!(matches!(
            RegistryEntry::from_bytes(&entry.to_bytes()[..10]),
            Err(StorageError::Corrupt("registry entry epoch key length"))
        ));
        assert!(matches!(
            RegistryEntry::from_bytes(&entry.to_bytes()[..100]),
            Err(StorageError::Corrupt("registry entry epoch keys"))
        ));
        let rev = Revocation {
            height: 4,
            reason: "key lost".into(),
        };
        assert_eq!(Revocation::from_bytes(&rev.to_bytes()).unwrap(), rev);
        let dep = L1DepositRecord {
            asset: [1; 32],
            value: 5,
            commitment: [2; 32],
            l1_block: 11,
        };
        assert_eq!(L1DepositRecord::from_bytes(&dep.to_bytes()).unwrap(), dep);
        assert!(L1DepositRecord::from_bytes(&dep.to_bytes()[..79]).is_err());
        let asset = L1AssetRecord {
            token: [3; 20],
            unit: [4; 32],
            l1_block: 12,
        };
        assert_eq!(L1AssetRecord::from_bytes(&asset.to_bytes()).unwrap(), asset);
        assert!(L1AssetRecord::from_bytes(&[0; 59]).is_err());
    }
}
