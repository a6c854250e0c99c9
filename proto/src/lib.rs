//! # sable-proto — the public gRPC API
//!
//! Will own: the versioned `.proto` files of the node's public and admin services and the
//! tonic/prost code generated from them (without a system `protoc`).
//!
//! Must never: contain business logic; it is the wire contract only.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
