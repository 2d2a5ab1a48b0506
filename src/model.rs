//! An imported TF1 model: `tf.train.import_meta_graph` + `Session` + `Saver.restore`, and
//! looking tensors and operations up by name (`dnn/hidden4/Relu:0`, `GradientDescent`).

use std::path::Path;

use prost::Message;
use tensorflow::{Graph, ImportGraphDefOptions, Operation, Output, Session, SessionOptions, SessionRunArgs};

use crate::error::{Error, Result};
use crate::metagraph::{parse_tensor_name, MetaGraph};
use crate::suggest::{closest, did_you_mean};
use crate::tensors::{DynArray, DynTensor};

/// Session settings.
#[derive(Clone, Debug, Default)]
pub struct SessionConfig {
    /// Threads inside one op (0: TF's default, one per core).
    pub intra_op_threads: i32,
    /// Ops run in parallel (0: TF's default).
    pub inter_op_threads: i32,
    /// Session target: empty for in-process, `grpc://host:port` for a TF server.
    pub target: Option<String>,
    /// Compile the graph's clusters with XLA (`global_jit_level = ON_1`): faster training,
    /// but sums in another order, so not bit-identical to a Python run without it.
    pub jit: bool,
}

impl SessionConfig {
    fn options(&self) -> Result<SessionOptions> {
        let mut opts = SessionOptions::new();
        use crate::proto::{optimizer_options::GlobalJitLevel, ConfigProto, GraphOptions, OptimizerOptions};
        let cfg = ConfigProto {
            intra_op_parallelism_threads: self.intra_op_threads,
            inter_op_parallelism_threads: self.inter_op_threads,
            allow_soft_placement: true,
            graph_options: self.jit.then(|| GraphOptions {
                optimizer_options: Some(OptimizerOptions { global_jit_level: GlobalJitLevel::On1 as i32, ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        };
        opts.set_config(&cfg.encode_to_vec())?;
        if let Some(t) = &self.target {
            opts.set_target(t).map_err(|_| Error::Invalid("session target contains a NUL byte".into()))?;
        }
        Ok(opts)
    }
}

/// A graph imported from a `.meta` file with an open session on it.
pub struct Model {
    pub meta: MetaGraph,
    pub graph: Graph,
    pub session: Session,
}

impl Model {
    /// `tf.train.import_meta_graph(meta)` and a new session (variables not yet restored).
    pub fn load(meta_path: &Path, cfg: &SessionConfig) -> Result<Model> {
        let meta = MetaGraph::read(meta_path)?;
        Self::from_meta(meta, cfg)
    }

    pub fn from_meta(mut meta: MetaGraph, cfg: &SessionConfig) -> Result<Model> {
        let mut graph = Graph::new();
        import_graph(&mut graph, &mut meta)?;
        let session = Session::new(&cfg.options()?, &graph)?;
        Ok(Model { meta, graph, session })
    }

    /// `saver.restore(sess, prefix)` through the graph's own saver_def restore op.
    pub fn restore(&self, prefix: &Path) -> Result<()> {
        let saver = self.meta.saver_def().ok_or_else(|| {
            Error::bad_file(&self.meta.path, "the .meta has no saver_def, so it cannot restore a checkpoint")
        })?;
        let ops = crate::saver::RestoreOps {
            filename: self.output(&saver.filename_tensor_name)?,
            restore: self.operation(&saver.restore_op_name)?,
        };
        crate::saver::run_restore(self, &ops, prefix)
    }

    /// An operation by name, or an error suggesting the closest names.
    pub fn operation(&self, name: &str) -> Result<Operation> {
        find_operation(&self.graph, name)
    }

    /// A tensor (`op:index`, or `op` for output 0), or an error suggesting the closest names.
    pub fn output(&self, name: &str) -> Result<Output> {
        find_output(&self.graph, name)
    }

    /// One session run: feed tensors, fetch outputs (any dtype), run target ops.
    pub fn run(&self, feeds: &[(Output, &DynTensor)], fetches: &[Output], targets: &[Operation]) -> Result<Vec<DynArray>> {
        let mut args = SessionRunArgs::new();
        for (out, t) in feeds {
            t.feed(&mut args, &out.operation, out.index);
        }
        let tokens: Vec<_> = fetches.iter().map(|o| args.request_fetch(&o.operation, o.index)).collect();
        for t in targets {
            args.add_target(t);
        }
        self.session.run(&mut args)?;
        fetches
            .iter()
            .zip(tokens)
            .map(|(o, tok)| DynArray::fetch(&mut args, tok, o.operation.output_type(o.index as usize)))
            .collect()
    }
}

/// Import `meta`'s graph into `graph` (empty). Stale `_output_shapes` hints that today's
/// shape inference rejects are dropped (from `meta` too) and the import retried.
pub fn import_graph(graph: &mut Graph, meta: &mut MetaGraph) -> Result<()> {
    let refused = |path: &Path, s: tensorflow::Status| Error::bad_file(path, format!("TensorFlow cannot import the graph: {}", Error::from(s)));
    match graph.import_graph_def(meta.graph_def_bytes(), &ImportGraphDefOptions::new()) {
        Ok(()) => Ok(()),
        Err(s) if s.to_string().contains("_output_shapes") && meta.strip_output_shapes() > 0 => {
            *graph = Graph::new();
            graph.import_graph_def(meta.graph_def_bytes(), &ImportGraphDefOptions::new()).map_err(|s| refused(&meta.path, s))
        }
        Err(s) => Err(refused(&meta.path, s)),
    }
}

/// An operation of `graph` by name, or an error suggesting the closest names.
pub fn find_operation(graph: &Graph, name: &str) -> Result<Operation> {
    if let Some(op) = graph.operation_by_name(name).ok().flatten() {
        return Ok(op);
    }
    let names: Vec<String> = graph.operation_iter().filter_map(|op| op.name().ok()).collect();
    let s = closest(name, names.iter().map(String::as_str), 3);
    Err(Error::NotFound(format!("no operation {name:?} in the graph{}", did_you_mean(&s))))
}

/// A tensor of `graph` (`op:index`, or `op` for output 0), or an error suggesting names.
pub fn find_output(graph: &Graph, name: &str) -> Result<Output> {
    let (op_name, index) = parse_tensor_name(name);
    let Some(op) = graph.operation_by_name(op_name).ok().flatten() else {
        let names = tensor_names(graph);
        let s = closest(name, names.iter().map(String::as_str), 3);
        return Err(Error::NotFound(format!("no tensor {name:?} in the graph{}", did_you_mean(&s))));
    };
    if index >= op.num_outputs() {
        let outs: Vec<String> = (0..op.num_outputs().min(3)).map(|i| format!("{op_name}:{i}")).collect();
        return Err(Error::NotFound(format!(
            "no tensor {name:?}: operation {op_name} has {} output(s){}",
            op.num_outputs(),
            did_you_mean(&outs)
        )));
    }
    Ok(Output { operation: op, index: index as i32 })
}

/// `op:i` for every output of every operation.
pub fn tensor_names(graph: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for op in graph.operation_iter() {
        if let Ok(n) = op.name() {
            out.extend((0..op.num_outputs()).map(|i| format!("{n}:{i}")));
        }
    }
    out
}
