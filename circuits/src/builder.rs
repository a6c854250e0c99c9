//! Building actions, parts and transactions.
//!
//! A bank builds its own [`Part`](crate::transaction::Part) with a [`PartBuilder`]:
//! `PartBuilder` → [`UnprovenPart`] (circuits, randomness) → [`ProvenPart`] (proof, no
//! signatures). Parts from several banks are combined into one transaction digest; each
//! bank then signs its own part with [`ProvenPart::authorize`], so two banks assemble
//! an atomic DvP without sharing any secret. The typestate makes it impossible to
//! publish an unproven or unsigned part.
//!
//! A depositor proves a bridge [`Deposit`] with [`prove_deposit`].

use ff::Field;
use halo2_proofs::circuit::Value;
use pasta_curves::pallas;
use rand_core::CryptoRng;
use reddsa::orchard::{Binding, SpendAuth};

use crate::{
    asset::AssetId,
    circuit::{
        circuits_of,
        deposit::{DepositInstance, DepositWitness},
        ActionWitness, Circuit, DepositProvingKey, Instance, Proof, ProvingKey,
        ACTIONS_PER_INSTANCE,
    },
    constants::{MAX_ACTIONS_PER_PART, MAX_BURNS_PER_PART},
    deposit::{claim_binding, Deposit},
    keys::{Address, FullViewingKey, RegulatorPublicKey, SpendAuthorizingKey},
    note::{Note, NoteValue, Nullifier},
    note_encryption::{encrypt_note, MEMO_SIZE},
    registry::{Membership, RegistryRoot},
    regulator::{action_esk, deposit_esk, RegulatorCiphertext, RegulatorPlaintext},
    transaction::{Action, Burn, Part, PartEffects, TxDigest},
    tree::{Anchor, NotePath},
    value::{ValueCommitTrapdoor, ValueCommitment, ValueSum},
};

/// Why a part or a deposit cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The spent note's path does not lead to the part's anchor.
    #[error("spent note is not in the tree under the part's anchor")]
    AnchorMismatch,
    /// A registry path does not lead to the part's registry root.
    #[error("{0} is not a member of the registry under the part's registry root")]
    NotRegistered(&'static str),
    /// The spent note is not owned by the spending key.
    #[error("spent note is not owned by the given full viewing key")]
    NotOwner,
    /// The note is worth less than the payment.
    #[error("the spent note is worth less than the payment")]
    InsufficientFunds,
    /// The part has no actions.
    #[error("a part needs at least one action")]
    NoActions,
    /// Too many actions or burns.
    #[error("too many {0}")]
    TooMany(&'static str),
    /// The part does not balance per asset.
    #[error("part is not balanced for {0:?}")]
    Unbalanced(AssetId),
    /// No given key authorises an action's spend.
    #[error("no spend authorising key given for action {0}")]
    MissingKey(usize),
    /// The prover failed (a witness does not satisfy the circuit).
    #[error("proving failed: {0}")]
    Proving(String),
    /// A public input cannot be formed (an identity randomised key).
    #[error("invalid public input: {0}")]
    Instance(#[from] crate::encoding::DecodeError),
}

/// The note an action spends, with what proves it may be spent.
#[derive(Clone, Debug)]
pub struct SpendInfo {
    /// The owner's full viewing key.
    pub fvk: FullViewingKey,
    /// The note.
    pub note: Note,
    /// Its path in the note commitment tree.
    pub path: NotePath,
    /// The owner's registry membership (path and registered epoch schedule).
    pub registry: Membership,
    /// A split spend: prove ownership of the note (in the tree under the anchor, spent
    /// or not) without consuming it; the action only creates.
    pub split: bool,
}

/// The note an action creates.
#[derive(Clone, Debug)]
pub struct OutputInfo {
    /// Recipient address.
    pub recipient: Address,
    /// Value.
    pub value: NoteValue,
    /// The recipient's registry membership (path and registered epoch schedule).
    pub registry: Membership,
    /// Memo for the recipient.
    pub memo: [u8; MEMO_SIZE],
}

/// Everything needed to prove one action, randomness included.
#[derive(Clone, Debug)]
pub struct ActionInfo {
    spend: SpendInfo,
    output: Note,
    output_memo: [u8; MEMO_SIZE],
    output_registry: Membership,
    rcv: ValueCommitTrapdoor,
    alpha: pallas::Scalar,
    salt: pallas::Base,
}

impl ActionInfo {
    /// Draws the action's randomness.
    pub fn new(spend: SpendInfo, output: OutputInfo, rng: &mut impl CryptoRng) -> Self {
        let note = Note::new(
            spend.note.asset(),
            output.value,
            output.recipient,
            &mut *rng,
        );
        ActionInfo {
            spend,
            output: note,
            output_memo: output.memo,
            output_registry: output.registry,
            rcv: ValueCommitTrapdoor::random(&mut *rng),
            alpha: pallas::Scalar::random(&mut *rng),
            salt: pallas::Base::random(&mut *rng),
        }
    }

    /// The regulator ciphertext's `esk`: derived from the spend's nullifier and the new
    /// note under the spender's `nk`, never drawn, so a repeated random stream cannot
    /// repeat it (see [`crate::regulator`]).
    fn regulator_esk(&self) -> pallas::Base {
        action_esk(
            self.spend.fvk.nk(),
            &self.nullifier(),
            &self.output.commitment(),
        )
    }

    /// `v_net` of this action.
    pub fn value_sum(&self) -> ValueSum {
        let spent = if self.spend.split {
            0
        } else {
            self.spend.note.value().inner()
        };
        ValueSum::net(spent, self.output.value().inner())
    }

    /// The nullifier this action reveals.
    pub fn nullifier(&self) -> Nullifier {
        let cm = self.spend.note.commitment();
        let tag = if self.spend.split {
            self.salt
        } else {
            pallas::Base::from(self.spend.path.position)
        };
        Nullifier::derive(self.spend.fvk.nk(), cm, tag)
    }

    /// The value commitment.
    pub fn cv_net(&self) -> ValueCommitment {
        ValueCommitment::derive(self.value_sum(), self.spend.note.asset().base(), self.rcv)
    }

    /// The regulator's plaintext for this action.
    pub fn regulator_plaintext(&self) -> RegulatorPlaintext {
        let spent_value = if self.spend.split {
            0
        } else {
            self.spend.note.value().inner()
        };
        RegulatorPlaintext {
            asset_x: self.output.asset().base().coordinates().0,
            value: self.output.value().to_base(),
            owner_x: self.output.owner().coordinates().0,
            spent_cm: self.spend.note.commitment().inner(),
            spent_value: pallas::Base::from(spent_value),
        }
    }

    /// The circuit witness and public inputs for anchor `anchor`, registry root `root`
    /// and regulator key `regulator`; also the public action data (without the
    /// recipient ciphertext).
    pub fn to_circuit(
        &self,
        anchor: Anchor,
        root: RegistryRoot,
        regulator: &RegulatorPublicKey,
    ) -> Result<(ActionWitness, Instance, RegulatorCiphertext), crate::encoding::DecodeError> {
        let rk = self.spend.fvk.ak().randomize(&self.alpha);
        let esk = self.regulator_esk();
        let reg_ct = RegulatorCiphertext::encrypt(regulator, esk, &self.regulator_plaintext());
        let instance = Instance::new(
            anchor.inner(),
            root.inner(),
            self.nullifier().inner(),
            &rk,
            self.cv_net().to_affine(),
            self.output.commitment().inner(),
            regulator.to_affine(),
            reg_ct.epk,
            reg_ct.c,
        )?;
        let circuit = ActionWitness {
            asset: Value::known(self.spend.note.asset().base().to_affine()),
            v_old: Value::known(self.spend.note.value().inner()),
            rcm_old: Value::known(self.spend.note.rcm()),
            ak: Value::known(self.spend.fvk.ak().to_affine()),
            nk: Value::known(self.spend.fvk.nk().inner()),
            alpha: Value::known(self.alpha),
            note_pos: Value::known(self.spend.path.position),
            note_path: self.spend.path.siblings.map(Value::known),
            split: Value::known(self.spend.split),
            salt: Value::known(self.salt),
            reg_pos_old: Value::known(self.spend.registry.path.position),
            reg_path_old: self.spend.registry.path.siblings.map(Value::known),
            epoch_root_old: Value::known(self.spend.registry.epoch_root().inner()),
            v_new: Value::known(self.output.value().inner()),
            pk_new: Value::known(self.output.owner().to_affine()),
            rcm_new: Value::known(self.output.rcm()),
            reg_pos_new: Value::known(self.output_registry.path.position),
            reg_path_new: self.output_registry.path.siblings.map(Value::known),
            epoch_root_new: Value::known(self.output_registry.epoch_root().inner()),
            rcv: Value::known(self.rcv.inner()),
            esk: Value::known(esk),
            regulator_pk: Value::known(regulator.to_affine()),
        };
        Ok((circuit, instance, reg_ct))
    }

    /// The new note (for the sender's records and tests).
    pub fn output_note(&self) -> &Note {
        &self.output
    }

    fn check(&self, anchor: Anchor, root: RegistryRoot) -> Result<(), BuildError> {
        let s = &self.spend;
        if s.path.root(s.note.commitment().inner()) != anchor.inner() {
            return Err(BuildError::AnchorMismatch);
        }
        if s.fvk.address() != s.note.owner() {
            return Err(BuildError::NotOwner);
        }
        if s.registry.root(&s.note.owner()) != Some(root.inner()) {
            return Err(BuildError::NotRegistered("sender"));
        }
        if self.output_registry.root(&self.output.owner()) != Some(root.inner()) {
            return Err(BuildError::NotRegistered("recipient"));
        }
        Ok(())
    }
}

/// Builds one bank's part of a transaction.
#[derive(Debug)]
pub struct PartBuilder {
    anchor: Anchor,
    registry_root: RegistryRoot,
    regulator: RegulatorPublicKey,
    actions: Vec<ActionInfo>,
    burns: Vec<Burn>,
}

impl PartBuilder {
    /// A part spending notes under `anchor`, with participants registered under
    /// `registry_root`, encrypting to the network's regulator key.
    pub fn new(anchor: Anchor, registry_root: RegistryRoot, regulator: RegulatorPublicKey) -> Self {
        PartBuilder {
            anchor,
            registry_root,
            regulator,
            actions: Vec::new(),
            burns: Vec::new(),
        }
    }

    /// Adds an action spending `spend` and creating `output` (of the spent asset).
    pub fn add_action(
        &mut self,
        spend: SpendInfo,
        output: OutputInfo,
        rng: &mut impl CryptoRng,
    ) -> Result<&ActionInfo, BuildError> {
        if self.actions.len() >= MAX_ACTIONS_PER_PART {
            return Err(BuildError::TooMany("actions"));
        }
        let info = ActionInfo::new(spend, output, rng);
        info.check(self.anchor, self.registry_root)?;
        self.actions.push(info);
        Ok(self.actions.last().expect("just pushed"))
    }

    /// Pays `amount` from `spend`'s note to `to` and returns the change to the spender:
    /// two actions, the second a split spend of the same note. Returns the two new notes
    /// (payment, change).
    pub fn add_payment(
        &mut self,
        spend: SpendInfo,
        to: OutputInfo,
        rng: &mut impl CryptoRng,
    ) -> Result<(Note, Note), BuildError> {
        let change_value = spend
            .note
            .value()
            .inner()
            .checked_sub(to.value.inner())
            .ok_or(BuildError::InsufficientFunds)?;
        let change = OutputInfo {
            recipient: spend.fvk.address(),
            value: NoteValue(change_value),
            registry: spend.registry.clone(),
            memo: [0; MEMO_SIZE],
        };
        let split = SpendInfo {
            split: true,
            ..spend.clone()
        };
        if self.actions.len() + 2 > MAX_ACTIONS_PER_PART {
            return Err(BuildError::TooMany("actions"));
        }
        let paid = *self.add_action(spend, to, rng)?.output_note();
        let kept = *self.add_action(split, change, rng)?.output_note();
        Ok((paid, kept))
    }

    /// Adds a public burn of `value` of `asset` that leaves the pool on Sable alone.
    pub fn add_burn(&mut self, asset: AssetId, value: u64) -> Result<(), BuildError> {
        self.add_withdrawal(asset, value, [0; 20])
    }

    /// Adds a withdrawal: a public burn of `value` of `asset` that the bridge pays to
    /// the Ethereum address `recipient` once a settled batch releases it.
    pub fn add_withdrawal(
        &mut self,
        asset: AssetId,
        value: u64,
        recipient: [u8; 20],
    ) -> Result<(), BuildError> {
        if self.burns.len() >= MAX_BURNS_PER_PART {
            return Err(BuildError::TooMany("burns"));
        }
        self.burns.push(Burn {
            asset,
            value,
            recipient,
        });
        Ok(())
    }

    /// Checks per-asset balance, pads the part to whole circuits (with a zero-value split
    /// of the first spent note back to its owner) and draws the remaining randomness.
    pub fn build(mut self, rng: &mut impl CryptoRng) -> Result<UnprovenPart, BuildError> {
        let first = self.actions.first().ok_or(BuildError::NoActions)?;
        if !self.actions.len().is_multiple_of(ACTIONS_PER_INSTANCE) {
            let spend = SpendInfo {
                split: true,
                ..first.spend.clone()
            };
            let pad = OutputInfo {
                recipient: spend.fvk.address(),
                value: NoteValue(0),
                registry: spend.registry.clone(),
                memo: [0; MEMO_SIZE],
            };
            let pad = ActionInfo::new(spend, pad, rng);
            self.actions.push(pad);
        }
        let mut per_asset: std::collections::BTreeMap<AssetId, i128> = Default::default();
        for a in &self.actions {
            *per_asset.entry(a.spend.note.asset()).or_default() += a.value_sum().inner();
        }
        for b in &self.burns {
            *per_asset.entry(b.asset).or_default() -= i128::from(b.value);
        }
        if let Some((asset, _)) = per_asset.iter().find(|(_, v)| **v != 0) {
            return Err(BuildError::Unbalanced(*asset));
        }
        let mut witnesses = Vec::with_capacity(self.actions.len());
        let mut instances = Vec::with_capacity(self.actions.len());
        let mut actions = Vec::with_capacity(self.actions.len());
        for info in &self.actions {
            let (circuit, instance, reg_ct) =
                info.to_circuit(self.anchor, self.registry_root, &self.regulator)?;
            let cv_net = info.cv_net();
            let encrypted_note = encrypt_note(
                info.output_note(),
                &info.output_memo,
                Some((&info.spend.fvk.outgoing_viewing_key(), &cv_net)),
                &mut *rng,
            );
            actions.push(Action {
                nf: info.nullifier(),
                rk: info.spend.fvk.ak().randomize(&info.alpha),
                cv_net,
                cm_new: info.output_note().commitment(),
                regulator_ciphertext: reg_ct,
                encrypted_note,
            });
            witnesses.push(circuit);
            instances.push(instance);
        }
        let bsk = self
            .actions
            .iter()
            .fold(ValueCommitTrapdoor::zero(), |acc, a| acc + a.rcv);
        Ok(UnprovenPart {
            effects: PartEffects {
                anchor: self.anchor,
                registry_root: self.registry_root,
                actions,
                burns: self.burns,
            },
            witnesses,
            instances,
            alphas: self.actions.iter().map(|a| a.alpha).collect(),
            aks: self.actions.iter().map(|a| *a.spend.fvk.ak()).collect(),
            bsk,
        })
    }
}

/// A part with its witnesses, before proving.
#[derive(Debug)]
pub struct UnprovenPart {
    effects: PartEffects,
    witnesses: Vec<ActionWitness>,
    instances: Vec<Instance>,
    alphas: Vec<pallas::Scalar>,
    aks: Vec<crate::keys::SpendValidatingKey>,
    bsk: ValueCommitTrapdoor,
}

impl UnprovenPart {
    /// The public effects (shareable with counterparties).
    pub fn effects(&self) -> &PartEffects {
        &self.effects
    }

    /// The circuits and the per-action instances (for tests and benchmarks).
    pub fn circuits(&self) -> (Vec<Circuit>, &[Instance]) {
        (circuits_of(&self.witnesses), &self.instances)
    }

    /// Attaches `proof` without proving: the part is then signed over it, and validators
    /// refuse it unless it is a valid proof of these effects. This is what a hostile or
    /// broken client sends (a part whose signatures are valid but whose proof is not);
    /// tests of the validators' defences build one with it.
    pub fn with_unchecked_proof(self, proof: Proof) -> ProvenPart {
        ProvenPart {
            effects: self.effects,
            proof,
            alphas: self.alphas,
            aks: self.aks,
            bsk: self.bsk,
        }
    }

    /// Creates the proof of all the part's actions.
    pub fn prove(
        self,
        pk: &ProvingKey,
        rng: &mut impl CryptoRng,
    ) -> Result<ProvenPart, BuildError> {
        let proof = Proof::create(
            pk,
            &circuits_of(&self.witnesses),
            &self.instances,
            &mut *rng,
        )
        .map_err(|e| BuildError::Proving(e.to_string()))?;
        Ok(self.with_unchecked_proof(proof))
    }
}

/// A proven part awaiting signatures over the whole transaction's digest.
#[derive(Debug)]
pub struct ProvenPart {
    effects: PartEffects,
    proof: Proof,
    alphas: Vec<pallas::Scalar>,
    aks: Vec<crate::keys::SpendValidatingKey>,
    bsk: ValueCommitTrapdoor,
}

impl ProvenPart {
    /// The public effects.
    pub fn effects(&self) -> &PartEffects {
        &self.effects
    }

    /// What the transaction digest covers of this part, its effects and its proof:
    /// what a bank shares with its counterparties so each can compute the digest of the
    /// whole transaction (see [`digest_of`](crate::transaction::digest_of)).
    pub fn signed_data(&self) -> (&PartEffects, &Proof) {
        (&self.effects, &self.proof)
    }

    /// Signs every spend with its owner's key (found among `keys` by its validating
    /// key) and the part's balance with `bsk`, all over the digest of the *whole*
    /// transaction.
    pub fn authorize(
        self,
        digest: &TxDigest,
        keys: &[&SpendAuthorizingKey],
        rng: &mut impl CryptoRng,
    ) -> Result<Part, BuildError> {
        let mut spend_auth_sigs = Vec::with_capacity(self.alphas.len());
        for (i, (alpha, ak)) in self.alphas.iter().zip(&self.aks).enumerate() {
            let ak_bytes = group::GroupEncoding::to_bytes(&ak.to_affine());
            let ask = keys
                .iter()
                .find(|k| <[u8; 32]>::from(reddsa::VerificationKey::from(&k.0)) == ak_bytes)
                .ok_or(BuildError::MissingKey(i))?;
            let rsk: reddsa::SigningKey<SpendAuth> = ask.randomize(alpha);
            spend_auth_sigs.push(rsk.sign(&mut *rng, digest.as_bytes()));
        }
        let bsk: reddsa::SigningKey<Binding> = self.bsk.into_bsk();
        let binding_sig = bsk.sign(&mut *rng, digest.as_bytes());
        Ok(Part {
            effects: self.effects,
            proof: self.proof,
            spend_auth_sigs,
            binding_sig,
        })
    }
}

/// Proves a bridge deposit: that `note` (whose commitment the depositor gave the bridge
/// as deposit `index`) opens to its public asset and value, that its owner is
/// registered under `registry_root` (by `registry`), and encrypts it to the
/// regulator; the note also goes encrypted to its owner with `memo`, and the proof binds
/// `index` and that ciphertext ([`claim_binding`]).
#[allow(clippy::too_many_arguments)]
pub fn prove_deposit(
    pk: &DepositProvingKey,
    index: u64,
    note: &Note,
    registry: &Membership,
    registry_root: RegistryRoot,
    regulator: &RegulatorPublicKey,
    memo: &[u8; MEMO_SIZE],
    rng: &mut impl CryptoRng,
) -> Result<Deposit, BuildError> {
    if registry.root(&note.owner()) != Some(registry_root.inner()) {
        return Err(BuildError::NotRegistered("owner"));
    }
    let esk = deposit_esk(note);
    // The note ciphertext first: the proof binds it (with the index).
    let encrypted_note = encrypt_note(note, memo, None, &mut *rng);
    let claim = claim_binding(index, &encrypted_note);
    let (witness, instance, regulator_ciphertext) =
        deposit_statement(note, registry, registry_root, regulator, esk, claim);
    let proof = Proof::create_deposit(pk, &witness, &instance, &mut *rng)
        .map_err(|e| BuildError::Proving(e.to_string()))?;
    Ok(Deposit {
        index,
        asset: note.asset(),
        value: note.value().inner(),
        cm: note.commitment(),
        registry_root,
        regulator_ciphertext,
        encrypted_note,
        proof,
    })
}

/// The deposit circuit's witness and public inputs for `note`, with the regulator
/// ciphertext under `esk` and the claim binding `claim`
/// ([`claim_binding`](crate::deposit::claim_binding)).
pub(crate) fn deposit_statement(
    note: &Note,
    registry: &Membership,
    registry_root: RegistryRoot,
    regulator: &RegulatorPublicKey,
    esk: pallas::Base,
    claim: pallas::Base,
) -> (DepositWitness, DepositInstance, RegulatorCiphertext) {
    let ct = RegulatorCiphertext::encrypt(regulator, esk, &RegulatorPlaintext::of_deposit(note));
    let instance = DepositInstance::new(
        note.asset().base().to_affine(),
        note.value().inner(),
        note.commitment().inner(),
        registry_root.inner(),
        regulator.to_affine(),
        ct.epk,
        ct.c,
        claim,
    );
    let witness = DepositWitness {
        asset: Value::known(note.asset().base().to_affine()),
        value: Value::known(note.value().inner()),
        pk: Value::known(note.owner().to_affine()),
        rcm: Value::known(note.rcm()),
        reg_pos: Value::known(registry.path.position),
        reg_path: registry.path.siblings.map(Value::known),
        epoch_root: Value::known(registry.epoch_root().inner()),
        esk: Value::known(esk),
        regulator_pk: Value::known(regulator.to_affine()),
        claim: Value::known(claim),
    };
    (witness, instance, ct)
}
