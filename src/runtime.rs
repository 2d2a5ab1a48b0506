//! [`Runtime`]: libtensorflow loaded, as a value. Every entry point that runs TensorFlow asks
//! for one, so forgetting to load the library is a compile error rather than a panic.
//!
//! TensorFlow reads some settings (oneDNN, its log level) from the environment once, when the
//! library loads: they are the [`LoadOptions`] given to the first [`Runtime::load`] of the
//! process; later loads return the same library.

use std::path::Path;

use crate::error::Result;
use crate::model::{Model, Source};
use crate::tf::runtime::{self as lib, LoadOptions, TfLib};
use crate::tf::SessionConfig;

/// The loaded library and the settings sessions are opened with.
#[derive(Clone)]
pub struct Runtime {
    lib: &'static TfLib,
    session: SessionConfig,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("library", &self.lib.path).field("session", &self.session).finish()
    }
}

impl Runtime {
    /// Find and load libtensorflow as `opts` say (see [`crate::tf::runtime`] for where it
    /// looks); once per process.
    pub fn load(opts: LoadOptions) -> Result<Runtime> {
        let lib = lib::load(&opts)?;
        Ok(Runtime { lib, session: SessionConfig::default() })
    }

    /// The runtime already loaded in this process (an open model proves there is one).
    pub(crate) fn current() -> Result<Runtime> {
        Ok(Runtime { lib: lib::require_loaded()?, session: SessionConfig::default() })
    }

    /// The same runtime, its sessions opened with `cfg` (threads, XLA, a remote target).
    pub fn with_session(mut self, cfg: SessionConfig) -> Runtime {
        self.session = cfg;
        self
    }

    /// The settings sessions are opened with.
    pub fn session_config(&self) -> &SessionConfig {
        &self.session
    }

    /// Where the library was loaded from.
    pub fn library_path(&self) -> &Path {
        &self.lib.path
    }

    /// Import `source`'s graph into a new session and restore its checkpoint, like
    /// `tf.train.import_meta_graph` + `Saver.restore`. What reading or resolving the
    /// checkpoint noticed is in the model's `meta.notes`.
    pub fn open(&self, source: Source) -> Result<Model> {
        let mut model = Model::from_meta(source.read()?, &self.session)?;
        if let Some(c) = source.resolved_checkpoint()? {
            model.meta.notes.extend(c.warning);
            model.restore(&c.prefix)?;
            model.restored = Some(c.prefix);
        }
        model.origin = Some(source);
        Ok(model)
    }
}
