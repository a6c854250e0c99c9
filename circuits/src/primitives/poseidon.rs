//! Poseidon over `pallas::Base` (P128Pow5T3, width 3, rate 2), the one algebraic hash
//! of the protocol, and its domains.
//!
//! Every use of Poseidon has its own [`HashDomain`]: a tag that goes, with the input
//! length, into the sponge's initial capacity element, `tag · 2^64 + L` (the way
//! `ConstantLength<L>` puts `L · 2^64` there; the low 64 bits are never zero, so no
//! tagged hash is a `ConstantLength` one either). Inputs are zero-padded to a multiple
//! of the rate, as with `ConstantLength`. So a Merkle node is never a registry leaf, an
//! `ivk` or a key-stream pad, even for the same two field elements: no value computed
//! for one purpose can stand for another. The circuit hashes with the same
//! [`Tagged`] domain type (`crate::circuit`'s Poseidon gadget), so the native
//! specification and the circuit agree by construction, and `tests/native_spec.rs`
//! checks that they do.

use std::sync::OnceLock;

use ff::{Field, PrimeField};
use halo2_gadgets::poseidon::primitives::{Domain, Mds, P128Pow5T3, Spec};
use pasta_curves::pallas;

/// The sponge's rate (field elements absorbed per permutation).
const RATE: usize = 2;
/// The sponge's width.
const WIDTH: usize = 3;

/// What a Poseidon hash is for. The discriminant is the domain's tag; tags are never
/// reused or renumbered (that would change every commitment, key and root).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum HashDomain {
    /// A note commitment `cm = H(V.x, V.y, v, pk.x, pk.y, rcm)` ([`crate::note`]).
    NoteCommitment = 1,
    /// A nullifier `nf = H(nk, cm, tag)` ([`crate::note`]).
    Nullifier = 2,
    /// An incoming viewing key `ivk = H(ak.x, nk)` ([`crate::keys`]).
    IncomingViewingKey = 3,
    /// An inner node `H(left, right)` of the note commitment tree or of the participant
    /// registry ([`crate::tree`]); the two trees' leaves have domains of their own.
    MerkleNode = 4,
    /// A registry leaf `H(pk.x, pk.y)` ([`crate::keys::Address::registry_leaf`]).
    RegistryLeaf = 5,
    /// The regulator encryption's key `k = H(S.x, S.y)` from the shared secret `S`
    /// ([`crate::regulator`]).
    RegulatorKdf = 6,
    /// A regulator key-stream pad `H(k, i)` ([`crate::regulator`]).
    RegulatorPad = 7,
    /// A nullifier tree leaf `H(value, next_value, next_index)`
    /// ([`crate::nullifier_tree`]).
    NullifierLeaf = 8,
    /// A proof of holdings' tag of one note `H(nk, nf, statement)`
    /// ([`crate::holdings`]).
    HoldingsTag = 9,
    /// A leaf `H(PK_e.x, PK_e.y)` of a participant's epoch key schedule
    /// ([`crate::epoch`]).
    EpochKeyLeaf = 10,
}

impl HashDomain {
    /// Every domain, in tag order.
    pub const ALL: [HashDomain; 10] = [
        HashDomain::NoteCommitment,
        HashDomain::Nullifier,
        HashDomain::IncomingViewingKey,
        HashDomain::MerkleNode,
        HashDomain::RegistryLeaf,
        HashDomain::RegulatorKdf,
        HashDomain::RegulatorPad,
        HashDomain::NullifierLeaf,
        HashDomain::HoldingsTag,
        HashDomain::EpochKeyLeaf,
    ];

    /// The domain's tag.
    pub const fn tag(self) -> u64 {
        self as u64
    }
}

/// The initial capacity element of domain `tag` for inputs of `len` elements:
/// `tag · 2^64 + len`.
pub fn initial_capacity_element(tag: u64, len: usize) -> pallas::Base {
    pallas::Base::from_u128((u128::from(tag) << 64) + len as u128)
}

/// The halo2 [`Domain`] of tag `TAG` (a [`HashDomain`]'s) and input length `L`: the type
/// the circuit's Poseidon gadget is instantiated with.
#[derive(Clone, Copy, Debug)]
pub struct Tagged<const TAG: u64, const L: usize>;

impl<const TAG: u64, const L: usize> Domain<pallas::Base, RATE> for Tagged<TAG, L> {
    type Padding = std::iter::RepeatN<pallas::Base>;

    fn name() -> String {
        format!("Sable<tag {TAG}, length {L}>")
    }

    fn initial_capacity_element() -> pallas::Base {
        initial_capacity_element(TAG, L)
    }

    fn padding(input_len: usize) -> Self::Padding {
        assert_eq!(input_len, L, "a tagged domain hashes exactly L elements");
        std::iter::repeat_n(pallas::Base::ZERO, L.div_ceil(RATE) * RATE - L)
    }
}

/// Hashes `L` field elements in `domain`.
pub fn hash<const L: usize>(domain: HashDomain, message: [pallas::Base; L]) -> pallas::Base {
    sponge(initial_capacity_element(domain.tag(), L), &message)
}

/// Hashes two field elements in `domain`.
pub fn hash2(domain: HashDomain, a: pallas::Base, b: pallas::Base) -> pallas::Base {
    hash(domain, [a, b])
}

/// The constant-length sponge of halo2_gadgets' `poseidon::primitives::Hash` with the
/// given initial capacity element: absorb the zero-padded message `RATE` elements at a
/// time (adding them to the rate part of the state, then permuting), and output the
/// first state element.
fn sponge(capacity: pallas::Base, message: &[pallas::Base]) -> pallas::Base {
    let mut state = [pallas::Base::ZERO; WIDTH];
    state[RATE] = capacity;
    for chunk in message.chunks(RATE) {
        for (s, m) in state.iter_mut().zip(chunk) {
            *s += m;
        }
        permute(&mut state);
    }
    state[0]
}

/// The P128Pow5T3 permutation, as halo2_poseidon's (which it does not export): `R_F / 2`
/// full rounds, `R_P` partial rounds (S-box on the first element only), `R_F / 2` full
/// rounds, each adding its round constants before the S-boxes and multiplying by the
/// MDS matrix after.
fn permute(state: &mut [pallas::Base; WIDTH]) {
    type Constants = (Vec<[pallas::Base; WIDTH]>, Mds<pallas::Base, WIDTH>);
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    let (round_constants, mds) = CONSTANTS.get_or_init(|| {
        let (rc, mds, _) = <P128Pow5T3 as Spec<pallas::Base, WIDTH, RATE>>::constants();
        (rc, mds)
    });
    let full = <P128Pow5T3 as Spec<pallas::Base, WIDTH, RATE>>::full_rounds();
    let partial = <P128Pow5T3 as Spec<pallas::Base, WIDTH, RATE>>::partial_rounds();
    let sbox = <P128Pow5T3 as Spec<pallas::Base, WIDTH, RATE>>::sbox;
    for (round, rc) in round_constants.iter().enumerate() {
        let is_partial = (full / 2..full / 2 + partial).contains(&round);
        for (s, c) in state.iter_mut().zip(rc) {
            *s += c;
        }
        if is_partial {
            state[0] = sbox(state[0]);
        } else {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        }
        let mut next = [pallas::Base::ZERO; WIDTH];
        for (n, row) in next.iter_mut().zip(mds) {
            *n = row.iter().zip(state.iter()).map(|(m, s)| *m * s).sum();
        }
        *state = next;
    }
}

#[cfg(test)]
mod tests {
    use halo2_gadgets::poseidon::primitives::{self as poseidon, ConstantLength};

    use super::*;

    fn elements<const L: usize>(seed: u64) -> [pallas::Base; L] {
        std::array::from_fn(|i| pallas::Base::from(seed * 1_000 + i as u64))
    }

    /// This sponge and permutation are halo2's: with `ConstantLength<L>`'s capacity
    /// element they give `ConstantLength<L>`'s hash.
    #[test]
    fn the_sponge_is_halo2s_for_constant_length() {
        fn check<const L: usize>() {
            for seed in 0..4 {
                let m = elements::<L>(seed);
                let theirs =
                    poseidon::Hash::<_, P128Pow5T3, ConstantLength<L>, 3, 2>::init().hash(m);
                let capacity = pallas::Base::from_u128((L as u128) << 64);
                assert_eq!(sponge(capacity, &m), theirs, "L = {L}");
            }
        }
        check::<1>();
        check::<2>();
        check::<3>();
        check::<6>();
    }

    /// Every domain gives its own value for the same input, none of them the untagged
    /// `ConstantLength` hash.
    #[test]
    fn domains_separate_equal_inputs() {
        let m = elements::<2>(7);
        let untagged = poseidon::Hash::<_, P128Pow5T3, ConstantLength<2>, 3, 2>::init().hash(m);
        let mut seen = std::collections::HashSet::new();
        for d in HashDomain::ALL {
            let h = hash(d, m);
            assert_ne!(h, untagged, "{d:?}");
            assert!(
                seen.insert(h.to_repr()),
                "{d:?} repeats another domain's value"
            );
        }
        assert_ne!(
            hash2(HashDomain::MerkleNode, m[0], m[1]),
            hash2(HashDomain::RegistryLeaf, m[0], m[1])
        );
        // The tags are distinct and stable.
        let tags: Vec<u64> = HashDomain::ALL.iter().map(|d| d.tag()).collect();
        assert_eq!(tags, (1..=10).collect::<Vec<_>>());
    }

    /// The halo2 domain type has the native capacity element and padding.
    #[test]
    fn the_halo2_domain_matches_the_native_one() {
        type Nf = Tagged<{ HashDomain::Nullifier.tag() }, 3>;
        assert_eq!(
            <Nf as Domain<pallas::Base, RATE>>::initial_capacity_element(),
            initial_capacity_element(2, 3)
        );
        assert_eq!(<Nf as Domain<pallas::Base, RATE>>::padding(3).count(), 1);
        type Cm = Tagged<{ HashDomain::NoteCommitment.tag() }, 6>;
        assert_eq!(<Cm as Domain<pallas::Base, RATE>>::padding(6).count(), 0);
    }
}
