//! The node a command talks to, and the consortium identity it talks as.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use sable_client::node_client::NodeClient;
use sable_compliance::recipient::SeenRecord;

/// The node and this party's consortium identity.
#[derive(Args)]
pub struct Connection {
    /// The node's API address (`host:port`).
    #[arg(long)]
    node: String,
    /// The consortium CA certificate (PEM).
    #[arg(long)]
    ca: PathBuf,
    /// This party's certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long)]
    key: PathBuf,
}

impl Connection {
    /// Connects over mutual TLS.
    pub async fn connect(&self) -> Result<NodeClient> {
        let channel = sable_client::connect(&self.node, &self.ca, &self.cert, &self.key)
            .await
            .with_context(|| format!("connecting to {}", self.node))?;
        Ok(NodeClient::new(channel))
    }
}

/// Reads a file holding `N` bytes in hex (surrounding whitespace allowed).
pub fn read_hex<const N: usize>(path: &std::path::Path, what: &str) -> Result<[u8; N]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the {what} {}", path.display()))?;
    let mut bytes = [0u8; N];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .with_context(|| format!("{}: a {what} is {} hex digits", path.display(), 2 * N))?;
    Ok(bytes)
}

/// A third party checking a package addressed to it (`sable verify-disclosure`,
/// `sable verify-holdings`).
#[derive(Args)]
pub struct Recipient {
    #[command(flatten)]
    pub connection: Connection,
    /// The package.
    pub package: PathBuf,
    /// The verifier's name: only packages addressed to it are accepted.
    #[arg(long = "as")]
    pub name: String,
    /// The record of packages accepted (created if absent): each is accepted once, and
    /// the notes a proof of holdings counts are pledged once per statement.
    #[arg(long)]
    pub record: PathBuf,
    /// Print what the package shows as JSON.
    #[arg(long)]
    pub json: bool,
}

impl Recipient {
    /// The package's text and the record of what was accepted.
    pub fn open(&self) -> Result<(String, SeenRecord)> {
        let text = std::fs::read_to_string(&self.package)
            .with_context(|| format!("reading {}", self.package.display()))?;
        Ok((text, SeenRecord::open(&self.record)?))
    }
}
