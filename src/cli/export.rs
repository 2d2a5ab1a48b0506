//! `tfreuse export`: a trained model written out for serving, as a TF1 SavedModel and/or a
//! frozen GraphDef.

use std::path::PathBuf;

use super::{Global, ModelArgs};

#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("outputs").required(true).multiple(true).args(["out", "frozen"]))]
pub struct Args {
    /// The trained model's .meta (e.g. runs/x.ckpt.meta).
    #[arg(long, value_name = "FILE")]
    pub meta: PathBuf,
    /// Checkpoint prefix or directory (default: the .meta's own prefix, else the latest beside it).
    #[arg(long, value_name = "PREFIX|DIR")]
    pub checkpoint: Option<PathBuf>,
    /// The input tensor (the signature's `x`).
    #[arg(long, default_value = "X:0", value_name = "TENSOR")]
    pub input: String,
    /// The logits the signature's probabilities and classes come from, e.g. new_outputs/BiasAdd:0.
    #[arg(long, value_name = "TENSOR")]
    pub logits: String,
    /// Write a SavedModel directory here (tag serve, signature serving_default); it must not exist.
    #[arg(long = "saved-model", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a frozen GraphDef here (.pb binary, .pbtxt text): the ops the outputs need, weights
    /// as constants, no device pins; it must not exist.
    #[arg(long, value_name = "FILE")]
    pub frozen: Option<PathBuf>,
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    let source = ModelArgs {
        meta: Some(args.meta.clone()),
        graph: None,
        saved_model: None,
        tag: "serve".into(),
        checkpoint: args.checkpoint.clone(),
        zoo: Default::default(),
    };
    // Both are refused before either is written.
    for out in args.frozen.iter().chain(&args.out) {
        if out.exists() {
            return Err(tfreuse::Error::Invalid(format!("{}: exists; export writes to a new path", out.display())).into());
        }
    }
    let mut model = source.load_restored(g)?;
    let input = model.tensor(&args.input).map_err(|e| e.for_arg(tfreuse::Role::Input))?;
    let logits = model.tensor(&args.logits).map_err(|e| e.for_arg(tfreuse::Role::Fetch))?;
    let serving = tfreuse::export::Serving::build(&mut model, input, logits)?;
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
    }
    if let Some(out) = &args.out {
        let dir = tfreuse::export::saved_model(&mut model, &serving, out)?;
        eprintln!("saved a SavedModel to {} (tag serve, signature serving_default: x -> logits, probabilities, classes)", dir.display());
    }
    Ok(())
}
