//! Batch verification of action proofs, with the opening argument's generator MSM on
//! precomputed tables.
//!
//! Each proof's IPA opening reduces to `M_i + [−c_i] ⟨s(u_i), G⟩ = 0`, where `M_i` is
//! an MSM over the proof's own commitments and `⟨s(u_i), G⟩` runs over all `2^K`
//! generators. halo2's `BatchVerifier` folds every proof's check into one MSM with
//! random factors `r_i`, generators included. This batch checks the same equation,
//!
//! `Σ r_i M_i + ⟨Σ r_i (−c_i) s(u_i), G⟩ = 0`,
//!
//! but takes each proof's `M_i` and challenges from halo2's verifier without the
//! generator term (the strategy supplies the identity as the purported `G'_0`, which
//! halo2 leaves out of the MSM), and evaluates the generator part on
//! [`GeneratorTable`]. `c_i` is the last-but-one scalar the opening reads from the
//! proof, recorded by a transcript wrapper.

use halo2_proofs::{
    plonk::{self, BatchVerifier, VerificationStrategy},
    poly::commitment::{Guard, Params, MSM},
    transcript::{Blake2bRead, Challenge255, EncodedChallenge, Transcript, TranscriptRead},
};
use pasta_curves::vesta;
use rand_core::CryptoRng;
use rayon::prelude::*;

use ff::Field;
use group::Curve;
use group::CurveAffine as _;

use super::{
    deposit::DepositInstance,
    proof::{halo2_instances, with_refs, Proof, Statement, VerifyingKey},
    Instance,
};

type Challenge = Challenge255<vesta::Affine>;

/// A Blake2b transcript that remembers the last two scalars read from the proof:
/// the opening argument's `c` and `f`, in that order, are the last things it reads.
struct Recording<'a> {
    inner: Blake2bRead<&'a [u8], vesta::Affine, Challenge>,
    last: [vesta::Scalar; 2],
}

impl Transcript<vesta::Affine, Challenge> for Recording<'_> {
    fn squeeze_challenge(&mut self) -> Challenge {
        self.inner.squeeze_challenge()
    }

    fn common_point(&mut self, point: vesta::Affine) -> std::io::Result<()> {
        self.inner.common_point(point)
    }

    fn common_scalar(&mut self, scalar: vesta::Scalar) -> std::io::Result<()> {
        self.inner.common_scalar(scalar)
    }
}

impl TranscriptRead<vesta::Affine, Challenge> for Recording<'_> {
    fn read_point(&mut self) -> std::io::Result<vesta::Affine> {
        self.inner.read_point()
    }

    fn read_scalar(&mut self) -> std::io::Result<vesta::Scalar> {
        let s = self.inner.read_scalar()?;
        self.last = [self.last[1], s];
        Ok(s)
    }
}

/// A strategy that returns a proof's MSM without the generator term `[−c] ⟨s(u), G⟩`,
/// and the opening's challenges `u`.
struct DeferGenerators<'p> {
    msm: MSM<'p, vesta::Affine>,
}

impl<'p> VerificationStrategy<'p, vesta::Affine> for DeferGenerators<'p> {
    type Output = (MSM<'p, vesta::Affine>, Vec<vesta::Scalar>);

    fn process<E: EncodedChallenge<vesta::Affine>>(
        self,
        f: impl FnOnce(MSM<'p, vesta::Affine>) -> Result<Guard<'p, vesta::Affine, E>, plonk::Error>,
    ) -> Result<Self::Output, plonk::Error> {
        // `use_g` appends `[−c] g`; the identity adds nothing.
        let (msm, accumulator) = f(self.msm)?.use_g(vesta::Affine::identity());
        let u = accumulator
            .u_packed
            .iter()
            .map(|u| u.get_scalar())
            .collect();
        Ok((msm, u))
    }
}

/// Adds `init · s(u)` to `acc`, where `s(u)` holds the coefficients of
/// `Π_{i<k} (1 + u_{k−1−i} X^{2^i})`; `scratch` is reused between calls.
fn add_s(
    acc: &mut [vesta::Scalar],
    scratch: &mut Vec<vesta::Scalar>,
    u: &[vesta::Scalar],
    init: vesta::Scalar,
) {
    scratch.clear();
    scratch.resize(1 << u.len(), vesta::Scalar::ZERO);
    scratch[0] = init;
    for (i, u_j) in u.iter().rev().enumerate() {
        let (left, right) = scratch.split_at_mut(1 << i);
        for (r, l) in right[..1 << i].iter_mut().zip(left.iter()) {
            *r = *l * u_j;
        }
    }
    for (a, s) in acc.iter_mut().zip(scratch.iter()) {
        *a += s;
    }
}

#[derive(Debug)]
struct Item {
    statement: Statement,
    instances: Vec<Vec<Vec<vesta::Scalar>>>,
    proof: Vec<u8>,
}

/// One proof's part of the batch equation, scaled by its factor `r`: `r M` and
/// `r (−c) s(u)` added into the running sums.
struct Partial<'p> {
    msm: MSM<'p, vesta::Affine>,
    s: Vec<vesta::Scalar>,
    scratch: Vec<vesta::Scalar>,
}

impl<'p> Partial<'p> {
    fn new(params: &'p Params<vesta::Affine>) -> Self {
        Partial {
            msm: params.empty_msm(),
            s: vec![vesta::Scalar::ZERO; 1 << params.k()],
            scratch: Vec::new(),
        }
    }

    fn add(&mut self, vk: &'p VerifyingKey, item: &Item, r: vesta::Scalar) -> bool {
        let mut transcript = Recording {
            inner: Blake2bRead::init(&item.proof[..]),
            last: [vesta::Scalar::ZERO; 2],
        };
        let strategy = DeferGenerators {
            msm: vk.params.empty_msm(),
        };
        let verified = with_refs(&item.instances, |refs| {
            plonk::verify_proof(
                &vk.params,
                vk.of(item.statement),
                strategy,
                refs,
                &mut transcript,
            )
        });
        let Ok((mut msm, u)) = verified else {
            return false;
        };
        let neg_c = -transcript.last[0];
        msm.scale(r);
        self.msm.add_msm(&msm);
        add_s(&mut self.s, &mut self.scratch, &u, r * neg_c);
        true
    }

    fn merge(mut self, other: Self) -> Self {
        self.msm.add_msm(&other.msm);
        for (a, b) in self.s.iter_mut().zip(&other.s) {
            *a += b;
        }
        self
    }
}

/// Accumulates action and deposit proofs for verification as one batch.
#[derive(Debug, Default)]
pub struct ProofBatch {
    items: Vec<Item>,
    malformed: bool,
}

impl ProofBatch {
    /// An empty batch.
    pub fn new() -> Self {
        ProofBatch::default()
    }

    /// Queues `proof` with its instances; a batch holding an instance set that does not
    /// fill whole circuits never validates.
    pub fn add(&mut self, proof: &Proof, instances: &[Instance]) {
        match halo2_instances(instances) {
            Some(instances) => self.items.push(Item {
                statement: Statement::Actions,
                instances,
                proof: proof.as_bytes().to_vec(),
            }),
            None => self.malformed = true,
        }
    }

    /// Queues a deposit `proof` with its instance.
    pub fn add_deposit(&mut self, proof: &Proof, instance: &DepositInstance) {
        self.items.push(Item {
            statement: Statement::Deposit,
            instances: vec![vec![instance.0.to_vec()]],
            proof: proof.as_bytes().to_vec(),
        });
    }

    /// Number of queued proofs.
    pub fn len(&self) -> usize {
        self.items.len() + usize::from(self.malformed)
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Verifies every queued proof; `true` only if all are valid. Each proof's check
    /// is weighted by a random factor drawn from `rng`, so invalid proofs cannot
    /// cancel one another out.
    pub fn finalize(self, vk: &VerifyingKey, rng: &mut impl CryptoRng) -> bool {
        if self.malformed {
            return false;
        }
        let factors: Vec<vesta::Scalar> = self
            .items
            .iter()
            .map(|_| vesta::Scalar::random(&mut *rng))
            .collect();
        let partial = self
            .items
            .par_iter()
            .zip(factors)
            .try_fold(
                || Partial::new(&vk.params),
                |mut acc, (item, r)| acc.add(vk, item, r).then_some(acc),
            )
            .try_reduce(|| Partial::new(&vk.params), |a, b| Some(a.merge(b)));
        let Some(Partial { mut msm, s, .. }) = partial else {
            return false;
        };
        let Some(generators) = vk.generators().msm(&s) else {
            return false;
        };
        msm.append_term(vesta::Scalar::ONE, generators.to_affine());
        msm.eval()
    }

    /// Verifies the batch with halo2's own `BatchVerifier` (the generators inside its
    /// one MSM, one batch per statement): the reference [`finalize`](Self::finalize)
    /// is tested and benchmarked against.
    pub fn finalize_reference(self, vk: &VerifyingKey) -> bool {
        if self.malformed {
            return false;
        }
        [Statement::Actions, Statement::Deposit]
            .into_iter()
            .all(|statement| {
                let mut batch = BatchVerifier::new();
                for item in self.items.iter().filter(|i| i.statement == statement) {
                    batch.add_proof(item.instances.clone(), item.proof.clone());
                }
                batch.finalize(&vk.params, vk.of(statement))
            })
    }
}
