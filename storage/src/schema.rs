//! The on-disk layout: column families and key encodings. Private to this crate:
//! every other crate reads and writes through [`crate::ChainReader`] and the typed
//! writers on [`crate::Staged`].

use crate::StorageError;

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
    /// the block's `WithdrawalRecord`s. Chain state.
    Withdrawals,
    /// Confirmed L1 asset listings this node's watcher has seen: asset id → token ·
    /// unit · L1 block. Local: read when admitting, voting and planning a batch.
    L1Assets,
    /// Committed heads of regulator decryption audit logs: log · entries (big-endian)
    /// → height · head. Chain state.
    AuditLogs,
    /// Scheduled regulator key rotations: from height (big-endian) → key · height
    /// scheduled. Chain state.
    RegulatorKeys,
    /// The nullifier tree's leaves by value: the value's integer (big-endian, so keys
    /// sort as the leaves link) → index (big-endian) · leaf. Chain state.
    NullifierLeaves,
    /// Nullifier tree nodes. Chain state.
    NullifierTree,
}

impl Cf {
    /// Every column family.
    pub const ALL: [Cf; 23] = [
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
        Cf::AuditLogs,
        Cf::RegulatorKeys,
        Cf::NullifierLeaves,
        Cf::NullifierTree,
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
            Cf::AuditLogs => "audit_logs",
            Cf::RegulatorKeys => "regulator_keys",
            Cf::NullifierLeaves => "nullifier_leaves",
            Cf::NullifierTree => "nullifier_tree",
        }
    }
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
    /// How many leaves the nullifier tree holds (the genesis leaf included).
    pub const NULLIFIER_LEAVES: &[u8] = b"nullifier_leaves";

    /// `DEPOSITS_PREFIX` as of the block at `height`.
    pub fn deposits_prefix_at(height: u64) -> [u8; 10] {
        let mut k = [0u8; 10];
        k[..2].copy_from_slice(b"dp");
        k[2..].copy_from_slice(&height.to_be_bytes());
        k
    }
}

/// Height key (big-endian, so iteration is in height order).
pub(crate) fn height_key(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}

pub(crate) fn u64_le(v: &[u8], what: &'static str) -> Result<u64, StorageError> {
    v.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or(StorageError::Corrupt(what))
}
