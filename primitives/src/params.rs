//! The chain-wide parameters every validator shares, and every participant's program
//! checks against (the regulator key proofs are made for, the consortium CA, the
//! validator set and who governs the chain).
//!
//! These are the chain's genesis: execution depends on nothing else but chain state.
//! [`ChainParams::genesis_digest`] commits to every one of them, and the genesis state
//! root is built on that digest, so two validators whose parameters differ in anything
//! agree on no state root from the first block on: a voter refuses the other's blocks
//! (`state_mismatch`), and a node restarted with edited parameters over an existing
//! data directory refuses to start.

use sable_circuits::{encoding::Writer, keys::RegulatorPublicKey, transaction::ChainId};
use sable_pki::{CertificateAuthority, Fingerprint};

use crate::block::hash32;

/// The most approvals one operator command carries, and so the largest M.
pub const MAX_APPROVALS: usize = 8;

/// Who may change the chain's registry, issuers and revocation list: `threshold`
/// distinct operators out of `operators` (M of N) must sign each command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Governance {
    threshold: usize,
    operators: Vec<Fingerprint>,
}

/// Why a set of chain parameters is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
    /// M is 0 or larger than N.
    #[error("governance threshold {threshold} must be between 1 and the {operators} operators (and at most 8)")]
    Threshold {
        /// M.
        threshold: usize,
        /// N.
        operators: usize,
    },
    /// An operator or validator certificate is listed twice.
    #[error("{0} certificate {1} is listed twice")]
    Duplicate(&'static str, String),
    /// No validators.
    #[error("the validator set is empty")]
    NoValidators,
}

fn distinct(what: &'static str, fps: &[Fingerprint]) -> Result<(), ParamsError> {
    let mut seen = std::collections::HashSet::new();
    match fps.iter().find(|fp| !seen.insert(**fp)) {
        Some(fp) => Err(ParamsError::Duplicate(what, hex::encode(fp))),
        None => Ok(()),
    }
}

impl Governance {
    /// `threshold` of `operators` (certificate fingerprints, distinct, 1 ≤ M ≤ N, and
    /// M no more than a command can carry).
    pub fn new(threshold: usize, operators: Vec<Fingerprint>) -> Result<Self, ParamsError> {
        if threshold == 0 || threshold > operators.len() || threshold > MAX_APPROVALS {
            return Err(ParamsError::Threshold {
                threshold,
                operators: operators.len(),
            });
        }
        distinct("operator", &operators)?;
        Ok(Governance {
            threshold,
            operators,
        })
    }

    /// M: how many distinct operators must sign a command.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// The N operators' certificate fingerprints.
    pub fn operators(&self) -> &[Fingerprint] {
        &self.operators
    }

    /// Whether `fp` is one of the N.
    pub fn is_operator(&self, fp: &Fingerprint) -> bool {
        self.operators.contains(fp)
    }
}

/// The validators needed for a quorum among `n` (simplex: n − f, f = ⌊(n − 1)/3⌋).
pub fn quorum(n: usize) -> usize {
    n - n.saturating_sub(1) / 3
}

/// Chain-wide parameters every validator shares.
#[derive(Clone)]
pub struct ChainParams {
    /// The chain every transaction must be signed for (the hash of its namespace).
    pub chain: ChainId,
    /// The network's regulator key at genesis (a public input of every proof until the
    /// first rotation; see [`crate::regulator`]).
    pub regulator: RegulatorPublicKey,
    /// The consortium CA.
    pub ca: CertificateAuthority,
    /// How many blocks a superseded registry root stays acceptable (until a removal).
    pub registry_root_window: u64,
    /// The validators' certificate fingerprints, in consensus order.
    pub validators: Vec<Fingerprint>,
    /// Who signs operator commands.
    pub governance: Governance,
}

impl ChainParams {
    /// Checks what the fields cannot: a non-empty validator set without repeats.
    pub fn check(&self) -> Result<(), ParamsError> {
        if self.validators.is_empty() {
            return Err(ParamsError::NoValidators);
        }
        distinct("validator", &self.validators)
    }

    /// The hash of every parameter: what the genesis state root is built on.
    pub fn genesis_digest(&self) -> [u8; 32] {
        let mut w = Writer::new();
        w.bytes(&self.chain.0)
            .bytes(&self.regulator.to_bytes())
            .var_bytes(self.ca.der())
            .u64(self.registry_root_window)
            .count(self.validators.len());
        for v in &self.validators {
            w.bytes(v);
        }
        w.u64(self.governance.threshold as u64)
            .count(self.governance.operators.len());
        for o in &self.governance.operators {
            w.bytes(o);
        }
        hash32(b"Sable_Genesis___", &w.into_bytes())
    }

    /// Validators needed for a quorum.
    pub fn quorum(&self) -> usize {
        quorum(self.validators.len())
    }
}

impl std::fmt::Debug for ChainParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainParams")
            .field("chain", &self.chain)
            .field("registry_root_window", &self.registry_root_window)
            .field("validators", &self.validators.len())
            .field("governance", &self.governance)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn governance_needs_one_to_n_distinct_operators() {
        assert!(Governance::new(2, vec![[1; 32], [2; 32], [3; 32]]).is_ok());
        assert_eq!(
            Governance::new(0, vec![[1; 32]]),
            Err(ParamsError::Threshold {
                threshold: 0,
                operators: 1
            })
        );
        assert_eq!(
            Governance::new(3, vec![[1; 32], [2; 32]]),
            Err(ParamsError::Threshold {
                threshold: 3,
                operators: 2
            })
        );
        assert!(matches!(
            Governance::new(2, vec![[1; 32], [1; 32]]),
            Err(ParamsError::Duplicate("operator", _))
        ));
    }

    #[test]
    fn quorum_is_n_minus_f() {
        assert_eq!([1, 2, 3, 4, 5, 7, 10].map(quorum), [1, 2, 3, 3, 4, 5, 7]);
    }
}
