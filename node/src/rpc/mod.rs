//! The gRPC API over mutual TLS (to be written).
