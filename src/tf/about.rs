//! What tfreuse can say about the TensorFlow it runs on, for a version display: the library's
//! version and file, or why none loaded; and whether oneDNN is on when nobody chooses.

use std::path::PathBuf;

use super::runtime::{self, LoadOptions};
use crate::error::{Error, Result};

/// The libtensorflow a command would run on.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Library {
    /// TF's own version string (`TF_Version`), e.g. 2.21.0.
    pub version: String,
    /// The shared library loaded (the file itself, not the loader's symlink to it).
    pub path: PathBuf,
}

/// Load libtensorflow as `opts` say and read its version.
pub fn library(opts: &LoadOptions) -> Result<Library> {
    let lib = runtime::load(opts)?;
    let version = tensorflow::version().map_err(|e| Error::TfLibrary(format!("TF_Version: {e}")))?;
    let path = std::fs::canonicalize(&lib.path).unwrap_or_else(|_| lib.path.clone());
    Ok(Library { version, path })
}

/// Where oneDNN's setting comes from when no command chooses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OneDnnDefault {
    /// `TF_ENABLE_ONEDNN_OPTS` is set: on or off as it says.
    Environment(bool),
    /// Unset: TF's default (on for the x86 Linux wheel), training choosing per graph
    /// ([`super::onednn`]).
    Chosen,
}

/// oneDNN's default in this environment.
pub fn onednn_default() -> OneDnnDefault {
    match std::env::var_os("TF_ENABLE_ONEDNN_OPTS") {
        Some(_) => OneDnnDefault::Environment(super::onednn::enabled()),
        None => OneDnnDefault::Chosen,
    }
}
