//! Bridge deposits: tokens locked on Ethereum become a shielded note on Sable.
//!
//! The depositor picks the note (asset and value fixed by the token and amount, owner
//! and randomness private), gives its commitment to the L1 bridge, and then submits a
//! [`Deposit`] to Sable: the bridge's deposit index, the public asset, value and
//! commitment, the regulator ciphertext and the note encrypted to its owner, and a
//! proof of the deposit circuit ([`crate::circuit::deposit`]). Validators mint it only
//! if the L1 deposit at that index is confirmed with the same asset, value and
//! commitment; nothing here reads L1.
//!
//! The proof also binds what it does not prove: the L1 deposit `index` and the
//! `encrypted_note` (and so the memo inside it) enter the deposit circuit as one public
//! input, [`claim_binding`]. Without it anyone who saw a pending claim could resubmit
//! its proof first with a garbage note ciphertext (or another index), and the note
//! would be minted where its owner cannot find it (protocol audit F4).
//!
//! This module holds the claim, its encoding and its verification; the depositor
//! proves one with [`crate::builder::prove_deposit`].
//!
//! ```text
//! deposit = index:u64 || asset:32 || value:u64 || cm:32 || registry_root:32
//!           || regulator_ciphertext || encrypted_note
//!           || proof:var(exactly DEPOSIT_PROOF_SIZE)
//! ```

use blake2b_simd::Params;
use pasta_curves::pallas;

use crate::{
    asset::AssetId,
    circuit::{deposit::DepositInstance, Proof, VerifyingKey, DEPOSIT_PROOF_SIZE},
    constants::DEPOSIT_CLAIM_PERSONALIZATION,
    encoding::{DecodeError, Reader, Writer},
    keys::RegulatorPublicKey,
    note::NoteCommitment,
    note_encryption::EncryptedNote,
    registry::RegistryRoot,
    regulator::RegulatorCiphertext,
};

/// The deposit circuit's claim-binding public input:
/// `BLAKE2b-512("Sable_DepositClm", index:u64 || encrypted_note)` reduced (wide, so
/// uniformly) into `pallas::Base`. The proof is valid for this value only, so it cannot
/// be moved to a claim with another index, note ciphertext or memo.
pub fn claim_binding(index: u64, encrypted_note: &EncryptedNote) -> pallas::Base {
    let mut w = Writer::new();
    w.u64(index);
    encrypted_note.write(&mut w);
    let h = Params::new()
        .hash_length(64)
        .personal(DEPOSIT_CLAIM_PERSONALIZATION)
        .hash(&w.into_bytes());
    crate::primitives::prf::to_base(*h.as_array())
}

/// A claim that mints one L1 bridge deposit as a shielded note.
#[derive(Clone, Debug, PartialEq)]
pub struct Deposit {
    /// The bridge's index of the deposit on Ethereum.
    pub index: u64,
    /// The deposited asset (the bridge's asset id for the token).
    pub asset: AssetId,
    /// The deposited value, in Sable units of the asset.
    pub value: u64,
    /// The new note's commitment, as given to the bridge.
    pub cm: NoteCommitment,
    /// The registry root the owner is proven a member under.
    pub registry_root: RegistryRoot,
    /// The note's asset, value and owner, encrypted to the regulator.
    pub regulator_ciphertext: RegulatorCiphertext,
    /// The note, encrypted to its owner.
    pub encrypted_note: EncryptedNote,
    /// The deposit circuit's proof.
    pub proof: Proof,
}

impl Deposit {
    /// The deposit circuit's public inputs for this claim under `regulator`.
    pub fn instance(&self, regulator: &RegulatorPublicKey) -> DepositInstance {
        DepositInstance::new(
            self.asset.base().to_affine(),
            self.value,
            self.cm.inner(),
            self.registry_root.inner(),
            regulator.to_affine(),
            self.regulator_ciphertext.epk,
            self.regulator_ciphertext.c,
            claim_binding(self.index, &self.encrypted_note),
        )
    }

    /// Verifies the proof (stateless: whether L1 holds this deposit is the node's check).
    pub fn verify(
        &self,
        vk: &VerifyingKey,
        regulator: &RegulatorPublicKey,
    ) -> Result<(), halo2_proofs::plonk::Error> {
        self.proof.verify_deposit(vk, &self.instance(regulator))
    }

    /// Appends the canonical encoding (see the module's layout).
    pub(crate) fn write(&self, w: &mut Writer) {
        self.write_effects(w);
        w.var_bytes(self.proof.as_bytes());
    }

    /// Appends the encoding without the proof (what the transaction digest covers).
    pub(crate) fn write_effects(&self, w: &mut Writer) {
        w.u64(self.index)
            .bytes(&self.asset.0)
            .u64(self.value)
            .bytes(&self.cm.to_bytes())
            .bytes(&self.registry_root.to_bytes());
        self.regulator_ciphertext.write(w);
        self.encrypted_note.write(w);
    }

    /// Parses one deposit (see the module's layout).
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Deposit {
            index: r.u64("deposit index")?,
            asset: AssetId(r.array("deposit asset")?),
            value: r.u64("deposit value")?,
            cm: NoteCommitment::from_bytes(&r.array("deposit cm")?)?,
            registry_root: RegistryRoot::from_bytes(&r.array("registry root")?)?,
            regulator_ciphertext: RegulatorCiphertext::read(r)?,
            encrypted_note: EncryptedNote::read(r)?,
            proof: Proof::read(r, DEPOSIT_PROOF_SIZE)?,
        })
    }
}
