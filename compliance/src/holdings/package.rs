//! The holdings package: what a bank hands a named third party, its addressing (from
//! which the statement and the binding are derived), and its file format (JSON, with
//! every byte string in hex).

use blake2b_simd::Params;
use ff::{FromUniformBytes, PrimeField};
use pasta_curves::pallas;
use rand_core::CryptoRng;
use sable_circuits::{
    asset::AssetId,
    circuit::Proof,
    encoding::decode_base,
    holdings::{
        self, HoldingsClaim, HoldingsProvingKey, HoldingsQuery, HOLDINGS_NOTES, HOLDINGS_PROOF_SIZE,
    },
    keys::{Address, FullViewingKey},
    tree::Anchor,
};
use serde::{Deserialize, Serialize};

use super::{ChainRoots, HoldingsPackageError, HoldingsSnapshot};
use crate::{disclose::MAX_AUDIENCE, hex};

/// The package format's version.
pub const VERSION: u8 = 1;
/// The longest purpose, in bytes.
pub const MAX_PURPOSE: usize = 256;
const STATEMENT_PERSONALIZATION: &[u8; 16] = b"Sable_HoldStmt__";
const BINDING_PERSONALIZATION: &[u8; 16] = b"Sable_HoldBind__";

/// What a proof of holdings is about, whom it is for, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldingsAddressing {
    /// The chain's genesis digest.
    pub chain: [u8; 32],
    /// The height the holdings are shown at (after its block).
    pub height: u64,
    /// The asset.
    pub asset: AssetId,
    /// At least how much.
    pub threshold: u64,
    /// What the holdings back (e.g. "margin call 2026-0412, CCP Alpha"): the same notes
    /// pledged twice for one purpose at one height show the same tags.
    pub purpose: String,
    /// Whom the package is for, by name.
    pub audience: String,
    /// Fresh randomness: no two packages share it, so a verifier sees one presented twice.
    pub nonce: [u8; 32],
    /// The last chain height at which the package may be accepted.
    pub expires_at: u64,
}

fn blake2b(personal: &[u8; 16], parts: &[&[u8]]) -> pallas::Base {
    let mut h = Params::new().hash_length(64).personal(personal).to_state();
    for p in parts {
        h.update(p);
    }
    pallas::Base::from_uniform_bytes(h.finalize().as_array())
}

impl HoldingsAddressing {
    /// The statement the tags are bound to: `BLAKE2b-512("Sable_HoldStmt__", version ||
    /// chain || height || asset || len(purpose) || purpose)` reduced into
    /// `pallas::Base`. The audience, the nonce and the threshold are not in it, so a
    /// note counted twice for one purpose shows whoever the packages are for.
    pub fn statement(&self) -> pallas::Base {
        blake2b(
            STATEMENT_PERSONALIZATION,
            &[
                &[VERSION],
                &self.chain,
                &self.height.to_le_bytes(),
                &self.asset.0,
                &(self.purpose.len() as u64).to_le_bytes(),
                self.purpose.as_bytes(),
            ],
        )
    }

    /// The binding the proof is made under: `BLAKE2b-512("Sable_HoldBind__", version ||
    /// statement || len(audience) || audience || nonce || expires_at)` reduced into
    /// `pallas::Base`. With the statement and the circuit's other public inputs (the
    /// roots, the owner, the asset, the threshold), every field of the package is
    /// under the proof.
    pub fn binding(&self) -> pallas::Base {
        blake2b(
            BINDING_PERSONALIZATION,
            &[
                &[VERSION],
                &self.statement().to_repr(),
                &(self.audience.len() as u64).to_le_bytes(),
                self.audience.as_bytes(),
                &self.nonce,
                &self.expires_at.to_le_bytes(),
            ],
        )
    }

    /// The query the proof answers under `roots`.
    pub fn query(&self, roots: &ChainRoots) -> HoldingsQuery {
        HoldingsQuery {
            anchor: roots.anchor,
            nullifier_root: roots.nullifier_root,
            asset: self.asset,
            threshold: self.threshold,
            statement: self.statement(),
            binding: self.binding(),
        }
    }

    fn check(&self) -> Result<(), HoldingsPackageError> {
        let bad = HoldingsPackageError::Malformed;
        if self.audience.is_empty() || self.audience.len() > MAX_AUDIENCE {
            return Err(bad(format!(
                "the audience must be 1 to {MAX_AUDIENCE} bytes, not {}",
                self.audience.len()
            )));
        }
        if self.purpose.is_empty() || self.purpose.len() > MAX_PURPOSE {
            return Err(bad(format!(
                "the purpose must be 1 to {MAX_PURPOSE} bytes, not {}",
                self.purpose.len()
            )));
        }
        if self.threshold == 0 {
            return Err(bad("a threshold of 0 proves nothing".into()));
        }
        Ok(())
    }
}

/// A proof that the owner held at least the threshold of the asset at the height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldingsPackage {
    /// What about, whom for, until when.
    pub addressing: HoldingsAddressing,
    /// Whose holdings.
    pub owner: Address,
    /// The chain's roots at the height, which the proof is made under.
    pub roots: ChainRoots,
    /// One tag per slot of the circuit: zero for a slot not counted.
    pub tags: [pallas::Base; HOLDINGS_NOTES],
    /// The proof.
    pub proof: Proof,
}

impl HoldingsPackage {
    /// Proves that the owner of `fvk` held at least the addressing's threshold of its
    /// asset in `snapshot` (the chain at the addressing's height, replayed with `fvk`),
    /// from its largest unspent notes.
    pub fn create(
        pk: &HoldingsProvingKey,
        fvk: &FullViewingKey,
        snapshot: &HoldingsSnapshot,
        addressing: HoldingsAddressing,
        rng: impl CryptoRng,
    ) -> Result<Self, HoldingsPackageError> {
        addressing.check()?;
        if addressing.height != snapshot.height() {
            return Err(HoldingsPackageError::Malformed(format!(
                "the package is about height {}, the chain was replayed to {}",
                addressing.height,
                snapshot.height()
            )));
        }
        let notes = snapshot.select(addressing.asset, addressing.threshold)?;
        let roots = snapshot.roots();
        let (claim, proof) = holdings::prove(pk, fvk, &notes, &addressing.query(&roots), rng)
            .map_err(HoldingsPackageError::Proving)?;
        Ok(HoldingsPackage {
            addressing,
            owner: claim.owner,
            roots,
            tags: claim.tags,
            proof,
        })
    }

    /// What the proof states, as the circuit takes it.
    pub fn claim(&self) -> HoldingsClaim {
        HoldingsClaim {
            query: self.addressing.query(&self.roots),
            owner: self.owner,
            tags: self.tags,
        }
    }

    /// How many notes the proof counts.
    pub fn notes_counted(&self) -> usize {
        self.claim().counted_tags().count()
    }

    /// The JSON file format.
    pub fn to_json(&self) -> String {
        let a = &self.addressing;
        let wire = Wire {
            version: VERSION,
            chain: hex(&a.chain),
            height: a.height,
            asset: hex(&a.asset.0),
            threshold: a.threshold,
            purpose: a.purpose.clone(),
            audience: a.audience.clone(),
            nonce: hex(&a.nonce),
            expires_at: a.expires_at,
            owner: hex(&self.owner.to_bytes()),
            anchor: hex(&self.roots.anchor.to_bytes()),
            nullifier_root: hex(&self.roots.nullifier_root.to_repr()),
            tags: self.tags.iter().map(|t| hex(&t.to_repr())).collect(),
            proof: hex(self.proof.as_bytes()),
        };
        serde_json::to_string_pretty(&wire).unwrap_or_else(|_| unreachable!("plain data"))
    }

    /// Reads the JSON file format; anything malformed is a
    /// [`HoldingsPackageError::Malformed`] naming the field.
    pub fn from_json(text: &str) -> Result<Self, HoldingsPackageError> {
        let bad = HoldingsPackageError::Malformed;
        let w: Wire = serde_json::from_str(text).map_err(|e| bad(format!("not a package: {e}")))?;
        if w.version != VERSION {
            return Err(bad(format!(
                "version {} (this tool reads version {VERSION})",
                w.version
            )));
        }
        let b32 = |field: &str, s: &str| crate::recipient::bytes32(field, s).map_err(bad);
        let base = |field: &'static str, s: &str| {
            decode_base(&b32(field, s)?, field).map_err(|e| bad(format!("{field}: {e}")))
        };
        let owner = Address::from_bytes(&b32("owner", &w.owner)?)
            .map_err(|e| bad(format!("owner: {e}")))?;
        let roots = ChainRoots {
            anchor: Anchor::from_bytes(&b32("anchor", &w.anchor)?)
                .map_err(|e| bad(format!("anchor: {e}")))?,
            nullifier_root: base("nullifier_root", &w.nullifier_root)?,
        };
        if w.tags.len() != HOLDINGS_NOTES {
            return Err(bad(format!(
                "{} tags (a proof of holdings has {HOLDINGS_NOTES})",
                w.tags.len()
            )));
        }
        let mut tags = [pallas::Base::zero(); HOLDINGS_NOTES];
        for (t, s) in tags.iter_mut().zip(&w.tags) {
            *t = base("tag", s)?;
        }
        if w.proof.len() != 2 * HOLDINGS_PROOF_SIZE {
            return Err(bad(format!(
                "a proof of {} hex digits (a proof of holdings has {HOLDINGS_PROOF_SIZE} bytes)",
                w.proof.len()
            )));
        }
        let proof = Proof::from_bytes(crate::recipient::unhex("proof", &w.proof).map_err(bad)?);
        let addressing = HoldingsAddressing {
            chain: b32("chain", &w.chain)?,
            height: w.height,
            asset: AssetId(b32("asset", &w.asset)?),
            threshold: w.threshold,
            purpose: w.purpose,
            audience: w.audience,
            nonce: b32("nonce", &w.nonce)?,
            expires_at: w.expires_at,
        };
        addressing.check()?;
        let package = HoldingsPackage {
            addressing,
            owner,
            roots,
            tags,
            proof,
        };
        package
            .claim()
            .check_tags()
            .map_err(|e| bad(format!("tags: {e}")))?;
        Ok(package)
    }
}

/// The JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    version: u8,
    chain: String,
    height: u64,
    asset: String,
    threshold: u64,
    purpose: String,
    audience: String,
    nonce: String,
    expires_at: u64,
    owner: String,
    anchor: String,
    nullifier_root: String,
    tags: Vec<String>,
    proof: String,
}
