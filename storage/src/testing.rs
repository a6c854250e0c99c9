//! Damage done to a store on purpose, for tests of how its readers handle corruption
//! (behind the `test-utils` feature; no production build has it).

use crate::{schema::meta, schema::Cf, Staged, StorageError, Store};

/// Overwrites the "last removal" record with bytes that do not decode, so the next
/// read of it is [`StorageError::Corrupt`].
pub fn corrupt_last_removal(store: &Store) -> Result<(), StorageError> {
    let mut s = Staged::new(store);
    s.put(Cf::Meta, meta::LAST_REMOVAL.to_vec(), vec![1, 2, 3]);
    store.commit(s)
}
