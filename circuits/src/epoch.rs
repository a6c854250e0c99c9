//! Epoch view keys: a participant's key agreement key per period, whose secrets derive
//! down one tree, so a key for a range of periods reveals exactly that range.
//!
//! # Objects
//! - An **epoch** is a period of the chain's time (a quarter, say), numbered from 0 to
//!   [`EPOCHS`]` − 1`.
//! - A participant's **epoch tree** is a binary tree of depth [`EPOCH_TREE_DEPTH`] whose
//!   node secrets derive from their parent's (`s_child = BLAKE2b(s_parent || bit)`, the
//!   GGM construction): the root secret ([`EpochTreeSecret`], derived from the
//!   participant's full viewing key) yields every node; an inner node's secret yields
//!   exactly the epochs beneath it and nothing else.
//! - The leaf secret of epoch `e` gives the epoch's secret key
//!   `sk_e = ToScalar(PRF^expand(s_leaf, [6]))` ([`EpochSecretKey`]) and its public key
//!   `PK_e = [sk_e] G_ka`.
//! - The participant's **epoch schedule** ([`EpochSchedule`]) is the list of the
//!   `PK_e`, public. Its Merkle root ([`EpochRoot`]; leaves `Poseidon(PK_e.x, PK_e.y)`
//!   in their own domain, nodes as every Sable tree's) is committed in the participant's
//!   registry leaf ([`crate::registry::registry_leaf`]), so what the chain registered is
//!   the schedule every proof opens.
//! - An **epoch view key** ([`EpochViewKey`]) for epochs `[a, b]` is the set of node
//!   secrets that exactly covers the range: at most `2 · EPOCH_TREE_DEPTH` of them.
//!   Its holder checks it against the schedule the chain registered
//!   ([`EpochViewKey::check`]), so a participant cannot hand over keys that open
//!   nothing.
//!
//! # Why a range key reveals exactly its range
//! Leaf secrets outside the range are pseudorandom given the covering nodes' secrets (the
//! GGM tree: a node's secret is a PRF output of its parent's, and the covering nodes are
//! no ancestor of any leaf outside the range). A ciphertext to `PK_e'` for an epoch
//! `e'` outside the range is then one to a key whose secret the holder does not know.

use std::ops::RangeInclusive;

use blake2b_simd::Params;
use ff::Field;
use group::{Curve, GroupEncoding};
use pasta_curves::{arithmetic::CurveAffine, pallas};

use crate::{
    constants::{
        EPOCH_TREE_DEPTH, EPOCH_TREE_PERSONALIZATION, PRF_EPOCH_SECRET_KEY, PRF_EPOCH_TREE_ROOT,
    },
    encoding::{DecodeError, Reader, Writer},
    keys::{key_agreement_generator, FullViewingKey},
    primitives::{
        poseidon::{self, HashDomain},
        prf::{prf_expand, to_scalar},
    },
    tree::{AuthPath, SparseMerkleTree},
};

/// Number of epochs a participant's epoch tree covers.
pub const EPOCHS: u32 = 1 << EPOCH_TREE_DEPTH;

/// The encoded size of an [`EpochSchedule`]: one compressed point per epoch.
pub const EPOCH_SCHEDULE_SIZE: usize = 32 * EPOCHS as usize;

/// The encoding version of an [`EpochViewKey`].
pub const EPOCH_VIEW_KEY_VERSION: u8 = 1;

/// An epoch number, `0..EPOCHS`.
pub type Epoch = u32;

crate::encoding::field_newtype!(
    /// The Merkle root of a participant's epoch schedule.
    EpochRoot, "epoch root"
);

/// A path from an epoch's public key to its schedule's root.
pub type EpochPath = AuthPath<EPOCH_TREE_DEPTH>;

/// Why an epoch key cannot be made, read or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpochKeyError {
    /// An epoch past the tree's last.
    #[error("epoch {0} is out of range (epochs are 0..{EPOCHS})")]
    OutOfRange(u64),
    /// A range whose first epoch is after its last.
    #[error("empty epoch range {first}..={last}")]
    EmptyRange {
        /// The first epoch asked for.
        first: Epoch,
        /// The last epoch asked for.
        last: Epoch,
    },
    /// The key does not cover the epoch asked for.
    #[error("the key does not cover epoch {0}")]
    NotCovered(Epoch),
    /// The key's public key for an epoch is not the one the chain registered.
    #[error("the key's public key for epoch {0} is not the one registered for it")]
    Mismatch(Epoch),
    /// The encoding is invalid.
    #[error("invalid epoch key: {0}")]
    Decode(#[from] DecodeError),
    /// The nodes of an encoded key are not the exact cover of one range.
    #[error("invalid epoch key: {0}")]
    NotACover(&'static str),
}

/// A secret node of a participant's epoch tree: level 0 is the root, level
/// [`EPOCH_TREE_DEPTH`] the leaves; `index` counts nodes of its level from the left.
#[derive(Clone, PartialEq, Eq)]
struct EpochNode {
    level: u8,
    index: u32,
    seed: [u8; 32],
}

impl EpochNode {
    /// The epochs beneath this node.
    fn epochs(&self) -> RangeInclusive<Epoch> {
        let span = 1u32 << (EPOCH_TREE_DEPTH - usize::from(self.level));
        let first = self.index * span;
        first..=first + span - 1
    }

    /// The child on side `bit` (0 left, 1 right).
    fn child(&self, bit: u8) -> EpochNode {
        let hash = Params::new()
            .hash_length(32)
            .personal(EPOCH_TREE_PERSONALIZATION)
            .to_state()
            .update(&self.seed)
            .update(&[bit])
            .finalize();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(hash.as_bytes());
        EpochNode {
            level: self.level + 1,
            index: self.index * 2 + u32::from(bit),
            seed,
        }
    }

    /// The leaf of epoch `e`, if it is beneath this node.
    fn leaf(&self, e: Epoch) -> Option<EpochNode> {
        if !self.epochs().contains(&e) {
            return None;
        }
        let mut node = self.clone();
        while usize::from(node.level) < EPOCH_TREE_DEPTH {
            let shift = EPOCH_TREE_DEPTH - usize::from(node.level) - 1;
            node = node.child(((e >> shift) & 1) as u8);
        }
        Some(node)
    }

    /// The secret key of this node, a leaf.
    fn secret_key(&self) -> EpochSecretKey {
        debug_assert_eq!(usize::from(self.level), EPOCH_TREE_DEPTH);
        (0u8..=u8::MAX)
            .map(|counter| to_scalar(prf_expand(&self.seed, PRF_EPOCH_SECRET_KEY, &[counter])))
            .find(|sk| !bool::from(sk.is_zero()))
            .map(EpochSecretKey)
            .expect("256 PRF outputs are not all zero")
    }

    /// The nodes beneath this one that exactly cover `range` (which meets this node's).
    fn cover(&self, range: &RangeInclusive<Epoch>, out: &mut Vec<EpochNode>) {
        let mine = self.epochs();
        if mine.end() < range.start() || mine.start() > range.end() {
            return;
        }
        if range.start() <= mine.start() && mine.end() <= range.end() {
            out.push(self.clone());
            return;
        }
        self.child(0).cover(range, out);
        self.child(1).cover(range, out);
    }
}

fn check_epoch(e: Epoch) -> Result<Epoch, EpochKeyError> {
    if e < EPOCHS {
        Ok(e)
    } else {
        Err(EpochKeyError::OutOfRange(e.into()))
    }
}

/// An epoch's secret key: opens what was encrypted to the participant in that epoch.
#[derive(Clone, PartialEq, Eq)]
pub struct EpochSecretKey(pallas::Scalar);

impl std::fmt::Debug for EpochSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EpochSecretKey(..)")
    }
}

impl EpochSecretKey {
    /// `PK_e = [sk_e] G_ka`.
    pub fn public_key(&self) -> EpochPublicKey {
        EpochPublicKey((key_agreement_generator() * self.0).to_affine())
    }

    /// The shared secret `[sk_e] epk` of a ciphertext with ephemeral key `epk`.
    pub fn agree(&self, epk: &pallas::Affine) -> pallas::Affine {
        (*epk * self.0).to_affine()
    }
}

/// An epoch's public key `PK_e`: what notes of that epoch are encrypted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochPublicKey(pallas::Affine);

impl EpochPublicKey {
    /// The point.
    pub fn to_affine(&self) -> pallas::Affine {
        self.0
    }

    /// Affine coordinates `(x, y)` (never the identity: decoding refuses it, and
    /// `sk_e ≠ 0`).
    pub fn coordinates(&self) -> (pallas::Base, pallas::Base) {
        let c = self
            .0
            .coordinates()
            .expect("epoch public keys are never the identity");
        (*c.x(), *c.y())
    }

    /// Its leaf in the schedule tree: `Poseidon(PK_e.x, PK_e.y)`.
    pub fn leaf(&self) -> pallas::Base {
        let (x, y) = self.coordinates();
        poseidon::hash2(HashDomain::EpochKeyLeaf, x, y)
    }
}

/// The root secret of a participant's epoch tree: yields every epoch's key. Derived
/// from the full viewing key ([`FullViewingKey::epoch_tree`]), so whoever can see all
/// of a participant's activity can also hand out keys for part of it, and no one else.
#[derive(Clone)]
pub struct EpochTreeSecret(EpochNode);

impl std::fmt::Debug for EpochTreeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EpochTreeSecret(..)")
    }
}

impl EpochTreeSecret {
    /// The tree of `fvk`: root seed `PRF^expand(nk, [5] || ak)`.
    pub(crate) fn of(fvk: &FullViewingKey) -> Self {
        let nk = ff::PrimeField::to_repr(&fvk.nk().inner());
        let ak = fvk.ak().to_affine().to_bytes();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&prf_expand(&nk, PRF_EPOCH_TREE_ROOT, &ak)[..32]);
        EpochTreeSecret(EpochNode {
            level: 0,
            index: 0,
            seed,
        })
    }

    /// The secret key of epoch `e`.
    pub fn secret_key(&self, e: Epoch) -> Result<EpochSecretKey, EpochKeyError> {
        let leaf = self
            .0
            .leaf(check_epoch(e)?)
            .expect("the root covers every epoch");
        Ok(leaf.secret_key())
    }

    /// The public schedule: every epoch's public key.
    pub fn schedule(&self) -> EpochSchedule {
        EpochSchedule::new((0..EPOCHS).map(|e| {
            self.0
                .leaf(e)
                .expect("the root covers every epoch")
                .secret_key()
                .public_key()
        }))
    }

    /// The key for epochs `first..=last`: the node secrets that exactly cover them.
    pub fn view_key(&self, first: Epoch, last: Epoch) -> Result<EpochViewKey, EpochKeyError> {
        check_epoch(first)?;
        check_epoch(last)?;
        if first > last {
            return Err(EpochKeyError::EmptyRange { first, last });
        }
        let mut nodes = Vec::new();
        self.0.cover(&(first..=last), &mut nodes);
        Ok(EpochViewKey { nodes })
    }
}

/// A participant's public epoch schedule: one public key per epoch, and their Merkle
/// root (which its registry leaf commits to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochSchedule {
    keys: Vec<EpochPublicKey>,
    root: EpochRoot,
}

impl EpochSchedule {
    /// A schedule of exactly [`EPOCHS`] keys (the caller's iterator yields that many).
    fn new(keys: impl IntoIterator<Item = EpochPublicKey>) -> Self {
        let keys: Vec<EpochPublicKey> = keys.into_iter().collect();
        debug_assert_eq!(keys.len(), EPOCHS as usize);
        let root = EpochRoot(Self::tree(&keys).root());
        EpochSchedule { keys, root }
    }

    fn tree(keys: &[EpochPublicKey]) -> SparseMerkleTree<EPOCH_TREE_DEPTH> {
        let mut tree = SparseMerkleTree::new(pallas::Base::zero());
        let leaves: Vec<(u64, pallas::Base)> = keys
            .iter()
            .enumerate()
            .map(|(e, k)| (e as u64, k.leaf()))
            .collect();
        tree.set_many(&leaves);
        tree
    }

    /// The Merkle root the registry leaf commits to.
    pub fn root(&self) -> EpochRoot {
        self.root
    }

    /// The public key of epoch `e`.
    pub fn key(&self, e: Epoch) -> Result<EpochPublicKey, EpochKeyError> {
        Ok(self.keys[check_epoch(e)? as usize])
    }

    /// The path from epoch `e`'s public key to [`EpochSchedule::root`].
    pub fn path(&self, e: Epoch) -> Result<EpochPath, EpochKeyError> {
        Ok(Self::tree(&self.keys).path(check_epoch(e)?.into()))
    }

    /// Canonical encoding: the [`EPOCHS`] compressed public keys in epoch order
    /// ([`EPOCH_SCHEDULE_SIZE`] bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        for k in &self.keys {
            w.point(&k.0);
        }
        w.into_bytes()
    }

    /// Parses [`EpochSchedule::to_bytes`]: exactly [`EPOCHS`] canonical, non-identity
    /// points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let mut keys = Vec::with_capacity(EPOCHS as usize);
        for _ in 0..EPOCHS {
            keys.push(EpochPublicKey(r.point("epoch public key")?));
        }
        r.finish()?;
        Ok(EpochSchedule::new(keys))
    }
}

/// A key for a range of epochs: the epoch tree's node secrets that exactly cover it.
/// What a bank gives an auditor to see its activity in those epochs and no other.
#[derive(Clone, PartialEq, Eq)]
pub struct EpochViewKey {
    /// Covering nodes, left to right; adjacent and disjoint.
    nodes: Vec<EpochNode>,
}

impl std::fmt::Debug for EpochViewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EpochViewKey({:?}, ..)", self.epochs())
    }
}

impl EpochViewKey {
    /// The epochs this key opens.
    pub fn epochs(&self) -> RangeInclusive<Epoch> {
        let first = self.nodes.first().map(|n| *n.epochs().start()).unwrap_or(0);
        let last = self.nodes.last().map(|n| *n.epochs().end()).unwrap_or(0);
        first..=last
    }

    /// Whether this key opens epoch `e`.
    pub fn covers(&self, e: Epoch) -> bool {
        self.epochs().contains(&e)
    }

    /// How many node secrets the key holds (at most `2 · EPOCH_TREE_DEPTH`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The secret key of epoch `e`, if the key covers it.
    pub fn secret_key(&self, e: Epoch) -> Result<EpochSecretKey, EpochKeyError> {
        self.nodes
            .iter()
            .find_map(|n| n.leaf(e))
            .map(|leaf| leaf.secret_key())
            .ok_or(EpochKeyError::NotCovered(e))
    }

    /// Checks that every epoch the key covers has the public key `schedule` holds for
    /// it: the key opens what was encrypted to the participant the schedule is
    /// registered for, in each of those epochs.
    pub fn check(&self, schedule: &EpochSchedule) -> Result<(), EpochKeyError> {
        for e in self.epochs() {
            if self.secret_key(e)?.public_key() != schedule.key(e)? {
                return Err(EpochKeyError::Mismatch(e));
            }
        }
        Ok(())
    }

    /// Canonical encoding: version, node count, then each node's level, index and
    /// secret, left to right.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(EPOCH_VIEW_KEY_VERSION).u8(self.nodes.len() as u8);
        for n in &self.nodes {
            w.u8(n.level).u32(n.index).bytes(&n.seed);
        }
        w.into_bytes()
    }

    /// Parses [`EpochViewKey::to_bytes`]. The nodes must be the exact cover of one
    /// range that [`EpochTreeSecret::view_key`] gives: valid positions, adjacent left
    /// to right, and none that two could replace (so one range has one encoding).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EpochKeyError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("epoch key version")?;
        if version != EPOCH_VIEW_KEY_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "epoch view key",
                found: version,
                expected: EPOCH_VIEW_KEY_VERSION,
            }
            .into());
        }
        let count = usize::from(r.u8("epoch key node count")?);
        if count == 0 || count > 2 * EPOCH_TREE_DEPTH {
            return Err(EpochKeyError::NotACover("a key holds 1 to 12 nodes"));
        }
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
            let level = r.u8("epoch node level")?;
            let index = r.u32("epoch node index")?;
            let seed = r.array("epoch node secret")?;
            if usize::from(level) > EPOCH_TREE_DEPTH || index >= 1 << level {
                return Err(EpochKeyError::NotACover("a node outside the tree"));
            }
            nodes.push(EpochNode { level, index, seed });
        }
        r.finish()?;
        for pair in nodes.windows(2) {
            if *pair[1].epochs().start() != pair[0].epochs().end() + 1 {
                return Err(EpochKeyError::NotACover("nodes not adjacent left to right"));
            }
        }
        let key = EpochViewKey { nodes };
        // The canonical cover of the range: what the tree's owner would have issued.
        let mut canonical = Vec::new();
        let root = EpochNode {
            level: 0,
            index: 0,
            seed: [0; 32],
        };
        root.cover(&key.epochs(), &mut canonical);
        let positions = |ns: &[EpochNode]| -> Vec<(u8, u32)> {
            ns.iter().map(|n| (n.level, n.index)).collect()
        };
        if positions(&canonical) != positions(&key.nodes) {
            return Err(EpochKeyError::NotACover(
                "not the fewest nodes for the range",
            ));
        }
        Ok(key)
    }
}

impl FullViewingKey {
    /// The root secret of this participant's epoch tree.
    pub fn epoch_tree(&self) -> EpochTreeSecret {
        EpochTreeSecret::of(self)
    }

    /// This participant's public epoch schedule (what its registration carries).
    pub fn epoch_schedule(&self) -> EpochSchedule {
        self.epoch_tree().schedule()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;

    fn tree() -> (FullViewingKey, EpochTreeSecret) {
        let fvk = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        let t = fvk.epoch_tree();
        (fvk, t)
    }

    #[test]
    fn a_range_key_opens_exactly_its_range() {
        let (fvk, t) = tree();
        let schedule = fvk.epoch_schedule();
        for (first, last) in [
            (0, 63),
            (0, 0),
            (63, 63),
            (4, 7),
            (5, 17),
            (1, 62),
            (31, 32),
        ] {
            let key = t.view_key(first, last).unwrap();
            assert_eq!(key.epochs(), first..=last);
            assert!(key.node_count() <= 2 * EPOCH_TREE_DEPTH);
            key.check(&schedule).unwrap();
            for e in 0..EPOCHS {
                let opened = key.secret_key(e);
                if (first..=last).contains(&e) {
                    assert_eq!(opened.unwrap(), t.secret_key(e).unwrap(), "epoch {e}");
                } else {
                    assert_eq!(opened, Err(EpochKeyError::NotCovered(e)));
                }
            }
            let back = EpochViewKey::from_bytes(&key.to_bytes()).unwrap();
            assert_eq!(back, key);
        }
        // A year of quarters aligned on the tree is one node; misaligned, a few.
        assert_eq!(t.view_key(4, 7).unwrap().node_count(), 1);
        assert_eq!(t.view_key(1, 62).unwrap().node_count(), 10);
        assert_eq!(t.view_key(0, 63).unwrap().node_count(), 1);
    }

    #[test]
    fn keys_differ_per_epoch_and_participant() {
        let (fvk_a, a) = tree();
        let (_, b) = tree();
        let s = fvk_a.epoch_schedule();
        let mut seen = std::collections::HashSet::new();
        for e in 0..EPOCHS {
            assert!(seen.insert(s.key(e).unwrap().to_affine().to_bytes()));
            assert_eq!(a.secret_key(e).unwrap().public_key(), s.key(e).unwrap());
            assert_ne!(a.secret_key(e).unwrap(), b.secret_key(e).unwrap());
            assert_eq!(
                s.path(e).unwrap().root(s.key(e).unwrap().leaf()),
                s.root().inner()
            );
        }
        // Another participant's key does not check against this schedule.
        assert_eq!(
            b.view_key(3, 9).unwrap().check(&s),
            Err(EpochKeyError::Mismatch(3))
        );
        assert_eq!(EpochSchedule::from_bytes(&s.to_bytes()).unwrap(), s);
        assert_eq!(s.to_bytes().len(), EPOCH_SCHEDULE_SIZE);
        // Deterministic from the viewing key.
        assert_eq!(fvk_a.epoch_schedule(), s);
    }

    #[test]
    fn agreement_matches_between_secret_and_public_key() {
        let (_, t) = tree();
        let sk = t.secret_key(9).unwrap();
        let esk = pallas::Scalar::from(12345u64);
        let epk = (key_agreement_generator() * esk).to_affine();
        assert_eq!(
            sk.agree(&epk),
            (sk.public_key().to_affine() * esk).to_affine()
        );
    }

    #[test]
    fn bad_ranges_and_encodings_are_refused() {
        let (fvk, t) = tree();
        assert_eq!(t.view_key(0, 64), Err(EpochKeyError::OutOfRange(64)));
        assert_eq!(
            t.view_key(9, 3),
            Err(EpochKeyError::EmptyRange { first: 9, last: 3 })
        );
        assert_eq!(t.secret_key(EPOCHS), Err(EpochKeyError::OutOfRange(64)));
        let schedule = fvk.epoch_schedule();
        assert_eq!(schedule.key(64), Err(EpochKeyError::OutOfRange(64)));

        let key = t.view_key(5, 17).unwrap();
        let good = key.to_bytes();
        let refused = |bytes: Vec<u8>| EpochViewKey::from_bytes(&bytes).unwrap_err();
        let mut v = good.clone();
        v[0] = 2;
        assert!(matches!(
            refused(v),
            EpochKeyError::Decode(DecodeError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            refused(good[..good.len() - 1].to_vec()),
            EpochKeyError::Decode(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            refused([good.clone(), vec![0]].concat()),
            EpochKeyError::Decode(DecodeError::TrailingBytes(1))
        ));
        // No nodes, or more than any range needs (refused before anything is read).
        for count in [0, 13, 255] {
            let mut v = good.clone();
            v[1] = count;
            assert!(matches!(refused(v), EpochKeyError::NotACover(_)), "{count}");
        }
        // A node below the leaves, or past its level's width.
        let mut v = good.clone();
        v[2] = 7;
        assert!(matches!(refused(v), EpochKeyError::NotACover(_)));
        let mut v = good.clone();
        v[3..7].copy_from_slice(&100u32.to_le_bytes());
        assert!(matches!(refused(v), EpochKeyError::NotACover(_)));
        // Two nodes swapped: not left to right.
        let node = 1 + 4 + 32;
        let mut v = good[..2].to_vec();
        v.extend_from_slice(&good[2 + node..2 + 2 * node]);
        v.extend_from_slice(&good[2..2 + node]);
        v.extend_from_slice(&good[2 + 2 * node..]);
        assert!(matches!(refused(v), EpochKeyError::NotACover(_)));
        // A range given as leaves where one inner node would do.
        let leaves: Vec<EpochNode> = (4..=7).map(|e| t.0.leaf(e).unwrap()).collect();
        let split = EpochViewKey { nodes: leaves };
        assert!(matches!(
            refused(split.to_bytes()),
            EpochKeyError::NotACover(_)
        ));
        // A key whose secrets were altered decodes (secrets are opaque) but fails the
        // check against the registered schedule.
        let mut v = good.clone();
        v[10] ^= 1;
        let altered = EpochViewKey::from_bytes(&v).unwrap();
        assert!(matches!(
            altered.check(&schedule),
            Err(EpochKeyError::Mismatch(_))
        ));
        // Schedules: short, long, an invalid point.
        let s = schedule.to_bytes();
        assert!(EpochSchedule::from_bytes(&s[..s.len() - 32]).is_err());
        assert!(EpochSchedule::from_bytes(&[s.clone(), s[..32].to_vec()].concat()).is_err());
        let mut bad = s.clone();
        bad[..32].copy_from_slice(&[0u8; 32]);
        assert_eq!(
            EpochSchedule::from_bytes(&bad),
            Err(DecodeError::IdentityPoint("epoch public key"))
        );
    }
}
