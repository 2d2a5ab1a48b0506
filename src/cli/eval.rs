//! `tfreuse eval`: average scalar metrics over a data split.

use tfreuse::eval::{evaluate, EvalSpec};

use super::{Global, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Data set: mnist:DIR, npz:FILE or images:DIR (one folder of pictures per class).
    #[arg(long, value_name = "SPEC")]
    pub data: String,
    /// Multiply the features by this: MNIST's raw pixels are 0..255 (default 1/255, as
    /// input_data), an npz's values are taken as they are (default 1). Integer inputs get
    /// MNIST's raw pixels whatever the scale.
    #[arg(long, value_name = "S")]
    pub scale: Option<f32>,
    #[command(flatten)]
    pub images: super::ImageArgs,
    /// Which split to evaluate.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Tensor to fetch (repeatable). Default: eval/accuracy:0 and loss/loss:0 when present.
    #[arg(long = "fetch", value_name = "TENSOR")]
    pub fetches: Vec<String>,
    /// Tensor fed with the features.
    #[arg(long, default_value = "X:0", value_name = "TENSOR")]
    pub input: String,
    /// Tensor fed with the labels (cast to its dtype).
    #[arg(long, default_value = "y:0", value_name = "TENSOR")]
    pub labels: String,
    /// Examples per session run (0: the whole split at once, as Python's `.eval` does).
    #[arg(long, default_value_t = 0)]
    pub batch_size: usize,
    /// TENSOR=VALUE: feed a scalar tensor this value in every run, e.g. keep_prob:0=1 for a
    /// dropout model (cast to the tensor's dtype; true/false for a bool). Repeatable.
    #[arg(long = "set", value_name = "TENSOR=VALUE")]
    pub set: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    let set = super::parse_sets("--set", &args.set)?;
    let data = super::load_data(&args.data, args.scale, &args.images, &args.model, &args.input, g)?;
    let split = data.split(&args.split)?;
    let model = args.model.load_restored(g)?;
    let fetches = if args.fetches.is_empty() {
        let defaults: Vec<String> =
            ["eval/accuracy:0", "loss/loss:0"].into_iter().filter(|n| model.output(n).is_ok()).map(String::from).collect();
        if defaults.is_empty() {
            anyhow::bail!(tfreuse::Error::Invalid(
                "no --fetch given and the graph has neither eval/accuracy:0 nor loss/loss:0; name the metrics with --fetch".into()
            ));
        }
        defaults
    } else {
        args.fetches.clone()
    };
    let spec = EvalSpec { input: args.input, labels: args.labels, fetches, batch_size: args.batch_size, set };
    let results = evaluate(&model, split, &spec).map_err(|e| match e {
        // Label values out of range, wrong feature widths … surface as TF errors at run time.
        tfreuse::Error::Tf(_) => e.context(format!("evaluating {} split {}", data.source, args.split)),
        other => other,
    })?;
    if args.json {
        let obj: serde_json::Map<String, serde_json::Value> = results.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
        println!("{}", serde_json::json!({"split": args.split, "examples": split.len(), "values": obj}));
    } else {
        for (name, v) in &results {
            println!("{name} = {v:.9}  ({} split, {} examples)", args.split, split.len());
        }
    }
    Ok(())
}
