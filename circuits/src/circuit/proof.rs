//! Proving and verifying keys, proofs, and batch verification of action proofs.
//!
//! One proof covers all the actions of a transaction part (one circuit instance per
//! action), so each bank proves only its own leg of a DvP.

use halo2_proofs::{
    plonk::{self, BatchVerifier, SingleVerifier},
    poly::commitment::Params,
    transcript::{Blake2bRead, Blake2bWrite},
};
use pasta_curves::{pallas, vesta};
use rand_core::CryptoRng;

use super::{Circuit, Instance};

/// `log2` of the number of rows of the action circuit (2,048 rows: two hashing lanes,
/// one beside the ECC chip, fit an action in the same height as an Orchard action).
pub const K: u32 = 11;

/// The verifying key of the action circuit (with its IPA parameters).
#[derive(Debug)]
pub struct VerifyingKey {
    pub(crate) params: Params<vesta::Affine>,
    pub(crate) vk: plonk::VerifyingKey<vesta::Affine>,
}

impl VerifyingKey {
    /// Builds the verifying key (deterministic: no trusted setup).
    pub fn build() -> Self {
        let params = Params::new(K);
        let vk = plonk::keygen_vk(&params, &Circuit::default())
            .expect("the action circuit fits in 2^K rows");
        VerifyingKey { params, vk }
    }

    /// The verifying key's pinned debug representation (compared against a fixture).
    pub fn pinned(&self) -> String {
        format!("{:#?}", self.vk.pinned())
    }
}

/// The proving key of the action circuit.
#[derive(Debug)]
pub struct ProvingKey {
    params: Params<vesta::Affine>,
    pk: plonk::ProvingKey<vesta::Affine>,
}

impl ProvingKey {
    /// Builds the proving key (deterministic: no trusted setup).
    pub fn build() -> Self {
        let params = Params::new(K);
        let circuit = Circuit::default();
        let vk = plonk::keygen_vk(&params, &circuit).expect("the action circuit fits in 2^K rows");
        let pk =
            plonk::keygen_pk(&params, vk, &circuit).expect("the action circuit fits in 2^K rows");
        ProvingKey { params, pk }
    }
}

/// A Halo2 proof for the actions of one transaction part.
#[derive(Clone, PartialEq, Eq)]
pub struct Proof(Vec<u8>);

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proof({} bytes)", self.0.len())
    }
}

fn halo2_instances(instances: &[Instance]) -> Vec<Vec<Vec<pallas::Base>>> {
    instances.iter().map(|i| vec![i.0.to_vec()]).collect()
}

impl Proof {
    /// Wraps proof bytes (validity is checked only by verification).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Proof(bytes)
    }

    /// The proof bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Proves `circuits` with public inputs `instances` (one per action).
    pub fn create(
        pk: &ProvingKey,
        circuits: &[Circuit],
        instances: &[Instance],
        mut rng: impl CryptoRng,
    ) -> Result<Self, plonk::Error> {
        let owned = halo2_instances(instances);
        let columns: Vec<Vec<&[pallas::Base]>> = owned
            .iter()
            .map(|i| i.iter().map(|c| &c[..]).collect())
            .collect();
        let refs: Vec<&[&[pallas::Base]]> = columns.iter().map(|i| &i[..]).collect();
        let mut transcript = Blake2bWrite::<_, vesta::Affine, _>::init(vec![]);
        plonk::create_proof(
            &pk.params,
            &pk.pk,
            circuits,
            &refs,
            &mut rng,
            &mut transcript,
        )?;
        Ok(Proof(transcript.finalize()))
    }

    /// Verifies this proof against `instances`.
    pub fn verify(&self, vk: &VerifyingKey, instances: &[Instance]) -> Result<(), plonk::Error> {
        let owned = halo2_instances(instances);
        let columns: Vec<Vec<&[pallas::Base]>> = owned
            .iter()
            .map(|i| i.iter().map(|c| &c[..]).collect())
            .collect();
        let refs: Vec<&[&[pallas::Base]]> = columns.iter().map(|i| &i[..]).collect();
        let strategy = SingleVerifier::new(&vk.params);
        let mut transcript = Blake2bRead::init(&self.0[..]);
        plonk::verify_proof(&vk.params, &vk.vk, strategy, &refs, &mut transcript)
    }

    /// Size in bytes of a proof for `num_actions` actions:
    /// `PROOF_SIZE_BASE + PROOF_SIZE_PER_ACTION * num_actions`. Per action the proof grows
    /// by the advice, lookup and permutation commitments and evaluations of one more
    /// circuit instance; the vanishing argument, fixed-column evaluations and the IPA
    /// opening are shared. The constants are pinned by a test that creates proofs.
    pub fn expected_size(num_actions: usize) -> usize {
        PROOF_SIZE_BASE + PROOF_SIZE_PER_ACTION * num_actions
    }
}

/// The part of a proof that does not grow with the number of actions.
pub const PROOF_SIZE_BASE: usize = 2_912;
/// The growth of a proof per action.
pub const PROOF_SIZE_PER_ACTION: usize = 2_272;

/// Accumulates action proofs for verification as one batch.
#[derive(Debug, Default)]
pub struct ProofBatch {
    inner: BatchVerifier<vesta::Affine>,
    len: usize,
}

impl ProofBatch {
    /// An empty batch.
    pub fn new() -> Self {
        ProofBatch {
            inner: BatchVerifier::new(),
            len: 0,
        }
    }

    /// Queues `proof` with its instances.
    pub fn add(&mut self, proof: &Proof, instances: &[Instance]) {
        self.inner
            .add_proof(halo2_instances(instances), proof.0.clone());
        self.len += 1;
    }

    /// Number of queued proofs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Verifies every queued proof; `true` only if all are valid.
    pub fn finalize(self, vk: &VerifyingKey) -> bool {
        self.inner.finalize(&vk.params, &vk.vk)
    }
}
