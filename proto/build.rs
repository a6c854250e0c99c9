//! Compiles the `.proto` files with protox (pure Rust; no system `protoc`) and generates
//! tonic clients and servers, plus the file descriptor set the reflection service serves.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "sable/v1/types.proto",
        "sable/v1/node.proto",
        "sable/v1/admin.proto",
        "sable/v1/compliance.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["."])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("sable_v1_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
