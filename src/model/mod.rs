//! Where a model comes from and what it holds: a `.meta` (MetaGraphDef) and a checkpoint,
//! imported like `tf.train.import_meta_graph` into a graph with a session, restored like
//! `Saver.restore`, inspected, and saved back in the same format.

pub mod checkpoint;
pub mod found;
pub mod inspect;
pub mod save;
internal_mod! {
    fresh;
    metagraph;
    source;
}

use std::path::{Path, PathBuf};

use tensorflow::{Graph, ImportGraphDefOptions, Operation, Output, Session};

use crate::error::{Error, Result};
use crate::graph::trust::Gate;
use crate::tf::tensors::{DynArray, DynTensor};
use crate::tf::{find_operation, find_output, SessionConfig};
pub use metagraph::MetaGraph;
pub use source::Source;

/// Where a model is read from: a `.meta` beside its checkpoint, or a frozen GraphDef (`.pb`,
/// `.pbtxt`) whose weights are constants, so there is no checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ModelSource {
    /// A `.meta` (MetaGraphDef) and the checkpoint beside it.
    Meta(PathBuf),
    /// A frozen GraphDef, binary (`.pb`) or text (`.pbtxt`).
    Graph(PathBuf),
    /// A TF1 SavedModel directory and the tags of the MetaGraph to take (`serve`).
    SavedModel(PathBuf, String),
    /// Nothing yet: `X` and `y` placeholders for this shape of one example (`tfreuse new`).
    Fresh(Vec<usize>),
    /// A TF-Slim architecture by name (`inception_v3`): its built-in graph, restored from a
    /// checkpoint that must be given (TF-Slim's zoo ships checkpoints without a `.meta`).
    Arch(String),
}

impl ModelSource {
    /// The graph as a [`MetaGraph`] (a frozen graph's has no saver and no collections).
    /// Pins to a cluster's devices are cleared (see [`MetaGraph::clear_cluster_devices`]).
    pub fn read(&self) -> Result<MetaGraph> {
        let mut meta = match self {
            ModelSource::Meta(p) => MetaGraph::read(p),
            ModelSource::Graph(p) => MetaGraph::from_graph_file(p),
            ModelSource::SavedModel(dir, tags) => MetaGraph::from_saved_model(dir, tags),
            ModelSource::Fresh(features) => fresh::placeholders(features),
            ModelSource::Arch(name) => MetaGraph::from_arch(name),
        }?;
        meta.clear_cluster_devices();
        Ok(meta)
    }

    /// The `.meta`, if that is the source (a frozen graph has no checkpoint).
    pub fn meta(&self) -> Option<&Path> {
        match self {
            ModelSource::Meta(p) => Some(p),
            _ => None,
        }
    }

    /// The checkpoint to restore, given `arg` (a prefix, one of its files, or a directory
    /// with a state file): a SavedModel's own, the one `arg` or the `.meta` resolves to, the
    /// one an architecture needs, or none (a frozen graph).
    pub fn resolve_checkpoint(&self, arg: Option<&Path>) -> Result<Option<checkpoint::Resolved>> {
        match (self, arg) {
            (ModelSource::Meta(meta), _) => checkpoint::resolve(arg, meta).map(Some),
            (ModelSource::Arch(_), Some(c)) => checkpoint::resolve(Some(c), Path::new("")).map(Some),
            (ModelSource::Arch(name), None) => Err(Error::arg(
                crate::error::Role::Checkpoint,
                None,
                format!("missing: {name} is a graph without weights; give the checkpoint to restore"),
            )),
            _ => Ok(self.own_checkpoint().map(|prefix| checkpoint::Resolved { prefix, warning: None })),
        }
    }

    /// Where the variables are, when the source says so itself: a SavedModel's
    /// `variables/variables` (`None` too when it has no variables).
    pub(crate) fn own_checkpoint(&self) -> Option<PathBuf> {
        match self {
            ModelSource::SavedModel(dir, _) => Some(dir.join("variables/variables")).filter(|p| crate::model::checkpoint::prefix_exists(p)),
            _ => None,
        }
    }
}

/// A graph imported from a `.meta` file with an open session on it.
pub struct Model {
    /// The decoded graph, with what reading it noticed (`notes`).
    pub meta: MetaGraph,
    /// The imported graph.
    pub graph: Graph,
    /// The session on it.
    pub session: Session,
    /// Where it came from, when opened by [`crate::Runtime::open`].
    pub origin: Option<Source>,
    /// The checkpoint restored into it, if any.
    pub restored: Option<PathBuf>,
    /// What runs of it may execute: every run goes through [`Gate::check`].
    pub gate: Gate,
}

impl Model {
    /// `tf.train.import_meta_graph(meta)` and a new session (variables not yet restored).
    pub fn load(meta_path: &Path, cfg: &SessionConfig) -> Result<Model> {
        let meta = MetaGraph::read(meta_path)?;
        Self::from_meta(meta, cfg)
    }

    /// Import `meta` into a new graph and open a session on it (nothing restored).
    pub fn from_meta(mut meta: MetaGraph, cfg: &SessionConfig) -> Result<Model> {
        let mut graph = Graph::new();
        import_graph(&mut graph, &mut meta)?;
        let gate = match cfg.trust_graph {
            true => Gate::trusted_graph(&meta.path),
            false => Gate::new(&meta.path, &meta.graph_def()?, meta.saver_def(), crate::tf::runtime::registered_ops()?),
        };
        let session = Session::new(&cfg.options()?, &graph)?;
        Ok(Model { meta, graph, session, origin: None, restored: None, gate })
    }

    /// A new session on the same graph with other settings: a session's options are fixed when
    /// it is made. Nothing run in the old one carries over.
    pub(crate) fn reopen(&mut self, cfg: &SessionConfig) -> Result<()> {
        self.session = Session::new(&cfg.options()?, &self.graph)?;
        Ok(())
    }

    /// `saver.restore(sess, prefix)` through the graph's own saver_def restore op.
    pub fn restore(&self, prefix: &Path) -> Result<()> {
        let saver = self
            .meta
            .saver_def()
            .ok_or_else(|| Error::bad_file(&self.meta.path, "the .meta has no saver_def, so it cannot restore a checkpoint"))?;
        let filename = self.output(&saver.filename_tensor_name)?;
        let restore = self.operation(&saver.restore_op_name)?;
        restore_from(self, &filename, &restore, prefix).map_err(|e| match inspect::restore_mismatch(self, prefix) {
            Some(why) => Error::bad_file(prefix, format!("cannot restore this checkpoint into the graph: {why}")),
            None => e,
        })
    }

    /// A tensor by name or by signature key (`@KEY`, `@SIGNATURE/KEY`).
    pub fn tensor(&self, name: &str) -> Result<Output> {
        find_output(&self.graph, &self.meta.resolve_name(name)?)
    }

    /// An operation by name, or an error suggesting the closest names.
    pub(crate) fn operation(&self, name: &str) -> Result<Operation> {
        find_operation(&self.graph, name)
    }

    /// A tensor (`op:index`, or `op` for output 0), or an error suggesting the closest names.
    pub fn output(&self, name: &str) -> Result<Output> {
        find_output(&self.graph, name)
    }

    /// One session run: feed tensors, fetch outputs (any dtype), run target ops.
    pub fn run(&self, feeds: &[(Output, &DynTensor)], fetches: &[Output], targets: &[Operation]) -> Result<Vec<DynArray>> {
        let roots: Vec<&Operation> = fetches.iter().map(|o| &o.operation).chain(targets).collect();
        self.gate.check(&roots, &feeds.iter().map(|(o, _)| o).collect::<Vec<_>>())?;
        crate::tf::session::run(&self.session, feeds, fetches, targets)
    }

    /// Run `op` (a saver's restore or save) with checkpoint `prefix` fed into `filename`.
    pub fn run_with_prefix(&self, filename: &Output, op: &Operation, prefix: &Path) -> Result<()> {
        self.gate.check(&[op], &[filename])?;
        crate::tf::session::run_with_prefix(&self.session, filename, op, prefix)
    }
}

/// Run a restore op fed with checkpoint `prefix`; a failure names the checkpoint (a refusal
/// is its own error).
pub(crate) fn restore_from(model: &Model, filename: &Output, restore: &Operation, prefix: &Path) -> Result<()> {
    model.gate.check(&[restore], &[filename])?;
    model
        .run_with_prefix(filename, restore, prefix)
        .map_err(|e| Error::bad_file(prefix, format!("cannot restore this checkpoint into the graph: {e}")))
}

/// Import `meta`'s graph into `graph` (empty). Stale `_output_shapes` hints that today's
/// shape inference rejects are dropped (from `meta` too) and the import retried.
pub(crate) fn import_graph(graph: &mut Graph, meta: &mut MetaGraph) -> Result<()> {
    let refused =
        |path: &Path, s: tensorflow::Status| Error::bad_file(path, format!("TensorFlow cannot import the graph: {}", Error::from(s)));
    match graph.import_graph_def(meta.graph_def_bytes(), &ImportGraphDefOptions::new()) {
        Ok(()) => Ok(()),
        Err(s) if s.to_string().contains("_output_shapes") && meta.strip_output_shapes() > 0 => {
            *graph = Graph::new();
            graph.import_graph_def(meta.graph_def_bytes(), &ImportGraphDefOptions::new()).map_err(|s| refused(&meta.path, s))
        }
        Err(s) => Err(refused(&meta.path, s)),
    }
}
