//! The global flags: where libtensorflow is, oneDNN, XLA, threads, a TF server; and the
//! [`tfreuse::Runtime`] they load.

use std::path::PathBuf;

use clap::Args;
use tfreuse::tf::runtime::{self as tflib, LoadOptions};
use tfreuse::tf::Jit;
use tfreuse::SessionConfig;

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Directory holding libtensorflow (libtensorflow.so, or a wheel's libtensorflow_cc.so.2); else $TENSORFLOW_DIR, the repo .venv, python3, LD_LIBRARY_PATH, /usr/local/lib.
    #[arg(long, global = true, value_name = "DIR")]
    pub tf_lib: Option<PathBuf>,
    /// Show TensorFlow's own log output.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// oneDNN kernels on or off (TF_ENABLE_ONEDNN_OPTS); set the same as the other side of an
    /// exact comparison. Default: TF_ENABLE_ONEDNN_OPTS if set; else, for training, on when the
    /// graph has convolutions or no layer is frozen, off for dense layers with frozen ones
    /// (--freeze-below, --trainable: as measured), and TF's own default (on) for the other
    /// commands.
    #[arg(long, global = true, value_name = "on|off", value_parser = parse_on_off)]
    pub onednn: Option<bool>,
    /// Threads within one op (0: one per core).
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    pub intra_threads: i32,
    /// Ops run in parallel (0: TF's default).
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    pub inter_threads: i32,
    /// Compile the graph with XLA: on, off, or auto (training: on for a model's own dense
    /// training op of at least 10 MFLOP a step over at least 4000 steps with oneDNN off, where
    /// it measured 15–25 % faster; off with oneDNN on, for shorter runs, the steps tfreuse
    /// builds, convolutions and the other commands). Bare --jit is on. With XLA the numbers
    /// match Python TF run with the same setting (global_jit_level ON_1), not Python without it.
    #[arg(long, global = true, value_name = "on|off|auto", num_args = 0..=1, default_value = "auto",
          default_missing_value = "on", value_parser = parse_jit)]
    pub jit: Jit,
    /// Run the sessions on a TF server (`tfreuse server`, or Python's tf.distribute.Server):
    /// grpc://HOST:PORT. Its tasks run the ops and hold the variables; files (checkpoints,
    /// --out) are read and written by the server's processes.
    #[arg(long, global = true, value_name = "grpc://HOST:PORT")]
    pub target: Option<String>,
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
    /// Load libtensorflow (once) as these options say.
    pub fn load_tf(&self) -> tfreuse::Result<()> {
        tflib::load(&self.load_options(self.onednn))?;
        Ok(())
    }

    fn load_options(&self, onednn: Option<bool>) -> LoadOptions {
        LoadOptions { lib_dir: self.tf_lib.clone(), verbose: self.verbose, onednn }
    }

    /// libtensorflow loaded as these options say, sessions opened with them.
    pub fn runtime(&self) -> tfreuse::Result<tfreuse::Runtime> {
        Ok(tfreuse::Runtime::load(self.load_options(self.onednn))?.with_session(self.session_config()))
    }

    /// [`Global::runtime`] for training `spec`: unless `--onednn` or `TF_ENABLE_ONEDNN_OPTS`
    /// chose, oneDNN as the library decides for its graph (said so).
    pub fn runtime_for_training(&self, spec: &tfreuse::TransferSpec) -> tfreuse::Result<tfreuse::Runtime> {
        let (opts, why) = tfreuse::train::job::load_options(spec, self.load_options(self.onednn));
        if let (Some(on), Some(why)) = (opts.onednn, why) {
            eprintln!("oneDNN: {} ({why}; --onednn on|off to choose)", if on { "on" } else { "off" });
        }
        Ok(tfreuse::Runtime::load(opts)?.with_session(self.session_config()))
    }

    pub fn session_config(&self) -> SessionConfig {
        SessionConfig {
            intra_op_threads: self.intra_threads,
            inter_op_threads: self.inter_threads,
            target: self.target.clone(),
            jit: self.jit,
            device_filters: vec![],
        }
    }
}
