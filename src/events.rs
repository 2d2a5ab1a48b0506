//! What a long operation reports while it runs, and where the reports go. Training sends
//! [`Event`]s to an [`EventSink`]: the library has a JSON-lines sink (`--json FILE`) and an
//! in-memory one (tests, embedding programs); the CLI adds its progress bar; TensorBoard event
//! files are one more (the `summary` module, which uses this one).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What setting up a transfer run did, for the user.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SetupReport {
    /// Where the variables came from: the checkpoint, or why there is none.
    pub checkpoint: String,
    /// The variables restored from it.
    pub restored: Vec<String>,
    /// The variables initialised instead (the new layers', and any not restored).
    pub initialized: Vec<String>,
    /// The variables the training op updates.
    pub trained: Vec<String>,
    /// The variables left as they are (frozen).
    pub frozen: Vec<String>,
    /// The operation that trains.
    pub train_op: String,
    /// The loss it minimises.
    pub loss: String,
    /// The metric reported beside the loss (accuracy), when there is one.
    pub metric: Option<String>,
    /// What the user should know about the setup (notes on the model and its checkpoint).
    pub warnings: Vec<String>,
    /// The tensor nothing below which trains, if there is one (what `--cache-frozen` caches).
    pub cut: Option<String>,
    /// The new layers' logits (what `export --logits` and `predict` take).
    pub logits: Option<String>,
    /// In a cluster, what each ps task holds (`ps task 0: 7 variables, 1066 KB`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placement: Vec<String>,
    /// XLA on or off, and why (`--jit`, or what `auto` decided from the step).
    pub jit: crate::tf::jit::Choice,
    /// An input of a fixed batch below new layers: relaxed to any batch, or kept with only new
    /// layers above the cut (the frozen part then runs in that batch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<FixedBatch>,
}

/// An input the graph fixed to batches of exactly `batch` rows (a graph frozen for one picture
/// a run, as retrain.py's), below new layers that take batches of any size.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FixedBatch {
    /// The input.
    pub input: String,
    /// The rows per run the graph fixed.
    pub batch: usize,
    /// Its batch was relaxed (shape inference showed nothing else pins it): the graph runs,
    /// and is saved, taking batches of any size. Else the frozen part runs `batch` rows a run.
    pub relaxed: bool,
}

/// One report.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The model is built and its variables restored or initialised.
    Setup(Box<SetupReport>),
    /// Computing the frozen layers' cache: `done` of `total` examples of `split`.
    CacheProgress {
        /// The split being computed (`train`, `validation`, `test`).
        split: String,
        /// Examples done.
        done: usize,
        /// Examples in the split.
        total: usize,
    },
    /// The cache is ready.
    Cached {
        /// The cut: the tensor whose values are cached.
        tensor: String,
        /// The cache's size, in megabytes.
        megabytes: f64,
        /// How long computing it took.
        seconds: f64,
    },
    /// The feature cache on disk is read: `hits` rows were there, `misses` were computed
    /// (`tf_seconds` of `seconds` inside TensorFlow); `skipped` pictures could not be decoded.
    DiskCache {
        /// The cut: the tensor whose values are cached.
        tensor: String,
        /// The store's folder.
        dir: PathBuf,
        /// Rows found in the store.
        hits: usize,
        /// Rows computed and added.
        misses: usize,
        /// Damaged records found (their pictures were computed again).
        damaged: usize,
        /// Pictures that could not be decoded, and why.
        skipped: Vec<String>,
        /// The size of this data set's rows in the store.
        megabytes: f64,
        /// How long reading and computing took.
        seconds: f64,
        /// The part of `seconds` spent inside TensorFlow.
        tf_seconds: f64,
    },
    /// The first training step finished (wall clock, for start-up benchmarks).
    FirstStep {
        /// Seconds since the Unix epoch.
        unix_time: f64,
    },
    /// A training step finished: step `step` of `steps` in epoch `epoch`, with its batch's loss.
    Step {
        /// The epoch, from 1.
        epoch: usize,
        /// The step in the epoch, from 1.
        step: usize,
        /// Steps in an epoch.
        steps: usize,
        /// The batch's loss.
        loss: f32,
    },
    /// `seconds` includes the validation pass; `train_seconds` is the training steps alone,
    /// over `examples` training examples.
    Epoch {
        /// The epoch, from 1.
        epoch: usize,
        /// The mean training loss over the epoch.
        train_loss: f64,
        /// On the validation split, when there is one.
        validation_loss: Option<f64>,
        /// The validation metric (accuracy), when there is a validation split and a metric.
        metric: Option<f64>,
        /// Seconds the epoch took.
        seconds: f64,
        /// Seconds of training steps.
        train_seconds: f64,
        /// Training examples in the epoch.
        examples: usize,
    },
    /// Loss and metric on the test split after an epoch (`--eval-test-every-epoch`: for
    /// studies; choosing by them would be choosing on test).
    EpochTest {
        /// The epoch, from 1.
        epoch: usize,
        /// The test loss.
        loss: f64,
        /// The test metric (accuracy), when there is one.
        metric: Option<f64>,
    },
    /// The trained variables' values after an epoch (float32 ones, by name); sent only to
    /// sinks that want them.
    Variables {
        /// The epoch, from 1.
        epoch: usize,
        /// Each trained float32 variable's name and values.
        values: Vec<(String, Vec<f32>)>,
    },
    /// Early stopping (`--patience`) is done: the best epoch's variables are the model's now
    /// (`restored`: they were put back, later epochs being worse); `stopped_early`: training
    /// ended before the last epoch asked for.
    Best {
        /// The best epoch, from 1.
        epoch: usize,
        /// The value watched: the validation metric, or the validation loss when `on_loss`.
        metric: f64,
        /// Whether the loss was watched (no metric).
        on_loss: bool,
        /// Whether the best epoch's values were put back.
        restored: bool,
        /// Whether training ended before the last epoch.
        stopped_early: bool,
    },
    /// The graph as built, a serialized GraphDef; sent only to sinks that want it.
    Graph {
        /// The GraphDef's bytes.
        graph_def: Vec<u8>,
    },
    /// Loss and metric on the test split after training.
    Test {
        /// The test loss.
        loss: f64,
        /// The test metric (accuracy), when there is one.
        metric: Option<f64>,
        /// Test examples.
        examples: usize,
    },
    /// Training takes `per_class` examples of each class: `examples` in all, drawn by `seed`.
    Sampled {
        /// Examples taken of each class.
        per_class: usize,
        /// Training examples in all.
        examples: usize,
        /// Classes.
        classes: usize,
        /// The seed that drew them.
        seed: u64,
    },
    /// Settings the run left unsaid, as the training defaults chose them (each
    /// `None` was given).
    Defaults {
        /// The new training op's update rule.
        optimizer: Option<String>,
        /// Its learning rate.
        lr: Option<f32>,
        /// Examples per step.
        batch_size: Option<usize>,
        /// Passes over the training split, at most.
        epochs: Option<usize>,
        /// Early stopping after this many epochs without improvement (inner `None`: none).
        patience: Option<Option<usize>>,
        /// Whether a validation split allowed early stopping.
        can_stop_early: bool,
    },
    /// Caching asked for with nothing frozen: every reused layer is frozen, below `below`
    /// (the branch), so its output can be cached.
    FrozenForCache {
        /// The tensor nothing below trains.
        below: String,
    },
    /// The input takes batches of exactly `batch` rows (a graph frozen for one picture a run,
    /// as retrain.py's): `tensor` is computed `batch` rows a run — once, into the cache, or
    /// inside each step — and the new layers above it train in batches of the training batch
    /// size.
    FrozenBatch {
        /// The input.
        input: String,
        /// The rows per run it takes.
        batch: usize,
        /// The cut whose rows the new layers are fed.
        tensor: String,
        /// The cut's rows were cached (else computed inside each step).
        cached: bool,
    },
    /// Each class's loss weight in the new head (balanced), by class label.
    ClassWeights {
        /// Each class's label and weight.
        weights: Vec<(String, f32)>,
    },
    /// A cluster worker trains on its shard: the `examples` whose index i has i mod `workers` = `worker`.
    Shard {
        /// This worker's index.
        worker: usize,
        /// Workers in the cluster.
        workers: usize,
        /// Examples in this worker's shard.
        examples: usize,
    },
    /// The chief resumes from the checkpoint it saved before a crash.
    ChiefResumes {
        /// The checkpoint prefix it resumes from.
        from: PathBuf,
    },
    /// This worker's server task runs at `address`; its session uses it.
    Joined {
        /// This worker's index.
        worker: usize,
        /// Workers in the cluster.
        workers: usize,
        /// Parameter server tasks.
        ps: usize,
        /// The server's `grpc://` address.
        address: String,
    },
    /// Step `step` of a checkpoint save is done (write, backup, each rename).
    SaveStep {
        /// The step done, from 1.
        step: usize,
    },
    /// A checkpoint was written.
    Saved {
        /// The checkpoint prefix written.
        prefix: PathBuf,
        /// Files written.
        files: usize,
    },
    /// Something the user should know that stops nothing. Arguments it names are
    /// [`crate::Role::mention`]s (see [`crate::error::render_roles`]).
    Warning {
        /// The warning, one line.
        message: String,
    },
    /// How fetching the zoo's model `name` from `url` goes.
    Fetch {
        /// The model's name in the zoo.
        name: String,
        /// Where it is fetched from.
        url: String,
        /// How far it got.
        step: FetchStep,
    },
    /// `who` waits for `what` before going on (a worker for its chief).
    Waiting {
        /// Who waits (a worker).
        who: String,
        /// What for (its chief's checkpoint).
        what: String,
    },
}

/// A step of [`Event::Fetch`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchStep {
    /// Another process is fetching the same model: this one waits for it to finish.
    Waiting,
    /// The download starts.
    Started,
    /// `done` bytes of `total` (when the server says) are here.
    Progress {
        /// Bytes received.
        done: u64,
        /// The download's size, when the server says.
        total: Option<u64>,
    },
    /// An attempt failed for `reason`; the next starts in `wait_seconds`.
    Retrying {
        /// Why the attempt failed.
        reason: String,
        /// Seconds until the next attempt.
        wait_seconds: f64,
    },
    /// A cut download goes on from byte `from`.
    Resuming {
        /// The byte it goes on from.
        from: u64,
    },
    /// No SHA-256 was pinned or recorded for the download: `sha256` is trusted on first use,
    /// recorded in `record` for later fetches to match.
    TrustedOnFirstUse {
        /// The download's SHA-256.
        sha256: String,
        /// The file it is recorded in.
        record: PathBuf,
    },
    /// The download matched its SHA-256 and is unpacked into `dir` (`megabytes` in all).
    Unpacked {
        /// The model's folder in the cache.
        dir: PathBuf,
        /// Its size.
        megabytes: f64,
    },
}

/// Where events go.
pub trait EventSink {
    /// Take one event; an error stops the operation that sent it.
    fn event(&mut self, e: &Event) -> Result<()>;
    /// Make everything received so far durable (before an exit that skips destructors).
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// Whether [`Event::Graph`] is wanted (serializing a large graph is not free).
    fn wants_graph(&self) -> bool {
        false
    }
    /// Whether [`Event::Variables`] is wanted (reading every trained variable is not free).
    fn wants_variables(&self) -> bool {
        false
    }
    /// What this sink has to report itself (a warning), taken once; a [`Tee`] passes it to
    /// its sinks.
    fn notices(&mut self) -> Vec<Event> {
        Vec::new()
    }
}

/// A closure is a sink: `&mut |e: &Event| …`.
impl<F: FnMut(&Event)> EventSink for F {
    fn event(&mut self, e: &Event) -> Result<()> {
        self(e);
        Ok(())
    }
}

/// Keeps every event, in order.
#[derive(Default)]
pub struct Memory(pub Vec<Event>);

impl EventSink for Memory {
    fn event(&mut self, e: &Event) -> Result<()> {
        self.0.push(e.clone());
        Ok(())
    }
}

static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Note when the process started (the first thing `main` does), for [`JsonLines`]' `elapsed`.
pub fn mark_start() {
    START.get_or_init(std::time::Instant::now);
}

/// One JSON object per line, for every event but the per-step and progress ones, each with
/// `elapsed`: seconds since the process started (start-up benchmarks read it).
pub struct JsonLines {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl JsonLines {
    /// A new log at `path` (replaced if there).
    pub fn create(path: &Path) -> Result<Self> {
        Self::open(path, false)
    }

    /// A log at `path`, started anew or, with `append`, continued.
    pub fn open(path: &Path, append: bool) -> Result<Self> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(JsonLines { path: path.to_path_buf(), out: std::io::BufWriter::new(f) })
    }
}

impl EventSink for JsonLines {
    fn event(&mut self, e: &Event) -> Result<()> {
        if matches!(
            e,
            Event::Step { .. }
                | Event::CacheProgress { .. }
                | Event::SaveStep { .. }
                | Event::Graph { .. }
                | Event::Variables { .. }
                | Event::Fetch { step: FetchStep::Progress { .. }, .. }
        ) {
            return Ok(());
        }
        let line = serde_json::to_string(e).map_err(|err| Error::Invalid(format!("cannot log an event: {err}")))?;
        // Arguments mentioned in warnings, by their names for a reader (no quote in those).
        let mut line = crate::error::render_roles(&line, |r| r.describe().to_string());
        // Every event is a JSON object: `elapsed` goes last, the fields keep their order.
        line.pop();
        line.push_str(&format!(",\"elapsed\":{}}}", START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()));
        writeln!(self.out, "{line}").map_err(|err| Error::io(&self.path, err))
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|err| Error::io(&self.path, err))
    }
}

/// Sends every event to each of several sinks.
pub struct Tee<'a>(pub Vec<&'a mut dyn EventSink>);

impl EventSink for Tee<'_> {
    fn event(&mut self, e: &Event) -> Result<()> {
        self.0.iter_mut().try_for_each(|s| s.event(e))?;
        let notices: Vec<Event> = self.0.iter_mut().flat_map(|s| s.notices()).collect();
        notices.iter().try_for_each(|n| self.0.iter_mut().try_for_each(|s| s.event(n)))
    }

    fn flush(&mut self) -> Result<()> {
        self.0.iter_mut().try_for_each(|s| s.flush())
    }

    fn wants_graph(&self) -> bool {
        self.0.iter().any(|s| s.wants_graph())
    }

    fn wants_variables(&self) -> bool {
        self.0.iter().any(|s| s.wants_variables())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_skip_steps_and_keep_the_rest() {
        let path = std::env::temp_dir().join(format!("tfreuse-events-{}.jsonl", std::process::id()));
        let mut mem = Memory::default();
        {
            let mut json = JsonLines::create(&path).unwrap();
            let mut tee = Tee(vec![&mut json, &mut mem]);
            tee.event(&Event::Step { epoch: 1, step: 1, steps: 2, loss: 0.5 }).unwrap();
            tee.event(&Event::Test { loss: 0.25, metric: Some(0.9), examples: 10 }).unwrap();
            tee.flush().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (head, elapsed) = text.trim_end().rsplit_once(",\"elapsed\":").unwrap();
        assert_eq!(head, "{\"event\":\"test\",\"loss\":0.25,\"metric\":0.9,\"examples\":10");
        assert!(elapsed.trim_end_matches('}').parse::<f64>().unwrap() >= 0.0 && text.ends_with("}\n"), "{text}");
        assert_eq!(mem.0.len(), 2, "the memory sink keeps every event");
        std::fs::remove_file(&path).unwrap();
    }
}
