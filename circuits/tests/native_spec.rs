//! Property tests of the native specification (the functions the circuit is tested
//! against and every wallet, validator and compliance tool calls).
#![allow(clippy::unwrap_used)]

use ff::{FromUniformBytes, PrimeField};
use proptest::prelude::*;
use sable_circuits::{
    asset::AssetId,
    epoch::EpochSchedule,
    keys::{RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    pallas,
    primitives::poseidon::{hash2, HashDomain},
    registry::ParticipantRegistry,
    regulator::{RegulatorCiphertext, RegulatorPlaintext},
    tree::{CommitmentTree, SparseMerkleTree},
    value::{ValueCommitTrapdoor, ValueCommitment, ValueSum},
};

fn base(seed: u64) -> pallas::Base {
    let mut b = [0u8; 64];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8] = 0x5a;
    pallas::Base::from_uniform_bytes(&b)
}

fn key(seed: u64) -> SpendingKey {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    SpendingKey::from_bytes(b).unwrap()
}

/// The epoch schedules of `key(1..=8)`, computed once (each is 64 key derivations).
fn schedules() -> &'static [EpochSchedule] {
    static SCHEDULES: std::sync::OnceLock<Vec<EpochSchedule>> = std::sync::OnceLock::new();
    SCHEDULES.get_or_init(|| {
        (1..=8)
            .map(|s| key(s).full_viewing_key().epoch_schedule())
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn commitments_bind_every_field(v in any::<u64>(), v2 in any::<u64>(), r in any::<u64>(), s in any::<u64>()) {
        let owner = key(s).full_viewing_key().address();
        let usd = AssetId::from_name("USD");
        let n = Note::from_parts(usd, NoteValue(v), owner, base(r));
        prop_assert_eq!(n.commitment(), Note::from_parts(usd, NoteValue(v), owner, base(r)).commitment());
        if v != v2 {
            prop_assert_ne!(n.commitment(), Note::from_parts(usd, NoteValue(v2), owner, base(r)).commitment());
        }
        let bond = AssetId::from_name("BOND");
        prop_assert_ne!(n.commitment(), Note::from_parts(bond, NoteValue(v), owner, base(r)).commitment());
        let other = key(s.wrapping_add(1)).full_viewing_key().address();
        prop_assert_ne!(n.commitment(), Note::from_parts(usd, NoteValue(v), other, base(r)).commitment());
    }

    #[test]
    fn nullifiers_are_deterministic_unique_per_position_and_key(
        v in any::<u64>(), s in any::<u64>(), pos in 0u64..(1 << 32), pos2 in 0u64..(1 << 32)
    ) {
        let fvk = key(s).full_viewing_key();
        let n = Note::from_parts(AssetId::from_name("USD"), NoteValue(v), fvk.address(), base(v));
        prop_assert_eq!(n.nullifier(fvk.nk(), pos), n.nullifier(fvk.nk(), pos));
        if pos != pos2 {
            prop_assert_ne!(n.nullifier(fvk.nk(), pos), n.nullifier(fvk.nk(), pos2));
        }
        let other = key(s.wrapping_add(7)).full_viewing_key();
        prop_assert_ne!(n.nullifier(fvk.nk(), pos), n.nullifier(other.nk(), pos));
        prop_assert_ne!(n.nullifier(fvk.nk(), pos).inner(), n.commitment().inner());
    }

    #[test]
    fn value_commitments_balance_exactly_when_values_balance(
        values in proptest::collection::vec((0u8..3, 0u64..1_000_000, 0u64..1_000_000), 1..6),
        tweak in 1u64..1000,
    ) {
        let assets: Vec<_> = ["USD", "EUR", "BOND"].iter().map(|n| AssetId::from_name(n)).collect();
        // Each (asset, spent, created) action; then one balancing action per asset.
        let mut actions: Vec<(usize, ValueSum)> = values
            .iter()
            .map(|(a, s, c)| (*a as usize, ValueSum::net(*s, *c)))
            .collect();
        for (ai, _) in assets.iter().enumerate() {
            let net: i128 = actions.iter().filter(|(a, _)| *a == ai).map(|(_, v)| v.inner()).sum();
            let fix = if net >= 0 { ValueSum::net(0, net as u64) } else { ValueSum::net((-net) as u64, 0) };
            actions.push((ai, fix));
        }
        let mut rng = rand::rng();
        let rcvs: Vec<_> = actions.iter().map(|_| ValueCommitTrapdoor::random(&mut rng)).collect();
        let total: ValueCommitment = actions
            .iter()
            .zip(&rcvs)
            .map(|((a, v), r)| ValueCommitment::derive(*v, assets[*a].base(), *r))
            .sum();
        let bsk = rcvs.iter().fold(ValueCommitTrapdoor::zero(), |a, b| a + *b);
        let bvk = ValueCommitment::derive(ValueSum::net(0, 0), assets[0].base(), bsk);
        prop_assert_eq!(total, bvk);
        // Moving `tweak` units from one asset to another never balances.
        let moved = total
            + ValueCommitment::public(tweak, assets[0].base())
            - ValueCommitment::public(tweak, assets[2].base());
        prop_assert_ne!(moved, bvk);
    }

    #[test]
    fn tree_paths_reach_the_anchor(leaves in proptest::collection::vec(any::<u64>(), 1..40)) {
        let mut tree = CommitmentTree::new();
        let notes: Vec<_> = leaves
            .iter()
            .map(|s| Note::from_parts(AssetId::from_name("USD"), NoteValue(*s), key(*s).full_viewing_key().address(), base(*s)))
            .collect();
        for n in &notes {
            tree.append(n.commitment()).unwrap();
        }
        for (i, n) in notes.iter().enumerate() {
            let path = tree.path(i as u64).unwrap();
            prop_assert_eq!(path.root(n.commitment().inner()), tree.anchor().inner());
            prop_assert_ne!(path.root(base(i as u64)), tree.anchor().inner());
        }
    }

    #[test]
    fn registry_tracks_membership(ops in proptest::collection::vec((0u64..8, any::<bool>()), 1..40)) {
        let mut reg = ParticipantRegistry::new();
        let mut model = std::collections::BTreeSet::new();
        for (who, add) in ops {
            let addr = key(who + 1).full_viewing_key().address();
            if add {
                let schedule = schedules()[who as usize].clone();
                prop_assert_eq!(reg.add(&addr, schedule).is_ok(), model.insert(who));
            } else {
                prop_assert_eq!(reg.remove(&addr).is_ok(), model.remove(&who));
            }
        }
        for who in 0u64..8 {
            let addr = key(who + 1).full_viewing_key().address();
            let member = reg.membership(&addr).map(|m| m.root(&addr) == Some(reg.root().inner()));
            prop_assert_eq!(member.unwrap_or(false), model.contains(&who));
        }
        // The root depends only on the members and their slots, never on history junk.
        let mut fresh: SparseMerkleTree<16> = SparseMerkleTree::new(pallas::Base::zero());
        prop_assert_eq!(model.is_empty(), reg.root().inner() == fresh.root());
        fresh.set(0, pallas::Base::zero());
        prop_assert_eq!(fresh.root(), SparseMerkleTree::<16>::new(pallas::Base::zero()).root());
    }

    #[test]
    fn regulator_ciphertexts_round_trip(fields in proptest::array::uniform5(any::<u64>()), esk in 1u64..u64::MAX) {
        let sk = RegulatorSecretKey::random(&mut rand::rng());
        let pt = RegulatorPlaintext {
            asset_x: base(fields[0]),
            value: pallas::Base::from(fields[1]),
            owner_x: base(fields[2]),
            spent_cm: base(fields[3]),
            spent_value: pallas::Base::from(fields[4]),
        };
        let ct = RegulatorCiphertext::encrypt(&sk.public_key(), pallas::Base::from(esk), &pt);
        prop_assert_eq!(ct.decrypt(&sk), pt);
        prop_assert_eq!(pt.value.to_repr()[..8].to_vec(), fields[1].to_le_bytes().to_vec());
    }

    /// Every use of Poseidon hashes in its own domain (audit F9a): the same two field
    /// elements give a different value in each, and each protocol object is the hash in
    /// its named domain.
    #[test]
    fn every_use_hashes_in_its_own_domain(a in any::<u64>(), b in any::<u64>(), s in any::<u64>()) {
        let (a, b) = (base(a), base(b));
        let values: Vec<_> = HashDomain::ALL.iter().map(|d| hash2(*d, a, b)).collect();
        for (i, x) in values.iter().enumerate() {
            for (j, y) in values.iter().enumerate().skip(i + 1) {
                prop_assert_ne!(x, y, "{:?} and {:?}", HashDomain::ALL[i], HashDomain::ALL[j]);
            }
        }
        let addr = key(s).full_viewing_key().address();
        let (x, y) = addr.coordinates();
        prop_assert_eq!(addr.registry_leaf(), hash2(HashDomain::RegistryLeaf, x, y));
        prop_assert_ne!(addr.registry_leaf(), hash2(HashDomain::MerkleNode, x, y));
        let mut tree = SparseMerkleTree::<1>::new(a);
        tree.set(1, b);
        prop_assert_eq!(tree.root(), hash2(HashDomain::MerkleNode, a, b));
        prop_assert_ne!(tree.root(), hash2(HashDomain::RegistryLeaf, a, b));
    }
}
