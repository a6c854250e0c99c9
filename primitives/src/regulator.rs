//! The chain's schedule of regulator keys: the genesis key, then each rotation an
//! operator command scheduled, from its height on.
//!
//! Every transaction names the regulator key its proofs encrypt to (its header), and
//! its proofs are verified against that key. Which key a block at height `h` accepts
//! is [`RegulatorSchedule::key_at`]: execution applies a transaction only where the
//! two agree, so notes before a rotation stay readable with the old key only, and
//! notes after it with the new key only, and no sender can choose a key of its own.
//!
//! A rotation is refused unless it takes effect after the block that schedules it,
//! after every rotation already scheduled, and with a key the chain has never used (a
//! retired key, perhaps retired because it leaked, never returns).

use sable_circuits::keys::RegulatorPublicKey;

/// One scheduled rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegulatorRotation {
    /// The first height whose blocks take only `key`.
    pub from_height: u64,
    /// The new key.
    pub key: RegulatorPublicKey,
    /// The height of the block whose operator command scheduled it.
    pub scheduled_at: u64,
}

/// Why a rotation cannot be scheduled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// It would take effect at or before the block scheduling it.
    #[error("a rotation must take effect after the block that schedules it (height {at}), not at {from_height}")]
    NotInFuture {
        /// The height it names.
        from_height: u64,
        /// The scheduling block's height.
        at: u64,
    },
    /// It would take effect at or before a rotation already scheduled.
    #[error("a rotation must take effect after the last one scheduled (height {last}), not at {from_height}")]
    NotAfterLast {
        /// The height it names.
        from_height: u64,
        /// The last scheduled rotation's height.
        last: u64,
    },
    /// The key is the genesis key or one already scheduled.
    #[error("regulator key {0} was already the chain's (a retired key never returns)")]
    Reused(String),
}

/// The chain's regulator keys by height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegulatorSchedule {
    genesis: RegulatorPublicKey,
    /// Strictly increasing `from_height`s, each above 0.
    rotations: Vec<RegulatorRotation>,
}

impl RegulatorSchedule {
    /// The schedule of a chain whose genesis key is `genesis` and that has rotated
    /// nothing yet.
    pub fn new(genesis: RegulatorPublicKey) -> Self {
        RegulatorSchedule {
            genesis,
            rotations: Vec::new(),
        }
    }

    /// `genesis`, then `rotations` in the order they were scheduled (each checked as
    /// [`RegulatorSchedule::schedule`] checks it).
    pub fn with_rotations(
        genesis: RegulatorPublicKey,
        rotations: impl IntoIterator<Item = RegulatorRotation>,
    ) -> Result<Self, RotationError> {
        let mut s = Self::new(genesis);
        for r in rotations {
            s.schedule(r)?;
        }
        Ok(s)
    }

    /// The key a block at `height` accepts.
    pub fn key_at(&self, height: u64) -> RegulatorPublicKey {
        self.rotations
            .iter()
            .rev()
            .find(|r| r.from_height <= height)
            .map_or(self.genesis, |r| r.key)
    }

    /// The genesis key.
    pub fn genesis(&self) -> RegulatorPublicKey {
        self.genesis
    }

    /// The rotations, in order.
    pub fn rotations(&self) -> &[RegulatorRotation] {
        &self.rotations
    }

    /// Every key with the first height it applies from (the genesis key from 0).
    pub fn epochs(&self) -> impl Iterator<Item = (u64, RegulatorPublicKey)> + '_ {
        std::iter::once((0, self.genesis))
            .chain(self.rotations.iter().map(|r| (r.from_height, r.key)))
    }

    /// The heights `[from, to)` over which `key` is the chain's key (`to` is `None`
    /// while it still is); `None` when the chain never used it.
    pub fn span_of(&self, key: &RegulatorPublicKey) -> Option<(u64, Option<u64>)> {
        let epochs: Vec<_> = self.epochs().collect();
        let i = epochs.iter().position(|(_, k)| k == key)?;
        Some((epochs[i].0, epochs.get(i + 1).map(|(h, _)| *h)))
    }

    /// Whether `rotation` may be scheduled now (see the module docs).
    pub fn check(&self, rotation: &RegulatorRotation) -> Result<(), RotationError> {
        if rotation.from_height <= rotation.scheduled_at {
            return Err(RotationError::NotInFuture {
                from_height: rotation.from_height,
                at: rotation.scheduled_at,
            });
        }
        if let Some(last) = self.rotations.last() {
            if rotation.from_height <= last.from_height {
                return Err(RotationError::NotAfterLast {
                    from_height: rotation.from_height,
                    last: last.from_height,
                });
            }
        }
        if self.epochs().any(|(_, k)| k == rotation.key) {
            return Err(RotationError::Reused(rotation.key.to_string()));
        }
        Ok(())
    }

    /// Schedules `rotation` if [`RegulatorSchedule::check`] passes it.
    pub fn schedule(&mut self, rotation: RegulatorRotation) -> Result<(), RotationError> {
        self.check(&rotation)?;
        self.rotations.push(rotation);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sable_circuits::keys::RegulatorSecretKey;

    fn key(n: u8) -> RegulatorPublicKey {
        let mut b = [0; 32];
        b[0] = n;
        RegulatorSecretKey::from_bytes(&b).unwrap().public_key()
    }

    fn rotation(from_height: u64, k: u8, scheduled_at: u64) -> RegulatorRotation {
        RegulatorRotation {
            from_height,
            key: key(k),
            scheduled_at,
        }
    }

    #[test]
    fn each_height_takes_the_key_scheduled_for_it() {
        let s =
            RegulatorSchedule::with_rotations(key(1), [rotation(10, 2, 3), rotation(20, 3, 12)])
                .unwrap();
        for (h, k) in [(0, 1), (9, 1), (10, 2), (19, 2), (20, 3), (u64::MAX, 3)] {
            assert_eq!(s.key_at(h), key(k), "height {h}");
        }
        assert_eq!(s.span_of(&key(1)), Some((0, Some(10))));
        assert_eq!(s.span_of(&key(2)), Some((10, Some(20))));
        assert_eq!(s.span_of(&key(3)), Some((20, None)));
        assert_eq!(s.span_of(&key(4)), None);
        assert_eq!(s.epochs().count(), 3);
    }

    #[test]
    fn careless_rotations_are_refused_and_change_nothing() {
        let mut s = RegulatorSchedule::with_rotations(key(1), [rotation(10, 2, 3)]).unwrap();
        let before = s.clone();
        assert_eq!(
            s.schedule(rotation(5, 3, 5)),
            Err(RotationError::NotInFuture {
                from_height: 5,
                at: 5
            })
        );
        assert_eq!(
            s.schedule(rotation(10, 3, 4)),
            Err(RotationError::NotAfterLast {
                from_height: 10,
                last: 10
            })
        );
        assert!(matches!(
            s.schedule(rotation(30, 1, 4)),
            Err(RotationError::Reused(_))
        ));
        assert!(matches!(
            s.schedule(rotation(30, 2, 4)),
            Err(RotationError::Reused(_))
        ));
        assert_eq!(s, before);
        s.schedule(rotation(11, 3, 4)).unwrap();
        assert_eq!(s.key_at(11), key(3));
    }
}
