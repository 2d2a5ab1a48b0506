//! `tfreuse export`: a trained model written out for serving, as a TF1 SavedModel and/or a
//! frozen GraphDef; the input, logits and class names by default as the model recorded them.

use std::path::PathBuf;

use tfreuse::Error;

use super::{found_feeds, Global, ModelArgs};

#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("outputs").required(true).multiple(true).args(["out", "frozen"]))]
pub struct Args {
    /// The trained model's .meta (e.g. runs/x.ckpt.meta).
    #[arg(long, value_name = "FILE")]
    pub meta: PathBuf,
    /// Checkpoint prefix or directory (default: the .meta's own prefix, else the latest beside it).
    #[arg(long, value_name = "PREFIX|DIR")]
    pub checkpoint: Option<PathBuf>,
    /// The input tensor (the signature's `x`; default: the recorded one, else X:0, else the
    /// graph's only fitting placeholder).
    #[arg(long, value_name = "TENSOR")]
    pub input: Option<String>,
    /// The logits the signature's probabilities and classes come from, e.g.
    /// new_outputs/BiasAdd:0 (default: the recorded new layers' logits).
    #[arg(long, value_name = "TENSOR")]
    pub logits: Option<String>,
    /// Write a SavedModel directory here (tag serve, signature serving_default; the recorded
    /// class names as assets/labels.txt); it must not exist.
    #[arg(long = "saved-model", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a frozen GraphDef here (.pb binary, .pbtxt text): the ops the outputs need, weights
    /// as constants, no device pins; the recorded class names beside it as NAME.labels.txt; it
    /// must not exist.
    #[arg(long, value_name = "FILE")]
    pub frozen: Option<PathBuf>,
}

pub fn exec(mut args: Args, g: &Global) -> anyhow::Result<()> {
    let source = ModelArgs {
        meta: Some(args.meta.clone()),
        graph: None,
        saved_model: None,
        tag: "serve".into(),
        checkpoint: args.checkpoint.clone(),
        zoo: Default::default(),
    };
    let record = source.record()?;
    found_feeds(&source, &mut args.input, None)?;
    let input_name = super::input(&args.input).to_string();
    let logits_name = super::pictures::logits(&args.logits, record.as_ref())?;
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
    let serving = tfreuse::export::Serving::build(&mut model, input, logits, names)?;
    let classes = match serving.names.len() {
        0 => "classes as ids".to_string(),
        n => format!("{n} class names"),
    };
    if let Some(out) = &args.frozen {
        let f = tfreuse::export::frozen(&model, &serving, out)?;
        let names = serving.outputs().map(|(_, o)| tfreuse::tf::output_name(o)).join(", ");
        eprintln!(
            "wrote a frozen graph to {} ({} ops, {} variables as constants): {} -> {names}",
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
        eprintln!(
            "saved a SavedModel to {} (tag serve, signature serving_default: x = {} -> logits = {}, probabilities, class_ids, classes; {classes})",
            dir.display(),
            tfreuse::tf::output_name(&serving.input),
            tfreuse::tf::output_name(&serving.logits),
        );
    }
    Ok(())
}
