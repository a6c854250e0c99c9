//! A node serving its gRPC API over real mutual TLS on an ephemeral loopback port, with
//! a real RocksDB and no consensus (blocks are applied directly), for the API tests.

use std::{path::PathBuf, sync::Arc, time::Duration};

use sable_execution::{AllowAll, Verifier};
use sable_node::{
    liveness::StaticStatus,
    mempool::MempoolLimits,
    node::Node,
    rpc::{self, RpcConfig, RpcError},
};
use sable_pki::{generate_dev_pki, CertificateAuthority, DevPki, DevPkiSpec};
use sable_storage::Store;
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

use super::verifying_key;

/// The certificate and key of validator-0's API server.
pub fn validator_0_server(pki: &DevPki) -> (PathBuf, PathBuf) {
    pki.identity("validator-0").unwrap().server.clone().unwrap()
}

/// A node of chain `sable-test`, governed by its one operator, reporting 4 validators
/// and 3 live peers.
pub struct ApiNode {
    pub pki: DevPki,
    pub node: Arc<Node>,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), RpcError>>,
    _dirs: [TempDir; 2],
}

impl ApiNode {
    /// A node of a consortium issued by `spec` (once the verifying key is built, so a
    /// short-lived certificate starts its life with the node), whose port presents the
    /// certificate and key `server` picks.
    pub async fn start(
        spec: &DevPkiSpec,
        server: impl FnOnce(&DevPki) -> (PathBuf, PathBuf),
    ) -> Self {
        let (pki_dir, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let vk = verifying_key().await;
        let pki = generate_dev_pki(pki_dir.path(), spec).unwrap();
        let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
        let regulator = super::regulator_key();
        let node = Node::new(
            Arc::new(Store::open(db.path()).unwrap()),
            Arc::new(sable_testkit::genesis::chain_params(
                &pki,
                "sable-test",
                regulator,
                1,
            )),
            Arc::new(AllowAll),
            Verifier::start(vk, 0, usize::MAX, Arc::new(())),
            MempoolLimits::default(),
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let (cert, key) = server(&pki);
        let mut cfg = RpcConfig::new(local, cert, key, ca);
        cfg.status = Arc::new(StaticStatus {
            validators: 4,
            connected_peers: 3,
        });
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(rpc::serve_on(node.clone(), cfg, listener, async {
            let _ = rx.await;
        }));
        ApiNode {
            pki,
            node,
            addr: local.to_string(),
            shutdown: Some(tx),
            server,
            _dirs: [pki_dir, db],
        }
    }

    /// A channel authenticated as `participant` of this node's consortium.
    pub async fn client(&self, participant: &str) -> Channel {
        let id = self.pki.identity(participant).unwrap();
        sable_client::connect(&self.addr, &self.pki.ca_cert, &id.cert, &id.key)
            .await
            .unwrap()
    }

    /// Applies a block holding `admin` commands on the tip, as consensus would; its
    /// height.
    pub async fn apply_admin_block(&self, admin: Vec<Vec<u8>>) -> u64 {
        sable_testkit::apply_admin_block(&self.node, admin)
            .await
            .header
            .height
    }

    /// Shuts the server down and checks it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.server)
            .await
            .expect("the server stops on shutdown")
            .unwrap()
            .unwrap();
    }
}
