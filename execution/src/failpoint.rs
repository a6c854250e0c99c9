//! Crashes injected at named steps of applying a block, for tests of atomicity.
//! [`FailPoint::from_env`] exists only with the `failpoints` feature, which only test
//! builds enable: a production binary never reads the variable.

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

/// A crash to inject: abort the process at `step` of the block at `height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailPoint {
    /// Block height.
    pub height: u64,
    /// Step.
    pub step: ApplyStep,
}

impl FailPoint {
    /// Reads `SABLE_FAILPOINT=<height>:<step>`. Compiled in only with the `failpoints`
    /// feature, which only test builds enable: a production binary never reads it.
    #[cfg(feature = "failpoints")]
    pub fn from_env() -> Option<Self> {
        let v = std::env::var("SABLE_FAILPOINT").ok()?;
        let (h, s) = v.split_once(':')?;
        Some(FailPoint {
            height: h.parse().ok()?,
            step: ApplyStep::parse(s)?,
        })
    }
}
