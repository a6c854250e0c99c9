//! Driving the bridge from tests (feature `test-utils`): a test token, its listing by a
//! quorum of validator keys, deposits, and token balances.
#![allow(missing_docs)]

use alloy::{
    primitives::{Address, B256, U256},
    sol_types::SolValue,
};

use crate::{
    batch::{Quorum, SettlementKey},
    bindings::ISableBridge,
    bridge::listing_digest,
    deploy::{bytecode, contracts_out, deploy_code},
    error::{rejected, rpc, L1Error},
    provider::L1Provider,
};

type Result<T> = std::result::Result<T, L1Error>;

alloy::sol! {
    #[sol(rpc)]
    interface ITestToken {
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address who) external view returns (uint256);
    }
}

async fn mined(
    call: &'static str,
    pending: std::result::Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> Result<()> {
    let receipt = pending
        .map_err(|e| rejected(call, e))?
        .get_receipt()
        .await
        .map_err(rpc)?;
    if receipt.status() {
        Ok(())
    } else {
        Err(L1Error::Reverted {
            call,
            tx: receipt.transaction_hash.to_string(),
        })
    }
}

/// Deploys the repository's mintable `TestToken` (from forge's build output, as
/// [`contracts_out`] locates it) named `name`.
pub async fn deploy_test_token(client: &L1Provider, name: &str) -> Result<Address> {
    let mut code = bytecode(&contracts_out()?, "TestToken")?.to_vec();
    code.extend((name.to_string(),).abi_encode_params());
    deploy_code(client.provider(), code.into()).await
}

/// Lists `token` on the client's bridge as Sable asset `asset` with `unit` base units
/// per Sable unit, signed by `signers` (a quorum of the validator set).
pub async fn list_asset(
    client: &L1Provider,
    token: Address,
    asset: B256,
    unit: U256,
    signers: &[SettlementKey],
) -> Result<()> {
    let bridge = client.bridge_contract();
    let nonce = bridge.governanceNonce().call().await.map_err(rpc)?;
    let digest = listing_digest(
        &client.domain().await?,
        client.bridge,
        token,
        asset,
        unit,
        nonce,
    );
    let quorum = Quorum::signed_by(digest, signers)?;
    mined(
        "listAsset",
        bridge
            .listAsset(token, asset, unit, quorum.packed())
            .send()
            .await,
    )
    .await
}

/// `who`'s balance of `token`.
pub async fn token_balance(client: &L1Provider, token: Address, who: Address) -> Result<U256> {
    ITestToken::new(token, client.provider().clone())
        .balanceOf(who)
        .call()
        .await
        .map_err(rpc)
}

/// Mints `amount` of `token` to the client's account and deposits it to the bridge for
/// the note commitment `commitment`.
pub async fn deposit(
    client: &L1Provider,
    token: Address,
    amount: U256,
    commitment: U256,
) -> Result<()> {
    let t = ITestToken::new(token, client.provider().clone());
    mined("mint", t.mint(client.from, amount).send().await).await?;
    mined("approve", t.approve(client.bridge, amount).send().await).await?;
    let bridge: ISableBridge::ISableBridgeInstance<_> = client.bridge_contract();
    mined(
        "deposit",
        bridge.deposit(token, amount, commitment).send().await,
    )
    .await
}
