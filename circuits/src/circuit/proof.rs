//! Proving and verifying keys and proofs of Sable's two statements: actions and
//! deposits.
//!
//! One proof covers all the actions of a transaction part (one circuit instance per
//! two actions), so each bank proves only its own leg of a DvP. A deposit has a proof
//! of its own.

use halo2_proofs::{
    plonk::{self, SingleVerifier},
    poly::commitment::Params,
    transcript::{Blake2bRead, Blake2bWrite},
};
use pasta_curves::{pallas, vesta};
use rand_core::CryptoRng;
use std::sync::OnceLock;

use super::{
    deposit::{DepositInstance, DepositWitness},
    generators::GeneratorTable,
    Circuit, Instance, ACTIONS_PER_INSTANCE,
};

/// `log2` of the number of rows of the circuit: two actions in 4,096 rows (two hashing
/// lanes, one beside the ECC chip, fit each action in the height of an Orchard action).
pub const K: u32 = 12;

/// Which circuit a proof is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statement {
    /// The action circuit (spends and outputs of a part).
    Actions,
    /// The deposit circuit.
    Deposit,
}

/// The verifying keys of the action and deposit circuits (with their shared IPA
/// parameters): everything a validator needs to verify transactions.
#[derive(Debug)]
pub struct VerifyingKey {
    pub(crate) params: Params<vesta::Affine>,
    pub(crate) vk: plonk::VerifyingKey<vesta::Affine>,
    pub(crate) deposit_vk: plonk::VerifyingKey<vesta::Affine>,
    /// Precomputed multiples of the IPA generators, built by the first batch.
    generators: OnceLock<GeneratorTable>,
}

impl VerifyingKey {
    /// Builds the verifying keys (deterministic: no trusted setup).
    pub fn build() -> Self {
        let params = Params::new(K);
        let vk = plonk::keygen_vk(&params, &Circuit::default())
            .expect("the action circuit fits in 2^K rows");
        let deposit_vk = plonk::keygen_vk(&params, &DepositWitness::default())
            .expect("the deposit circuit fits in 2^K rows");
        VerifyingKey {
            params,
            vk,
            deposit_vk,
            generators: OnceLock::new(),
        }
    }

    /// The verifying key of `statement`.
    pub(crate) fn of(&self, statement: Statement) -> &plonk::VerifyingKey<vesta::Affine> {
        match statement {
            Statement::Actions => &self.vk,
            Statement::Deposit => &self.deposit_vk,
        }
    }

    /// Builds the batch verifier's generator table now rather than in the first
    /// batch (a validator calls this at start, so its first batch is not slower).
    pub fn warm_up(&self) {
        self.generators();
    }

    /// The generator table batch verification uses (built on first use, then kept).
    pub(super) fn generators(&self) -> &GeneratorTable {
        self.generators
            .get_or_init(|| GeneratorTable::new(&self.params.get_g()))
    }

    /// The pinned debug representation of `statement`'s verifying key (compared
    /// against a fixture).
    pub fn pinned(&self, statement: Statement) -> String {
        format!("{:#?}", self.of(statement).pinned())
    }
}

/// The proving key of the action circuit.
#[derive(Debug)]
pub struct ProvingKey {
    params: Params<vesta::Affine>,
    pk: plonk::ProvingKey<vesta::Affine>,
}

/// The parameters and proving key of circuit `C` (deterministic: no trusted setup).
fn keygen<C: plonk::Circuit<pallas::Base> + Default>(
    what: &str,
) -> (Params<vesta::Affine>, plonk::ProvingKey<vesta::Affine>) {
    let params = Params::new(K);
    let circuit = C::default();
    let fits = || format!("the {what} circuit fits in 2^K rows");
    let vk = plonk::keygen_vk(&params, &circuit).unwrap_or_else(|e| panic!("{}: {e}", fits()));
    let pk = plonk::keygen_pk(&params, vk, &circuit).unwrap_or_else(|e| panic!("{}: {e}", fits()));
    (params, pk)
}

impl ProvingKey {
    /// Builds the proving key (deterministic: no trusted setup).
    pub fn build() -> Self {
        let (params, pk) = keygen::<Circuit>("action");
        ProvingKey { params, pk }
    }
}

/// The proving key of the deposit circuit (what a depositor needs).
#[derive(Debug)]
pub struct DepositProvingKey {
    params: Params<vesta::Affine>,
    pk: plonk::ProvingKey<vesta::Affine>,
}

impl DepositProvingKey {
    /// Builds the proving key (deterministic: no trusted setup).
    pub fn build() -> Self {
        let params = Params::new(K);
        let circuit = DepositWitness::default();
        let vk = plonk::keygen_vk(&params, &circuit).expect("the deposit circuit fits in 2^K rows");
        let pk =
            plonk::keygen_pk(&params, vk, &circuit).expect("the deposit circuit fits in 2^K rows");
        DepositProvingKey { params, pk }
    }
}

/// The parameters and verifying key of a circuit proven alone, one instance at a time,
/// with keys of its own (the disclosure and holdings circuits), at `2^k` rows.
pub(crate) fn standalone_vk<C: plonk::Circuit<pallas::Base> + Default>(
    k: u32,
    what: &str,
) -> (Params<vesta::Affine>, plonk::VerifyingKey<vesta::Affine>) {
    let params = Params::new(k);
    let vk = plonk::keygen_vk(&params, &C::default())
        .unwrap_or_else(|e| panic!("the {what} circuit fits in 2^{k} rows: {e}"));
    (params, vk)
}

/// The proving key of a [`standalone_vk`] circuit.
pub(crate) fn standalone_pk<C: plonk::Circuit<pallas::Base> + Default>(
    params: &Params<vesta::Affine>,
    vk: plonk::VerifyingKey<vesta::Affine>,
    what: &str,
) -> plonk::ProvingKey<vesta::Affine> {
    plonk::keygen_pk(params, vk, &C::default())
        .unwrap_or_else(|e| panic!("the {what} circuit fits in its rows: {e}"))
}

/// Proves `circuit` of a [`standalone_vk`] circuit with its public inputs.
pub(crate) fn prove_standalone<C: plonk::Circuit<pallas::Base>>(
    params: &Params<vesta::Affine>,
    pk: &plonk::ProvingKey<vesta::Affine>,
    circuit: C,
    instance: &[pallas::Base],
    mut rng: impl CryptoRng,
) -> Result<Proof, plonk::Error> {
    let mut transcript = Blake2bWrite::<_, vesta::Affine, _>::init(vec![]);
    plonk::create_proof(
        params,
        pk,
        &[circuit],
        &[&[instance]],
        &mut rng,
        &mut transcript,
    )?;
    Ok(Proof::from_bytes(transcript.finalize()))
}

/// Verifies a proof of a [`standalone_vk`] circuit for its public inputs.
pub(crate) fn verify_standalone(
    params: &Params<vesta::Affine>,
    vk: &plonk::VerifyingKey<vesta::Affine>,
    instance: &[pallas::Base],
    proof: &Proof,
) -> Result<(), plonk::Error> {
    let strategy = SingleVerifier::new(params);
    let mut transcript = Blake2bRead::init(proof.as_bytes());
    plonk::verify_proof(params, vk, strategy, &[&[instance]], &mut transcript)
}

/// A Halo2 proof: of the actions of one transaction part, or of one deposit.
#[derive(Clone, PartialEq, Eq)]
pub struct Proof(Vec<u8>);

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proof({} bytes)", self.0.len())
    }
}

/// One instance column per circuit, holding the public inputs of its actions in order.
/// `None` if the actions do not fill whole circuits.
pub(super) fn halo2_instances(instances: &[Instance]) -> Option<Vec<Vec<Vec<pallas::Base>>>> {
    if instances.is_empty() || !instances.len().is_multiple_of(ACTIONS_PER_INSTANCE) {
        return None;
    }
    Some(
        instances
            .chunks(ACTIONS_PER_INSTANCE)
            .map(|pair| vec![pair.iter().flat_map(|i| i.0).collect()])
            .collect(),
    )
}

/// Lends `owned` instances in the nested-slice shape the halo2 prover and verifier take.
pub(super) fn with_refs<R>(
    owned: &[Vec<Vec<pallas::Base>>],
    f: impl FnOnce(&[&[&[pallas::Base]]]) -> R,
) -> R {
    let columns: Vec<Vec<&[pallas::Base]>> = owned
        .iter()
        .map(|i| i.iter().map(|c| &c[..]).collect())
        .collect();
    let refs: Vec<&[&[pallas::Base]]> = columns.iter().map(|i| &i[..]).collect();
    f(&refs)
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

    /// Reads a length-prefixed proof that must be exactly `expected` bytes long (a proof
    /// has one length per statement and action count: anything else is refused, so no
    /// one can pad or extend a valid proof into a new encoding).
    pub(crate) fn read(
        r: &mut crate::encoding::Reader<'_>,
        expected: usize,
    ) -> Result<Self, crate::encoding::DecodeError> {
        let bytes = r.var_bytes("proof", expected).map_err(|e| match e {
            crate::encoding::DecodeError::TooMany { found, .. } => {
                crate::encoding::DecodeError::ProofLength {
                    expected,
                    found: usize::try_from(found).unwrap_or(usize::MAX),
                }
            }
            other => other,
        })?;
        if bytes.len() != expected {
            return Err(crate::encoding::DecodeError::ProofLength {
                expected,
                found: bytes.len(),
            });
        }
        Ok(Proof(bytes.to_vec()))
    }

    /// Proves `circuits` with public inputs `instances` (one per action, in order).
    pub fn create(
        pk: &ProvingKey,
        circuits: &[Circuit],
        instances: &[Instance],
        mut rng: impl CryptoRng,
    ) -> Result<Self, plonk::Error> {
        let owned = halo2_instances(instances)
            .filter(|o| o.len() == circuits.len())
            .ok_or(plonk::Error::InvalidInstances)?;
        let mut transcript = Blake2bWrite::<_, vesta::Affine, _>::init(vec![]);
        with_refs(&owned, |refs| {
            plonk::create_proof(
                &pk.params,
                &pk.pk,
                circuits,
                refs,
                &mut rng,
                &mut transcript,
            )
        })?;
        Ok(Proof(transcript.finalize()))
    }

    /// Verifies this proof against `instances`.
    pub fn verify(&self, vk: &VerifyingKey, instances: &[Instance]) -> Result<(), plonk::Error> {
        let owned = halo2_instances(instances).ok_or(plonk::Error::InvalidInstances)?;
        let strategy = SingleVerifier::new(&vk.params);
        let mut transcript = Blake2bRead::init(&self.0[..]);
        with_refs(&owned, |refs| {
            plonk::verify_proof(&vk.params, &vk.vk, strategy, refs, &mut transcript)
        })
    }

    /// Proves the deposit `witness` with public inputs `instance`.
    pub fn create_deposit(
        pk: &DepositProvingKey,
        witness: &DepositWitness,
        instance: &DepositInstance,
        mut rng: impl CryptoRng,
    ) -> Result<Self, plonk::Error> {
        let mut transcript = Blake2bWrite::<_, vesta::Affine, _>::init(vec![]);
        plonk::create_proof(
            &pk.params,
            &pk.pk,
            std::slice::from_ref(witness),
            &[&[&instance.0[..]]],
            &mut rng,
            &mut transcript,
        )?;
        Ok(Proof(transcript.finalize()))
    }

    /// Verifies this deposit proof against `instance`.
    pub fn verify_deposit(
        &self,
        vk: &VerifyingKey,
        instance: &DepositInstance,
    ) -> Result<(), plonk::Error> {
        let strategy = SingleVerifier::new(&vk.params);
        let mut transcript = Blake2bRead::init(&self.0[..]);
        plonk::verify_proof(
            &vk.params,
            &vk.deposit_vk,
            strategy,
            &[&[&instance.0[..]]],
            &mut transcript,
        )
    }

    /// Size in bytes of a proof for `num_actions` actions (an even number):
    /// `PROOF_SIZE_BASE + PROOF_SIZE_PER_INSTANCE * num_actions / 2`. Per circuit instance
    /// (two actions) the proof grows by the advice, lookup and permutation commitments and
    /// evaluations of one instance; the vanishing argument, fixed-column evaluations and
    /// the IPA opening are shared. The constants are pinned by a test that creates proofs.
    pub fn expected_size(num_actions: usize) -> usize {
        PROOF_SIZE_BASE + PROOF_SIZE_PER_INSTANCE * num_actions.div_ceil(ACTIONS_PER_INSTANCE)
    }
}

/// The size of a deposit proof, in bytes (pinned by a test that creates one).
pub const DEPOSIT_PROOF_SIZE: usize = 5_216;

/// The part of a proof that does not grow with the number of actions.
pub const PROOF_SIZE_BASE: usize = 2_976;
/// The growth of a proof per circuit instance (two actions).
pub const PROOF_SIZE_PER_INSTANCE: usize = 2_272;
