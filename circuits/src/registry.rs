//! The participant registry: the set of addresses allowed to send and receive.
//!
//! A sparse Merkle tree of depth [`REGISTRY_DEPTH`] whose leaves are
//! `Poseidon(pk.x, pk.y)` for registered addresses and `0` for free slots. The operator
//! adds and removes participants (KYC); the root is a public input of every action
//! proof, and validators accept only recent roots, so once a removal's root is current a
//! removed participant can neither spend nor receive.

use std::collections::HashMap;

use pasta_curves::pallas;

use crate::{constants::REGISTRY_DEPTH, keys::Address, tree::AuthPath, tree::SparseMerkleTree};

crate::encoding::field_newtype!(
    /// A registry root.
    RegistryRoot, "registry root"
);

/// A membership path in the registry.
pub type RegistryPath = AuthPath<REGISTRY_DEPTH>;

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
    slots: HashMap<[u8; 32], u64>,
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

    /// Registers `addr`; returns its slot.
    pub fn add(&mut self, addr: &Address) -> Result<u64, RegistryError> {
        let key = addr.to_bytes();
        if self.slots.contains_key(&key) {
            return Err(RegistryError::AlreadyRegistered);
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None if self.next < SparseMerkleTree::<REGISTRY_DEPTH>::capacity() => {
                self.next += 1;
                self.next - 1
            }
            None => return Err(RegistryError::Full),
        };
        self.tree.set(slot, addr.registry_leaf());
        self.slots.insert(key, slot);
        Ok(slot)
    }

    /// Removes `addr`: its leaf becomes empty, so no proof against a later root can
    /// show it as a member.
    pub fn remove(&mut self, addr: &Address) -> Result<(), RegistryError> {
        let slot = self
            .slots
            .remove(&addr.to_bytes())
            .ok_or(RegistryError::NotRegistered)?;
        self.tree.set(slot, pallas::Base::zero());
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

    /// The membership path of a registered address.
    pub fn path(&self, addr: &Address) -> Result<RegistryPath, RegistryError> {
        let slot = self
            .slots
            .get(&addr.to_bytes())
            .ok_or(RegistryError::NotRegistered)?;
        Ok(self.tree.path(*slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;

    #[test]
    fn removal_invalidates_membership() {
        let a = SpendingKey::random(&mut rand::rng())
            .full_viewing_key()
            .address();
        let b = SpendingKey::random(&mut rand::rng())
            .full_viewing_key()
            .address();
        let mut reg = ParticipantRegistry::new();
        let empty_root = reg.root();
        reg.add(&a).unwrap();
        reg.add(&b).unwrap();
        assert_eq!(reg.add(&a), Err(RegistryError::AlreadyRegistered));
        let path_a = reg.path(&a).unwrap();
        assert_eq!(path_a.root(a.registry_leaf()), reg.root().inner());
        reg.remove(&a).unwrap();
        assert_ne!(path_a.root(a.registry_leaf()), reg.root().inner());
        assert_eq!(reg.path(&a), Err(RegistryError::NotRegistered));
        reg.remove(&b).unwrap();
        assert_eq!(reg.root(), empty_root);
    }
}
