//! `--meta`, `--graph`, `--saved-model`, `--arch`, `--checkpoint` and `zoo:NAME`: where the model a
//! command loads comes from, and what a zoo entry fills in.

use std::path::PathBuf;

use clap::Args;
use tfreuse::data::images::Record;
use tfreuse::model::checkpoint::Resolved;
use tfreuse::model::ModelSource;
use tfreuse::zoo::{reference as zoo_ref, Entry, Format};
use tfreuse::{Model, Source};

use super::headings::MODEL;
use super::pictures::{parse_size, Fit, Recorded};
use super::{warn, zoo, Global, Notices};

/// `--meta` and `--checkpoint`, shared by the commands that load a model.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// The MetaGraphDef written by tf.train.Saver, e.g. my_model_final.ckpt.meta.
    #[arg(long, value_name = "FILE", help_heading = MODEL, required_unless_present_any = ["graph", "saved_model", "arch"], conflicts_with_all = ["graph", "saved_model", "arch"])]
    pub meta: Option<PathBuf>,
    /// A frozen GraphDef instead (.pb binary, .pbtxt text).
    ///
    /// Weights as constants, no checkpoint, as retrain.py reused Inception's.
    #[arg(long, value_name = "FILE", help_heading = MODEL, conflicts_with_all = ["checkpoint", "saved_model", "arch"])]
    pub graph: Option<PathBuf>,
    /// A TF1 SavedModel directory instead (saved_model.pb + variables/).
    ///
    /// Tensor names may then be given by signature key: @KEY (serving_default) or
    /// @SIGNATURE/KEY.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["checkpoint", "arch"], help_heading = MODEL)]
    pub saved_model: Option<PathBuf>,
    /// A TF-Slim architecture instead, restored from --checkpoint (TF-Slim's zoo checkpoints
    /// have no .meta).
    ///
    /// The graph TF-Slim builds for inception_v1, inception_v3, resnet_v1_50, resnet_v1_101,
    /// resnet_v2_50 or vgg_16 (inference mode, input `input`), built into tfreuse. Its end
    /// points are taken by TF-Slim's names wherever a tensor is named (InceptionV3/Mixed_7c,
    /// resnet_v1_50/block4); inspect lists them.
    #[arg(long, value_name = "NAME", help_heading = MODEL)]
    pub arch: Option<String>,
    /// The tags of the SavedModel's MetaGraph to take (comma-separated).
    #[arg(long, default_value = "serve", requires = "saved_model", help_heading = MODEL)]
    pub tag: String,
    /// Checkpoint prefix, or a directory with a `checkpoint` file [default: the .meta's].
    #[arg(long, value_name = "PREFIX|DIR", help_heading = MODEL)]
    pub checkpoint: Option<PathBuf>,
    #[command(flatten)]
    pub zoo: zoo::ZooArgs,
}

impl ModelArgs {
    /// Where the model comes from, as the flags say.
    pub fn source(&self) -> Source {
        let kind = match (&self.meta, &self.graph, &self.saved_model, &self.arch) {
            (_, _, Some(d), _) => ModelSource::SavedModel(d.clone(), self.tag.clone()),
            (_, Some(g), None, _) => ModelSource::Graph(g.clone()),
            (Some(m), None, None, _) => ModelSource::Meta(m.clone()),
            (None, None, None, Some(a)) => ModelSource::Arch(a.clone()),
            (None, None, None, None) => unreachable!("clap requires --meta, --graph, --saved-model or --arch"),
        };
        match &self.checkpoint {
            Some(c) => Source::from(kind).checkpoint(c),
            None => Source::from(kind),
        }
    }

    /// Fetch the model a `zoo:NAME` flag names (unless cached) and point the flags at it, as
    /// the entry's format says (whichever of the three flags named it); the entry, for the
    /// defaults it gives.
    pub fn resolve_zoo(&mut self) -> tfreuse::Result<Option<Entry>> {
        let named = [&self.meta, &self.graph, &self.saved_model].into_iter().flatten().find_map(|p| zoo_ref(p).map(str::to_string));
        let Some(name) = named else { return Ok(None) };
        let z = self.zoo.open()?;
        let e = z.entry(&name)?.clone();
        let path = z.fetch(&e, &mut Notices::default())?;
        eprintln!("zoo:{name}: {} {}", e.format.as_str(), path.display());
        (self.meta, self.graph, self.saved_model) = (None, None, None);
        match e.format {
            Format::Meta => self.meta = Some(path),
            Format::Graph => self.graph = Some(path),
            Format::SavedModel => self.saved_model = Some(path),
        }
        Ok(Some(e))
    }

    /// The checkpoint to restore: a SavedModel's own, the one `--checkpoint` / the `.meta`
    /// resolve to, or none (a frozen graph).
    pub fn checkpoint(&self) -> tfreuse::Result<Option<Resolved>> {
        self.source().resolved_checkpoint()
    }

    /// The source's graph; what reading changed goes to stderr.
    pub fn read(&self) -> tfreuse::Result<tfreuse::MetaGraph> {
        let meta = self.source().read()?;
        meta.notes.iter().for_each(|n| warn(Some(n)));
        Ok(meta)
    }

    /// The record saved beside the checkpoint of a model trained on pictures, if any (an
    /// unresolvable checkpoint is reported when the model loads).
    pub fn record(&self) -> tfreuse::Result<Option<Recorded>> {
        match self.checkpoint() {
            Ok(Some(c)) => Record::read(&c.prefix),
            _ => Ok(None),
        }
    }

    /// Load TF, import the graph and restore the checkpoint; warnings go to stderr.
    pub fn load_restored(&self, g: &Global) -> anyhow::Result<Model> {
        let model = g.runtime()?.open(self.source())?;
        model.meta.notes.iter().for_each(|n| warn(Some(n)));
        if let Some(prefix) = &model.restored {
            eprintln!("restored {}", prefix.display());
        }
        Ok(model)
    }
}

/// Resolve a `zoo:NAME` model, and fill the flags left out from its entry; whether the entry
/// says its graph is trusted.
pub(super) fn zoo_model(
    model: &mut ModelArgs,
    input: &mut Option<String>,
    fit: &mut Fit,
    scale: &mut Option<String>,
    branch: Option<&mut Option<String>>,
) -> tfreuse::Result<bool> {
    if let Some(e) = model.resolve_zoo()? {
        ZooDefaults::new(&e, format!("zoo:{}", e.name), "from its manifest entry").apply(input, fit, scale, branch);
        if e.trusted {
            eprintln!("zoo:{}: its graph runs as with --trust-graph (trusted = true in its manifest entry)", e.name);
        }
        return Ok(e.trusted);
    } else if let Some(name) = &model.arch {
        // An unknown name is reported when the graph is read.
        if let Ok(arch) = tfreuse::slim::Arch::named(name) {
            ZooDefaults::new(&arch_entry(arch), format!("--arch {name}"), "TF-Slim's for it").apply(input, fit, scale, None);
        }
    }
    Ok(false)
}

/// What a TF-Slim architecture gives a picture-folder command, as a zoo entry would: its
/// input, size and preprocessing.
fn arch_entry(a: &tfreuse::slim::Arch) -> Entry {
    Entry {
        name: a.name.clone(),
        description: String::new(),
        license: String::new(),
        url: String::new(),
        sha256: String::new(),
        format: Format::Meta,
        path: String::new(),
        bytes: None,
        input: Some(a.input.clone()),
        size: Some(format!("{0}x{0}", a.size)),
        scale: Some(a.scale_spec()),
        output: Some(a.logits.clone()),
        branch: vec![],
        source: None,
        trusted: false,
    }
}

/// Fill `--input` and `--labels` left out: from the record beside a model trained on
/// pictures, else the graph's `X:0`/`y:0`, else its only placeholder that fits (said so).
pub(super) fn found_feeds(model: &ModelArgs, input: &mut Option<String>, labels: Option<&mut Option<String>>) -> tfreuse::Result<()> {
    let labels = labels.filter(|l| l.is_none());
    if input.is_none() {
        *input = model.record()?.map(|r| r.0.input);
    }
    if input.is_some() && labels.is_none() {
        return Ok(());
    }
    let meta = model.source().read()?;
    let mut said = Vec::new();
    if input.is_none() {
        let found = tfreuse::model::found::input(&meta)?;
        said.extend(found.guessed.map(|why| format!("--input {} ({why})", found.tensor)));
        *input = Some(found.tensor);
    }
    if let (Some(slot), Some(found)) = (labels, tfreuse::model::found::labels(&meta)?) {
        said.extend(found.guessed.map(|why| format!("--labels {} ({why})", found.tensor)));
        *slot = Some(found.tensor);
    }
    said.iter().for_each(|s| eprintln!("{s}"));
    Ok(())
}

/// What a zoo entry (or an architecture's record) says where the user said nothing.
struct ZooDefaults<'a> {
    entry: &'a Entry,
    filled: Vec<String>,
    /// Who says it (`zoo:NAME`), and on what authority.
    said: (String, &'static str),
}

impl<'a> ZooDefaults<'a> {
    fn new(entry: &'a Entry, who: String, from: &'static str) -> Self {
        ZooDefaults { entry, filled: Vec::new(), said: (who, from) }
    }

    /// Fill the flags left out from the entry, and say which.
    fn apply(mut self, input: &mut Option<String>, fit: &mut Fit, scale: &mut Option<String>, branch: Option<&mut Option<String>>) {
        let e = self.entry;
        self.fill("--input", input, e.input.clone());
        self.fill("--scale", scale, e.scale.clone());
        if let Some(b) = branch {
            self.fill("--branch-from", b, e.branch.first().cloned());
        }
        if fit.resize.is_none() {
            if let Some(size) = e.size.as_deref().and_then(|s| parse_size(s).ok()) {
                fit.resize = Some(size);
                self.filled.push(format!("--resize {}x{}", size.0, size.1));
            }
        }
        if !self.filled.is_empty() {
            eprintln!("{}: {} ({})", self.said.0, self.filled.join(" "), self.said.1);
        }
    }

    fn fill(&mut self, flag: &str, slot: &mut Option<String>, value: Option<String>) {
        if let (None, Some(v)) = (slot.as_ref(), value) {
            self.filled.push(format!("{flag} {v}"));
            *slot = Some(v);
        }
    }
}
