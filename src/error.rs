//! The library's error type. Every variant renders as one line that names the file or flag
//! at fault and, where there is one, the fix.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libtensorflow could not be found or loaded.
    #[error("{0}")]
    TfLibrary(String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// A file exists but its contents are not what they should be.
    #[error("{}: {msg}", path.display())]
    BadFile { path: PathBuf, msg: String },
    /// A tensor, operation, variable or collection name that the graph does not have.
    #[error("{0}")]
    NotFound(String),
    /// Arguments that cannot work together, or a value out of range.
    #[error("{0}")]
    Invalid(String),
    /// Training diverged (NaN or infinite loss).
    #[error("{0}")]
    Diverged(String),
    /// TensorFlow itself refused (import, session run, restore).
    #[error("TensorFlow: {0}")]
    Tf(String),
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }

    pub fn bad_file(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::BadFile { path: path.as_ref().to_path_buf(), msg: msg.into() }
    }

    /// Documented process exit code for this kind of failure (see README).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::NotFound(_) => 2,
            Error::Io { .. } | Error::BadFile { .. } => 3,
            Error::TfLibrary(_) => 4,
            Error::Tf(_) => 5,
            Error::Diverged(_) => 6,
        }
    }
}

impl From<tensorflow::Status> for Error {
    fn from(s: tensorflow::Status) -> Self {
        // TF messages can span lines (stack-like context); keep the first, it says what failed.
        let msg = s.to_string();
        Error::Tf(first_line(&msg))
    }
}

impl From<std::ffi::NulError> for Error {
    fn from(_: std::ffi::NulError) -> Self {
        Error::Invalid("a name contains a NUL byte".into())
    }
}

impl From<std::str::Utf8Error> for Error {
    fn from(_: std::str::Utf8Error) -> Self {
        Error::Tf("TensorFlow returned a name that is not UTF-8".into())
    }
}

pub(crate) fn first_line(s: &str) -> String {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string()
}
