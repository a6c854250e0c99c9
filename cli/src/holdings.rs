//! `sable prove-holdings` and `sable verify-holdings`: a bank's compliance officer
//! proves, with the bank's full viewing key, that the bank held at least an amount of
//! an asset at a height, to a named third party; the third party checks the package
//! against its node's header at that height.

use std::{collections::BTreeMap, io::Write as _, path::PathBuf, time::Instant};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use sable_circuits::{
    asset::AssetId,
    holdings::{HoldingsProvingKey, HoldingsVerifyingKey},
    keys::{FullViewingKey, FULL_VIEWING_KEY_SIZE},
};
use sable_compliance::{
    audit::{
        archive::ScanArchive,
        scan::{scan_node_blocks, ReadBlock, ScanError},
    },
    holdings::{
        holdings_facts, ChainRoots, HoldingsAddressing, HoldingsPackage, HoldingsPackageError,
        HoldingsScan, HoldingsVerifier,
    },
};

use crate::connection::{read_hex, Connection, Recipient};

/// `sable prove-holdings`
#[derive(Args)]
pub struct ProveArgs {
    #[command(flatten)]
    connection: Connection,
    /// The bank's full viewing key (192 hex digits: `sable keys viewing-key`).
    #[arg(long)]
    viewing_key: PathBuf,
    /// The asset: its id (64 hex digits) or the name it was issued under.
    #[arg(long)]
    asset: String,
    /// The amount the bank held at least.
    #[arg(long)]
    at_least: u64,
    /// The height (default: the node's tip). A verifier reading Ethereum alone needs
    /// the last block of a settled batch.
    #[arg(long)]
    height: Option<u64>,
    /// What the holdings back: the same notes shown twice for one purpose at one
    /// height show the same tags to whoever compares them.
    #[arg(long)]
    purpose: String,
    /// Whom the proof is for, by name (what its verifier calls itself).
    #[arg(long)]
    to: String,
    /// For how many blocks from now it may be accepted.
    #[arg(long, default_value_t = 10_000)]
    valid_for: u64,
    /// An archive `sable audit scan` wrote: its blocks are replayed from disk, and only
    /// the later ones fetched.
    #[arg(long)]
    archive: Option<PathBuf>,
    /// The package file to write.
    #[arg(long)]
    out: PathBuf,
    /// No progress on stderr; print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Resolves `--asset` against the issuances replayed: an id, or a name issued once.
fn resolve_asset(spec: &str, issued: &BTreeMap<String, Vec<AssetId>>) -> Result<AssetId> {
    let mut id = [0u8; 32];
    if hex::decode_to_slice(spec.trim(), &mut id).is_ok() {
        return Ok(AssetId(id));
    }
    match issued.get(spec).map(Vec::as_slice) {
        Some([one]) => Ok(*one),
        Some(many) => bail!(
            "{spec:?} was issued by {} issuers; name the asset by its id: {}",
            many.len(),
            many.iter()
                .map(|a| hex::encode(a.0))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => bail!(
            "no asset was issued as {spec:?} up to the height; issued: {:?}",
            issued.keys().collect::<Vec<_>>()
        ),
    }
}

/// The replay with the viewing key, and the names the chain's assets were issued
/// under (public).
struct Replay {
    scan: HoldingsScan,
    issued: BTreeMap<String, Vec<AssetId>>,
}

impl Replay {
    fn apply(&mut self, block: &ReadBlock) -> Result<(), HoldingsPackageError> {
        for (_, tx) in &block.txs {
            for i in &tx.issuances {
                let ids = self.issued.entry(i.name.clone()).or_default();
                if !ids.contains(&i.asset()) {
                    ids.push(i.asset());
                }
            }
        }
        self.scan.apply_block(block)
    }
}

/// Replays the chain to the height with the viewing key and writes the package.
pub async fn prove(args: ProveArgs) -> Result<()> {
    let fvk_bytes = read_hex::<FULL_VIEWING_KEY_SIZE>(&args.viewing_key, "full viewing key")?;
    let fvk = FullViewingKey::from_bytes(&fvk_bytes)
        .with_context(|| format!("{}: not a full viewing key", args.viewing_key.display()))?;
    let mut client = args.connection.connect().await?;
    let tip = client.height().await.context("asking for the height")?;
    let height = args.height.unwrap_or(tip);
    if height == 0 || height > tip {
        bail!("the height must be 1 to the node's tip {tip}, not {height}");
    }
    let header = client.header(height).await.context("fetching the header")?;
    let roots = ChainRoots::from_bytes(&header.anchor, &header.nullifier_root)
        .map_err(|e| anyhow::anyhow!("the node's header {height}: {e}"))?;
    let chain = client
        .genesis_digest()
        .await
        .context("asking for the chain")?;

    let quiet = args.json;
    let mut replay = Replay {
        scan: HoldingsScan::new(fvk.clone()),
        issued: BTreeMap::new(),
    };
    if let Some(path) = &args.archive {
        let archive = ScanArchive::at(path);
        for block in archive.read()?.iter().take_while(|b| b.height <= height) {
            replay
                .apply(block)
                .with_context(|| format!("replaying {}", path.display()))?;
        }
    }
    let from = replay.scan.height();
    let mut refused = None;
    let scanned = scan_node_blocks(
        &mut client,
        from,
        Some(height),
        |p| {
            if !quiet {
                eprint!("\rreplayed to block {} of {}", p.height, p.target);
                let _ = std::io::stderr().flush();
            }
        },
        |block| {
            replay.apply(block).map_err(|e| {
                let what = e.to_string();
                refused = Some(e);
                ScanError::Inconsistent {
                    height: block.height,
                    what,
                }
            })
        },
        |_| Ok(()),
    )
    .await;
    if let Some(e) = refused {
        return Err(e).context("replaying the chain");
    }
    scanned.context("replaying the chain")?;
    if !quiet && height > from {
        eprintln!();
    }
    let asset = resolve_asset(&args.asset, &replay.issued)?;
    let snapshot = replay
        .scan
        .finish(&roots)
        .context("checking the replay against the node's header")?;
    let addressing = HoldingsAddressing {
        chain,
        height,
        asset,
        threshold: args.at_least,
        purpose: args.purpose.clone(),
        audience: args.to.clone(),
        nonce: rand::random(),
        expires_at: tip.saturating_add(args.valid_for),
    };
    if !quiet {
        eprintln!("building the holdings keys and proving…");
    }
    let started = Instant::now();
    let pk = HoldingsProvingKey::build();
    let package = HoldingsPackage::create(&pk, &fvk, &snapshot, addressing, rand::rng())?;
    std::fs::write(&args.out, package.to_json())
        .with_context(|| format!("writing {}", args.out.display()))?;
    if args.json {
        let out = serde_json::json!({
            "height": height,
            "asset": hex::encode(asset.0),
            "at_least": args.at_least,
            "notes": package.notes_counted(),
            "to": args.to,
            "expires_at": package.addressing.expires_at,
            "out": args.out.display().to_string(),
        });
        println!("{out}");
    } else {
        println!(
            "proved at least {} of {} at block {} from {} note(s) for {:?} (until block {}, {:.1} s): {}",
            args.at_least,
            args.asset,
            height,
            package.notes_counted(),
            args.to,
            package.addressing.expires_at,
            started.elapsed().as_secs_f64(),
            args.out.display()
        );
    }
    Ok(())
}

/// Checks a package against the node and, if it holds, records it and prints what it
/// proves.
pub async fn verify(args: Recipient) -> Result<()> {
    let (text, seen) = args.open()?;
    let package = HoldingsPackage::from_json(&text)?;
    let vk = HoldingsVerifyingKey::build();
    let mut verifier = HoldingsVerifier::new(&vk, &args.name, seen);
    let mut client = args.connection.connect().await?;
    let facts = holdings_facts(&mut client, package.addressing.height).await?;
    verifier
        .accept(&package, &facts)
        .context("the proof of holdings is refused")?;
    let a = &package.addressing;
    let owner = hex::encode(package.owner.to_bytes());
    if args.json {
        let out = serde_json::json!({
            "owner": owner,
            "asset": hex::encode(a.asset.0),
            "at_least": a.threshold,
            "height": a.height,
            "purpose": a.purpose,
            "notes": package.notes_counted(),
        });
        println!("{out}");
    } else {
        println!(
            "verified: {owner} held at least {} at block {}",
            a.threshold, a.height
        );
        println!("  asset    {}", hex::encode(a.asset.0));
        println!("  purpose  {}", a.purpose);
        println!("  notes    {}", package.notes_counted());
    }
    Ok(())
}
