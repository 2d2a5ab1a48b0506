//! Writing a trained model out for serving, the way back from TF1: a SavedModel
//! ([`saved_model()`]) or a frozen GraphDef ([`frozen()`]) whose outputs are the logits, their
//! softmax probabilities and the int64 class ids, computed from one input.

use tensorflow::{DataType, Output, Tensor};

use crate::error::Result;
use crate::graph::Builder;
use crate::model::Model;

internal_mod! {
    frozen;
    saved_model;
}

pub use frozen::{frozen, Frozen};
pub use saved_model::saved_model;

/// The served tensors: the input, the logits, and the probabilities and class ids built on them.
pub struct Serving {
    /// The tensor fed the features.
    pub input: Output,
    /// The logits the rest is computed from.
    pub logits: Output,
    /// Softmax of the logits.
    pub probabilities: Output,
    /// The int64 id of the likeliest class.
    pub classes: Output,
}

impl Serving {
    /// Add softmax probabilities and int64 class ids of `logits` to the model's graph, under a
    /// free `export` scope (`export/probabilities`, `export/classes`).
    pub fn build(model: &mut Model, input: Output, logits: Output) -> Result<Serving> {
        let mut b = Builder::new(&mut model.graph, "", None, 0);
        let scope = b.free_scope("export");
        let (probabilities, classes) = b.unprefixed(|b| {
            let probs = b.op1("Softmax", &format!("{scope}/probabilities"), std::slice::from_ref(&logits))?;
            let axis = b.constant(&format!("{scope}/axis"), Tensor::from(1i32))?;
            let classes = b.op("ArgMax", &format!("{scope}/classes"), &[logits.clone(), axis], |d| {
                Ok(d.set_attr_type("output_type", DataType::Int64)?)
            })?;
            Ok((probs, classes.into()))
        })?;
        Ok(Serving { input, logits, probabilities, classes })
    }

    /// The outputs by the names a signature gives them.
    pub fn outputs(&self) -> [(&'static str, &Output); 3] {
        [("logits", &self.logits), ("probabilities", &self.probabilities), ("classes", &self.classes)]
    }
}
