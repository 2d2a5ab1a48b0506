//! Stage 2 of [`crate::train::prepare()`]: the spec checked and resolved once — numbers in range,
//! regexes compiled, the shape of the job decided — before any graph is touched.

use regex::Regex;

use crate::error::{Error, Result, Role};
use crate::graph::freeze::compile;
use crate::train::spec::TransferSpec;

/// A validated [`TransferSpec`].
pub struct Plan<'s> {
    pub spec: &'s TransferSpec,
    pub restore: Option<Regex>,
    pub trainable: Option<Regex>,
    /// tfreuse builds its own training op (else the imported one runs).
    pub builds_train_op: bool,
    /// Classes in the data: the width the new logits must have.
    pub classes: usize,
}

impl<'s> Plan<'s> {
    pub fn resolve(spec: &'s TransferSpec, classes: usize) -> Result<Plan<'s>> {
        if spec.schedule.batch_size == 0 {
            return Err(Error::arg(Role::BatchSize, Some("0"), "must be at least 1"));
        }
        if !(spec.recipe.lr.is_finite() && spec.recipe.lr > 0.0) {
            return Err(Error::arg(Role::LearningRate, Some(&spec.recipe.lr.to_string()), "must be a positive number"));
        }
        if let Some(c) = spec.recipe.clip.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return Err(Error::arg(Role::Clip, Some(&c.to_string()), "must be a positive number"));
        }
        let weighted = spec.recipe.objective.classes(classes).unwrap_or(classes);
        match (&spec.recipe.class_weights, &spec.recipe.branch_from) {
            (Some(_), None) => {
                return Err(Error::arg(
                    Role::ClassWeight,
                    None,
                    format!("weights the loss of a new head; it needs {}", Role::BranchFrom.mention()),
                ))
            }
            (Some(w), Some(_)) if w.len() != weighted || w.iter().any(|v| !v.is_finite() || *v < 0.0) => {
                return Err(Error::arg(Role::ClassWeight, None, format!("needs {weighted} finite weights ≥ 0, got {w:?}")));
            }
            _ => {}
        }
        match spec.recipe.l2 {
            Some(l2) if !(l2.is_finite() && l2 >= 0.0) => return Err(Error::arg(Role::L2, Some(&l2.to_string()), "must be a number ≥ 0")),
            Some(_) if spec.recipe.new_layers.is_empty() => {
                return Err(Error::arg(Role::NewLayers, None, format!("missing: {} penalizes the new layers' kernels", Role::L2.mention())))
            }
            _ => {}
        }
        if spec.recipe.branch_from.is_none() && !spec.recipe.new_layers.is_empty() {
            return Err(Error::arg(Role::BranchFrom, None, "missing: the new layers are built on it"));
        }
        Ok(Plan {
            spec,
            restore: spec.recipe.restore.as_deref().map(|r| compile(r, Role::Restore)).transpose()?,
            trainable: spec.recipe.trainable.as_deref().map(|r| compile(r, Role::Trainable)).transpose()?,
            builds_train_op: spec.recipe.builds_train_op(),
            classes,
        })
    }
}
