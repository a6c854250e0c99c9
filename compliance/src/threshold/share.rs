//! Decryption shares with Chaum–Pedersen proofs, their combination, the key holders
//! that release them (only through the audit log), and the audit's threshold
//! decryptor.
//!
//! For a ciphertext's ephemeral key `epk`, holder `i` releases `D_i = [sk_i] epk` and a
//! proof `(c, z)` that `log_G(PK_i) = log_epk(D_i)`: with a nonce `k`,
//! `A = [k] G`, `B = [k] epk`, `c = H(G, digest(group key), i, PK_i, epk, D_i, A, B)`,
//! `z = k + c · sk_i`; a verifier recomputes `A = [z] G − [c] PK_i`,
//! `B = [z] epk − [c] D_i` and the hash. `H` is BLAKE2b-512 personalised
//! `Sable_ThrDecShr_`, reduced to a scalar. The nonce is derived from the secret share
//! and everything the proof states (as in RFC 6979), so releasing needs no randomness
//! and one share never gets two proofs with one nonce.
//!
//! `t` valid shares combine into `S = [sk_reg] epk = Σ_i [λ_i] D_i`, with `λ_i` the
//! Lagrange coefficients at 0 of the shares' indices.

use std::{
    fmt,
    sync::{Mutex, PoisonError},
    time::{SystemTime, UNIX_EPOCH},
};

use ff::{Field, FromUniformBytes, PrimeField};
use group::{Curve, CurveAffine as _, Group, GroupEncoding};
use pasta_curves::pallas;

use super::{
    generator,
    log::{AuditLog, MAX_EPKS, MAX_TEXT_LEN},
    DkgParams, GroupKey, HolderIndex, KeyShare, ThresholdError,
};

const CHALLENGE_PERSONAL: &[u8; 16] = b"Sable_ThrDecShr_";
const NONCE_PERSONAL: &[u8; 16] = b"Sable_ThrDecNonc";

/// A Chaum–Pedersen proof of equal discrete logarithms, `(c, z)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DleqProof {
    /// The Fiat–Shamir challenge `c`.
    pub challenge: pallas::Scalar,
    /// The response `z = k + c · sk_i`.
    pub response: pallas::Scalar,
}

/// Holder `index`'s share `d = [sk_i] epk` of one ciphertext's shared secret, with its
/// proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecryptionShare {
    /// The holder who released it.
    pub index: HolderIndex,
    /// `D_i = [sk_i] epk`.
    pub d: pallas::Affine,
    /// That `log_G(PK_i) = log_epk(D_i)`.
    pub proof: DleqProof,
}

#[allow(clippy::too_many_arguments)]
fn challenge(
    group_digest: &[u8; 32],
    index: HolderIndex,
    pk_i: &pallas::Affine,
    epk: &pallas::Affine,
    d: &pallas::Affine,
    a: &pallas::Affine,
    b: &pallas::Affine,
) -> pallas::Scalar {
    let mut h = blake2b_simd::Params::new()
        .hash_length(64)
        .personal(CHALLENGE_PERSONAL)
        .to_state();
    h.update(&generator().to_bytes());
    h.update(group_digest);
    h.update(&index.0.to_le_bytes());
    for p in [pk_i, epk, d, a, b] {
        h.update(&p.to_bytes());
    }
    let mut wide = [0u8; 64];
    wide.copy_from_slice(h.finalize().as_bytes());
    pallas::Scalar::from_uniform_bytes(&wide)
}

/// The nonce of `share`'s proof for `epk`: a hash of the secret and the statement,
/// retried (with a counter) in the negligible case that it is zero.
fn nonce(share: &KeyShare, group_digest: &[u8; 32], epk: &pallas::Affine) -> pallas::Scalar {
    let mut counter = 0u32;
    loop {
        let mut h = blake2b_simd::Params::new()
            .hash_length(64)
            .personal(NONCE_PERSONAL)
            .to_state();
        h.update(&share.secret().to_repr());
        h.update(group_digest);
        h.update(&share.index().0.to_le_bytes());
        h.update(&epk.to_bytes());
        h.update(&counter.to_le_bytes());
        let mut wide = [0u8; 64];
        wide.copy_from_slice(h.finalize().as_bytes());
        let k = pallas::Scalar::from_uniform_bytes(&wide);
        if !bool::from(k.is_zero()) {
            return k;
        }
        counter = counter.wrapping_add(1);
    }
}

/// `share`'s decryption share of `epk` (non-identity), with its proof.
fn prove(share: &KeyShare, group_digest: &[u8; 32], epk: &pallas::Affine) -> DecryptionShare {
    let sk = share.secret();
    let g = pallas::Point::from(generator());
    let e = pallas::Point::from(*epk);
    let k = nonce(share, group_digest, epk);
    let points = [g * sk, e * sk, g * k, e * k];
    let mut affine = [pallas::Affine::identity(); 4];
    pallas::Point::batch_normalize(&points, &mut affine);
    let [pk_i, d, a, b] = affine;
    let c = challenge(group_digest, share.index(), &pk_i, epk, &d, &a, &b);
    DecryptionShare {
        index: share.index(),
        d,
        proof: DleqProof {
            challenge: c,
            response: k + c * sk,
        },
    }
}

/// Checks `share`'s proof for `epk` against its holder's verification key in `group`.
/// Fails with [`ThresholdError::InvalidShare`] naming the holder, or
/// [`ThresholdError::UnknownHolder`] / [`ThresholdError::IdentityEpk`].
pub fn verify_share(
    group: &GroupKey,
    epk: &pallas::Affine,
    share: &DecryptionShare,
) -> Result<(), ThresholdError> {
    if bool::from(epk.is_identity()) {
        return Err(ThresholdError::IdentityEpk);
    }
    let pk_i = group.verification_key(share.index)?;
    let invalid = ThresholdError::InvalidShare {
        holder: share.index,
    };
    if bool::from(share.d.is_identity()) {
        return Err(invalid);
    }
    let DleqProof {
        challenge: c,
        response: z,
    } = share.proof;
    let points = [
        pallas::Point::from(generator()) * z - pallas::Point::from(pk_i) * c,
        pallas::Point::from(*epk) * z - pallas::Point::from(share.d) * c,
    ];
    let mut affine = [pallas::Affine::identity(); 2];
    pallas::Point::batch_normalize(&points, &mut affine);
    let [a, b] = affine;
    if challenge(&group.digest(), share.index, &pk_i, epk, &share.d, &a, &b) != c {
        return Err(invalid);
    }
    Ok(())
}

/// The Lagrange coefficients at 0 of the distinct holder `indices`: `λ_i = Π_{j ≠ i}
/// x_j / (x_j − x_i)`.
pub fn lagrange_at_zero(
    params: &DkgParams,
    indices: &[HolderIndex],
) -> Result<Vec<pallas::Scalar>, ThresholdError> {
    for (k, i) in indices.iter().enumerate() {
        params.check(*i)?;
        if indices[..k].contains(i) {
            return Err(ThresholdError::DuplicateShare { holder: *i });
        }
    }
    indices
        .iter()
        .map(|i| {
            let xi = i.scalar();
            let (num, den) = indices.iter().filter(|j| *j != i).fold(
                (pallas::Scalar::ONE, pallas::Scalar::ONE),
                |(num, den), j| {
                    let xj = j.scalar();
                    (num * xj, den * (xj - xi))
                },
            );
            Option::<pallas::Scalar>::from(den.invert())
                .map(|inv| num * inv)
                .ok_or(ThresholdError::DuplicateShare { holder: *i })
        })
        .collect()
}

/// The shared secret `[sk_reg] epk` from the decryption `shares` of `epk`.
///
/// Every share is checked first: a holder outside `1..=n` or a second share from one
/// holder is refused, and every share whose proof fails is named
/// ([`ThresholdError::InvalidShare`] for one, [`ThresholdError::InvalidShares`] for
/// several). Then at least `t` shares are needed
/// ([`ThresholdError::TooFewShares`]); the first `t` are interpolated.
pub fn combine(
    group: &GroupKey,
    epk: &pallas::Affine,
    shares: &[DecryptionShare],
) -> Result<pallas::Affine, ThresholdError> {
    if bool::from(epk.is_identity()) {
        return Err(ThresholdError::IdentityEpk);
    }
    for (k, share) in shares.iter().enumerate() {
        group.params().check(share.index)?;
        if shares[..k].iter().any(|s| s.index == share.index) {
            return Err(ThresholdError::DuplicateShare {
                holder: share.index,
            });
        }
    }
    let mut invalid: Vec<HolderIndex> = shares
        .iter()
        .filter(|s| verify_share(group, epk, s).is_err())
        .map(|s| s.index)
        .collect();
    match invalid.len() {
        0 => {}
        1 => {
            return Err(ThresholdError::InvalidShare {
                holder: invalid.remove(0),
            })
        }
        _ => return Err(ThresholdError::InvalidShares { holders: invalid }),
    }
    let need = group.t() as usize;
    if shares.len() < need {
        return Err(ThresholdError::TooFewShares {
            have: shares.len(),
            need,
        });
    }
    let used = &shares[..need];
    let indices: Vec<HolderIndex> = used.iter().map(|s| s.index).collect();
    let lambdas = lagrange_at_zero(&group.params(), &indices)?;
    let s = used
        .iter()
        .zip(&lambdas)
        .fold(pallas::Point::identity(), |acc, (share, l)| {
            acc + pallas::Point::from(share.d) * l
        });
    Ok(s.to_affine())
}

/// A request to a key holder to open ciphertexts: who asks, why, which ephemeral keys,
/// and when. Each is recorded in the audit log before any share is released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptionRequest {
    /// Who asks (a regulator's officer, an audit job).
    pub requester: String,
    /// The stated purpose.
    pub purpose: String,
    /// The ephemeral keys of the ciphertexts to open (at most [`MAX_EPKS`]).
    pub epks: Vec<pallas::Affine>,
    /// When, in seconds since the Unix epoch.
    pub at_unix: u64,
}

impl DecryptionRequest {
    /// A request by `requester` for `purpose` to open the ciphertexts with ephemeral
    /// keys `epks`, made at `at_unix`.
    pub fn new(
        requester: impl Into<String>,
        purpose: impl Into<String>,
        epks: Vec<pallas::Affine>,
        at_unix: u64,
    ) -> Self {
        DecryptionRequest {
            requester: requester.into(),
            purpose: purpose.into(),
            epks,
            at_unix,
        }
    }

    fn check(&self) -> Result<(), ThresholdError> {
        let bad = |why| Err(ThresholdError::InvalidRequest { why });
        if self.requester.is_empty() || self.requester.len() > MAX_TEXT_LEN {
            return bad("the requester must be named, in at most MAX_TEXT_LEN bytes");
        }
        if self.purpose.is_empty() || self.purpose.len() > MAX_TEXT_LEN {
            return bad("the purpose must be stated, in at most MAX_TEXT_LEN bytes");
        }
        if self.epks.is_empty() || self.epks.len() > MAX_EPKS {
            return bad("a request opens between 1 and MAX_EPKS ciphertexts");
        }
        if self.epks.iter().any(|e| bool::from(e.is_identity())) {
            return Err(ThresholdError::IdentityEpk);
        }
        Ok(())
    }
}

/// A key holder: its key share, released only as decryption shares, each request
/// recorded in the audit log first.
pub struct KeyHolder {
    share: KeyShare,
    group: GroupKey,
    group_digest: [u8; 32],
}

impl fmt::Debug for KeyHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHolder({}, ..)", self.share.index())
    }
}

impl KeyHolder {
    /// The holder of `share` of `group`. Fails unless the share matches its
    /// verification key in `group`.
    pub fn new(share: KeyShare, group: &GroupKey) -> Result<Self, ThresholdError> {
        if share.verification_key() != group.verification_key(share.index())? {
            return Err(ThresholdError::KeyShareMismatch {
                holder: share.index(),
            });
        }
        Ok(KeyHolder {
            share,
            group: group.clone(),
            group_digest: group.digest(),
        })
    }

    /// This holder's index.
    pub fn index(&self) -> HolderIndex {
        self.share.index()
    }

    /// The group key this holder's share belongs to.
    pub fn group_key(&self) -> &GroupKey {
        &self.group
    }

    /// Answers `request`: records it in `log` (one entry naming this holder, the
    /// requester, the purpose, the ephemeral keys and the time), then releases one
    /// decryption share per ephemeral key, in order. A request outside the log's
    /// bounds, or for an identity key, is refused before anything is recorded or
    /// released.
    pub fn respond(
        &self,
        log: &mut AuditLog,
        request: &DecryptionRequest,
    ) -> Result<Vec<DecryptionShare>, ThresholdError> {
        request.check()?;
        let epks: Vec<[u8; 32]> = request.epks.iter().map(|e| e.to_bytes()).collect();
        log.append(
            self.index(),
            &request.requester,
            &request.purpose,
            &epks,
            request.at_unix,
        )?;
        Ok(request
            .epks
            .iter()
            .map(|epk| prove(&self.share, &self.group_digest, epk))
            .collect())
    }
}

/// Opens regulator ciphertexts for an audit with a threshold key: for each ciphertext
/// it asks the first `t` of its in-process [`KeyHolder`]s (each request logged in its
/// [`AuditLog`], one entry per holder asked) and combines their shares.
pub struct ThresholdDecryptor {
    group: GroupKey,
    holders: Vec<KeyHolder>,
    requester: String,
    purpose: String,
    log: Mutex<AuditLog>,
}

impl fmt::Debug for ThresholdDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThresholdDecryptor")
            .field("t", &self.group.t())
            .field("n", &self.group.n())
            .field("holders", &self.holders)
            .field("requester", &self.requester)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl ThresholdDecryptor {
    /// A decryptor for `group` over `holders` (at least `t`, distinct, each of
    /// `group`), logging its requests as made by `requester` for `purpose` in a new
    /// log.
    pub fn new(
        group: GroupKey,
        holders: Vec<KeyHolder>,
        requester: impl Into<String>,
        purpose: impl Into<String>,
    ) -> Result<Self, ThresholdError> {
        let digest = group.digest();
        for (k, h) in holders.iter().enumerate() {
            if h.group_digest != digest {
                return Err(ThresholdError::KeyShareMismatch { holder: h.index() });
            }
            if holders[..k].iter().any(|o| o.index() == h.index()) {
                return Err(ThresholdError::DuplicateShare { holder: h.index() });
            }
        }
        if holders.len() < group.t() as usize {
            return Err(ThresholdError::TooFewShares {
                have: holders.len(),
                need: group.t() as usize,
            });
        }
        let decryptor = ThresholdDecryptor {
            group,
            holders,
            requester: requester.into(),
            purpose: purpose.into(),
            log: Mutex::new(AuditLog::new()),
        };
        // Refuse a requester or purpose the log would refuse, now rather than per
        // ciphertext.
        decryptor.request(generator()).check()?;
        Ok(decryptor)
    }

    /// Continues `log` (the holders' existing log) instead of a new one.
    pub fn with_log(self, log: AuditLog) -> Self {
        ThresholdDecryptor {
            log: Mutex::new(log),
            ..self
        }
    }

    fn request(&self, epk: pallas::Affine) -> DecryptionRequest {
        let at_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        DecryptionRequest::new(
            self.requester.clone(),
            self.purpose.clone(),
            vec![epk],
            at_unix,
        )
    }

    /// The shared secret `[sk_reg] epk`, from the first `t` holders' logged shares.
    pub fn decrypt(&self, epk: &pallas::Affine) -> Result<pallas::Affine, ThresholdError> {
        let request = self.request(*epk);
        // A panic elsewhere while holding the lock cannot leave the log half-written
        // (an entry is built in full before it is pushed), so a poisoned lock is used.
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let mut shares = Vec::with_capacity(self.group.t() as usize);
        for holder in self.holders.iter().take(self.group.t() as usize) {
            shares.extend(holder.respond(&mut log, &request)?);
        }
        drop(log);
        combine(&self.group, epk, &shares)
    }

    /// The group key.
    pub fn group_key(&self) -> &GroupKey {
        &self.group
    }

    /// A copy of the audit log as it stands.
    pub fn log(&self) -> AuditLog {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
