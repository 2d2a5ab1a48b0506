//! `tfreuse train`: every transfer recipe of the book from one command.

use tfreuse::events::{EventSink, JsonLines, Tee};
use tfreuse::train::job::Job;
use tfreuse::train::joining::Joining;
use tfreuse::train::Ended;
use tfreuse::train::TransferSpec;
use tfreuse::Error;

use super::console::Console;
use super::headings::OUTPUT;
use super::recipe::Recipe;
use super::schedule::{Caching, Output, Sampling, Schedule};
use super::{Global, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub recipe: Recipe,
    #[command(flatten)]
    pub schedule: Schedule,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub caching: Caching,
    /// Save only what the new output needs.
    ///
    /// No layers above --branch-from, no old loss, no slots of the old optimizer: a smaller
    /// checkpoint that imports the same.
    #[arg(long, help_heading = OUTPUT)]
    pub prune: bool,
    #[command(flatten)]
    pub cluster: super::worker::Args,
    #[command(flatten)]
    pub global: Global,
}

pub fn exec(mut args: Args, g: &Global) -> anyhow::Result<()> {
    let s = &mut args.schedule;
    (s.sampling, s.caching, s.prune) = (args.sampling.clone(), args.caching.clone(), args.prune);
    let spec = args.schedule.apply(args.recipe.spec(&args.model, g)?, args.recipe.cache_frozen)?;
    args.schedule.check_out(Some(&args.model))?;
    let joining = args.cluster.joining(args.schedule.output.out.as_deref(), g)?;
    // With a feature cache on disk, pictures are only listed and digested here: the cache
    // decodes the ones it lacks.
    let (data, classes) = args.recipe.data(&args.model, g)?;
    let r = &args.recipe;
    let how = How { cache_frozen: r.cache_frozen, unset: r.unset(args.schedule.book()), joining };
    train_on(spec, (data, classes), &args.schedule, how, g)
}

/// What [`train_on`] needs besides the spec and the schedule.
pub(super) struct How {
    pub cache_frozen: bool,
    /// The recipe's settings left to choose from the data (optimizer, learning rate).
    pub unset: tfreuse::train::defaults::Unset,
    /// Training as a worker of a cluster.
    pub joining: Option<Joining>,
}

/// Train as `spec` and `sched` say on `data`, with the console, --json, --logdir and --plot
/// watching; Ctrl-C saves a resumable checkpoint and exits 130.
pub(super) fn train_on(spec: TransferSpec, data: (tfreuse::DataSet, usize), sched: &Schedule, how: How, g: &Global) -> anyhow::Result<()> {
    let mut console = Console::new(how.cache_frozen);
    // Fail fast, before loading TensorFlow.
    let job = Job::new(spec, data, sched.options(how.cache_frozen, how.unset), how.joining, &mut console)?;
    let rt = g.runtime_for_training(job.spec())?;
    let out = &sched.output;
    let mut json = out.json.as_deref().map(|p| JsonLines::open(p, sched.json_append)).transpose()?;
    // The learning rate of tfreuse's own training op (an imported one's is the graph's).
    let recipe = &job.spec().recipe;
    let mut board = tensorboard(out, recipe.builds_train_op().then_some(recipe.lr))?;
    // The plot's path and earlier runs are checked before training.
    out.plot.as_deref().map(|p| tfreuse::summary::plot::check_picture(p, tfreuse::Role::Plot)).transpose()?;
    let compared = out.plot_compare.iter().map(|p| tfreuse::summary::plot::Curve::from_json_log(p)).collect::<tfreuse::Result<Vec<_>>>()?;
    let mut curve = tfreuse::summary::plot::Collect::default();
    let mut sinks: Vec<&mut dyn EventSink> = vec![&mut console];
    if let Some(j) = json.as_mut() {
        sinks.push(j);
    }
    if let Some(b) = board.as_mut() {
        sinks.push(b);
    }
    if out.plot.is_some() {
        sinks.push(&mut curve);
    }
    let stop = tfreuse::train::interrupt::stop_on_signals()?;
    match job.run(&rt, &stop, &mut Tee(sinks))? {
        Ended::Finished => plot(out, curve.0, compared),
        Ended::Interrupted { progress, saved_to } => {
            eprintln!(
                "interrupted at epoch {} step {}: saved a resumable checkpoint to {}; continue with the same flags plus --resume {}",
                progress.epoch + 1,
                progress.step,
                saved_to.display(),
                saved_to.display()
            );
            Err(super::Exit(130).into())
        }
        Ended::Stopped(progress) => {
            eprintln!("interrupted at epoch {} step {} (a worker saves nothing; the chief does)", progress.epoch + 1, progress.step);
            Err(super::Exit(130).into())
        }
    }
}

/// `--plot`: this run's curve (named as its --out, else "this run") beside the compared ones.
fn plot(output: &Output, mut this: tfreuse::summary::plot::Curve, mut curves: Vec<tfreuse::summary::plot::Curve>) -> anyhow::Result<()> {
    let Some(path) = &output.plot else { return Ok(()) };
    this.name = output.out.as_ref().and_then(|o| o.file_name()).map_or("this run".into(), |n| n.to_string_lossy().into_owned());
    curves.push(this);
    tfreuse::summary::plot::draw(path, &curves)?;
    eprintln!("plot: {}", path.display());
    Ok(())
}

/// The TensorBoard sink `--logdir` asks for, its event file made (and named on stderr).
fn tensorboard(output: &Output, lr: Option<f32>) -> anyhow::Result<Option<tfreuse::summary::TensorBoard>> {
    let Some(dir) = &output.logdir else { return Ok(None) };
    let name = match (&output.run_name, &output.out) {
        (Some(n), _) => n.clone(),
        (None, Some(out)) => out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into()),
        (None, None) => {
            format!("run-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
        }
    };
    if name.is_empty() || name.contains('/') || name == ".." {
        return Err(Error::Invalid(format!("--run-name {name:?}: one folder name, please")).into());
    }
    let file = tfreuse::summary::EventFile::create(&dir.join(&name))?;
    eprintln!("tensorboard: {} (tensorboard --logdir {})", file.path().display(), dir.display());
    Ok(Some(tfreuse::summary::TensorBoard::new(file, output.log_every as usize, lr).with_histograms(output.histograms)))
}
