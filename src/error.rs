//! The library's error type. Every variant renders as one line that names the file or the
//! argument at fault and, where there is one, the fix. Arguments are named by their role
//! ("the branch tensor"); a front end maps roles to its own names (the CLI to its flags).

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
    /// Stopped on request (Ctrl-C, SIGTERM) before there was anything to resume from.
    #[error("{0}")]
    Interrupted(String),
    /// Training diverged (NaN or infinite loss).
    #[error("{0}")]
    Diverged(String),
    /// A download failed (the network, the server, or what it sent).
    #[error("{0}")]
    Fetch(String),
    /// TensorFlow itself refused (import, session run, restore).
    #[error("TensorFlow: {0}")]
    Tf(String),
    /// The value given for one argument is at fault (missing from the graph, out of range…).
    #[error("{}{}: {msg}", role.describe(), value.as_ref().map(|v| format!(" {v}")).unwrap_or_default())]
    Arg { role: Role, value: Option<String>, msg: String },
}

/// What an argument is for: how errors name it without knowing the front end's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Input,
    Labels,
    BranchFrom,
    NewLayers,
    Prefix,
    Restore,
    Trainable,
    FreezeBelow,
    LearningRate,
    Clip,
    TrainOp,
    Loss,
    Metric,
    BatchSize,
    Cache,
    CacheLimit,
    Resume,
    Out,
    Device,
    Data,
    Scale,
    Split,
    Fetch,
    Feed,
    TrainingFlag,
    Set,
    SetInTraining,
    ClassWeight,
    Patience,
    Checkpoint,
    Tag,
}

impl Role {
    pub fn describe(self) -> &'static str {
        match self {
            Role::Input => "the input tensor",
            Role::Labels => "the labels tensor",
            Role::BranchFrom => "the branch tensor",
            Role::NewLayers => "the new layers",
            Role::Prefix => "the name prefix",
            Role::Restore => "the restore pattern",
            Role::Trainable => "the trainable pattern",
            Role::FreezeBelow => "the freeze tensor",
            Role::LearningRate => "the learning rate",
            Role::Clip => "the clip value",
            Role::TrainOp => "the training op",
            Role::Loss => "the loss tensor",
            Role::Metric => "the metric tensor",
            Role::BatchSize => "the batch size",
            Role::Cache => "the frozen-layer cache",
            Role::CacheLimit => "the cache size limit",
            Role::Resume => "the checkpoint to resume from",
            Role::Out => "the output prefix",
            Role::Device => "the device",
            Role::Data => "the data set",
            Role::Scale => "the feature scale",
            Role::Set => "a set tensor",
            Role::Checkpoint => "the checkpoint",
            Role::Tag => "the SavedModel tag",
            Role::SetInTraining => "a tensor set in training",
            Role::ClassWeight => "the class weights",
            Role::Patience => "early stopping",
            Role::Split => "the split",
            Role::Fetch => "the fetched tensor",
            Role::Feed => "the fed tensor",
            Role::TrainingFlag => "the training flag",
        }
    }
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }

    pub fn bad_file(path: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Error::BadFile { path: path.as_ref().to_path_buf(), msg: msg.into() }
    }

    /// An argument's value at fault: `role`, the value as given (if any), what is wrong.
    pub fn arg(role: Role, value: Option<&str>, msg: impl Into<String>) -> Self {
        Error::Arg { role, value: value.map(str::to_string), msg: msg.into() }
    }

    /// This error about the argument in `role`: a lookup failure (no such tensor…) reported
    /// against the argument that named it.
    pub fn for_arg(self, role: Role) -> Self {
        match self {
            Error::NotFound(m) | Error::Invalid(m) => Error::Arg { role, value: None, msg: m },
            other => other,
        }
    }

    /// The same error with `ctx` in front of its message, and the same exit code.
    pub fn context(self, ctx: impl std::fmt::Display) -> Self {
        match self {
            Error::TfLibrary(m) => Error::TfLibrary(format!("{ctx}: {m}")),
            Error::Io { path, source } => Error::BadFile { path, msg: format!("{ctx}: {source}") },
            Error::BadFile { path, msg } => Error::BadFile { path, msg: format!("{ctx}: {msg}") },
            Error::Interrupted(m) => Error::Interrupted(format!("{ctx}: {m}")),
            Error::NotFound(m) => Error::NotFound(format!("{ctx}: {m}")),
            Error::Invalid(m) => Error::Invalid(format!("{ctx}: {m}")),
            Error::Diverged(m) => Error::Diverged(format!("{ctx}: {m}")),
            Error::Fetch(m) => Error::Fetch(format!("{ctx}: {m}")),
            Error::Tf(m) => Error::Tf(format!("{ctx}: {m}")),
            Error::Arg { role, value, msg } => Error::Arg { role, value, msg: format!("{ctx}: {msg}") },
        }
    }

    /// Documented process exit code for this kind of failure (see README).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::NotFound(_) | Error::Arg { .. } => 2,
            Error::Io { .. } | Error::BadFile { .. } => 3,
            Error::TfLibrary(_) => 4,
            Error::Tf(_) => 5,
            Error::Diverged(_) => 6,
            Error::Fetch(_) => 7,
            Error::Interrupted(_) => 130,
        }
    }
}

impl From<tensorflow::Status> for Error {
    fn from(s: tensorflow::Status) -> Self {
        Error::Tf(tf_summary(&s.to_string()))
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

/// A TF message in one line. It can span lines (stack-like context): the first says what
/// failed, unless it ends in `:` (`Unavailable:`, `From /job:ps/…:`), then what follows does.
/// A remote error names the task that failed (`… from remote target /job:ps/…/task:0 …`).
fn tf_summary(s: &str) -> String {
    let mut out = String::new();
    let lines = s.lines().map(str::trim).filter(|l| !l.is_empty() && !l.chars().all(|c| c == '='));
    for l in lines.take(4) {
        // `Unavailable:` then `UNAVAILABLE: From …`: the code once.
        let l = match l.split_once(": ") {
            Some((code, rest)) if out.to_lowercase().starts_with(&format!("{}:", code.to_lowercase())) => rest,
            _ => l,
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(l);
        if !l.ends_with(':') {
            break;
        }
    }
    if let Some(task) = s.split("from remote target ").nth(1).and_then(|r| r.split_whitespace().next()) {
        out.push_str(&format!(" (remote task {task})"));
    }
    out
}

pub(crate) fn first_line(s: &str) -> String {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_remote_tf_error_is_one_line_that_says_what_and_where() {
        let msg = "Unavailable: \n=====================\nUNAVAILABLE: From /job:worker/replica:0/task:0:\nrecvmsg:Connection reset by peer\n\
                   Additional GRPC error information from remote target /job:ps/replica:0/task:0 while calling /tensorflow.WorkerService/RecvTensor:\n\
                   :UNKNOWN:Error received from peer\n=====================\n";
        assert_eq!(
            super::tf_summary(msg),
            "Unavailable: From /job:worker/replica:0/task:0: recvmsg:Connection reset by peer (remote task /job:ps/replica:0/task:0)"
        );
        assert_eq!(super::tf_summary("Invalid argument: bad shape\n\t [[{{node x}}]]"), "Invalid argument: bad shape");
    }
}
