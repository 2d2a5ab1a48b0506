//! The starting point of a model made from nothing (`tfreuse new`): a graph holding only the
//! book's two placeholders, `X` (float32 features) and `y` (int64 labels). Training then
//! builds the layers on `X:0` as it builds new layers on any branch.

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::MetaGraph;

/// A graph with `X` of shape `[batch] + features` and `y` of shape `[batch]`.
pub fn placeholders(features: &[usize]) -> Result<MetaGraph> {
    if features.is_empty() || features.contains(&0) {
        return Err(Error::Invalid(format!("a new model needs features of a known, non-zero shape (got {features:?})")));
    }
    let dims: String = features.iter().map(|d| format!(" dim {{ size: {d} }}")).collect();
    let text = format!(
        r#"node {{ name: "X" op: "Placeholder"
             attr {{ key: "dtype" value {{ type: DT_FLOAT }} }}
             attr {{ key: "shape" value {{ shape {{ dim {{ size: -1 }}{dims} }} }} }} }}
           node {{ name: "y" op: "Placeholder"
             attr {{ key: "dtype" value {{ type: DT_INT64 }} }}
             attr {{ key: "shape" value {{ shape {{ dim {{ size: -1 }} }} }} }} }}"#
    );
    MetaGraph::from_graph_bytes(text.into_bytes(), true, Path::new("(new model)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_placeholders() {
        let m = placeholders(&[28, 28, 1]).unwrap();
        let names: Vec<_> = m.graph_def().unwrap().node.iter().map(|n| (n.name.clone(), n.op.clone())).collect();
        assert_eq!(names, [("X".to_string(), "Placeholder".to_string()), ("y".to_string(), "Placeholder".to_string())]);
        assert_eq!(m.static_dims("X:0"), Some(vec![-1, 28, 28, 1]));
        assert!(placeholders(&[]).is_err());
    }
}
