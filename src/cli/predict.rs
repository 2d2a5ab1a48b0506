//! `tfreuse predict`: class labels and probabilities for pictures, preprocessed as the
//! model's training pictures were (the record saved beside its checkpoint).

use std::path::PathBuf;

use tfreuse::predict::{check_classes, label, pictures, Accuracy, Classifier, Picture, Prediction};
use tfreuse::Error;

use super::headings::{DATA, MODEL};
use super::pictures::Fit;
use super::{Global, ImageArgs, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Pictures, folders of them, or folders of class folders.
    ///
    /// Folders of class folders as images:DIR; then also the accuracy, each folder's name being
    /// its pictures' class.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,
    /// How many of the likeliest classes to show.
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub top_k: usize,
    /// The input tensor [default: the recorded one, else X:0].
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub input: Option<String>,
    /// The logits [default: the recorded new layers' logits].
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub logits: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// How pictures are fitted: the record says, for a model trained on pictures; these override it.
    #[command(flatten)]
    pub fit: Fit,
    /// How pixel bytes become values [default: as recorded, else times 1/255].
    ///
    /// S, LO,HI or mean=…,std=…, as train --scale.
    #[arg(long, value_name = "S|LO,HI|mean=…,std=…", allow_hyphen_values = true, help_heading = DATA)]
    pub scale: Option<String>,
    #[command(flatten)]
    pub global: Global,
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    if args.top_k == 0 {
        return Err(Error::Invalid("--top-k must be at least 1".into()).into());
    }
    let pictures = pictures(&args.files)?;
    let record = args.model.record()?;
    // found_feeds filled the input: as given, else recorded, else found in the graph.
    let input_name = super::input(&args.input).to_string();
    let logits_name = super::pictures::logits(&args.logits, record.as_ref())?;
    let opts = ImageArgs::from(args.fit.clone()).options(record.as_ref().map(|r| &r.0.preprocess), &args.model, &input_name)?;
    let given = args.scale.as_deref().map(tfreuse::data::Scale::parse).transpose()?;
    let (scale, names) = match record {
        Some((r, names)) => (given.unwrap_or(r.scale), names),
        None => (given.unwrap_or_default(), vec![]),
    };
    check_classes(&pictures, &names)?;
    let model = args.model.load_restored(g)?;
    let classifier = Classifier::from_parts(&model, (&input_name, &logits_name), opts, scale, names.clone())?;
    let files: Vec<PathBuf> = pictures.iter().map(|p| p.file.clone()).collect();
    let results = classifier.classify(&files, args.top_k)?;
    let accuracy = Accuracy::of(&pictures, &results, &names);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json(&pictures, &results, &names, accuracy))?);
    } else {
        print_text(&files, &results, &names, accuracy);
    }
    let failed = results.iter().filter(|r| r.is_err()).count();
    if let Some((first, _)) = files.iter().zip(&results).find(|(_, r)| r.is_err()) {
        return Err(Error::bad_file(first, format!("{failed} of {} file(s) are no readable picture (this one first)", files.len())).into());
    }
    Ok(())
}

/// A line per picture, then the accuracy when pictures came in class folders.
fn print_text(files: &[PathBuf], results: &[Prediction], names: &[String], accuracy: Option<Accuracy>) {
    for (f, r) in files.iter().zip(results) {
        match r {
            Ok(top) => {
                let shown: Vec<String> = top.iter().map(|&(id, p)| format!("{} ({p:.4})", label(names, id))).collect();
                println!("{}\t{}", f.display(), shown.join("  "));
            }
            Err(why) => println!("{}\terror: {why}", f.display()),
        }
    }
    if let Some(a) = accuracy {
        println!("accuracy = {:.9}  ({} of {} pictures in class folders)", a.value(), a.correct, a.pictures);
    }
}

/// The predictions as a JSON array; with class folders, an object of them and the accuracy.
fn json(pictures: &[Picture], results: &[Prediction], names: &[String], accuracy: Option<Accuracy>) -> serde_json::Value {
    let items: Vec<_> = pictures.iter().zip(results).map(|(p, r)| json_item(p, r, names)).collect();
    match accuracy {
        None => serde_json::json!(items),
        Some(a) => serde_json::json!({
            "predictions": items,
            "accuracy": a.value(),
            "correct": a.correct,
            "pictures": a.pictures,
        }),
    }
}

fn json_item(picture: &Picture, r: &Prediction, names: &[String]) -> serde_json::Value {
    let mut item = match r {
        Ok(top) => serde_json::json!({
            "file": picture.file,
            "top": top.iter().map(|&(id, p)| serde_json::json!({"id": id, "label": label(names, id), "probability": p})).collect::<Vec<_>>(),
        }),
        Err(why) => serde_json::json!({"file": picture.file, "error": why}),
    };
    if let Some(c) = &picture.class {
        item["class"] = serde_json::json!(c);
    }
    item
}
