//! Submitters whose transactions fail verification are throttled (review M3, audit
//! F6): a transaction with a junk proof costs every validator a batch check, and
//! admission cannot tell it from a good one. Each such failure puts a strike on the
//! participant that submitted it (its certificate's id, from the gRPC caller); strikes
//! leak away one per [`STRIKE_DECAY`]; with [`MAX_STRIKES`] on record, the participant's
//! submissions are refused (`THROTTLED`, with the delay) until one leaks away. Other
//! participants are not affected, and a participant that submits only valid
//! transactions is never throttled.

use std::{collections::HashMap, time::Duration, time::SystemTime};

use parking_lot::Mutex;
use sable_primitives::PoolCondition;

/// Failed verifications on record before a submitter is refused.
pub const MAX_STRIKES: u32 = 8;
/// How long a strike stays on record.
pub const STRIKE_DECAY: Duration = Duration::from_secs(15);
/// Submitters with strikes remembered at most (the least recently struck go first).
const MAX_TRACKED: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Strikes {
    /// Strikes on record as of `at`.
    count: u32,
    /// When they were last counted (decay runs from here).
    at: SystemTime,
}

impl Strikes {
    /// Strikes left at `now`, and the time of the last whole decay step.
    fn decayed(self, now: SystemTime) -> Strikes {
        let elapsed = now.duration_since(self.at).unwrap_or_default();
        let steps = (elapsed.as_millis() / STRIKE_DECAY.as_millis().max(1)) as u32;
        if steps == 0 {
            return self;
        }
        Strikes {
            count: self.count.saturating_sub(steps),
            at: self.at + STRIKE_DECAY * steps,
        }
    }
}

/// Strikes per submitter.
#[derive(Debug, Default)]
pub struct SubmitterThrottle {
    strikes: Mutex<HashMap<String, Strikes>>,
}

impl SubmitterThrottle {
    /// A transaction `submitter` sent failed verification at `now`.
    pub fn strike(&self, submitter: &str, now: SystemTime) {
        let mut map = self.strikes.lock();
        if map.len() >= MAX_TRACKED && !map.contains_key(submitter) {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.at).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        let s = map
            .get(submitter)
            .map_or(Strikes { count: 0, at: now }, |s| s.decayed(now));
        map.insert(
            submitter.to_string(),
            Strikes {
                count: s.count.saturating_add(1),
                at: if s.count == 0 { now } else { s.at },
            },
        );
    }

    /// Whether `submitter` may submit at `now`.
    pub fn check(&self, submitter: &str, now: SystemTime) -> Result<(), PoolCondition> {
        let mut map = self.strikes.lock();
        let Some(s) = map.get(submitter).map(|s| s.decayed(now)) else {
            return Ok(());
        };
        if s.count == 0 {
            map.remove(submitter);
            return Ok(());
        }
        map.insert(submitter.to_string(), s);
        if s.count < MAX_STRIKES {
            return Ok(());
        }
        let next = (s.at + STRIKE_DECAY)
            .duration_since(now)
            .unwrap_or_default();
        Err(PoolCondition::Throttled {
            failed: s.count,
            retry_after_s: next.as_secs().max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn failures_throttle_their_submitter_only_and_leak_away() {
        let t = SubmitterThrottle::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for i in 0..MAX_STRIKES - 1 {
            t.strike("bank-a", t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(t.check("bank-a", t0).is_ok(), "under the limit");
        t.strike("bank-a", t0);
        assert_eq!(
            t.check("bank-a", t0 + Duration::from_secs(1)),
            Err(PoolCondition::Throttled {
                failed: MAX_STRIKES,
                retry_after_s: 14
            })
        );
        assert!(
            t.check("bank-b", t0).is_ok(),
            "another bank is not affected"
        );
        // One strike leaks away per decay step: after one, it may submit again.
        assert!(t.check("bank-a", t0 + STRIKE_DECAY).is_ok());
        // And with every strike gone it is forgotten.
        assert!(t
            .check("bank-a", t0 + STRIKE_DECAY * (MAX_STRIKES + 1))
            .is_ok());
        assert!(t.strikes.lock().is_empty());
    }

    #[test]
    fn the_record_is_bounded() {
        let t = SubmitterThrottle::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for i in 0..MAX_TRACKED + 10 {
            t.strike(&format!("bank-{i}"), t0 + Duration::from_millis(i as u64));
        }
        assert_eq!(t.strikes.lock().len(), MAX_TRACKED);
    }
}
