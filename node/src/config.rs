//! Node configuration (TOML). A development network's configurations are written by
//! `sable-testkit` (`sable-devnet init`), never by the validator.
//!
//! # Example
//! ```toml
//! [node]
//! id = "validator-0"
//! data_dir = "/var/lib/sable/validator-0"
//! # threads for proof verification; 0 or absent: one per core
//! verifier_threads = 0
//! # threads for the async runtime (API, consensus, p2p); 0: one per core; absent: 4
//! runtime_threads = 4
//! # admitted transactions gather this long before background verification (ms)
//! verify_window_ms = 200
//! # most transactions verified as one batch (a backlog is verified in such pieces)
//! verify_batch_max = 256
//!
//! [tls]
//! ca = "pki/ca.pem"
//! # the validator's certificate: its Ed25519 key is its consensus and p2p key
//! cert = "pki/validator-0.pem"
//! key = "pki/validator-0.key"
//! # what the gRPC port presents (P-256, serverAuth); absent: cert and key
//! server_cert = "pki/validator-0-server.pem"
//! server_key = "pki/validator-0-server.key"
//!
//! [network]
//! rpc = "127.0.0.1:7100"
//! p2p = "127.0.0.1:7200"
//! metrics = "127.0.0.1:7300"
//!
//! [chain]
//! namespace = "sable-devnet"
//! regulator_public_key = "…64 hex digits…"
//! registry_root_window = 16
//! empty_block_interval_ms = 500
//!
//! [[validators]]
//! id = "validator-0"
//! cert = "pki/validator-0.pem"
//! p2p = "127.0.0.1:7200"
//!
//! # operator commands need `threshold` of these operators' approvals (M of N)
//! [governance]
//! threshold = 2
//! operators = ["pki/operator-0.pem", "pki/operator-1.pem", "pki/operator-2.pem"]
//!
//! [telemetry]
//! log = "info"
//! # otlp_endpoint = "http://127.0.0.1:4318/v1/traces"
//!
//! # optional: settle to Ethereum (see `SettlementSection` for every field)
//! [settlement]
//! rpc = "http://127.0.0.1:8545"
//! contract = "0x…"
//! key = "settlement.key"
//! # deposits count from L1's `finalized` block (the default), or `{ depth = 64 }`
//! deposit_finality = "finalized"
//! # every L1 request times out; an unmined transaction is replaced with a 12.5 %
//! # higher fee (at most max_gas_price_gwei) after resubmit_after_ms
//! request_timeout_ms = 30000
//! resubmit_after_ms = 60000
//! tx_timeout_ms = 600000
//! ```
//! Relative paths are resolved against the configuration file's directory.
//!
//! # The chain's genesis
//! `[chain]` (but its heartbeat), the CA (`tls.ca`), the `[[validators]]`' certificates
//! and `[governance]` are the chain's genesis parameters: every validator must be given
//! the same ones. They are committed in the genesis state root
//! (`sable_primitives::ChainParams::genesis_digest`), so a validator given others
//! agrees with no one on any state root (its votes are refused, and it refuses the
//! others' blocks), and a validator restarted with edited parameters over its data
//! directory refuses to start.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// Configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML is malformed or misses a field.
    #[error("{path}: {source}")]
    Toml {
        /// The file.
        path: String,
        /// The cause.
        source: toml::de::Error,
    },
    /// A value is invalid.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// `[node]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeSection {
    /// Participant id (must match the certificate).
    pub id: String,
    /// RocksDB and consensus storage live under this directory.
    pub data_dir: PathBuf,
    /// Threads for proof verification (0: one per core). `sable-devnet init` gives
    /// validators that share a machine an equal share of its cores.
    #[serde(default)]
    pub verifier_threads: usize,
    /// Worker threads of the async runtime (0: one per core). Blocking work (state
    /// reads, execution, verification) runs on threads of its own. The default, 4, did
    /// better than one per core for four validators sharing two cores.
    #[serde(default = "default_runtime_threads")]
    pub runtime_threads: usize,
    /// How long admitted transactions gather before background verification checks
    /// them as one batch, milliseconds: each batch has a fixed cost, so a longer window
    /// saves CPU at low load for a little latency.
    #[serde(default = "default_verify_window_ms")]
    pub verify_window_ms: u64,
    /// Most transactions verified as one batch. A backlog is verified in pieces of
    /// this size, so blocks can be proposed from the first while the rest are checked;
    /// each piece pays the batch's fixed cost once.
    #[serde(default = "default_verify_batch_max")]
    pub verify_batch_max: usize,
}

impl NodeSection {
    /// Participant `id` keeping its data under `data_dir`, verifying on
    /// `verifier_threads` (0: one per core), with the defaults of the other settings.
    pub fn new(id: impl Into<String>, data_dir: PathBuf, verifier_threads: usize) -> Self {
        NodeSection {
            id: id.into(),
            data_dir,
            verifier_threads,
            runtime_threads: default_runtime_threads(),
            verify_window_ms: default_verify_window_ms(),
            verify_batch_max: default_verify_batch_max(),
        }
    }
}

fn default_runtime_threads() -> usize {
    4
}

fn default_verify_window_ms() -> u64 {
    200
}

fn default_verify_batch_max() -> usize {
    256
}

/// `[tls]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TlsSection {
    /// Consortium CA certificate.
    pub ca: PathBuf,
    /// This node's certificate (a validator's: its key is the consensus and p2p key).
    pub cert: PathBuf,
    /// This node's key (PKCS#8; Ed25519 for a validator).
    pub key: PathBuf,
    /// The certificate the gRPC port presents: a validator's API server certificate
    /// (P-256, `serverAuth`, which every TLS stack can handshake with). Absent: `cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cert: Option<PathBuf>,
    /// The key of `server_cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key: Option<PathBuf>,
}

impl TlsSection {
    /// The certificate and key the gRPC port presents.
    pub fn server_identity(&self) -> (&Path, &Path) {
        match (&self.server_cert, &self.server_key) {
            (Some(cert), Some(key)) => (cert, key),
            _ => (&self.cert, &self.key),
        }
    }
}

/// `[network]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetworkSection {
    /// gRPC (mutual TLS only).
    pub rpc: SocketAddr,
    /// Consensus p2p.
    pub p2p: SocketAddr,
    /// Prometheus metrics (plain HTTP; bind to loopback or a monitoring network).
    pub metrics: SocketAddr,
}

/// `[chain]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainSection {
    /// Chain namespace.
    pub namespace: String,
    /// The regulator's public key (hex).
    pub regulator_public_key: String,
    /// Blocks a superseded registry root stays acceptable (until a removal).
    pub registry_root_window: u64,
    /// Heartbeat: a leader with nothing to propose waits this long, then proposes an
    /// empty block.
    pub empty_block_interval_ms: u64,
}

/// `[[validators]]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValidatorEntry {
    /// Participant id.
    pub id: String,
    /// Its certificate (its key is its consensus key).
    pub cert: PathBuf,
    /// Its p2p address.
    pub p2p: SocketAddr,
}

/// `[governance]`: who approves operator commands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GovernanceSection {
    /// M: distinct operators whose approvals each command needs.
    pub threshold: usize,
    /// The N governing operators' certificates.
    pub operators: Vec<PathBuf>,
}

/// `[telemetry]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TelemetrySection {
    /// Log filter (`RUST_LOG` syntax).
    pub log: Option<String>,
    /// OTLP/HTTP traces endpoint; absent: no export.
    pub otlp_endpoint: Option<String>,
}

/// How a batch's public data goes to L1 (`[settlement] publish`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Publication {
    /// EIP-4844 blobs (the cheap way; the endpoint must accept blob transactions).
    #[default]
    Blobs,
    /// Calldata chunks.
    Calldata,
}

/// The blob sidecar format the submitter sends (`[settlement] blob_sidecars`). The
/// blobs, and so the signed fold, are the same either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobSidecars {
    /// EIP-7594 cell proofs: Ethereum since Fusaka.
    #[default]
    Eip7594,
    /// EIP-4844 blob proofs: networks before Fusaka (Cancun, Prague).
    Eip4844,
}

/// `[settlement]`: settling the chain to Ethereum (absent: this node does not settle).
///
/// `batch_blocks`, `batch_interval_ms` and `publish` decide what every batch holds,
/// so they must be equal at every validator: validators that disagree sign different
/// digests and no quorum forms.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SettlementSection {
    /// The Ethereum JSON-RPC endpoint (`http://` or `https://`).
    pub rpc: String,
    /// The settlement contract's address (`0x…`).
    pub contract: String,
    /// This validator's settlement key: a file holding a 32-byte secp256k1 secret in
    /// hex. Its address must be in the contract's validator set, and hold ETH for gas
    /// when this validator submits.
    pub key: PathBuf,
    /// A batch closes after this many blocks...
    #[serde(default = "default_batch_blocks")]
    pub batch_blocks: u64,
    /// ...or once its last block is this much later than its first (block
    /// timestamps, milliseconds), whichever comes first.
    #[serde(default = "default_batch_interval_ms")]
    pub batch_interval_ms: u64,
    /// How the batch data is published.
    #[serde(default)]
    pub publish: Publication,
    /// The blob sidecar format, for the network's fork (blobs only).
    #[serde(default)]
    pub blob_sidecars: BlobSidecars,
    /// L1 blocks on top of a settlement transaction before it counts as done (the
    /// head holds 1). Deposits follow `deposit_finality` instead.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
    /// When an L1 block counts as final for the bridge watcher, which stores (and so
    /// lets this node admit and vote for the minting of) only deposits in final blocks:
    /// `"finalized"` (the default: L1's `finalized` block tag) or `{ depth = N }` (blocks
    /// with N confirmations, for a chain without that tag; N must cover its deepest
    /// reorg). The watcher notices reorgs beneath what it read either way and corrects
    /// records of deposits not yet minted.
    #[serde(default)]
    pub deposit_finality: DepositFinality,
    /// The longest one L1 JSON-RPC request may take (milliseconds).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// A sent transaction not mined after this long (milliseconds) is replaced by the
    /// same one (same nonce) with fees 12.5 % higher, never above
    /// `max_gas_price_gwei`.
    #[serde(default = "default_resubmit_after_ms")]
    pub resubmit_after_ms: u64,
    /// The longest a submission waits for one transaction, replacements included
    /// (milliseconds); then the round fails and the next one re-reads the contract.
    #[serde(default = "default_tx_timeout_ms")]
    pub tx_timeout_ms: u64,
    /// Nothing is sent while L1 gas costs more than this (gwei); absent: no limit.
    #[serde(default)]
    pub max_gas_price_gwei: Option<u64>,
    /// Each validator in turn after the batch's designated submitter waits this much
    /// longer (milliseconds) before submitting a batch that is still unsettled.
    #[serde(default = "default_takeover_ms")]
    pub takeover_ms: u64,
    /// How often the contract is read (milliseconds).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// The L1 block the contracts were deployed in: logs are read from there on (0: the
    /// whole chain).
    #[serde(default)]
    pub from_block: u64,
    /// The most L1 blocks one log query spans (the endpoint's cap on `eth_getLogs`).
    #[serde(default = "default_log_page_blocks")]
    pub log_page_blocks: u64,
}

/// When an L1 block counts as final for the bridge watcher (`[settlement]
/// deposit_finality`): `"finalized"` or `{ depth = N }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepositFinality {
    /// L1's `finalized` block.
    #[default]
    Finalized,
    /// Blocks with this many confirmations (the head has 1).
    Depth(u64),
}

fn default_batch_blocks() -> u64 {
    64
}
fn default_batch_interval_ms() -> u64 {
    10_000
}
fn default_confirmations() -> u64 {
    1
}
fn default_request_timeout_ms() -> u64 {
    sable_l1::provider::DEFAULT_REQUEST_TIMEOUT.as_millis() as u64
}
fn default_resubmit_after_ms() -> u64 {
    sable_l1::provider::DEFAULT_RESUBMIT_AFTER.as_millis() as u64
}
fn default_tx_timeout_ms() -> u64 {
    sable_l1::provider::DEFAULT_TX_TIMEOUT.as_millis() as u64
}
fn default_takeover_ms() -> u64 {
    4_000
}
fn default_poll_ms() -> u64 {
    500
}
fn default_log_page_blocks() -> u64 {
    sable_l1::provider::DEFAULT_LOG_PAGE
}

impl SettlementSection {
    /// A section for `rpc` and `contract` with the key at `key` and every default.
    pub fn new(rpc: &str, contract: &str, key: PathBuf) -> Self {
        SettlementSection {
            rpc: rpc.into(),
            contract: contract.into(),
            key,
            batch_blocks: default_batch_blocks(),
            batch_interval_ms: default_batch_interval_ms(),
            publish: Publication::default(),
            blob_sidecars: BlobSidecars::default(),
            confirmations: default_confirmations(),
            deposit_finality: DepositFinality::default(),
            request_timeout_ms: default_request_timeout_ms(),
            resubmit_after_ms: default_resubmit_after_ms(),
            tx_timeout_ms: default_tx_timeout_ms(),
            max_gas_price_gwei: None,
            takeover_ms: default_takeover_ms(),
            poll_ms: default_poll_ms(),
            from_block: 0,
            log_page_blocks: default_log_page_blocks(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(format!("settlement.{m}")));
        if self.contract.parse::<alloy::primitives::Address>().is_err() {
            return bad("contract must be a 0x-prefixed 20-byte hex address");
        }
        if !(self.rpc.starts_with("http://") || self.rpc.starts_with("https://")) {
            return bad("rpc must be an http:// or https:// URL");
        }
        if self.batch_blocks == 0 || self.batch_interval_ms == 0 {
            return bad("batch_blocks and batch_interval_ms must be positive");
        }
        if self.confirmations == 0 || self.poll_ms == 0 || self.log_page_blocks == 0 {
            return bad("confirmations, poll_ms and log_page_blocks must be positive");
        }
        if self.deposit_finality == DepositFinality::Depth(0) {
            return bad("deposit_finality depth must be positive");
        }
        if self.request_timeout_ms == 0 || self.resubmit_after_ms == 0 || self.tx_timeout_ms == 0 {
            return bad("request_timeout_ms, resubmit_after_ms and tx_timeout_ms must be positive");
        }
        Ok(())
    }
}

/// A node's configuration file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeConfig {
    /// `[node]`.
    pub node: NodeSection,
    /// `[tls]`.
    pub tls: TlsSection,
    /// `[network]`.
    pub network: NetworkSection,
    /// `[chain]`.
    pub chain: ChainSection,
    /// `[[validators]]`.
    pub validators: Vec<ValidatorEntry>,
    /// `[governance]`.
    pub governance: GovernanceSection,
    /// `[telemetry]`.
    #[serde(default)]
    pub telemetry: TelemetrySection,
    /// `[settlement]` (validators only; absent: no settlement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<SettlementSection>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl NodeConfig {
    /// Reads and validates a configuration file; relative paths become absolute.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let mut cfg: NodeConfig = toml::from_str(&text).map_err(|source| ConfigError::Toml {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut cfg.node.data_dir);
        abs(&mut cfg.tls.ca);
        abs(&mut cfg.tls.cert);
        abs(&mut cfg.tls.key);
        for p in [&mut cfg.tls.server_cert, &mut cfg.tls.server_key]
            .into_iter()
            .flatten()
        {
            abs(p);
        }
        for v in &mut cfg.validators {
            abs(&mut v.cert);
        }
        for o in &mut cfg.governance.operators {
            abs(o);
        }
        if let Some(s) = &mut cfg.settlement {
            abs(&mut s.key);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Writes the configuration as TOML.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        std::fs::write(path, text).map_err(io(path))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.tls.server_cert.is_some() != self.tls.server_key.is_some() {
            return bad("tls.server_cert and tls.server_key go together".into());
        }
        if self.validators.is_empty() {
            return bad("no [[validators]]".into());
        }
        let n = self.validators.len();
        if n < 4 {
            tracing::warn!(n, "fewer than 4 validators tolerate no Byzantine fault");
        }
        let mut ids: Vec<_> = self.validators.iter().map(|v| &v.id).collect();
        ids.sort();
        ids.dedup();
        if ids.len() != n {
            return bad("duplicate validator ids".into());
        }
        if self.chain.regulator_public_key.len() != 64
            || hex::decode(&self.chain.regulator_public_key).is_err()
        {
            return bad("chain.regulator_public_key must be 64 hex digits".into());
        }
        let g = &self.governance;
        if g.threshold == 0 || g.threshold > g.operators.len() {
            return bad(format!(
                "governance.threshold must be between 1 and the {} governance.operators",
                g.operators.len()
            ));
        }
        if self.chain.empty_block_interval_ms == 0 {
            return bad("chain.empty_block_interval_ms must be positive".into());
        }
        if self.node.verify_batch_max == 0 {
            return bad("node.verify_batch_max must be positive".into());
        }
        if let Some(s) = &self.settlement {
            s.validate()?;
        }
        Ok(())
    }

    /// Whether this node is one of the validators.
    pub fn is_validator(&self) -> bool {
        self.validators.iter().any(|v| v.id == self.node.id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A one-validator configuration as an operator would write it: relative paths, the
    /// node settings left out.
    const SAMPLE: &str = r#"
[node]
id = "validator-0"
data_dir = "data"

[tls]
ca = "pki/ca.pem"
cert = "pki/validator-0.pem"
key = "pki/validator-0.key"

[network]
rpc = "127.0.0.1:7100"
p2p = "127.0.0.1:7200"
metrics = "127.0.0.1:7300"

[chain]
namespace = "sable-test"
regulator_public_key = "0000000000000000000000000000000000000000000000000000000000000000"
registry_root_window = 16
empty_block_interval_ms = 500

[[validators]]
id = "validator-0"
cert = "pki/validator-0.pem"
p2p = "127.0.0.1:7200"

[governance]
threshold = 1
operators = ["pki/operator-0.pem"]
"#;

    fn sample(dir: &Path) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, SAMPLE).unwrap();
        path
    }

    #[test]
    fn a_config_loads_with_defaults_and_paths_beside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = NodeConfig::load(&sample(dir.path())).unwrap();
        assert!(cfg.is_validator());
        assert_eq!(cfg.tls.cert, dir.path().join("pki/validator-0.pem"));
        assert_eq!(cfg.node.data_dir, dir.path().join("data"));
        assert_eq!(
            cfg.validators[0].cert,
            dir.path().join("pki/validator-0.pem")
        );
        assert_eq!(
            cfg.governance.operators,
            [dir.path().join("pki/operator-0.pem")]
        );
        // Without the settings, a node verifies on every core (0) and takes the
        // defaults of the rest.
        assert_eq!(cfg.node.verifier_threads, 0);
        assert_eq!(cfg.node.runtime_threads, default_runtime_threads());
        assert_eq!(cfg.node.verify_window_ms, default_verify_window_ms());
        assert_eq!(cfg.node.verify_batch_max, default_verify_batch_max());
        // What is saved loads back the same.
        let again = dir.path().join("again.toml");
        cfg.save(&again).unwrap();
        let back = NodeConfig::load(&again).unwrap();
        assert_eq!(back.node.verify_batch_max, cfg.node.verify_batch_max);
        assert_eq!(back.network.p2p, cfg.network.p2p);
        assert!(back.settlement.is_none(), "settlement is off by default");
        // Without a server certificate the gRPC port presents the node's certificate.
        assert_eq!(
            cfg.tls.server_identity(),
            (cfg.tls.cert.as_path(), cfg.tls.key.as_path())
        );
        let with_server = SAMPLE.replace(
            "key = \"pki/validator-0.key\"",
            "key = \"pki/validator-0.key\"\nserver_cert = \"pki/s.pem\"\nserver_key = \"pki/s.key\"",
        );
        std::fs::write(dir.path().join("config.toml"), with_server).unwrap();
        let cfg = NodeConfig::load(&dir.path().join("config.toml")).unwrap();
        assert_eq!(
            cfg.tls.server_identity(),
            (
                dir.path().join("pki/s.pem").as_path(),
                dir.path().join("pki/s.key").as_path()
            )
        );
    }

    #[test]
    fn bad_configs_get_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let edit = |from: &str, to: &str| {
            assert!(SAMPLE.contains(from), "{from}");
            std::fs::write(&path, SAMPLE.replace(from, to)).unwrap();
            NodeConfig::load(&path)
        };
        assert!(matches!(
            edit("regulator_public_key = \"", "regulator_public_key = \"zz"),
            Err(ConfigError::Invalid(m)) if m.contains("regulator_public_key")
        ));
        assert!(matches!(
            edit("data_dir = \"data\"", "data_dir = \"data\"\nverify_batch_max = 0"),
            Err(ConfigError::Invalid(m)) if m.contains("verify_batch_max")
        ));
        for threshold in ["threshold = 0", "threshold = 2"] {
            assert!(matches!(
                edit("threshold = 1", threshold),
                Err(ConfigError::Invalid(m)) if m.contains("governance.threshold")
            ));
        }
        assert!(matches!(
            edit("empty_block_interval_ms = 500", "empty_block_interval_ms = 0"),
            Err(ConfigError::Invalid(m)) if m.contains("empty_block_interval_ms")
        ));
        assert!(matches!(
            edit("key = \"pki/validator-0.key\"", "key = \"k\"\nserver_cert = \"s.pem\""),
            Err(ConfigError::Invalid(m)) if m.contains("server_key")
        ));
        let twice = format!(
            "{SAMPLE}\n[[validators]]\nid = \"validator-0\"\ncert = \"x.pem\"\np2p = \"127.0.0.1:7201\"\n"
        );
        std::fs::write(&path, twice).unwrap();
        assert!(matches!(
            NodeConfig::load(&path),
            Err(ConfigError::Invalid(m)) if m.contains("duplicate")
        ));
        std::fs::write(&path, "[node]\nid = 3").unwrap();
        assert!(matches!(
            NodeConfig::load(&path),
            Err(ConfigError::Toml { .. })
        ));
        assert!(matches!(
            NodeConfig::load(&dir.path().join("missing.toml")),
            Err(ConfigError::Io { .. })
        ));
    }

    #[test]
    fn settlement_sections_round_trip_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let mut cfg = NodeConfig::load(&path).unwrap();
        let good = SettlementSection::new(
            "http://127.0.0.1:8545",
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            PathBuf::from("settlement.key"),
        );
        cfg.settlement = Some(good.clone());
        cfg.save(&path).unwrap();
        let back = NodeConfig::load(&path).unwrap().settlement.unwrap();
        assert_eq!(
            back.key,
            dir.path().join("settlement.key"),
            "the key path resolves beside the file"
        );
        assert_eq!(back.publish, Publication::Blobs);
        assert_eq!(back.deposit_finality, DepositFinality::Finalized);
        // Both spellings of the deposit finality; a section written before these
        // fields existed loads with the defaults.
        let section = |extra: &str| {
            toml::from_str::<SettlementSection>(&format!(
                "rpc = \"http://127.0.0.1:8545\"\ncontract = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\nkey = \"k\"\n{extra}"
            ))
        };
        assert_eq!(
            section("deposit_finality = \"finalized\"")
                .unwrap()
                .deposit_finality,
            DepositFinality::Finalized
        );
        let deep = section("deposit_finality = { depth = 64 }\nresubmit_after_ms = 5").unwrap();
        assert_eq!(
            (deep.deposit_finality, deep.resubmit_after_ms),
            (DepositFinality::Depth(64), 5)
        );
        let old = section("confirmations = 3").unwrap();
        assert_eq!(
            (
                old.confirmations,
                old.deposit_finality,
                old.request_timeout_ms
            ),
            (3, DepositFinality::Finalized, 30_000)
        );
        assert!(section("deposit_finality = \"latest\"").is_err());
        let bad = [
            SettlementSection {
                contract: "0x1234".into(),
                ..good.clone()
            },
            SettlementSection {
                rpc: "ws://127.0.0.1:8545".into(),
                ..good.clone()
            },
            SettlementSection {
                batch_blocks: 0,
                ..good.clone()
            },
            SettlementSection {
                poll_ms: 0,
                ..good.clone()
            },
            SettlementSection {
                deposit_finality: DepositFinality::Depth(0),
                ..good.clone()
            },
            SettlementSection {
                request_timeout_ms: 0,
                ..good.clone()
            },
            SettlementSection {
                resubmit_after_ms: 0,
                ..good.clone()
            },
        ];
        for section in bad {
            cfg.settlement = Some(section.clone());
            cfg.save(&path).unwrap();
            assert!(
                matches!(NodeConfig::load(&path), Err(ConfigError::Invalid(_))),
                "{section:?}"
            );
        }
    }
}
