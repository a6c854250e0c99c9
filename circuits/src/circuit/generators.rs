//! Multi-scalar multiplication over the IPA generators `G_0 … G_{n−1}`.
//!
//! Every proof's opening argument ends in a check against `⟨s, G⟩`, an MSM over all
//! `n = 2^K` generators. A batch of proofs folds those into one MSM, paid once per
//! batch whatever its size, and at a steady rate batches are small, so this MSM is a
//! large share of a validator's verification work. The generators never change, so
//! this module precomputes `[2^{cw}] G_i` for every window `w` of `c` bits. An MSM is
//! then one pass of bucket additions over signed digits, with no doublings and one
//! bucket reduction for all windows instead of one per window. The bucket additions
//! are affine, with their inversions shared across a batch of additions (Montgomery's
//! trick): about half the field multiplications of a mixed projective addition.
//!
//! Everything here is variable-time: its inputs (proofs and the verifier's random
//! batching factors) are public or, for the factors, used once.

use group::{Curve, CurveAffine as _, Group};
use pasta_curves::{
    arithmetic::{CurveAffine, VartimeBatchInvert},
    vesta,
};

use ff::{Field, PrimeField};

type Fq = vesta::Base;

/// Bits per signed digit.
const WINDOW: usize = 13;

/// Digits per scalar: enough that the top window of a 255-bit scalar plus a carry
/// stays below `2^{c−1}`, so the recoding never carries out of the last window.
const WINDOWS: usize = {
    let mut w = 1;
    while (w - 1) * WINDOW + WINDOW - 2 < 255 {
        w += 1;
    }
    w
};

/// Bucket additions whose inversions are shared.
const BATCH: usize = 1024;

/// `[2^{cw}] G_i` for every window `w` and generator `i`, as affine coordinates.
pub(crate) struct GeneratorTable {
    n: usize,
    /// Index `i * WINDOWS + w`: one generator's windows are read together.
    points: Vec<(Fq, Fq)>,
}

impl std::fmt::Debug for GeneratorTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GeneratorTable({} generators × {WINDOWS} windows)",
            self.n
        )
    }
}

/// The signed digits of `scalar` in base `2^c`, least significant first.
fn digits(scalar: &vesta::Scalar) -> [i32; WINDOWS] {
    let repr = scalar.to_repr();
    let mut bytes = [0u8; 40];
    bytes[..32].copy_from_slice(repr.as_ref());
    let mut out = [0i32; WINDOWS];
    let mut carry = 0i64;
    for (w, d) in out.iter_mut().enumerate() {
        let bit = w * WINDOW;
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[bit / 8..bit / 8 + 8]);
        let raw = (u64::from_le_bytes(word) >> (bit % 8)) & ((1 << WINDOW) - 1);
        let mut v = raw as i64 + carry;
        carry = 0;
        if v >= 1 << (WINDOW - 1) {
            v -= 1 << WINDOW;
            carry = 1;
        }
        *d = v as i32;
    }
    out
}

/// Buckets of affine points, filled by batches of affine additions.
struct Buckets {
    points: Vec<Option<(Fq, Fq)>>,
    /// A bucket with an addition queued in `pending`.
    busy: Vec<bool>,
    pending: Vec<(usize, Fq, Fq)>,
    /// Additions to a busy bucket, queued for the next batch.
    deferred: Vec<(usize, Fq, Fq)>,
    inverses: Vec<Fq>,
}

impl Buckets {
    fn new(count: usize) -> Self {
        Buckets {
            points: vec![None; count],
            busy: vec![false; count],
            pending: Vec::with_capacity(BATCH),
            deferred: Vec::new(),
            inverses: Vec::with_capacity(BATCH),
        }
    }

    fn add(&mut self, bucket: usize, x: Fq, y: Fq) {
        match self.points[bucket] {
            None => self.points[bucket] = Some((x, y)),
            Some(_) if self.busy[bucket] => self.deferred.push((bucket, x, y)),
            Some(_) => {
                self.busy[bucket] = true;
                self.pending.push((bucket, x, y));
                if self.pending.len() >= BATCH {
                    self.flush();
                }
            }
        }
    }

    /// Performs the pending additions with one shared inversion, then queues the
    /// deferred ones.
    fn flush(&mut self) {
        self.inverses.clear();
        for &(b, x2, y2) in &self.pending {
            // A busy bucket always holds a point; `ONE` keeps the slots aligned.
            let (x1, y1) = self.points[b].unwrap_or((x2 + Fq::ONE, y2));
            // Doubling divides by 2y (never 0: the curve has prime order); a point
            // plus its negation has no division, so any non-zero value does.
            self.inverses.push(if x1 != x2 {
                x2 - x1
            } else if y1 == y2 {
                y1.double()
            } else {
                Fq::ONE
            });
        }
        self.inverses.iter_mut().batch_invert_vartime();
        for (&(b, x2, y2), inv) in self.pending.iter().zip(&self.inverses) {
            self.busy[b] = false;
            let Some((x1, y1)) = self.points[b] else {
                continue;
            };
            let lambda = if x1 != x2 {
                (y2 - y1) * inv
            } else if y1 == y2 {
                x1.square() * Fq::from(3) * inv
            } else {
                self.points[b] = None;
                continue;
            };
            let x3 = lambda.square() - x1 - x2;
            let y3 = lambda * (x1 - x3) - y1;
            self.points[b] = Some((x3, y3));
        }
        self.pending.clear();
        for (b, x, y) in std::mem::take(&mut self.deferred) {
            self.add(b, x, y);
        }
    }

    /// `Σ (b + 1) · bucket_b`, or `None` if a bucket is off the curve (a bug).
    fn reduce(mut self) -> Option<vesta::Point> {
        while !self.pending.is_empty() || !self.deferred.is_empty() {
            self.flush();
        }
        let mut running = vesta::Point::identity();
        let mut sum = vesta::Point::identity();
        for bucket in self.points.iter().rev() {
            if let Some((x, y)) = bucket {
                running += Option::<vesta::Affine>::from(vesta::Affine::from_xy(*x, *y))?;
            }
            sum += running;
        }
        Some(sum)
    }
}

impl GeneratorTable {
    /// Precomputes the table for `generators`.
    pub(crate) fn new(generators: &[vesta::Affine]) -> Self {
        let n = generators.len();
        let mut current: Vec<vesta::Point> = generators.iter().map(|g| g.to_curve()).collect();
        let mut affine = vec![vesta::Affine::identity(); n];
        let mut rows = Vec::with_capacity(WINDOWS);
        for _ in 0..WINDOWS {
            vesta::Point::batch_normalize(&current, &mut affine);
            rows.push(
                affine
                    .iter()
                    .map(|p| {
                        let c = p
                            .coordinates()
                            .expect("multiples of a generator are not the identity");
                        (*c.x(), *c.y())
                    })
                    .collect::<Vec<_>>(),
            );
            for p in &mut current {
                for _ in 0..WINDOW {
                    *p = p.double();
                }
            }
        }
        let points = (0..n)
            .flat_map(|i| rows.iter().map(move |row| row[i]))
            .collect();
        GeneratorTable { n, points }
    }

    /// `⟨scalars, G⟩`; `None` if `scalars` is not one per generator.
    pub(crate) fn msm(&self, scalars: &[vesta::Scalar]) -> Option<vesta::Point> {
        if scalars.len() != self.n {
            return None;
        }
        let mut buckets = Buckets::new(1 << (WINDOW - 1));
        for (i, s) in scalars.iter().enumerate() {
            for (w, &d) in digits(s).iter().enumerate() {
                if d == 0 {
                    continue;
                }
                let (x, y) = self.points[i * WINDOWS + w];
                let y = if d < 0 { -y } else { y };
                buckets.add(d.unsigned_abs() as usize - 1, x, y);
            }
        }
        buckets.reduce()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use halo2_proofs::arithmetic::best_multiexp;

    fn generators(n: usize) -> Vec<vesta::Affine> {
        (0..n)
            .map(|_| vesta::Point::random(&mut rand::rng()).to_affine())
            .collect()
    }

    #[test]
    fn digits_recompose_to_the_scalar() {
        let base = vesta::Scalar::from(1u64 << WINDOW);
        for s in [
            vesta::Scalar::ZERO,
            vesta::Scalar::ONE,
            -vesta::Scalar::ONE,
            vesta::Scalar::from((1u64 << (WINDOW - 1)) - 1),
            vesta::Scalar::from(1u64 << (WINDOW - 1)),
            vesta::Scalar::random(&mut rand::rng()),
        ] {
            let d = digits(&s);
            let mut acc = vesta::Scalar::ZERO;
            for &d in d.iter().rev() {
                assert!((-(1 << (WINDOW - 1))..(1 << (WINDOW - 1))).contains(&d));
                let m = vesta::Scalar::from(u64::from(d.unsigned_abs()));
                acc = acc * base + if d < 0 { -m } else { m };
            }
            assert_eq!(acc, s);
        }
    }

    #[test]
    fn msm_agrees_with_halo2_on_random_and_edge_scalars() {
        let g = generators(64);
        let table = GeneratorTable::new(&g);
        let mut scalars: Vec<vesta::Scalar> = (0..64)
            .map(|_| vesta::Scalar::random(&mut rand::rng()))
            .collect();
        // Zero, one, −1, equal scalars (the same bucket again and again) and small ones.
        scalars[0] = vesta::Scalar::ZERO;
        scalars[1] = vesta::Scalar::ONE;
        scalars[2] = -vesta::Scalar::ONE;
        for s in &mut scalars[3..40] {
            *s = vesta::Scalar::from(7);
        }
        let expected = best_multiexp(&scalars, &g);
        assert_eq!(table.msm(&scalars).unwrap(), expected);
    }

    #[test]
    fn doublings_and_cancellations_in_a_bucket_are_exact() {
        // The same generator twice with the same digit doubles in a bucket; with
        // opposite digits it cancels to the identity.
        let one = generators(1)[0];
        let g = vec![one, one, -one, one];
        let table = GeneratorTable::new(&g);
        let s = vesta::Scalar::from(5);
        assert_eq!(
            table.msm(&[s, s, s, s]).unwrap(),
            vesta::Point::from(one) * vesta::Scalar::from(10)
        );
        assert_eq!(table.msm(&[s, s, s, -s]).unwrap(), vesta::Point::identity());
    }

    #[test]
    fn a_wrong_number_of_scalars_is_refused() {
        let table = GeneratorTable::new(&generators(4));
        assert!(table.msm(&[vesta::Scalar::ONE; 3]).is_none());
    }
}
