//! What can go wrong on the Ethereum side, and the conversions every module that talks
//! to L1 shares: an endpoint's failure into [`L1Error::Rpc`], a contract's
//! custom error into a typed rejection.

use crate::bindings::{ISableBridge, ISableSettlement};

/// What can go wrong on the Ethereum side.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// A settlement key that does not parse or cannot sign.
    #[error("settlement key: {0}")]
    Key(String),
    /// A signature that is malformed or recovers to someone else.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The JSON-RPC endpoint's URL does not parse.
    #[error("invalid RPC URL {url}: {reason}")]
    Url {
        /// As given, cut to scheme, host and port ([`redact_urls`]).
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The endpoint failed or is unreachable.
    #[error("L1 RPC: {0}")]
    Rpc(String),
    /// The contract refused the call (found when estimating it, so nothing was sent).
    #[error("the contract rejected {call}: {error}")]
    Rejected {
        /// The contract function.
        call: &'static str,
        /// The contract's custom error, decoded.
        error: String,
    },
    /// The contract already holds this batch: nothing was sent.
    #[error("batch {number} is already settled")]
    AlreadySettled {
        /// The batch number.
        number: u64,
    },
    /// A sent transaction was mined but reverted.
    #[error("{call} was mined but reverted (transaction {tx})")]
    Reverted {
        /// The contract function.
        call: &'static str,
        /// The transaction hash.
        tx: String,
    },
    /// A sent transaction (and every replacement of it) was not mined and confirmed
    /// within the configured time: it may still be mined later.
    #[error("{call} was not mined within {waited_s} s (last transaction {tx})")]
    NotMined {
        /// The contract function.
        call: &'static str,
        /// The last transaction sent for it.
        tx: String,
        /// Seconds waited.
        waited_s: u64,
    },
    /// Nothing was sent: L1 gas costs more than configured.
    #[error("gas price {price} wei exceeds the configured limit {limit} wei")]
    GasPriceTooHigh {
        /// The endpoint's current gas price.
        price: u128,
        /// The configured limit.
        limit: u128,
    },
    /// The batch data cannot be encoded as blobs.
    #[error("blob encoding: {0}")]
    Blob(String),
    /// forge's build output directory was not located (see
    /// [`crate::deploy::contracts_out`]).
    #[error(
        "forge's build output (contracts/out) not found: {looked}; set SABLE_CONTRACTS_OUT to \
         forge's out directory, or run from inside a checkout whose contracts are built"
    )]
    ContractsOutNotFound {
        /// Where it was looked for, and why it is not there.
        looked: String,
    },
    /// A forge build artifact is missing or malformed.
    #[error("contract artifact {path}: {reason}")]
    Artifact {
        /// The artifact's path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// An endpoint's failure (unreachable, refused, or an answer that does not decode), with
/// every URL in its text cut to scheme, host and port ([`redact_urls`]).
pub(crate) fn rpc(e: impl std::fmt::Display) -> L1Error {
    L1Error::Rpc(redact_urls(&e.to_string()))
}

/// `text` with every URL in it cut to its scheme, host and port: hosted Ethereum
/// endpoints carry their API key in the path, the query or the user information
/// (`https://mainnet.example/v3/<key>`), and HTTP clients' errors quote the URL they
/// failed on. These errors are logged every failed round (review L1), so none may
/// carry the key. What was cut is shown as `/…`.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The scheme: the letters right before `://`.
        let scheme_len = rest[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .count();
        let start = at - scheme_len;
        out.push_str(&rest[..start]);
        let after = &rest[at + 3..];
        // The URL runs to the first character no URL holds unescaped.
        let len = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | '<' | ','))
            .unwrap_or(after.len());
        let url = &after[..len];
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        out.push_str(&rest[start..at + 3]);
        out.push_str(host);
        if host.len() != authority.len() || authority_end < url.len() {
            out.push_str("/…");
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The contract's custom error when `e` carries one, else the RPC failure.
pub(crate) fn rejected(call: &'static str, e: alloy::contract::Error) -> L1Error {
    if let Some(err) = e.as_decoded_interface_error::<ISableSettlement::ISableSettlementErrors>() {
        // Another submitter's transaction landed first: the same outcome as the check
        // before sending, so the same error.
        if let ISableSettlement::ISableSettlementErrors::BatchAlreadySettled(a) = err {
            return L1Error::AlreadySettled { number: a.number };
        }
        return L1Error::Rejected {
            call,
            error: format!("{err:?}"),
        };
    }
    if let Some(err) = e.as_decoded_interface_error::<ISableBridge::ISableBridgeErrors>() {
        return L1Error::Rejected {
            call,
            error: format!("{err:?}"),
        };
    }
    rpc(e)
}

#[cfg(test)]
mod tests {
    use super::redact_urls;

    #[test]
    fn urls_keep_only_scheme_host_and_port() {
        assert_eq!(
            redact_urls(
                "error sending request for url (https://eth.example:8545/v3/SECRET?key=K#f): timed out"
            ),
            "error sending request for url (https://eth.example:8545/…): timed out"
        );
        assert_eq!(
            redact_urls("GET http://user:pw@10.0.0.1/eth/v1 and ws://h:1, then http://plain"),
            "GET http://10.0.0.1/… and ws://h:1, then http://plain"
        );
        assert_eq!(redact_urls("no url here"), "no url here");
        assert_eq!(redact_urls("odd ://x/y"), "odd ://x/…");
        assert_eq!(redact_urls("http://"), "http://");
    }
}
