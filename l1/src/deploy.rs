//! Deploying the contracts from forge's build output (`contracts/out`, made by
//! `forge build`): the settlement contract, its bridge, and the binding between them.
//!
//! The build output is located when the program runs, never where it was compiled: the
//! target directory is shared between clones, so a path baked in at build time would
//! deploy another clone's contracts. [`contracts_out`] takes `$SABLE_CONTRACTS_OUT`, else
//! the `contracts/out` of the checkout the current directory is in.

use std::path::{Path, PathBuf};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, B256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
    sol_types::SolValue,
};

use crate::{
    bindings::ISableSettlement,
    error::{rejected, rpc, L1Error},
};

/// The environment variable naming forge's build output directory, overriding the
/// search from the current directory.
pub const CONTRACTS_OUT_ENV: &str = "SABLE_CONTRACTS_OUT";

/// Where a deployment lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// The settlement contract.
    pub settlement: Address,
    /// Its bridge.
    pub bridge: Address,
}

/// forge's build output: the directory [`CONTRACTS_OUT_ENV`] names when it is set, else
/// the `contracts/out` that [`find_contracts_out`] finds from the current directory.
pub fn contracts_out() -> Result<PathBuf, L1Error> {
    if let Some(dir) = std::env::var_os(CONTRACTS_OUT_ENV) {
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            return Err(L1Error::ContractsOutNotFound {
                looked: format!("${CONTRACTS_OUT_ENV} is {}, not a directory", dir.display()),
            });
        }
        return Ok(dir);
    }
    let cwd = std::env::current_dir().map_err(|e| L1Error::ContractsOutNotFound {
        looked: format!("the current directory is unreadable ({e})"),
    })?;
    find_contracts_out(&cwd)
}

/// The `contracts/out` of the checkout holding `start`: the first of `start` and its
/// ancestors with a `contracts/out` directory. The search stops at a checkout whose
/// contracts are not built (a `contracts/foundry.toml` without `out`) rather than go on
/// to an enclosing directory's, which would be another checkout's contracts.
pub fn find_contracts_out(start: &Path) -> Result<PathBuf, L1Error> {
    for dir in start.ancestors() {
        let contracts = dir.join("contracts");
        let out = contracts.join("out");
        if out.is_dir() {
            return Ok(out);
        }
        if contracts.join("foundry.toml").is_file() {
            return Err(L1Error::ContractsOutNotFound {
                looked: format!(
                    "the checkout at {} has no contracts/out (run `forge build` in {})",
                    dir.display(),
                    contracts.display()
                ),
            });
        }
    }
    Err(L1Error::ContractsOutNotFound {
        looked: format!(
            "no contracts/out in {} or any directory above it",
            start.display()
        ),
    })
}

/// The creation bytecode of `contract` from forge's artifact `<out>/<C>.sol/<C>.json`.
pub fn bytecode(out: &Path, contract: &str) -> Result<Bytes, L1Error> {
    let path = out
        .join(format!("{contract}.sol"))
        .join(format!("{contract}.json"));
    let err = |reason: String| L1Error::Artifact {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| err(format!("{e} (run `forge build` in contracts/)")))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let hex = json["bytecode"]["object"]
        .as_str()
        .ok_or_else(|| err("no bytecode.object".into()))?;
    hex.parse::<Bytes>().map_err(|e| err(e.to_string()))
}

/// Deploys `code` (creation bytecode with its constructor arguments appended).
pub async fn deploy_code(provider: &DynProvider, code: Bytes) -> Result<Address, L1Error> {
    let tx = TransactionRequest::default().with_deploy_code(code);
    let receipt = provider
        .send_transaction(tx)
        .await
        .map_err(rpc)?
        .get_receipt()
        .await
        .map_err(rpc)?;
    match (receipt.status(), receipt.contract_address) {
        (true, Some(address)) => Ok(address),
        _ => Err(L1Error::Reverted {
            call: "deploy",
            tx: receipt.transaction_hash.to_string(),
        }),
    }
}

/// Deploys the settlement contract for the chain `genesis` with `validators`
/// (ascending), its bridge, and binds them.
pub async fn deploy(
    provider: &DynProvider,
    out: &Path,
    genesis: B256,
    validators: Vec<Address>,
) -> Result<Deployment, L1Error> {
    let mut code = bytecode(out, "SableSettlement")?.to_vec();
    code.extend((genesis, validators).abi_encode_params());
    let settlement = deploy_code(provider, code.into()).await?;
    let mut code = bytecode(out, "SableBridge")?.to_vec();
    code.extend((settlement,).abi_encode_params());
    let bridge = deploy_code(provider, code.into()).await?;
    let receipt = ISableSettlement::new(settlement, provider)
        .bindBridge(bridge)
        .send()
        .await
        .map_err(|e| rejected("bindBridge", e))?
        .get_receipt()
        .await
        .map_err(rpc)?;
    if !receipt.status() {
        return Err(L1Error::Reverted {
            call: "bindBridge",
            tx: receipt.transaction_hash.to_string(),
        });
    }
    Ok(Deployment { settlement, bridge })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A fresh directory of this test's own under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "sable-deploy-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn contracts_out_is_found_from_a_nested_directory() {
        let root = scratch("found");
        let out = root.join("checkout/contracts/out");
        let nested = root.join("checkout/node/tests/deep");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(find_contracts_out(&nested).unwrap(), out);
        assert_eq!(find_contracts_out(&root.join("checkout")).unwrap(), out);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_nearest_checkout_wins() {
        let root = scratch("nearest");
        let inner = root.join("outer/clones/inner");
        std::fs::create_dir_all(root.join("outer/contracts/out")).unwrap();
        std::fs::create_dir_all(inner.join("contracts/out")).unwrap();
        std::fs::create_dir_all(inner.join("settlement")).unwrap();
        assert_eq!(
            find_contracts_out(&inner.join("settlement")).unwrap(),
            inner.join("contracts/out")
        );
        // An inner checkout whose contracts are not built never falls back to the
        // outer one's.
        std::fs::remove_dir_all(inner.join("contracts/out")).unwrap();
        std::fs::write(inner.join("contracts/foundry.toml"), "").unwrap();
        match find_contracts_out(&inner.join("settlement")) {
            Err(L1Error::ContractsOutNotFound { looked }) => {
                assert!(looked.contains("forge build"), "{looked}");
                assert!(looked.contains(&inner.display().to_string()), "{looked}");
            }
            other => panic!("expected ContractsOutNotFound, got {other:?}"),
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn no_contracts_out_says_where_it_looked_and_how_to_set_it() {
        let root = scratch("missing");
        let nested = root.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        let err = find_contracts_out(&nested).unwrap_err();
        assert!(
            matches!(&err, L1Error::ContractsOutNotFound { looked }
                if looked.contains(&nested.display().to_string())),
            "{err:?}"
        );
        assert!(err.to_string().contains(CONTRACTS_OUT_ENV), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
