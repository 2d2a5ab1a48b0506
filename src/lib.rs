//! tfreuse: reuse TensorFlow 1 checkpoints for transfer learning, on TensorFlow's own kernels
//! through the C API.
//!
//! The library does the work; the `tfreuse` binary is a thin command-line layer over it.
//! Start with [`model::Model::load`], which imports a `.meta` like
//! `tf.train.import_meta_graph` and restores a checkpoint like `Saver.restore`.

pub mod cache;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod eval;
pub mod freeze;
pub mod fsutil;
pub mod inspect;
pub mod layers;
pub mod metagraph;
pub mod model;
pub mod npy;
pub mod proto;
pub mod saver;
pub mod suggest;
pub mod tensors;
pub mod tflib;
pub mod train;

pub use error::{Error, Result};
