//! The Quickstart demo, on a real network: the test kit's devnet starts four `sable-node`
//! validator processes on loopback (fresh dev PKI, RocksDB data directories, BFT
//! consensus, gRPC over mutual TLS), and the parties act through the API only.
//!
//! The operator registers Bank A and Bank B and authorises two issuers; Bank B receives
//! USD deposit tokens and Bank A bonds by public issuance; Bank B pays Bank A; the banks
//! settle an atomic delivery-versus-payment (bonds against cash) in one transaction in
//! which each bank proves and signs only its own leg. Each bank's wallet finds its notes
//! by scanning finalized blocks with its viewing key. The demo then prints what each
//! bank, the regulator and the validators can see, and timings.

use std::{
    collections::HashMap,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context as _, Result};
use sable_circuits::{
    asset::AssetId,
    circuit::ProvingKey,
    keys::{Address, RegulatorPublicKey, RegulatorSecretKey},
    note_encryption::{try_decrypt_incoming, try_decrypt_outgoing},
    pallas,
    transaction::Transaction,
};
use sable_client::wallet::{self, ChainTx, Issuer, Wallet};
use sable_client::NodeClient;
use sable_primitives::admin::AdminOp;
use sable_primitives::TxStatus;
use sable_testkit::Devnet;

const VALIDATORS: usize = 4;

/// Starts a fresh devnet of the `sable-node` beside this binary.
fn start_devnet() -> Result<Devnet> {
    let exe = std::env::current_exe()?
        .parent()
        .context("executable directory")?
        .join("sable-node");
    ensure!(
        exe.exists(),
        "{} not found: build it with `cargo build --release -p sable-node`",
        exe.display()
    );
    let mut net = Devnet::try_new(exe, VALIDATORS)?;
    net.start_all();
    println!(
        "devnet: {VALIDATORS} validators on {}..{} (gRPC, mutual TLS), logs in {}",
        net.config(0).network.rpc,
        net.config(VALIDATORS - 1).network.rpc.port(),
        net.dir.display()
    );
    Ok(net)
}

/// A mutual-TLS client of validator `i`, as dev-PKI participant `who`; retries while
/// the validator starts.
async fn client(net: &Devnet, i: usize, who: &str) -> Result<NodeClient> {
    let cfg = net.config(i);
    let pki = net.pki();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let attempt = async {
            let channel = sable_client::connect(
                &cfg.network.rpc.to_string(),
                &cfg.tls.ca,
                &pki.join(format!("{who}.pem")),
                &pki.join(format!("{who}.key")),
            )
            .await?;
            let mut c = NodeClient::new(channel);
            c.height().await?;
            anyhow::Ok(c)
        };
        match attempt.await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => {
                bail!("validator {i} did not come up: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

fn regulator_key(path: &Path) -> Result<RegulatorSecretKey> {
    let mut b = [0u8; 32];
    let text = sable_pki::read_secret(path)?;
    hex::decode_to_slice(String::from_utf8_lossy(&text).trim(), &mut b)?;
    Ok(RegulatorSecretKey::from_bytes(&b)?)
}

fn key(f: pallas::Base) -> [u8; 32] {
    ff::PrimeField::to_repr(&f)
}

fn short(b: &[u8]) -> String {
    hex::encode(&b[..6.min(b.len())])
}

/// Submits `tx`, follows it to finality and reports the latency.
async fn settle(c: &mut NodeClient, what: &str, tx: &Transaction) -> Result<u64> {
    let t = Instant::now();
    let (id, height) = wallet::settle(c, tx).await?;
    println!(
        "  {what}: tx {} finalized at height {height} in {:.2} s",
        short(&id.0),
        t.elapsed().as_secs_f64()
    );
    Ok(height)
}

/// Proves one leg and reports the time.
async fn leg(
    c: &mut NodeClient,
    pk: &'static ProvingKey,
    reg: RegulatorPublicKey,
    from: &Wallet,
    asset: AssetId,
    amount: u64,
    to: Address,
) -> Result<sable_circuits::builder::ProvenPart> {
    let note = from
        .note_for(asset, amount)
        .with_context(|| format!("{} holds no note for {amount}", from.name))?;
    let t = Instant::now();
    let part = wallet::prove_leg(c, pk, reg, from.spending_key(), note, to, amount).await?;
    println!(
        "  {}: proved its leg (2 actions) in {:.2} s",
        from.name,
        t.elapsed().as_secs_f64()
    );
    Ok(part)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let started = Instant::now();
    println!("Sable demo: shielded multi-asset settlement with built-in compliance\n");
    let mut net = start_devnet()?;
    let pk: &'static ProvingKey = Box::leak(Box::new(
        tokio::task::spawn_blocking(ProvingKey::build).await?,
    ));
    let mut op = client(&net, 0, "operator-0").await?;
    let mut bank_a = client(&net, 0, "bank-a").await?;
    let mut bank_b = client(&net, 1, "bank-b").await?;
    let cfg0 = net.config(0);
    let mut reg_bytes = [0u8; 32];
    hex::decode_to_slice(&cfg0.chain.regulator_public_key, &mut reg_bytes)?;
    let reg = RegulatorPublicKey::from_bytes(&reg_bytes)?;
    println!(
        "proving key built and {VALIDATORS} validators up in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );

    let mut a = Wallet::random("Bank A");
    let mut b = Wallet::random("Bank B");
    let (usd_issuer, bond_issuer) = (Issuer::random(), Issuer::random());
    let (usd, bond) = (
        usd_issuer.asset("USD deposit token"),
        bond_issuer.asset("ISIN:XS0000000001"),
    );

    println!("0. Operators (commands approved by 2 of 3 operators, checked by every validator)");
    let t = Instant::now();
    let operators = sable_testkit::parties::governing_operators(&cfg0)?;
    wallet::operate(
        &mut op,
        &operators,
        vec![
            AdminOp::AuthorizeIssuer {
                issuer_key: usd_issuer.public(),
                label: "USD issuer".into(),
            },
            AdminOp::AuthorizeIssuer {
                issuer_key: bond_issuer.public(),
                label: "bond issuer".into(),
            },
            AdminOp::add_participant(&a.spending_key().full_viewing_key(), "Bank A"),
            AdminOp::add_participant(&b.spending_key().full_viewing_key(), "Bank B"),
        ],
    )
    .await?;
    println!(
        "  two issuers authorised, Bank A and Bank B registered: finalized in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    println!("\n1. Issuance: USD deposit tokens to Bank B, bonds to Bank A");
    let header = bank_b.tx_header(wallet::EXPIRY_WINDOW, reg).await?;
    println!(
        "  signed for chain {} until height {}",
        header.chain, header.expiry_height
    );
    let (issuance, _) = wallet::issue(
        header,
        &[
            (
                &usd_issuer,
                "USD deposit token",
                &[(b.address(), 1_000_000)],
            ),
            (&bond_issuer, "ISIN:XS0000000001", &[(a.address(), 10)]),
        ],
    );
    settle(&mut bank_b, "issuance", &issuance).await?;
    a.sync(&mut bank_a).await?;
    b.sync(&mut bank_b).await?;

    println!("\n2. Transfer: Bank B pays Bank A 250,000 USD (through validator 1)");
    let part = leg(&mut bank_b, pk, reg, &b, usd, 250_000, a.address()).await?;
    let header = bank_b.tx_header(wallet::EXPIRY_WINDOW, reg).await?;
    let tx = wallet::assemble(header, vec![(part, b.spending_key())])?;
    settle(&mut bank_b, "transfer", &tx).await?;
    a.sync(&mut bank_a).await?;
    b.sync(&mut bank_b).await?;

    println!("\n3. DvP: Bank A delivers 4 bonds, Bank B pays 400,000 USD, atomically");
    let leg_a = leg(&mut bank_a, pk, reg, &a, bond, 4, b.address()).await?;
    let leg_b = leg(&mut bank_b, pk, reg, &b, usd, 400_000, a.address()).await?;
    // The banks exchange only their legs' public effects and proofs; each signs its own
    // leg over the digest of the whole transaction.
    let header = bank_a.tx_header(wallet::EXPIRY_WINDOW, reg).await?;
    let dvp = wallet::assemble(
        header,
        vec![(leg_a, a.spending_key()), (leg_b, b.spending_key())],
    )?;
    let stripped = Transaction {
        header,
        issuances: vec![],
        parts: vec![dvp.parts[0].clone()],
        deposits: vec![],
    };
    let (id, _) = bank_a.submit(&stripped).await?;
    match bank_a.wait_final(&id, wallet::APPLY_WAIT).await? {
        TxStatus::Rejected { detail, .. } => {
            println!("  Bank A's leg alone is rejected by the validators: {detail}")
        }
        s => bail!("a stripped DvP leg must be rejected, got {s:?}"),
    }
    settle(&mut bank_a, "DvP", &dvp).await?;
    a.sync(&mut bank_a).await?;
    b.sync(&mut bank_b).await?;

    // 4. Who sees what, from the chain as any node serves it.
    let chain = wallet::scan(&mut bank_a, 1).await?;
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
    let asset_name = |id: AssetId| names.get(&key(id.base().coordinates().0)).copied();
    println!("\n4. What each party can see");
    for w in [&a, &b] {
        print_bank_view(w, &chain, &parties, &asset_name);
    }
    print_regulator_view(
        &regulator_key(&net.regulator_secret())?,
        &chain,
        &names,
        &parties,
    );
    let (nfs, notes): (usize, usize) = chain.iter().fold((0, 0), |(n, c), t| {
        (n + t.tx.nullifiers().count(), c + t.tx.commitments().len())
    });
    println!(
        "  Validators: {} transactions with {nfs} nullifiers, {notes} note commitments, \
         ciphertexts and proofs; no amounts, assets or parties.",
        chain.len()
    );

    // 5. Every validator holds the same state.
    let mut anchors = Vec::new();
    for i in 0..VALIDATORS {
        let mut c = client(&net, i, "bank-a").await?;
        let tip = chain.last().map_or(0, |t| t.height);
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.height().await? < tip && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let path = c.note_path(0).await?;
        anchors.push(path.1);
    }
    ensure!(
        anchors.windows(2).all(|w| w[0] == w[1]),
        "validators disagree on the anchor"
    );
    println!(
        "\n5. All {VALIDATORS} validators agree on the note-tree anchor {}",
        short(&anchors[0].to_bytes())
    );
    ensure!(a.balance(usd) == 650_000 && a.balance(bond) == 6);
    ensure!(b.balance(usd) == 350_000 && b.balance(bond) == 4);
    println!("\ntotal time {:.1} s", started.elapsed().as_secs_f64());
    // SIGTERM: the validators stop cleanly (on an error, dropping the devnet kills them).
    net.stop_all();
    Ok(())
}

fn print_bank_view(
    w: &Wallet,
    chain: &[ChainTx],
    parties: &HashMap<[u8; 32], &str>,
    asset_name: &dyn Fn(AssetId) -> Option<&'static str>,
) {
    let fvk = w.spending_key().full_viewing_key();
    let (ivk, ovk) = (fvk.incoming_viewing_key(), fvk.outgoing_viewing_key());
    println!("  {} (incoming / outgoing viewing keys):", w.name);
    for (ti, t) in chain.iter().enumerate() {
        for iss in &t.tx.issuances {
            for n in iss.full_notes().filter(|n| n.owner() == fvk.address()) {
                println!(
                    "    tx{ti} issued   {:>9} {}",
                    n.value().inner(),
                    asset_name(n.asset()).unwrap_or("?")
                );
            }
        }
        for act in t.tx.parts.iter().flat_map(|p| &p.effects.actions) {
            if let Some((n, _)) = try_decrypt_incoming(&ivk, &act.encrypted_note, &act.cm_new) {
                println!(
                    "    tx{ti} received {:>9} {}",
                    n.value().inner(),
                    asset_name(n.asset()).unwrap_or("?")
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
                    asset_name(n.asset()).unwrap_or("?")
                );
            } else {
                println!("    tx{ti} an action it cannot read");
            }
        }
    }
    let balance = |name: &str| {
        w.notes()
            .iter()
            .filter(|o| asset_name(o.note.asset()) == Some(name))
            .map(|o| o.note.value().inner())
            .sum::<u64>()
    };
    println!(
        "    balance: {} USD, {} BOND",
        balance("USD"),
        balance("BOND")
    );
}

fn print_regulator_view(
    sk: &RegulatorSecretKey,
    chain: &[ChainTx],
    names: &HashMap<[u8; 32], &str>,
    parties: &HashMap<[u8; 32], &str>,
) {
    println!("  Regulator (regulator key, every action of every transaction):");
    let v = |f: pallas::Base| u64::from_le_bytes(key(f)[..8].try_into().unwrap_or_default());
    for (ti, t) in chain.iter().enumerate() {
        for act in t.tx.parts.iter().flat_map(|p| &p.effects.actions) {
            let pt = act.regulator_ciphertext.decrypt(sk);
            println!(
                "    tx{ti} {:>9} {:<4} to {:<6} (consumes {:>9} from note {})",
                v(pt.value),
                names.get(&key(pt.asset_x)).copied().unwrap_or("?"),
                parties.get(&key(pt.owner_x)).copied().unwrap_or("?"),
                v(pt.spent_value),
                hex::encode(&key(pt.spent_cm)[..4]),
            );
        }
    }
}
