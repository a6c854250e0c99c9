//! The Quickstart demo: two banks, two issuers and a regulator on one in-memory ledger.
//!
//! Bank B receives USD deposit tokens and Bank A receives bonds by public issuance; Bank B
//! pays Bank A; then the two banks settle an atomic delivery-versus-payment (bonds against
//! cash) in one transaction in which each bank proves and signs only its own leg. The
//! demo prints what each bank's viewing keys and the regulator's key reveal, and timings.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use sable_circuits::{
    asset::AssetId,
    builder::{OutputInfo, PartBuilder, ProvenPart, SpendInfo},
    circuit::{ProvingKey, VerifyingKey},
    keys::{Address, RegulatorPublicKey, RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    note_encryption::{try_decrypt_incoming, try_decrypt_outgoing},
    pallas,
    registry::ParticipantRegistry,
    transaction::{digest_of, Issuance, IssuedNote, Transaction},
    tree::CommitmentTree,
};

type Rng = rand::rand_core::UnwrapErr<rand::rngs::SysRng>;

/// The shared state every validator would keep (the node owns this for real).
struct Ledger {
    tree: CommitmentTree,
    nullifiers: HashSet<[u8; 32]>,
    registry: ParticipantRegistry,
    regulator: RegulatorPublicKey,
    vk: VerifyingKey,
    transactions: Vec<Transaction>,
}

impl Ledger {
    fn apply(&mut self, tx: Transaction) -> Result<Vec<u64>> {
        let bytes = tx.to_bytes();
        let tx = Transaction::from_bytes(&bytes).context("decode")?;
        let t = Instant::now();
        tx.verify(&self.vk, &self.regulator)?;
        for p in &tx.parts {
            ensure!(p.effects.anchor == self.tree.anchor(), "unknown anchor");
            ensure!(
                p.effects.registry_root == self.registry.root(),
                "stale registry root"
            );
        }
        for nf in tx.nullifiers() {
            ensure!(!self.nullifiers.contains(&nf.to_bytes()), "double spend");
        }
        for nf in tx.nullifiers() {
            self.nullifiers.insert(nf.to_bytes());
        }
        let positions = tx
            .commitments()
            .into_iter()
            .map(|cm| self.tree.append(cm))
            .collect::<Result<Vec<_>, _>>()?;
        println!(
            "  ledger: verified and applied tx {} ({} bytes, {} actions) in {:.0} ms",
            hex(&tx.digest().0[..6]),
            bytes.len(),
            tx.nullifiers().count(),
            t.elapsed().as_secs_f64() * 1e3
        );
        self.transactions.push(tx);
        Ok(positions)
    }
}

struct Bank {
    name: &'static str,
    sk: SpendingKey,
    notes: Vec<(Note, u64)>,
}

impl Bank {
    fn new(name: &'static str, rng: &mut Rng) -> Self {
        Bank {
            name,
            sk: SpendingKey::random(rng),
            notes: vec![],
        }
    }
    fn address(&self) -> Address {
        self.sk.full_viewing_key().address()
    }
    fn take_note(&mut self, asset: AssetId) -> Result<(Note, u64)> {
        let i = self
            .notes
            .iter()
            .position(|(n, _)| n.asset() == asset)
            .with_context(|| format!("{} holds no note of that asset", self.name))?;
        Ok(self.notes.remove(i))
    }
    /// Scans the ledger with the incoming viewing key and keeps unspent notes.
    fn scan(&mut self, ledger: &Ledger) {
        let ivk = self.sk.full_viewing_key().incoming_viewing_key();
        let nk = *self.sk.full_viewing_key().nk();
        let mut pos = 0u64;
        self.notes.clear();
        for tx in &ledger.transactions {
            for note in tx.issuances.iter().flat_map(|i| i.full_notes()) {
                if note.owner() == self.address() {
                    self.notes.push((note, pos));
                }
                pos += 1;
            }
            for a in tx.parts.iter().flat_map(|p| &p.effects.actions) {
                if let Some((note, _)) = try_decrypt_incoming(&ivk, &a.encrypted_note, &a.cm_new) {
                    self.notes.push((note, pos));
                }
                pos += 1;
            }
        }
        self.notes
            .retain(|(n, p)| !ledger.nullifiers.contains(&n.nullifier(&nk, *p).to_bytes()));
    }
}

/// Builds and proves one bank's leg: pay `amount` of `asset` to `to`, change back.
fn leg(
    bank: &mut Bank,
    ledger: &Ledger,
    pk: &ProvingKey,
    asset: AssetId,
    amount: u64,
    to: Address,
    rng: &mut Rng,
) -> Result<ProvenPart> {
    let (note, pos) = bank.take_note(asset)?;
    let fvk = bank.sk.full_viewing_key();
    let spend = SpendInfo {
        fvk: fvk.clone(),
        note,
        path: ledger.tree.path(pos)?,
        registry_path: ledger.registry.path(&fvk.address())?,
        split: false,
    };
    let payment = OutputInfo {
        recipient: to,
        value: NoteValue(amount),
        registry_path: ledger.registry.path(&to)?,
        memo: [0; 64],
    };
    let mut b = PartBuilder::new(
        ledger.tree.anchor(),
        ledger.registry.root(),
        ledger.regulator,
    );
    b.add_payment(spend, payment, rng)?;
    let t = Instant::now();
    let proven = b.build(rng)?.prove(pk, rng)?;
    println!(
        "  {}: proved its leg (2 actions) in {:.2} s",
        bank.name,
        t.elapsed().as_secs_f64()
    );
    Ok(proven)
}

fn key(f: pallas::Base) -> [u8; 32] {
    ff::PrimeField::to_repr(&f)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() -> Result<()> {
    let mut rng: Rng = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
    println!("Sable demo: shielded multi-asset settlement with built-in compliance\n");
    let t = Instant::now();
    let (pk, vk) = (ProvingKey::build(), VerifyingKey::build());
    println!(
        "circuit keys built in {:.2} s (no trusted setup)",
        t.elapsed().as_secs_f64()
    );

    let regulator_sk = RegulatorSecretKey::random(&mut rng);
    let mut a = Bank::new("Bank A", &mut rng);
    let mut b = Bank::new("Bank B", &mut rng);
    let usd_issuer = reddsa::SigningKey::<reddsa::orchard::SpendAuth>::new(rng);
    let bond_issuer = reddsa::SigningKey::<reddsa::orchard::SpendAuth>::new(rng);

    let mut ledger = Ledger {
        tree: CommitmentTree::new(),
        nullifiers: HashSet::new(),
        registry: ParticipantRegistry::new(),
        regulator: regulator_sk.public_key(),
        vk,
        transactions: vec![],
    };
    ledger.registry.add(&a.address())?;
    ledger.registry.add(&b.address())?;
    println!(
        "registry: Bank A and Bank B registered (root {})",
        hex(&ledger.registry.root().to_bytes()[..6])
    );

    // 1. Public issuance.
    println!("\n1. Issuance: USD deposit tokens to Bank B, bonds to Bank A");
    let issue = |key: &reddsa::SigningKey<reddsa::orchard::SpendAuth>,
                 name: &str,
                 to: Address,
                 v: u64,
                 rng: &mut Rng| Issuance {
        issuer: reddsa::VerificationKey::from(key),
        name: name.to_owned(),
        notes: vec![IssuedNote {
            value: v,
            owner: to,
            rcm: ff::Field::random(&mut *rng),
        }],
        signature: key.sign(*rng, &[]),
    };
    let mut issuances = vec![
        issue(
            &usd_issuer,
            "USD deposit token",
            b.address(),
            1_000_000,
            &mut rng,
        ),
        issue(&bond_issuer, "ISIN:XS0000000001", a.address(), 10, &mut rng),
    ];
    let digest = digest_of(&issuances.iter().collect::<Vec<_>>(), &[]);
    issuances[0].signature = usd_issuer.sign(rng, digest.as_bytes());
    issuances[1].signature = bond_issuer.sign(rng, digest.as_bytes());
    let usd = issuances[0].asset();
    let bond = issuances[1].asset();
    ledger.apply(Transaction {
        issuances,
        parts: vec![],
    })?;
    a.scan(&ledger);
    b.scan(&ledger);

    // 2. Transfer: Bank B pays Bank A 250,000 USD.
    println!("\n2. Transfer: Bank B pays Bank A 250,000 USD");
    let part = leg(&mut b, &ledger, &pk, usd, 250_000, a.address(), &mut rng)?;
    let digest = digest_of(&[], &[part.effects()]);
    let ask = b.sk.spend_authorizing_key();
    let tx = Transaction {
        issuances: vec![],
        parts: vec![part.authorize(&digest, &[&ask], &mut rng)?],
    };
    ledger.apply(tx)?;
    a.scan(&ledger);
    b.scan(&ledger);

    // 3. Atomic DvP: 4 bonds from A against 400,000 USD from B.
    println!("\n3. DvP: Bank A delivers 4 bonds, Bank B pays 400,000 USD, atomically");
    let leg_a = leg(&mut a, &ledger, &pk, bond, 4, b.address(), &mut rng)?;
    let leg_b = leg(&mut b, &ledger, &pk, usd, 400_000, a.address(), &mut rng)?;
    // The banks exchange only their legs' public effects, then each signs its own leg
    // over the digest of the whole transaction.
    let digest = digest_of(&[], &[leg_a.effects(), leg_b.effects()]);
    let (ask_a, ask_b) = (a.sk.spend_authorizing_key(), b.sk.spend_authorizing_key());
    let part_a = leg_a.authorize(&digest, &[&ask_a], &mut rng)?;
    let part_b = leg_b.authorize(&digest, &[&ask_b], &mut rng)?;
    let stripped = Transaction {
        issuances: vec![],
        parts: vec![part_a.clone()],
    };
    match stripped.verify(&ledger.vk, &ledger.regulator) {
        Ok(()) => bail!("a stripped DvP leg must not verify"),
        Err(e) => println!("  Bank A's leg alone is rejected: {e}"),
    }
    ledger.apply(Transaction {
        issuances: vec![],
        parts: vec![part_a, part_b],
    })?;
    a.scan(&ledger);
    b.scan(&ledger);

    // 4. Who sees what.
    let names: HashMap<_, _> = [
        (key(usd.base().coordinates().0), "USD"),
        (key(bond.base().coordinates().0), "BOND"),
    ]
    .into_iter()
    .collect();
    let parties: HashMap<_, _> = [
        (key(a.address().coordinates().0), "Bank A"),
        (key(b.address().coordinates().0), "Bank B"),
    ]
    .into_iter()
    .collect();
    let asset_name = |id: AssetId| {
        if id == usd {
            "USD"
        } else if id == bond {
            "BOND"
        } else {
            "?"
        }
    };
    println!("\n4. What each party can see");
    for bank in [&a, &b] {
        let fvk = bank.sk.full_viewing_key();
        let (ivk, ovk) = (fvk.incoming_viewing_key(), fvk.outgoing_viewing_key());
        println!("  {} (incoming / outgoing viewing keys):", bank.name);
        for (ti, tx) in ledger.transactions.iter().enumerate() {
            for act in tx.parts.iter().flat_map(|p| &p.effects.actions) {
                if let Some((n, _)) = try_decrypt_incoming(&ivk, &act.encrypted_note, &act.cm_new) {
                    println!(
                        "    tx{ti} received {:>9} {}",
                        n.value().inner(),
                        asset_name(n.asset())
                    );
                } else if let Some((n, _)) =
                    try_decrypt_outgoing(&ovk, &act.encrypted_note, &act.cv_net, &act.cm_new)
                {
                    let to = parties
                        .get(&key(n.owner().coordinates().0))
                        .copied()
                        .unwrap_or("?");
                    println!(
                        "    tx{ti} sent     {:>9} {} to {to}",
                        n.value().inner(),
                        asset_name(n.asset())
                    );
                } else {
                    println!("    tx{ti} an action it cannot read");
                }
            }
        }
        let bal = |id| {
            bank.notes
                .iter()
                .filter(|(n, _)| n.asset() == id)
                .map(|(n, _)| n.value().inner())
                .sum::<u64>()
        };
        println!("    balance: {} USD, {} BOND", bal(usd), bal(bond));
    }
    println!("  Regulator (regulator key, every action of every transaction):");
    for (ti, tx) in ledger.transactions.iter().enumerate() {
        for act in tx.parts.iter().flat_map(|p| &p.effects.actions) {
            let pt = act.regulator_ciphertext.decrypt(&regulator_sk);
            let v = |f: pallas::Base| {
                u64::from_le_bytes(
                    ff::PrimeField::to_repr(&f)[..8]
                        .try_into()
                        .unwrap_or_default(),
                )
            };
            println!(
                "    tx{ti} {:>9} {:<4} to {:<6} (consumes {:>9} from note {})",
                v(pt.value),
                names.get(&key(pt.asset_x)).copied().unwrap_or("?"),
                parties.get(&key(pt.owner_x)).copied().unwrap_or("?"),
                v(pt.spent_value),
                hex(&ff::PrimeField::to_repr(&pt.spent_cm)[..4]),
            );
        }
    }
    println!("  Validators see only nullifiers, commitments, ciphertexts and proofs.");
    ensure!(
        a.notes
            .iter()
            .filter(|(n, _)| n.asset() == usd)
            .map(|(n, _)| n.value().inner())
            .sum::<u64>()
            == 650_000
    );
    println!("\ntotal time {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}
