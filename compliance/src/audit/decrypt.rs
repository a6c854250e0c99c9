//! Who opens regulator ciphertexts: anything that yields the shared secret
//! `S = [sk_reg] epk` of a ciphertext. A single key computes it; a threshold key
//! combines its holders' decryption shares into it, each use on its audit log
//! ([`ThresholdDecryptor`]). The ledger sees only plaintexts.
//!
//! Every transaction names the regulator key its ciphertexts were proven for, and the
//! chain rotates its key at operator-chosen heights: an audit opens each ciphertext
//! with the key its transaction names ([`RegulatorKeys`]), held whole or shared, one
//! key or a [`Keyring`] of the keys the chain has had. A key the audit does not hold
//! is refused by name ([`AuditError::KeyNotHeld`]), never tried.

use pasta_curves::pallas;
use sable_circuits::{
    keys::{RegulatorPublicKey, RegulatorSecretKey},
    regulator::{RegulatorCiphertext, RegulatorPlaintext},
};

use super::AuditError;
use crate::threshold::ThresholdDecryptor;

/// Opens regulator ciphertexts made for one key.
pub trait RegulatorDecryptor: Send + Sync {
    /// The public key whose ciphertexts this opens.
    fn public_key(&self) -> pallas::Affine;

    /// The shared secret `[sk_reg] epk` of a ciphertext whose ephemeral key is `epk`.
    fn shared_secret(&self, epk: &pallas::Affine) -> Result<pallas::Affine, AuditError>;

    /// The plaintext of `ct`. Decryption itself cannot fail (the action proof, not a
    /// MAC, binds the ciphertext to the note); a wrong key shows as a plaintext that
    /// makes no sense, which the ledger refuses.
    fn open(&self, ct: &RegulatorCiphertext) -> Result<RegulatorPlaintext, AuditError> {
        Ok(ct.decrypt_with_shared_secret(self.shared_secret(&ct.epk)?))
    }
}

/// Opens each ciphertext with the key its transaction names: one key (every
/// [`RegulatorDecryptor`] is one), or a [`Keyring`] across rotations.
pub trait RegulatorKeys: Send + Sync {
    /// The plaintext of `ct`, a ciphertext in a transaction whose header names `key`;
    /// `None` when this holds no such key (nothing is tried).
    fn open_for(
        &self,
        key: &RegulatorPublicKey,
        ct: &RegulatorCiphertext,
    ) -> Option<Result<RegulatorPlaintext, AuditError>>;
}

impl<T: RegulatorDecryptor + ?Sized> RegulatorKeys for T {
    fn open_for(
        &self,
        key: &RegulatorPublicKey,
        ct: &RegulatorCiphertext,
    ) -> Option<Result<RegulatorPlaintext, AuditError>> {
        (self.public_key() == key.to_affine()).then(|| self.open(ct))
    }
}

/// The keys a regulator has held across rotations, each whole or shared; a ciphertext
/// opens with the one its transaction names.
#[derive(Default)]
pub struct Keyring {
    keys: Vec<Box<dyn RegulatorDecryptor>>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Keyring::default()
    }

    /// Adds `key` (a key already held is not added twice).
    pub fn with(mut self, key: impl RegulatorDecryptor + 'static) -> Self {
        if !self.keys.iter().any(|k| k.public_key() == key.public_key()) {
            self.keys.push(Box::new(key));
        }
        self
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl RegulatorKeys for Keyring {
    fn open_for(
        &self,
        key: &RegulatorPublicKey,
        ct: &RegulatorCiphertext,
    ) -> Option<Result<RegulatorPlaintext, AuditError>> {
        self.keys
            .iter()
            .find(|k| k.public_key() == key.to_affine())
            .map(|k| k.open(ct))
    }
}

/// The regulator's key held whole (`t = n = 1`), with its public key (computed once:
/// every ciphertext of a scan is matched against it).
pub struct SingleKey(RegulatorSecretKey, pallas::Affine);

impl SingleKey {
    /// Audits with `sk`.
    pub fn new(sk: RegulatorSecretKey) -> Self {
        let pk = sk.public_key().to_affine();
        SingleKey(sk, pk)
    }
}

impl RegulatorDecryptor for SingleKey {
    fn public_key(&self) -> pallas::Affine {
        self.1
    }

    fn shared_secret(&self, epk: &pallas::Affine) -> Result<pallas::Affine, AuditError> {
        Ok(self.0.agree(epk))
    }
}

impl RegulatorDecryptor for ThresholdDecryptor {
    fn public_key(&self) -> pallas::Affine {
        self.group_key().public()
    }

    fn shared_secret(&self, epk: &pallas::Affine) -> Result<pallas::Affine, AuditError> {
        Ok(self.decrypt(epk)?)
    }
}
