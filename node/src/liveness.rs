//! What the node reports about consensus (`Chain.GetStatus`): a seam between the p2p
//! layer, which knows its live peers, and the API, which reports them, so neither
//! imports the other.

/// What the node reports about consensus in `Chain.GetStatus`; consensus supplies a live
/// implementation, a node without consensus uses [`StaticStatus`].
pub trait StatusSource: Send + Sync + 'static {
    /// Number of validators in the current set.
    fn validators(&self) -> u32;
    /// Number of validator peers currently connected.
    fn connected_peers(&self) -> u32;
}

/// Fixed consensus figures (a node without consensus, tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StaticStatus {
    /// Validators in the set.
    pub validators: u32,
    /// Connected peers.
    pub connected_peers: u32,
}

impl StatusSource for StaticStatus {
    fn validators(&self) -> u32 {
        self.validators
    }
    fn connected_peers(&self) -> u32 {
        self.connected_peers
    }
}
