//! The participants' side of the API: what a bank's, an issuer's or an operator's
//! software does against a node. Reading the chain, a bank's wallet (notes found with
//! its incoming viewing key, spends proven against the node's anchor and registry), a
//! public issuance, and signed operator commands.
//!
//! Keys and plaintexts never leave this module's caller: the node is sent only proven,
//! signed transactions and signed operator commands.

use std::{collections::HashSet, time::Duration};

use rand::{rand_core::UnwrapErr, rngs::SysRng};
use reddsa::orchard::SpendAuth;
use sable_circuits::{
    asset::AssetId,
    builder::{OutputInfo, PartBuilder, ProvenPart, SpendInfo},
    circuit::ProvingKey,
    keys::{Address, RegulatorPublicKey, SpendingKey},
    note::{Note, NoteValue},
    note_encryption::try_decrypt_incoming,
    pallas,
    transaction::{digest_of, ChainId, Issuance, IssuedNote, Transaction, TxHeader},
};

use sable_primitives::{
    admin::{AdminCommand, AdminOp, SignedAdminCommand},
    block::TxId,
    TxStatus,
};

use crate::node_client::{ClientError, NodeClient};

/// Wallet errors.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The node refused a call or answered something malformed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The node had not applied what the wallet needs in time.
    #[error("node has not applied {0} yet")]
    NotYetApplied(&'static str),
    /// Building, proving or signing a transaction failed.
    #[error("cannot build the transaction: {0}")]
    Build(String),
    /// The node's answers disagree with each other.
    #[error("inconsistent node answers: {0}")]
    Inconsistent(String),
    /// A command was not finalized.
    #[error("{what} was not finalized: {status:?}")]
    NotFinalized {
        /// The command.
        what: String,
        /// Its final status.
        status: TxStatus,
    },
}

fn rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

fn build<E: std::fmt::Display>(e: E) -> WalletError {
    WalletError::Build(e.to_string())
}

/// How long a wallet waits for its node to apply a block it needs.
pub const APPLY_WAIT: Duration = Duration::from_secs(60);

/// A transaction applied on the chain, with where its new notes went in the tree.
#[derive(Clone, Debug)]
pub struct ChainTx {
    /// Its id.
    pub id: TxId,
    /// Height of its block.
    pub height: u64,
    /// Tree position of its first new note (the others follow in order).
    pub first_position: u64,
    /// The transaction.
    pub tx: Transaction,
}

/// The transactions applied in finalized blocks `from..=` the node's tip, in chain order.
pub async fn scan(client: &mut NodeClient, from: u64) -> Result<Vec<ChainTx>, WalletError> {
    Ok(scan_to_tip(client, from).await?.0)
}

/// [`scan`], and the tip it scanned to.
async fn scan_to_tip(
    client: &mut NodeClient,
    from: u64,
) -> Result<(Vec<ChainTx>, u64), WalletError> {
    let tip = client.height().await?;
    let mut out = Vec::new();
    for block in client.compact_blocks(from.max(1), tip).await? {
        for ctx in block.txs {
            let id = ctx
                .tx_id
                .and_then(|t| <[u8; 32]>::try_from(t.id.as_slice()).ok())
                .map(TxId)
                .ok_or_else(|| WalletError::Inconsistent("compact tx without an id".into()))?;
            let tx = client
                .transaction(&id)
                .await?
                .ok_or_else(|| {
                    WalletError::Inconsistent(format!("compact transaction {id} is in no block"))
                })?
                .transaction;
            let first_position = ctx.notes.first().map_or(0, |n| n.position);
            let notes = tx.commitments().len();
            if notes != ctx.notes.len() {
                return Err(WalletError::Inconsistent(format!(
                    "transaction {id} has {notes} notes, its compact record {}",
                    ctx.notes.len()
                )));
            }
            out.push(ChainTx {
                id,
                height: block.height,
                first_position,
                tx,
            });
        }
    }
    Ok((out, tip))
}

/// A note this wallet owns and where it is in the tree.
#[derive(Clone, Copy, Debug)]
pub struct OwnedNote {
    /// The note.
    pub note: Note,
    /// Its tree position.
    pub position: u64,
}

/// A bank's wallet: its spending key and the unspent notes it found on the chain.
pub struct Wallet {
    /// Display name.
    pub name: String,
    sk: SpendingKey,
    notes: Vec<OwnedNote>,
    spent: HashSet<[u8; 32]>,
    next_height: u64,
}

impl Wallet {
    /// A wallet with a fresh random key.
    pub fn random(name: &str) -> Self {
        Self::new(name, SpendingKey::random(&mut rng()))
    }

    /// A wallet for `sk`.
    pub fn new(name: &str, sk: SpendingKey) -> Self {
        Wallet {
            name: name.into(),
            sk,
            notes: Vec::new(),
            spent: HashSet::new(),
            next_height: 1,
        }
    }

    /// The spending key.
    pub fn spending_key(&self) -> &SpendingKey {
        &self.sk
    }

    /// The shielded address.
    pub fn address(&self) -> Address {
        self.sk.full_viewing_key().address()
    }

    /// Reads the blocks finalized since the last sync from `client`.
    pub async fn sync(&mut self, client: &mut NodeClient) -> Result<(), WalletError> {
        let (txs, tip) = scan_to_tip(client, self.next_height).await?;
        self.absorb(&txs);
        self.next_height = self.next_height.max(tip + 1);
        Ok(())
    }

    /// Finds this wallet's notes in `txs` (issued to its address, or decrypted with its
    /// incoming viewing key) and forgets notes they spend.
    pub fn absorb(&mut self, txs: &[ChainTx]) {
        let fvk = self.sk.full_viewing_key();
        let (ivk, me) = (fvk.incoming_viewing_key(), fvk.address());
        for t in txs {
            self.spent.extend(t.tx.nullifiers().map(|nf| nf.to_bytes()));
            let issued = t.tx.issuances.iter().flat_map(|i| i.full_notes().map(Some));
            // In tree order: issued notes, each part's outputs, then minted deposits.
            let outputs = t.tx.parts.iter().flat_map(|p| {
                p.effects
                    .actions
                    .iter()
                    .map(|a| (&a.encrypted_note, &a.cm_new))
            });
            let minted = t.tx.deposits.iter().map(|d| (&d.encrypted_note, &d.cm));
            let received = outputs
                .chain(minted)
                .map(|(note, cm)| try_decrypt_incoming(&ivk, note, cm).map(|(n, _)| n));
            for (i, note) in issued.chain(received).enumerate() {
                if let Some(note) = note.filter(|n| n.owner() == me) {
                    self.notes.push(OwnedNote {
                        note,
                        position: t.first_position + i as u64,
                    });
                }
            }
        }
        let (nk, spent) = (*fvk.nk(), &self.spent);
        self.notes
            .retain(|o| !spent.contains(&o.note.nullifier(&nk, o.position).to_bytes()));
    }

    /// Unspent notes.
    pub fn notes(&self) -> &[OwnedNote] {
        &self.notes
    }

    /// Sum of unspent notes of `asset`.
    pub fn balance(&self, asset: AssetId) -> u64 {
        self.notes
            .iter()
            .filter(|o| o.note.asset() == asset)
            .map(|o| o.note.value().inner())
            .sum()
    }

    /// An unspent note of `asset` worth at least `amount` (the wallet keeps it until a
    /// sync shows it spent).
    pub fn note_for(&self, asset: AssetId, amount: u64) -> Option<OwnedNote> {
        self.notes
            .iter()
            .find(|o| o.note.asset() == asset && o.note.value().inner() >= amount)
            .copied()
    }
}

/// Retries `query` while the node answers that it has not applied the data yet
/// (`OUT_OF_RANGE`, `NOT_FOUND`), up to [`APPLY_WAIT`].
async fn until_applied<T, F, Fut>(what: &'static str, mut query: F) -> Result<T, WalletError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let deadline = tokio::time::Instant::now() + APPLY_WAIT;
    loop {
        match query().await {
            Ok(v) => return Ok(v),
            Err(ClientError::Rpc(s))
                if matches!(s.code(), tonic::Code::OutOfRange | tonic::Code::NotFound) =>
            {
                if tokio::time::Instant::now() >= deadline {
                    return Err(WalletError::NotYetApplied(what));
                }
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// What a leg goes to: a payment to a registered address, or a withdrawal to an
/// Ethereum address (the bridge pays it once a settled batch releases it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegTo {
    /// A shielded payment.
    Pay(Address),
    /// A burn naming this Ethereum recipient.
    Withdraw([u8; 20]),
}

/// One bank's leg: the owner of `sk` pays `amount` from `note` to `to` (change back to
/// itself), proven against the node's current anchor and registry root. Waits for the
/// node to have applied the note and the parties' registrations.
pub async fn prove_leg(
    client: &mut NodeClient,
    pk: &'static ProvingKey,
    regulator: RegulatorPublicKey,
    sk: &SpendingKey,
    note: OwnedNote,
    to: Address,
    amount: u64,
) -> Result<ProvenPart, WalletError> {
    prove_leg_to(client, pk, regulator, sk, note, LegTo::Pay(to), amount).await
}

/// One bank's leg to a payee or out through the bridge (see [`LegTo`]): `amount` of
/// `note` goes, the change comes back to the owner of `sk`.
pub async fn prove_leg_to(
    client: &mut NodeClient,
    pk: &'static ProvingKey,
    regulator: RegulatorPublicKey,
    sk: &SpendingKey,
    note: OwnedNote,
    to: LegTo,
    amount: u64,
) -> Result<ProvenPart, WalletError> {
    let fvk = sk.full_viewing_key();
    let from = fvk.address();
    let (path, anchor) = until_applied("the note", || {
        let mut c = client.clone();
        async move { c.note_path(note.position).await }
    })
    .await?;
    let (from_path, root) = until_applied("the payer's registration", || {
        let mut c = client.clone();
        async move { c.registry_membership(&from).await }
    })
    .await?;
    // A payment's output to the payee; a withdrawal has none (its value leaves as a
    // public burn naming the Ethereum recipient).
    let payee = match to {
        LegTo::Pay(to) => {
            let (registry, root2) = until_applied("the payee's registration", || {
                let mut c = client.clone();
                async move { c.registry_membership(&to).await }
            })
            .await?;
            if root != root2 {
                return Err(WalletError::Inconsistent(
                    "the registry changed between two paths; retry".into(),
                ));
            }
            Ok(OutputInfo {
                recipient: to,
                value: NoteValue(amount),
                registry,
                memo: [0; 64],
            })
        }
        LegTo::Withdraw(recipient) => Err(recipient),
    };
    tokio::task::spawn_blocking(move || {
        let mut r = rng();
        let spend = SpendInfo {
            fvk,
            note: note.note,
            path,
            registry: from_path,
            split: false,
        };
        let mut b = PartBuilder::new(anchor, root, regulator);
        match payee {
            Ok(out) => {
                b.add_payment(spend, out, &mut r).map_err(build)?;
            }
            Err(recipient) => {
                let change = OutputInfo {
                    recipient: from,
                    value: NoteValue(
                        note.note
                            .value()
                            .inner()
                            .checked_sub(amount)
                            .ok_or_else(|| build("the note holds less than the withdrawal"))?,
                    ),
                    registry: spend.registry.clone(),
                    memo: [0; 64],
                };
                b.add_action(spend, change, &mut r).map_err(build)?;
                b.add_withdrawal(note.note.asset(), amount, recipient)
                    .map_err(build)?;
            }
        }
        b.build(&mut r)
            .map_err(build)?
            .prove(pk, &mut r)
            .map_err(build)
    })
    .await
    .map_err(build)?
}

/// How many blocks past the chain's tip a wallet's transactions stay valid by default
/// (see [`NodeClient::tx_header`]): long enough for the banks of a delivery-versus-payment
/// to exchange their legs, short enough that a signed leg is no long-lived option.
pub const EXPIRY_WINDOW: u64 = 2_000;

/// A transaction of the given legs under `header`, each signed by its bank over the
/// digest of the whole: with two banks' legs, an atomic delivery-versus-payment.
pub fn assemble(
    header: TxHeader,
    legs: Vec<(ProvenPart, &SpendingKey)>,
) -> Result<Transaction, WalletError> {
    let d = digest_of(
        &header,
        &[],
        &legs
            .iter()
            .map(|(p, _)| p.signed_data())
            .collect::<Vec<_>>(),
    );
    let parts = legs
        .into_iter()
        .map(|(p, sk)| {
            p.authorize(&d, &[&sk.spend_authorizing_key()], &mut rng())
                .map_err(build)
        })
        .collect::<Result<_, _>>()?;
    Ok(Transaction {
        header,
        issuances: vec![],
        parts,
        deposits: vec![],
    })
}

/// An issuer key.
pub struct Issuer {
    key: reddsa::SigningKey<SpendAuth>,
}

impl Default for Issuer {
    fn default() -> Self {
        Self::random()
    }
}

impl Issuer {
    /// A fresh random issuer key.
    pub fn random() -> Self {
        Issuer {
            key: reddsa::SigningKey::<SpendAuth>::new(rng()),
        }
    }

    /// The public key the operator authorises.
    pub fn public(&self) -> [u8; 32] {
        reddsa::VerificationKey::from(&self.key).into()
    }

    /// The asset this issuer issues under `name`.
    pub fn asset(&self, name: &str) -> AssetId {
        self.unsigned(name, &[]).asset()
    }

    fn unsigned(&self, name: &str, notes: &[(Address, u64)]) -> Issuance {
        Issuance {
            issuer: reddsa::VerificationKey::from(&self.key),
            name: name.into(),
            notes: notes
                .iter()
                .map(|(owner, value)| IssuedNote {
                    value: *value,
                    owner: *owner,
                    rcm: <pallas::Base as ff::Field>::random(&mut rng()),
                })
                .collect(),
            signature: self.key.sign(rng(), &[]),
        }
    }
}

/// One issuer's part of an issuance transaction: the issuer, the asset name and the
/// `(owner, value)` of each note.
pub type IssuanceOrder<'a> = (&'a Issuer, &'a str, &'a [(Address, u64)]);

/// One transaction of public issuances under `header`, signed by every issuer over the
/// digest of the whole. Returns it with the issued notes.
pub fn issue(header: TxHeader, issuances: &[IssuanceOrder<'_>]) -> (Transaction, Vec<Note>) {
    let mut unsigned: Vec<Issuance> = issuances
        .iter()
        .map(|(issuer, name, notes)| issuer.unsigned(name, notes))
        .collect();
    let d = digest_of(&header, &unsigned.iter().collect::<Vec<_>>(), &[]);
    for (iss, (issuer, _, _)) in unsigned.iter_mut().zip(issuances) {
        iss.signature = issuer.key.sign(rng(), d.as_bytes());
    }
    let notes = unsigned.iter().flat_map(|i| i.full_notes()).collect();
    (
        Transaction {
            header,
            issuances: unsigned,
            parts: vec![],
            deposits: vec![],
        },
        notes,
    )
}

/// An operator's signing key (Ed25519 or P-256) and certificate (DER), to approve
/// commands with.
#[derive(Clone)]
pub struct OperatorKey {
    /// The certificate's key.
    pub key: std::sync::Arc<sable_pki::SigningKey>,
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
}

impl OperatorKey {
    /// Reads an operator's key file (refused when others can read it) and certificate.
    pub fn load(
        key: &std::path::Path,
        cert: &std::path::Path,
    ) -> Result<Self, sable_pki::PkiError> {
        Ok(OperatorKey {
            key: std::sync::Arc::new(sable_pki::SigningKey::load(key)?),
            cert_der: sable_pki::load_certificate_pem(cert)?,
        })
    }
}

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorKey").finish_non_exhaustive()
    }
}

/// `cmd` with the approval of each of `operators` for `chain`.
pub fn approved(
    cmd: &AdminCommand,
    chain: &ChainId,
    operators: &[OperatorKey],
) -> Result<SignedAdminCommand, sable_primitives::admin::AdminError> {
    let approvals = operators
        .iter()
        .map(|o| cmd.approve(chain, &o.key, o.cert_der.clone()))
        .collect::<Result<_, _>>()?;
    Ok(SignedAdminCommand::new(cmd, approvals))
}

/// Has each of `operators` approve `ops` for the node's chain (the chain's governance
/// needs M of them), sends them through `client` and waits until each is finalized.
pub async fn operate(
    client: &mut NodeClient,
    operators: &[OperatorKey],
    ops: Vec<AdminOp>,
) -> Result<(), WalletError> {
    let chain = client.chain_id().await?;
    let mut ids = Vec::new();
    for op in ops {
        let cmd = AdminCommand {
            nonce: rand::random::<u64>(),
            op,
        };
        let cmd = approved(&cmd, &chain, operators).map_err(build)?;
        let (id, status) = client.admin(&cmd).await?;
        if status != TxStatus::Pending {
            return Err(WalletError::NotFinalized {
                what: format!("operator command {id}"),
                status,
            });
        }
        ids.push(id);
    }
    for id in ids {
        let status = client.wait_admin_final(&id, APPLY_WAIT).await?;
        if !matches!(status, TxStatus::Finalized { .. }) {
            return Err(WalletError::NotFinalized {
                what: format!("operator command {id}"),
                status,
            });
        }
    }
    Ok(())
}

/// Submits `tx` and follows it to a final state; returns its id and height.
pub async fn settle(client: &mut NodeClient, tx: &Transaction) -> Result<(TxId, u64), WalletError> {
    let (id, status) = client.submit(tx).await?;
    if status != TxStatus::Pending {
        return Err(WalletError::NotFinalized {
            what: format!("transaction {id}"),
            status,
        });
    }
    match client.wait_final(&id, APPLY_WAIT).await? {
        TxStatus::Finalized { height, .. } => Ok((id, height)),
        status => Err(WalletError::NotFinalized {
            what: format!("transaction {id}"),
            status,
        }),
    }
}
