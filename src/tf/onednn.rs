//! Whether a training run gets TF's oneDNN kernels when nobody chose (no `--onednn`, no
//! `TF_ENABLE_ONEDNN_OPTS`). Measured on this project's machines (`make bench`,
//! `make bench-images`): oneDNN makes convolutions 1.4–1.6× faster, but dense layers train
//! at the same speed or slower with it. So a graph with a convolution gets oneDNN and a graph
//! without one does not. The choice reads the graph only, never a timing, so the same
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

/// The default and why, e.g. `(false, "no convolution in the graph")`.
pub fn for_graph(graph: &GraphDef) -> (bool, String) {
    let ops = graph.node.iter().map(|n| n.op.as_str());
    let in_functions = graph.library.iter().flat_map(|l| &l.function).flat_map(|f| &f.node_def).map(|n| n.op.as_str());
    match ops.chain(in_functions).find(|op| is_convolution(op)) {
        Some(op) => (true, format!("the graph has convolutions ({op})")),
        None => (false, "no convolution in the graph: dense layers train as fast or faster without it".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::NodeDef;

    #[test]
    fn convolutions_turn_it_on() {
        let node = |op: &str| NodeDef { name: op.to_lowercase(), op: op.into(), ..Default::default() };
        let dense = GraphDef { node: vec![node("MatMul"), node("Relu")], ..Default::default() };
        assert!(!for_graph(&dense).0);
        let conv = GraphDef { node: vec![node("Placeholder"), node("Conv2D")], ..Default::default() };
        let (on, why) = for_graph(&conv);
        assert!(on && why.contains("Conv2D"), "{why}");
    }
}
