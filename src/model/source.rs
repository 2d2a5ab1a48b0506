//! [`Source`]: where a model's graph and weights come from, as one value — a `.meta` with its
//! checkpoint, a frozen GraphDef, or a SavedModel — the way candle's `VarBuilder` makes "where
//! the weights come from" something you pass.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::model::checkpoint::{index_path, Resolved};
use crate::model::{MetaGraph, ModelSource};

/// A model's graph and the checkpoint its variables are restored from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    from: ModelSource,
    checkpoint: Option<PathBuf>,
}

impl Source {
    /// A `.meta` written by `tf.train.Saver`; its checkpoint is the latest one beside it
    /// unless [`Source::checkpoint`] says otherwise.
    pub fn meta(path: impl Into<PathBuf>) -> Self {
        Self::from(ModelSource::Meta(path.into()))
    }

    /// A frozen GraphDef (`.pb` binary, `.pbtxt` text): weights are constants, no checkpoint.
    pub fn graph(path: impl Into<PathBuf>) -> Self {
        Self::from(ModelSource::Graph(path.into()))
    }

    /// TF-Slim's architecture `name` (`inception_v3`, see [`crate::slim`]), restored from the
    /// checkpoint [`Source::checkpoint`] gives (required).
    pub fn arch(name: &str) -> Self {
        Self::from(ModelSource::Arch(name.to_string()))
    }

    /// A TF1 SavedModel directory, its MetaGraph tagged `serve`.
    pub fn saved_model(dir: impl Into<PathBuf>) -> Self {
        Self::saved_model_tagged(dir, "serve")
    }

    /// A TF1 SavedModel directory, the MetaGraph with these comma-separated tags.
    pub fn saved_model_tagged(dir: impl Into<PathBuf>, tags: &str) -> Self {
        Self::from(ModelSource::SavedModel(dir.into(), tags.to_string()))
    }

    /// The graph as described by a [`ModelSource`].
    pub fn from(from: ModelSource) -> Self {
        Source { from, checkpoint: None }
    }

    /// Restore this checkpoint: a prefix (`dir/model.ckpt`), one of its files, or a directory
    /// holding a `checkpoint` state file.
    pub fn checkpoint(mut self, prefix_or_dir: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(prefix_or_dir.into());
        self
    }

    /// The graph's kind and path.
    pub fn kind(&self) -> &ModelSource {
        &self.from
    }

    /// The checkpoint as given, before resolving.
    pub fn checkpoint_arg(&self) -> Option<&Path> {
        self.checkpoint.as_deref()
    }

    /// The graph, decoded.
    pub fn read(&self) -> Result<MetaGraph> {
        self.from.read()
    }

    /// The checkpoint to restore: a SavedModel's own, the one the given checkpoint or the
    /// `.meta` resolves to, or none (a frozen graph).
    pub fn resolved_checkpoint(&self) -> Result<Option<Resolved>> {
        self.from.resolve_checkpoint(self.checkpoint.as_deref())
    }

    /// The files whose bytes decide the model: its graph, and its checkpoint's index (which
    /// holds a checksum of every tensor) or, for a V1 checkpoint, the checkpoint itself.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let mut files = match &self.from {
            ModelSource::Meta(m) => vec![m.clone()],
            ModelSource::Graph(g) => vec![g.clone()],
            ModelSource::SavedModel(d, _) => {
                ["saved_model.pb", "saved_model.pbtxt"].iter().map(|n| d.join(n)).filter(|p| p.exists()).collect()
            }
            ModelSource::Fresh(_) | ModelSource::Arch(_) => vec![],
        };
        if let Some(r) = self.resolved_checkpoint()? {
            let index = index_path(&r.prefix);
            files.push(if index.exists() { index } else { r.prefix });
        }
        Ok(files)
    }
}
