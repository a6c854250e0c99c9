//! The chain-wide parameters every validator shares, and every participant's program
//! checks against (the regulator key proofs are made for, the consortium CA).

use sable_circuits::{keys::RegulatorPublicKey, transaction::ChainId};
use sable_pki::CertificateAuthority;

/// Chain-wide parameters every validator shares.
#[derive(Clone)]
pub struct ChainParams {
    /// The chain every transaction must be signed for (the hash of its namespace).
    pub chain: ChainId,
    /// The network's regulator key (a public input of every proof).
    pub regulator: RegulatorPublicKey,
    /// The consortium CA.
    pub ca: CertificateAuthority,
    /// How many blocks a superseded registry root stays acceptable (until a removal).
    pub registry_root_window: u64,
}

impl std::fmt::Debug for ChainParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainParams")
            .field("chain", &self.chain)
            .field("registry_root_window", &self.registry_root_window)
            .finish_non_exhaustive()
    }
}
