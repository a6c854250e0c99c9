//! What a development network looks like on disk: a dev PKI, a regulator key pair, and
//! one validator configuration per validator on loopback. Written by [`init_devnet`]
//! (and `sable-devnet init`), read by the validator like any operator's configuration.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use sable_node::config::{
    ChainSection, ConfigError, GovernanceSection, NetworkSection, NodeConfig, NodeSection,
    TelemetrySection, TlsSection, ValidatorEntry,
};
use sable_pki::{generate_dev_pki, DevPkiSpec, PkiError, Role};

/// The dev PKI's directory under a devnet's directory.
pub const PKI_DIR: &str = "pki";

/// The settlement key file written beside each validator's configuration.
pub const SETTLEMENT_KEY_FILE: &str = "settlement.key";

/// The file beside the PKI holding the regulator's secret key (hex).
pub const REGULATOR_SECRET_FILE: &str = "regulator-decryption.key";

/// Why a development network could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The request cannot be laid out (no validators, ports past 65535).
    #[error("cannot lay out the devnet: {0}")]
    Invalid(String),
    /// A file or directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The dev PKI could not be issued.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A configuration could not be written.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A development network written by [`init_devnet`].
#[derive(Clone, Debug)]
pub struct DevnetLayout {
    /// The PKI directory.
    pub pki: PathBuf,
    /// Each validator's configuration file.
    pub configs: Vec<PathBuf>,
    /// The regulator's secret key file (hex), for the compliance tooling.
    pub regulator_secret: PathBuf,
}

/// Ports a devnet uses: validator `i` gets `base + i` (RPC), `base + 100 + i` (p2p) and
/// `base + 200 + i` (metrics).
pub fn devnet_ports(base: u16, i: usize) -> Result<(u16, u16, u16), LayoutError> {
    let i = u16::try_from(i).map_err(|_| LayoutError::Invalid("too many validators".into()))?;
    let p = |off: u16| {
        base.checked_add(off + i)
            .ok_or_else(|| LayoutError::Invalid(format!("port base {base} too high")))
    };
    Ok((p(0)?, p(100)?, p(200)?))
}

/// Each of `n` processes' equal share of this machine's cores (at least one).
pub fn share_of_cores(n: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / n.max(1)).max(1)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Operators a devnet's PKI issues (`operator-0`, …): all of them govern the chain.
pub const DEVNET_OPERATORS: usize = 3;
/// How many of them approve each operator command.
pub const DEVNET_GOVERNANCE_THRESHOLD: usize = 2;

/// Writes a fresh development network under `dir`: a dev PKI (validators, two banks, a
/// regulator, an auditor, three operators), a regulator key pair, and one
/// configuration per validator on loopback (each with an equal share of this machine's
/// cores for verification, governed 2 of 3) with a settlement key beside it.
pub fn init_devnet(
    dir: &Path,
    validators: usize,
    base_port: u16,
) -> Result<DevnetLayout, LayoutError> {
    if validators == 0 {
        return Err(LayoutError::Invalid("at least one validator".into()));
    }
    // Every port is checked before anything is written.
    devnet_ports(base_port, validators - 1)?;
    let pki_dir = dir.join(PKI_DIR);
    let pki = generate_dev_pki(
        &pki_dir,
        &DevPkiSpec {
            validators,
            operators: DEVNET_OPERATORS,
            ..DevPkiSpec::default()
        },
    )?;
    let governance = GovernanceSection {
        threshold: DEVNET_GOVERNANCE_THRESHOLD,
        operators: pki
            .with_role(Role::Operator)
            .map(|id| id.cert.clone())
            .collect(),
    };
    let regulator = sable_circuits::keys::RegulatorSecretKey::random(&mut rand::rng());
    let regulator_secret = pki_dir.join(REGULATOR_SECRET_FILE);
    sable_pki::write_secret(&regulator_secret, hex::encode(regulator.to_bytes()))?;
    let entries: Vec<ValidatorEntry> = pki
        .with_role(Role::Validator)
        .enumerate()
        .map(|(i, id)| {
            let (_, p2p, _) = devnet_ports(base_port, i)?;
            Ok(ValidatorEntry {
                id: id.participant.clone(),
                cert: id.cert.clone(),
                p2p: loopback(p2p),
            })
        })
        .collect::<Result<_, LayoutError>>()?;
    let mut configs = Vec::new();
    for (i, id) in pki.with_role(Role::Validator).enumerate() {
        let (rpc, p2p, metrics) = devnet_ports(base_port, i)?;
        let node_dir = dir.join(&id.participant);
        std::fs::create_dir_all(&node_dir).map_err(|source| LayoutError::Io {
            path: node_dir.display().to_string(),
            source,
        })?;
        let cfg = NodeConfig {
            node: NodeSection::new(
                id.participant.clone(),
                node_dir.join("data"),
                share_of_cores(validators),
            ),
            tls: TlsSection {
                ca: pki.ca_cert.clone(),
                cert: id.cert.clone(),
                key: id.key.clone(),
                server_cert: id.server.as_ref().map(|(c, _)| c.clone()),
                server_key: id.server.as_ref().map(|(_, k)| k.clone()),
            },
            network: NetworkSection {
                rpc: loopback(rpc),
                p2p: loopback(p2p),
                metrics: loopback(metrics),
            },
            chain: ChainSection {
                namespace: "sable-devnet".into(),
                regulator_public_key: hex::encode(regulator.public_key().to_bytes()),
                registry_root_window: 16,
                empty_block_interval_ms: 500,
            },
            validators: entries.clone(),
            governance: governance.clone(),
            telemetry: TelemetrySection::default(),
            settlement: None,
        };
        // A settlement key for each validator, used once `[settlement]` is configured.
        sable_pki::write_secret(
            &node_dir.join(SETTLEMENT_KEY_FILE),
            sable_l1::SettlementKey::random().to_hex(),
        )?;
        let path = node_dir.join("config.toml");
        cfg.save(&path)?;
        configs.push(path);
    }
    Ok(DevnetLayout {
        pki: pki_dir,
        configs,
        regulator_secret,
    })
}

/// The configuration files of the devnet in `dir`, in validator order; empty when `dir`
/// holds none.
pub fn configs_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("config.toml"))
        .filter(|p| p.exists())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_loadable_configs() {
        let dir = tempfile::tempdir().unwrap();
        let layout = init_devnet(dir.path(), 4, 17100).unwrap();
        assert_eq!(layout.configs.len(), 4);
        assert_eq!(configs_in(dir.path()), layout.configs);
        for (i, c) in layout.configs.iter().enumerate() {
            let cfg = NodeConfig::load(c).unwrap();
            assert!(cfg.is_validator());
            assert_eq!(cfg.validators.len(), 4);
            assert_eq!(cfg.network.rpc.port(), 17100 + i as u16);
            assert_eq!(cfg.network.p2p.port(), 17200 + i as u16);
            assert_eq!(cfg.network.metrics.port(), 17300 + i as u16);
            assert!(cfg.tls.cert.is_absolute() && cfg.tls.cert.exists());
            // Four validators on one machine share its cores for verification.
            assert_eq!(cfg.node.verifier_threads, share_of_cores(4));
            assert!(
                sable_l1::SettlementKey::from_hex(
                    &std::fs::read_to_string(c.with_file_name(SETTLEMENT_KEY_FILE)).unwrap()
                )
                .is_ok(),
                "a settlement key beside validator {i}'s configuration"
            );
            assert!(cfg.settlement.is_none(), "settlement is off by default");
        }
        // The regulator's secret key matches the public key every validator holds.
        let mut b = [0u8; 32];
        hex::decode_to_slice(
            std::fs::read_to_string(&layout.regulator_secret)
                .unwrap()
                .trim(),
            &mut b,
        )
        .unwrap();
        let secret = sable_circuits::keys::RegulatorSecretKey::from_bytes(&b).unwrap();
        let cfg = NodeConfig::load(&layout.configs[0]).unwrap();
        assert_eq!(
            cfg.chain.regulator_public_key,
            hex::encode(secret.public_key().to_bytes())
        );
    }

    #[test]
    fn impossible_layouts_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            init_devnet(dir.path(), 0, 17100),
            Err(LayoutError::Invalid(m)) if m.contains("at least one")
        ));
        assert!(matches!(
            init_devnet(dir.path(), 4, 65400),
            Err(LayoutError::Invalid(m)) if m.contains("too high")
        ));
        assert!(configs_in(dir.path()).is_empty());
        assert!(!dir.path().join(PKI_DIR).exists());
        assert!(devnet_ports(65500, 1).is_err());
        assert_eq!(devnet_ports(7100, 3).unwrap(), (7103, 7203, 7303));
    }
}
