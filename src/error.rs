//! The library's error type. Every variant renders as one line that names the file or the
//! argument at fault and, where there is one, the fix. Arguments are named by their role
//! ("the branch tensor"); a front end maps roles to its own names (the CLI to its flags).

use std::path::{Path, PathBuf};

/// A result whose error is the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. `Display` gives one line, arguments named by [`Role::describe`];
/// [`Error::render_with`] names them otherwise (the CLI: by its flags).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libtensorflow could not be found or loaded.
    TfLibrary(String),
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file exists but its contents are not what they should be.
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// A tensor, operation, variable or collection name that the graph does not have.
    NotFound(String),
    /// Arguments that cannot work together, or a value out of range.
    Invalid(String),
    /// Stopped on request (Ctrl-C, SIGTERM) before there was anything to resume from.
    Interrupted(String),
    /// Training diverged (NaN or infinite loss).
    Diverged(String),
    /// A download failed (the network, the server, or what it sent).
    Fetch(String),
    /// TensorFlow itself refused (import, session run, restore).
    Tf(String),
    /// The value given for one argument is at fault (missing from the graph, out of range…).
    Arg {
        /// The argument.
        role: Role,
        /// Its value as given, when the message shows it.
        value: Option<String>,
        /// What is wrong.
        msg: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render_with(|r| r.describe().to_string()))
    }
}

/// Marks a role mentioned inside a message (see [`Role::mention`]); never shown.
const MARK: char = '\u{2060}';

/// Declares [`Role`] with each variant's description (its doc, and [`Role::describe`]).
macro_rules! roles {
    ($($name:ident => $describe:literal,)*) => {
        /// What an argument is for: how errors name it without knowing the front end's spelling.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Role {
            $(#[doc = $describe] $name,)*
        }

        impl Role {
            /// Every role.
            pub const ALL: &'static [Role] = &[$(Role::$name),*];

            /// How a library user reads the role: "the branch tensor".
            pub fn describe(self) -> &'static str {
                match self {
                    $(Role::$name => $describe,)*
                }
            }

            fn id(self) -> &'static str {
                match self {
                    $(Role::$name => stringify!($name),)*
                }
            }
        }
    };
}

roles! {
    Input => "the input tensor",
    Labels => "the labels tensor",
    BranchFrom => "the branch tensor",
    NewLayers => "the new layers",
    Prefix => "the name prefix",
    Restore => "the restore pattern",
    Trainable => "the trainable pattern",
    FreezeBelow => "the freeze tensor",
    LearningRate => "the learning rate",
    Clip => "the clip value",
    TrainOp => "the training op",
    Loss => "the loss tensor",
    Metric => "the metric tensor",
    BatchSize => "the batch size",
    Cache => "the frozen-layer cache",
    CacheLimit => "the cache size limit",
    Resume => "the checkpoint to resume from",
    Out => "the output prefix",
    Device => "the device",
    Data => "the data set",
    Scale => "the feature scale",
    Split => "the split",
    Fetch => "the fetched tensor",
    Logits => "the logits",
    Feed => "the fed tensor",
    TrainingFlag => "the training flag",
    Set => "a set tensor",
    SetInTraining => "a tensor set in training",
    ClassWeight => "the class weights",
    Patience => "early stopping",
    Checkpoint => "the checkpoint",
    Tag => "the SavedModel tag",
    Prune => "pruning",
    Init => "the kernel initialiser",
    L2 => "the L2 penalty",
    Optimizer => "the optimizer",
    Classes => "the classes kept",
    PerClass => "the examples per class",
    Augment => "the augmentation",
    Resize => "the picture size",
    ResizeMode => "the resize mode",
    Strict => "strict picture reading",
    Cluster => "the cluster",
    Job => "the job",
    Task => "the task index",
    Target => "the TF server address",
    WaitSecs => "the wait for the chief",
    Sync => "synchronous training",
    Plot => "the plot file",
    Draw => "the plan picture",
    Json => "JSON-lines",
    Unlabeled => "the unlabeled data",
    Corruption => "the corruption",
    Manifest => "the zoo manifest",
    ZooDir => "the zoo folder",
    ZooFormat => "the zoo model's format",
    ZooPath => "the model's path inside what is added",
    CacheDir => "the feature cache folder",
    TfLib => "the libtensorflow directory (LoadOptions::lib_dir)",
    SaveOnNan => "saving on NaN",
    Graph => "the frozen GraphDef file",
    Meta => "the MetaGraph file",
    Arch => "the TF-Slim architecture",
    Force => "replacing an existing output",
    TrustGraph => "trusting the graph",
    TrustOnFirstUse => "trusting a download on first use",
    Sandbox => "the sandbox",
}

impl Role {
    /// This role inside a message ("pass {} NAME"): a marker that [`render_roles`] turns into
    /// the role's name as the reader knows it ([`Error`]'s `Display`: [`Role::describe`]; the
    /// CLI: its flag).
    pub fn mention(self) -> String {
        format!("{MARK}{}{MARK}", self.id())
    }
}

/// `text` with every role [`Role::mention`] put there named by `name_of`.
pub fn render_roles(text: &str, name_of: impl Fn(Role) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(MARK) {
        let after = &rest[start + MARK.len_utf8()..];
        let Some((id, tail)) = after.split_once(MARK) else { break };
        match Role::ALL.iter().find(|r| r.id() == id) {
            Some(&role) => {
                out.push_str(&rest[..start]);
                out.push_str(&name_of(role));
                rest = tail;
            }
            None => {
                out.push_str(&rest[..start + MARK.len_utf8()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl Error {
    /// This error's line, with the arguments it mentions named by `name_of` (a front end's
    /// spelling of a [`Role`]); `Display` names them by [`Role::describe`].
    pub fn render_with(&self, name_of: impl Fn(Role) -> String) -> String {
        let text = match self {
            Error::TfLibrary(m) | Error::NotFound(m) | Error::Invalid(m) | Error::Interrupted(m) | Error::Diverged(m) | Error::Fetch(m) => {
                m.clone()
            }
            Error::Io { path, source } => format!("{}: {source}", path.display()),
            Error::BadFile { path, msg } => format!("{}: {msg}", path.display()),
            Error::Tf(m) => format!("TensorFlow: {m}"),
            Error::Arg { role, value, msg } => match value {
                Some(v) => format!("{} {v}: {msg}", role.mention()),
                None => format!("{}: {msg}", role.mention()),
            },
        };
        render_roles(&text, name_of)
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }

    /// `path` holds something it should not: `msg` says what.
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
    use super::{render_roles, Error, Role};

    #[test]
    fn mentions_read_as_the_reader_names_arguments() {
        let e = Error::arg(Role::Classes, Some("\"x\""), format!("needs {}", Role::BranchFrom.mention()));
        assert_eq!(e.to_string(), "the classes kept \"x\": needs the branch tensor");
        let flags = |r: Role| format!("--{}", r.describe().len());
        assert_eq!(e.render_with(flags), "--16 \"x\": needs --17");
        // A marker that names no role stays as it is.
        assert_eq!(render_roles("a \u{2060}Nope\u{2060} b", flags), "a \u{2060}Nope\u{2060} b");
        assert!(Role::ALL.iter().all(|r| render_roles(&r.mention(), |r| r.describe().into()) == r.describe()));
    }

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
