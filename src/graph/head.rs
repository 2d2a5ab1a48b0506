//! The head of a new model: a mean softmax cross-entropy loss and an accuracy on logits.

use tensorflow::{DataType, Output, Tensor};

use crate::error::Result;
use crate::graph::builder::Builder;

/// Mean softmax cross-entropy of `logits` against integer `labels` (via OneHot: the sparse op
/// has no C++ gradient), each row's times its class's weight when `weights` are given
/// (`reduce_mean(xent * gather(weights, labels))`).
pub fn softmax_xent_loss(b: &mut Builder, logits: Output, labels: Output, classes: usize, weights: Option<&[f32]>) -> Result<Output> {
    let label_type = crate::tf::tensors::output_dtype(&labels);
    let depth = b.constant("loss/depth", Tensor::from(classes as i32))?;
    let on = b.scalar_f32("loss/on", 1.0)?;
    let off = b.scalar_f32("loss/off", 0.0)?;
    let onehot = b.op("OneHot", "loss/one_hot", &[labels.clone(), depth, on, off], |d| {
        d.set_attr_type("TI", label_type)?;
        Ok(d.set_attr_int("axis", -1)?)
    })?;
    let xent = b.op("SoftmaxCrossEntropyWithLogits", "loss/xentropy", &[logits, onehot.into()], |_| Ok(()))?;
    let per_row = match weights {
        None => xent.output(0),
        Some(w) => {
            let table = b.constant("loss/class_weights", Tensor::from(w))?;
            let idx = match label_type {
                DataType::Int32 | DataType::Int64 => labels,
                _ => b.op("Cast", "loss/label_index", &[labels], |d| Ok(d.set_attr_type("DstT", DataType::Int64)?))?.into(),
            };
            let row_weights = b.op1("Gather", "loss/row_weights", &[table, idx])?;
            b.op1("Mul", "loss/weighted", &[xent.output(0), row_weights])?
        }
    };
    let axes = b.constant("loss/axes", Tensor::from(&[0i32][..]))?;
    b.op1("Mean", "loss/loss", &[per_row, axes])
}

/// Mean squared error of `output` against `target` over every value, an autoencoder's
/// reconstruction loss (`reduce_mean(square(output - target))`), named `loss/loss`. No
/// gradient flows into the target: what is reconstructed is data, not a layer to move.
pub fn reconstruction_loss(b: &mut Builder, output: Output, target: Output) -> Result<Output> {
    // A frozen cut is a stop_gradient already; another would make it two tensors to cache.
    let target = match target.operation.op_type()?.as_str() {
        "StopGradient" => target,
        _ => b.op1("StopGradient", "loss/target", &[target])?,
    };
    let diff = b.op1("Sub", "loss/diff", &[output, target])?;
    let sq = b.op1("Square", "loss/square", &[diff])?;
    let axes = b.constant("loss/axes", Tensor::from(&[0i32, 1][..]))?;
    b.op1("Mean", "loss/loss", &[sq, axes])
}

/// `loss + l2 · Σ sum(k²) / 2` over `kernels` (tf.contrib.layers.l2_regularizer, as the book
/// adds it), named `loss/total`.
pub fn with_l2(b: &mut Builder, loss: Output, kernels: &[Output], l2: f32) -> Result<Output> {
    let mut terms = Vec::with_capacity(kernels.len());
    for (i, k) in kernels.iter().enumerate() {
        let sq = b.op1("Square", &format!("loss/l2/square_{i}"), std::slice::from_ref(k))?;
        let axes = b.constant(&format!("loss/l2/axes_{i}"), Tensor::from(&[0i32, 1][..]))?;
        terms.push(b.op1("Sum", &format!("loss/l2/sum_{i}"), &[sq, axes])?);
    }
    let mut sum =
        terms.first().cloned().ok_or_else(|| crate::error::Error::arg(crate::error::Role::L2, None, "the new layers have no kernel"))?;
    for (i, t) in terms.into_iter().enumerate().skip(1) {
        sum = b.op1("AddV2", &format!("loss/l2/add_{i}"), &[sum, t])?;
    }
    let half = b.scalar_f32("loss/l2/scale", l2 / 2.0)?;
    let penalty = b.op1("Mul", "loss/l2/penalty", &[sum, half])?;
    b.op1("AddV2", "loss/total", &[loss, penalty])
}

/// 1 where a row's label equals the label of the row as far from the end as it is from the
/// start (`y == reverse(y)`), else 0, in `labels`' dtype: the pairs task's labels.
pub fn same_class(b: &mut Builder, labels: Output) -> Result<Output> {
    let label_type = crate::tf::tensors::output_dtype(&labels);
    let axis = b.constant("pairs/axis", Tensor::from(&[0i32][..]))?;
    let partner = b.op1("ReverseV2", "pairs/partner_labels", &[labels.clone(), axis])?;
    let eq = b.op1("Equal", "pairs/Equal", &[labels, partner])?;
    Ok(b.op("Cast", "pairs/same", &[eq], |d| Ok(d.set_attr_type("DstT", label_type)?))?.into())
}

/// Fraction of rows whose arg-max equals the label.
pub fn accuracy(b: &mut Builder, logits: Output, labels: Output) -> Result<Output> {
    let label_type = crate::tf::tensors::output_dtype(&labels);
    let dim = b.constant("eval/dimension", Tensor::from(1i32))?;
    let pred = b.op("ArgMax", "eval/ArgMax", &[logits, dim], |d| Ok(d.set_attr_type("output_type", label_type)?))?;
    let eq = b.op1("Equal", "eval/Equal", &[pred.into(), labels])?;
    let f = b.op("Cast", "eval/Cast", &[eq], |d| Ok(d.set_attr_type("DstT", DataType::Float)?))?;
    let axes = b.constant("eval/axes", Tensor::from(&[0i32][..]))?;
    b.op1("Mean", "eval/accuracy", &[f.into(), axes])
}
