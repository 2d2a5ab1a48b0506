//! `tfreuse sweep`: every candidate of the seed's freeze/unfreeze recipe trained in turn, a
//! table of how each did, the best (on validation) saved.

use std::path::PathBuf;

use tfreuse::events::{Event, EventSink, Tee};
use tfreuse::sweep::{candidates, try_one, Row};
use tfreuse::Error;

use super::{Global, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The data and training flags of `train`; --branch-from names the top reused layer (e.g.
    /// dnn/hidden4/Relu:0). --new-layers, --freeze-below, --trainable and --train-op are the
    /// sweep's to choose.
    #[command(flatten)]
    pub recipe: super::train::Recipe,
    /// Passes over the training split, at most, per candidate.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Examples per training step.
    #[arg(long, default_value_t = 200)]
    pub batch_size: usize,
    /// Early stopping per candidate: epochs without a better validation metric.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub patience: u64,
    /// Seeds the shuffles, the new layers and --per-class.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train on N labelled examples of each class only (drawn by --seed).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub per_class: Option<u64>,
    /// Also write the table as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write the table as JSON: an array, one object per candidate.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw the validation and test accuracy of each candidate into FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write TensorBoard event files of each candidate into DIR/<candidate> (`tensorboard
    /// --logdir DIR` shows the candidates' curves side by side).
    #[arg(long, value_name = "DIR")]
    pub logdir: Option<PathBuf>,
    /// Also save every candidate, as DIR/<candidate>.ckpt.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Save the best candidate (on validation) to this checkpoint prefix.
    #[arg(long, value_name = "PREFIX")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing --out.
    #[arg(long)]
    pub force: bool,
}

/// Flags whose choice is the sweep's.
fn refuse_chosen(args: &Args) -> tfreuse::Result<()> {
    let r = &args.recipe;
    let given = [
        ("--new-layers", r.new_layers.is_some()),
        ("--freeze-below", r.freeze_below.is_some()),
        ("--trainable", r.trainable.is_some()),
        ("--train-op", r.train_op.is_some()),
    ];
    match given.iter().find(|g| g.1) {
        Some((flag, _)) => Err(Error::Invalid(format!("{flag}: the sweep chooses the new layers and what to freeze for each candidate"))),
        None => Ok(()),
    }
}

/// `--logdir DIR`: the TensorBoard sink of candidate `name`, in `DIR/name`.
fn tensorboard(dir: Option<&std::path::Path>, name: &str, lr: f32) -> tfreuse::Result<Option<tfreuse::summary::TensorBoard>> {
    let Some(dir) = dir else { return Ok(None) };
    let file = tfreuse::summary::EventFile::create(&dir.join(name))?;
    Ok(Some(tfreuse::summary::TensorBoard::new(file, 20, Some(lr))))
}

/// Epoch lines under each candidate's header.
struct Progress;

impl EventSink for Progress {
    fn event(&mut self, e: &Event) -> tfreuse::Result<()> {
        if let Event::Epoch { epoch, train_loss, metric, .. } = e {
            eprintln!("    epoch {epoch:>3}  train loss {train_loss:.4}  validation {:.4}", metric.unwrap_or(f64::NAN));
        }
        Ok(())
    }
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    refuse_chosen(&args)?;
    let branch = args
        .recipe
        .branch_from
        .clone()
        .ok_or_else(|| Error::Invalid("--branch-from: missing: the top layer the sweep reuses, e.g. dnn/hidden4/Relu:0".into()))?;
    if let Some(out) = &args.out {
        super::train::check_out(out, args.force, Some(&args.model))?;
    }
    args.plot.as_deref().map(|p| tfreuse::summary::plot::check_path(p, "--plot")).transpose()?;
    let mut spec = args.recipe.spec(&args.model, g)?;
    (spec.epochs, spec.batch_size, spec.seed, spec.patience) = (args.epochs, args.batch_size, args.seed, Some(args.patience as usize));
    let (mut data, classes) = args.recipe.data(&args.model, g)?;
    data = super::train::per_class(data, args.per_class, args.seed, classes)?;
    if data.is_pending() {
        data = tfreuse::data::images::decode_pending(data)?;
    }
    g.load_tf_for_training(&spec)?;
    let layers = tfreuse::sweep::layers_of(&spec, &branch)?;
    let cands = candidates(&layers, classes);
    let names: Vec<&str> = layers.iter().map(|l| l.output.as_str()).collect();
    eprintln!("sweep: {} candidates over the reused layers {}", cands.len(), names.join(", "));
    let stop = tfreuse::train::interrupt::stop_on_signals()?;
    let (mut rows, mut best): (Vec<Row>, Option<(f64, tfreuse::Prepared)>) = (Vec::new(), None);
    let mut caches = tfreuse::sweep::Caches::new();
    for (i, c) in cands.iter().enumerate() {
        let frozen = c.freeze_below.as_deref().map_or("nothing frozen".into(), |f| format!("frozen up to {f}"));
        eprintln!("[{}/{}] {}: branch {}, new layers {}, {frozen}", i + 1, cands.len(), c.name, c.branch, c.new_layers);
        let mut board = tensorboard(args.logdir.as_deref(), &c.name, spec.lr)?;
        let mut progress = Progress;
        let mut sinks: Vec<&mut dyn EventSink> = vec![&mut progress];
        if let Some(b) = board.as_mut() {
            sinks.push(b);
        }
        let (row, prepared) = match try_one(&spec, c, (&data, &mut caches), classes, &stop, &mut Tee(sinks)) {
            Ok(done) => done,
            Err(e) => {
                // What was measured is still worth having.
                if !rows.is_empty() {
                    print_table(&rows);
                    write_files(&args, &rows)?;
                }
                return Err(e.into());
            }
        };
        eprintln!("    best epoch {}: validation {:.4}, {:.1}s", row.best_epoch, row.val_accuracy, row.seconds);
        if let Some(dir) = &args.keep {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            prepared.save(&dir.join(format!("{}.ckpt", c.name)), &[], &mut Progress)?;
        }
        if best.as_ref().map_or(true, |b| row.val_accuracy > b.0) {
            best = Some((row.val_accuracy, prepared));
        }
        rows.push(row);
    }
    print_table(&rows);
    write_files(&args, &rows)?;
    if let (Some(out), Some((_, prepared))) = (&args.out, &best) {
        prepared.save(out, &prepared.side_files(&data)?, &mut Progress)?;
        let name = rows.iter().max_by(|a, b| a.val_accuracy.total_cmp(&b.val_accuracy)).map_or("", |r| r.candidate.name.as_str());
        eprintln!("saved the best candidate on validation, {name}, to {}", out.display());
    }
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<12} {:>6} {:>6} {:>4} {:>10} {:>5} {:>8} {:>8} {:>7}",
        "candidate", "reused", "frozen", "new", "trained", "epoch", "val acc", "test acc", "seconds"
    );
    for r in rows {
        let c = &r.candidate;
        let test = r.test_accuracy.map_or("-".into(), |t| format!("{t:.4}"));
        println!(
            "{:<12} {:>6} {:>6} {:>4} {:>10} {:>5} {:>8.4} {:>8} {:>7.1}",
            c.name, c.reused, c.frozen, c.new, r.params_trained, r.best_epoch, r.val_accuracy, test, r.seconds
        );
    }
}

/// `--csv` and `--json`, each written atomically.
fn write_files(args: &Args, rows: &[Row]) -> anyhow::Result<()> {
    if let Some(path) = &args.json {
        tfreuse::atomic::write_bytes_atomic(path, &serde_json::to_vec_pretty(rows)?)?;
    }
    if let Some(path) = &args.plot {
        let labels: Vec<String> = rows.iter().map(|r| r.candidate.name.clone()).collect();
        let series = vec![
            ("validation".to_string(), rows.iter().map(|r| r.val_accuracy).collect()),
            ("test".to_string(), rows.iter().map(|r| r.test_accuracy.unwrap_or(f64::NAN)).collect()),
        ];
        tfreuse::summary::plot::draw_bars(path, "accuracy by candidate", &labels, &series)?;
    }
    if let Some(path) = &args.csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "candidate",
            "branch",
            "new_layers",
            "freeze_below",
            "reused",
            "frozen",
            "new",
            "params_trained",
            "best_epoch",
            "val_accuracy",
            "test_accuracy",
            "seconds",
        ])?;
        for r in rows {
            let c = &r.candidate;
            let num = |v: f64| v.to_string();
            w.write_record([
                c.name.clone(),
                c.branch.clone(),
                c.new_layers.clone(),
                c.freeze_below.clone().unwrap_or_default(),
                c.reused.to_string(),
                c.frozen.to_string(),
                c.new.to_string(),
                r.params_trained.to_string(),
                r.best_epoch.to_string(),
                num(r.val_accuracy),
                r.test_accuracy.map(num).unwrap_or_default(),
                num(r.seconds),
            ])?;
        }
        tfreuse::atomic::write_bytes_atomic(path, &w.into_inner()?)?;
    }
    Ok(())
}
