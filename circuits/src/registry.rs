//! The participant registry: the set of addresses allowed to send and receive.
//!
//! A sparse Merkle tree of depth [`REGISTRY_DEPTH`] whose leaves go in pairs: a
//! participant in slot `s` has its address leaf `Poseidon(pk.x, pk.y)` at leaf `2s` and
//! the root of its [`EpochSchedule`] at leaf `2s + 1`; a free slot has `0` at both. So
//! the registry commits to each participant's schedule beside its address, and a
//! membership proof opens it for free: the epoch root is the path's first sibling, which
//! the circuit takes from the schedule it opens and whose position bit it pins to 0
//! (the address is the left leaf). An address leaf is never an epoch root (the two are
//! Poseidon outputs in different domains), so no pair can be read the other way round.
//!
//! The operator adds and removes participants (KYC); the root is a public input of every
//! action proof, and validators accept only recent roots, so once a removal's root is
//! current a removed participant can neither spend nor receive.

use std::collections::HashMap;

use pasta_curves::pallas;

use crate::{
    constants::REGISTRY_DEPTH,
    epoch::{EpochRoot, EpochSchedule},
    keys::Address,
    tree::AuthPath,
    tree::SparseMerkleTree,
};

crate::encoding::field_newtype!(
    /// A registry root.
    RegistryRoot, "registry root"
);

/// A membership path in the registry.
pub type RegistryPath = AuthPath<REGISTRY_DEPTH>;

/// Participant slots in the registry: two leaves each, `2^(REGISTRY_DEPTH − 1)`.
pub const REGISTRY_SLOTS: u64 = 1 << (REGISTRY_DEPTH - 1);

/// The registry leaves of participant slot `slot` with address `address` and epoch
/// schedule root `epoch_root`: `(index, value)` of its address leaf and of its epoch
/// root.
pub fn slot_leaves(
    slot: u64,
    address: &Address,
    epoch_root: &EpochRoot,
) -> [(u64, pallas::Base); 2] {
    [
        (2 * slot, address.registry_leaf()),
        (2 * slot + 1, epoch_root.inner()),
    ]
}

/// The registry leaves of a free slot.
pub fn free_slot_leaves(slot: u64) -> [(u64, pallas::Base); 2] {
    [
        (2 * slot, pallas::Base::zero()),
        (2 * slot + 1, pallas::Base::zero()),
    ]
}

/// What a proof needs to show that an address is registered: its path in the registry
/// and the epoch schedule registered with it (whose root its leaf commits to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The path from the address's leaf to the registry root.
    pub path: RegistryPath,
    /// The participant's registered epoch schedule.
    pub schedule: EpochSchedule,
}

impl Membership {
    /// The registry root this membership leads to for `address`: `None` unless the path
    /// starts at an address leaf (an even index) whose sibling is the schedule's root,
    /// as the circuit requires.
    pub fn root(&self, address: &Address) -> Option<pallas::Base> {
        (self.path.position.is_multiple_of(2)
            && self.path.siblings[0] == self.schedule.root().inner())
        .then(|| self.path.root(address.registry_leaf()))
    }

    /// The root of the registered epoch schedule.
    pub fn epoch_root(&self) -> EpochRoot {
        self.schedule.root()
    }
}

/// Registry update errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The address is already registered.
    #[error("address is already registered")]
    AlreadyRegistered,
    /// The address is not registered.
    #[error("address is not registered")]
    NotRegistered,
    /// No free slot remains.
    #[error("participant registry is full")]
    Full,
}

/// The participant registry with membership paths.
#[derive(Clone, Debug)]
pub struct ParticipantRegistry {
    tree: SparseMerkleTree<REGISTRY_DEPTH>,
    slots: HashMap<[u8; 32], (u64, EpochSchedule)>,
    free: Vec<u64>,
    next: u64,
}

impl Default for ParticipantRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl ParticipantRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        ParticipantRegistry {
            tree: SparseMerkleTree::new(pallas::Base::zero()),
            slots: HashMap::new(),
            free: Vec::new(),
            next: 0,
        }
    }

    /// Registers `addr` with its epoch schedule; returns its slot.
    pub fn add(&mut self, addr: &Address, schedule: EpochSchedule) -> Result<u64, RegistryError> {
        let key = addr.to_bytes();
        if self.slots.contains_key(&key) {
            return Err(RegistryError::AlreadyRegistered);
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None if self.next < REGISTRY_SLOTS => {
                self.next += 1;
                self.next - 1
            }
            None => return Err(RegistryError::Full),
        };
        self.tree
            .set_many(&slot_leaves(slot, addr, &schedule.root()));
        self.slots.insert(key, (slot, schedule));
        Ok(slot)
    }

    /// Removes `addr`: its leaf becomes empty, so no proof against a later root can
    /// show it as a member.
    pub fn remove(&mut self, addr: &Address) -> Result<(), RegistryError> {
        let (slot, _) = self
            .slots
            .remove(&addr.to_bytes())
            .ok_or(RegistryError::NotRegistered)?;
        self.tree.set_many(&free_slot_leaves(slot));
        self.free.push(slot);
        Ok(())
    }

    /// Whether `addr` is registered.
    pub fn contains(&self, addr: &Address) -> bool {
        self.slots.contains_key(&addr.to_bytes())
    }

    /// The current root.
    pub fn root(&self) -> RegistryRoot {
        RegistryRoot(self.tree.root())
    }

    /// The membership of a registered address: its path and registered schedule.
    pub fn membership(&self, addr: &Address) -> Result<Membership, RegistryError> {
        let (slot, schedule) = self
            .slots
            .get(&addr.to_bytes())
            .ok_or(RegistryError::NotRegistered)?;
        Ok(Membership {
            path: self.tree.path(2 * *slot),
            schedule: schedule.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;

    #[test]
    fn removal_invalidates_membership() {
        let fvk_a = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        let fvk_b = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        let (a, b) = (fvk_a.address(), fvk_b.address());
        let mut reg = ParticipantRegistry::new();
        let empty_root = reg.root();
        reg.add(&a, fvk_a.epoch_schedule()).unwrap();
        reg.add(&b, fvk_b.epoch_schedule()).unwrap();
        assert_eq!(
            reg.add(&a, fvk_a.epoch_schedule()),
            Err(RegistryError::AlreadyRegistered)
        );
        let member_a = reg.membership(&a).unwrap();
        assert_eq!(member_a.root(&a), Some(reg.root().inner()));
        // The registry commits to the schedule: another one does not lead to the root.
        let other = Membership {
            schedule: fvk_b.epoch_schedule(),
            ..member_a.clone()
        };
        assert_eq!(other.root(&a), None);
        // Nor does the schedule's leaf read as an address leaf.
        let mut odd = member_a.clone();
        odd.path.position += 1;
        assert_eq!(odd.root(&a), None);
        reg.remove(&a).unwrap();
        assert_ne!(member_a.root(&a), Some(reg.root().inner()));
        assert_eq!(reg.membership(&a), Err(RegistryError::NotRegistered));
        reg.remove(&b).unwrap();
        assert_eq!(reg.root(), empty_root);
    }
}
