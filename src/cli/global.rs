//! The options of commands that load TensorFlow: where libtensorflow is, oneDNN, XLA,
//! threads, a TF server; and the [`tfreuse::Runtime`] they load. Each command takes the
//! parts it uses, so none shows a flag it ignores.

use std::path::PathBuf;

use clap::Args;

use super::headings::{CLUSTER, GLOBAL, PERFORMANCE, SECURITY};
use tfreuse::tf::runtime::{self as tflib, LoadOptions};
use tfreuse::tf::Jit;
use tfreuse::SessionConfig;

/// Where libtensorflow is and how loud it is: the options of every command that loads it.
#[derive(Args, Debug, Clone, Default)]
pub struct Library {
    /// Directory holding libtensorflow.
    ///
    /// libtensorflow.so, or a wheel's libtensorflow_cc.so.2. Without it: $TENSORFLOW_DIR, the
    /// environment tfreuse is installed in, the repo .venv, python3's TensorFlow,
    /// LD_LIBRARY_PATH, /usr/local/lib.
    #[arg(long, value_name = "DIR", help_heading = GLOBAL)]
    pub tf_lib: Option<PathBuf>,
    /// Show TensorFlow's own log output.
    #[arg(short, long, help_heading = GLOBAL)]
    pub verbose: bool,
}

/// Which kernels: every command that runs ops (the server's too).
#[derive(Args, Debug, Clone, Default)]
pub struct Kernels {
    /// oneDNN kernels on or off.
    ///
    /// Sets TF_ENABLE_ONEDNN_OPTS; set the same as the other side of an exact comparison.
    /// Default: TF_ENABLE_ONEDNN_OPTS if set; else, for training, on when the graph has
    /// convolutions or no layer is frozen, off for dense layers with frozen ones
    /// (--freeze-below, --trainable: as measured), and TF's own default (on) for the other
    /// commands.
    #[arg(long, value_name = "on|off", value_parser = parse_on_off, help_heading = PERFORMANCE)]
    pub onednn: Option<bool>,
}

/// How sessions run: every command that runs a graph in a session.
#[derive(Args, Debug, Clone, Default)]
pub struct Sessions {
    /// Threads within one op (0: one per core).
    #[arg(long, default_value_t = 0, value_name = "N", help_heading = PERFORMANCE)]
    pub intra_threads: i32,
    /// Ops run in parallel (0: TF's default).
    #[arg(long, default_value_t = 0, value_name = "N", help_heading = PERFORMANCE)]
    pub inter_threads: i32,
    /// Compile the graph with XLA: on, off or auto (bare --jit: on).
    ///
    /// auto: for training, on for a model's own dense training op of at least 10 MFLOP a step
    /// over at least 4000 steps with oneDNN off, where it measured 15–25 % faster; off with
    /// oneDNN on, for shorter runs, the steps tfreuse builds, convolutions and the other
    /// commands. With XLA the numbers match Python TF run with the same setting
    /// (global_jit_level ON_1), not Python without it.
    #[arg(long, value_name = "on|off|auto", num_args = 0..=1, default_value = "auto",
          default_missing_value = "on", value_parser = parse_jit, help_heading = PERFORMANCE)]
    pub jit: Jit,
    /// Run the sessions on a TF server: grpc://HOST:PORT.
    ///
    /// A `tfreuse server`, or Python's tf.distribute.Server. Its tasks run the ops and hold the
    /// variables; files (checkpoints, --out) are read and written by the server's processes.
    #[arg(long, value_name = "grpc://HOST:PORT", help_heading = CLUSTER)]
    pub target: Option<String>,
}

/// What a graph may do: every command that runs one.
#[derive(Args, Debug, Clone, Default)]
pub struct Safety {
    /// Run the graph even if it reads or writes files or talks to the network.
    ///
    /// A model is a program. Without this flag a run that would execute a node of the model
    /// that reaches outside the process (`tfreuse inspect` lists them) is refused; the
    /// model's own saver restoring the checkpoint tfreuse names is always allowed. The
    /// sandbox still applies. See docs/security.md.
    #[arg(long, help_heading = SECURITY)]
    pub trust_graph: bool,
    /// Confine the run with Linux's Landlock: auto, require or off.
    ///
    /// The run may read only the model, its checkpoint, the data and libtensorflow, write only
    /// where the command writes (--out's folder, the feature cache, --logdir, a private temp
    /// folder) and open TCP connections only to the addresses --target and --cluster name.
    /// auto: where the kernel has no Landlock, say so and run; require: fail instead.
    /// -v prints the rules.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = SandboxMode::Auto, help_heading = SECURITY)]
    pub sandbox: SandboxMode,
    /// The same as --sandbox off: run with every access this user has.
    #[arg(long, conflicts_with = "sandbox", help_heading = SECURITY)]
    pub no_sandbox: bool,
}

/// Whether to confine a run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SandboxMode {
    /// Confine where the kernel can; say so where it cannot.
    #[default]
    Auto,
    /// Confine, or fail.
    Require,
    /// Do not confine.
    Off,
}

impl SandboxMode {
    /// This mode, or off when `--no-sandbox` says so.
    pub fn unless(self, no_sandbox: bool) -> SandboxMode {
        if no_sandbox {
            SandboxMode::Off
        } else {
            self
        }
    }
}

impl Safety {
    /// The sandbox mode, `--no-sandbox` included.
    pub fn mode(&self) -> SandboxMode {
        self.sandbox.unless(self.no_sandbox)
    }
}

/// The options of a command that runs graphs: where libtensorflow is, its kernels, its
/// sessions. Commands that need less take the parts ([`Library`], [`Kernels`]) and make one
/// with [`Global::from_parts`].
#[derive(Args, Debug, Clone, Default)]
pub struct Global {
    #[command(flatten)]
    pub kernels: Kernels,
    #[command(flatten)]
    pub sessions: Sessions,
    #[command(flatten)]
    pub safety: Safety,
    #[command(flatten)]
    pub library: Library,
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "1" | "true" => Ok(true),
        "off" | "0" | "false" => Ok(false),
        _ => Err("expected on or off".into()),
    }
}

fn parse_jit(s: &str) -> Result<Jit, String> {
    match s {
        "auto" => Ok(Jit::Auto),
        s => parse_on_off(s).map(|on| if on { Jit::On } else { Jit::Off }).map_err(|_| "expected on, off or auto".into()),
    }
}

impl Global {
    /// The options of a command that loads libtensorflow but runs no session of its own.
    pub fn from_parts(library: Library, kernels: Kernels) -> Global {
        Global { library, kernels, sessions: Sessions::default(), safety: Safety::default() }
    }

    /// These options, `--target` checked.
    pub fn checked(&self) -> tfreuse::Result<&Global> {
        self.sessions.target.as_deref().map(tfreuse::dist::check_target).transpose()?;
        Ok(self)
    }

    /// Load libtensorflow (once) as these options say.
    pub fn load_tf(&self) -> anyhow::Result<()> {
        tflib::load(&self.load_options(self.kernels.onednn))?;
        super::sandbox::enter(self.safety.mode(), self.library.verbose)
    }

    fn load_options(&self, onednn: Option<bool>) -> LoadOptions {
        LoadOptions { lib_dir: self.library.tf_lib.clone(), verbose: self.library.verbose, onednn }
    }

    /// libtensorflow loaded as these options say, sessions opened with them.
    pub fn runtime(&self) -> anyhow::Result<tfreuse::Runtime> {
        let runtime = tfreuse::Runtime::load(self.load_options(self.kernels.onednn))?.with_session(self.session_config());
        super::sandbox::enter(self.safety.mode(), self.library.verbose)?;
        Ok(runtime)
    }

    /// [`Global::runtime`] for training `spec`: unless `--onednn` or `TF_ENABLE_ONEDNN_OPTS`
    /// chose, oneDNN as the library decides for its graph (said so).
    pub fn runtime_for_training(&self, spec: &tfreuse::TransferSpec) -> anyhow::Result<tfreuse::Runtime> {
        let (opts, why) = tfreuse::train::job::load_options(spec, self.load_options(self.kernels.onednn));
        if let (Some(on), Some(why)) = (opts.onednn, why) {
            eprintln!("oneDNN: {} ({why}; --onednn on|off to choose)", if on { "on" } else { "off" });
        }
        let runtime = tfreuse::Runtime::load(opts)?.with_session(self.session_config());
        super::sandbox::enter(self.safety.mode(), self.library.verbose)?;
        Ok(runtime)
    }

    pub fn session_config(&self) -> SessionConfig {
        SessionConfig {
            intra_op_threads: self.sessions.intra_threads,
            inter_op_threads: self.sessions.inter_threads,
            target: self.sessions.target.clone(),
            jit: self.sessions.jit,
            device_filters: vec![],
            trust_graph: self.safety.trust_graph,
        }
    }
}
