//! `tfreuse export`: a trained model written out for serving, as a TF1 SavedModel and/or a
//! frozen GraphDef; the input, logits and class names by default as the model recorded them;
//! with `--with-preprocessing`, a second input taking encoded picture bytes.

use std::path::PathBuf;

use tfreuse::data::images::Preprocess;
use tfreuse::data::Scale;
use tfreuse::Error;

use super::headings::{MODEL, OUTPUT};
use super::pictures::Recorded;
use super::{found_feeds, Global, ImageArgs, ModelArgs};

const PREPROCESSING: &str = "Preprocessing in the graph (--with-preprocessing)";

#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("outputs").required(true).multiple(true).args(["out", "frozen"]))]
pub struct Args {
    /// The trained model's .meta, e.g. runs/x.ckpt.meta.
    #[arg(long, value_name = "FILE", help_heading = MODEL)]
    pub meta: PathBuf,
    /// Checkpoint prefix or directory [default: the .meta's own prefix, else the latest beside it].
    #[arg(long, value_name = "PREFIX|DIR", help_heading = MODEL)]
    pub checkpoint: Option<PathBuf>,
    /// The input tensor, the signature's `x` [default: the recorded one, else X:0, else found].
    ///
    /// Found: the graph's only fitting placeholder.
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub input: Option<String>,
    /// The logits the probabilities and classes come from [default: the recorded ones].
    ///
    /// e.g. new_outputs/BiasAdd:0; by default the logits of the new layers, as recorded.
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub logits: Option<String>,
    /// Write a SavedModel directory here (it must not exist).
    ///
    /// Tag serve, signature serving_default; the recorded class names as assets/labels.txt.
    #[arg(long = "saved-model", value_name = "DIR", help_heading = OUTPUT)]
    pub out: Option<PathBuf>,
    /// Write a frozen GraphDef here (.pb binary, .pbtxt text; it must not exist).
    ///
    /// The ops the outputs need, weights as constants, no device pins; the recorded class
    /// names beside it as NAME.labels.txt.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub frozen: Option<PathBuf>,
    /// Also take encoded picture bytes: a second input, image_bytes.
    ///
    /// A scalar string, one JPEG, PNG, GIF, BMP or WebP a call, decoded, fitted and scaled in
    /// the graph as predict does it, as the model's picture record says (the SavedModel's
    /// second signature, serving_bytes).
    #[arg(long, help_heading = PREPROCESSING)]
    pub with_preprocessing: bool,
    /// The picture size, HxW [default: recorded, else the input's shape].
    #[arg(long, value_name = "HxW", value_parser = super::pictures::parse_size, requires = "with_preprocessing", help_heading = PREPROCESSING)]
    pub resize: Option<(u32, u32)>,
    /// stretch, crop or pad [default: recorded, else stretch].
    #[arg(long, value_name = "MODE", requires = "with_preprocessing", help_heading = PREPROCESSING)]
    pub resize_mode: Option<String>,
    /// 1 (gray) or 3 (RGB) [default: recorded, else the input's].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3), requires = "with_preprocessing", help_heading = PREPROCESSING)]
    pub channels: Option<u8>,
    /// How pixel bytes become values [default: recorded, else times 1/255].
    ///
    /// S, LO,HI or mean=…,std=…, as train --scale.
    #[arg(long, value_name = "S|LO,HI|mean=…,std=…", allow_hyphen_values = true, requires = "with_preprocessing", help_heading = PREPROCESSING)]
    pub scale: Option<String>,
    #[command(flatten)]
    pub global: Global,
}

impl Args {
    /// How pictures become the input, for `--with-preprocessing`: as recorded, the flags
    /// overriding; a model without a record needs at least one of them.
    fn pictures(&self, record: Option<&Recorded>, source: &ModelArgs, input: &str) -> tfreuse::Result<(Preprocess, Scale)> {
        let flags = self.resize.is_some() || self.resize_mode.is_some() || self.channels.is_some() || self.scale.is_some();
        if record.is_none() && !flags {
            return Err(Error::Invalid(
                "--with-preprocessing: the model has no picture record (NAME.ckpt.preprocess.json, written by training on \
                 pictures); say how pictures become its input with --resize HxW, --channels 1|3, --resize-mode and --scale"
                    .into(),
            ));
        }
        let (resize, resize_mode, channels) = (self.resize, self.resize_mode.clone(), self.channels);
        let images = ImageArgs::from(super::pictures::Fit { resize, resize_mode, channels });
        let p = images.options(record.map(|r| &r.0.preprocess), source, input)?.preprocess;
        let given = self.scale.as_deref().map(Scale::parse).transpose()?;
        Ok((p, given.or(record.map(|r| r.0.scale)).unwrap_or_default()))
    }
}

pub fn exec(mut args: Args, g: &Global) -> anyhow::Result<()> {
    let source = ModelArgs {
        meta: Some(args.meta.clone()),
        graph: None,
        saved_model: None,
        arch: None,
        tag: "serve".into(),
        checkpoint: args.checkpoint.clone(),
        zoo: Default::default(),
    };
    let record = source.record()?;
    found_feeds(&source, &mut args.input, None)?;
    let input_name = super::input(&args.input).to_string();
    let logits_name = super::pictures::logits(&args.logits, record.as_ref())?;
    let pictures = args.with_preprocessing.then(|| args.pictures(record.as_ref(), &source, &input_name)).transpose()?;
    let names = record.map(|(_, names)| names).unwrap_or_default();
    // Every output is refused before any is written.
    let labels = args.frozen.as_deref().filter(|_| !names.is_empty()).map(tfreuse::export::labels_path);
    for out in args.frozen.iter().chain(&args.out).chain(&labels) {
        if out.exists() {
            return Err(Error::Invalid(format!("{}: exists; export writes to a new path", out.display())).into());
        }
    }
    let mut model = source.load_restored(g)?;
    let input = model.tensor(&input_name).map_err(|e| e.for_arg(tfreuse::Role::Input))?;
    let logits = model.tensor(&logits_name).map_err(|e| e.for_arg(tfreuse::Role::Logits))?;
    let mut serving = tfreuse::export::Serving::build(&mut model, input, logits, names)?;
    if let Some((p, scale)) = &pictures {
        serving = serving.with_pictures(&mut model, p, *scale)?;
    }
    let bytes = serving.pictures.as_ref().map(|p| format!(" (or {}: one encoded picture)", tfreuse::tf::output_name(&p.bytes)));
    let bytes = bytes.unwrap_or_default();
    let classes = match serving.names.len() {
        0 => "classes as ids".to_string(),
        n => format!("{n} class names"),
    };
    if let Some(out) = &args.frozen {
        let f = tfreuse::export::frozen(&model, &serving, out)?;
        let names = serving.outputs().map(|(_, o)| tfreuse::tf::output_name(o)).join(", ");
        eprintln!(
            "wrote a frozen graph to {} ({} ops, {} variables as constants): {}{bytes} -> {names}",
            out.display(),
            f.ops,
            f.constants,
            tfreuse::tf::output_name(&serving.input)
        );
        if let Some(l) = &f.labels {
            eprintln!("wrote its {classes} to {}", l.display());
        }
    }
    if let Some(out) = &args.out {
        let dir = tfreuse::export::saved_model(&mut model, &serving, out)?;
        let second = match &serving.pictures {
            Some(p) => format!(
                "; signature {}: image_bytes = {} -> the same",
                tfreuse::export::BYTES_SIGNATURE,
                tfreuse::tf::output_name(&p.bytes)
            ),
            None => String::new(),
        };
        eprintln!(
            "saved a SavedModel to {} (tag serve, signature serving_default: x = {} -> logits = {}, probabilities, class_ids, classes{second}; {classes})",
            dir.display(),
            tfreuse::tf::output_name(&serving.input),
            tfreuse::tf::output_name(&serving.logits),
        );
    }
    Ok(())
}
