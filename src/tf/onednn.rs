//! Whether a training run gets TF's oneDNN kernels when nobody chose (no `--onednn`, no
//! `TF_ENABLE_ONEDNN_OPTS`). Measured on this project's machines (`make bench`,
//! `make bench-images`):
//! - oneDNN makes convolutions 1.4–1.6× faster;
//! - the model's own training op (the book MLP's, dense): as fast or up to 14 % faster with it
//!   on TF's kernels (AVX-512: 0.86–0.92 of off; AVX2: 1.00); under XLA 0.91–1.01 (AVX-512),
//!   and XLA adds nothing on top of it ([`crate::tf::jit`] keeps XLA off then);
//! - training steps tfreuse builds (the transfer recipes, dense): mixed. Uncached / cached 1.12 /
//!   0.87 of off on AVX2, 0.94–1.00 / 0.98–1.11 on AVX-512.
//!
//! So a graph with a convolution gets oneDNN, and so does the model's own training op; the
//! steps tfreuse builds on dense layers do not. The choice reads the graph and the flags only,
//! never a timing, so the same command always gives the same bytes.

use crate::proto::GraphDef;

/// Op types that run oneDNN's convolution kernels.
const CONVOLUTIONS: &[&str] = &[
    "Conv2D",
    "Conv3D",
    "DepthwiseConv2dNative",
    "Conv2DBackpropInput",
    "Conv3DBackpropInputV2",
    "FusedPadConv2D",
    "FusedResizeAndPadConv2D",
];

/// Whether ops of type `op` run convolution kernels.
pub fn is_convolution(op: &str) -> bool {
    CONVOLUTIONS.contains(&op)
}

/// Whether TF's oneDNN kernels are on in this process: `TF_ENABLE_ONEDNN_OPTS` as TF reads
/// it, on when unset (the wheel's default on x86 Linux).
pub fn enabled() -> bool {
    let v = std::env::var("TF_ENABLE_ONEDNN_OPTS").unwrap_or_default().to_ascii_lowercase();
    !(v == "0" || v == "false")
}

/// The first convolution op type of the graph, its function library included.
pub fn convolution(graph: &GraphDef) -> Option<String> {
    let ops = graph.node.iter().map(|n| n.op.as_str());
    let in_functions = graph.library.iter().flat_map(|l| &l.function).flat_map(|f| &f.node_def).map(|n| n.op.as_str());
    ops.chain(in_functions).find(|op| is_convolution(op)).map(str::to_string)
}

/// The default for training `graph` with its own training op (`own_op`) or one tfreuse
/// builds, and why, e.g. `(false, "no convolution in the graph …")`.
pub fn for_run(graph: &GraphDef, own_op: bool) -> (bool, String) {
    match convolution(graph) {
        Some(op) => (true, format!("the graph has convolutions ({op})")),
        None if own_op => (true, "the model's own training op: measured as fast or up to 14 % faster with it".into()),
        None => (false, "no convolution in the graph, a step tfreuse builds: as fast or faster without it".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::NodeDef;

    #[test]
    fn convolutions_and_a_models_own_op_turn_it_on() {
        let node = |op: &str| NodeDef { name: op.to_lowercase(), op: op.into(), ..Default::default() };
        let dense = GraphDef { node: vec![node("MatMul"), node("Relu")], ..Default::default() };
        assert!(!for_run(&dense, false).0);
        let (on, why) = for_run(&dense, true);
        assert!(on && why.contains("own training op"), "{why}");
        let conv = GraphDef { node: vec![node("Placeholder"), node("Conv2D")], ..Default::default() };
        let (on, why) = for_run(&conv, false);
        assert!(on && why.contains("Conv2D"), "{why}");
    }
}
