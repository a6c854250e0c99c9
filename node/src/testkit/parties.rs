//! Parties on a devnet: an operator that registers participants and issuers, an
//! issuer, and banks that build real shielded transactions from node data.

use std::{sync::OnceLock, time::Duration};

use crate::{
    admin::{AdminCommand, AdminOp},
    client::{ClientError, NodeClient, Status},
    config::NodeConfig,
    pki::{load_certificate_pem, load_key_seed},
};
use ff::Field;
use rand::{rand_core::UnwrapErr, rngs::SysRng};
use reddsa::orchard::SpendAuth;
use sable_circuits::{
    builder::{OutputInfo, PartBuilder, ProvenPart, SpendInfo},
    circuit::ProvingKey,
    keys::{Address, RegulatorPublicKey, SpendingKey},
    note::{Note, NoteValue},
    pallas,
    transaction::{digest_of, Issuance, IssuedNote, Transaction},
};

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
    let channel = crate::rpc::connect(
        &cfg.network.rpc.to_string(),
        &cfg.tls.ca,
        &pki.join(format!("{participant}.pem")),
        &pki.join(format!("{participant}.key")),
    )
    .await
    .unwrap();
    NodeClient::new(channel)
}

pub fn regulator(cfg: &NodeConfig) -> RegulatorPublicKey {
    let mut b = [0u8; 32];
    hex::decode_to_slice(&cfg.chain.regulator_public_key, &mut b).unwrap();
    RegulatorPublicKey::from_bytes(&b).unwrap()
}

/// Signs and sends operator commands as `operator-0`, waiting for each to finalize.
pub async fn operator(cfg: &NodeConfig, client: &mut NodeClient, ops: Vec<AdminOp>) {
    let pki = cfg.tls.ca.parent().unwrap();
    let seed = load_key_seed(&pki.join("operator-0.key")).unwrap();
    let cert = load_certificate_pem(&pki.join("operator-0.pem")).unwrap();
    let mut ids = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        let cmd = AdminCommand {
            nonce: rand::random::<u64>().wrapping_add(i as u64),
            op,
        }
        .sign(&seed, cert.clone());
        let (id, status) = client.admin(&cmd).await.unwrap();
        assert_eq!(status, Status::Pending, "admin command refused");
        ids.push(id);
    }
    for id in ids {
        let s = client.wait_admin_final(&id, FINAL).await.unwrap();
        assert!(
            matches!(s, Status::Finalized { .. }),
            "admin command: {s:?}"
        );
    }
}

/// As `operator-0` through validator `cfg`: authorises `issuer` and registers each
/// `(bank, label)`, waiting until all of it is finalized.
pub async fn onboard(cfg: &NodeConfig, issuer: &Issuer, banks: &[(&Bank, &str)]) {
    let mut op = connect(cfg, "operator-0").await;
    let mut ops = vec![AdminOp::AuthorizeIssuer {
        issuer_key: issuer.public(),
        label: "issuer".into(),
    }];
    ops.extend(banks.iter().map(|(bank, label)| AdminOp::AddParticipant {
        address: bank.address(),
        label: (*label).into(),
    }));
    operator(cfg, &mut op, ops).await;
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
}

/// An issuer key.
pub struct Issuer {
    pub key: reddsa::SigningKey<SpendAuth>,
}

impl Default for Issuer {
    fn default() -> Self {
        Self::new()
    }
}

impl Issuer {
    pub fn new() -> Self {
        Issuer {
            key: reddsa::SigningKey::<SpendAuth>::new(rng()),
        }
    }

    pub fn public(&self) -> [u8; 32] {
        reddsa::VerificationKey::from(&self.key).into()
    }

    /// A signed issuance of `values` of asset `name` to `owner`.
    pub fn issue(&self, name: &str, owner: Address, values: &[u64]) -> (Transaction, Vec<Note>) {
        let mut iss = Issuance {
            issuer: reddsa::VerificationKey::from(&self.key),
            name: name.into(),
            notes: values
                .iter()
                .map(|v| IssuedNote {
                    value: *v,
                    owner,
                    rcm: pallas::Base::random(&mut rng()),
                })
                .collect(),
            signature: self.key.sign(rng(), &[]),
        };
        let d = digest_of(&[&iss], &[]);
        iss.signature = self.key.sign(rng(), d.as_bytes());
        let notes = iss.full_notes().collect();
        (
            Transaction {
                issuances: vec![iss],
                parts: vec![],
            },
            notes,
        )
    }
}

/// Retries `query` while the node answers that it does not have the data yet
/// (`OUT_OF_RANGE`, `NOT_FOUND`), up to [`FINAL`].
async fn until_applied<T, F, Fut>(mut query: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let deadline = tokio::time::Instant::now() + FINAL;
    loop {
        match query().await {
            Ok(v) => return v,
            Err(ClientError::Rpc(s))
                if matches!(s.code(), tonic::Code::OutOfRange | tonic::Code::NotFound)
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("node query failed: {e}"),
        }
    }
}

/// One bank's leg: `from` pays `amount` of `note` (at `position`) to `to`, proven
/// against the node's current anchor and registry root.
pub async fn leg(
    client: &mut NodeClient,
    regulator: RegulatorPublicKey,
    from: &Bank,
    note: Note,
    position: u64,
    to: Address,
    amount: u64,
) -> ProvenPart {
    // The node asked may not have applied the block that created the note or
    // registered the parties yet: wait for it, as a wallet would.
    let from_address = from.address();
    let (path, anchor) = until_applied(|| {
        let mut c = client.clone();
        async move { c.note_path(position).await }
    })
    .await;
    let (from_path, root) = until_applied(|| {
        let mut c = client.clone();
        async move { c.registry_path(&from_address).await }
    })
    .await;
    let (to_path, root2) = until_applied(|| {
        let mut c = client.clone();
        async move { c.registry_path(&to).await }
    })
    .await;
    assert_eq!(root, root2);
    let fvk = from.sk.full_viewing_key();
    tokio::task::spawn_blocking(move || {
        let mut r = rng();
        let spend = SpendInfo {
            fvk,
            note,
            path,
            registry_path: from_path,
            split: false,
        };
        let out = OutputInfo {
            recipient: to,
            value: NoteValue(amount),
            registry_path: to_path,
            memo: [0; 64],
        };
        let mut b = PartBuilder::new(anchor, root, regulator);
        b.add_payment(spend, out, &mut r).unwrap();
        b.build(&mut r)
            .unwrap()
            .prove(proving_key(), &mut r)
            .unwrap()
    })
    .await
    .unwrap()
}

/// A transaction of the given legs, each signed by its bank over the digest of the
/// whole (an atomic DvP when there are two).
pub fn assemble(legs: Vec<(ProvenPart, &Bank)>) -> Transaction {
    let d = digest_of(
        &[],
        &legs.iter().map(|(p, _)| p.effects()).collect::<Vec<_>>(),
    );
    let parts = legs
        .into_iter()
        .map(|(p, bank)| {
            p.authorize(&d, &[&bank.sk.spend_authorizing_key()], &mut rng())
                .unwrap()
        })
        .collect();
    Transaction {
        issuances: vec![],
        parts,
    }
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
    assemble(vec![(part, from)])
}
