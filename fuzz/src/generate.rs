//! Inputs, each drawn from its own RNG, seeded by the run's seed, the target and the
//! input's index, so any one input replays on its own and the split across threads
//! changes nothing.
//!
//! An input is one of:
//! - uniform random bytes, mostly short, sometimes several KiB;
//! - a seed (a valid encoding) as it is, so every run sees the accepting path;
//! - a seed with an edge encoding written over 32 of its bytes (all zero, all `0xff`,
//!   the Pallas and Vesta moduli and their neighbours, the identity and the generator
//!   point), or an edge encoding alone;
//! - a seed after one to eight stacked mutations: bit flips, bytes overwritten,
//!   inserted, deleted or duplicated, a length prefix or count set to an edge value
//!   (zero, one, the remaining length and its neighbours, `u32::MAX`…), a `u64` set to
//!   an edge value, a truncation, or a splice with another seed.

use ff::PrimeField as _;
use group::{CurveAffine as _, GroupEncoding as _};
use pasta_curves::{pallas, vesta};
use rand::{rngs::StdRng, Rng as _, RngExt as _, SeedableRng as _};

/// Largest uniform random input.
const MAX_RANDOM_LEN: usize = 8 * 1024;
/// Most bytes mutations may add to a seed.
const MAX_GROWTH: usize = 64 * 1024;

/// The RNG of input `iteration` of `target` in a run seeded with `seed`.
pub fn rng_for(seed: u64, target: &str, iteration: u64) -> StdRng {
    // FNV-1a of the name, so targets draw different inputs from one seed.
    let name = target.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(&name.to_le_bytes());
    s[16..24].copy_from_slice(&iteration.to_le_bytes());
    StdRng::from_seed(s)
}

/// 32-byte encodings at the edges of the fields and curves: all zero (also the
/// identity's encoding), all `0xff`, `p − 1`, `p`, `p + 1` for the Pallas base field
/// (`p`) and the Vesta base field (`q`, Pallas's scalar field), `2^255 − 1`, the
/// identity and generator points, and the generator with its sign bit flipped.
pub fn edge_encodings() -> Vec<[u8; 32]> {
    let pallas_minus_one = (-pallas::Base::one()).to_repr();
    let vesta_minus_one = (-vesta::Base::one()).to_repr();
    let generator = pallas::Affine::generator().to_bytes();
    let mut flipped = generator;
    flipped[31] ^= 0x80;
    let mut top = [0xff; 32];
    top[31] = 0x7f;
    let mut out = vec![
        [0; 32],
        [0xff; 32],
        top,
        pallas::Affine::identity().to_bytes(),
        generator,
        flipped,
        vesta::Affine::generator().to_bytes(),
    ];
    for minus_one in [pallas_minus_one, vesta_minus_one] {
        for delta in 0..=2u8 {
            out.push(add_small(minus_one, delta));
        }
    }
    out
}

/// `x + d` on 32-byte little-endian integers (wrapping).
fn add_small(mut x: [u8; 32], d: u8) -> [u8; 32] {
    let mut carry = u16::from(d);
    for b in x.iter_mut() {
        let s = u16::from(*b) + carry;
        *b = s as u8;
        carry = s >> 8;
    }
    x
}

/// Draws inputs for one target from its seeds.
#[derive(Debug)]
pub struct Generator {
    seeds: Vec<Vec<u8>>,
    edges: Vec<[u8; 32]>,
    /// Per seed, the offsets whose `u32` is small enough to be a length or a count.
    prefixes: Vec<Vec<usize>>,
}

impl Generator {
    /// A generator over `seeds` (at least one).
    pub fn new(seeds: Vec<Vec<u8>>) -> Self {
        assert!(!seeds.is_empty(), "a target needs a seed");
        let prefixes = seeds.iter().map(|s| length_prefixes(s)).collect();
        Generator {
            seeds,
            edges: edge_encodings(),
            prefixes,
        }
    }

    /// One input.
    pub fn input(&self, rng: &mut StdRng) -> Vec<u8> {
        let which = rng.random_range(0..self.seeds.len());
        let seed = &self.seeds[which];
        match rng.random_range(0..100u32) {
            0..12 => random_bytes(rng),
            12..15 => seed.clone(),
            15..25 => {
                let edge = self.edges[rng.random_range(0..self.edges.len())];
                if seed.len() < 32 || rng.random_bool(0.2) {
                    // The edge alone, or after a selector byte.
                    let mut v = Vec::with_capacity(33);
                    if rng.random_bool(0.5) {
                        v.push(rng.random());
                    }
                    v.extend_from_slice(&edge);
                    v
                } else {
                    let mut v = seed.clone();
                    let at = rng.random_range(0..=v.len() - 32);
                    v[at..at + 32].copy_from_slice(&edge);
                    v
                }
            }
            _ => {
                let mut v = seed.clone();
                let n = (1 + rng.random::<u8>().trailing_ones()).min(8);
                for i in 0..n {
                    // The offsets of length prefixes hold until the first mutation
                    // shifts them.
                    let prefixes = if i == 0 {
                        &self.prefixes[which][..]
                    } else {
                        &[]
                    };
                    self.mutate(&mut v, prefixes, rng);
                }
                v.truncate(seed.len() + MAX_GROWTH);
                v
            }
        }
    }

    fn mutate(&self, v: &mut Vec<u8>, prefixes: &[usize], rng: &mut StdRng) {
        const INTERESTING: [u8; 8] = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 0x40];
        if v.is_empty() {
            v.extend(random_bytes(rng).into_iter().take(64));
            return;
        }
        let len = v.len();
        let pos = rng.random_range(0..len);
        match rng.random_range(0..12u32) {
            0 | 1 => v[pos] ^= 1 << rng.random_range(0..8u32),
            2 => {
                v[pos] = if rng.random_bool(0.5) {
                    INTERESTING[rng.random_range(0..INTERESTING.len())]
                } else {
                    rng.random()
                }
            }
            3 => {
                let n = rng.random_range(1..=16usize);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                v.splice(pos..pos, bytes);
            }
            4 => {
                let max = if rng.random_bool(0.9) { 64 } else { len };
                let n = rng.random_range(1..=max.min(len - pos));
                v.drain(pos..pos + n);
            }
            5 => v.truncate(pos),
            6 | 7 => {
                // A length prefix or count set to an edge value.
                let at = match prefixes {
                    [] => pos,
                    p if rng.random_bool(0.8) => p[rng.random_range(0..p.len())],
                    _ => pos,
                };
                if at + 4 <= len {
                    let old = u32::from_le_bytes([v[at], v[at + 1], v[at + 2], v[at + 3]]);
                    let rest = (len - at - 4) as u32;
                    let edges = [
                        0,
                        1,
                        2,
                        old.wrapping_add(1),
                        old.wrapping_sub(1),
                        old.wrapping_mul(2),
                        rest,
                        rest.wrapping_add(1),
                        rest.wrapping_sub(1),
                        0xff,
                        0x100,
                        0xffff,
                        0x1_0000,
                        0x7fff_ffff,
                        0x8000_0000,
                        u32::MAX,
                    ];
                    let new = edges[rng.random_range(0..edges.len())];
                    v[at..at + 4].copy_from_slice(&new.to_le_bytes());
                }
            }
            8 => {
                if pos + 8 <= len {
                    let edges = [0, 1, u64::MAX, 1 << 63, i64::MAX as u64, 0x1_0000_0000];
                    let new: u64 = edges[rng.random_range(0..edges.len())];
                    v[pos..pos + 8].copy_from_slice(&new.to_le_bytes());
                }
            }
            9 => {
                // A chunk duplicated elsewhere.
                let n = rng.random_range(1..=256.min(len - pos));
                let chunk = v[pos..pos + n].to_vec();
                let to = rng.random_range(0..=len);
                v.splice(to..to, chunk);
            }
            10 => {
                // A splice: this input's head, another seed's tail.
                let other = &self.seeds[rng.random_range(0..self.seeds.len())];
                let from = rng.random_range(0..=other.len());
                v.truncate(pos);
                v.extend_from_slice(&other[from..]);
            }
            _ => {
                if len >= 32 {
                    let edge = self.edges[rng.random_range(0..self.edges.len())];
                    let at = rng.random_range(0..=len - 32);
                    v[at..at + 32].copy_from_slice(&edge);
                }
            }
        }
    }
}

fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    let max = match rng.random_range(0..100u32) {
        0..50 => 64,
        50..85 => 512,
        _ => MAX_RANDOM_LEN,
    };
    let mut v = vec![0u8; rng.random_range(0..=max)];
    rng.fill_bytes(&mut v);
    v
}

/// Offsets of `seed` whose little-endian `u32` is non-zero and at most 1 MiB: the
/// counts and length prefixes of the encodings (and a few other small integers).
fn length_prefixes(seed: &[u8]) -> Vec<usize> {
    (0..seed.len().saturating_sub(3))
        .filter(|&i| {
            let x = u32::from_le_bytes([seed[i], seed[i + 1], seed[i + 2], seed[i + 3]]);
            (1..=1 << 20).contains(&x)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_replay_from_their_seed_and_index() {
        let g = Generator::new(vec![vec![1, 0, 0, 0, 9, 9, 9]; 2]);
        let a: Vec<_> = (0..50).map(|i| g.input(&mut rng_for(7, "t", i))).collect();
        let b: Vec<_> = (0..50).map(|i| g.input(&mut rng_for(7, "t", i))).collect();
        assert_eq!(a, b);
        let c: Vec<_> = (0..50).map(|i| g.input(&mut rng_for(8, "t", i))).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn the_moduli_are_where_the_fields_end() {
        let edges = edge_encodings();
        // p − 1 is canonical, p is not.
        assert!(bool::from(pallas::Base::from_repr(edges[7]).is_some()));
        assert!(bool::from(pallas::Base::from_repr(edges[8]).is_none()));
        assert!(bool::from(vesta::Base::from_repr(edges[10]).is_some()));
        assert!(bool::from(vesta::Base::from_repr(edges[11]).is_none()));
    }
}
