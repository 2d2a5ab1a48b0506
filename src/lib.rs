//! tfreuse: reuse TensorFlow 1 checkpoints for transfer learning, on TensorFlow's own kernels
//! through the C API.
//!
//! The library does the work; the `tfreuse` binary is a thin command-line layer over it.
//! Modules by idea, each using only those listed before it:
//!
//! - [`error`], [`suggest`], [`atomic`] (crash-safe writes), [`proto`] (TF's messages);
//! - [`tf`]: the runtime — loading libtensorflow, sessions, tensors, names;
//! - [`graph`]: ops on an imported graph — variables, layers, heads, optimizers, saver ops,
//!   freezing, the cut; never a session;
//! - [`model`]: where a model comes from — `.meta` + checkpoint, import, restore, inspect, save;
//! - [`data`]: data sets (MNIST, npz, picture folders); [`feed`]: what an input accepts; [`cache`]: frozen layers computed
//!   once; [`eval`]: metrics;
//! - [`events`]: what long operations report, and sinks for it; [`summary`]: TensorBoard
//!   event files, one such sink;
//! - [`train`]: transfer training in stages, the loop, resuming; [`sweep`]: the seed's
//!   freeze/unfreeze candidates trained in turn;
//! - [`export`]: a trained model written out for serving (SavedModel, frozen GraphDef);
//!   [`predict`]: new pictures classified by a trained model;
//! - [`zoo`]: pretrained models named in a manifest, fetched, verified and unpacked safely.
//!
//! Start with [`Model::load`], which imports a `.meta` like `tf.train.import_meta_graph`, or
//! [`train::prepare()`] for transfer training.

pub mod atomic;
pub mod cache;
pub mod data;
pub mod dist;
pub mod error;
pub mod eval;
pub mod events;
pub mod export;
pub mod feed;
pub mod graph;
pub mod model;
pub mod predict;
pub mod pretrain;
pub mod proto;
pub mod suggest;
pub mod summary;
pub mod sweep;
pub mod tf;
pub mod train;
pub mod zoo;

pub use data::DataSet;
pub use error::{Error, Result, Role};
pub use events::{Event, EventSink};
pub use graph::{Var, VarKind};
pub use model::{MetaGraph, Model};
pub use tf::SessionConfig;
pub use train::{Prepared, TransferSpec};
