//! Deploying the contracts from forge's build output (`contracts/out`, made by
//! `forge build`): the settlement contract, its bridge, and the binding between them.

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
    client::{rejected, rpc},
    SettlementError,
};

/// Where a deployment lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// The settlement contract.
    pub settlement: Address,
    /// Its bridge.
    pub bridge: Address,
}

/// The repository's `contracts/out` (forge's build output).
pub fn default_artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/out")
}

/// The creation bytecode of `contract` from forge's artifact `<out>/<C>.sol/<C>.json`.
pub fn bytecode(out: &Path, contract: &str) -> Result<Bytes, SettlementError> {
    let path = out
        .join(format!("{contract}.sol"))
        .join(format!("{contract}.json"));
    let err = |reason: String| SettlementError::Artifact {
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
pub async fn deploy_code(provider: &DynProvider, code: Bytes) -> Result<Address, SettlementError> {
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
        _ => Err(SettlementError::Reverted {
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
) -> Result<Deployment, SettlementError> {
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
        return Err(SettlementError::Reverted {
            call: "bindBridge",
            tx: receipt.transaction_hash.to_string(),
        });
    }
    Ok(Deployment { settlement, bridge })
}
