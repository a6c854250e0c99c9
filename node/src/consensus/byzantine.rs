//! A leader that misbehaves on purpose, for tests under faults. Compiled only with the
//! `byzantine` feature, which the validator's own build never enables (a layout test
//! checks): the test kit's simulation turns it on to run Byzantine leaders among honest
//! validators.

use std::time::Duration;

use sable_primitives::block::Block;

/// Ways a leader tampers with each block it proposes, after building it honestly.
#[derive(Clone, Debug, Default)]
pub struct Byzantine {
    /// Added to every proposal's timestamp.
    pub clock_ahead: Duration,
    /// Transactions put in every proposal as they are, unchecked (junk proofs, say).
    pub stuffing: Vec<Vec<u8>>,
    /// Operator commands put in every proposal as they are (forged copies, say).
    pub admin_stuffing: Vec<Vec<u8>>,
    /// Claims a state root its execution did not reach.
    pub wrong_state: bool,
    /// Sends a conflicting notarize after each of its own ([`Equivocating`]).
    pub equivocate: bool,
}

impl Byzantine {
    /// Applies the faults to a block about to be proposed.
    pub fn tamper(&self, block: &mut Block) {
        block.timestamp_ms = block
            .timestamp_ms
            .saturating_add(self.clock_ahead.as_millis() as u64);
        // Room for the stuffing within the block's cap, so the codec takes it and only
        // the voters' checks can refuse it.
        block
            .transactions
            .truncate(sable_primitives::block::MAX_BLOCK_TXS.saturating_sub(self.stuffing.len()));
        block.transactions.extend(self.stuffing.iter().cloned());
        block.admin.extend(self.admin_stuffing.iter().cloned());
        if self.wrong_state {
            block.state.root[0] ^= 1;
        }
    }
}

/// Whether this validator leads a round (its elector's answer).
pub type Leads = std::sync::Arc<dyn Fn(commonware_consensus::types::Round) -> bool + Send + Sync>;

/// The vote channel of a validator that equivocates: in every round it leads, its
/// proposal's notarize goes to one victim twice, first a conflicting twin (same round
/// and parent, another payload) and then the genuine one with everyone's. Links
/// deliver in order, so the victim takes the twin as the round's proposal and then
/// holds two different notarizes of the round from it: the evidence simplex reports.
/// (Its own proposals are where delivery order alone makes the evidence certain: a
/// twin of a vote for someone else's proposal may reach the victim after that proposal
/// and be dropped as merely conflicting, with the sender blocked.)
#[derive(Clone)]
pub struct Equivocating<T> {
    inner: T,
    scheme: super::S,
    victim: super::PublicKey,
    leads: Leads,
    on: bool,
}

impl<T> Equivocating<T> {
    /// `inner`, equivocating towards `victim` in the rounds it `leads`, when `on`.
    pub fn new(
        inner: T,
        scheme: super::S,
        victim: super::PublicKey,
        leads: Leads,
        on: bool,
    ) -> Self {
        Equivocating {
            inner,
            scheme,
            victim,
            leads,
            on,
        }
    }
}

/// Conflicting notarizes sent by equivocating validators of this process (tests read
/// it to know the fault was injected).
pub static TWINS_SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Votes an equivocating validator could not decode (so sent no twin for).
pub static TWINS_UNDECODED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The conflicting twin of `message` when it is a notarize of a round this validator
/// `leads` (its proposal).
fn twin(message: commonware_runtime::IoBufs, scheme: &super::S, leads: &Leads) -> Option<Vec<u8>> {
    use commonware_codec::{Decode as _, Encode as _};
    use commonware_consensus::simplex::types::{Notarize, Proposal, Vote};
    use commonware_cryptography::Hasher as _;
    let n = match Vote::<super::S, super::D>::decode_cfg(message, &()) {
        Ok(Vote::Notarize(n)) => n,
        Ok(_) => return None,
        Err(_) => {
            TWINS_UNDECODED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return None;
        }
    };
    let p = &n.proposal;
    if !leads(p.round) {
        return None;
    }
    let payload = commonware_cryptography::Sha256::hash(&[p.payload.as_ref(), b"twin"]);
    let other = Proposal::new(p.round, p.parent, payload);
    let twin = Notarize::<super::S, super::D>::sign(scheme, other)?;
    Some(Vote::<super::S, super::D>::Notarize(twin).encode().to_vec())
}

/// [`Equivocating`] after its recipients were checked.
pub struct EquivocatingChecked<'a, T: commonware_p2p::LimitedSender + 'a> {
    checked: T::Checked<'a>,
    twin_sender: Option<(T, &'a super::S, super::PublicKey, Leads)>,
}

impl<T> commonware_p2p::LimitedSender for Equivocating<T>
where
    T: commonware_p2p::LimitedSender<PublicKey = super::PublicKey>,
{
    type PublicKey = super::PublicKey;
    type Checked<'a>
        = EquivocatingChecked<'a, T>
    where
        Self: 'a;

    fn check(
        &mut self,
        recipients: commonware_p2p::Recipients<Self::PublicKey>,
    ) -> Result<Self::Checked<'_>, std::time::SystemTime> {
        let twin_sender = self.on.then(|| {
            (
                self.inner.clone(),
                &self.scheme,
                self.victim.clone(),
                self.leads.clone(),
            )
        });
        let checked = self.inner.check(recipients)?;
        Ok(EquivocatingChecked {
            checked,
            twin_sender,
        })
    }
}

impl<'a, T> commonware_p2p::CheckedSender for EquivocatingChecked<'a, T>
where
    T: commonware_p2p::LimitedSender<PublicKey = super::PublicKey>,
{
    type PublicKey = super::PublicKey;

    fn recipients(&self) -> Vec<Self::PublicKey> {
        self.checked.recipients()
    }

    fn send(
        self,
        message: impl Into<commonware_runtime::IoBufs> + Send,
        priority: bool,
    ) -> commonware_actor::Unreliable<commonware_actor::Feedback> {
        let message: commonware_runtime::IoBufs = message.into();
        let Some((mut sender, scheme, victim, leads)) = self.twin_sender else {
            return self.checked.send(message, priority);
        };
        // The twin first, so the victim takes it for the round's proposal.
        if let Some(twin) = twin(message.clone(), scheme, &leads) {
            use commonware_p2p::Sender as _;
            let sent = sender.send(commonware_p2p::Recipients::One(victim), twin, priority);
            if !sent.is_empty() {
                TWINS_SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        self.checked.send(message, priority)
    }
}
