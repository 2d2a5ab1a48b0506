//! Operations on an imported graph, before any session runs it: the variables it holds, new
//! ops under a prefix (dense layers, a loss and accuracy head, training ops, saver ops), the
//! stop-gradient rewrite and the analyses freezing and caching need. Nothing here holds a
//! session.

pub mod builder;
pub mod cut;
pub mod freeze;
pub mod head;
pub mod layers;
pub mod optimizer;
pub mod prune;
pub mod saver;
pub mod stack;
pub mod var;

pub use builder::Builder;
pub use var::{Var, VarKind};
