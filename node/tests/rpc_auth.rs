//! The gRPC API over real mutual TLS on 127.0.0.1 with a real RocksDB: who may call
//! what, and that bad input gets typed answers while the node keeps serving.
#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, sync::Arc, time::Duration};

use futures::StreamExt;
use sable_circuits::keys::SpendingKey;
use sable_pki::{
    fingerprint, generate_dev_pki, load_certificate_pem, CertificateAuthority, DevPki, DevPkiSpec,
    SigningKey,
};
use sable_primitives::admin::{AdminCommand, AdminOp};
use sable_primitives::block::MAX_TX_BYTES;
use sable_proto::v1::{
    self as pb, admin_client::AdminClient, chain_client::ChainClient, get_block_request::At,
    transactions_client::TransactionsClient, tx_status::State,
};
use tempfile::TempDir;
use tonic::{transport::Channel, Code, Status};

mod common;
use common::api::{validator_0_server, ApiNode};

/// A node serving the API ([`ApiNode`]), with a second consortium for foreign callers.
struct TestNode {
    api: ApiNode,
    foreign: DevPki,
    _foreign_dir: TempDir,
}

impl std::ops::Deref for TestNode {
    type Target = ApiNode;
    fn deref(&self) -> &ApiNode {
        &self.api
    }
}

impl TestNode {
    /// A node whose port presents validator-0's API server certificate.
    async fn start() -> Self {
        Self::start_presenting(validator_0_server).await
    }

    /// A node whose port presents the certificate and key `server` picks from the PKI
    /// (which also holds a server certificate mis-issued to `bank-a`).
    async fn start_presenting(server: impl FnOnce(&DevPki) -> (PathBuf, PathBuf)) -> Self {
        let spec = DevPkiSpec {
            misissued_server_certificates: vec!["bank-a".into()],
            ..DevPkiSpec::default()
        };
        Self::start_from(spec, server).await
    }

    /// A node of a consortium issued by `spec`.
    async fn start_from(
        spec: DevPkiSpec,
        server: impl FnOnce(&DevPki) -> (PathBuf, PathBuf),
    ) -> Self {
        let foreign_dir = tempfile::tempdir().unwrap();
        let foreign = generate_dev_pki(foreign_dir.path(), &DevPkiSpec::default()).unwrap();
        TestNode {
            api: ApiNode::start(&spec, server).await,
            foreign,
            _foreign_dir: foreign_dir,
        }
    }

    /// A channel with a certificate from another consortium's CA.
    async fn foreign_client(&self) -> Channel {
        let id = self.foreign.identity("bank-a").unwrap();
        sable_client::connect(&self.addr, &self.pki.ca_cert, &id.cert, &id.key)
            .await
            .unwrap()
    }

    async fn anonymous_client(&self) -> Result<Channel, sable_client::ConnectError> {
        sable_client::connect_without_identity(&self.addr, &self.pki.ca_cert).await
    }

    /// A raw TLS 1.3 session to the port, checking the server's chain with webpki for
    /// validator-0's DNS name, as `participant` or without a certificate; reads the
    /// server's first bytes (its HTTP/2 SETTINGS, which it sends unasked). Nothing is
    /// written: bytes the server never reads would turn its close into a reset that
    /// can overtake its alert.
    async fn raw_tls(&self, participant: Option<&str>) -> Result<usize, std::io::Error> {
        use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName};
        use tokio::io::AsyncReadExt;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&self.pki.ca_cert).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match participant {
            Some(p) => {
                let id = self.pki.identity(p).unwrap();
                builder
                    .with_client_auth_cert(
                        vec![CertificateDer::from_pem_file(&id.cert).unwrap()],
                        PrivateKeyDer::from_pem_file(&id.key).unwrap(),
                    )
                    .unwrap()
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let tcp = tokio::net::TcpStream::connect(&self.addr).await?;
        let name = ServerName::try_from("validator-0.sable.local").unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        let mut buf = [0u8; 64];
        tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::other("no answer"))?
    }

    async fn stop(self) {
        self.api.stop().await;
    }
}

fn code<T>(r: Result<T, Status>) -> Code {
    r.map_or_else(|s| s.code(), |_| Code::Ok)
}

/// The code of one call to each service: [Transactions, Chain, Admin].
async fn codes(ch: &Channel) -> [Code; 3] {
    let t = TransactionsClient::new(ch.clone())
        .get_status(pb::TxId { id: vec![0; 32] })
        .await;
    let c = ChainClient::new(ch.clone())
        .get_status(pb::GetStatusRequest {})
        .await;
    let a = AdminClient::new(ch.clone())
        .list_participants(pb::ListRequest {})
        .await;
    [code(t), code(c), code(a)]
}

async fn health(ch: &Channel, service: &str) -> Result<i32, Status> {
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    HealthClient::new(ch.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
}

async fn reflected_services(ch: &Channel) -> Result<Vec<String>, Status> {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = ServerReflectionClient::new(ch.clone())
        .server_reflection_info(futures::stream::iter([request]))
        .await?
        .into_inner();
    match replies.message().await?.and_then(|r| r.message_response) {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => panic!("unexpected reflection reply {other:?}"),
    }
}

fn state(s: &pb::TxStatus) -> &State {
    s.state.as_ref().unwrap()
}

fn rejected_reason(s: &pb::TxStatus) -> pb::RejectReason {
    match state(s) {
        State::Rejected(r) => pb::RejectReason::try_from(r.reason).unwrap(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_a_consortium_certificate_are_refused_everywhere() {
    let net = TestNode::start().await;
    {
        let ch = net.foreign_client().await;
        assert_eq!(codes(&ch).await, [Code::Unauthenticated; 3]);
        assert_eq!(
            health(&ch, "").await.unwrap_err().code(),
            Code::Unauthenticated
        );
        assert_eq!(
            reflected_services(&ch).await.unwrap_err().code(),
            Code::Unauthenticated
        );
    }
    // Without a certificate the handshake itself fails: no HTTP/2 session, no gRPC
    // status. (TLS 1.3 clients finish their side before the server reads their
    // certificate, so the refusal arrives as the server's `certificate_required` alert.)
    match net.anonymous_client().await {
        Err(_) => {}
        Ok(ch) => {
            let refused = ChainClient::new(ch)
                .get_anchor(pb::GetAnchorRequest {})
                .await
                .unwrap_err();
            // A failure of the connection under the call (the server's alert, the
            // reset after it, or the connection closed: whichever the client meets
            // first), never a status the server sent.
            assert!(std::error::Error::source(&refused).is_some(), "{refused:?}");
            assert!(
                !matches!(
                    refused.code(),
                    Code::Unauthenticated | Code::PermissionDenied
                ),
                "{refused:?}"
            );
        }
    }
    let refused = net.raw_tls(None).await.unwrap_err();
    let alert = refused
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .cloned();
    assert_eq!(
        alert,
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::CertificateRequired
        )),
        "{refused:?}"
    );
    // With one (P-256, as the dev PKI issues to banks) the same session gets its answer;
    // webpki accepts the node's chain for its own name, validator-0.sable.local.
    assert!(net.raw_tls(Some("bank-a")).await.unwrap() > 0);
    // An Ed25519 client certificate (a validator's) is accepted too.
    assert!(net.raw_tls(Some("validator-1")).await.unwrap() > 0);
    let foreign = ChainClient::new(net.foreign_client().await)
        .get_anchor(pb::GetAnchorRequest {})
        .await
        .unwrap_err();
    assert!(
        foreign
            .message()
            .ends_with("certificate not issued by the consortium CA"),
        "{}",
        foreign.message()
    );

    // There is no plaintext port: the client helpers refuse one, and a plaintext
    // HTTP/2 client on the TLS port gets no answer.
    assert!(matches!(
        sable_client::connect_without_identity(&format!("http://{}", net.addr), &net.pki.ca_cert)
            .await,
        Err(sable_client::ConnectError::Endpoint(_))
    ));
    let plaintext = tonic::transport::Endpoint::from_shared(format!("http://{}", net.addr))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    if let Ok(ch) = plaintext.connect().await {
        assert_ne!(
            code(
                ChainClient::new(ch)
                    .get_status(pb::GetStatusRequest {})
                    .await
            ),
            Code::Ok
        );
    }
    net.stop().await;
}

/// M8: a client accepts only a validator's API certificate of its consortium as the
/// node, and the validator it asks for when it names one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_refuse_a_server_that_is_not_a_validator() {
    use sable_client::{ConnectError, ServerRejection};
    use sable_pki::{PkiError, TlsPurpose};
    let connect = |net: &TestNode, expected: Option<&'static str>| {
        let id = net.pki.identity("bank-b").unwrap();
        let (addr, ca, cert, key) = (
            net.addr.clone(),
            net.pki.ca_cert.clone(),
            id.cert.clone(),
            id.key.clone(),
        );
        async move {
            match expected {
                None => sable_client::connect(&addr, &ca, &cert, &key).await,
                Some(v) => sable_client::connect_to_validator(&addr, v, &ca, &cert, &key).await,
            }
        }
    };

    // A bank's server certificate (mis-issued with serverAuth): refused by its role.
    let net =
        TestNode::start_presenting(|pki| pki.identity("bank-a").unwrap().server.clone().unwrap())
            .await;
    let refused = connect(&net, None).await.unwrap_err();
    assert!(
        matches!(
            &refused,
            ConnectError::UntrustedServer {
                reason: ServerRejection::Certificate(PkiError::NotAValidator(who)),
                ..
            } if who == "bank:bank-a"
        ),
        "{refused:?}"
    );
    net.stop().await;

    // A bank's ordinary certificate (clientAuth only): not a server certificate.
    let net = TestNode::start_presenting(|pki| {
        let id = pki.identity("bank-a").unwrap();
        (id.cert.clone(), id.key.clone())
    })
    .await;
    assert!(matches!(
        connect(&net, None).await.unwrap_err(),
        ConnectError::UntrustedServer {
            reason: ServerRejection::Certificate(PkiError::Purpose(TlsPurpose::Server)),
            ..
        }
    ));
    net.stop().await;

    // A validator: accepted, and calls go through; but not as another validator.
    let net = TestNode::start().await;
    let ch = connect(&net, Some("validator-0")).await.unwrap();
    assert_eq!(health(&ch, "").await.unwrap(), 1);
    assert!(matches!(
        connect(&net, Some("validator-2")).await.unwrap_err(),
        ConnectError::UntrustedServer {
            reason: ServerRejection::OtherValidator { expected, found },
            ..
        } if expected == "validator-2" && found == "validator-0"
    ));
    // A node of another consortium is refused as well.
    let foreign_ca = net.foreign.ca_cert.clone();
    let id = net.pki.identity("bank-b").unwrap();
    assert!(matches!(
        sable_client::connect(&net.addr, &foreign_ca, &id.cert, &id.key)
            .await
            .unwrap_err(),
        ConnectError::UntrustedServer {
            reason: ServerRejection::Certificate(PkiError::ForeignIssuer),
            ..
        }
    ));
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reaches_exactly_its_services() {
    let net = TestNode::start().await;
    use Code::{Ok as Yes, PermissionDenied as No};
    for (who, expected) in [
        ("bank-a", [Yes, Yes, No]),
        ("operator-0", [No, Yes, Yes]),
        ("auditor-0", [No, Yes, No]),
        ("regulator-0", [No, Yes, No]),
        ("validator-1", [No, Yes, No]),
    ] {
        let ch = net.client(who).await;
        assert_eq!(codes(&ch).await, expected, "{who}");
        // Health and reflection are open to every role.
        assert_eq!(health(&ch, "").await.unwrap(), 1, "{who}");
    }

    let bank = net.client("bank-a").await;
    let denied = AdminClient::new(bank)
        .list_revocations(pb::ListRequest {})
        .await
        .unwrap_err();
    assert_eq!(denied.message(), "role bank may not call sable.v1.Admin");
    let auditor = net.client("auditor-0").await;
    let submit = TransactionsClient::new(auditor)
        .submit(pb::SubmitRequest {
            transaction: vec![1, 2, 3],
        })
        .await
        .unwrap_err();
    assert_eq!(submit.code(), Code::PermissionDenied);
    assert_eq!(
        submit.message(),
        "role auditor may not call sable.v1.Transactions"
    );

    let regulator = net.client("regulator-0").await;
    let status = ChainClient::new(regulator.clone())
        .get_status(pb::GetStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.node_id, "validator-0");
    assert_eq!(
        (status.height, status.validators, status.connected_peers),
        (0, 4, 3)
    );
    assert_eq!(
        status.genesis_digest,
        net.node.params().genesis_digest().to_vec()
    );
    let anchor = ChainClient::new(regulator)
        .get_anchor(pb::GetAnchorRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((anchor.height, anchor.tree_size), (0, 0));
    assert_eq!(anchor.anchor, status.anchor);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_certificates_are_refused_even_on_open_connections() {
    let net = TestNode::start().await;
    let bank = net.pki.identity("bank-a").unwrap();
    let op = net.pki.identity("operator-0").unwrap();
    let fp = fingerprint(&load_certificate_pem(&bank.cert).unwrap());
    let bank_ch = net.client("bank-a").await;
    assert_eq!(
        codes(&bank_ch).await,
        [Code::Ok, Code::Ok, Code::PermissionDenied]
    );

    let signed = AdminCommand {
        nonce: 1,
        op: AdminOp::RevokeCertificate {
            fingerprint: fp,
            reason: "key compromise".into(),
        },
    }
    .sign(
        &sable_circuits::transaction::ChainId::from_namespace("sable-test"),
        &SigningKey::load(&op.key).unwrap(),
        load_certificate_pem(&op.cert).unwrap(),
    )
    .unwrap();

    // The operator submits it through the API; another bank watches it; an auditor
    // follows the chain.
    let operator = net.client("operator-0").await;
    let receipt = AdminClient::new(operator.clone())
        .submit(sable_client::node_client::admin_request(&signed))
        .await
        .unwrap()
        .into_inner();
    let id = receipt.command_id.unwrap();
    assert_eq!(id.id, signed.id().0.to_vec());
    assert!(matches!(state(&receipt.status.unwrap()), State::Pending(_)));
    let mut watch = TransactionsClient::new(net.client("bank-b").await)
        .watch_status(id.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        state(&watch.message().await.unwrap().unwrap()),
        State::Pending(_)
    ));
    let mut blocks = ChainClient::new(net.client("auditor-0").await)
        .stream_blocks(pb::StreamRequest { from_height: 0 })
        .await
        .unwrap()
        .into_inner();
    let genesis = blocks.message().await.unwrap().unwrap();
    assert_eq!(genesis.header.unwrap().height, 0);
    // The bank about to be revoked holds streams open too (M1).
    let mut bank_blocks = ChainClient::new(bank_ch.clone())
        .stream_blocks(pb::StreamRequest { from_height: 0 })
        .await
        .unwrap()
        .into_inner();
    assert!(bank_blocks.message().await.unwrap().is_some());
    let mut bank_watch = TransactionsClient::new(bank_ch.clone())
        .watch_status(id.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(bank_watch.message().await.unwrap().is_some());

    let height = net.apply_admin_block(vec![signed.to_bytes()]).await;
    assert!(net.node.is_revoked(&fp));

    let live = tokio::time::timeout(Duration::from_secs(10), blocks.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(live.header.unwrap().height, height);
    assert_eq!(live.admin_commands, vec![signed.to_bytes()]);
    let finalized = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(state(&finalized), State::Finalized(f) if f.height == height));
    assert!(watch.message().await.unwrap().is_none(), "the watch ends");
    let compact: Vec<_> = ChainClient::new(operator.clone())
        .stream_compact_blocks(pb::StreamRequest { from_height: 0 })
        .await
        .unwrap()
        .into_inner()
        .take(2)
        .collect()
        .await;
    let compact: Vec<_> = compact.into_iter().map(|c| c.unwrap().height).collect();
    assert_eq!(compact, vec![0, height]);

    // Its open streams end within the block that revoked it.
    for next in [
        tokio::time::timeout(Duration::from_secs(10), bank_blocks.message())
            .await
            .unwrap()
            .map(|_| ()),
        tokio::time::timeout(Duration::from_secs(10), bank_watch.message())
            .await
            .unwrap()
            .map(|_| ()),
    ] {
        let e = next.unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (Code::PermissionDenied, "certificate revoked")
        );
    }

    // Refused on the connection opened before the revocation, and on a new one.
    for ch in [bank_ch, net.client("bank-a").await] {
        assert_eq!(codes(&ch).await, [Code::PermissionDenied; 3]);
        let e = ChainClient::new(ch)
            .get_anchor(pb::GetAnchorRequest {})
            .await
            .unwrap_err();
        assert_eq!(e.message(), "certificate revoked");
    }
    // The other bank is unaffected, and the list shows the revocation.
    assert_eq!(
        codes(&net.client("bank-b").await).await,
        [Code::Ok, Code::Ok, Code::PermissionDenied]
    );
    let list = AdminClient::new(operator)
        .list_revocations(pb::ListRequest {})
        .await
        .unwrap()
        .into_inner()
        .revocations;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].certificate_fingerprint, fp.to_vec());
    assert_eq!(
        (list[0].height, list[0].reason.as_str()),
        (height, "key compromise")
    );
    net.stop().await;
}

/// How long `bank-b`'s certificate lives in the expiry test: long enough to connect
/// and open a stream on a loaded machine, short enough to wait out.
const SHORT_LIFE: Duration = Duration::from_secs(12);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_certificate_loses_its_open_streams_and_its_connection() {
    let spec = DevPkiSpec {
        short_lived: vec![("bank-b".into(), SHORT_LIFE)],
        ..DevPkiSpec::default()
    };
    let net = TestNode::start_from(spec, validator_0_server).await;
    let ca = CertificateAuthority::load(&net.pki.ca_cert).unwrap();
    let not_after = ca
        .verify(&load_certificate_pem(&net.pki.identity("bank-b").unwrap().cert).unwrap())
        .expect("bank-b's certificate is still valid when the test starts")
        .not_after;
    let short = net.client("bank-b").await;
    assert_eq!(
        codes(&short).await,
        [Code::Ok, Code::Ok, Code::PermissionDenied]
    );
    let mut blocks = ChainClient::new(short.clone())
        .stream_blocks(pb::StreamRequest { from_height: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        blocks
            .message()
            .await
            .unwrap()
            .unwrap()
            .header
            .unwrap()
            .height,
        0
    );
    let mut watch = TransactionsClient::new(short.clone())
        .watch_status(pb::TxId { id: vec![7; 32] })
        .await
        .unwrap()
        .into_inner();
    // A transaction this node has never seen is final at once; watching a pending one
    // would need a valid proof. The stream that stays open is the block stream.
    assert!(watch.message().await.unwrap().is_some());

    // No block is applied: the stream ends because the certificate expired, on time.
    let e = tokio::time::timeout(SHORT_LIFE * 3, blocks.message())
        .await
        .expect("the stream ends when its certificate expires")
        .unwrap_err();
    let ended = sable_node::rpc::auth::unix_now();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Unauthenticated, "certificate expired")
    );
    assert!(
        ended > not_after && ended <= not_after + 3,
        "ended at {ended}, certificate good until {not_after}"
    );
    // The connection opened while it was valid is refused every call.
    for c in codes(&short).await {
        assert_eq!(c, Code::Unauthenticated);
    }
    let e = ChainClient::new(short)
        .get_anchor(pb::GetAnchorRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.message(), "certificate expired");
    // A new connection does not get past the handshake's identity check.
    let id = net.pki.identity("bank-b").unwrap();
    let fresh = sable_client::connect(&net.addr, &net.pki.ca_cert, &id.cert, &id.key)
        .await
        .unwrap();
    assert_eq!(codes(&fresh).await, [Code::Unauthenticated; 3]);
    let e = ChainClient::new(fresh)
        .get_anchor(pb::GetAnchorRequest {})
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "not a valid consortium certificate: certificate expired or not yet valid"
    );
    // Others are unaffected.
    assert_eq!(
        codes(&net.client("bank-a").await).await,
        [Code::Ok, Code::Ok, Code::PermissionDenied]
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_typed_answers_and_the_node_keeps_serving() {
    let net = TestNode::start().await;
    let bank = net.client("bank-a").await;
    let mut txs = TransactionsClient::new(bank.clone());
    let mut chain = ChainClient::new(bank.clone());
    let mut admin = AdminClient::new(net.client("operator-0").await);

    // A refused transaction is an answer with a reason.
    let garbage: Vec<u8> = (0..1000).map(|_| rand::random::<u8>()).collect();
    let status = txs
        .submit(pb::SubmitRequest {
            transaction: garbage,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rejected_reason(&status), pb::RejectReason::Malformed);
    let id = status.tx_id.clone().unwrap();
    let again = txs.get_status(id).await.unwrap().into_inner();
    assert_eq!(rejected_reason(&again), pb::RejectReason::Malformed);

    // Just over the node's limit: refused at admission. Far over: cut off by the
    // decoder before it is read.
    let status = txs
        .submit(pb::SubmitRequest {
            transaction: vec![0; MAX_TX_BYTES + 1],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rejected_reason(&status), pb::RejectReason::TooLarge);
    let huge = txs
        .submit(pb::SubmitRequest {
            transaction: vec![0; 2 * MAX_TX_BYTES],
        })
        .await
        .unwrap_err();
    assert_eq!(huge.code(), Code::OutOfRange, "{huge:?}");

    let short_id = txs
        .get_status(pb::TxId { id: vec![1; 5] })
        .await
        .unwrap_err();
    assert_eq!(short_id.code(), Code::InvalidArgument);
    let unknown = txs
        .watch_status(pb::TxId { id: vec![7; 32] })
        .await
        .unwrap()
        .into_inner()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(
        unknown.len(),
        1,
        "an unknown transaction's watch ends at once"
    );
    assert!(matches!(
        state(unknown[0].as_ref().unwrap()),
        State::Unknown(_)
    ));

    let path = |position, at_height| pb::GetMerklePathRequest {
        position,
        at_height,
    };
    for (req, expected) in [
        (path(0, 0), Code::OutOfRange),
        (path(u64::MAX, 0), Code::OutOfRange),
        (path(0, 99), Code::OutOfRange),
    ] {
        assert_eq!(code(chain.get_merkle_path(req).await), expected);
    }
    let block = |at| pb::GetBlockRequest { at };
    for (req, expected) in [
        (block(Some(At::Height(99))), Code::NotFound),
        (block(Some(At::Height(u64::MAX))), Code::NotFound),
        (block(Some(At::Hash(vec![3; 32]))), Code::NotFound),
        (block(Some(At::Hash(vec![3; 31]))), Code::InvalidArgument),
        (block(None), Code::InvalidArgument),
        (block(Some(At::Height(0))), Code::Ok),
    ] {
        assert_eq!(code(chain.get_block(req).await), expected);
    }
    let missing = chain
        .get_block(block(Some(At::Height(99))))
        .await
        .unwrap_err();
    assert_eq!(missing.message(), "no block at height 99");
    assert_eq!(
        code(chain.get_transaction(pb::TxId { id: vec![9; 32] }).await),
        Code::NotFound
    );
    // An audit log id that is not 32 bytes is refused; an unknown log has no heads.
    let log = |log| pb::AuditLogHeadsRequest { log };
    assert_eq!(
        code(chain.get_audit_log_heads(log(vec![1; 31])).await),
        Code::InvalidArgument
    );
    assert!(chain
        .get_audit_log_heads(log(vec![1; 32]))
        .await
        .unwrap()
        .into_inner()
        .heads
        .is_empty());
    let registry = |address| pb::GetRegistryPathRequest { address };
    let unregistered = SpendingKey::random(&mut rand::rng())
        .full_viewing_key()
        .address()
        .to_bytes()
        .to_vec();
    for (req, expected) in [
        (registry(vec![1, 2, 3]), Code::InvalidArgument),
        (registry(unregistered), Code::NotFound),
    ] {
        assert_eq!(code(chain.get_registry_path(req).await), expected);
    }
    let roots = chain
        .get_registry_root(pb::GetRegistryRootRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(roots.accepted_roots, vec![roots.root.clone()]);
    let far = chain
        .stream_blocks(pb::StreamRequest { from_height: 100 })
        .await
        .unwrap_err();
    assert_eq!(far.code(), Code::OutOfRange);

    let approval = |signature| pb::SignedAdminCommand {
        command: vec![1],
        approvals: vec![pb::OperatorApproval {
            operator_certificate: vec![2],
            signature,
        }],
    };
    let bad_signature = admin.submit(approval(vec![3; 3])).await.unwrap_err();
    assert_eq!(bad_signature.code(), Code::InvalidArgument);
    let refused = admin
        .submit(approval(vec![3; 64]))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        state(&refused.status.unwrap()),
        State::Rejected(r) if r.detail.starts_with("admin command refused")
    ));

    // Still serving.
    let status = chain
        .get_status(pb::GetStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.height, 0);
    assert_eq!(status.mempool_size, 0);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer_authenticated_clients_and_health_follows_a_halt() {
    let net = TestNode::start().await;
    let ch = net.client("auditor-0").await;
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    for service in [
        "",
        "sable.v1.Transactions",
        "sable.v1.Chain",
        "sable.v1.Admin",
    ] {
        assert_eq!(health(&ch, service).await.unwrap(), serving, "{service}");
    }
    assert_eq!(
        health(&ch, "sable.v1.Nope").await.unwrap_err().code(),
        Code::NotFound
    );
    let services = reflected_services(&ch).await.unwrap();
    for s in [
        "sable.v1.Transactions",
        "sable.v1.Chain",
        "sable.v1.Admin",
        "grpc.health.v1.Health",
    ] {
        assert!(services.iter().any(|n| n == s), "{s} in {services:?}");
    }
    // A node that can no longer execute serves a frozen state and says so.
    net.node.halt("a storage fault (test)");
    let not_serving = tonic_health::pb::health_check_response::ServingStatus::NotServing as i32;
    for service in [
        "",
        "sable.v1.Transactions",
        "sable.v1.Chain",
        "sable.v1.Admin",
    ] {
        let mut status = health(&ch, service).await.unwrap();
        for _ in 0..100 {
            if status == not_serving {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            status = health(&ch, service).await.unwrap();
        }
        assert_eq!(status, not_serving, "{service} after a halt");
    }
    net.stop().await;
}

/// M4: connections that never handshake are bounded per address. With
/// `MAX_HANDSHAKES_PER_IP` idle sockets open from this address, the next is closed at
/// once (before the 10 s handshake timeout), counted in
/// `sable_rpc_refused_connections`, and the idle ones are still open; once they go, a
/// real client connects from the same address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_bounded_per_address() {
    use sable_node::rpc::limits::MAX_HANDSHAKES_PER_IP;
    use tokio::{io::AsyncReadExt as _, net::TcpStream};

    let net = TestNode::start().await;
    let refused = || {
        sable_node::telemetry::metrics()
            .refused_connections
            .get_or_create(&sable_node::telemetry::ReasonLabel {
                reason: "handshakes_per_address".into(),
            })
            .get()
    };
    let before = refused();
    let mut idle = Vec::new();
    for _ in 0..MAX_HANDSHAKES_PER_IP {
        idle.push(TcpStream::connect(&net.addr).await.unwrap());
    }
    let mut over = TcpStream::connect(&net.addr).await.unwrap();
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), over.read(&mut buf))
        .await
        .expect("the connection over the bound is closed before the handshake timeout");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "closed, not served: {read:?}"
    );
    assert!(refused() > before);
    for s in &mut idle {
        assert!(
            tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf))
                .await
                .is_err(),
            "an idle connection within the bound is still open"
        );
    }
    drop(idle);
    // The slots come back as the server notices the closed sockets.
    let mut ok = false;
    for _ in 0..50 {
        let id = net.pki.identity("bank-a").unwrap();
        if let Ok(ch) = sable_client::connect(&net.addr, &net.pki.ca_cert, &id.cert, &id.key).await
        {
            ok = codes(&ch).await[0] == Code::Ok;
            if ok {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "a real client connects once the idle sockets are gone");
    net.stop().await;
}

/// `GetTransaction` says whether execution applied a transaction: a disclosure's
/// verifier (any role that reads the chain, an auditor here) must not take the notes
/// of one included but skipped for notes on chain. One no block holds is `None`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_transaction_says_whether_execution_applied_it() {
    use sable_client::{node_client::NodeClient, wallet::Issuer};
    use sable_primitives::block::TxId;
    use sable_storage::ChainReader as _;

    let node = TestNode::start().await;
    // An issuance by an issuer the chain never authorised: included, then skipped.
    let skipped = common::issuance(&Issuer::random(), &sable_testkit::parties::Bank::new(), 10);
    let tip = node.node.chain().tip().unwrap().unwrap();
    let applied = sable_testkit::apply_block(&node.node, vec![], vec![skipped.to_bytes()]).await;
    assert!(
        applied.outcomes[0].rejection.is_some(),
        "the issuance is skipped"
    );

    let mut client = NodeClient::new(node.client("auditor-0").await);
    let found = client
        .transaction(&TxId::of(&skipped.to_bytes()))
        .await
        .unwrap()
        .unwrap();
    assert!(!found.applied);
    assert_eq!(found.height, tip.height + 1);
    assert_eq!(found.transaction, skipped);
    assert!(client.transaction(&TxId([9; 32])).await.unwrap().is_none());
    node.stop().await;
}
