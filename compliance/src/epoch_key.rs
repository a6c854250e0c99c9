//! An epoch view key as a bank hands it to an auditor: the key for a range of epochs,
//! and the participant it is for, in one JSON file; and its check against the schedule
//! the chain registered for that participant.
//!
//! The file names the participant so that its holder knows whose activity it opens,
//! and the check makes the name good: every epoch the key covers must give the public
//! key the registry holds for that participant in that epoch
//! ([`EpochViewKey::check`]), which a node's registry answer proves (the client checks
//! that the path and the schedule lead from the address to the root). A bank cannot
//! hand over a key that opens nothing, nor another participant's.

use sable_circuits::{
    epoch::{Epoch, EpochKeyError, EpochSchedule, EpochViewKey},
    keys::{Address, FullViewingKey},
};
use serde::{Deserialize, Serialize};

use crate::recipient::{bytes32, unhex};

/// The file format's version.
pub const EPOCH_KEY_FILE_VERSION: u32 = 1;

/// Why an issued epoch key cannot be made, read or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuedEpochKeyError {
    /// The range or the key is invalid, or does not match the registered schedule.
    #[error(transparent)]
    Key(#[from] EpochKeyError),
    /// The file is not an issued epoch key; names the field.
    #[error("malformed epoch key file: {0}")]
    Malformed(String),
}

/// An epoch view key and the participant whose activity it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedEpochKey {
    /// The participant (its registered address).
    pub participant: Address,
    /// The key.
    pub key: EpochViewKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    version: u32,
    participant: String,
    first_epoch: Epoch,
    last_epoch: Epoch,
    key: String,
}

impl IssuedEpochKey {
    /// The key of the participant whose full viewing key is `fvk` for epochs
    /// `first..=last`.
    pub fn issue(
        fvk: &FullViewingKey,
        first: Epoch,
        last: Epoch,
    ) -> Result<Self, IssuedEpochKeyError> {
        Ok(IssuedEpochKey {
            participant: fvk.address(),
            key: fvk.epoch_tree().view_key(first, last)?,
        })
    }

    /// Checks the key against `schedule`, the one registered for
    /// [`IssuedEpochKey::participant`].
    pub fn check(&self, schedule: &EpochSchedule) -> Result<(), IssuedEpochKeyError> {
        Ok(self.key.check(schedule)?)
    }

    /// The file: version, participant, the range (for a reader), and the key, in hex.
    pub fn to_json(&self) -> String {
        let range = self.key.epochs();
        let wire = Wire {
            version: EPOCH_KEY_FILE_VERSION,
            participant: hex::encode(self.participant.to_bytes()),
            first_epoch: *range.start(),
            last_epoch: *range.end(),
            key: hex::encode(self.key.to_bytes()),
        };
        serde_json::to_string_pretty(&wire).unwrap_or_else(|_| unreachable!("plain data"))
    }

    /// Reads [`IssuedEpochKey::to_json`]: the range it states must be the key's.
    pub fn from_json(text: &str) -> Result<Self, IssuedEpochKeyError> {
        let bad = IssuedEpochKeyError::Malformed;
        let w: Wire =
            serde_json::from_str(text).map_err(|e| bad(format!("not an epoch key: {e}")))?;
        if w.version != EPOCH_KEY_FILE_VERSION {
            return Err(bad(format!(
                "version {} (this software reads {EPOCH_KEY_FILE_VERSION})",
                w.version
            )));
        }
        let participant =
            Address::from_bytes(&bytes32("participant", &w.participant).map_err(bad)?)
                .map_err(|e| bad(format!("participant: {e}")))?;
        let key = EpochViewKey::from_bytes(&unhex("key", &w.key).map_err(bad)?)?;
        if key.epochs() != (w.first_epoch..=w.last_epoch) {
            return Err(bad(format!(
                "the file says epochs {}..={}, the key opens {:?}",
                w.first_epoch,
                w.last_epoch,
                key.epochs()
            )));
        }
        Ok(IssuedEpochKey { participant, key })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sable_circuits::keys::SpendingKey;

    #[test]
    fn an_issued_key_round_trips_and_checks_only_against_its_participant() {
        let a = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        let b = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        let issued = IssuedEpochKey::issue(&a, 4, 11).unwrap();
        let back = IssuedEpochKey::from_json(&issued.to_json()).unwrap();
        assert_eq!(back, issued);
        back.check(&a.epoch_schedule()).unwrap();
        assert_eq!(
            back.check(&b.epoch_schedule()),
            Err(IssuedEpochKeyError::Key(EpochKeyError::Mismatch(4)))
        );
        assert!(matches!(
            IssuedEpochKey::issue(&a, 11, 4),
            Err(IssuedEpochKeyError::Key(EpochKeyError::EmptyRange { .. }))
        ));
    }

    #[test]
    fn malformed_files_name_what_is_wrong() {
        let a = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        let good = IssuedEpochKey::issue(&a, 4, 11).unwrap().to_json();
        let edit = |from: &str, to: &str| {
            let text = good.replacen(from, to, 1);
            assert_ne!(text, good, "{from} not in the file");
            IssuedEpochKey::from_json(&text).unwrap_err().to_string()
        };
        assert!(edit("\"version\": 1", "\"version\": 2").contains("version 2"));
        assert!(edit("\"last_epoch\": 11", "\"last_epoch\": 12").contains("the file says"));
        assert!(edit("\"participant\": \"", "\"participant\": \"zz").contains("participant"));
        assert!(edit("\"key\": \"01", "\"key\": \"02").contains("version"));
        assert!(edit("\"version\"", "\"extra\": 0, \"version\"").contains("unknown field"));
        assert!(IssuedEpochKey::from_json("not json").is_err());
    }
}
