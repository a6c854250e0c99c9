//! Transactions: public issuances and shielded parts, their digest, canonical encoding
//! and verification.
//!
//! A transaction holds zero or more [`Issuance`]s (public creation of an asset by its
//! issuer) and zero or more [`Part`]s. Each part is built and proven by one party, is
//! balanced per asset on its own (its binding signature proves it), and every spend
//! authorisation and binding signature in every part signs the digest of the **whole**
//! transaction: no part can be stripped, swapped into another transaction or replayed.
//! That is what makes a two-bank delivery-versus-payment atomic.
//!
//! A bridge deposit ([`Deposit`]) travels in a transaction of its own: one with
//! deposits has no issuances or parts, and no signatures (each deposit's proof is its
//! authorisation; the L1 deposit is the node's check).
//!
//! # Format (version 1; version 2 when there are deposits)
//! ```text
//! tx        = 1:u8 || header || count || issuance* || count || part*
//!           | 2:u8 || header || count || issuance* || count || part* || count(≥1) || deposit*
//! header    = chain:32 || expiry_height:u64 || regulator:32
//! issuance  = issuer:32 || name:var(≤64) || count || (value:u64 || owner:32 || rcm:32)* || sig:64
//! part      = anchor:32 || registry_root:32 || count || action* || count || burn*
//!             || proof:var(exactly Proof::expected_size(n_actions))
//!             || spend_auth_sig:64 * n_actions || binding_sig:64
//! action    = nf:32 || rk:32 || cv_net:32 || cm_new:32 || regulator_ct:192 || encrypted_note:264
//! burn      = asset:32 || value:u64 || recipient:20 (an Ethereum address; zero: none)
//! deposit   = see crate::deposit
//! ```
//! The header names the regulator key every proof in the transaction encrypts to: the
//! proofs are verified against it (stateless), and a validator applies the
//! transaction only in a block where that key is the chain's regulator key (the
//! chain's schedule of keys rotates at operator-chosen heights; a key of the
//! sender's own choosing is refused there, however valid its proofs).
//!
//! The digest every signature signs is BLAKE2b-256 over the same encoding with the
//! signatures left out: it covers the chain, the expiry, the regulator key and every
//! proof, so nothing
//! signed for one network is valid on another, and no one but the signers can change a
//! byte of a valid transaction. The encoding is canonical (every field decodes one way,
//! proofs have their exact length, trailing bytes are an error), so the transaction id,
//! a hash of the whole encoding, is fixed by the signers too.

use std::collections::HashSet;

use blake2b_simd::Params;
use pasta_curves::pallas;
use rand_core::CryptoRng;
use reddsa::orchard::{Binding, SpendAuth};

use crate::{
    asset::AssetId,
    circuit::{Instance, Proof, ProofBatch, VerifyingKey, ACTIONS_PER_INSTANCE},
    constants::{
        CHAIN_ID_PERSONALIZATION, MAX_ACTIONS_PER_PART, MAX_ASSET_NAME, MAX_BURNS_PER_PART,
        MAX_DEPOSITS, MAX_ISSUED_NOTES, MAX_PARTS, TX_DIGEST_PERSONALIZATION,
    },
    deposit::Deposit,
    encoding::{DecodeError, Reader, Writer},
    keys::{Address, RegulatorPublicKey},
    note::{Note, NoteCommitment, NoteValue, Nullifier},
    note_encryption::EncryptedNote,
    registry::RegistryRoot,
    regulator::RegulatorCiphertext,
    tree::Anchor,
    value::ValueCommitment,
};

/// The encoding version of transactions without deposits.
pub const TX_VERSION: u8 = 1;
/// The encoding version of transactions with deposits.
pub const DEPOSIT_TX_VERSION: u8 = 2;

/// The digest every signature in a transaction signs: everything but the signatures
/// (proofs included). It is not the transaction's id: the id (`sable_primitives::TxId`)
/// hashes the whole canonical encoding, signatures included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxDigest(pub [u8; 32]);

impl TxDigest {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The network a transaction is for: a hash of the chain's namespace. It is in every
/// transaction digest, so a signature made for one network is not valid on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainId(pub [u8; 32]);

impl ChainId {
    /// The id of the chain named `namespace` (e.g. `"sable-devnet"`).
    pub fn from_namespace(namespace: &str) -> Self {
        let h = Params::new()
            .hash_length(32)
            .personal(CHAIN_ID_PERSONALIZATION)
            .hash(namespace.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(h.as_bytes());
        ChainId(out)
    }
}

impl std::fmt::Display for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// What every transaction says about where and until when it is valid; signed with the
/// rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxHeader {
    /// The network the transaction is for.
    pub chain: ChainId,
    /// The last block height that may include the transaction. A validator refuses one
    /// whose expiry is past, or further ahead than
    /// [`MAX_EXPIRY_DELTA`](crate::constants::MAX_EXPIRY_DELTA): a signed transaction is
    /// never a free option for ever.
    pub expiry_height: u64,
    /// The regulator key every ciphertext in the transaction is proven to encrypt to.
    /// Proofs are verified against it; a validator applies the transaction only in a
    /// block whose height the chain's schedule gives this key.
    pub regulator: RegulatorPublicKey,
}

impl TxHeader {
    fn write(&self, w: &mut Writer) {
        w.bytes(&self.chain.0)
            .u64(self.expiry_height)
            .bytes(&self.regulator.to_bytes());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxHeader {
            chain: ChainId(r.array("chain id")?),
            expiry_height: r.u64("expiry height")?,
            regulator: RegulatorPublicKey::from_bytes(&r.array("regulator key")?)?,
        })
    }
}

/// One action's public data.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// Nullifier of the spent note.
    pub nf: Nullifier,
    /// Randomised validating key the spend authorisation verifies under.
    pub rk: reddsa::VerificationKey<SpendAuth>,
    /// Value commitment.
    pub cv_net: ValueCommitment,
    /// Commitment of the new note.
    pub cm_new: NoteCommitment,
    /// The new note encrypted to the regulator (proven).
    pub regulator_ciphertext: RegulatorCiphertext,
    /// The new note encrypted to its recipient (and to the sender's ovk).
    pub encrypted_note: EncryptedNote,
}

/// A public burn: value leaving the shielded pool, to an Ethereum address (a
/// withdrawal, paid by the bridge once a settled batch releases it) or to none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burn {
    /// Asset.
    pub asset: AssetId,
    /// Amount.
    pub value: u64,
    /// The Ethereum address the bridge pays, or all zero: the value leaves the pool on
    /// Sable alone (an issuer's redemption, say). Every signature of the transaction
    /// covers it.
    pub recipient: [u8; 20],
}

impl Burn {
    /// Whether the bridge pays this burn out on Ethereum.
    pub fn is_withdrawal(&self) -> bool {
        self.recipient != [0; 20]
    }
}

/// The public effects of a part: what it spends, creates and burns.
#[derive(Clone, Debug, PartialEq)]
pub struct PartEffects {
    /// Note commitment tree root the spends are proven against.
    pub anchor: Anchor,
    /// Registry root the participants are proven against.
    pub registry_root: RegistryRoot,
    /// Actions.
    pub actions: Vec<Action>,
    /// Public burns.
    pub burns: Vec<Burn>,
}

/// A proven and signed part.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// Public effects.
    pub effects: PartEffects,
    /// Proof of all the part's actions.
    pub proof: Proof,
    /// One spend authorisation per action, over the transaction digest.
    pub spend_auth_sigs: Vec<reddsa::Signature<SpendAuth>>,
    /// Binding signature over the transaction digest.
    pub binding_sig: reddsa::Signature<Binding>,
}

/// A note created in public by an issuance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuedNote {
    /// Amount.
    pub value: u64,
    /// Recipient.
    pub owner: Address,
    /// Commitment randomness (public: issued notes are public by design).
    pub rcm: pallas::Base,
}

/// Public issuance of an asset by its issuer.
#[derive(Clone, Debug, PartialEq)]
pub struct Issuance {
    /// The issuer's key; the asset id is derived from it and the name.
    pub issuer: reddsa::VerificationKey<SpendAuth>,
    /// Asset name (e.g. `"USD deposit token"`).
    pub name: String,
    /// Notes created.
    pub notes: Vec<IssuedNote>,
    /// Issuer's signature over the transaction digest.
    pub signature: reddsa::Signature<SpendAuth>,
}

impl Issuance {
    /// The issued asset.
    pub fn asset(&self) -> AssetId {
        let vk: [u8; 32] = self.issuer.into();
        AssetId::issued(&vk, &self.name)
    }

    /// The notes as full notes (for the recipients' wallets).
    pub fn full_notes(&self) -> impl Iterator<Item = Note> + '_ {
        let asset = self.asset();
        self.notes
            .iter()
            .map(move |n| Note::from_parts(asset, NoteValue(n.value), n.owner, n.rcm))
    }
}

/// A transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    /// The chain and the expiry.
    pub header: TxHeader,
    /// Public issuances.
    pub issuances: Vec<Issuance>,
    /// Shielded parts.
    pub parts: Vec<Part>,
    /// Bridge deposits (only in a transaction without issuances and parts).
    pub deposits: Vec<Deposit>,
}

/// Why a transaction is invalid (stateless checks; the node checks anchors, registry
/// roots and nullifiers against its state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Malformed encoding.
    #[error("malformed transaction: {0}")]
    Decode(#[from] DecodeError),
    /// Nothing in it.
    #[error("transaction has neither issuances, parts nor deposits")]
    Empty,
    /// Deposits together with issuances or parts.
    #[error("deposits travel in a transaction of their own")]
    MixedDeposits,
    /// Two deposits claim the same L1 deposit.
    #[error("duplicate deposit index {0} within the transaction")]
    DuplicateDeposit(u64),
    /// A deposit's proof is invalid.
    #[error("deposit {0}: invalid proof")]
    BadDepositProof(usize),
    /// A part without actions, an issuance without notes or name.
    #[error("empty {0}")]
    EmptyComponent(&'static str),
    /// Signature count mismatch.
    #[error("part {part}: {sigs} spend authorisations for {actions} actions")]
    SignatureCount {
        /// Part index.
        part: usize,
        /// Signatures.
        sigs: usize,
        /// Actions.
        actions: usize,
    },
    /// A part's actions do not fill whole circuits.
    #[error("part {part}: {actions} actions is not a multiple of {per}", per = ACTIONS_PER_INSTANCE)]
    ActionCount {
        /// Part index.
        part: usize,
        /// Actions.
        actions: usize,
    },
    /// A withdrawal of nothing (the bridge would pay zero).
    #[error("part {part} burn {burn}: a withdrawal of zero")]
    ZeroWithdrawal {
        /// Part index.
        part: usize,
        /// Burn index within the part.
        burn: usize,
    },
    /// Two spends reveal the same nullifier.
    #[error("duplicate nullifier within the transaction")]
    DuplicateNullifier,
    /// Two regulator ciphertexts share their `epk`, so their encryption randomness: in
    /// public this links them, and the difference of the ciphertexts is the difference
    /// of the plaintexts (see [`crate::regulator`]).
    #[error(
        "{second}: its regulator ciphertext reuses the epk of {first} \
         (repeated encryption randomness links the two and leaks their plaintexts' difference)"
    )]
    DuplicateRegulatorEpk {
        /// The earlier ciphertext.
        first: CiphertextSite,
        /// The later ciphertext with the same `epk`.
        second: CiphertextSite,
    },
    /// An issuance signature is invalid.
    #[error("issuance {0}: invalid issuer signature")]
    BadIssuerSignature(usize),
    /// A spend authorisation is invalid.
    #[error("part {part} action {action}: invalid spend authorisation")]
    BadSpendAuth {
        /// Part index.
        part: usize,
        /// Action index.
        action: usize,
    },
    /// The binding signature is invalid (the part is not balanced per asset).
    #[error("part {0}: invalid binding signature (part not balanced)")]
    BadBindingSignature(usize),
    /// The proof is invalid.
    #[error("part {0}: invalid proof")]
    BadProof(usize),
}

/// Where a regulator ciphertext sits in a transaction (named by
/// [`TxError::DuplicateRegulatorEpk`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiphertextSite {
    /// Action `action` of part `part`.
    Action {
        /// Part index.
        part: usize,
        /// Action index within the part.
        action: usize,
    },
    /// A deposit, by its index in the transaction.
    Deposit(usize),
}

impl std::fmt::Display for CiphertextSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CiphertextSite::Action { part, action } => write!(f, "part {part} action {action}"),
            CiphertextSite::Deposit(i) => write!(f, "deposit {i}"),
        }
    }
}

impl Action {
    /// The circuit's public inputs for this action; an identity `rk` is an error.
    pub fn instance(
        &self,
        anchor: Anchor,
        root: RegistryRoot,
        regulator: &RegulatorPublicKey,
    ) -> Result<Instance, DecodeError> {
        Instance::new(
            anchor.inner(),
            root.inner(),
            self.nf.inner(),
            &self.rk,
            self.cv_net.to_affine(),
            self.cm_new.inner(),
            regulator.to_affine(),
            self.regulator_ciphertext.epk,
            self.regulator_ciphertext.c,
        )
    }

    fn write(&self, w: &mut Writer) {
        let rk: [u8; 32] = self.rk.into();
        w.bytes(&self.nf.to_bytes())
            .bytes(&rk)
            .bytes(&self.cv_net.to_bytes())
            .bytes(&self.cm_new.to_bytes());
        self.regulator_ciphertext.write(w);
        self.encrypted_note.write(w);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let nf = Nullifier::from_bytes(&r.array("nullifier")?)?;
        // reddsa accepts the identity as a key (and signatures under it are forgeable);
        // the circuit cannot take it as a public input: refuse it here.
        let rk_bytes = r.array::<32>("rk")?;
        crate::encoding::decode_non_identity_point(&rk_bytes, "rk")?;
        let rk = reddsa::VerificationKey::try_from(rk_bytes)
            .map_err(|_| DecodeError::InvalidPoint("rk"))?;
        let cv_net = ValueCommitment::from_bytes(&r.array("cv_net")?)?;
        let cm_new = NoteCommitment::from_bytes(&r.array("cm_new")?)?;
        let regulator_ciphertext = RegulatorCiphertext::read(r)?;
        let encrypted_note = EncryptedNote::read(r)?;
        Ok(Action {
            nf,
            rk,
            cv_net,
            cm_new,
            regulator_ciphertext,
            encrypted_note,
        })
    }
}

impl PartEffects {
    /// `bvk = Σ cv_net − Σ [v] V_asset` over burns.
    pub fn binding_validating_key(&self) -> ValueCommitment {
        let cv: ValueCommitment = self.actions.iter().map(|a| a.cv_net).sum();
        let burned: ValueCommitment = self
            .burns
            .iter()
            .map(|b| ValueCommitment::public(b.value, b.asset.base()))
            .sum();
        cv - burned
    }

    /// Public inputs of every action (an error for an action whose `rk` is the identity).
    pub fn instances(&self, regulator: &RegulatorPublicKey) -> Result<Vec<Instance>, DecodeError> {
        self.actions
            .iter()
            .map(|a| a.instance(self.anchor, self.registry_root, regulator))
            .collect()
    }

    fn write(&self, w: &mut Writer) {
        w.bytes(&self.anchor.to_bytes())
            .bytes(&self.registry_root.to_bytes())
            .count(self.actions.len());
        for a in &self.actions {
            a.write(w);
        }
        w.count(self.burns.len());
        for b in &self.burns {
            w.bytes(&b.asset.0).u64(b.value).bytes(&b.recipient);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let anchor = Anchor::from_bytes(&r.array("anchor")?)?;
        let registry_root = RegistryRoot::from_bytes(&r.array("registry root")?)?;
        let n = r.count("actions", MAX_ACTIONS_PER_PART)?;
        let actions = (0..n).map(|_| Action::read(r)).collect::<Result<_, _>>()?;
        let n = r.count("burns", MAX_BURNS_PER_PART)?;
        let burns = (0..n)
            .map(|_| {
                Ok(Burn {
                    asset: AssetId(r.array("burn asset")?),
                    value: r.u64("burn value")?,
                    recipient: r.array("burn recipient")?,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(PartEffects {
            anchor,
            registry_root,
            actions,
            burns,
        })
    }
}

fn write_sig<T: reddsa::SigType>(w: &mut Writer, sig: &reddsa::Signature<T>) {
    let bytes: [u8; 64] = (*sig).into();
    w.bytes(&bytes);
}

fn read_sig<T: reddsa::SigType>(r: &mut Reader<'_>) -> Result<reddsa::Signature<T>, DecodeError> {
    Ok(reddsa::Signature::from(r.array::<64>("signature")?))
}

impl Issuance {
    fn write_effects(&self, w: &mut Writer) {
        let vk: [u8; 32] = self.issuer.into();
        w.bytes(&vk)
            .var_bytes(self.name.as_bytes())
            .count(self.notes.len());
        for n in &self.notes {
            w.u64(n.value).bytes(&n.owner.to_bytes()).base(&n.rcm);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let issuer = reddsa::VerificationKey::try_from(r.array::<32>("issuer key")?)
            .map_err(|_| DecodeError::InvalidPoint("issuer key"))?;
        let name = std::str::from_utf8(r.var_bytes("asset name", MAX_ASSET_NAME)?)
            .map_err(|_| DecodeError::InvalidUtf8("asset name"))?
            .to_owned();
        let n = r.count("issued notes", MAX_ISSUED_NOTES)?;
        let notes = (0..n)
            .map(|_| {
                Ok(IssuedNote {
                    value: r.u64("issued value")?,
                    owner: Address::from_bytes(&r.array("issued owner")?)?,
                    rcm: r.base("issued rcm")?,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        let signature = read_sig(r)?;
        Ok(Issuance {
            issuer,
            name,
            notes,
            signature,
        })
    }
}

/// Digest of a transaction-to-be: its header, the issuances' effects and each part's
/// effects and proof. What every party signs.
pub fn digest_of(
    header: &TxHeader,
    issuances: &[&Issuance],
    parts: &[(&PartEffects, &Proof)],
) -> TxDigest {
    digest_with_deposits(header, issuances, parts, &[])
}

/// The version a transaction is encoded with.
fn version(deposits: usize) -> u8 {
    if deposits == 0 {
        TX_VERSION
    } else {
        DEPOSIT_TX_VERSION
    }
}

fn digest_with_deposits(
    header: &TxHeader,
    issuances: &[&Issuance],
    parts: &[(&PartEffects, &Proof)],
    deposits: &[Deposit],
) -> TxDigest {
    let mut w = Writer::new();
    w.u8(version(deposits.len()));
    header.write(&mut w);
    w.count(issuances.len());
    for i in issuances {
        i.write_effects(&mut w);
    }
    w.count(parts.len());
    for (effects, proof) in parts {
        effects.write(&mut w);
        w.var_bytes(proof.as_bytes());
    }
    if !deposits.is_empty() {
        w.count(deposits.len());
        for d in deposits {
            d.write(&mut w);
        }
    }
    let h = Params::new()
        .hash_length(32)
        .personal(TX_DIGEST_PERSONALIZATION)
        .hash(&w.into_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(h.as_bytes());
    TxDigest(out)
}

impl Transaction {
    /// The digest all signatures sign.
    pub fn digest(&self) -> TxDigest {
        let issuances: Vec<_> = self.issuances.iter().collect();
        let parts: Vec<_> = self.parts.iter().map(|p| (&p.effects, &p.proof)).collect();
        digest_with_deposits(&self.header, &issuances, &parts, &self.deposits)
    }

    /// Canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(version(self.deposits.len()));
        self.header.write(&mut w);
        w.count(self.issuances.len());
        for i in &self.issuances {
            i.write_effects(&mut w);
            write_sig(&mut w, &i.signature);
        }
        w.count(self.parts.len());
        for p in &self.parts {
            p.effects.write(&mut w);
            w.var_bytes(p.proof.as_bytes());
            for s in &p.spend_auth_sigs {
                write_sig(&mut w, s);
            }
            write_sig(&mut w, &p.binding_sig);
        }
        if !self.deposits.is_empty() {
            w.count(self.deposits.len());
            for d in &self.deposits {
                d.write(&mut w);
            }
        }
        w.into_bytes()
    }

    /// Parses the canonical encoding; any deviation is a typed error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != TX_VERSION && version != DEPOSIT_TX_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "transaction",
                found: version,
                expected: TX_VERSION,
            });
        }
        let header = TxHeader::read(&mut r)?;
        let n = r.count("issuances", MAX_PARTS)?;
        let issuances = (0..n)
            .map(|_| Issuance::read(&mut r))
            .collect::<Result<_, _>>()?;
        let n = r.count("parts", MAX_PARTS)?;
        let parts = (0..n)
            .map(|_| {
                let effects = PartEffects::read(&mut r)?;
                let proof = Proof::read(&mut r, Proof::expected_size(effects.actions.len()))?;
                let spend_auth_sigs = (0..effects.actions.len())
                    .map(|_| read_sig(&mut r))
                    .collect::<Result<_, _>>()?;
                let binding_sig = read_sig(&mut r)?;
                Ok(Part {
                    effects,
                    proof,
                    spend_auth_sigs,
                    binding_sig,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        let deposits = if version == DEPOSIT_TX_VERSION {
            // Version 2 carries at least one deposit (without, the encoding is version 1).
            let n = r.count("deposits", MAX_DEPOSITS)?;
            if n == 0 {
                return Err(DecodeError::TooFew {
                    what: "deposits in a version 2 transaction",
                    min: 1,
                });
            }
            (0..n)
                .map(|_| Deposit::read(&mut r))
                .collect::<Result<_, _>>()?
        } else {
            vec![]
        };
        r.finish()?;
        Ok(Transaction {
            header,
            issuances,
            parts,
            deposits,
        })
    }

    /// Every nullifier the transaction reveals.
    pub fn nullifiers(&self) -> impl Iterator<Item = &Nullifier> {
        self.parts
            .iter()
            .flat_map(|p| p.effects.actions.iter().map(|a| &a.nf))
    }

    /// Every withdrawal (a burn naming an Ethereum recipient), with its part's and its
    /// own index within the part: what identifies it within the transaction.
    pub fn withdrawals(&self) -> impl Iterator<Item = (usize, usize, &Burn)> {
        self.parts.iter().enumerate().flat_map(|(pi, p)| {
            p.effects
                .burns
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_withdrawal())
                .map(move |(bi, b)| (pi, bi, b))
        })
    }

    /// Every note commitment the transaction appends to the tree, in order: issued notes
    /// first, then each part's actions, then deposits.
    pub fn commitments(&self) -> Vec<NoteCommitment> {
        self.issuances
            .iter()
            .flat_map(|i| i.full_notes().map(|n| n.commitment()))
            .chain(
                self.parts
                    .iter()
                    .flat_map(|p| p.effects.actions.iter().map(|a| a.cm_new)),
            )
            .chain(self.deposits.iter().map(|d| d.cm))
            .collect()
    }

    fn check_structure(&self) -> Result<(), TxError> {
        if self.issuances.is_empty() && self.parts.is_empty() && self.deposits.is_empty() {
            return Err(TxError::Empty);
        }
        let mixed = !self.issuances.is_empty() || !self.parts.is_empty();
        if mixed && !self.deposits.is_empty() {
            return Err(TxError::MixedDeposits);
        }
        let mut indices = HashSet::new();
        for d in &self.deposits {
            if !indices.insert(d.index) {
                return Err(TxError::DuplicateDeposit(d.index));
            }
        }
        for i in &self.issuances {
            if i.notes.is_empty() || i.name.is_empty() {
                return Err(TxError::EmptyComponent("issuance"));
            }
        }
        let mut seen = HashSet::new();
        for (pi, p) in self.parts.iter().enumerate() {
            if p.effects.actions.is_empty() {
                return Err(TxError::EmptyComponent("part"));
            }
            if p.effects.actions.len() % ACTIONS_PER_INSTANCE != 0 {
                return Err(TxError::ActionCount {
                    part: pi,
                    actions: p.effects.actions.len(),
                });
            }
            // reddsa takes the identity as a key; the circuit cannot (and signatures
            // under it are forgeable). The decoder refuses it; so does this, for
            // transactions built in memory.
            for a in &p.effects.actions {
                let rk: [u8; 32] = a.rk.into();
                crate::encoding::decode_non_identity_point(&rk, "rk")?;
            }
            if p.spend_auth_sigs.len() != p.effects.actions.len() {
                return Err(TxError::SignatureCount {
                    part: pi,
                    sigs: p.spend_auth_sigs.len(),
                    actions: p.effects.actions.len(),
                });
            }
        }
        if let Some((part, burn, _)) = self.withdrawals().find(|(_, _, b)| b.value == 0) {
            return Err(TxError::ZeroWithdrawal { part, burn });
        }
        for nf in self.nullifiers() {
            if !seen.insert(*nf) {
                return Err(TxError::DuplicateNullifier);
            }
        }
        self.check_regulator_epks()
    }

    /// Refuses two regulator ciphertexts with one `epk`. The builder derives each `esk`
    /// from its action, so an honest transaction never has one; this catches a broken or
    /// hostile builder before its ciphertexts are published.
    fn check_regulator_epks(&self) -> Result<(), TxError> {
        let actions = self.parts.iter().enumerate().flat_map(|(part, p)| {
            p.effects
                .actions
                .iter()
                .enumerate()
                .map(move |(action, a)| {
                    (
                        CiphertextSite::Action { part, action },
                        &a.regulator_ciphertext,
                    )
                })
        });
        let deposits = self
            .deposits
            .iter()
            .enumerate()
            .map(|(i, d)| (CiphertextSite::Deposit(i), &d.regulator_ciphertext));
        let mut first_of = std::collections::HashMap::new();
        for (site, ct) in actions.chain(deposits) {
            let epk = group::GroupEncoding::to_bytes(&ct.epk);
            if let Some(first) = first_of.insert(epk, site) {
                return Err(TxError::DuplicateRegulatorEpk {
                    first,
                    second: site,
                });
            }
        }
        Ok(())
    }

    /// Verifies every signature and proof (stateless) against the regulator key the
    /// header names, naming the first failure.
    pub fn verify(&self, vk: &VerifyingKey) -> Result<(), TxError> {
        self.check_structure()?;
        let regulator = &self.header.regulator;
        let digest = self.digest();
        for (i, iss) in self.issuances.iter().enumerate() {
            iss.issuer
                .verify(digest.as_bytes(), &iss.signature)
                .map_err(|_| TxError::BadIssuerSignature(i))?;
        }
        for (pi, p) in self.parts.iter().enumerate() {
            for (ai, (a, sig)) in p.effects.actions.iter().zip(&p.spend_auth_sigs).enumerate() {
                a.rk.verify(digest.as_bytes(), sig)
                    .map_err(|_| TxError::BadSpendAuth {
                        part: pi,
                        action: ai,
                    })?;
            }
            let bvk = p
                .effects
                .binding_validating_key()
                .into_bvk()
                .map_err(|_| TxError::BadBindingSignature(pi))?;
            bvk.verify(digest.as_bytes(), &p.binding_sig)
                .map_err(|_| TxError::BadBindingSignature(pi))?;
            p.proof
                .verify(vk, &p.effects.instances(regulator)?)
                .map_err(|_| TxError::BadProof(pi))?;
        }
        for (i, d) in self.deposits.iter().enumerate() {
            d.verify(vk, regulator)
                .map_err(|_| TxError::BadDepositProof(i))?;
        }
        Ok(())
    }
}

/// Verifies many transactions at once: all signatures in one RedPallas batch and all
/// proofs in one Halo2 batch. On failure, fall back to [`Transaction::verify`] per
/// transaction to find the culprit.
pub struct BatchValidator {
    signatures: reddsa::batch::Verifier<SpendAuth, Binding>,
    proofs: ProofBatch,
    actions: usize,
}

impl std::fmt::Debug for BatchValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BatchValidator({} proofs, {} actions)",
            self.proofs.len(),
            self.actions
        )
    }
}

impl Default for BatchValidator {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchValidator {
    /// An empty batch.
    pub fn new() -> Self {
        BatchValidator {
            signatures: reddsa::batch::Verifier::new(),
            proofs: ProofBatch::new(),
            actions: 0,
        }
    }

    /// Queues a transaction; structural errors are reported at once, and then nothing of
    /// the transaction is queued. Proofs are checked against the regulator key the
    /// transaction's header names.
    pub fn add(&mut self, tx: &Transaction) -> Result<(), TxError> {
        tx.check_structure()?;
        let regulator = &tx.header.regulator;
        // Everything that can fail first: a refused transaction leaves the batch as it was.
        let parts = tx
            .parts
            .iter()
            .enumerate()
            .map(|(pi, p)| {
                let bvk = p
                    .effects
                    .binding_validating_key()
                    .into_bvk()
                    .map_err(|_| TxError::BadBindingSignature(pi))?;
                Ok((p, bvk, p.effects.instances(regulator)?))
            })
            .collect::<Result<Vec<_>, TxError>>()?;
        let digest = tx.digest();
        for iss in &tx.issuances {
            self.signatures.queue(reddsa::batch::Item::from_spendauth(
                iss.issuer.into(),
                iss.signature,
                digest.as_bytes(),
            ));
        }
        for (p, bvk, instances) in parts {
            for (a, sig) in p.effects.actions.iter().zip(&p.spend_auth_sigs) {
                self.signatures.queue(reddsa::batch::Item::from_spendauth(
                    a.rk.into(),
                    *sig,
                    digest.as_bytes(),
                ));
            }
            self.signatures.queue(reddsa::batch::Item::from_binding(
                bvk.into(),
                p.binding_sig,
                digest.as_bytes(),
            ));
            self.proofs.add(&p.proof, &instances);
            self.actions += p.effects.actions.len();
        }
        for d in &tx.deposits {
            self.proofs.add_deposit(&d.proof, &d.instance(regulator));
        }
        Ok(())
    }

    /// Number of actions queued.
    pub fn actions(&self) -> usize {
        self.actions
    }

    /// `true` only if every queued signature and proof is valid.
    pub fn validate(self, vk: &VerifyingKey, rng: &mut impl CryptoRng) -> bool {
        self.signatures.verify(&mut *rng).is_ok() && self.proofs.finalize(vk, rng)
    }
}
