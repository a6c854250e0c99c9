//! Evidence of Byzantine validators that simplex finds (conflicting notarizes or
//! finalizes, a nullify and a finalize for one view from the same validator): each is
//! logged at `error` with the offender's key and counted in
//! `sable_consensus_faults{validator, kind}` before it goes on to marshal. Simplex itself
//! already ignores the second vote and blocks the sender at the p2p layer.

use commonware_actor::Feedback;
use commonware_consensus::{
    simplex::types::{Activity, Attributable as _},
    Reporter,
};
use commonware_utils::ordered::{Quorum as _, Set};

use super::{PublicKey, D, S};
use crate::telemetry::{metrics, FaultLabel};

/// Wraps the reporter simplex reports to, naming equivocators on the way.
#[derive(Clone)]
pub struct EvidenceReporter<R> {
    inner: R,
    participants: Set<PublicKey>,
}

impl<R> EvidenceReporter<R> {
    /// `inner`, for the validator set `participants` (in consensus order).
    pub fn new(inner: R, participants: Set<PublicKey>) -> Self {
        EvidenceReporter {
            inner,
            participants,
        }
    }
}

/// The kind of fault an activity proves, and who committed it; `None` for honest
/// activity.
fn fault(activity: &Activity<S, D>) -> Option<(&'static str, u32)> {
    let (kind, signer) = match activity {
        Activity::ConflictingNotarize(e) => ("conflicting_notarize", e.signer()),
        Activity::ConflictingFinalize(e) => ("conflicting_finalize", e.signer()),
        Activity::NullifyFinalize(e) => ("nullify_finalize", e.signer()),
        _ => return None,
    };
    Some((kind, signer.get()))
}

impl<R: Reporter<Activity = Activity<S, D>>> Reporter for EvidenceReporter<R> {
    type Activity = Activity<S, D>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if let Some((kind, index)) = fault(&activity) {
            let validator = self
                .participants
                .key(commonware_utils::Participant::new(index))
                .map_or_else(|| format!("#{index}"), |k| hex::encode(k.as_ref()));
            tracing::error!(%validator, kind, "Byzantine validator: evidence of equivocation");
            metrics()
                .consensus_faults
                .get_or_create(&FaultLabel {
                    validator,
                    kind: kind.into(),
                })
                .inc();
        }
        self.inner.report(activity)
    }
}
