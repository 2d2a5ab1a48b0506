//! Writing a trained model out for serving, the way back from TF1: a SavedModel
//! ([`saved_model()`]) or a frozen GraphDef ([`frozen()`]) whose outputs are the logits, their
//! softmax probabilities, the int64 class ids and the class names, computed from one input,
//! and, asked, from encoded picture bytes too ([`preprocess`]).

use tensorflow::{DataType, Output, Tensor};

use crate::data::images::Preprocess;
use crate::data::Scale;
use crate::error::{Error, Result};
use crate::graph::Builder;
use crate::model::Model;

internal_mod! {
    frozen;
    preprocess;
    saved_model;
}

pub use frozen::{frozen, labels_path, Frozen};
pub use preprocess::Pictures;
pub use saved_model::{saved_model, BYTES_SIGNATURE};

/// The served tensors: the input, the logits, and the probabilities and classes built on them.
pub struct Serving {
    /// The tensor fed the features.
    pub input: Output,
    /// The logits the rest is computed from.
    pub logits: Output,
    /// Softmax of the logits.
    pub probabilities: Output,
    /// The int64 id of the likeliest class.
    pub class_ids: Output,
    /// The likeliest class as a string: its name, or its id in decimal when no names are known.
    pub classes: Output,
    /// The class names by id (empty when unknown), written beside the export as `labels.txt`.
    pub names: Vec<String>,
    /// The second input, encoded picture bytes, when asked ([`Serving::with_pictures`]).
    pub pictures: Option<Pictures>,
}

impl Serving {
    /// Add softmax probabilities, int64 class ids and string classes of `logits` to the model's
    /// graph, under a free `export` scope (`export/probabilities`, `export/class_ids`,
    /// `export/classes`). With `names` (one per logit), a class is its name
    /// (`export/class_names` gathered by id, as Estimator's `classes`); without, its id as a string.
    pub fn build(model: &mut Model, input: Output, logits: Output, names: Vec<String>) -> Result<Serving> {
        check_names(model, &logits, &names)?;
        let mut b = Builder::new(&mut model.graph, "", None, 0);
        let scope = b.free_scope("export");
        let (probabilities, class_ids, classes) = b.unprefixed(|b| {
            let probs = b.op1("Softmax", &format!("{scope}/probabilities"), std::slice::from_ref(&logits))?;
            let axis = b.constant(&format!("{scope}/axis"), Tensor::from(1i32))?;
            let ids: Output = b
                .op("ArgMax", &format!("{scope}/class_ids"), &[logits.clone(), axis], |d| {
                    Ok(d.set_attr_type("output_type", DataType::Int64)?)
                })?
                .into();
            let classes = if names.is_empty() {
                b.op1("AsString", &format!("{scope}/classes"), std::slice::from_ref(&ids))?
            } else {
                let table = Tensor::<String>::new(&[names.len() as u64]).with_values(&names)?;
                let table = b.constant(&format!("{scope}/class_names"), table)?;
                let zero = b.constant(&format!("{scope}/gather_axis"), Tensor::from(0i32))?;
                b.op1("GatherV2", &format!("{scope}/classes"), &[table, ids.clone(), zero])?
            };
            Ok((probs, ids, classes))
        })?;
        Ok(Serving { input, logits, probabilities, class_ids, classes, names, pictures: None })
    }

    /// Add the second input, `image_bytes`: one encoded picture, fitted as `p` says and mapped
    /// by `scale` in the graph, the default of the input when it is not fed (see [`preprocess`]).
    pub fn with_pictures(mut self, model: &mut Model, p: &Preprocess, scale: Scale) -> Result<Serving> {
        self.pictures = Some(preprocess::build(model, &self.input, p, scale)?);
        Ok(self)
    }

    /// The outputs by the names a signature gives them.
    pub fn outputs(&self) -> [(&'static str, &Output); 4] {
        [("logits", &self.logits), ("probabilities", &self.probabilities), ("class_ids", &self.class_ids), ("classes", &self.classes)]
    }

    /// The class names a line each, as retrain.py's output_labels.txt; `None` without names.
    pub fn labels_text(&self) -> Option<String> {
        (!self.names.is_empty()).then(|| self.names.iter().map(|n| format!("{n}\n")).collect())
    }
}

/// Names, when given, must be one per logit (when the logits' width is known), and none may
/// hold a line break (the labels file has a name a line).
fn check_names(model: &Model, logits: &Output, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    if let Some(bad) = names.iter().find(|n| n.contains(['\n', '\r'])) {
        return Err(Error::Invalid(format!("class name {bad:?} holds a line break; the labels file has a name a line")));
    }
    let dims = crate::tf::tensors::shape_dims(&model.graph.tensor_shape(logits.clone())?);
    let width = dims.as_deref().and_then(|d| d.last().copied()).filter(|&w| w >= 0);
    match width {
        Some(w) if w as usize != names.len() => Err(Error::Invalid(format!(
            "the logits {} give {w} classes but the model's record names {}: pass the logits those classes belong to with {}",
            crate::tf::output_name(logits),
            names.len(),
            crate::error::Role::Logits.mention()
        ))),
        _ => Ok(()),
    }
}
