//! Sessions: the settings tfreuse opens them with (threads, soft placement, XLA, target) and
//! runs whose feeds and fetches are only known at run time.

use std::path::Path;
use std::time::{Duration, Instant};

use prost::Message;
use tensorflow::{Operation, Output, Session, SessionOptions, SessionRunArgs, Tensor};

use crate::error::{Error, Result, Role};
use crate::tf::jit::Jit;
use crate::tf::tensors::{output_dtype, DynArray, DynTensor};

/// Session settings.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SessionConfig {
    /// Threads inside one op (0: TF's default, one per core).
    pub intra_op_threads: i32,
    /// Ops run in parallel (0: TF's default).
    pub inter_op_threads: i32,
    /// Session target: empty for in-process, `grpc://host:port` for a TF server.
    pub target: Option<String>,
    /// Compile the graph's clusters with XLA (`global_jit_level = ON_1`): faster training of
    /// large steps, but sums in another order, so not bit-identical to a Python run without it.
    pub jit: Jit,
    /// The only devices of a cluster the session sees (a worker: the ps tasks and itself).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_filters: Vec<String>,
    /// Run whatever the graph holds, even nodes that reach outside the process (see
    /// `graph::trust`); false: such runs are refused.
    #[serde(skip)]
    pub trust_graph: bool,
}

impl SessionConfig {
    /// TF's ConfigProto for these settings (soft placement always on: `--device /gpu:0`
    /// falls back to the CPU).
    pub(crate) fn config_proto(&self) -> crate::proto::ConfigProto {
        use crate::proto::{optimizer_options::GlobalJitLevel, ConfigProto, GraphOptions, OptimizerOptions};
        ConfigProto {
            intra_op_parallelism_threads: self.intra_op_threads,
            inter_op_parallelism_threads: self.inter_op_threads,
            allow_soft_placement: true,
            device_filters: self.device_filters.clone(),
            graph_options: (self.jit == Jit::On).then(|| GraphOptions {
                optimizer_options: Some(OptimizerOptions { global_jit_level: GlobalJitLevel::On1 as i32, ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The options a session opens with: these settings, and the target (which must answer).
    pub fn options(&self) -> Result<SessionOptions> {
        let mut opts = SessionOptions::new();
        let mut config = self.config_proto();
        if let Some(t) = &self.target {
            reach(t)?;
            // A remote step that never answers (its server gone) fails instead of hanging.
            config.operation_timeout_in_ms = REMOTE_STEP_TIMEOUT_MS;
            opts.set_target(t).map_err(|_| Error::Invalid("session target contains a NUL byte".into()))?;
        }
        opts.set_config(&config.encode_to_vec())?;
        Ok(opts)
    }
}

/// How long one run on a TF server may take before it fails.
const REMOTE_STEP_TIMEOUT_MS: i64 = 120_000;

/// A `grpc://HOST:PORT` target accepts connections (one try, within 5 s): TF's own session
/// would retry an unreachable address for ever.
fn reach(target: &str) -> Result<()> {
    let address = target.strip_prefix("grpc://").unwrap_or(target);
    wait_for(address, Duration::from_secs(5), Instant::now())
        .map_err(|why| Error::arg(Role::Target, Some(target), format!("cannot reach a TF server there: {why}")))
}

/// Wait until `address` (HOST:PORT) accepts a TCP connection (each try bounded by `timeout`),
/// trying again until `deadline` passes; else why not.
pub fn wait_for(address: &str, timeout: Duration, deadline: Instant) -> std::result::Result<(), String> {
    use std::net::ToSocketAddrs;
    loop {
        let mut last = String::from("the name resolves to no address");
        for a in address.to_socket_addrs().map_err(|e| e.to_string())? {
            match std::net::TcpStream::connect_timeout(&a, timeout) {
                Ok(_) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
        }
        if Instant::now() >= deadline {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One session run: feed tensors, fetch outputs (any dtype), run target ops.
pub fn run(session: &Session, feeds: &[(Output, &DynTensor)], fetches: &[Output], targets: &[Operation]) -> Result<Vec<DynArray>> {
    let mut args = SessionRunArgs::new();
    for (out, t) in feeds {
        t.feed(&mut args, &out.operation, out.index);
    }
    let tokens: Vec<_> = fetches.iter().map(|o| args.request_fetch(&o.operation, o.index)).collect();
    for t in targets {
        args.add_target(t);
    }
    session.run(&mut args)?;
    fetches.iter().zip(tokens).map(|(o, tok)| DynArray::fetch(&mut args, tok, output_dtype(o))).collect()
}

/// Run `op` with a checkpoint prefix fed into `filename` (a saver's restore or save).
pub fn run_with_prefix(session: &Session, filename: &Output, op: &Operation, prefix: &Path) -> Result<()> {
    let name = Tensor::from(prefix.to_string_lossy().into_owned());
    let mut args = SessionRunArgs::new();
    args.add_feed(&filename.operation, filename.index, &name);
    args.add_target(op);
    Ok(session.run(&mut args)?)
}
