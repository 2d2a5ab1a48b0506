//! Operations on an imported graph, before any session runs it: the variables it holds, new
//! ops under a prefix (dense layers, a loss and accuracy head, training ops, saver ops), the
//! stop-gradient rewrite, the analyses freezing and caching need, and which of its ops reach
//! outside the process (audit). Nothing here holds a session.

pub mod audit;
pub mod layers;
pub mod trust;
internal_mod! {
    builder;
    cut;
    freeze;
    head;
    optimizer;
    prune;
    saver;
    saver_path;
    stack;
    var;
}

internal_use!(builder::Builder);
internal_use!(var::{Var, VarKind});
