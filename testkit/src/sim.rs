//! Validators in one test process on commonware's deterministic runtime, linked by
//! `commonware_p2p::simulated` (latency, jitter, loss, partitions), all seeded: the same
//! seed replays the same run, message for message.
//!
//! Each validator is the real stack ([`sable_node::consensus::start`] with mempool
//! gossip, a [`Node`] over RocksDB in a directory of the caller's) with the verifier
//! inline ([`Verifier::inline`]) and the node's background work on the simulated runtime
//! ([`RtOf`]). Consensus journals live in the runtime's in-memory storage, one partition
//! prefix per validator; RocksDB lives on disk, so it survives a crash of the
//! validator's tasks ([`Cluster::crash`], [`Cluster::start`] again).
//!
//! Inputs that must be identical between two runs (keys, the PKI, the verifying key,
//! transactions: proofs are randomized) are built once, outside the runner
//! ([`Fixture`]). Nothing that holds a runtime context may outlive the run: a run returns
//! plain data ([`Record`]).

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use alloy::primitives::{Address, B256};
use commonware_codec::DecodeFixed as _;
use commonware_p2p::simulated::{self, Link};
use commonware_runtime::{deterministic, Clock as _, Handle, Quota, Spawner as _, Supervisor as _};
use commonware_utils::{NZUsize, NZU32};
use sable_circuits::{
    circuit::VerifyingKey,
    constants::MAX_EXPIRY_DELTA,
    keys::RegulatorPublicKey,
    transaction::{ChainId, TxHeader},
};
use sable_client::wallet::{approved, OperatorKey};
use sable_execution::{AllowAll, ChainParams, Verifier};
use sable_l1::{Domain, SettledState, SettlementKey};
use sable_node::{
    config::Publication,
    consensus::{self, Byzantine, ConsensusConfig, P2p, Peer, PublicKey, CHANNELS},
    mempool::MempoolLimits,
    node::Node,
    runtime::RtOf,
    settlement::{
        cosign::{BatchSpec, Cosigned, Cosigner},
        exchange, genesis_hash,
        plan::BatchRule,
    },
};
use sable_pki::{generate_dev_pki, load_certificate_pem, load_key_seed, DevPkiSpec};
use sable_primitives::{
    admin::{AdminCommand, AdminOp, SignedAdminCommand},
    block::BlockHeader,
};
use sable_storage::{ChainReader as _, Store};

/// Where simulated time starts (2026-01-01T00:00:00Z): inside the dev certificates'
/// validity, and the same in every run.
pub fn start_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// A runner on `seed`, starting at [`start_time`], that fails a run lasting longer than
/// `timeout` of simulated time.
pub fn runner(seed: u64, timeout: Duration) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_start_time(start_time())
            .with_timeout(Some(timeout)),
    )
}

/// A link with `latency` on average, `jitter` its standard deviation, delivering each
/// message with probability `success` (in [0, 1]).
pub fn link(latency_ms: u64, jitter_ms: u64, success: f64) -> Link {
    Link {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(jitter_ms),
        success_rate: commonware_utils::Probability::from_f64(success)
            .expect("a success rate in [0, 1]"),
    }
}

/// What every run of a network shares: the dev PKI, the validators' keys, the chain's
/// parameters and the verifying key.
pub struct Fixture {
    _pki: tempfile::TempDir,
    /// The chain's parameters (consortium CA, regulator key).
    pub params: Arc<ChainParams>,
    /// The verifying key, built once.
    pub vk: Arc<VerifyingKey>,
    /// The validators as consensus sees them.
    pub peers: Vec<Peer>,
    /// The validators' Ed25519 seeds.
    pub seeds: Vec<[u8; 32]>,
    /// The validators' p2p keys.
    pub keys: Vec<PublicKey>,
    /// The validators' settlement keys (the contract's validator set, in order).
    pub settlement_keys: Vec<SettlementKey>,
    operators: Vec<OperatorKey>,
}

impl Fixture {
    /// A network of `n` validators with a fresh dev PKI, the simulated chain's regulator
    /// key and `vk`.
    pub fn new(n: usize, vk: Arc<VerifyingKey>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let spec = DevPkiSpec {
            validators: n,
            operators: SIM_OPERATORS,
            // Seeded runs replay byte for byte: Ed25519 signatures are deterministic,
            // ECDSA ones are not.
            ed25519_participants: true,
            ..DevPkiSpec::default()
        };
        let pki = generate_dev_pki(dir.path(), &spec).unwrap();
        let regulator = crate::genesis::test_regulator(SIM_REGULATOR_SEED).public_key();
        let params = crate::genesis::chain_params(&pki, NAMESPACE, regulator, SIM_THRESHOLD);
        let ca = &params.ca;
        let (mut peers, mut seeds, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let id = pki.identity(&format!("validator-{i}")).unwrap();
            let who = ca.verify(&load_certificate_pem(&id.cert).unwrap()).unwrap();
            peers.push(Peer {
                public_key: who.public_key.ed25519().unwrap(),
                fingerprint: who.fingerprint,
                not_after: who.not_after,
                // Unused: the simulated network ignores addresses.
                address: std::net::SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16)),
            });
            seeds.push(load_key_seed(&id.key).unwrap());
            keys.push(PublicKey::decode_fixed(who.public_key.ed25519().unwrap()).unwrap());
        }
        let operators = crate::genesis::operator_keys(&pki);
        Fixture {
            _pki: dir,
            params: Arc::new(params),
            vk,
            peers,
            seeds,
            keys,
            settlement_keys: (0..n).map(|_| SettlementKey::random()).collect(),
            operators,
        }
    }

    /// The contract's validator set: the validators' settlement addresses.
    pub fn settlement_set(&self) -> Vec<Address> {
        self.settlement_keys
            .iter()
            .map(SettlementKey::address)
            .collect()
    }

    /// The regulator key every proof is made for.
    pub fn regulator(&self) -> RegulatorPublicKey {
        self.params.regulator
    }

    /// `op` approved by the first M operators (deterministic: Ed25519).
    pub fn admin(&self, nonce: u64, op: AdminOp) -> SignedAdminCommand {
        self.admin_by(nonce, op, &(0..SIM_THRESHOLD).collect::<Vec<_>>())
    }

    /// `op` approved by operators `who` (indices), however many.
    pub fn admin_by(&self, nonce: u64, op: AdminOp, who: &[usize]) -> SignedAdminCommand {
        let by: Vec<OperatorKey> = who.iter().map(|&i| self.operators[i].clone()).collect();
        approved(&AdminCommand { nonce, op }, &self.params.chain, &by).unwrap()
    }
}

/// How the validators are configured and linked.
#[derive(Clone)]
pub struct NetConfig {
    /// The link between every ordered pair of validators.
    pub link: Link,
    /// How long a leader waits for transactions before proposing an empty block.
    pub empty_block_interval: Duration,
    /// Simplex's leader timeout.
    pub leader_timeout: Duration,
    /// Simplex's certification timeout.
    pub certification_timeout: Duration,
    /// Whether and how the validators co-sign settlement batches.
    pub cosigning: Option<Cosigning>,
    /// Validators that misbehave as leaders, by index.
    pub byzantine: Vec<(usize, Byzantine)>,
    /// Validators given chain parameters other than the fixture's, by index.
    pub params: Vec<(usize, Arc<ChainParams>)>,
}

/// The chain's namespace in simulation.
pub const NAMESPACE: &str = "sable-sim";
/// Operators in simulation, all governing.
pub const SIM_OPERATORS: usize = 3;
/// Approvals an operator command needs in simulation.
pub const SIM_THRESHOLD: usize = 2;

/// A transaction header for the simulated chain, valid from its first block to the
/// furthest expiry the chain allows.
pub fn header() -> TxHeader {
    TxHeader {
        chain: ChainId::from_namespace(NAMESPACE),
        expiry_height: MAX_EXPIRY_DELTA,
        regulator: crate::genesis::test_regulator(SIM_REGULATOR_SEED).public_key(),
    }
}

/// The simulated chain's regulator key ([`crate::genesis::test_regulator`]'s seed).
pub const SIM_REGULATOR_SEED: u8 = 3;

/// Co-signing settlement batches in simulation: each validator runs its
/// [`Cosigner`] over the simulated links on channel [`exchange::CHANNEL`], against a
/// contract state the harness holds (the genesis state: nothing settled yet) instead of
/// an L1, every [`Cosigning::poll`]; the outcome of its latest round is its
/// [`CosignView`].
#[derive(Clone, Debug)]
pub struct Cosigning {
    /// Each validator's batch size in blocks. A validator whose size differs from the
    /// others' builds another batch: its signature is over another digest.
    pub batch_blocks: Vec<u64>,
    /// How often a validator runs a round.
    pub poll: Duration,
}

impl Cosigning {
    /// The contract's state before the first batch, and its EIP-712 domain.
    pub fn genesis() -> (SettledState, Domain) {
        (
            SettledState {
                validator_set_id: 1,
                last_batch: 0,
                last_block: 0,
                deposits_consumed: 0,
                last_batch_hash: genesis_hash(NAMESPACE),
                commitment_root: B256::ZERO,
                nullifier_root: B256::ZERO,
            },
            Domain {
                chain_id: 31_337,
                contract: Address::repeat_byte(0x5a),
            },
        )
    }
}

/// One validator's latest co-signing round: what its [`Cosigner`] reported, or why the
/// round failed.
pub type CosignView = Result<Cosigned, String>;

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            link: link(10, 1, 1.0),
            empty_block_interval: Duration::from_millis(200),
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            cosigning: None,
            byzantine: Vec::new(),
            params: Vec::new(),
        }
    }
}

/// The validators of one run.
pub struct Cluster {
    context: deterministic::Context,
    fixture: &'static Fixture,
    config: NetConfig,
    oracle: simulated::Oracle<PublicKey, deterministic::Context>,
    dirs: Vec<PathBuf>,
    nodes: Vec<Option<Arc<Node>>>,
    handles: Vec<Option<Handle<()>>>,
    starts: Vec<u32>,
    cosigned: Arc<std::sync::Mutex<Vec<CosignView>>>,
}

impl Cluster {
    /// The simulated network of `fixture`'s validators, each over RocksDB in its
    /// directory of `dirs`, linked as `config` says; none started.
    pub async fn new(
        context: &deterministic::Context,
        fixture: &'static Fixture,
        dirs: Vec<PathBuf>,
        config: NetConfig,
    ) -> Self {
        let n = fixture.keys.len();
        assert_eq!(dirs.len(), n, "one directory per validator");
        let (network, oracle) = simulated::Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: consensus::max_message_size(n as u32),
                max_peers_per_set: NZUsize!(n),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            fixture.keys.clone(),
        )
        .await;
        drop(network.start());
        let cluster = Cluster {
            context: context.child("cluster"),
            fixture,
            config,
            oracle,
            dirs,
            nodes: (0..n).map(|_| None).collect(),
            handles: (0..n).map(|_| None).collect(),
            starts: vec![0; n],
            cosigned: Arc::new(std::sync::Mutex::new(vec![Ok(Cosigned::Open); n])),
        };
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    cluster
                        .set_link(a, b, Some(cluster.config.link.clone()))
                        .await;
                }
            }
        }
        cluster
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The runtime context the cluster runs under (for sleeping, the clock).
    pub fn context(&self) -> &deterministic::Context {
        &self.context
    }

    /// Sets (replacing any there) or, with `None`, removes the link from validator `a`
    /// to `b`.
    pub async fn set_link(&self, a: usize, b: usize, link: Option<Link>) {
        let (ka, kb) = (self.fixture.keys[a].clone(), self.fixture.keys[b].clone());
        // Absent already is fine: a partition of what is cut, a heal of what was not.
        drop(self.oracle.remove_link(ka.clone(), kb.clone()).await);
        if let Some(l) = link {
            self.oracle.add_link(ka, kb, l).await.unwrap();
        }
    }

    /// Cuts every link between `side` and the rest, both ways.
    pub async fn partition(&self, side: &[usize]) {
        for a in 0..self.len() {
            for b in 0..self.len() {
                if a != b && side.contains(&a) != side.contains(&b) {
                    self.set_link(a, b, None).await;
                }
            }
        }
    }

    /// Restores every link to the configured one.
    pub async fn heal(&self) {
        for a in 0..self.len() {
            for b in 0..self.len() {
                if a != b {
                    self.set_link(a, b, Some(self.config.link.clone())).await;
                }
            }
        }
    }

    /// Starts every validator.
    pub async fn start_all(&mut self) {
        for i in 0..self.len() {
            self.start(i).await;
        }
    }

    /// Starts validator `i` (again, after [`Cluster::crash`]) from its RocksDB directory
    /// and its consensus journals, on freshly registered channels.
    pub async fn start(&mut self, i: usize) {
        assert!(self.handles[i].is_none(), "validator {i} is running");
        let f = self.fixture;
        let control = self.oracle.control(f.keys[i].clone());
        let quota = Quota::per_second(NZU32!(4096));
        let mut channels = Vec::new();
        for ch in CHANNELS {
            channels.push(control.register(ch, quota).await.unwrap());
        }
        let cosign_net = match &self.config.cosigning {
            Some(_) => Some(control.register(exchange::CHANNEL, quota).await.unwrap()),
            None => None,
        };
        let mut channels = channels.into_iter();
        let mut next = || channels.next().unwrap();
        let p2p = P2p {
            vote: next(),
            cert: next(),
            resolver: next(),
            blocks: next(),
            backfill: next(),
            gossip: next(),
            settlement: None,
            manager: self.oracle.socket_manager(),
            blocker: control,
        };
        let cosigning = self
            .config
            .cosigning
            .clone()
            .zip(cosign_net)
            .map(|(c, net)| {
                let spec = BatchSpec {
                    rule: BatchRule::new(c.batch_blocks[i], u64::MAX),
                    publication: Publication::Calldata,
                    genesis: genesis_hash(NAMESPACE),
                };
                (spec, c.poll, net, self.cosigned.clone())
            });
        let cfg = ConsensusConfig {
            namespace: NAMESPACE.as_bytes().to_vec(),
            seed: f.seeds[i],
            validators: f.peers.clone(),
            empty_block_interval: self.config.empty_block_interval,
            leader_timeout: self.config.leader_timeout,
            certification_timeout: self.config.certification_timeout,
            partition_prefix: format!("v{i}-"),
            byzantine: self
                .config
                .byzantine
                .iter()
                .find(|(b, _)| *b == i)
                .map(|(_, f)| f.clone())
                .unwrap_or_default(),
            ..ConsensusConfig::default()
        };
        let params = self
            .config
            .params
            .iter()
            .find(|(b, _)| *b == i)
            .map_or_else(|| f.params.clone(), |(_, p)| p.clone());
        let dir = self.dirs[i].clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = self
            .context
            .child("validator")
            .with_attribute("index", i)
            .with_attribute("start", self.starts[i])
            .spawn(move |ctx| async move {
                let store = Arc::new(Store::open(&dir).unwrap());
                let node = Node::with_runtime(
                    store,
                    params,
                    Arc::new(AllowAll),
                    Verifier::inline(f.vk.clone(), Arc::new(())),
                    MempoolLimits::default(),
                    Arc::new(RtOf(ctx.child("node"))),
                )
                .unwrap();
                node.start_preverifier(Duration::from_millis(20), 256);
                let running =
                    consensus::start(ctx.child("consensus"), node.clone(), cfg, p2p, None)
                        .await
                        .unwrap();
                if let Some((spec, poll, (send, recv), views)) = cosigning {
                    let (cosigner, _receiving) = Cosigner::start(
                        ctx.child("cosigner"),
                        node.clone(),
                        f.settlement_keys[i].clone(),
                        spec,
                        send,
                        recv,
                    );
                    drop(ctx.child("cosigning").spawn(move |ctx| {
                        cosign_loop(ctx, cosigner, f.settlement_set(), poll, views, i)
                    }));
                }
                let _ = tx.send(node);
                // This task is the validator: its tasks stop when it is aborted.
                let _ = running.engine.await;
            });
        self.starts[i] += 1;
        self.handles[i] = Some(handle);
        self.nodes[i] = Some(rx.await.expect("validator started"));
    }

    /// Stops validator `i` at once, as a crash would (nothing flushed; RocksDB keeps what
    /// it committed, the journals what they synced), and waits until its tasks are gone.
    pub async fn crash(&mut self, i: usize) {
        self.nodes[i] = None;
        if let Some(h) = self.handles[i].take() {
            h.abort();
            let _ = h.await;
        }
        // Aborted descendants drop their state (and the RocksDB lock with it).
        self.context.sleep(Duration::from_millis(100)).await;
    }

    /// Validator `i`'s latest co-signing round ([`NetConfig::cosigning`]).
    pub fn cosigned(&self, i: usize) -> CosignView {
        self.cosigned.lock().unwrap()[i].clone()
    }

    /// Validator `i`'s node (panics when it is not running).
    pub fn node(&self, i: usize) -> &Arc<Node> {
        self.nodes[i]
            .as_ref()
            .unwrap_or_else(|| panic!("validator {i} is not running"))
    }

    /// The running validators' indices.
    pub fn running(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|i| self.nodes[*i].is_some())
            .collect()
    }

    /// Executed height of each running validator.
    pub fn heights(&self) -> Vec<u64> {
        self.running()
            .into_iter()
            .map(|i| self.node(i).executed_height())
            .collect()
    }

    /// Waits (in simulated time, polling every 50 ms) until `done` holds; panics naming
    /// `what` after `timeout`.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) {
        let deadline = self.context.current() + timeout;
        while !done(self) {
            assert!(
                self.context.current() < deadline,
                "timed out waiting until {what} (heights {:?})",
                self.heights()
            );
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every running validator has executed `height`.
    pub async fn wait_height(&self, height: u64, timeout: Duration) {
        self.wait_until(&format!("every validator at {height}"), timeout, |c| {
            c.heights().iter().all(|h| *h >= height)
        })
        .await;
    }

    /// Validator `i`'s headers from height 1 to `upto`.
    pub fn headers(&self, i: usize, upto: u64) -> Vec<BlockHeader> {
        let store = self.node(i).chain();
        (1..=upto)
            .map(|h| {
                store
                    .header(h)
                    .unwrap()
                    .unwrap_or_else(|| panic!("validator {i}: no header {h}"))
            })
            .collect()
    }

    /// Asserts every running validator has the same headers (hashes and state roots)
    /// at every height from 1 to `upto`; returns them.
    pub fn assert_agree(&self, upto: u64) -> Vec<BlockHeader> {
        let running = self.running();
        let first = self.headers(running[0], upto);
        for &i in &running[1..] {
            assert_eq!(
                self.headers(i, upto),
                first,
                "validator {i} disagrees with validator {}",
                running[0]
            );
        }
        first
    }

    /// What a run leaves to compare with another: every running validator's headers up
    /// to `upto`, and the runtime's audit of everything that happened (task polls, RNG
    /// draws, storage and network operations).
    pub fn record(&self, upto: u64) -> Record {
        Record {
            headers: self
                .running()
                .into_iter()
                .map(|i| self.headers(i, upto))
                .collect(),
            audit: self.context.auditor().state(),
        }
    }
}

/// Runs validator `i`'s co-signing rounds against the genesis contract state every
/// `poll`, keeping the latest outcome in `views[i]`, until its tasks stop.
async fn cosign_loop<S: commonware_p2p::Sender>(
    ctx: deterministic::Context,
    mut cosigner: Cosigner<S>,
    validators: Vec<Address>,
    poll: Duration,
    views: Arc<std::sync::Mutex<Vec<CosignView>>>,
    i: usize,
) {
    let (state, domain) = Cosigning::genesis();
    cosigner.observe(&validators, &state);
    loop {
        let view = cosigner
            .round(&state, &validators, domain)
            .await
            .map_err(|e| e.to_string());
        views.lock().unwrap()[i] = view;
        ctx.sleep(poll).await;
    }
}

/// The outcome of one run, free of runtime handles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Each validator's headers (block hash, anchor, registry and nullifier roots,
    /// timestamp) from height 1.
    pub headers: Vec<Vec<BlockHeader>>,
    /// The deterministic runtime's auditor state at the end of the run.
    pub audit: String,
}
