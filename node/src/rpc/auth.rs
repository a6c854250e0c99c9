//! The role gate: one interceptor in front of each service that admits a request only
//! from a connection with a consortium identity ([`super::tls::PeerInfo`]) whose
//! certificate is not revoked and whose role the service admits.
//!
//! Revocation is checked on every request against the revocation list as of the last
//! applied block, so revoking a certificate also shuts out connections opened before;
//! a server stream checks again before each item, after each applied block and when
//! its caller's certificate expires ([`still_admitted`]), so a stream opened before the
//! revocation ends within one block with `PERMISSION_DENIED`, and one whose certificate
//! expires under it ends then with `UNAUTHENTICATED`. Expiry is checked on every
//! request too: a connection opened with a certificate that has since expired is
//! refused everything.
//! Each refusal is logged at `warn` with the peer, its identity (if any) and the
//! service. An admitted request carries the caller's [`Identity`] in its extensions;
//! handlers read it with [`caller`].

use std::sync::Arc;

use tonic::{service::Interceptor, Request, Status};

use super::tls::{PeerAuthError, PeerInfo};
use crate::node::Node;
use sable_pki::{Fingerprint, Identity, Role};

/// Roles admitted to `sable.v1.Transactions`.
pub const TRANSACTIONS_ROLES: &[Role] = &[Role::Bank];
/// Roles admitted to `sable.v1.Chain`.
pub const CHAIN_ROLES: &[Role] = &[
    Role::Bank,
    Role::Regulator,
    Role::Auditor,
    Role::Operator,
    Role::Validator,
];
/// Roles admitted to `sable.v1.Compliance`: the parties a package can be addressed to.
pub const COMPLIANCE_ROLES: &[Role] = &[Role::Regulator, Role::Auditor, Role::Bank];
/// Roles admitted to `sable.v1.Admin`.
pub const ADMIN_ROLES: &[Role] = &[Role::Operator];
/// Every role (health and reflection).
pub const ANY_ROLE: &[Role] = &Role::ALL;

/// The wall clock in Unix seconds, as the TLS handshake reads certificates' validity.
pub fn unix_now() -> i64 {
    crate::runtime::epoch_secs(std::time::SystemTime::now())
}

/// The refusal of a caller whose certificate expired after its connection opened.
fn expired(who: &Identity) -> Status {
    tracing::warn!(identity = %who, not_after = who.not_after, "expired certificate refused");
    Status::unauthenticated("certificate expired")
}

/// Decides whether the connection `peer` may call `service`, which admits `roles`, at
/// `now` (Unix seconds).
pub fn authorize(
    peer: Option<&PeerInfo>,
    service: &str,
    roles: &[Role],
    is_revoked: impl Fn(&Fingerprint) -> bool,
    now: i64,
) -> Result<Identity, Status> {
    let Some(peer) = peer else {
        // Only a connection that did not come through the TLS accept loop lacks this.
        tracing::warn!(service, "request without connection information refused");
        return Err(Status::unauthenticated("client certificate required"));
    };
    let who = match &peer.identity {
        Ok(who) => who,
        Err(e) => {
            tracing::warn!(peer = %peer.addr, service, reason = %e, "unauthenticated call refused");
            return Err(Status::unauthenticated(match e {
                PeerAuthError::NoCertificate => "client certificate required".to_string(),
                PeerAuthError::ForeignOrInvalid(_) => e.to_string(),
            }));
        }
    };
    if is_revoked(&who.fingerprint) {
        tracing::warn!(peer = %peer.addr, identity = %who, service, "revoked certificate refused");
        return Err(Status::permission_denied("certificate revoked"));
    }
    if who.expired_at(now) {
        return Err(expired(who));
    }
    if !roles.contains(&who.role) {
        tracing::warn!(peer = %peer.addr, identity = %who, service, "role not admitted");
        return Err(Status::permission_denied(format!(
            "role {} may not call {service}",
            who.role
        )));
    }
    Ok(who.clone())
}

/// The interceptor guarding one service.
#[derive(Clone)]
pub struct RoleGate {
    node: Arc<Node>,
    service: &'static str,
    roles: &'static [Role],
}

impl std::fmt::Debug for RoleGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleGate")
            .field("service", &self.service)
            .field("roles", &self.roles)
            .finish()
    }
}

impl RoleGate {
    /// A gate admitting `roles` to `service` (its full gRPC name, for messages and logs).
    pub fn new(node: Arc<Node>, service: &'static str, roles: &'static [Role]) -> Self {
        RoleGate {
            node,
            service,
            roles,
        }
    }
}

impl Interceptor for RoleGate {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let who = authorize(
            request.extensions().get::<PeerInfo>(),
            self.service,
            self.roles,
            |fp| self.node.is_revoked(fp),
            unix_now(),
        )?;
        request.extensions_mut().insert(who);
        Ok(request)
    }
}

/// Whether `who`, admitted when its stream opened, may still be served: an open stream
/// ends with `PERMISSION_DENIED` once its certificate is revoked, and with
/// `UNAUTHENTICATED` once it expires.
pub fn still_admitted(node: &Node, who: &Identity) -> Result<(), Status> {
    if node.is_revoked(&who.fingerprint) {
        tracing::warn!(identity = %who, "certificate revoked: closing its stream");
        return Err(Status::permission_denied("certificate revoked"));
    }
    if who.expired_at(unix_now()) {
        return Err(expired(who));
    }
    Ok(())
}

/// The authenticated caller of a request that passed a [`RoleGate`]. A request that did
/// not (a service mounted without its gate) is refused rather than served anonymously.
pub fn caller<T>(request: &Request<T>) -> Result<&Identity, Status> {
    request
        .extensions()
        .get::<Identity>()
        .ok_or_else(|| Status::unauthenticated("client certificate required"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tonic::Code;

    fn peer(identity: Result<Identity, PeerAuthError>) -> PeerInfo {
        PeerInfo {
            addr: "127.0.0.1:1".parse().unwrap(),
            identity,
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn who(role: Role) -> Identity {
        Identity {
            role,
            participant: format!("{role}-0"),
            public_key: sable_pki::PublicKey::Ed25519([1; 32]),
            fingerprint: [role as u8; 32],
            not_after: NOW + 60,
        }
    }

    #[test]
    fn each_service_admits_exactly_its_roles() {
        for (service, roles) in [
            ("sable.v1.Transactions", TRANSACTIONS_ROLES),
            ("sable.v1.Chain", CHAIN_ROLES),
            ("sable.v1.Admin", ADMIN_ROLES),
            ("sable.v1.Compliance", COMPLIANCE_ROLES),
            ("grpc.health.v1.Health", ANY_ROLE),
        ] {
            for role in Role::ALL {
                let r = authorize(Some(&peer(Ok(who(role)))), service, roles, |_| false, NOW);
                if roles.contains(&role) {
                    assert_eq!(r.unwrap(), who(role));
                } else {
                    let e = r.unwrap_err();
                    assert_eq!(e.code(), Code::PermissionDenied);
                    assert_eq!(e.message(), format!("role {role} may not call {service}"));
                }
            }
        }
    }

    #[test]
    fn missing_foreign_and_revoked_certificates_are_refused() {
        let none = authorize(None, "s", ANY_ROLE, |_| false, NOW).unwrap_err();
        assert_eq!(none.code(), Code::Unauthenticated);
        let no_cert = authorize(
            Some(&peer(Err(PeerAuthError::NoCertificate))),
            "s",
            ANY_ROLE,
            |_| false,
            NOW,
        )
        .unwrap_err();
        assert_eq!(no_cert.code(), Code::Unauthenticated);
        assert_eq!(no_cert.message(), "client certificate required");
        let foreign = authorize(
            Some(&peer(Err(PeerAuthError::ForeignOrInvalid("x".into())))),
            "s",
            ANY_ROLE,
            |_| false,
            NOW,
        )
        .unwrap_err();
        assert_eq!(foreign.code(), Code::Unauthenticated);
        assert_eq!(foreign.message(), "not a valid consortium certificate: x");
        let bank = who(Role::Bank);
        let revoked = authorize(
            Some(&peer(Ok(bank.clone()))),
            "s",
            ANY_ROLE,
            |fp| *fp == bank.fingerprint,
            NOW,
        )
        .unwrap_err();
        assert_eq!(revoked.code(), Code::PermissionDenied);
        assert_eq!(revoked.message(), "certificate revoked");
        // Good up to its last second, refused the second after.
        let last = bank.not_after;
        assert!(authorize(
            Some(&peer(Ok(bank.clone()))),
            "s",
            ANY_ROLE,
            |_| false,
            last
        )
        .is_ok());
        let expired = authorize(
            Some(&peer(Ok(bank.clone()))),
            "s",
            ANY_ROLE,
            |_| false,
            last + 1,
        )
        .unwrap_err();
        assert_eq!(expired.code(), Code::Unauthenticated);
        assert_eq!(expired.message(), "certificate expired");
    }
}
