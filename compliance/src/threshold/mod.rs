//! The threshold regulator key and its audit log (`docs/compliance.md` §2).
//!
//! No one holds the regulator's secret key `sk_reg`. Instead `n` key holders run a
//! distributed key generation ([`dkg`]): Pedersen's protocol, in which each holder deals
//! a random polynomial of degree `t − 1` with Feldman commitments, a holder whose share
//! fails its commitment check files a [`Complaint`] naming the dealer, and the dealers
//! that answer no complaint convincingly are disqualified. The qualified dealers'
//! constant terms sum to `sk_reg`; each holder `i` ends with the share
//! `sk_i = f(i)` of it, and everyone learns the public [`GroupKey`]: the regulator
//! public key `PK = [sk_reg] G_ka` (the one the circuits encrypt to, see
//! [`GroupKey::regulator_public_key`]) and each holder's verification key
//! `PK_i = [sk_i] G_ka`.
//!
//! Opening a regulator ciphertext with ephemeral key `epk` needs its shared secret
//! `S = [sk_reg] epk`. Each of `t` holders releases a [`DecryptionShare`]
//! `D_i = [sk_i] epk` with a Chaum–Pedersen proof that `log_G(PK_i) = log_epk(D_i)`
//! ([`share`]); [`combine`] checks every proof, names each holder whose share fails,
//! and interpolates `S = Σ λ_i D_i` at 0. `t − 1` shares reveal nothing of `S`.
//!
//! A [`KeyHolder`] releases shares only in answer to a [`DecryptionRequest`], and only
//! after recording it in the [`AuditLog`] ([`log`]): an append-only hash chain of who
//! asked, for which ciphertexts, why and when. Its head is committed on chain, so a
//! rewritten, removed, reordered or inserted entry is detected ([`AuditLog::verify`]).
//!
//! [`ThresholdDecryptor`] plugs all this into the audit: it is a regulator decryptor
//! (the audit implements its trait for it), so every scan runs on a threshold key.

pub mod dkg;
pub mod log;
pub mod share;

use std::{fmt, sync::OnceLock};

use ff::PrimeField;
use group::{Curve, CurveAffine as _, Group, GroupEncoding};
use pasta_curves::pallas;
use sable_circuits::keys::{key_agreement_generator, RegulatorPublicKey, RegulatorSecretKey};
use zeroize::{DefaultIsZeroes, Zeroize};

pub use dkg::{simulate_ceremony, Complaint, Dealing, Participant, QualifiedSet, SecretShare};
pub use log::{AuditLog, LogDecodeError, LogEntry, EMPTY_HEAD, MAX_EPKS, MAX_TEXT_LEN};
pub use share::{
    combine, lagrange_at_zero, DecryptionRequest, DecryptionShare, DleqProof, KeyHolder,
    ThresholdDecryptor,
};

/// Why a step of the threshold key's life (ceremony, decryption, audit log) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    /// The threshold and the number of holders must satisfy `1 ≤ t ≤ n ≤ MAX_HOLDERS`.
    #[error("invalid threshold parameters t = {t}, n = {n}: need 1 ≤ t ≤ n ≤ {max}", max = MAX_HOLDERS)]
    InvalidParams {
        /// The threshold asked for.
        t: u32,
        /// The number of holders asked for.
        n: u32,
    },
    /// A holder index outside `1..=n`.
    #[error("{holder} is not one of the {n} holders")]
    UnknownHolder {
        /// The index given.
        holder: HolderIndex,
        /// The number of holders.
        n: u32,
    },
    /// A dealing that cannot be checked: wrong number of commitments, a zero constant
    /// term, or two different dealings from one dealer.
    #[error("the dealing of {dealer} is malformed: {why}")]
    MalformedDealing {
        /// The dealer.
        dealer: HolderIndex,
        /// What is wrong.
        why: &'static str,
    },
    /// A dealer's share for a recipient does not match the dealer's commitments.
    #[error("the share dealt by {dealer} to {recipient} does not match the dealer's commitments")]
    InvalidDealerShare {
        /// The dealer (the one to complain about).
        dealer: HolderIndex,
        /// The recipient.
        recipient: HolderIndex,
    },
    /// A qualified dealer's share for a holder is neither held by the holder nor
    /// revealed in answer to a complaint.
    #[error("{recipient} has no valid share from qualified dealer {dealer}")]
    MissingShare {
        /// The dealer.
        dealer: HolderIndex,
        /// The holder lacking the share.
        recipient: HolderIndex,
    },
    /// Fewer qualified dealers than the threshold remain after the complaints.
    #[error("only {have} dealers qualified, the ceremony needs at least {need}")]
    TooFewQualified {
        /// Qualified dealers.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// The group public key is the identity (negligible unless dealers collude).
    #[error("the qualified dealers' commitments sum to the identity")]
    WeakKey,
    /// A key share that does not match its holder's verification key.
    #[error("the key share of {holder} does not match its verification key")]
    KeyShareMismatch {
        /// The holder.
        holder: HolderIndex,
    },
    /// The whole key was asked of a share of a key with threshold above 1.
    #[error("a share of a {t}-of-n key is not the whole key")]
    NotWholeKey {
        /// The key's threshold.
        t: u32,
    },
    /// A ciphertext whose ephemeral key is the identity: no share is released for it.
    #[error("the ephemeral key is the identity")]
    IdentityEpk,
    /// A decryption share whose proof does not verify.
    #[error("the decryption share of {holder} is invalid")]
    InvalidShare {
        /// The holder who released it.
        holder: HolderIndex,
    },
    /// Several shares offered to [`combine`] were invalid; each is named.
    #[error("invalid decryption shares from holders {holders:?}")]
    InvalidShares {
        /// Every holder whose share failed, in the order given.
        holders: Vec<HolderIndex>,
    },
    /// Two shares from one holder.
    #[error("two decryption shares from {holder}")]
    DuplicateShare {
        /// The holder.
        holder: HolderIndex,
    },
    /// Fewer valid shares than the threshold.
    #[error("{have} decryption shares, the key needs {need}")]
    TooFewShares {
        /// Shares given.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// A decryption request or log entry outside the log's bounds.
    #[error("invalid decryption request: {why}")]
    InvalidRequest {
        /// What is wrong.
        why: &'static str,
    },
    /// The audit log does not chain to the committed head.
    #[error("audit log broken at entry {seq}: {why}")]
    LogBroken {
        /// The entry where the chain breaks.
        seq: u64,
        /// How.
        why: &'static str,
    },
    /// The audit log's bytes do not parse.
    #[error("audit log encoding: {0}")]
    LogDecode(#[from] LogDecodeError),
}

/// The most key holders a ceremony may have (each holder's verification key costs `t`
/// scalar multiplications, so the group key costs `n · t`).
pub const MAX_HOLDERS: u32 = 64;

const GROUP_KEY_PERSONAL: &[u8; 16] = b"Sable_ThrGrpKey_";

/// The generator `G_ka` of the regulator key, computed once.
pub(crate) fn generator() -> pallas::Affine {
    static G: OnceLock<pallas::Affine> = OnceLock::new();
    *G.get_or_init(key_agreement_generator)
}

/// A key holder's index, `1..=n` (0 is where the secret sits, never a holder).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HolderIndex(pub u32);

impl HolderIndex {
    /// The index as the scalar at which the holder's share evaluates the polynomial.
    pub(crate) fn scalar(self) -> pallas::Scalar {
        pallas::Scalar::from(u64::from(self.0))
    }
}

impl fmt::Display for HolderIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "holder {}", self.0)
    }
}

/// A ceremony's threshold `t` (shares needed to decrypt) and number of holders `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DkgParams {
    t: u32,
    n: u32,
}

impl DkgParams {
    /// `t`-of-`n`, with `1 ≤ t ≤ n ≤ MAX_HOLDERS`.
    pub fn new(t: u32, n: u32) -> Result<Self, ThresholdError> {
        if t == 0 || t > n || n > MAX_HOLDERS {
            return Err(ThresholdError::InvalidParams { t, n });
        }
        Ok(DkgParams { t, n })
    }

    /// The threshold.
    pub fn t(&self) -> u32 {
        self.t
    }

    /// The number of holders.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// The holders' indices, `1..=n`.
    pub fn holders(&self) -> impl Iterator<Item = HolderIndex> {
        (1..=self.n).map(HolderIndex)
    }

    /// Fails unless `holder` is one of `1..=n`.
    pub fn check(&self, holder: HolderIndex) -> Result<(), ThresholdError> {
        if holder.0 == 0 || holder.0 > self.n {
            return Err(ThresholdError::UnknownHolder { holder, n: self.n });
        }
        Ok(())
    }
}

/// A secret scalar, wiped (volatile write of zero) by [`Zeroize`].
#[derive(Clone, Copy, Default)]
pub(crate) struct SecretScalar(pub(crate) pallas::Scalar);

impl DefaultIsZeroes for SecretScalar {}

/// `Σ_k [x^k] C_k`, by Horner's rule.
fn eval_commitments(commitments: &[pallas::Affine], x: pallas::Scalar) -> pallas::Point {
    commitments
        .iter()
        .rev()
        .fold(pallas::Point::identity(), |acc, c| acc * x + c)
}

/// The public result of a ceremony: the regulator public key `PK = A_0`, the
/// commitments `A_k = Σ_{d ∈ Q} C_{d,k}` to the (never computed) polynomial whose
/// constant term is `sk_reg`, and each holder's verification key
/// `PK_i = Σ_k [i^k] A_k = [sk_i] G`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupKey {
    params: DkgParams,
    commitments: Vec<pallas::Affine>,
    verification_keys: Vec<pallas::Affine>,
}

impl GroupKey {
    /// The group key of the polynomial commitments `A_0 .. A_{t−1}` (as published after
    /// a ceremony) for `params.n()` holders. Fails unless there are exactly `t` of them
    /// and `A_0` is not the identity.
    pub fn from_commitments(
        params: DkgParams,
        commitments: Vec<pallas::Affine>,
    ) -> Result<Self, ThresholdError> {
        if commitments.len() != params.t as usize {
            return Err(ThresholdError::InvalidParams {
                t: u32::try_from(commitments.len()).unwrap_or(u32::MAX),
                n: params.n,
            });
        }
        match commitments.first() {
            Some(a0) if !bool::from(a0.is_identity()) => {}
            _ => return Err(ThresholdError::WeakKey),
        }
        let points: Vec<pallas::Point> = params
            .holders()
            .map(|i| eval_commitments(&commitments, i.scalar()))
            .collect();
        let mut verification_keys = vec![pallas::Affine::identity(); points.len()];
        pallas::Point::batch_normalize(&points, &mut verification_keys);
        Ok(GroupKey {
            params,
            commitments,
            verification_keys,
        })
    }

    /// The regulator public key `PK = [sk_reg] G_ka`, as a point.
    pub fn public(&self) -> pallas::Affine {
        self.commitments[0]
    }

    /// The regulator public key in the circuits' type: what genesis (or a rotation)
    /// installs and what every action encrypts to.
    pub fn regulator_public_key(&self) -> Result<RegulatorPublicKey, ThresholdError> {
        RegulatorPublicKey::from_bytes(&self.public().to_bytes())
            .map_err(|_| ThresholdError::WeakKey)
    }

    /// The ceremony's parameters.
    pub fn params(&self) -> DkgParams {
        self.params
    }

    /// The threshold.
    pub fn t(&self) -> u32 {
        self.params.t
    }

    /// The number of holders.
    pub fn n(&self) -> u32 {
        self.params.n
    }

    /// `A_0 .. A_{t−1}`.
    pub fn commitments(&self) -> &[pallas::Affine] {
        &self.commitments
    }

    /// `PK_i = [sk_i] G` of holder `i`.
    pub fn verification_key(&self, holder: HolderIndex) -> Result<pallas::Affine, ThresholdError> {
        self.params.check(holder)?;
        Ok(self.verification_keys[holder.0 as usize - 1])
    }

    /// Every holder's verification key, holder 1 first.
    pub fn verification_keys(&self) -> &[pallas::Affine] {
        &self.verification_keys
    }

    /// A 32-byte digest binding `t`, `n` and the commitments (hence every verification
    /// key), bound into each decryption share's proof.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = blake2b_simd::Params::new()
            .hash_length(32)
            .personal(GROUP_KEY_PERSONAL)
            .to_state();
        h.update(&self.params.t.to_le_bytes());
        h.update(&self.params.n.to_le_bytes());
        for c in &self.commitments {
            h.update(&c.to_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(h.finalize().as_bytes());
        out
    }
}

/// Holder `i`'s share `sk_i` of the regulator key. Wiped when dropped.
#[derive(Clone)]
pub struct KeyShare {
    index: HolderIndex,
    secret: SecretScalar,
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyShare({}, ..)", self.index)
    }
}

impl Drop for KeyShare {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl KeyShare {
    /// The holder.
    pub fn index(&self) -> HolderIndex {
        self.index
    }

    /// `[sk_i] G`, which must equal the holder's verification key in the group key.
    pub fn verification_key(&self) -> pallas::Affine {
        (pallas::Point::from(generator()) * self.secret.0).to_affine()
    }

    /// The secret scalar, for this module's proofs only.
    pub(crate) fn secret(&self) -> pallas::Scalar {
        self.secret.0
    }

    /// The whole regulator key, when `group` has threshold 1 (then every share is the
    /// polynomial's constant term, the key itself; with `t = n = 1` this is the single
    /// key of today's audits). Fails for a higher threshold or a share of another key.
    pub fn whole_key(&self, group: &GroupKey) -> Result<RegulatorSecretKey, ThresholdError> {
        if group.t() != 1 {
            return Err(ThresholdError::NotWholeKey { t: group.t() });
        }
        if self.verification_key() != group.verification_key(self.index)? {
            return Err(ThresholdError::KeyShareMismatch { holder: self.index });
        }
        RegulatorSecretKey::from_bytes(&self.secret.0.to_repr())
            .map_err(|_| ThresholdError::KeyShareMismatch { holder: self.index })
    }
}
