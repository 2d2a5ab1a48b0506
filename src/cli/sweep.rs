//! `tfreuse sweep`: every candidate of the seed's freeze/unfreeze recipe trained in turn, a
//! table of how each did, the best (on validation) saved.

use std::path::PathBuf;

use tfreuse::events::{Event, EventSink};
use tfreuse::summary::TensorBoard;
use tfreuse::sweep::{candidates, Candidate, Row};
use tfreuse::train::{ScheduleSpec, TransferSpec};
use tfreuse::Error;

use super::headings::{OUTPUT, SCHEDULE};
use super::{Global, ModelArgs};

/// `train`'s recipe without the flags whose choice is the sweep's (hidden here, refused by
/// [`refuse_chosen`] in one line).
#[derive(clap::Args, Debug)]
#[command(mut_arg("new_layers", |a| a.hide(true)), mut_arg("freeze_below", |a| a.hide(true)),
          mut_arg("trainable", |a| a.hide(true)), mut_arg("train_op", |a| a.hide(true)))]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The data and training flags of `train`; --branch-from names the top reused layer (e.g.
    /// dnn/hidden4/Relu:0).
    #[command(flatten)]
    pub recipe: super::recipe::Recipe,
    /// Passes over the training split, at most, per candidate [default: 100].
    #[arg(long, value_name = "N", help_heading = SCHEDULE)]
    pub epochs: Option<usize>,
    /// Examples per training step [default: 32, or the whole split when smaller].
    #[arg(long, value_name = "N", help_heading = SCHEDULE)]
    pub batch_size: Option<usize>,
    /// Early stopping per candidate after N epochs without improvement [default: 5].
    ///
    /// Improvement: a better validation metric, ties broken by the validation loss.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = SCHEDULE)]
    pub patience: Option<u64>,
    /// Seeds the shuffles, the new layers and --per-class.
    #[arg(long, default_value_t = 42, help_heading = SCHEDULE)]
    pub seed: u64,
    #[command(flatten)]
    pub per_class: super::schedule::PerClass,
    /// Also write the table as CSV.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub csv: Option<PathBuf>,
    /// Also write the table as JSON: an array, one object per candidate.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub json: Option<PathBuf>,
    /// Draw the validation and test accuracy of each candidate into FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub plot: Option<PathBuf>,
    /// Write TensorBoard event files of each candidate into DIR/<candidate>.
    ///
    /// `tensorboard --logdir DIR` shows the candidates' curves side by side.
    #[arg(long, value_name = "DIR", help_heading = OUTPUT)]
    pub logdir: Option<PathBuf>,
    /// Also save every candidate, as DIR/<candidate>.ckpt.
    #[arg(long, value_name = "DIR", help_heading = OUTPUT)]
    pub keep: Option<PathBuf>,
    /// Save the best candidate (on validation) to this checkpoint prefix.
    #[arg(long, value_name = "PREFIX", help_heading = OUTPUT)]
    pub out: Option<PathBuf>,
    /// Overwrite an existing --out.
    #[arg(long, help_heading = OUTPUT)]
    pub force: bool,
    #[command(flatten)]
    pub global: Global,
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

/// Every candidate trains to convergence: the settings not given chosen as `train`'s
/// defaults, with early stopping on the validation split the sweep chooses on.
fn choose_defaults(args: &Args, spec: &mut TransferSpec, data: &tfreuse::DataSet, sink: &mut dyn EventSink) -> anyhow::Result<()> {
    use tfreuse::train::defaults::{choose, Ground, Unset};
    let unset = Unset {
        batch_size: args.batch_size.is_none(),
        epochs: args.epochs.is_none(),
        patience: args.patience.is_none(),
        ..args.recipe.unset(false)
    };
    if !data.has_validation() {
        let msg = "the sweep chooses on the validation split, and the data has none";
        return Err(tfreuse::Error::arg(tfreuse::Role::Data, None, msg).into());
    }
    let ground = Ground { train_examples: data.training_split()?.len(), can_stop_early: true };
    if let Some(e) = choose(spec, unset, ground) {
        sink.event(&e)?;
    }
    Ok(())
}

/// What a person sees of the sweep: a header per candidate, its epoch lines and best epoch;
/// `--logdir`'s run of each candidate; the rows so far (for the table, should it stop).
struct Watch<'a> {
    logdir: Option<&'a std::path::Path>,
    lr: f32,
    board: Option<TensorBoard>,
    rows: Vec<Row>,
}

impl EventSink for Watch<'_> {
    fn event(&mut self, e: &Event) -> tfreuse::Result<()> {
        if let Event::Epoch { epoch, train_loss, metric, .. } = e {
            eprintln!("    epoch {epoch:>3}  train loss {train_loss:.4}  validation {:.4}", metric.unwrap_or(f64::NAN));
        }
        self.board.as_mut().map_or(Ok(()), |b| b.event(e))
    }

    fn flush(&mut self) -> tfreuse::Result<()> {
        self.board.as_mut().map_or(Ok(()), |b| b.flush())
    }
}

impl tfreuse::sweep::Observer for Watch<'_> {
    fn candidate(&mut self, index: usize, of: usize, c: &Candidate) -> tfreuse::Result<()> {
        let frozen = c.freeze_below.as_deref().map_or("nothing frozen".into(), |f| format!("frozen up to {f}"));
        eprintln!("[{}/{of}] {}: branch {}, new layers {}, {frozen}", index + 1, c.name, c.branch, c.new_layers);
        // `--logdir DIR`: the candidate's run in DIR/<candidate>.
        self.board = None;
        if let Some(dir) = self.logdir {
            self.board = Some(TensorBoard::new(tfreuse::summary::EventFile::create(&dir.join(&c.name))?, 20, Some(self.lr)));
        }
        Ok(())
    }

    fn row(&mut self, row: &Row) -> tfreuse::Result<()> {
        eprintln!("    best epoch {}: validation {:.4}, {:.1}s", row.best_epoch, row.val_accuracy, row.seconds);
        self.rows.push(row.clone());
        Ok(())
    }
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    refuse_chosen(&args)?;
    if let Some(out) = &args.out {
        tfreuse::model::save::check_out(out, args.force, Some(&args.model.source()))?;
    }
    args.plot.as_deref().map(|p| tfreuse::summary::plot::check_picture(p, tfreuse::Role::Plot)).transpose()?;
    let schedule = ScheduleSpec {
        epochs: args.epochs.unwrap_or(0),
        batch_size: args.batch_size.unwrap_or(0),
        seed: args.seed,
        patience: args.patience.map(|n| n as usize),
        ..Default::default()
    };
    let mut spec = TransferSpec { schedule, ..args.recipe.spec(&args.model, g)? };
    let rt = g.runtime_for_training(&spec)?;
    let branch = match args.recipe.branch_from.clone() {
        Some(b) => b,
        None => {
            let b = tfreuse::sweep::default_branch(&spec)?;
            eprintln!("--branch-from {b} (the layer under the logits)");
            b
        }
    };
    // Each candidate branches (from here or below): the recipe builds its training op.
    spec.recipe.branch_from = Some(branch.clone());
    let (data, classes) = args.recipe.data(&args.model, g)?;
    let per_class = args.per_class.per_class.map(|n| n as usize);
    let mut console = super::console::Console::new(false);
    let data = tfreuse::train::job::sample(data, per_class, args.seed, classes, &mut console)?;
    choose_defaults(&args, &mut spec, &data, &mut console)?;
    let layers = tfreuse::sweep::layers_of(&spec, &branch)?;
    let cands = candidates(&layers, classes);
    let names: Vec<&str> = layers.iter().map(|l| l.output.as_str()).collect();
    eprintln!("sweep: {} candidates over the reused layers {}", cands.len(), names.join(", "));
    let stop = tfreuse::train::interrupt::stop_on_signals()?;
    let mut watch = Watch { logdir: args.logdir.as_deref(), lr: spec.recipe.lr, board: None, rows: Vec::new() };
    let swept = match tfreuse::sweep::run(&rt, &spec, &cands, (data, classes), args.keep.as_deref(), &stop, &mut watch) {
        Ok(swept) => swept,
        Err(e) => {
            // What was measured is still worth having.
            if !watch.rows.is_empty() {
                print_table(&watch.rows);
                write_files(&args, &watch.rows)?;
            }
            return Err(e.into());
        }
    };
    print_table(&swept.rows);
    write_files(&args, &swept.rows)?;
    if let (Some(out), Some((i, best))) = (&args.out, &swept.best) {
        best.save(out, &mut |_: &Event| {})?;
        eprintln!("saved the best candidate on validation, {}, to {}", swept.rows[*i].candidate.name, out.display());
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
        tfreuse::atomic::write_bytes_atomic(path, &tfreuse::sweep::to_csv(rows)?)?;
    }
    Ok(())
}
