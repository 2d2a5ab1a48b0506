//! Whether a training run gets TF's oneDNN kernels when nobody chose (no `--onednn`, no
//! `TF_ENABLE_ONEDNN_OPTS`). Measured on this project's machines (`make bench`,
//! `make bench-images`):
//! - oneDNN makes convolutions 1.4–1.6× faster;
//! - dense layers trained whole: as fast or up to 14 % faster with it. The book MLP's own
//!   op on TF's kernels: 0.86–0.92 of off on AVX-512, 1.00 on AVX2; a new head on hidden4
//!   with everything below trained (the main use, a step tfreuse builds): 0.89 (8 paired
//!   rounds). Under XLA 0.91–1.01, and XLA adds nothing on top of it ([`crate::tf::jit`] keeps
//!   XLA off then);
//! - steps that freeze layers (the book's transfer recipe, `--freeze-below`): mixed. Uncached /
//!   cached 1.12 / 0.87 of off on AVX2, 0.94–1.00 / 0.98–1.11 on AVX-512.
//!
//! So a graph with a convolution gets oneDNN, and so does a step that trains every layer it
//! reaches; a dense step with frozen layers does not. The choice reads the graph and the flags
//! only, never a timing, so the same command always gives the same bytes.

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

/// The default for training `graph` with some layers frozen (`freezes`: `--freeze-below`,
/// `--trainable`) or none, and why, e.g. `(false, "no convolution in the graph …")`.
pub fn for_run(graph: &GraphDef, freezes: bool) -> (bool, String) {
    match convolution(graph) {
        Some(op) => (true, format!("the graph has convolutions ({op})")),
        None if !freezes => (true, "dense layers trained whole: measured as fast or up to 14 % faster with it".into()),
        None => (false, "no convolution in the graph, and frozen layers: as fast or faster without it".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::NodeDef;

    #[test]
    fn convolutions_and_whole_training_turn_it_on() {
        let node = |op: &str| NodeDef { name: op.to_lowercase(), op: op.into(), ..Default::default() };
        let dense = GraphDef { node: vec![node("MatMul"), node("Relu")], ..Default::default() };
        assert!(!for_run(&dense, true).0);
        let (on, why) = for_run(&dense, false);
        assert!(on && why.contains("trained whole"), "{why}");
        let conv = GraphDef { node: vec![node("Placeholder"), node("Conv2D")], ..Default::default() };
        let (on, why) = for_run(&conv, true);
        assert!(on && why.contains("Conv2D"), "{why}");
    }
}
