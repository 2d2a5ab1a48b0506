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
    /// resnet_v1_50/block4); inspect lists them. zoo:NAME takes a zoo entry's checkpoint (as
    /// --meta zoo:NAME does).
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
        let arch = self.arch.as_ref().map(PathBuf::from);
        let named = [&self.meta, &self.graph, &self.saved_model, &arch].into_iter().flatten().find_map(|p| zoo_ref(p).map(str::to_string));
        let Some(name) = named else { return Ok(None) };
        let z = self.zoo.open()?;
        let e = z.entry(&name)?.clone();
        let path = z.fetch(&e, &mut Notices::default())?;
        eprintln!("zoo:{name}: {} {}", e.format, path.display());
        (self.meta, self.graph, self.saved_model, self.arch) = (None, None, None, None);
        match e.format {
            Format::Meta => self.meta = Some(path),
            Format::Graph => self.graph = Some(path),
            Format::SavedModel => self.saved_model = Some(path),
            Format::Slim(arch) => {
                self.arch = Some(arch.to_string());
                // A --checkpoint given (a fine-tuned one of the same net) wins, as every flag given does.
                self.checkpoint.get_or_insert(path);
            }
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
        let said = Defaults::of_entry(&e);
        said.apply(format!("zoo:{}", e.name), "from its manifest entry", input, fit, scale, branch);
        if e.trusted {
            eprintln!("zoo:{}: its graph runs as with --trust-graph (trusted = true in its manifest entry)", e.name);
        }
        return Ok(e.trusted);
    } else if let Some(name) = &model.arch {
        // An unknown name is reported when the graph is read.
        if let Ok(arch) = tfreuse::slim::Arch::named(name) {
            Defaults::of_arch(arch).apply(format!("--arch {name}"), "TF-Slim's for it", input, fit, scale, None);
        }
    }
    Ok(false)
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

/// What a zoo entry or a TF-Slim architecture says where the user said nothing: the input,
/// the picture size ("HxW") and scale, the branch tensor.
struct Defaults {
    input: Option<String>,
    size: Option<String>,
    scale: Option<String>,
    branch: Option<String>,
}

impl Defaults {
    /// The entry's own, over its architecture's for a TF-Slim checkpoint.
    fn of_entry(e: &Entry) -> Self {
        let arch = match e.format {
            Format::Slim(name) => tfreuse::slim::Arch::named(name).ok().map(Defaults::of_arch),
            _ => None,
        };
        let Defaults { input, size, scale, .. } = arch.unwrap_or(Defaults { input: None, size: None, scale: None, branch: None });
        Defaults {
            input: e.input.clone().or(input),
            size: e.size.clone().or(size),
            scale: e.scale.clone().or(scale),
            branch: e.branch.first().cloned(),
        }
    }

    fn of_arch(a: &tfreuse::slim::Arch) -> Self {
        Defaults { input: Some(a.input.clone()), size: Some(format!("{0}x{0}", a.size)), scale: Some(a.scale_spec()), branch: None }
    }

    /// Fill the flags left out, and say which, as `who` says them (`from`: on what authority).
    fn apply(
        self,
        who: String,
        from: &str,
        input: &mut Option<String>,
        fit: &mut Fit,
        scale: &mut Option<String>,
        branch: Option<&mut Option<String>>,
    ) {
        let mut filled = Vec::new();
        let mut fill = |flag: &str, slot: &mut Option<String>, value: Option<String>| {
            if let (None, Some(v)) = (slot.as_ref(), value) {
                filled.push(format!("{flag} {v}"));
                *slot = Some(v);
            }
        };
        fill("--input", input, self.input);
        fill("--scale", scale, self.scale);
        if let Some(b) = branch {
            fill("--branch-from", b, self.branch);
        }
        if fit.resize.is_none() {
            if let Some(size) = self.size.as_deref().and_then(|s| parse_size(s).ok()) {
                fit.resize = Some(size);
                filled.push(format!("--resize {}x{}", size.0, size.1));
            }
        }
        if !filled.is_empty() {
            eprintln!("{who}: {} ({from})", filled.join(" "));
        }
    }
}
