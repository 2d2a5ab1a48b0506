//! Generates Rust types for TensorFlow's own protocol buffers (proto/, printed from the pinned
//! wheel by python/dump_protos.py) with the pure-Rust compiler protox and prost-build: building
//! tfreuse needs neither protoc nor TensorFlow.

/// The files whose messages tfreuse uses; protox follows their imports.
const ROOTS: &[&str] = &[
    "tensorflow/core/protobuf/meta_graph.proto",
    "tensorflow/core/protobuf/saved_model.proto",
    "tensorflow/core/protobuf/saver.proto",
    "tensorflow/core/protobuf/config.proto",
    "tensorflow/core/protobuf/tensorflow_server.proto",
    "tensorflow/core/protobuf/tensor_bundle.proto",
    "tensorflow/core/util/event.proto",
    "tensorflow/core/framework/summary.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(ROOTS, ["proto"])?;
    // The descriptors too, for parsing text-format protos (.pbtxt) at run time.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("tf_descriptors.bin"), prost::Message::encode_to_vec(&fds))?;
    let mut cfg = prost_build::Config::new();
    // Sorted maps: encoding is deterministic, and equals what Python's deterministic
    // serialization (graph_io.write_graph) writes, so a .meta re-encodes byte for byte.
    cfg.btree_map(["."]);
    cfg.include_file("tf_protos.rs");
    cfg.compile_fds(fds)?;
    Ok(())
}
