//! Protocol constants: tree depths, domain separators, personalisations, and the limits
//! the canonical encoding enforces.
//!
//! Changing any value here changes the protocol (the depths and personalisations also
//! change the verifying key); the pinned fixtures in `tests/fixtures/` catch accidental
//! changes.

/// Depth of the note commitment tree: 2^32 notes.
pub const NOTE_COMMITMENT_TREE_DEPTH: usize = 32;

/// Depth of the nullifier tree: 2^32 spent notes (one leaf each, and the genesis leaf).
pub const NULLIFIER_TREE_DEPTH: usize = 32;

/// Depth of the participant registry tree: 2^16 leaves, two per participant (its
/// address and its epoch schedule's root), so 2^15 participants.
///
/// A consortium of regulated institutions has at most thousands of participants; a
/// shallow tree keeps the two membership proofs per action cheap.
pub const REGISTRY_DEPTH: usize = 16;

/// Depth of a participant's epoch key tree: 2^6 = 64 epochs (16 years of quarters).
///
/// The tree's secrets derive down from one root secret, so a key for a range of epochs
/// is at most `2 · EPOCH_TREE_DEPTH` node secrets ([`crate::epoch`]).
pub const EPOCH_TREE_DEPTH: usize = 6;

/// Number of field elements in the plaintext encrypted to the regulator for each action.
pub const REGULATOR_PLAINTEXT_LEN: usize = 5;

/// Personalisation of the hash-to-curve used for asset generators (`V_asset`).
pub const ASSET_BASE_PERSONALIZATION: &str = "sable:asset-base";

/// Personalisation of the hash-to-curve used for the address and key-agreement generator.
pub const KEY_AGREEMENT_PERSONALIZATION: &str = "sable:key-agreement";

/// Personalisation of the PRF that expands a spending key into its components.
pub const PRF_EXPAND_PERSONALIZATION: &[u8; 16] = b"Sable_ExpandSeed";

/// `PRF^expand` domain byte of an action's regulator `esk`, keyed by the spender's `nk`
/// (bytes 0, 1 and 2 expand a spending key into `ask`, `nk` and `ovk`).
pub const PRF_REGULATOR_ESK_ACTION: u8 = 3;

/// `PRF^expand` domain byte of a deposit's regulator `esk`, keyed by the note's `rcm`.
pub const PRF_REGULATOR_ESK_DEPOSIT: u8 = 4;

/// `PRF^expand` domain byte of a participant's epoch tree root secret, keyed by its
/// `nk` ([`crate::epoch`]).
pub const PRF_EPOCH_TREE_ROOT: u8 = 5;

/// `PRF^expand` domain byte of an epoch's secret key, keyed by the epoch's leaf secret
/// in the epoch tree ([`crate::epoch`]).
pub const PRF_EPOCH_SECRET_KEY: u8 = 6;

/// Personalisation of the hash that derives an epoch tree node's children (the GGM
/// tree of [`crate::epoch`]).
pub const EPOCH_TREE_PERSONALIZATION: &[u8; 16] = b"Sable_EpochTree_";

/// Personalisation of the transaction digest (also the signature hash).
pub const TX_DIGEST_PERSONALIZATION: &[u8; 16] = b"Sable_TxDigest__";

/// Personalisation of the hash of a network's namespace into its chain id.
pub const CHAIN_ID_PERSONALIZATION: &[u8; 16] = b"Sable_ChainId___";

/// Personalisation of the KDF for note encryption to recipients.
pub const KDF_PERSONALIZATION: &[u8; 16] = b"Sable_NoteKDF___";

/// Personalisation of the KDF for outgoing (sender) recovery.
pub const OCK_PERSONALIZATION: &[u8; 16] = b"Sable_OutCipherK";

/// Personalisation of the hash that binds a deposit claim's L1 deposit index and note
/// ciphertext into its proof (a public input of the deposit circuit).
pub const DEPOSIT_CLAIM_PERSONALIZATION: &[u8; 16] = b"Sable_DepositClm";

/// Personalisation of the hash that derives per-asset generators from issuer-facing names.
pub const ASSET_ID_PERSONALIZATION: &[u8; 16] = b"Sable_AssetId___";

/// Maximum number of parts in a transaction.
pub const MAX_PARTS: usize = 16;

/// Maximum number of actions in a part.
pub const MAX_ACTIONS_PER_PART: usize = 64;

/// Maximum number of public burns (withdrawals) in a part.
pub const MAX_BURNS_PER_PART: usize = 16;

/// Maximum number of notes created by one issuance.
pub const MAX_ISSUED_NOTES: usize = 64;

/// Maximum number of deposits in one transaction.
pub const MAX_DEPOSITS: usize = 16;

/// Longest asset name in an issuance, in bytes.
pub const MAX_ASSET_NAME: usize = 64;

/// How far past the block that includes it a transaction's expiry height may lie: no
/// signed transaction stays a free option for longer (about 14 hours at two blocks a
/// second).
pub const MAX_EXPIRY_DELTA: u64 = 100_000;
