//! BFT ordering with commonware simplex (pinned `=2026.10.0`), with commonware marshal
//! for block dissemination, in-order delivery of finalized blocks and catch-up.
//!
//! ```text
//! mempool → SableApp (propose / verify full blocks)
//!             ↑ wrapped by marshal::standard::Inline = simplex automaton + relay + reporter
//! simplex::Engine (p2p channels 0–2) → marshal actor (3: block broadcast, 4: backfill)
//!             → FinalizedSink → Node::apply_finalized (RocksDB, one batch) → ack
//! ```
//!
//! Validators speak over commonware's authenticated p2p transport; each validator's p2p
//! key is the Ed25519 key of its consortium certificate, so the peers consensus
//! authenticates are exactly the certified validators. Marshal redelivers every
//! finalized block after the last acknowledged one on restart, and
//! [`crate::node::Node::apply_finalized`] is idempotent, so a crash between commit and
//! acknowledgement loses nothing and applies nothing twice. A lagging or restarted
//! validator backfills finalized blocks from its peers.
//!
//! The stack is generic over the commonware runtime ([`Runtime`]) and takes its p2p
//! channels, peer manager and blocker as a [`P2p`] bundle: the daemon builds them from
//! the authenticated lookup network ([`lookup_p2p`]) on the tokio runtime, a simulation
//! from `commonware_p2p::simulated` on `commonware_runtime::deterministic`, where four
//! validators run in one seeded process. Everything that decides a block (its
//! timestamp, the proposer's wait, the order of `select!` branches) reads the runtime's
//! clock and draws no randomness of its own, so a seed replays.

use std::{net::SocketAddr, num::NonZeroUsize, sync::Arc, time::Duration};

use bytes::BufMut;
use commonware_actor::Feedback;
use commonware_broadcast::buffered;
use commonware_codec::{
    Buf, DecodeFixed as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write,
};
use commonware_consensus::{
    marshal::{
        self,
        core::Actor as MarshalActor,
        standard::{Inline, Standard},
        Start, Update,
    },
    simplex::{
        self, elector::RoundRobin, scheme::ed25519::Scheme as Ed25519Scheme,
        types::Context as SimplexContext,
    },
    types::{Epoch, FixedEpocher, Height, ViewDelta},
    BoundedBlock, Heightable, Reporter,
};
use commonware_cryptography::Digested;
use commonware_cryptography::{
    certificate::{ConstantProvider, Verifier as _},
    ed25519, sha256, ChaCha20Poly1305, Digestible, Sha256, Signer as _,
};
use commonware_p2p::{
    authenticated::lookup, Address, AddressableManager, Blocker, Receiver, Sender,
};
use commonware_parallel::Sequential;
use commonware_runtime::{
    buffer::paged::{self, CacheRef},
    Clock, Handle, Metrics, Quota, Spawner, Storage,
};
use commonware_storage::archive::immutable;
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{
    acknowledgement::Exact,
    ordered::{Map, Set},
    union, Acknowledgement as _, NZDuration, NZUsize, TryCollect as _, NZU32, NZU64,
};

use crate::{
    gossip::{self, PeerLiveness},
    node::Node,
};
use sable_pki::Fingerprint;
use sable_primitives::block::{Block, MAX_BLOCK_BYTES};

/// Digest consensus votes on: the block hash.
pub type D = sha256::Digest;
/// Signing scheme of votes and certificates.
pub type S = Ed25519Scheme;
/// Validator identity on the p2p network.
pub type PublicKey = ed25519::PublicKey;
/// What the consensus stack needs of a commonware runtime: the union of what simplex,
/// marshal, its resolver, buffered broadcast and the archives need. Both
/// `commonware_runtime::tokio::Context` and `commonware_runtime::deterministic::Context`
/// are one.
pub trait Runtime: Spawner + Clock + Storage + Metrics + rand::CryptoRng {}
impl<T: Spawner + Clock + Storage + Metrics + rand::CryptoRng> Runtime for T {}

/// The p2p side of one validator's consensus stack, built by whoever owns the network
/// (the daemon: [`lookup_p2p`]; a simulation: `commonware_p2p::simulated`). Every
/// channel is registered with the same quota; the numbers are fixed by the protocol.
pub struct P2p<Tx, Rx, M, B> {
    /// Channel 0: simplex votes.
    pub vote: (Tx, Rx),
    /// Channel 1: simplex certificates.
    pub cert: (Tx, Rx),
    /// Channel 2: simplex's resolver.
    pub resolver: (Tx, Rx),
    /// Channel 3: marshal's block broadcast.
    pub blocks: (Tx, Rx),
    /// Channel 4: marshal's backfill.
    pub backfill: (Tx, Rx),
    /// Channel 5: mempool gossip ([`gossip::CHANNEL`]).
    pub gossip: (Tx, Rx),
    /// Channel 6: settlement signatures
    /// ([`crate::settlement::exchange::CHANNEL`]), when this validator settles.
    pub settlement: Option<(Tx, Rx)>,
    /// Peer sets (the unrevoked validators) for the resolver, broadcast and the
    /// transport.
    pub manager: M,
    /// Blocks peers that misbehave (simplex and the resolver).
    pub blocker: B,
}

/// The p2p channel numbers consensus registers, in [`P2p`]'s field order.
pub const CHANNELS: [u64; 6] = [
    CH_VOTE,
    CH_CERT,
    CH_RESOLVER,
    CH_BLOCKS,
    CH_BACKFILL,
    gossip::CHANNEL,
];

/// Most transactions a leader puts in one proposal (the protocol allows
/// [`sable_primitives::block::MAX_BLOCK_TXS`]), when it proposes what background verification has
/// already checked. Every voter verifies the block's proofs before voting (normally
/// they are checked already), so this keeps a full block's verification (about 0.6 s on
/// one core) inside the certification timeout on modest hardware. Fewer, larger blocks
/// under load cost less per transaction than many small ones: each block is voted on,
/// stored and executed once.
pub const PROPOSAL_TXS: usize = 256;

/// Most transactions in a proposal of transactions not yet verified (no background
/// verification runs): the leader verifies these itself before proposing, inside the
/// leader timeout.
pub const UNVERIFIED_PROPOSAL_TXS: usize = 64;

const CH_VOTE: u64 = 0;
const CH_CERT: u64 = 1;
const CH_RESOLVER: u64 = 2;
const CH_BLOCKS: u64 = 3;
const CH_BACKFILL: u64 = 4;

/// Consensus errors.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// This node's key is not in the validator set.
    #[error("this node's key is not among the validators")]
    NotAValidator,
    /// Two validators share a key, or the set is empty.
    #[error("invalid validator set: {0}")]
    ValidatorSet(String),
    /// A key is not a valid Ed25519 key.
    #[error("invalid validator key: {0}")]
    Key(String),
    /// A storage archive could not be opened.
    #[error("consensus storage: {0}")]
    Storage(String),
}

/// A validator as the consensus layer sees it.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Ed25519 public key (the certificate's key).
    pub public_key: [u8; 32],
    /// Fingerprint of its certificate (a revoked certificate disconnects the peer).
    pub fingerprint: Fingerprint,
    /// Its certificate's `notAfter` (Unix seconds): an expired certificate disconnects
    /// the peer as a revoked one does.
    pub not_after: i64,
    /// P2P address.
    pub address: SocketAddr,
}

/// Consensus configuration.
#[derive(Clone)]
pub struct ConsensusConfig {
    /// Chain namespace (distinct per network: signatures never replay across chains).
    pub namespace: Vec<u8>,
    /// This validator's Ed25519 seed.
    pub seed: [u8; 32],
    /// Every validator, this one included.
    pub validators: Vec<Peer>,
    /// Address this validator listens on for p2p.
    pub p2p_listen: SocketAddr,
    /// How long a leader waits for transactions before proposing an empty block.
    pub empty_block_interval: Duration,
    /// Leader timeout (a silent leader's view ends after this).
    pub leader_timeout: Duration,
    /// Certification timeout (> leader timeout).
    pub certification_timeout: Duration,
    /// Prefix of this validator's consensus storage partitions. Empty (the daemon's
    /// default) keeps the names every existing `data_dir/consensus` has; validators
    /// sharing one runtime's storage (a simulation) each need their own.
    pub partition_prefix: String,
    /// How this validator misbehaves as a leader (tests under faults only).
    #[cfg(feature = "byzantine")]
    pub byzantine: Byzantine,
}

/// Everything but the seed, which never reaches a log.
impl std::fmt::Debug for ConsensusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusConfig")
            .field("namespace", &String::from_utf8_lossy(&self.namespace))
            .field("seed", &"<redacted>")
            .field("validators", &self.validators)
            .field("p2p_listen", &self.p2p_listen)
            .field("empty_block_interval", &self.empty_block_interval)
            .field("leader_timeout", &self.leader_timeout)
            .field("certification_timeout", &self.certification_timeout)
            .field("partition_prefix", &self.partition_prefix)
            .finish_non_exhaustive()
    }
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            namespace: b"sable-devnet".to_vec(),
            seed: [0; 32],
            validators: Vec::new(),
            p2p_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            empty_block_interval: Duration::from_millis(500),
            leader_timeout: Duration::from_millis(1000),
            certification_timeout: Duration::from_millis(2000),
            partition_prefix: String::new(),
            #[cfg(feature = "byzantine")]
            byzantine: Byzantine::default(),
        }
    }
}

// ---------------------------------------------------------------------------------
// The block as consensus sees it: our canonical encoding, length-prefixed.

/// A block as consensus carries it: the chain's [`Block`] under commonware's codec,
/// digest and height traits (implemented here, beside the engine that needs them, so
/// `sable-primitives` links no consensus crate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusBlock(pub Block);

impl std::ops::Deref for ConsensusBlock {
    type Target = Block;
    fn deref(&self) -> &Block {
        &self.0
    }
}

/// Codec bound for blocks (no configuration: the limits are protocol constants).
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockCodec;

impl Write for ConsensusBlock {
    fn write(&self, buf: &mut impl BufMut) {
        // Blocks are bounded by MAX_BLOCK_BYTES, far below u32::MAX.
        (self.encoded_len() as u32).write(buf);
        self.encode_to(&mut |piece| buf.put_slice(piece));
    }
}

impl EncodeSize for ConsensusBlock {
    fn encode_size(&self) -> usize {
        4 + self.encoded_len()
    }
}

impl Read for ConsensusBlock {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u32::read(buf)? as usize;
        if len > MAX_BLOCK_BYTES {
            return Err(CodecError::Invalid("block", "too large"));
        }
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        // Without a copy when the buffer is already contiguous bytes.
        let bytes = buf.copy_to_bytes(len);
        Block::from_bytes(&bytes)
            .map(ConsensusBlock)
            .map_err(|_| CodecError::Invalid("block", "malformed"))
    }
}

impl Digestible for ConsensusBlock {
    type Digest = D;
    fn digest(&self) -> D {
        sha256::Digest(self.hash().0)
    }
}

impl Heightable for ConsensusBlock {
    fn height(&self) -> Height {
        Height::new(self.height)
    }
}

impl commonware_consensus::Block for ConsensusBlock {
    fn parent(&self) -> D {
        sha256::Digest(self.parent.0)
    }
}

impl BoundedBlock for ConsensusBlock {
    fn max_encode_size(_: &()) -> usize {
        4 + MAX_BLOCK_BYTES
    }
}

mod app;
#[cfg(feature = "byzantine")]
mod byzantine;
mod evidence;
pub use app::{check_timestamp, Refusal, SableApp, MAX_CLOCK_AHEAD};
#[cfg(feature = "byzantine")]
pub use byzantine::{Byzantine, TWINS_SENT, TWINS_UNDECODED};

// ---------------------------------------------------------------------------------
// Finalized blocks → execution.

/// Receives finalized blocks from marshal, in height order.
#[derive(Clone)]
pub struct FinalizedSink(tokio::sync::mpsc::UnboundedSender<(Digested<ConsensusBlock>, Exact)>);

impl Reporter for FinalizedSink {
    type Activity = Update<ConsensusBlock>;
    fn report(&mut self, update: Update<ConsensusBlock>) -> Feedback {
        match update {
            Update::Block(block, ack) => {
                if self.0.send((block, ack)).is_ok() {
                    Feedback::Ok
                } else {
                    Feedback::Closed
                }
            }
            Update::Tip(..) => Feedback::Ok,
        }
    }
}

async fn execute_finalized<E: Spawner>(
    context: E,
    node: Arc<Node>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(Digested<ConsensusBlock>, Exact)>,
) {
    while let Some((block, ack)) = rx.recv().await {
        let n = node.clone();
        let b = block.inner().clone();
        let height = b.height;
        let span = tracing::info_span!("finalize", height, txs = b.transactions.len());
        let result = context
            .child("apply")
            .shared(true)
            .spawn(move |_| async move { span.in_scope(|| n.apply_finalized(&b)) })
            .await;
        match result {
            Ok(Ok(applied)) => {
                if applied.fresh {
                    tracing::info!(height, txs = applied.header.tx_count, hash = %applied.header.hash, "finalized");
                }
                ack.acknowledge();
            }
            // Never acknowledge a block we could not apply (marshal redelivers it after a
            // restart), and never go on voting on a state that no longer moves.
            Ok(Err(e)) => {
                node.halt(format!("cannot apply finalized block {height}: {e}"));
                return;
            }
            Err(e) => {
                node.halt(format!("the execution task for block {height} failed: {e}"));
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Wiring.

fn public_key(raw: &[u8; 32]) -> Result<PublicKey, ConsensusError> {
    PublicKey::decode_fixed(*raw).map_err(|e| ConsensusError::Key(e.to_string()))
}

/// Handles of the running consensus stack (await any to learn it stopped). The p2p
/// network is its owner's ([`lookup_p2p`] returns the daemon's handle).
pub struct Running {
    /// The simplex engine.
    pub engine: Handle<()>,
    /// The marshal actor.
    pub marshal: Handle<()>,
    /// Block broadcast.
    pub broadcast: Handle<()>,
    /// Validators heard from recently (mempool gossip heartbeats).
    pub liveness: Arc<PeerLiveness>,
    /// The settlement service, when this validator settles to Ethereum.
    pub settlement: Option<crate::settlement::SettlementHandle>,
}

/// Storage layout of one marshal archive.
fn archive<C>(
    prefix: &str,
    name: &str,
    page_cache: CacheRef,
    codec_config: C,
    io_buffer: NonZeroUsize,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 65_536,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 16_384,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache,
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 1 << 27,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NZU64!(4096),
        codec_config,
        replay_buffer: io_buffer,
        freezer_key_write_buffer: io_buffer,
        freezer_value_write_buffer: io_buffer,
        ordinal_write_buffer: io_buffer,
    }
}

/// A validator as the p2p layer sees it: key, address, and the certificate whose
/// revocation or expiry disconnects it.
#[derive(Clone, Debug)]
struct P2pPeer {
    key: PublicKey,
    address: Address,
    fingerprint: Fingerprint,
    not_after: i64,
}

/// The validators of `cfg` as p2p identities.
fn peers_of(cfg: &ConsensusConfig) -> Result<Vec<P2pPeer>, ConsensusError> {
    let peers: Vec<P2pPeer> = cfg
        .validators
        .iter()
        .map(|p| {
            Ok(P2pPeer {
                key: public_key(&p.public_key)?,
                address: Address::from(p.address),
                fingerprint: p.fingerprint,
                not_after: p.not_after,
            })
        })
        .collect::<Result<_, ConsensusError>>()?;
    if peers.is_empty() {
        return Err(ConsensusError::ValidatorSet("empty".into()));
    }
    Ok(peers)
}

/// The largest message consensus sends among `n` validators.
pub fn max_message_size(n: u32) -> u32 {
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<S, D>(n),
        marshal::max_payload_size::<Standard<ConsensusBlock>, S>(n, &()),
    ])
}

/// The [`P2p`] bundle of the authenticated lookup network ([`lookup_p2p`]).
pub type LookupP2p<E> = P2p<
    lookup::Sender<PublicKey, E>,
    lookup::Receiver<PublicKey>,
    lookup::Oracle<PublicKey>,
    lookup::Oracle<PublicKey>,
>;

/// The authenticated lookup network of the daemon: fixed addresses, Ed25519-authenticated
/// and encrypted, with every consensus channel registered (and settlement's when
/// `with_settlement`). Returns the bundle for [`start`] and the network's handle.
pub fn lookup_p2p<E>(
    context: E,
    cfg: &ConsensusConfig,
    with_settlement: bool,
) -> Result<(LookupP2p<E>, Handle<()>), ConsensusError>
where
    E: Spawner
        + Clock
        + rand::CryptoRng
        + commonware_runtime::Network
        + commonware_runtime::Resolver
        + Metrics,
{
    let signer = ed25519::PrivateKey::decode_fixed(cfg.seed)
        .map_err(|e| ConsensusError::Key(e.to_string()))?;
    let peers = peers_of(cfg)?;
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer,
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let mut config = lookup::Config::local(
        handshake,
        &union(&cfg.namespace, b"_P2P"),
        cfg.p2p_listen,
        NonZeroUsize::new(peers.len()).unwrap_or(NZUsize!(1)),
        max_message_size(peers.len() as u32),
        NZUsize!(4096),
    );
    config.tracked_peer_sets = NZUsize!(1);
    let (mut network, oracle) = lookup::Network::new(context.child("network"), config);
    let fast = Quota::per_second(NZU32!(4096));
    let p2p = P2p {
        vote: network.register(CH_VOTE, fast),
        cert: network.register(CH_CERT, fast),
        resolver: network.register(CH_RESOLVER, fast),
        blocks: network.register(CH_BLOCKS, fast),
        backfill: network.register(CH_BACKFILL, fast),
        gossip: network.register(gossip::CHANNEL, fast),
        settlement: with_settlement
            .then(|| network.register(crate::settlement::exchange::CHANNEL, fast)),
        manager: oracle.clone(),
        blocker: oracle,
    };
    Ok((p2p, network.start()))
}

/// Starts marshal and simplex for `node` inside the commonware runtime `context`, on
/// the channels of `p2p`, with mempool gossip on its channel and `settler` on the
/// settlement channel (when both are given; the settlement service runs on tokio).
pub async fn start<E, Tx, Rx, M, B>(
    context: E,
    node: Arc<Node>,
    cfg: ConsensusConfig,
    p2p: P2p<Tx, Rx, M, B>,
    settler: Option<crate::settlement::Settler>,
) -> Result<Running, ConsensusError>
where
    E: Runtime,
    Tx: Sender<PublicKey = PublicKey>,
    Rx: Receiver<PublicKey = PublicKey>,
    M: AddressableManager<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let signer = ed25519::PrivateKey::decode_fixed(cfg.seed)
        .map_err(|e| ConsensusError::Key(e.to_string()))?;
    let me = signer.public_key();
    let peers = peers_of(&cfg)?;
    let participants: Set<PublicKey> = peers
        .iter()
        .map(|p| p.key.clone())
        .try_collect()
        .map_err(|_| ConsensusError::ValidatorSet("duplicate keys".into()))?;
    let n = participants.len() as u32;
    let scheme = S::signer(
        &union(&cfg.namespace, b"_CONSENSUS"),
        participants.clone(),
        signer.clone(),
    )
    .ok_or(ConsensusError::NotAValidator)?;
    let P2p {
        vote: vote_net,
        cert: cert_net,
        resolver: resolver_net,
        blocks: block_net,
        backfill: backfill_net,
        gossip: (gossip_send, gossip_recv),
        settlement: settlement_net,
        manager,
        blocker,
    } = p2p;
    let reach = Arc::new(gossip::Reach::new(peers.len().saturating_sub(1)));
    {
        let (node, manager, me, reach) = (node.clone(), manager.clone(), me.clone(), reach.clone());
        drop(
            context
                .child("peers")
                .spawn(move |_| track_unrevoked(node, manager, peers, me, reach)),
        );
    }
    let liveness = gossip::start(
        context.child("gossip"),
        node.clone(),
        gossip_send,
        gossip_recv,
        n,
        reach,
    );
    let settlement = settler.zip(settlement_net).map(|(settler, (send, recv))| {
        settler.spawn(context.child("settlement_exchange"), send, recv)
    });

    let page_cache = CacheRef::new(paged::page_size(4096), NZUsize!(2048));
    let io_buffer = NZUsize!(64 * 1024);
    let epocher = FixedEpocher::new(NZU64!(1 << 62));
    let provider = ConstantProvider::<S, Epoch>::new(scheme.clone());
    let prefix = format!("{}marshal", cfg.partition_prefix);
    let prefix = prefix.as_str();

    let resolver = marshal::resolver::p2p::init(
        context.child("marshal_resolver"),
        marshal::resolver::p2p::Config {
            public_key: me.clone(),
            peer_provider: manager.clone(),
            blocker: blocker.clone(),
            mailbox_size: NZUsize!(1024),
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        backfill_net,
    );

    let (broadcast, buffer) = buffered::Engine::<_, PublicKey, ConsensusBlock, _, _>::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size: NZUsize!(1024),
            deque_size: 16,
            priority: false,
            codec_config: (),
            peer_provider: manager.clone(),
            strategy: Sequential,
        },
    );
    let broadcast_handle = broadcast.start(block_net);

    let finalizations = immutable::Archive::init(
        context.child("finalizations"),
        archive(
            prefix,
            "finalizations",
            page_cache.clone(),
            S::certificate_codec_config_unbounded(),
            io_buffer,
        ),
    )
    .await
    .map_err(|e| ConsensusError::Storage(e.to_string()))?;
    let blocks = immutable::Archive::init(
        context.child("blocks"),
        archive(prefix, "blocks", page_cache.clone(), (), io_buffer),
    )
    .await
    .map_err(|e| ConsensusError::Storage(e.to_string()))?;

    let genesis = ConsensusBlock(Block::genesis());
    let genesis_digest = genesis.digest();
    let (marshal_actor, marshal_mailbox, _floor) =
        MarshalActor::<_, Standard<ConsensusBlock>, _, _, _, _, _>::init(
            context.child("marshal"),
            finalizations,
            blocks,
            marshal::Config {
                provider,
                epocher: epocher.clone(),
                start: Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
                partition_prefix: prefix.to_string(),
                mailbox_size: NZUsize!(1024),
                view_retention: ViewDelta::new(64),
                prunable_items_per_section: NZU64!(256),
                page_cache: page_cache.clone(),
                replay_buffer: io_buffer,
                key_write_buffer: io_buffer,
                value_write_buffer: io_buffer,
                block_codec_config: (),
                max_repair: NZUsize!(64),
                max_pending_acks: NZUsize!(1),
                strategy: Sequential,
            },
        )
        .await;

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    {
        let node = node.clone();
        drop(
            context
                .child("execute")
                .spawn(move |ctx| execute_finalized(ctx, node, rx)),
        );
    }
    let marshal_handle = marshal_actor.start(FinalizedSink(tx), buffer, resolver);

    // A validator told to equivocate double-signs its notarizes towards the next
    // validator (tests under faults only).
    #[cfg(feature = "byzantine")]
    let vote_net = {
        let victim = participants
            .iter()
            .skip_while(|k| **k != me)
            .nth(1)
            .or_else(|| participants.iter().next())
            .cloned()
            .unwrap_or_else(|| me.clone());
        let leads: byzantine::Leads = {
            use commonware_consensus::simplex::elector::{Config as _, Elector as _};
            use commonware_utils::ordered::Quorum as _;
            let elector: commonware_consensus::simplex::elector::RoundRobinElector<S> =
                RoundRobin::<Sha256>::default().build(&participants);
            let mine = participants.index(&me);
            std::sync::Arc::new(move |round| Some(elector.elect(round, ())) == mine)
        };
        let sender = byzantine::Equivocating::new(
            vote_net.0,
            scheme.clone(),
            victim,
            leads,
            cfg.byzantine.equivocate,
        );
        (sender, vote_net.1)
    };
    let app = SableApp::new(node, cfg.empty_block_interval);
    #[cfg(feature = "byzantine")]
    let app = app.byzantine(cfg.byzantine.clone());
    let inline = Inline::new(context.child("inline"), app, marshal_mailbox, epocher);
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: inline.clone(),
            relay: inline.clone(),
            reporter: evidence::EvidenceReporter::new(inline, participants),
            track_historical_votes: false,
            strategy: Sequential,
            partition: format!("{}simplex-e0", cfg.partition_prefix),
            mailbox_size: NZUsize!(1024),
            epoch: Epoch::zero(),
            floor: simplex::Floor::Genesis(genesis_digest),
            replay_buffer: io_buffer,
            write_buffer: io_buffer,
            page_cache,
            leader_timeout: cfg.leader_timeout,
            certification_timeout: cfg.certification_timeout,
            timeout_retry: Duration::from_millis(500),
            view_retention: ViewDelta::new(64),
            skip: simplex::SkipPolicy::Enabled {
                timeout: cfg.certification_timeout * 2,
                budget: simplex::SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: Duration::from_millis(100),
            forward: simplex::ForwardPolicy::SilentVoters,
        },
    );
    let engine_handle = engine.start(vote_net, cert_net, resolver_net);
    Ok(Running {
        engine: engine_handle,
        marshal: marshal_handle,
        broadcast: broadcast_handle,
        liveness,
        settlement,
    })
}

/// The validators a node stays connected to at `now` (Unix seconds, on the node's
/// clock): those whose certificates are neither revoked nor expired.
fn admitted_peers(
    validators: &[P2pPeer],
    is_revoked: impl Fn(&Fingerprint) -> bool,
    now: i64,
) -> impl Iterator<Item = &P2pPeer> {
    validators
        .iter()
        .filter(move |p| !is_revoked(&p.fingerprint) && now <= p.not_after)
}

/// Keeps the p2p peer set to the validators whose certificates are neither revoked nor
/// expired ([`admitted_peers`]): at start, and after every applied block. A revoked or
/// expired validator is disconnected and refused from then on (its votes no longer
/// reach this node; with one gone of four, the other three still form a quorum), and
/// gossip's `reach` drops to the peers left.
async fn track_unrevoked<M: AddressableManager<PublicKey = PublicKey>>(
    node: Arc<Node>,
    mut oracle: M,
    validators: Vec<P2pPeer>,
    me: PublicKey,
    reach: Arc<gossip::Reach>,
) {
    let mut applied = node.subscribe();
    let mut index = 0u64;
    let mut current: Option<Vec<PublicKey>> = None;
    loop {
        let now = crate::runtime::epoch_secs(node.runtime().now());
        let allowed: Vec<(PublicKey, Address)> =
            admitted_peers(&validators, |fp| node.is_revoked(fp), now)
                .map(|p| (p.key.clone(), p.address.clone()))
                .collect();
        let keys: Vec<PublicKey> = allowed.iter().map(|(k, _)| k.clone()).collect();
        if current.as_ref() != Some(&keys) {
            if current.is_some() {
                tracing::warn!(
                    allowed = keys.len(),
                    of = validators.len(),
                    "validator certificate revoked, reinstated or expired; p2p peer set updated"
                );
            }
            // Keys are distinct (checked at start), so this cannot fail.
            if let Ok(addresses) = allowed.into_iter().try_collect::<Map<_, _>>() {
                let _ = oracle.track(index, addresses);
                index += 1;
            }
            reach.set(keys.iter().filter(|k| **k != me).count());
            current = Some(keys);
        }
        match applied.recv().await {
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use commonware_codec::{Decode as _, Encode as _};

    use super::*;
    fn block() -> ConsensusBlock {
        ConsensusBlock(Block::sample())
    }

    #[test]
    fn revoked_and_expired_validators_leave_the_peer_set() {
        let peer = |i: u8, not_after: i64| P2pPeer {
            key: ed25519::PrivateKey::from_seed(u64::from(i)).public_key(),
            address: Address::from(SocketAddr::from(([127, 0, 0, 1], 9000 + u16::from(i)))),
            fingerprint: [i; 32],
            not_after,
        };
        let set = [peer(0, 100), peer(1, 100), peer(2, 50), peer(3, 100)];
        let ids = |now: i64, revoked: &[u8]| -> Vec<u8> {
            admitted_peers(&set, |fp| revoked.contains(&fp[0]), now)
                .map(|p| p.fingerprint[0])
                .collect()
        };
        assert_eq!(ids(50, &[]), [0, 1, 2, 3]);
        // Its last valid second is `notAfter`; the one after, it is gone.
        assert_eq!(ids(51, &[]), [0, 1, 3]);
        assert_eq!(ids(10, &[1]), [0, 2, 3]);
        assert_eq!(ids(101, &[]), Vec::<u8>::new());
    }

    #[test]
    fn the_consensus_codec_is_the_length_prefixed_canonical_encoding() {
        let b = block();
        let encoded = b.encode();
        let canonical = b.to_bytes();
        assert_eq!(encoded.len(), b.encode_size());
        assert_eq!(encoded[..4], (canonical.len() as u32).encode()[..]);
        assert_eq!(encoded[4..], canonical[..]);
        assert_eq!(ConsensusBlock::decode_cfg(encoded.clone(), &()).unwrap(), b);
        assert_eq!(b.digest(), sha256::Digest(b.hash().0));
    }

    #[test]
    fn the_consensus_codec_refuses_truncated_oversized_and_malformed_blocks() {
        let encoded = block().encode();
        for n in 0..encoded.len() {
            assert!(
                ConsensusBlock::decode_cfg(bytes::Bytes::copy_from_slice(&encoded[..n]), &())
                    .is_err(),
                "prefix {n}"
            );
        }
        let mut oversized = encoded.to_vec();
        oversized[..4].copy_from_slice(&(MAX_BLOCK_BYTES as u32 + 1).encode());
        assert!(ConsensusBlock::decode_cfg(bytes::Bytes::from(oversized), &()).is_err());
        let mut malformed = encoded.to_vec();
        malformed[4] = 9; // an unknown block version
        assert!(ConsensusBlock::decode_cfg(bytes::Bytes::from(malformed), &()).is_err());
    }
}
