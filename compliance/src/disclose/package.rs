//! The disclosure package: what a discloser hands a named third party, and its file
//! format (JSON, with every byte string in hex).

use blake2b_simd::Params;
use ff::FromUniformBytes;
use pasta_curves::pallas;
use rand_core::CryptoRng;
use sable_circuits::{
    asset::AssetId,
    circuit::Proof,
    disclosure::{self, DisclosedNote, DisclosureProvingKey, Fields, DISCLOSURE_PROOF_SIZE},
    keys::Address,
    note::{Note, NoteCommitment, NoteValue},
};
use sable_primitives::block::TxId;
use serde::{Deserialize, Serialize};

use super::DisclosureError;
use crate::hex;

/// The package format's version.
pub const VERSION: u8 = 1;
/// The longest audience name, in bytes.
pub const MAX_AUDIENCE: usize = 128;
/// The longest proof a package may carry, in bytes (a disclosure proof is far smaller).
pub const MAX_PROOF: usize = 16 * 1024;
/// The personalisation of the binding hash.
const BINDING_PERSONALIZATION: &[u8; 16] = b"Sable_Disclosure";

/// Where the disclosed note sits on chain, whom the disclosure is for, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addressing {
    /// The chain's genesis digest.
    pub chain: [u8; 32],
    /// The transaction that created the note.
    pub tx: TxId,
    /// The note's index among the transaction's new note commitments (issued notes,
    /// then actions, then deposits: `Transaction::commitments`).
    pub output: u32,
    /// Whom the package is for, by name (e.g. "FCA supervision, case 2026-114").
    pub audience: String,
    /// Fresh randomness: no two packages share it, so a verifier sees one presented twice.
    pub nonce: [u8; 32],
    /// The last chain height at which the package may be accepted.
    pub expires_at: u64,
}

impl Addressing {
    /// The binding the proof is made under: `BLAKE2b-512("Sable_Disclosure", version ||
    /// chain || tx || output || len(audience) || audience || nonce || expires_at || cm)`
    /// reduced into `pallas::Base`. Changing any of them invalidates the proof.
    pub fn binding(&self, cm: &NoteCommitment) -> pallas::Base {
        let mut h = Params::new()
            .hash_length(64)
            .personal(BINDING_PERSONALIZATION)
            .to_state();
        h.update(&[VERSION]);
        h.update(&self.chain);
        h.update(&self.tx.0);
        h.update(&self.output.to_le_bytes());
        h.update(&(self.audience.len() as u64).to_le_bytes());
        h.update(self.audience.as_bytes());
        h.update(&self.nonce);
        h.update(&self.expires_at.to_le_bytes());
        h.update(&cm.to_bytes());
        pallas::Base::from_uniform_bytes(h.finalize().as_array())
    }

    fn check_audience(&self) -> Result<(), DisclosureError> {
        if self.audience.is_empty() || self.audience.len() > MAX_AUDIENCE {
            return Err(DisclosureError::Malformed(format!(
                "the audience must be 1 to {MAX_AUDIENCE} bytes, not {}",
                self.audience.len()
            )));
        }
        Ok(())
    }
}

/// A verifiable disclosure of chosen fields of one note on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisclosurePackage {
    /// Where the note is, whom for, until when.
    pub addressing: Addressing,
    /// The note commitment and the fields revealed.
    pub statement: DisclosedNote,
    /// The disclosure proof.
    pub proof: Proof,
}

impl DisclosurePackage {
    /// Discloses `fields` of `note` (whose opening the caller holds: its recipient or
    /// its sender) as `addressing` names.
    pub fn create(
        pk: &DisclosureProvingKey,
        note: &Note,
        fields: Fields,
        addressing: Addressing,
        rng: impl CryptoRng,
    ) -> Result<Self, DisclosureError> {
        addressing.check_audience()?;
        let binding = addressing.binding(&note.commitment());
        let (statement, proof) = disclosure::prove(pk, note, fields, binding, rng)
            .map_err(|e| DisclosureError::Proving(e.to_string()))?;
        Ok(DisclosurePackage {
            addressing,
            statement,
            proof,
        })
    }

    /// The JSON file format.
    pub fn to_json(&self) -> String {
        let a = &self.addressing;
        let s = &self.statement;
        let wire = Wire {
            version: VERSION,
            chain: hex(&a.chain),
            tx: hex(&a.tx.0),
            output: a.output,
            audience: a.audience.clone(),
            nonce: hex(&a.nonce),
            expires_at: a.expires_at,
            cm: hex(&s.cm.to_bytes()),
            asset: s.asset.map(|x| hex(&x.0)),
            value: s.value.map(|v| v.inner()),
            owner: s.owner.map(|o| hex(&o.to_bytes())),
            proof: hex(self.proof.as_bytes()),
        };
        serde_json::to_string_pretty(&wire).unwrap_or_else(|_| unreachable!("plain data"))
    }

    /// Reads the JSON file format; anything malformed is a [`DisclosureError::Malformed`]
    /// naming the field.
    pub fn from_json(text: &str) -> Result<Self, DisclosureError> {
        let bad = |what: String| DisclosureError::Malformed(what);
        let w: Wire = serde_json::from_str(text).map_err(|e| bad(format!("not a package: {e}")))?;
        if w.version != VERSION {
            return Err(bad(format!(
                "version {} (this tool reads version {VERSION})",
                w.version
            )));
        }
        let cm = NoteCommitment::from_bytes(&bytes32("cm", &w.cm)?)
            .map_err(|e| bad(format!("cm: {e}")))?;
        let owner = match &w.owner {
            Some(o) => Some(
                Address::from_bytes(&bytes32("owner", o)?)
                    .map_err(|e| bad(format!("owner: {e}")))?,
            ),
            None => None,
        };
        let asset = match &w.asset {
            Some(a) => Some(AssetId(bytes32("asset", a)?)),
            None => None,
        };
        if w.proof.len() > 2 * MAX_PROOF {
            return Err(bad(format!("a proof over {MAX_PROOF} bytes")));
        }
        let proof = crate::recipient::unhex("proof", &w.proof).map_err(bad)?;
        if proof.len() != DISCLOSURE_PROOF_SIZE {
            return Err(bad(format!(
                "a proof of {} bytes (a disclosure proof has {DISCLOSURE_PROOF_SIZE})",
                proof.len()
            )));
        }
        let proof = Proof::from_bytes(proof);
        let addressing = Addressing {
            chain: bytes32("chain", &w.chain)?,
            tx: TxId(bytes32("tx", &w.tx)?),
            output: w.output,
            audience: w.audience,
            nonce: bytes32("nonce", &w.nonce)?,
            expires_at: w.expires_at,
        };
        addressing.check_audience()?;
        Ok(DisclosurePackage {
            addressing,
            statement: DisclosedNote {
                cm,
                asset,
                value: w.value.map(NoteValue),
                owner,
            },
            proof,
        })
    }
}

/// The JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    version: u8,
    chain: String,
    tx: String,
    output: u32,
    audience: String,
    nonce: String,
    expires_at: u64,
    cm: String,
    asset: Option<String>,
    value: Option<u64>,
    owner: Option<String>,
    proof: String,
}

fn bytes32(field: &str, s: &str) -> Result<[u8; 32], DisclosureError> {
    crate::recipient::bytes32(field, s).map_err(DisclosureError::Malformed)
}
