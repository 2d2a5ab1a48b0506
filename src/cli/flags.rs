//! How the CLI names the library's argument roles: by its flags, in errors and warnings;
//! and the exit a command asks for.

use tfreuse::Role;

/// The flag that gives an argument of `role`.
pub fn flag(role: Role) -> &'static str {
    match role {
        Role::Input => "--input",
        Role::Labels => "--labels",
        Role::BranchFrom => "--branch-from",
        Role::NewLayers => "--new-layers",
        Role::Prefix => "--prefix",
        Role::Restore => "--restore",
        Role::Trainable => "--trainable",
        Role::FreezeBelow => "--freeze-below",
        Role::LearningRate => "--lr",
        Role::Clip => "--clip",
        Role::TrainOp => "--train-op",
        Role::Loss => "--loss",
        Role::Metric => "--metric",
        Role::BatchSize => "--batch-size",
        Role::Cache => "--cache-frozen",
        Role::CacheLimit => "--cache-max-mb",
        Role::Resume => "--resume",
        Role::Out => "--out",
        Role::Device => "--device",
        Role::Data => "--data",
        Role::Scale => "--scale",
        Role::Split => "--split",
        Role::Fetch => "--fetch",
        Role::Logits => "--logits",
        Role::Feed => "--feed",
        Role::TrainingFlag => "--training-flag",
        Role::Set => "--set",
        Role::Checkpoint => "--checkpoint",
        Role::Tag => "--tag",
        Role::SetInTraining => "--set-in-training",
        Role::ClassWeight => "--class-weight",
        Role::Patience => "--patience",
        Role::Prune => "--prune",
        Role::Init => "--init",
        Role::L2 => "--l2",
        Role::Optimizer => "--optimizer",
        Role::Classes => "--classes",
        Role::PerClass => "--per-class",
        Role::Augment => "--augment",
        Role::Resize => "--resize",
        Role::ResizeMode => "--resize-mode",
        Role::Strict => "--strict",
        Role::Cluster => "--cluster",
        Role::Job => "--job",
        Role::Task => "--task",
        Role::Target => "--target",
        Role::WaitSecs => "--wait-secs",
        Role::Sync => "--sync",
        Role::Plot => "--plot",
        Role::Draw => "--draw",
        Role::Json => "--json",
        Role::Unlabeled => "--unlabeled",
        Role::Corruption => "--corruption",
        Role::Manifest => "--manifest",
        Role::ZooDir => "--zoo-dir",
        Role::ZooFormat => "--format",
        Role::ZooPath => "--path",
        Role::CacheDir => "--cache-dir",
        Role::TfLib => "--tf-lib",
        Role::SaveOnNan => "--save-on-nan",
        Role::Graph => "--graph",
        Role::Meta => "--meta",
        Role::Arch => "--arch",
        Role::Force => "--force",
        Role::TrustGraph => "--trust-graph",
        Role::TrustOnFirstUse => "--trust-on-first-use",
        Role::Sandbox => "--sandbox",
    }
}

/// One line for an error: library errors name arguments by their flags (the command's own,
/// when it put [`Flags`] on the error).
pub fn render(err: &anyhow::Error) -> String {
    let flags = err.downcast_ref::<Flags>().copied().unwrap_or(Flags(|_| None));
    render_with(err, |r| flags.name(r).to_string())
}

/// One line for an error, arguments named by `name_of`.
pub fn render_with(err: &anyhow::Error, name_of: impl Fn(Role) -> String) -> String {
    match err.downcast_ref::<tfreuse::Error>() {
        Some(e @ tfreuse::Error::Arg { .. }) => e.render_with(name_of),
        Some(e) => with_sandbox_hint(with_feed_hint(e.render_with(name_of))),
        None => with_sandbox_hint(with_feed_hint(err.to_string())),
    }
}

/// A library error's line with the usual flags (for messages built around one).
pub fn message(err: &tfreuse::Error) -> String {
    err.render_with(|r| flag(r).to_string())
}

/// The flags of a command that names some roles otherwise than [`flag`] (`new --layers`): the
/// context it puts on its errors, which [`render`] reads.
#[derive(Clone, Copy, Debug)]
pub struct Flags(pub fn(Role) -> Option<&'static str>);

impl Flags {
    /// The flag that gives `role` in this command.
    pub fn name(self, role: Role) -> &'static str {
        (self.0)(role).unwrap_or_else(|| flag(role))
    }
}

impl std::fmt::Display for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("as this command names its flags")
    }
}

/// TF's "You must feed a value for placeholder tensor 'keep_prob'" names no way to do it.
fn with_feed_hint(msg: String) -> String {
    const MUST: &str = "You must feed a value for placeholder tensor '";
    match msg.split_once(MUST).and_then(|(_, rest)| rest.split_once('\'')) {
        Some((name, _)) => format!("{msg} (a second input: give it a value with --set {name}:0=VALUE)"),
        None => msg,
    }
}

/// A file access TensorFlow was denied: where the denial may come from. (A denial on a
/// `tfreuse server` task reaches the client as `PermissionDenied: From /job:…`.)
fn with_sandbox_hint(msg: String) -> String {
    if !msg.contains("Permission denied") {
        msg
    } else if msg.contains("PermissionDenied: From /job:") {
        format!("{msg} (a tfreuse server's sandbox allows only its --allow-read and --allow-write paths)")
    } else if super::sandbox::entered() {
        format!("{msg} (the sandbox allows only the paths the command names: -v lists them, --no-sandbox lifts it)")
    } else {
        msg
    }
}

/// A warning on stderr; the arguments it mentions named by their flags.
pub fn warn(msg: Option<&str>) {
    if let Some(m) = msg {
        eprintln!("tfreuse: warning: {}", tfreuse::error::render_roles(m, |r| flag(r).to_string()));
    }
}

/// A command's way out with an exit code of its own, after saying why on stderr (Ctrl-C: 130).
#[derive(Debug)]
pub struct Exit(pub i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}
