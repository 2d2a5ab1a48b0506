//! `tfreuse eval`: average scalar metrics over a data split.

use tfreuse::eval::{default_fetches, evaluate, ClassReport, EvalSpec};
use tfreuse::predict::label;

use super::headings::{DATA, MODEL, PERFORMANCE};
use super::{Global, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Data set: mnist:DIR, npz:FILE or images:DIR (one folder of pictures per class).
    #[arg(long, value_name = "SPEC", help_heading = DATA)]
    pub data: String,
    /// How features become the values fed: S, LO,HI or mean=…,std=…, as train --scale.
    ///
    /// S multiplies (MNIST's raw pixels 0..255 by 1/255 by default, as input_data; an npz's
    /// values by 1); pictures also take LO,HI (e.g. -1,1) or mean=M[,M,M],std=S[,S,S] (per
    /// channel, on values in [0, 1]). Integer inputs get the raw pixels whatever the scale.
    #[arg(long, value_name = "S|LO,HI|mean=…,std=…", allow_hyphen_values = true, help_heading = DATA)]
    pub scale: Option<String>,
    #[command(flatten)]
    pub images: super::ImageArgs,
    /// Which split to evaluate.
    #[arg(long, default_value = "test", help_heading = DATA)]
    pub split: String,
    /// Tensor to fetch (repeatable) [default: eval/accuracy:0 and loss/loss:0 when present].
    #[arg(long = "fetch", value_name = "TENSOR")]
    pub fetches: Vec<String>,
    /// Tensor fed with the features [default: X:0, or a zoo model's input].
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub input: Option<String>,
    /// Tensor fed with the labels (cast to its dtype) [default: y:0, else found].
    ///
    /// Found: the graph's only integer placeholder of shape [N] or [N, 1].
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub labels: Option<String>,
    /// Examples per session run (0: the whole split at once, as Python's `.eval` does).
    #[arg(long, default_value_t = 0, value_name = "N", help_heading = PERFORMANCE)]
    pub batch_size: usize,
    /// Feed a scalar tensor this value in every run, e.g. keep_prob:0=1 (repeatable).
    ///
    /// Cast to the tensor's dtype; true/false for a bool.
    #[arg(long = "set", value_name = "TENSOR=VALUE", help_heading = MODEL)]
    pub set: Vec<String>,
    /// The logits, for the per-class report of a picture folder.
    ///
    /// Default, when no --fetch is given: those recorded beside a checkpoint tfreuse trained
    /// on pictures.
    #[arg(long, value_name = "TENSOR")]
    pub logits: Option<String>,
    /// With the per-class report, list the pictures predicted wrong.
    #[arg(long)]
    pub misclassified: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub global: Global,
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    let set = super::parse_sets("--set", &args.set)?;
    let (data, record) =
        super::load_data(&args.data, args.scale.as_deref(), &args.images, &args.model, super::input(&args.input), g, false)?;
    let split = data.split(&args.split)?;
    // The report comes with pictures: by default when no metric is asked for, or on --logits.
    let recorded = record.as_ref().and_then(|r| r.0.logits.clone()).filter(|_| args.fetches.is_empty());
    let report_logits = args.logits.clone().or(recorded).filter(|_| !data.classes.is_empty());
    let model = args.model.load_restored(g)?;
    let fetches = match args.fetches.is_empty() {
        true if report_logits.is_none() => default_fetches(&model)?,
        _ => args.fetches.clone(),
    };
    let spec = EvalSpec {
        input: super::input(&args.input).to_string(),
        labels: args.labels.clone().unwrap_or_else(|| "y:0".into()),
        fetches,
        batch_size: args.batch_size,
        set,
    };
    if let Some(logits) = &report_logits {
        print_report(&ClassReport::new(&model, &data, &args.split, &spec, logits)?, &data.classes, &args);
        if spec.fetches.is_empty() {
            return Ok(());
        }
    }
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

/// Accuracy, precision and recall per class, the confusion matrix and (`--misclassified`)
/// the pictures predicted wrong.
fn print_report(r: &ClassReport, names: &[String], args: &Args) {
    let c = &r.confusion;
    let n: usize = c.matrix.iter().flatten().sum();
    if args.json {
        let classes: Vec<_> = (0..c.matrix.len())
            .map(|i| serde_json::json!({"label": label(names, i), "precision": c.precision(i), "recall": c.recall(i), "examples": c.matrix[i].iter().sum::<usize>()}))
            .collect();
        let mut out =
            serde_json::json!({"split": args.split, "examples": n, "accuracy": c.accuracy(), "classes": classes, "confusion": c.matrix});
        if args.misclassified {
            let wrong = r
                .wrong
                .iter()
                .map(|m| serde_json::json!({"file": m.file, "label": label(names, m.label), "predicted": label(names, m.predicted)}));
            out["misclassified"] = serde_json::json!(wrong.collect::<Vec<_>>());
        }
        println!("{out}");
        return;
    }
    println!("accuracy = {:.9}  ({} split, {n} examples)", c.accuracy(), args.split);
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let width = names.iter().map(|s| s.len()).max().unwrap_or(5).max(5);
    println!("\n{:<width$}  precision  recall  examples", "class");
    for i in 0..c.matrix.len() {
        let examples = c.matrix[i].iter().sum::<usize>();
        println!("{:<width$}  {:>9}  {:>6}  {examples:>8}", label(names, i), pct(c.precision(i)), pct(c.recall(i)));
    }
    println!("\nconfusion (rows: true class, columns: predicted)");
    let cell = c.matrix.iter().flatten().max().map_or(1, |m| m.to_string().len()).max(names.iter().map(|s| s.len()).max().unwrap_or(1));
    let head: Vec<String> = (0..c.matrix.len()).map(|i| format!("{:>cell$}", label(names, i))).collect();
    println!("{:<width$}  {}", "", head.join(" "));
    for (i, row) in c.matrix.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>cell$}")).collect();
        println!("{:<width$}  {}", label(names, i), cells.join(" "));
    }
    if args.misclassified {
        println!("\nmisclassified ({}):", r.wrong.len());
        for m in &r.wrong {
            println!("  {}: {} predicted as {}", m.file.display(), label(names, m.label), label(names, m.predicted));
        }
    }
}
