//! # sable-proto — the public gRPC API
//!
//! Owns: the versioned `.proto` files of the node's public and admin services
//! (`proto/sable/v1/`) and the tonic/prost code generated from them at build time with
//! protox, so no system `protoc` is needed. [`FILE_DESCRIPTOR_SET`] feeds the gRPC
//! reflection service.
//!
//! Must never: contain business logic; it is the wire contract only.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

/// Version 1 of the API (`package sable.v1`).
#[allow(missing_docs, clippy::all)]
pub mod v1 {
    tonic::include_proto!("sable.v1");
}

/// The encoded `FileDescriptorSet` of every `.proto` file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/sable_v1_descriptor.bin"));
