//! Parties on a devnet: an operator that registers participants and issuers, an
//! issuer, and banks that build real shielded transactions from node data.

use std::{sync::OnceLock, time::Duration};

use rand::{rand_core::UnwrapErr, rngs::SysRng};
use sable_circuits::{
    asset::AssetId,
    builder::ProvenPart,
    circuit::ProvingKey,
    keys::{Address, RegulatorPublicKey, SpendingKey},
    note::Note,
    transaction::{Transaction, TxHeader},
};
use sable_client::node_client::NodeClient;
use sable_client::wallet::{self, OperatorKey};
use sable_node::config::NodeConfig;
use sable_primitives::admin::AdminOp;

pub const FINAL: Duration = Duration::from_secs(60);

pub fn rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

pub fn proving_key() -> &'static ProvingKey {
    static K: OnceLock<ProvingKey> = OnceLock::new();
    K.get_or_init(ProvingKey::build)
}

/// A client of validator `node` authenticated as `participant` (from the devnet PKI).
pub async fn connect(cfg: &NodeConfig, participant: &str) -> NodeClient {
    let pki = cfg.tls.ca.parent().unwrap();
    let channel = sable_client::connect(
        &cfg.network.rpc.to_string(),
        &cfg.tls.ca,
        &pki.join(format!("{participant}.pem")),
        &pki.join(format!("{participant}.key")),
    )
    .await
    .unwrap();
    NodeClient::new(channel)
}

/// The header for a transaction signed now through `client`'s node (its chain, the
/// wallet's default expiry window, and the regulator key the node's schedule gives the
/// next block: tests take the node's word for it, a bank's wallet never does).
pub async fn header(client: &mut NodeClient) -> TxHeader {
    let next = client.height().await.unwrap() + 1;
    let key = client.regulator_schedule().await.unwrap().key_at(next);
    client.tx_header(wallet::EXPIRY_WINDOW, key).await.unwrap()
}

pub fn regulator(cfg: &NodeConfig) -> RegulatorPublicKey {
    let mut b = [0u8; 32];
    hex::decode_to_slice(&cfg.chain.regulator_public_key, &mut b).unwrap();
    RegulatorPublicKey::from_bytes(&b).unwrap()
}

/// The keys of the first M of `cfg`'s governing operators, enough to approve a command
/// (a dev PKI keeps each key beside its certificate).
pub fn governing_operators(cfg: &NodeConfig) -> Result<Vec<OperatorKey>, sable_pki::PkiError> {
    let g = &cfg.governance;
    g.operators
        .iter()
        .take(g.threshold)
        .map(|cert| OperatorKey::load(&cert.with_extension("key"), cert))
        .collect()
}

/// Has M operators approve operator commands and sends them, waiting for each to
/// finalize.
pub async fn operator(cfg: &NodeConfig, client: &mut NodeClient, ops: Vec<AdminOp>) {
    let keys = governing_operators(cfg).unwrap();
    wallet::operate(client, &keys, ops).await.unwrap();
}

/// As `operator-0` through validator `cfg`: authorises `issuer` and registers each
/// `(bank, label)`, waiting until all of it is finalized.
pub async fn onboard(cfg: &NodeConfig, issuer: &Issuer, banks: &[(&Bank, &str)]) {
    let mut op = connect(cfg, "operator-0").await;
    let mut ops = vec![AdminOp::AuthorizeIssuer {
        issuer_key: issuer.public(),
        label: "issuer".into(),
    }];
    ops.extend(
        banks
            .iter()
            .map(|(bank, label)| bank.add_participant(label)),
    );
    operator(cfg, &mut op, ops).await;
}

/// The parties most scenarios need: the network's regulator key, Bank A and Bank B
/// registered, and an authorised issuer.
pub struct TwoBanks {
    pub regulator: RegulatorPublicKey,
    pub a: Bank,
    pub b: Bank,
    pub issuer: Issuer,
}

/// Creates [`TwoBanks`] and onboards them through validator `cfg` (see [`onboard`]).
pub async fn two_banks(cfg: &NodeConfig) -> TwoBanks {
    let (a, b, issuer) = (Bank::new(), Bank::new(), Issuer::new());
    onboard(cfg, &issuer, &[(&a, "Bank A"), (&b, "Bank B")]).await;
    TwoBanks {
        regulator: regulator(cfg),
        a,
        b,
        issuer,
    }
}

/// A bank's keys.
pub struct Bank {
    pub sk: SpendingKey,
}

impl Default for Bank {
    fn default() -> Self {
        Self::new()
    }
}

impl Bank {
    pub fn new() -> Self {
        Bank {
            sk: SpendingKey::random(&mut rng()),
        }
    }
    pub fn address(&self) -> Address {
        self.sk.full_viewing_key().address()
    }
    /// The operator command that registers this bank (address and epoch schedule).
    pub fn add_participant(&self, label: &str) -> AdminOp {
        AdminOp::add_participant(&self.sk.full_viewing_key(), label)
    }
}

/// An issuer key (see [`wallet::Issuer`]) issuing one asset per call.
#[derive(Default)]
pub struct Issuer(pub wallet::Issuer);

impl Issuer {
    pub fn new() -> Self {
        Issuer(wallet::Issuer::random())
    }

    pub fn public(&self) -> [u8; 32] {
        self.0.public()
    }

    /// A signed issuance of `values` of asset `name` to `owner`, under `header`.
    pub fn issue(
        &self,
        header: TxHeader,
        name: &str,
        owner: Address,
        values: &[u64],
    ) -> (Transaction, Vec<Note>) {
        let notes: Vec<(Address, u64)> = values.iter().map(|v| (owner, *v)).collect();
        wallet::issue(header, &[(&self.0, name, &notes)])
    }
}

/// One bank's leg (see [`wallet::prove_leg`]).
pub async fn leg(
    client: &mut NodeClient,
    regulator: RegulatorPublicKey,
    from: &Bank,
    note: Note,
    position: u64,
    to: Address,
    amount: u64,
) -> ProvenPart {
    let note = wallet::OwnedNote { note, position };
    wallet::prove_leg(client, proving_key(), regulator, &from.sk, note, to, amount)
        .await
        .unwrap()
}

/// A transaction of the given legs under `header` (see [`wallet::assemble`]).
pub fn assemble(header: TxHeader, legs: Vec<(ProvenPart, &Bank)>) -> Transaction {
    wallet::assemble(header, legs.into_iter().map(|(p, b)| (p, &b.sk)).collect()).unwrap()
}

/// A withdrawal of `amount` from `owned` to the Ethereum address `recipient`, the
/// change back to `from` (see [`wallet::prove_leg_to`]).
pub async fn withdraw(
    client: &mut NodeClient,
    regulator: RegulatorPublicKey,
    from: &Bank,
    owned: wallet::OwnedNote,
    recipient: [u8; 20],
    amount: u64,
) -> Transaction {
    let to = wallet::LegTo::Withdraw(recipient);
    let part = wallet::prove_leg_to(
        client,
        proving_key(),
        regulator,
        &from.sk,
        owned,
        to,
        amount,
    )
    .await
    .unwrap();
    assemble(header(client).await, vec![(part, from)])
}

/// A single-leg payment (see [`leg`]).
pub async fn pay(
    client: &mut NodeClient,
    regulator: RegulatorPublicKey,
    from: &Bank,
    note: Note,
    position: u64,
    to: Address,
    amount: u64,
) -> Transaction {
    let part = leg(client, regulator, from, note, position, to, amount).await;
    assemble(header(client).await, vec![(part, from)])
}

/// `from` pays `to` `amount` of `asset` out of one note its `wallet` holds (synced
/// first), and waits for the payment to finalize: the payment and the height it
/// finalized at.
pub async fn pay_from_wallet(
    client: &mut NodeClient,
    regulator: RegulatorPublicKey,
    from: &Bank,
    wallet: &mut wallet::Wallet,
    asset: AssetId,
    to: Address,
    amount: u64,
) -> (Transaction, u64) {
    wallet.sync(client).await.unwrap();
    let owned = wallet.note_for(asset, amount).unwrap();
    let tx = pay(
        client,
        regulator,
        from,
        owned.note,
        owned.position,
        to,
        amount,
    )
    .await;
    let (_, height) = wallet::settle(client, &tx).await.unwrap();
    (tx, height)
}

/// A transaction in which `owner` spends a made-up note under nullifiers `nfs`, against
/// `anchor` and `registry_root`, with a proof and signatures of zeros of the right shape:
/// it decodes and passes every check but the cryptographic ones. For tests of what
/// happens apart from verification (execution's state checks), and of verification
/// itself (a leader stuffing junk into its proposals).
pub fn unproven_spend(
    header: TxHeader,
    regulator: &RegulatorPublicKey,
    owner: &Bank,
    anchor: sable_circuits::tree::Anchor,
    registry_root: sable_circuits::registry::RegistryRoot,
    nfs: [sable_circuits::note::Nullifier; 2],
) -> Transaction {
    use sable_circuits::{
        asset::AssetId,
        circuit::Proof,
        note::NoteValue,
        note_encryption::encrypt_note,
        pallas,
        regulator::{random_esk, RegulatorCiphertext, RegulatorPlaintext},
        transaction::{Action, Part, PartEffects},
        value::ValueCommitment,
    };
    let mut rng = rng();
    let note = Note::new(
        AssetId::from_name("USD"),
        NoteValue(1),
        owner.address(),
        &mut rng,
    );
    let rk = owner
        .sk
        .full_viewing_key()
        .ak()
        .randomize(&pallas::Scalar::from(7u64));
    let actions = nfs
        .into_iter()
        .map(|nf| Action {
            nf,
            rk,
            cv_net: ValueCommitment::public(1, note.asset().base()),
            cm_new: note.commitment(),
            regulator_ciphertext: RegulatorCiphertext::encrypt(
                regulator,
                random_esk(&mut rng),
                &RegulatorPlaintext::of_deposit(&note),
            ),
            encrypted_note: encrypt_note(&note, &[0; 64], None, &mut rng),
        })
        .collect();
    Transaction {
        header,
        issuances: vec![],
        parts: vec![Part {
            effects: PartEffects {
                anchor,
                registry_root,
                actions,
                burns: vec![],
            },
            proof: Proof::from_bytes(vec![0; Proof::expected_size(2)]),
            spend_auth_sigs: vec![[0u8; 64].into(); 2],
            binding_sig: [0u8; 64].into(),
        }],
        deposits: vec![],
    }
}
