//! Crashes and failures injected at named steps of applying a block, for tests of
//! atomicity and of what a node does when it cannot execute. [`FailPoint::from_env`]
//! exists only with the `failpoints` feature, which only test builds enable: a
//! production binary never reads the variable.

/// Where a crash may be injected while applying a block (tests of atomicity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyStep {
    /// Operator commands staged.
    Admin,
    /// Transactions staged.
    Transactions,
    /// Trees staged.
    Trees,
    /// Everything staged, nothing written.
    BeforeCommit,
    /// Written, not yet reported to consensus.
    AfterCommit,
}

impl ApplyStep {
    /// Parses a step name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "admin" => ApplyStep::Admin,
            "transactions" => ApplyStep::Transactions,
            "trees" => ApplyStep::Trees,
            "before-commit" => ApplyStep::BeforeCommit,
            "after-commit" => ApplyStep::AfterCommit,
            _ => return None,
        })
    }
}

/// What happens at a failpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailAction {
    /// The process aborts (a crash, a power cut).
    Abort,
    /// Applying the block fails with an error and changes nothing (a full disk, a
    /// storage fault).
    Error,
    /// This node's execution of the block differs from everyone else's (a bug, a
    /// corrupted disk): its state root there is not the chain's.
    Diverge,
}

/// A fault to inject at `step` of the block at `height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailPoint {
    /// Block height.
    pub height: u64,
    /// Step.
    pub step: ApplyStep,
    /// What happens there.
    pub action: FailAction,
}

impl FailPoint {
    /// Reads `SABLE_FAILPOINT=<height>:<step>` (abort there),
    /// `<height>:<step>:error` (fail there) or `<height>:<step>:diverge` (reach another
    /// state root at that block). Compiled in only with the `failpoints`
    /// feature, which only test builds enable: a production binary never reads it.
    #[cfg(feature = "failpoints")]
    pub fn from_env() -> Option<Self> {
        Self::parse(&std::env::var("SABLE_FAILPOINT").ok()?)
    }

    /// Parses `<height>:<step>[:error|:diverge]`.
    pub fn parse(v: &str) -> Option<Self> {
        let mut parts = v.split(':');
        let height = parts.next()?.parse().ok()?;
        let step = ApplyStep::parse(parts.next()?)?;
        let action = match parts.next() {
            None => FailAction::Abort,
            Some("error") => FailAction::Error,
            Some("diverge") => FailAction::Diverge,
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(FailPoint {
            height,
            step,
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failpoints_parse_strictly() {
        assert_eq!(
            FailPoint::parse("7:trees"),
            Some(FailPoint {
                height: 7,
                step: ApplyStep::Trees,
                action: FailAction::Abort
            })
        );
        assert_eq!(
            FailPoint::parse("7:before-commit:error").map(|f| f.action),
            Some(FailAction::Error)
        );
        assert_eq!(
            FailPoint::parse("7:trees:diverge").map(|f| f.action),
            Some(FailAction::Diverge)
        );
        for bad in [
            "",
            "7",
            "x:trees",
            "7:nowhere",
            "7:trees:later",
            "7:trees:error:1",
        ] {
            assert_eq!(FailPoint::parse(bad), None, "{bad:?}");
        }
    }
}
