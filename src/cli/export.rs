//! `tfreuse export`: a trained model written out as a TF1 SavedModel for serving.

use std::path::PathBuf;

use super::{Global, ModelArgs};

#[derive(clap::Args, Debug)]
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
    pub out: PathBuf,
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    let source = ModelArgs {
        meta: Some(args.meta.clone()),
        graph: None,
        saved_model: None,
        tag: "serve".into(),
        checkpoint: args.checkpoint.clone(),
    };
    let mut model = source.load_restored(g)?;
    let input = model.tensor(&args.input).map_err(|e| e.for_arg(tfreuse::Role::Input))?;
    let logits = model.tensor(&args.logits).map_err(|e| e.for_arg(tfreuse::Role::Fetch))?;
    let dir = tfreuse::export::saved_model(&mut model, &tfreuse::export::Serving { input, logits }, &args.out)?;
    eprintln!("saved a SavedModel to {} (tag serve, signature serving_default: x -> logits, probabilities, classes)", dir.display());
    Ok(())
}
