//! Why a command is refused, sorted by whose fact it is.
//!
//! Three kinds of reason never mix (reth's transaction pool keeps invalid ≠ pool ≠ I/O
//! apart in the same way):
//! - a [`Rejection`] is a verdict about the command against the chain: every validator
//!   reaches it alike, so execution may record it as the command's outcome in a block;
//! - an [`AdmissionError`] adds this validator's own circumstances at admission: its
//!   pool ([`PoolCondition`]), its view of Ethereum ([`L1View`]), or a local failure
//!   ([`AdmissionError::Unavailable`]). None of these is ever recorded by execution;
//! - a storage failure is neither: it stops execution (`sable-execution`), and at
//!   admission it is only ever [`AdmissionError::Unavailable`].
//!
//! Every reason has a stable one-byte [`RejectCode`] (storage, metrics labels, and the
//! gRPC `RejectReason`, which uses the same numbers).

/// The stable code of a refusal. Execution stores it beside a skipped command, and the
/// gRPC enum `sable.v1.RejectReason` carries the same numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum RejectCode {
    /// Malformed encoding or structure.
    Malformed = 1,
    /// Larger than the node accepts.
    TooLarge = 2,
    /// A signature does not verify.
    InvalidSignature = 3,
    /// A proof does not verify.
    InvalidProof = 4,
    /// The anchor is not a historic root of the note commitment tree.
    UnknownAnchor = 5,
    /// A nullifier is already spent.
    SpentNullifier = 6,
    /// The registry root is neither current nor recent enough.
    StaleRegistryRoot = 7,
    /// A nullifier collides with another pending transaction.
    DuplicateNullifier = 8,
    /// The compliance policy refused it.
    Compliance = 9,
    /// The mempool is full.
    MempoolFull = 10,
    /// An issuance by a key the operator has not authorised.
    UnauthorizedIssuer = 11,
    /// Already known (pending, finalized or applied).
    Duplicate = 12,
    /// An operator command that cannot apply.
    Admin = 13,
    /// A deposit that no confirmed L1 bridge deposit matches.
    UnconfirmedDeposit = 14,
    /// A deposit already minted.
    DepositConsumed = 15,
    /// A withdrawal of an asset the L1 bridge has not listed.
    UnlistedAsset = 16,
    /// This validator could not decide (storage or verifier failure).
    Unavailable = 17,
    /// Signed for another network.
    WrongChain = 18,
    /// Past its expiry height, or with an expiry further ahead than the chain allows.
    Expired = 19,
    /// An issuance to an address the registry does not hold.
    UnregisteredRecipient = 20,
    /// Its submitter's recent transactions failed verification: try again later.
    Throttled = 21,
    /// Proven for a regulator key that is not the chain's key at the block's height.
    WrongRegulatorKey = 22,
}

/// Whose fact a refusal is (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// Invalid under the protocol whatever the state.
    Invalid,
    /// Valid on its own, but in conflict with the chain state.
    Conflict,
    /// Refused by the network's compliance policy.
    Policy,
    /// This validator's pool.
    Pool,
    /// This validator's view of Ethereum.
    L1View,
    /// A local failure at this validator.
    Unavailable,
}

impl RejectCode {
    /// Every code, in numeric order.
    pub const ALL: [RejectCode; 22] = [
        RejectCode::Malformed,
        RejectCode::TooLarge,
        RejectCode::InvalidSignature,
        RejectCode::InvalidProof,
        RejectCode::UnknownAnchor,
        RejectCode::SpentNullifier,
        RejectCode::StaleRegistryRoot,
        RejectCode::DuplicateNullifier,
        RejectCode::Compliance,
        RejectCode::MempoolFull,
        RejectCode::UnauthorizedIssuer,
        RejectCode::Duplicate,
        RejectCode::Admin,
        RejectCode::UnconfirmedDeposit,
        RejectCode::DepositConsumed,
        RejectCode::UnlistedAsset,
        RejectCode::Unavailable,
        RejectCode::WrongChain,
        RejectCode::Expired,
        RejectCode::UnregisteredRecipient,
        RejectCode::Throttled,
        RejectCode::WrongRegulatorKey,
    ];

    /// The code a byte stands for; `None` for 0 and for numbers no code has.
    pub fn from_u8(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| *c as u8 == b)
    }

    /// A label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            RejectCode::Malformed => "malformed",
            RejectCode::TooLarge => "too_large",
            RejectCode::InvalidSignature => "invalid_signature",
            RejectCode::InvalidProof => "invalid_proof",
            RejectCode::UnknownAnchor => "unknown_anchor",
            RejectCode::SpentNullifier => "spent_nullifier",
            RejectCode::StaleRegistryRoot => "stale_registry_root",
            RejectCode::DuplicateNullifier => "duplicate_nullifier",
            RejectCode::Compliance => "compliance",
            RejectCode::MempoolFull => "mempool_full",
            RejectCode::UnauthorizedIssuer => "unauthorized_issuer",
            RejectCode::Duplicate => "duplicate",
            RejectCode::Admin => "admin",
            RejectCode::UnconfirmedDeposit => "unconfirmed_deposit",
            RejectCode::DepositConsumed => "deposit_consumed",
            RejectCode::UnlistedAsset => "unlisted_asset",
            RejectCode::Unavailable => "unavailable",
            RejectCode::WrongChain => "wrong_chain",
            RejectCode::Expired => "expired",
            RejectCode::UnregisteredRecipient => "unregistered_recipient",
            RejectCode::Throttled => "throttled",
            RejectCode::WrongRegulatorKey => "wrong_regulator_key",
        }
    }

    /// Whose fact the refusal is.
    pub fn kind(self) -> RejectKind {
        match self {
            RejectCode::Malformed
            | RejectCode::TooLarge
            | RejectCode::InvalidSignature
            | RejectCode::InvalidProof
            | RejectCode::WrongChain => RejectKind::Invalid,
            RejectCode::UnknownAnchor
            | RejectCode::SpentNullifier
            | RejectCode::StaleRegistryRoot
            | RejectCode::UnauthorizedIssuer
            | RejectCode::Duplicate
            | RejectCode::Admin
            | RejectCode::DepositConsumed
            | RejectCode::Expired
            | RejectCode::UnregisteredRecipient
            | RejectCode::WrongRegulatorKey => RejectKind::Conflict,
            RejectCode::Compliance => RejectKind::Policy,
            RejectCode::DuplicateNullifier | RejectCode::MempoolFull | RejectCode::Throttled => {
                RejectKind::Pool
            }
            RejectCode::UnconfirmedDeposit | RejectCode::UnlistedAsset => RejectKind::L1View,
            RejectCode::Unavailable => RejectKind::Unavailable,
        }
    }

    /// Whether execution may record this code as a command's outcome: only verdicts
    /// every validator reaches alike ([`Rejection`]'s codes).
    pub fn is_chain_verdict(self) -> bool {
        matches!(
            self.kind(),
            RejectKind::Invalid | RejectKind::Conflict | RejectKind::Policy
        )
    }
}

impl std::fmt::Display for RejectCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A verdict about a command against the chain, reached alike by every validator, so
/// execution may record it (as its [`RejectCode`]) as the command's outcome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Malformed encoding or structure.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Larger than the chain accepts.
    #[error("transaction of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// A signature does not verify.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// A proof does not verify.
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    /// The anchor is not a historic root of the note commitment tree.
    #[error("unknown anchor")]
    UnknownAnchor,
    /// A nullifier is already spent.
    #[error("nullifier already spent")]
    SpentNullifier,
    /// The registry root is neither current nor recent enough.
    #[error("stale registry root")]
    StaleRegistryRoot,
    /// The compliance policy refused it.
    #[error("refused by compliance policy {policy}: {reason}")]
    Compliance {
        /// Policy name.
        policy: String,
        /// Its reason.
        reason: String,
    },
    /// An issuance by a key the operator has not authorised.
    #[error("issuer is not authorised")]
    UnauthorizedIssuer,
    /// Already known (pending, finalized or applied).
    #[error("already known")]
    Duplicate,
    /// An operator command that cannot apply (bad certificate, not registered, …).
    #[error("admin command refused: {0}")]
    Admin(String),
    /// A deposit already minted.
    #[error("L1 deposit {0} is already minted")]
    DepositConsumed(u64),
    /// Signed for another network.
    #[error("signed for another chain ({found}; this chain is {expected})")]
    WrongChain {
        /// This chain's id (its first bytes, in hex).
        expected: String,
        /// The transaction's.
        found: String,
    },
    /// Past its expiry height, or with an expiry further ahead than the chain allows.
    #[error(
        "expiry height {expiry} is outside [{height}, {horizon}] for a block at height {height}"
    )]
    Expired {
        /// The transaction's expiry height.
        expiry: u64,
        /// The height of the block it would be in.
        height: u64,
        /// The furthest expiry a transaction in that block may carry.
        horizon: u64,
    },
    /// An issuance to an address the registry does not hold.
    #[error("issuance {issuance} note {note}: the recipient is not registered")]
    UnregisteredRecipient {
        /// The issuance within the transaction.
        issuance: usize,
        /// The note within the issuance.
        note: usize,
    },
    /// Proven for a regulator key that is not the chain's key at the block's height
    /// (one from before a rotation, or one the sender chose).
    #[error(
        "proven for regulator key {found}; the chain's regulator key for a block at height {height} is {expected}"
    )]
    WrongRegulatorKey {
        /// The key the chain's schedule gives that height (its first bytes, in hex).
        expected: String,
        /// The key the transaction names.
        found: String,
        /// The height of the block it would be in.
        height: u64,
    },
}

impl Rejection {
    /// Its stable code.
    pub fn code(&self) -> RejectCode {
        match self {
            Rejection::Malformed(_) => RejectCode::Malformed,
            Rejection::TooLarge(_) => RejectCode::TooLarge,
            Rejection::InvalidSignature(_) => RejectCode::InvalidSignature,
            Rejection::InvalidProof(_) => RejectCode::InvalidProof,
            Rejection::UnknownAnchor => RejectCode::UnknownAnchor,
            Rejection::SpentNullifier => RejectCode::SpentNullifier,
            Rejection::StaleRegistryRoot => RejectCode::StaleRegistryRoot,
            Rejection::Compliance { .. } => RejectCode::Compliance,
            Rejection::UnauthorizedIssuer => RejectCode::UnauthorizedIssuer,
            Rejection::Duplicate => RejectCode::Duplicate,
            Rejection::Admin(_) => RejectCode::Admin,
            Rejection::DepositConsumed(_) => RejectCode::DepositConsumed,
            Rejection::WrongChain { .. } => RejectCode::WrongChain,
            Rejection::Expired { .. } => RejectCode::Expired,
            Rejection::UnregisteredRecipient { .. } => RejectCode::UnregisteredRecipient,
            Rejection::WrongRegulatorKey { .. } => RejectCode::WrongRegulatorKey,
        }
    }
}

/// This validator's pool refused a command that may well be valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolCondition {
    /// The mempool is full.
    #[error("mempool is full")]
    Full,
    /// A nullifier collides with another pending transaction.
    #[error("nullifier already used by a pending transaction")]
    DuplicateNullifier,
    /// The submitter's recent transactions failed verification.
    #[error("submitter throttled: {failed} of its recent transactions failed verification; retry in {retry_after_s} s")]
    Throttled {
        /// Failures still counted against it.
        failed: u32,
        /// Seconds until it may submit again.
        retry_after_s: u64,
    },
}

/// This validator's view of Ethereum does not (yet) back the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum L1View {
    /// A deposit that no confirmed L1 bridge deposit matches.
    #[error("no confirmed L1 deposit {0} matches")]
    UnconfirmedDeposit(u64),
    /// A withdrawal of an asset no confirmed L1 listing maps to a token: the bridge
    /// could not pay it.
    #[error("asset {} is not listed on the L1 bridge", hex::encode(.0))]
    UnlistedAsset([u8; 32]),
}

/// Why this validator does not admit a command now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The command is refused on the chain's terms.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The pool's condition.
    #[error(transparent)]
    Pool(#[from] PoolCondition),
    /// This validator's view of Ethereum.
    #[error(transparent)]
    L1(#[from] L1View),
    /// This validator could not decide (its storage or verifier failed); the command
    /// may be submitted again.
    #[error("this validator cannot decide now: {0}")]
    Unavailable(String),
}

impl AdmissionError {
    /// Its stable code.
    pub fn code(&self) -> RejectCode {
        match self {
            AdmissionError::Rejected(r) => r.code(),
            AdmissionError::Pool(PoolCondition::Full) => RejectCode::MempoolFull,
            AdmissionError::Pool(PoolCondition::DuplicateNullifier) => {
                RejectCode::DuplicateNullifier
            }
            AdmissionError::Pool(PoolCondition::Throttled { .. }) => RejectCode::Throttled,
            AdmissionError::L1(L1View::UnconfirmedDeposit(_)) => RejectCode::UnconfirmedDeposit,
            AdmissionError::L1(L1View::UnlistedAsset(_)) => RejectCode::UnlistedAsset,
            AdmissionError::Unavailable(_) => RejectCode::Unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_distinct_and_round_trip() {
        for (i, c) in RejectCode::ALL.into_iter().enumerate() {
            assert_eq!(c as u8 as usize, i + 1, "{c} moved");
            assert_eq!(RejectCode::from_u8(c as u8), Some(c));
        }
        assert_eq!(RejectCode::from_u8(0), None);
        assert_eq!(RejectCode::from_u8(23), None);
        assert_eq!(RejectCode::from_u8(255), None);
    }

    #[test]
    fn only_chain_verdicts_are_rejections_execution_may_record() {
        let verdicts = [
            Rejection::Malformed("x".into()),
            Rejection::TooLarge(1),
            Rejection::InvalidSignature("x".into()),
            Rejection::InvalidProof("x".into()),
            Rejection::UnknownAnchor,
            Rejection::SpentNullifier,
            Rejection::StaleRegistryRoot,
            Rejection::Compliance {
                policy: "p".into(),
                reason: "r".into(),
            },
            Rejection::UnauthorizedIssuer,
            Rejection::Duplicate,
            Rejection::Admin("x".into()),
            Rejection::DepositConsumed(1),
            Rejection::WrongChain {
                expected: "a".into(),
                found: "b".into(),
            },
            Rejection::Expired {
                expiry: 1,
                height: 2,
                horizon: 3,
            },
            Rejection::UnregisteredRecipient {
                issuance: 0,
                note: 1,
            },
            Rejection::WrongRegulatorKey {
                expected: "a".into(),
                found: "b".into(),
                height: 4,
            },
        ];
        for r in &verdicts {
            assert!(r.code().is_chain_verdict(), "{r}");
        }
        let local = [
            AdmissionError::Pool(PoolCondition::Full),
            AdmissionError::Pool(PoolCondition::DuplicateNullifier),
            AdmissionError::Pool(PoolCondition::Throttled {
                failed: 8,
                retry_after_s: 3,
            }),
            AdmissionError::L1(L1View::UnconfirmedDeposit(3)),
            AdmissionError::L1(L1View::UnlistedAsset([1; 32])),
            AdmissionError::Unavailable("disk".into()),
        ];
        for e in &local {
            assert!(!e.code().is_chain_verdict(), "{e}");
        }
        // Every code is reachable from exactly one of the two types.
        let mut seen: Vec<RejectCode> = verdicts.iter().map(Rejection::code).collect();
        seen.extend(local.iter().map(AdmissionError::code));
        seen.sort();
        assert_eq!(seen, RejectCode::ALL.to_vec());
    }
}
