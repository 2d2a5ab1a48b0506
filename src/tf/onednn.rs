//! Whether a training run gets TF's oneDNN kernels when nobody chose (no `--onednn`, no
//! `TF_ENABLE_ONEDNN_OPTS`). Measured on this project's machines (`make bench`,
//! `make bench-images`):
//! - oneDNN makes convolutions 1.4–1.6× faster;
//! - dense layers on TF's kernels: mixed. The full model 1.00 (AVX2) and 0.86 (AVX-512)
//!   of off; the transfer recipes 1.12 / 0.87 (AVX2, uncached / cached), 0.94–0.97 / 0.98–1.09
//!   (AVX-512);
//! - dense layers whose training step XLA compiles: 6–9 % faster (the book MLP's own op over
//!   20 epochs, AVX-512: 0.94 and 0.91 of off in two sets of alternating runs).
//!
//! So a graph with a convolution gets oneDNN, a dense one gets it when XLA compiles its step,
//! and no other. The choice reads the graph and the flags only, never a timing, so the same
//! command always gives the same bytes.

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

/// The first convolution op type of the graph, its function library included.
pub fn convolution(graph: &GraphDef) -> Option<String> {
    let ops = graph.node.iter().map(|n| n.op.as_str());
    let in_functions = graph.library.iter().flat_map(|l| &l.function).flat_map(|f| &f.node_def).map(|n| n.op.as_str());
    ops.chain(in_functions).find(|op| is_convolution(op)).map(str::to_string)
}

/// The default for training `graph`, whose step XLA compiles or not, and why, e.g.
/// `(false, "no convolution in the graph …")`.
pub fn for_run(graph: &GraphDef, xla: bool) -> (bool, String) {
    match convolution(graph) {
        Some(op) => (true, format!("the graph has convolutions ({op})")),
        None if xla => (true, "XLA compiles the training step: dense layers measured 6–9 % faster beside it with oneDNN".into()),
        None => (false, "no convolution in the graph and no XLA: dense layers train as fast or faster without it".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::NodeDef;

    #[test]
    fn convolutions_and_xla_turn_it_on() {
        let node = |op: &str| NodeDef { name: op.to_lowercase(), op: op.into(), ..Default::default() };
        let dense = GraphDef { node: vec![node("MatMul"), node("Relu")], ..Default::default() };
        assert!(!for_run(&dense, false).0);
        let (on, why) = for_run(&dense, true);
        assert!(on && why.contains("XLA"), "{why}");
        let conv = GraphDef { node: vec![node("Placeholder"), node("Conv2D")], ..Default::default() };
        let (on, why) = for_run(&conv, false);
        assert!(on && why.contains("Conv2D"), "{why}");
    }
}
