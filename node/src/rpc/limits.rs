//! Bounds on what a client can hold before it has authenticated (review M4): TLS
//! handshakes in progress, in total and per IP address. A connection over either bound
//! is closed at once, before any TLS work, and counted in
//! `sable_rpc_refused_connections{reason}`; warnings about refused and failed
//! handshakes are rate-limited ([`LogBudget`]), so a flood costs neither file
//! descriptors nor the log.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;

/// Most TLS handshakes in progress at once.
pub const MAX_HANDSHAKES: usize = 256;
/// Most TLS handshakes in progress from one IP address.
pub const MAX_HANDSHAKES_PER_IP: usize = 16;

/// Why a connection was closed before its handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// [`MAX_HANDSHAKES`] are in progress.
    Busy,
    /// Its address has [`MAX_HANDSHAKES_PER_IP`] in progress.
    PerAddress,
}

impl Refused {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Busy => "handshakes_busy",
            Refused::PerAddress => "handshakes_per_address",
        }
    }
}

#[derive(Debug)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Handshakes in progress, bounded in total and per address.
#[derive(Clone, Debug)]
pub struct HandshakeLimits {
    max_total: usize,
    max_per_ip: usize,
    counts: Arc<Mutex<Counts>>,
}

/// A handshake slot, given back when dropped.
#[derive(Debug)]
pub struct HandshakeSlot {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut c = self.counts.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self::new(MAX_HANDSHAKES, MAX_HANDSHAKES_PER_IP)
    }
}

impl HandshakeLimits {
    /// At most `max_total` handshakes at once, `max_per_ip` from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        HandshakeLimits {
            max_total,
            max_per_ip,
            counts: Arc::new(Mutex::new(Counts {
                total: 0,
                per_ip: HashMap::new(),
            })),
        }
    }

    /// A slot for a handshake from `ip`, or why there is none.
    pub fn admit(&self, ip: IpAddr) -> Result<HandshakeSlot, Refused> {
        let mut c = self.counts.lock();
        if c.total >= self.max_total {
            return Err(Refused::Busy);
        }
        let n = c.per_ip.entry(ip).or_insert(0);
        if *n >= self.max_per_ip {
            return Err(Refused::PerAddress);
        }
        *n += 1;
        c.total += 1;
        Ok(HandshakeSlot {
            ip,
            counts: self.counts.clone(),
        })
    }

    /// Handshakes in progress.
    pub fn in_progress(&self) -> usize {
        self.counts.lock().total
    }
}

/// At most `per_second` log lines a second; the lines it swallows are counted and
/// reported with the next line it lets through.
#[derive(Debug)]
pub struct LogBudget {
    per_second: u64,
    window: Mutex<(Instant, u64)>,
    swallowed: AtomicU64,
}

impl LogBudget {
    /// A budget of `per_second` lines a second.
    pub fn new(per_second: u64) -> Self {
        LogBudget {
            per_second,
            window: Mutex::new((Instant::now(), 0)),
            swallowed: AtomicU64::new(0),
        }
    }

    /// `Some(lines swallowed since the last one let through)` when a line may be
    /// written now; `None` when it must be swallowed.
    pub fn take(&self) -> Option<u64> {
        let mut w = self.window.lock();
        let now = Instant::now();
        if now.duration_since(w.0) >= Duration::from_secs(1) {
            *w = (now, 0);
        }
        if w.1 < self.per_second {
            w.1 += 1;
            Some(self.swallowed.swap(0, Ordering::Relaxed))
        } else {
            self.swallowed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn handshakes_are_bounded_per_address_and_in_total() {
        let limits = HandshakeLimits::new(3, 2);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        let a1 = limits.admit(a).unwrap();
        let _a2 = limits.admit(a).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refused::PerAddress);
        let _b1 = limits.admit(b).unwrap();
        assert_eq!(limits.admit(c).unwrap_err(), Refused::Busy);
        assert_eq!(limits.in_progress(), 3);
        // A finished handshake gives its slot back, to its address and the total.
        drop(a1);
        assert_eq!(limits.in_progress(), 2);
        let _c1 = limits.admit(c).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refused::Busy);
    }

    #[test]
    fn the_log_budget_swallows_lines_over_it_and_counts_them() {
        let budget = LogBudget::new(2);
        assert_eq!(budget.take(), Some(0));
        assert_eq!(budget.take(), Some(0));
        assert_eq!(budget.take(), None);
        assert_eq!(budget.take(), None);
        *budget.window.lock() = (Instant::now() - Duration::from_secs(2), 0);
        assert_eq!(budget.take(), Some(2), "the swallowed lines are reported");
    }
}
