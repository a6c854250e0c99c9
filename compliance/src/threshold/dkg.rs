//! Pedersen's distributed key generation over Pallas (Feldman VSS with complaints).
//!
//! Each of the `n` holders is a [`Participant`] and deals, as a dealer:
//!
//! 1. it draws a secret polynomial `f_d(x) = a_0 + a_1 x + … + a_{t−1} x^{t−1}` and
//!    broadcasts its [`Dealing`]: the Feldman commitments `C_k = [a_k] G` (`G` is the
//!    circuits' key-agreement generator `G_ka`, the base of the regulator key);
//! 2. it sends each holder `j` the [`SecretShare`] `s_dj = f_d(j)` over a private
//!    channel ([`Participant::share_for`]).
//!
//! Each holder checks every share it receives against its dealer's commitments,
//! `[s_dj] G = Σ_k [j^k] C_k` ([`verify_share`]), and broadcasts a [`Complaint`]
//! naming the dealer of each share that fails. A dealer answers a complaint by
//! revealing the share in public ([`Participant::answer`]); a dealer that leaves a
//! complaint unanswered, answers it with a share that fails, equivocates or deals a
//! malformed dealing is disqualified. From the broadcast messages everyone computes the
//! same [`QualifiedSet`] and its [`GroupKey`]: `PK = Σ_{d ∈ Q} C_{d,0}`. Each holder
//! `i` sums the shares of the qualified dealers into its [`KeyShare`]
//! `sk_i = Σ_{d ∈ Q} f_d(i)`, a point on the polynomial `F = Σ_{d ∈ Q} f_d` whose
//! constant term is `sk_reg`, a value no one ever computes.
//!
//! As in Pedersen's protocol (Gennaro, Jarecki, Krawczyk and Rabin, 1999), a dealer who
//! sees the others' dealings before choosing its own can bias the distribution of the
//! key, never learn it: fewer than `t` holders learn nothing of `sk_reg`, and the key
//! is only used for key agreement, where the bias does not matter.
//!
//! Secret polynomials and shares are wiped when dropped.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use ff::Field;
use group::{Curve, CurveAffine as _, Group};
use pasta_curves::pallas;
use rand_core::CryptoRng;
use zeroize::Zeroize;

use super::{
    eval_commitments, generator, DkgParams, GroupKey, HolderIndex, KeyShare, SecretScalar,
    ThresholdError,
};

/// A dealer's public half of its deal: the Feldman commitments `C_k = [a_k] G`,
/// `k < t`, to the coefficients of its secret polynomial. Broadcast to every holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dealing {
    /// Who dealt.
    pub dealer: HolderIndex,
    /// `C_0 .. C_{t−1}`.
    pub commitments: Vec<pallas::Affine>,
}

impl Dealing {
    /// Fails unless the dealer is a holder, there are exactly `t` commitments and the
    /// constant term's is not the identity.
    pub fn check(&self, params: &DkgParams) -> Result<(), ThresholdError> {
        params.check(self.dealer)?;
        let malformed = |why| ThresholdError::MalformedDealing {
            dealer: self.dealer,
            why,
        };
        if self.commitments.len() != params.t as usize {
            return Err(malformed("it does not commit to exactly t coefficients"));
        }
        match self.commitments.first() {
            Some(c0) if !bool::from(c0.is_identity()) => Ok(()),
            _ => Err(malformed("its constant term is zero")),
        }
    }
}

/// A dealer's share `f_d(j)` for one recipient `j`, sent over a private channel (or
/// revealed in public in answer to a complaint).
#[derive(Clone)]
pub struct SecretShare {
    dealer: HolderIndex,
    recipient: HolderIndex,
    value: SecretScalar,
}

impl SecretShare {
    /// The share `value` that `dealer` deals to `recipient` (as received off the wire).
    pub fn new(dealer: HolderIndex, recipient: HolderIndex, value: pallas::Scalar) -> Self {
        SecretShare {
            dealer,
            recipient,
            value: SecretScalar(value),
        }
    }

    /// Who dealt it.
    pub fn dealer(&self) -> HolderIndex {
        self.dealer
    }

    /// For whom.
    pub fn recipient(&self) -> HolderIndex {
        self.recipient
    }

    /// `f_d(j)`.
    pub fn value(&self) -> pallas::Scalar {
        self.value.0
    }
}

impl fmt::Debug for SecretShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretShare({} → {}, ..)", self.dealer, self.recipient)
    }
}

impl Drop for SecretShare {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

/// Checks `share` against `dealing`: `[s] G = Σ_k [j^k] C_k` for recipient `j`. The
/// error names the dealer (the one to complain about) and the recipient.
pub fn verify_share(
    params: &DkgParams,
    dealing: &Dealing,
    share: &SecretShare,
) -> Result<(), ThresholdError> {
    dealing.check(params)?;
    params.check(share.recipient)?;
    let invalid = ThresholdError::InvalidDealerShare {
        dealer: dealing.dealer,
        recipient: share.recipient,
    };
    if share.dealer != dealing.dealer {
        return Err(invalid);
    }
    let expected = eval_commitments(&dealing.commitments, share.recipient.scalar());
    if pallas::Point::from(generator()) * share.value.0 != expected {
        return Err(invalid);
    }
    Ok(())
}

/// A holder's public complaint that `dealer` sent it a share that fails
/// [`verify_share`] (or none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Complaint {
    /// The dealer complained about.
    pub dealer: HolderIndex,
    /// The holder complaining.
    pub by: HolderIndex,
}

/// One holder's state in the ceremony: its own secret polynomial (as a dealer) and the
/// shares it received (as a recipient).
pub struct Participant {
    params: DkgParams,
    index: HolderIndex,
    coefficients: Vec<SecretScalar>,
    received: BTreeMap<HolderIndex, SecretShare>,
}

impl fmt::Debug for Participant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Participant({}, {:?}, ..)", self.index, self.params)
    }
}

impl Drop for Participant {
    fn drop(&mut self) {
        self.coefficients.zeroize();
    }
}

impl Participant {
    /// Holder `index` of a ceremony, with a fresh secret polynomial (non-zero constant
    /// term) drawn from `rng`.
    pub fn new(
        params: DkgParams,
        index: HolderIndex,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, ThresholdError> {
        params.check(index)?;
        let mut coefficients = Vec::with_capacity(params.t as usize);
        let a0 = loop {
            let a = pallas::Scalar::random(&mut *rng);
            if !bool::from(a.is_zero()) {
                break a;
            }
        };
        coefficients.push(SecretScalar(a0));
        for _ in 1..params.t {
            coefficients.push(SecretScalar(pallas::Scalar::random(&mut *rng)));
        }
        Ok(Participant {
            params,
            index,
            coefficients,
            received: BTreeMap::new(),
        })
    }

    /// This holder's index.
    pub fn index(&self) -> HolderIndex {
        self.index
    }

    /// The ceremony's parameters.
    pub fn params(&self) -> DkgParams {
        self.params
    }

    /// This holder's dealing, to broadcast.
    pub fn dealing(&self) -> Dealing {
        let g = pallas::Point::from(generator());
        let points: Vec<pallas::Point> = self.coefficients.iter().map(|a| g * a.0).collect();
        let mut commitments = vec![pallas::Affine::identity(); points.len()];
        pallas::Point::batch_normalize(&points, &mut commitments);
        Dealing {
            dealer: self.index,
            commitments,
        }
    }

    /// The share `f(recipient)` of this holder's polynomial, for `recipient` only.
    pub fn share_for(&self, recipient: HolderIndex) -> Result<SecretShare, ThresholdError> {
        self.params.check(recipient)?;
        let x = recipient.scalar();
        let value = self
            .coefficients
            .iter()
            .rev()
            .fold(pallas::Scalar::ZERO, |acc, a| acc * x + a.0);
        Ok(SecretShare::new(self.index, recipient, value))
    }

    /// Receives `share` from the dealer of `dealing`. A share that fails
    /// [`verify_share`] (or is addressed to another holder) is not kept, and the
    /// complaint to broadcast against its dealer is returned.
    pub fn receive(&mut self, dealing: &Dealing, share: SecretShare) -> Result<(), Complaint> {
        let complaint = Complaint {
            dealer: dealing.dealer,
            by: self.index,
        };
        if share.recipient != self.index || verify_share(&self.params, dealing, &share).is_err() {
            return Err(complaint);
        }
        self.received.insert(dealing.dealer, share);
        Ok(())
    }

    /// This holder's answer, as a dealer, to a complaint against it: the share it dealt
    /// to the complainant, revealed in public. `None` for a complaint against another
    /// dealer or by no holder.
    pub fn answer(&self, complaint: &Complaint) -> Option<SecretShare> {
        if complaint.dealer != self.index {
            return None;
        }
        self.share_for(complaint.by).ok()
    }

    /// This holder's key share: the sum of the qualified dealers' shares for it (those
    /// it received, or those revealed in answer to its complaints), checked against its
    /// verification key in the group key.
    pub fn finish(&self, qualified: &QualifiedSet) -> Result<KeyShare, ThresholdError> {
        if qualified.params != self.params {
            return Err(ThresholdError::InvalidParams {
                t: qualified.params.t,
                n: qualified.params.n,
            });
        }
        let mut secret = SecretScalar::default();
        for (dealer, dealing) in &qualified.qualified {
            let share = qualified
                .revealed
                .get(&(*dealer, self.index))
                .or_else(|| self.received.get(dealer))
                .ok_or(ThresholdError::MissingShare {
                    dealer: *dealer,
                    recipient: self.index,
                })?;
            verify_share(&self.params, dealing, share)?;
            secret.0 += share.value.0;
        }
        let share = KeyShare {
            index: self.index,
            secret,
        };
        if share.verification_key() != qualified.group.verification_key(self.index)? {
            return Err(ThresholdError::KeyShareMismatch { holder: self.index });
        }
        Ok(share)
    }
}

/// The outcome of a ceremony's complaint phase, computed alike by every holder from the
/// broadcast messages: the qualified dealers, the shares revealed in answer to
/// complaints, and the group key.
#[derive(Clone, Debug)]
pub struct QualifiedSet {
    params: DkgParams,
    qualified: BTreeMap<HolderIndex, Dealing>,
    disqualified: BTreeSet<HolderIndex>,
    revealed: BTreeMap<(HolderIndex, HolderIndex), SecretShare>,
    group: GroupKey,
}

impl QualifiedSet {
    /// Decides which dealers qualify from every broadcast `dealings`, `complaints` and
    /// `answers` (shares revealed by the dealers complained about). A dealer is
    /// disqualified when its dealing is missing or malformed, when it broadcast two
    /// different dealings, or when a complaint against it has no answer that passes
    /// [`verify_share`]. Messages naming an index outside `1..=n` are refused. Fails
    /// unless at least `t` dealers qualify.
    pub fn new(
        params: &DkgParams,
        dealings: &[Dealing],
        complaints: &[Complaint],
        answers: &[SecretShare],
    ) -> Result<Self, ThresholdError> {
        let mut disqualified = BTreeSet::new();
        let mut qualified: BTreeMap<HolderIndex, Dealing> = BTreeMap::new();
        for dealing in dealings {
            params.check(dealing.dealer)?;
            if disqualified.contains(&dealing.dealer) {
                continue;
            }
            if dealing.check(params).is_err() {
                qualified.remove(&dealing.dealer);
                disqualified.insert(dealing.dealer);
                continue;
            }
            match qualified.get(&dealing.dealer) {
                Some(seen) if seen != dealing => {
                    // Equivocation: two different dealings from one dealer.
                    qualified.remove(&dealing.dealer);
                    disqualified.insert(dealing.dealer);
                }
                Some(_) => {}
                None => {
                    qualified.insert(dealing.dealer, dealing.clone());
                }
            }
        }
        for dealer in params.holders() {
            if !qualified.contains_key(&dealer) {
                disqualified.insert(dealer);
            }
        }
        let mut revealed = BTreeMap::new();
        for complaint in complaints {
            params.check(complaint.dealer)?;
            params.check(complaint.by)?;
            let Some(dealing) = qualified.get(&complaint.dealer) else {
                continue;
            };
            let answer = answers.iter().find(|s| {
                s.dealer == complaint.dealer
                    && s.recipient == complaint.by
                    && verify_share(params, dealing, s).is_ok()
            });
            match answer {
                Some(share) => {
                    revealed.insert((complaint.dealer, complaint.by), share.clone());
                }
                None => {
                    qualified.remove(&complaint.dealer);
                    disqualified.insert(complaint.dealer);
                }
            }
        }
        revealed.retain(|(dealer, _), _| qualified.contains_key(dealer));
        if qualified.len() < params.t as usize {
            return Err(ThresholdError::TooFewQualified {
                have: qualified.len(),
                need: params.t as usize,
            });
        }
        let mut sums = vec![pallas::Point::identity(); params.t as usize];
        for dealing in qualified.values() {
            for (sum, c) in sums.iter_mut().zip(&dealing.commitments) {
                *sum += c;
            }
        }
        let mut commitments = vec![pallas::Affine::identity(); sums.len()];
        pallas::Point::batch_normalize(&sums, &mut commitments);
        let group = GroupKey::from_commitments(*params, commitments)?;
        Ok(QualifiedSet {
            params: *params,
            qualified,
            disqualified,
            revealed,
            group,
        })
    }

    /// The qualified dealers, in index order.
    pub fn qualified(&self) -> Vec<HolderIndex> {
        self.qualified.keys().copied().collect()
    }

    /// The disqualified dealers, in index order.
    pub fn disqualified(&self) -> Vec<HolderIndex> {
        self.disqualified.iter().copied().collect()
    }

    /// The group key.
    pub fn group_key(&self) -> &GroupKey {
        &self.group
    }
}

/// Runs a whole honest ceremony in one process: every holder deals, receives and
/// finishes. For tests and development networks only: this process sees every share,
/// so it could compute the key; a real ceremony runs each [`Participant`] on its own
/// holder's machine.
pub fn simulate_ceremony(
    params: DkgParams,
    rng: &mut impl CryptoRng,
) -> Result<(GroupKey, Vec<KeyShare>), ThresholdError> {
    let mut participants = params
        .holders()
        .map(|i| Participant::new(params, i, &mut *rng))
        .collect::<Result<Vec<_>, _>>()?;
    let dealings: Vec<Dealing> = participants.iter().map(Participant::dealing).collect();
    let mut complaints = Vec::new();
    for d in 0..participants.len() {
        for r in 0..participants.len() {
            let share = participants[d].share_for(participants[r].index)?;
            if let Err(c) = participants[r].receive(&dealings[d], share) {
                complaints.push(c);
            }
        }
    }
    let answers: Vec<SecretShare> = complaints
        .iter()
        .filter_map(|c| {
            participants
                .iter()
                .find(|p| p.index == c.dealer)
                .and_then(|p| p.answer(c))
        })
        .collect();
    let qualified = QualifiedSet::new(&params, &dealings, &complaints, &answers)?;
    let shares = participants
        .iter()
        .map(|p| p.finish(&qualified))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((qualified.group.clone(), shares))
}
