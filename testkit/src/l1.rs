//! A devnet that settles to a real anvil: the contracts deployed for the devnet's
//! validator settlement keys, those keys funded, and `[settlement]` written into every
//! validator's configuration.

use std::path::PathBuf;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
};
use sable_l1::{
    anvil::{Anvil, DEV_KEYS},
    bindings::ISableSettlement::BatchSettled,
    deploy::{contracts_out, deploy, Deployment},
    Batch, L1Provider, SettledState, SettlementKey,
};

use crate::{layout::SETTLEMENT_KEY_FILE, Devnet};
use sable_node::config::SettlementSection;
use sable_node::settlement::genesis_hash;

/// The L1 side of a settling devnet.
pub struct L1 {
    pub anvil: Anvil,
    pub deployment: Deployment,
    /// A client sending as anvil's first development key (the deployer).
    pub client: L1Provider,
}

impl L1 {
    /// Starts anvil with `anvil_args`, deploys the contracts for `net`'s validators,
    /// funds their settlement keys and configures every validator to settle there
    /// (`tweak` adjusts the section). The devnet must not be running yet.
    pub async fn for_devnet(
        net: &Devnet,
        anvil_args: &[&str],
        tweak: impl Fn(&mut SettlementSection),
    ) -> L1 {
        let anvil = Anvil::start(anvil_args);
        let deployer = SettlementKey::from_hex(DEV_KEYS[0]).unwrap();
        let boot = L1Provider::connect(
            &anvil.url(),
            &deployer,
            Address::ZERO,
            Address::ZERO,
            Default::default(),
        )
        .unwrap();
        let mut validators: Vec<Address> = (0..net.configs.len())
            .map(|i| net.settlement_key(i).address())
            .collect();
        validators.sort();
        let namespace = net.config(0).chain.namespace;
        let deployment = deploy(
            boot.provider(),
            &contracts_out().unwrap(),
            genesis_hash(&namespace),
            validators.clone(),
        )
        .await
        .unwrap();
        for v in &validators {
            let _: () = boot
                .provider()
                .raw_request("anvil_setBalance".into(), (v, U256::from(10u128.pow(20))))
                .await
                .unwrap();
        }
        for (i, path) in net.configs.iter().enumerate() {
            let mut cfg = net.config(i);
            let mut section = SettlementSection::new(
                &anvil.url(),
                &deployment.settlement.to_string(),
                net.settlement_key_path(i),
            );
            tweak(&mut section);
            cfg.settlement = Some(section);
            cfg.save(path).unwrap();
        }
        let client = L1Provider::connect(
            &anvil.url(),
            &deployer,
            deployment.settlement,
            deployment.bridge,
            Default::default(),
        )
        .unwrap();
        L1 {
            anvil,
            deployment,
            client,
        }
    }

    /// The last settled batch, when the endpoint answers.
    pub async fn last_batch(&self) -> Option<u64> {
        self.client.state().await.ok().map(|s| s.last_batch)
    }

    /// Waits until the contract holds batch `number`; panics on timeout.
    pub async fn wait_batch(&self, number: u64, timeout: std::time::Duration) {
        self.wait_state(timeout, &format!("batch {number} settled"), |s| {
            s.last_batch >= number
        })
        .await
    }

    /// Waits until the contract has settled Sable block `height`; panics on timeout.
    pub async fn wait_block(&self, height: u64, timeout: std::time::Duration) {
        self.wait_state(timeout, &format!("block {height} settled"), |s| {
            s.last_block >= height
        })
        .await
    }

    /// [`L1::wait_block`], with every validator's settlement log lines in the panic.
    pub async fn wait_block_of(&self, net: &Devnet, height: u64, timeout: std::time::Duration) {
        if let Err(last) = self.poll_state(timeout, |s| s.last_block >= height).await {
            let logs: Vec<String> = (0..net.configs.len())
                .map(|i| {
                    format!(
                        "validator {i}:\n{}",
                        net.log_lines(i, &["settle", "WARN", "ERROR"], 20)
                    )
                })
                .collect();
            panic!(
                "block {height} not settled in {timeout:?} (contract state: {last:?})\n{}",
                logs.join("\n")
            );
        }
    }

    async fn wait_state(
        &self,
        timeout: std::time::Duration,
        what: &str,
        cond: impl Fn(&SettledState) -> bool,
    ) {
        if let Err(last) = self.poll_state(timeout, cond).await {
            panic!("not {what} in {timeout:?} (contract state: {last:?})");
        }
    }

    /// Polls the contract until `cond` holds; on timeout, the last state read.
    async fn poll_state(
        &self,
        timeout: std::time::Duration,
        cond: impl Fn(&SettledState) -> bool,
    ) -> Result<(), Option<SettledState>> {
        let deadline = std::time::Instant::now() + timeout;
        let mut last = None;
        while std::time::Instant::now() < deadline {
            if let Ok(s) = self.client.state().await {
                if cond(&s) {
                    return Ok(());
                }
                last = Some(s);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(last)
    }

    /// Runs `sable-node verify-l1` against this L1 with validator 1's configuration,
    /// reading logs 16 blocks at a time (as a capped public endpoint would make it).
    pub fn verify_l1(&self, net: &Devnet) -> std::process::Output {
        std::process::Command::new(&net.exe)
            .args(["verify-l1", "--rpc", &self.anvil.url(), "--log-page", "16"])
            .arg("--contract")
            .arg(self.deployment.settlement.to_string())
            .arg("--config")
            .arg(&net.configs[1])
            .output()
            .unwrap()
    }

    /// Snapshots anvil's state (`evm_snapshot`), for [`L1::revert`].
    pub async fn snapshot(&self) -> U256 {
        self.client
            .provider()
            .raw_request("evm_snapshot".into(), ())
            .await
            .unwrap()
    }

    /// Returns anvil to `snapshot` (`evm_revert`), as if nothing since had happened.
    pub async fn revert(&self, snapshot: U256) {
        let reverted: bool = self
            .client
            .provider()
            .raw_request("evm_revert".into(), (snapshot,))
            .await
            .unwrap();
        assert!(reverted, "anvil refused to revert to snapshot {snapshot}");
    }

    /// Every `BatchSettled` event of the canonical chain, in order.
    pub async fn settled(&self) -> Vec<Batch> {
        self.client
            .settlement_contract()
            .BatchSettled_filter()
            .from_block(0)
            .query()
            .await
            .unwrap()
            .into_iter()
            .map(|(e, _): (BatchSettled, _)| e.batch)
            .collect()
    }
}

impl Devnet {
    /// Where validator `i`'s settlement key is (written by [`crate::layout::init_devnet`]).
    pub fn settlement_key_path(&self, i: usize) -> PathBuf {
        self.configs[i].with_file_name(SETTLEMENT_KEY_FILE)
    }

    /// Validator `i`'s settlement key.
    pub fn settlement_key(&self, i: usize) -> SettlementKey {
        SettlementKey::from_hex(&std::fs::read_to_string(self.settlement_key_path(i)).unwrap())
            .unwrap()
    }
}

/// An L1 endpoint in front of anvil that answers every call from anvil, except that it
/// takes transactions without ever passing them on: what is sent through it is given
/// its hash and never mined, as with a provider whose mempool drops it. Reads (logs,
/// blocks, the contract's state) stay live, so a node behind it has a working view of
/// L1 and a settlement submission that waits for ever.
pub struct SwallowingEndpoint {
    stub: crate::http::HttpStub,
    swallowed: std::sync::Arc<parking_lot::Mutex<Vec<B256>>>,
}

impl SwallowingEndpoint {
    pub fn start(anvil: &Anvil) -> Self {
        let upstream: std::net::SocketAddr = ([127, 0, 0, 1], anvil.port).into();
        let swallowed: std::sync::Arc<parking_lot::Mutex<Vec<B256>>> = Default::default();
        let kept = swallowed.clone();
        let stub = crate::http::HttpStub::start(move |_, body| {
            let answer = relay(upstream, body, &kept);
            crate::http::Reply::ok("application/json", answer)
        });
        SwallowingEndpoint { stub, swallowed }
    }

    pub fn url(&self) -> String {
        self.stub.url()
    }

    /// The hashes of the transactions it took, in order.
    pub fn swallowed(&self) -> Vec<B256> {
        self.swallowed.lock().clone()
    }
}

/// The JSON-RPC answer to `body` (one request or a batch): `eth_sendRawTransaction`
/// answered with the hash and kept in `kept`, everything else from `upstream`.
fn relay(
    upstream: std::net::SocketAddr,
    body: &[u8],
    kept: &parking_lot::Mutex<Vec<B256>>,
) -> Vec<u8> {
    use serde_json::{json, Value};
    let answer_one = |request: &Value| -> Value {
        if request["method"] == "eth_sendRawTransaction" {
            let raw = request["params"][0]
                .as_str()
                .and_then(|h| hex::decode(h.trim_start_matches("0x")).ok())
                .unwrap_or_default();
            let hash = transaction_hash(&raw);
            kept.lock().push(hash);
            return json!({"jsonrpc": "2.0", "id": request["id"], "result": hash});
        }
        let forwarded = crate::http::post(upstream, request.to_string().as_bytes())
            .ok()
            .and_then(|(_, b)| serde_json::from_slice(&b).ok());
        forwarded.unwrap_or_else(|| {
            json!({"jsonrpc": "2.0", "id": request["id"],
                   "error": {"code": -32603, "message": "anvil did not answer"}})
        })
    };
    let answer = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(batch)) => Value::Array(batch.iter().map(answer_one).collect()),
        Ok(one) => answer_one(&one),
        Err(e) => json!({"jsonrpc": "2.0", "id": null,
                         "error": {"code": -32700, "message": e.to_string()}}),
    };
    answer.to_string().into_bytes()
}

/// The hash L1 would give the network-encoded transaction `raw` (a blob transaction's
/// sidecar is not hashed).
fn transaction_hash(raw: &[u8]) -> B256 {
    use alloy::eips::eip2718::Decodable2718 as _;
    alloy::consensus::TxEnvelope::network_decode(&mut &raw[..])
        .map(|tx| *tx.tx_hash())
        .unwrap_or_else(|_| alloy::primitives::keccak256(raw))
}
