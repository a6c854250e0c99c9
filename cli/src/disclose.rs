//! `sable keys viewing-key`, `sable disclose` and `sable verify-disclosure`: a bank
//! hands its compliance officer its full viewing key; the officer discloses chosen
//! fields of one note to a named third party; the third party checks the package
//! against its node.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Args, ValueEnum};
use sable_circuits::{
    disclosure::{DisclosureProvingKey, DisclosureVerifyingKey, Fields},
    keys::{FullViewingKey, SpendingKey, FULL_VIEWING_KEY_SIZE},
};
use sable_compliance::disclose::{
    chain_facts, open_output, Addressing, DisclosurePackage, Verifier,
};
use sable_primitives::block::TxId;

use crate::connection::{read_hex, Connection, Recipient};

/// `sable keys viewing-key`
#[derive(Args)]
pub struct ViewingKeyArgs {
    /// The bank's spending key (64 hex digits).
    #[arg(long)]
    spending_key: PathBuf,
}

/// Prints the full viewing key of a spending key, for the bank's compliance officer.
pub fn viewing_key(args: ViewingKeyArgs) -> Result<()> {
    let sk = SpendingKey::from_bytes(read_hex::<32>(&args.spending_key, "spending key")?)
        .with_context(|| format!("{}: not a spending key", args.spending_key.display()))?;
    println!("{}", hex::encode(sk.full_viewing_key().to_bytes()));
    Ok(())
}

/// A field a disclosure may reveal.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Field {
    /// The asset.
    Asset,
    /// The value.
    Value,
    /// The owner (for a sender's disclosure, the counterparty).
    Owner,
}

/// `sable disclose`
#[derive(Args)]
pub struct DiscloseArgs {
    #[command(flatten)]
    connection: Connection,
    /// The bank's full viewing key (192 hex digits: `sable keys viewing-key`).
    #[arg(long)]
    viewing_key: PathBuf,
    /// The transaction that created the note (64 hex digits).
    #[arg(long)]
    tx: String,
    /// The note's index among the transaction's new notes.
    #[arg(long)]
    output: u32,
    /// The fields to reveal (comma-separated); the others stay hidden.
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    reveal: Vec<Field>,
    /// Whom the disclosure is for, by name (what its verifier calls itself).
    #[arg(long)]
    to: String,
    /// For how many blocks from now it may be accepted.
    #[arg(long, default_value_t = 10_000)]
    valid_for: u64,
    /// The package file to write.
    #[arg(long)]
    out: PathBuf,
}

fn tx_id(hex_id: &str) -> Result<TxId> {
    let mut id = [0u8; 32];
    hex::decode_to_slice(hex_id.trim(), &mut id)
        .with_context(|| format!("{hex_id:?}: a transaction id is 64 hex digits"))?;
    Ok(TxId(id))
}

/// Writes a disclosure package of one note the viewing key opens.
pub async fn disclose(args: DiscloseArgs) -> Result<()> {
    let fvk_bytes = read_hex::<FULL_VIEWING_KEY_SIZE>(&args.viewing_key, "full viewing key")?;
    let fvk = FullViewingKey::from_bytes(&fvk_bytes)
        .with_context(|| format!("{}: not a full viewing key", args.viewing_key.display()))?;
    let tx = tx_id(&args.tx)?;
    let mut client = args.connection.connect().await?;
    let transaction = match client
        .transaction(&tx)
        .await
        .context("fetching the transaction")?
    {
        Some(found) if found.applied => found.transaction,
        Some(found) => bail!(
            "transaction {} was included at height {} but skipped: it created no notes",
            args.tx,
            found.height
        ),
        None => bail!("transaction {} is not final on this node", args.tx),
    };
    let outputs = transaction.commitments().len();
    let Some(note) = open_output(&transaction, args.output, &fvk) else {
        bail!(
            "output {} of transaction {} is not a note this viewing key received or sent \
             (the transaction has {outputs} new notes)",
            args.output,
            args.tx
        );
    };
    let height = client.height().await.context("asking for the height")?;
    let addressing = Addressing {
        chain: client
            .genesis_digest()
            .await
            .context("asking for the chain")?,
        tx,
        output: args.output,
        audience: args.to.clone(),
        nonce: rand::random(),
        expires_at: height.saturating_add(args.valid_for),
    };
    let fields = Fields {
        asset: args.reveal.contains(&Field::Asset),
        value: args.reveal.contains(&Field::Value),
        owner: args.reveal.contains(&Field::Owner),
    };
    let pk = DisclosureProvingKey::build();
    let package = DisclosurePackage::create(&pk, &note, fields, addressing, rand::rng())?;
    std::fs::write(&args.out, package.to_json())
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "disclosed to {:?} until block {}: {}",
        args.to,
        package.addressing.expires_at,
        args.out.display()
    );
    Ok(())
}

/// Checks a package against the node and, if it holds, records it and prints what it
/// discloses.
pub async fn verify(args: Recipient) -> Result<()> {
    let (text, seen) = args.open()?;
    let package = DisclosurePackage::from_json(&text)?;
    let vk = DisclosureVerifyingKey::build();
    let mut verifier = Verifier::new(&vk, &args.name, seen);
    let mut client = args.connection.connect().await?;
    let facts = chain_facts(&mut client, &package.addressing.tx).await?;
    verifier
        .accept(&package, &facts)
        .context("the disclosure is refused")?;
    let s = &package.statement;
    let a = &package.addressing;
    let asset = s.asset.map(|x| hex::encode(x.0));
    let owner = s.owner.map(|o| hex::encode(o.to_bytes()));
    if args.json {
        let out = serde_json::json!({
            "tx": hex::encode(a.tx.0),
            "output": a.output,
            "cm": hex::encode(s.cm.to_bytes()),
            "asset": asset,
            "value": s.value.map(|v| v.inner()),
            "owner": owner,
        });
        println!("{out}");
    } else {
        let shown = |v: Option<String>| v.unwrap_or_else(|| "(hidden)".into());
        println!(
            "verified: output {} of transaction {}",
            a.output,
            hex::encode(a.tx.0)
        );
        println!("  asset  {}", shown(asset));
        println!("  value  {}", shown(s.value.map(|v| v.inner().to_string())));
        println!("  owner  {}", shown(owner));
    }
    Ok(())
}
