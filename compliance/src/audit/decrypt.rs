//! Who opens regulator ciphertexts: anything that yields the shared secret
//! `S = [sk_reg] epk` of a ciphertext. A single key computes it; a threshold key
//! combines its holders' decryption shares into it, each use on its audit log
//! ([`ThresholdDecryptor`]). The ledger sees only plaintexts.

use pasta_curves::pallas;
use sable_circuits::{
    keys::RegulatorSecretKey,
    regulator::{RegulatorCiphertext, RegulatorPlaintext},
};

use super::AuditError;
use crate::threshold::ThresholdDecryptor;

/// Opens regulator ciphertexts for an audit.
pub trait RegulatorDecryptor: Send + Sync {
    /// The shared secret `[sk_reg] epk` of a ciphertext whose ephemeral key is `epk`.
    fn shared_secret(&self, epk: &pallas::Affine) -> Result<pallas::Affine, AuditError>;

    /// The plaintext of `ct`. Decryption itself cannot fail (the action proof, not a
    /// MAC, binds the ciphertext to the note); a wrong key shows as a plaintext that
    /// makes no sense, which the ledger refuses.
    fn open(&self, ct: &RegulatorCiphertext) -> Result<RegulatorPlaintext, AuditError> {
        Ok(ct.decrypt_with_shared_secret(self.shared_secret(&ct.epk)?))
    }
}

/// The regulator's key held whole (`t = n = 1`).
pub struct SingleKey(RegulatorSecretKey);

impl SingleKey {
    /// Audits with `sk`.
    pub fn new(sk: RegulatorSecretKey) -> Self {
        SingleKey(sk)
    }
}

impl RegulatorDecryptor for SingleKey {
    fn shared_secret(&self, epk: &pallas::Affine) -> Result<pallas::Affine, AuditError> {
        Ok(self.0.agree(epk))
    }
}

impl RegulatorDecryptor for ThresholdDecryptor {
    fn shared_secret(&self, epk: &pallas::Affine) -> Result<pallas::Affine, AuditError> {
        Ok(self.decrypt(epk)?)
    }
}
