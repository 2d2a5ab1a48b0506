#![cfg_attr(not(feature = "internals"), warn(missing_docs))]
//! tfreuse: reuse TensorFlow 1 checkpoints for transfer learning, on TensorFlow's own kernels
//! through the C API. What it saves, Python TF reads back.
//!
//! The book's chapter 11 in Rust: evaluate the MNIST model, then train new layers on
//! `dnn/hidden4/Relu:0` with the two lowest layers frozen and cached, and save.
//!
//! ```no_run
//! use tfreuse::data::Mnist;
//! use tfreuse::{Adam, Dense, Event, Runtime, Schedule, Source, Transfer};
//!
//! # fn main() -> tfreuse::Result<()> {
//! let tf = Runtime::load(Default::default())?;
//! let model = tf.open(Source::meta("fixtures/mnist_dnn/my_model_final.ckpt.meta"))?;
//! let mnist = Mnist::open("data/mnist")?;
//! println!("{:?}", model.evaluate(mnist.test()?, &["eval/accuracy:0"])?);
//! let mut job = Transfer::new(&model)
//!     .branch_from("dnn/hidden4/Relu:0")
//!     .layer(Dense::new(20).relu())
//!     .layer(Dense::new(10))
//!     .freeze_below("dnn/hidden2/Relu:0")
//!     .cache_frozen()
//!     .optimizer(Adam::default())
//!     .prepare(&mnist)?;
//! job.fit(Schedule::epochs(5), &mut |e: &Event| println!("{e:?}"))?;
//! job.save("runs/my_new_model_final.ckpt")?;
//! # Ok(())
//! # }
//! ```
//!
//! [`Runtime`] is libtensorflow loaded (every entry point that runs TensorFlow needs one);
//! [`Source`] says where a model comes from; [`Transfer`] builds a recipe from typed layers
//! ([`Dense`], [`Flatten`], [`Gap`], [`Dropout`]) and optimizers ([`Sgd`], [`Momentum`],
//! [`Adam`]); long operations report [`Event`]s to an [`EventSink`] (a closure will do). The
//! library never prints. `examples/` holds runnable programs.
//!
//! Modules by idea, each using only those listed before it (those named without a link are
//! crate-private; the `internals` feature opens them, and the stages and helpers inside the
//! others, to the integration tests and fuzz targets):
//!
//! - [`error`], `suggest`, [`atomic`] (crash-safe writes), [`format`] (versions of the files
//!   tfreuse writes), `proto` (TF's messages);
//! - [`tf`]: the runtime — loading libtensorflow, sessions, tensors, names;
//! - [`graph`]: ops on an imported graph — variables, layers, heads, optimizers, saver ops,
//!   freezing, the cut; never a session;
//! - [`slim`]: TF-Slim's image classifiers, their graphs built once by TF-Slim and embedded;
//! - [`model`]: where a model comes from — `.meta` + checkpoint, import, restore, inspect, save;
//! - [`data`]: data sets (MNIST, npz, picture folders); [`feed`]: what an input accepts;
//!   [`cache`]: frozen layers computed once; [`eval`]: metrics;
//! - [`events`]: what long operations report, and sinks for it; [`summary`]: TensorBoard
//!   event files, one such sink;
//! - [`train`]: transfer training in stages, the loop, resuming, the whole job
//!   ([`train::job`]); [`sweep`]: the seed's freeze/unfreeze candidates trained in turn;
//! - [`export`]: a trained model written out for serving (SavedModel, frozen GraphDef);
//!   [`predict`]: new pictures classified by a trained model;
//! - [`zoo`]: pretrained models named in a manifest, fetched, verified and unpacked safely;
//! - `runtime` and `transfer`: the facade above.

/// Declares modules public with the `internals` feature (the integration tests and the fuzz
/// targets use it), crate-private without.
macro_rules! internal_mod {
    ($($(#[$m:meta])* $name:ident;)*) => {
        $(
            $(#[$m])*
            #[cfg(feature = "internals")]
            pub mod $name;
            $(#[$m])*
            #[cfg(not(feature = "internals"))]
            pub(crate) mod $name;
        )*
    };
}

/// Re-exports items public with the `internals` feature, crate-private without.
macro_rules! internal_use {
    ($($tree:tt)*) => {
        #[cfg(feature = "internals")]
        pub use $($tree)*;
        #[cfg(not(feature = "internals"))]
        pub(crate) use $($tree)*;
    };
}

pub mod atomic;
pub mod cache;
pub mod data;
pub mod dist;
pub mod error;
pub mod eval;
pub mod events;
pub mod export;
pub mod feed;
pub mod format;
pub mod graph;
pub mod model;
pub mod predict;
pub mod pretrain;
pub mod sandbox;
pub mod slim;
pub mod summary;
pub mod sweep;
pub mod tf;
pub mod train;
pub mod zoo;

internal_mod! {
    proto;
    runtime;
    suggest;
    transfer;
}

pub use data::DataSet;
pub use error::{Error, Result, Role};
pub use events::{Event, EventSink};
pub use graph::layers::{Activation, Dense, Dropout, Flatten, Gap, Init};
pub use graph::optimizer::{Adam, Momentum, Sgd};
pub use model::{MetaGraph, Model, Source};
pub use runtime::Runtime;
pub use tf::runtime::LoadOptions;
pub use tf::SessionConfig;
pub use train::{Prepared, TransferSpec};
pub use transfer::{Schedule, Training, Transfer};
