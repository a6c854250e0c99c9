//! A write overlay over the committed state: reads see staged writes first.

use std::collections::BTreeMap;

use crate::{schema::Cf, Row, StorageError, Store};

/// Writes staged for one atomic commit.
pub struct Staged<'s> {
    store: &'s Store,
    writes: BTreeMap<(CfKey, Vec<u8>), Option<Vec<u8>>>,
}

/// Orderable column-family key for the overlay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CfKey(u8);

fn cf_key(cf: Cf) -> CfKey {
    CfKey(Cf::ALL.iter().position(|c| *c == cf).unwrap_or(0) as u8)
}

impl<'s> Staged<'s> {
    /// An empty overlay over `store`.
    pub fn new(store: &'s Store) -> Self {
        Staged {
            store,
            writes: BTreeMap::new(),
        }
    }

    /// The committed store underneath.
    pub fn store(&self) -> &'s Store {
        self.store
    }

    /// Reads through the overlay.
    pub(crate) fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.writes.get(&(cf_key(cf), key.to_vec())) {
            Some(v) => Ok(v.clone()),
            None => self.store.get(cf, key),
        }
    }

    /// Stages a write.
    pub(crate) fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes
            .insert((cf_key(cf), key.into()), Some(value.into()));
    }

    /// Stages a deletion.
    pub(crate) fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.writes.insert((cf_key(cf), key.into()), None);
    }

    /// Every `(key, value)` of a column family in key order, staged writes applied.
    pub(crate) fn scan(&self, cf: Cf) -> Result<Vec<Row>, StorageError> {
        let mut rows: BTreeMap<Vec<u8>, Vec<u8>> = self.store.scan(cf)?.into_iter().collect();
        let c = cf_key(cf);
        for ((wc, k), v) in &self.writes {
            if *wc != c {
                continue;
            }
            match v {
                Some(v) => rows.insert(k.clone(), v.clone()),
                None => rows.remove(k),
            };
        }
        Ok(rows.into_iter().collect())
    }

    /// The row with the largest key at or below `key`, staged writes applied.
    pub(crate) fn floor_row(&self, cf: Cf, key: &[u8]) -> Result<Option<Row>, StorageError> {
        let c = cf_key(cf);
        let staged = self
            .writes
            .range((c, Vec::new())..=(c, key.to_vec()))
            .rev()
            .find_map(|((_, k), v)| v.as_ref().map(|v| (k.clone(), v.clone())));
        let mut committed = None;
        for row in self.store.rows_down_from(cf, key)? {
            let (k, v) = row?;
            // A staged write shadows the committed row (a put is among `staged`).
            if !self.writes.contains_key(&(c, k.clone())) {
                committed = Some((k, v));
                break;
            }
        }
        Ok(match (staged, committed) {
            (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
            (a, b) => a.or(b),
        })
    }

    /// Number of staged writes.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub(crate) fn into_writes(self) -> impl Iterator<Item = ((Cf, Vec<u8>), Option<Vec<u8>>)> {
        self.writes
            .into_iter()
            .map(|((c, k), v)| ((Cf::ALL[c.0 as usize], k), v))
    }
}
