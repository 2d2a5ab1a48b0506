//! `tfreuse train`: every transfer recipe of the book from one command.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use tfreuse::layers::parse_layers;
use tfreuse::train::{check_labels, prepare, Event, Optimizer, Outcome, Progress, TransferSpec};
use tfreuse::Error;

use super::{warn, Global, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Data set: mnist:DIR or npz:FILE (splits train, validation, test).
    #[arg(long, value_name = "SPEC", default_value = "mnist:data/mnist")]
    pub data: String,
    /// Tensor fed with the features.
    #[arg(long, default_value = "X:0", value_name = "TENSOR")]
    pub input: String,
    /// Tensor fed with the labels.
    #[arg(long, default_value = "y:0", value_name = "TENSOR")]
    pub labels: String,
    /// Build new layers (or, without --new-layers, a new loss) on this tensor, e.g. dnn/hidden4/Relu:0.
    #[arg(long, value_name = "TENSOR")]
    pub branch_from: Option<String>,
    /// New dense layers, UNITS[:ACTIVATION],… (relu elu selu leaky_relu tanh sigmoid linear); the last is the logits.
    #[arg(long, value_name = "LAYERS")]
    pub new_layers: Option<String>,
    /// Name prefix of every new op and variable.
    #[arg(long, default_value = "new_")]
    pub prefix: String,
    /// Restore only variables whose names match this regex; initialise the rest.
    #[arg(long, value_name = "REGEX")]
    pub restore: Option<String>,
    /// Train only variables whose names match this regex (minimize(var_list=...)).
    #[arg(long, value_name = "REGEX")]
    pub trainable: Option<String>,
    /// Put a stop_gradient on this tensor: nothing below it is trained.
    #[arg(long, value_name = "TENSOR")]
    pub freeze_below: Option<String>,
    /// Update rule of the new training op (default sgd). Given without --branch-from, it
    /// replaces the imported training op too.
    #[arg(long, value_parser = ["sgd", "momentum", "adam"])]
    pub optimizer: Option<String>,
    /// Learning rate of the new training op.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f32,
    /// Momentum of --optimizer momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// clip_by_value every gradient to [-VALUE, VALUE].
    #[arg(long, value_name = "VALUE")]
    pub clip: Option<f32>,
    /// The imported training op to run (default: the `train_op` collection).
    #[arg(long, value_name = "OP")]
    pub train_op: Option<String>,
    /// Loss tensor of the imported model (default loss/loss:0).
    #[arg(long, value_name = "TENSOR")]
    pub loss: Option<String>,
    /// Metric reported on the validation split (default eval/accuracy:0 or the new accuracy).
    #[arg(long, value_name = "TENSOR")]
    pub metric: Option<String>,
    /// Passes over the training split.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Examples per training step.
    #[arg(long, default_value_t = 200)]
    pub batch_size: usize,
    /// Seeds the shuffles and the new layers' initial weights: same seed, same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Take the batches in file order every epoch instead of shuffling (as a Python loop over
    /// slices does; makes a run reproducible outside tfreuse).
    #[arg(long)]
    pub no_shuffle: bool,
    /// Device for new ops, e.g. /cpu:0 or /gpu:0 (soft placement).
    #[arg(long)]
    pub device: Option<String>,
    /// Compute the frozen layers once for every split and train the upper layers on the cache.
    #[arg(long)]
    pub cache_frozen: bool,
    /// Largest cache --cache-frozen may build, in MB.
    #[arg(long, default_value_t = 4096, value_name = "MB")]
    pub cache_max_mb: usize,
    /// Save the trained model to this checkpoint prefix (e.g. runs/my_new_model_final.ckpt).
    #[arg(long, value_name = "PREFIX")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing --out.
    #[arg(long)]
    pub force: bool,
    /// Continue an interrupted run from the checkpoint it saved (give the same flags).
    #[arg(long, value_name = "PREFIX")]
    pub resume: Option<PathBuf>,
    /// When the loss becomes NaN/Inf, still save the model to --out (for inspection).
    #[arg(long)]
    pub save_on_nan: bool,
    /// Also write per-epoch results as JSON lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl Args {
    fn spec(&self, g: &Global) -> anyhow::Result<TransferSpec> {
        let mut s = TransferSpec::new(&self.model.meta);
        s.checkpoint = self.model.checkpoint.clone();
        s.input = self.input.clone();
        s.labels = self.labels.clone();
        s.branch_from = self.branch_from.clone();
        s.new_layers = match &self.new_layers {
            Some(l) => parse_layers(l)?,
            None => vec![],
        };
        s.prefix = self.prefix.clone();
        s.restore = self.restore.clone();
        s.trainable = self.trainable.clone();
        s.freeze_below = self.freeze_below.clone();
        s.optimizer = self.optimizer.as_deref().map(|o| match o {
            "momentum" => Optimizer::Momentum { momentum: self.momentum },
            "adam" => Optimizer::Adam { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
            _ => Optimizer::Sgd,
        });
        s.lr = self.lr;
        s.clip = self.clip;
        s.train_op = self.train_op.clone();
        s.loss = self.loss.clone();
        s.metric = self.metric.clone();
        s.epochs = self.epochs;
        s.batch_size = self.batch_size;
        s.seed = self.seed;
        s.shuffle = !self.no_shuffle;
        s.device = self.device.clone();
        s.session = g.session_config();
        s.resume_from = self.resume.clone();
        Ok(s)
    }
}

fn check_out(out: &std::path::Path, force: bool, model: &ModelArgs) -> tfreuse::Result<()> {
    use tfreuse::checkpoint::index_path;
    let index = index_path(out);
    // The source: the .meta's own prefix and the checkpoint it would restore.
    let mut sources: Vec<PathBuf> = tfreuse::checkpoint::meta_prefix(&model.meta).iter().map(|p| index_path(p)).collect();
    if let Ok(r) = tfreuse::checkpoint::resolve(model.checkpoint.as_deref(), &model.meta) {
        sources.push(index_path(&r.prefix));
    }
    let same = |a: &std::path::Path, b: &std::path::Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if sources.iter().any(|s| same(s, &index)) {
        return Err(Error::Invalid(format!("--out {}: that is the source checkpoint; choose another prefix", out.display())));
    }
    if index.exists() && !force {
        return Err(Error::Invalid(format!("--out {}: a checkpoint exists there; pass --force to replace it", out.display())));
    }
    let mut probe = tfreuse::fsutil::parent_dir(out);
    while !probe.exists() {
        probe = probe.parent().unwrap_or(std::path::Path::new("."));
    }
    let md = std::fs::metadata(probe).map_err(|e| Error::io(probe, e))?;
    if md.permissions().readonly() || !md.is_dir() {
        return Err(Error::Invalid(format!("--out {}: {} is not a writable directory", out.display(), probe.display())));
    }
    Ok(())
}

/// Where an interrupted run saves: beside --out, else in the current directory.
fn resume_prefix(out: Option<&std::path::Path>) -> PathBuf {
    match out {
        Some(o) => PathBuf::from(format!("{}-interrupted", o.display())),
        None => PathBuf::from("tfreuse-interrupted.ckpt"),
    }
}

fn sidecar_path(prefix: &std::path::Path) -> PathBuf {
    PathBuf::from(format!("{}.resume.json", prefix.display()))
}

fn read_progress(prefix: &std::path::Path, spec: &TransferSpec) -> tfreuse::Result<Progress> {
    let path = sidecar_path(prefix);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::bad_file(&path, format!("not a resume file: {e}")))?;
    if v["fingerprint"].as_str() != Some(spec.fingerprint().as_str()) {
        return Err(Error::Invalid(format!(
            "--resume {}: the flags differ from the interrupted run's; resume with the same flags",
            prefix.display()
        )));
    }
    serde_json::from_value(v["progress"].clone()).map_err(|e| Error::bad_file(&path, format!("bad progress record: {e}")))
}

fn print_setup(r: &tfreuse::train::SetupReport) {
    for w in &r.warnings {
        warn(Some(w));
    }
    eprintln!("checkpoint: {}", r.checkpoint);
    eprintln!("restored ({}): {}", r.restored.len(), r.restored.join(", "));
    if !r.initialized.is_empty() {
        eprintln!("initialised ({}): {}", r.initialized.len(), r.initialized.join(", "));
    }
    eprintln!("training op {} on loss {}: trains {} variable(s): {}", r.train_op, r.loss, r.trained.len(), r.trained.join(", "));
    if !r.frozen.is_empty() {
        eprintln!("not trained (frozen, or not on the path to the loss): {}", r.frozen.join(", "));
    }
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    let spec = args.spec(g)?;
    if let Some(out) = &args.out {
        check_out(out, args.force, &args.model)?;
    }
    let data = tfreuse::data::load(&args.data)?;
    let classes = data.splits.values().map(|s| s.num_classes()).max().unwrap_or(0);
    check_labels(&data, classes)?;
    // Fail fast, before loading TensorFlow.
    let n_train = data.training_split()?.len();
    if args.batch_size > n_train {
        return Err(Error::Invalid(format!("--batch-size {} is larger than the {n_train} training examples", args.batch_size)).into());
    }
    g.load_tf()?;
    let mut prepared = prepare(&spec, classes)?;
    print_setup(&prepared.report);
    let tty = std::io::stderr().is_terminal();
    let cached = if args.cache_frozen {
        let t0 = std::time::Instant::now();
        let bar = tty.then(|| ProgressBar::new(0));
        let d = prepared.use_cache(&data, args.cache_max_mb << 20, 1000, &mut |split, done, n| {
            if let Some(b) = &bar {
                b.set_length(n as u64);
                b.set_position(done as u64);
                b.set_message(split.to_string());
            }
        })?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let mb = d.splits.values().map(|s| s.x.bytes()).sum::<usize>() as f64 / (1 << 20) as f64;
        eprintln!("cached {} for every split: {mb:.1} MB in {:.2}s", tfreuse::train::output_name(&prepared.feed), t0.elapsed().as_secs_f64());
        Some(d)
    } else {
        if let Ok(cut) = &prepared.cut {
            eprintln!("hint: nothing below {} trains; --cache-frozen would compute it once and train faster", tfreuse::train::output_name(cut));
        }
        None
    };
    let data = cached.as_ref().unwrap_or(&data);
    let train = data.training_split()?;
    let validation = data.splits.get("validation");
    let metric_name = prepared.report.metric.clone().unwrap_or_else(|| "metric".into());
    let mut json = match &args.json {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p).map_err(|e| Error::io(p, e))?)),
        None => None,
    };
    let mut bar: Option<ProgressBar> = None;
    let mut on_event = |e: &Event| {
        match e {
            Event::Step { epoch, step, steps, loss } if tty => {
                let b = bar.get_or_insert_with(|| {
                    let b = ProgressBar::new(*steps as u64);
                    b.set_style(ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} loss {msg}").unwrap().progress_chars("=> "));
                    b
                });
                b.set_prefix(epoch.to_string());
                b.set_position(*step as u64);
                if *step % 10 == 0 || step == steps {
                    b.set_message(format!("{loss:.4}"));
                }
            }
            Event::Step { .. } => {}
            Event::FirstStep { .. } => {
                if let Some(j) = json.as_mut() {
                    let _ = writeln!(j, "{}", serde_json::to_string(e).unwrap_or_default());
                }
            }
            Event::Epoch { epoch, train_loss, metric, seconds, .. } => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
                let m = metric.map_or(String::new(), |m| format!("  validation {metric_name} {m:.4}"));
                eprintln!("epoch {epoch:>3}  train loss {train_loss:.4}{m}  {seconds:.2}s");
                if let Some(j) = json.as_mut() {
                    let _ = writeln!(j, "{}", serde_json::to_string(e).unwrap_or_default());
                }
            }
        }
    };
    let start = match &args.resume {
        Some(p) => read_progress(p, &spec)?,
        None => Progress::default(),
    };
    // Ctrl-C / SIGTERM: finish the current step, then save a resumable checkpoint.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| Error::Invalid(format!("cannot handle signals: {e}")))?;
    }
    let outcome = prepared.train(&spec, train, validation, start, &stop, &mut on_event)?;
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    match outcome {
        Outcome::Finished(_) => {}
        Outcome::Interrupted(progress) => {
            let prefix = resume_prefix(args.out.as_deref());
            prepared.save(&prefix)?;
            let sidecar = sidecar_path(&prefix);
            let state = serde_json::json!({"fingerprint": spec.fingerprint(), "progress": progress});
            tfreuse::fsutil::write_bytes_atomic(&sidecar, serde_json::to_string_pretty(&state)?.as_bytes())?;
            eprintln!(
                "interrupted at epoch {} step {}: saved a resumable checkpoint to {}; continue with the same flags plus --resume {}",
                progress.epoch + 1,
                progress.step,
                prefix.display(),
                prefix.display()
            );
            if let Some(j) = json.as_mut() {
                let _ = j.flush(); // exit() skips destructors
            }
            std::process::exit(130);
        }
        Outcome::Diverged { epoch, step, loss } => {
            let saved = match (&args.out, args.save_on_nan) {
                (Some(out), true) => {
                    prepared.save(out)?;
                    format!("; saved the model as it is to {} (--save-on-nan)", out.display())
                }
                _ => "; nothing saved (--save-on-nan saves anyway)".to_string(),
            };
            anyhow::bail!(Error::Diverged(format!(
                "the loss became {loss} at epoch {epoch} step {step}; try a smaller --lr or --clip{saved}"
            )));
        }
    }
    if let Ok(test) = data.split("test") {
        let v = prepared.evaluate(test)?;
        let metric = v.get(1).map_or(String::new(), |m| format!(", {metric_name} {m:.4}"));
        println!("test: loss {:.4}{metric} ({} examples)", v[0], test.len());
        if let Some(j) = json.as_mut() {
            let _ = writeln!(j, "{}", serde_json::json!({"event": "test", "loss": v[0], "metric": v.get(1)}));
        }
    }
    if let Some(j) = json.as_mut() {
        j.flush().map_err(|e| Error::io(args.json.as_ref().unwrap(), e))?;
    }
    if let Some(out) = &args.out {
        eprintln!("saving {} …", out.display());
        let files = prepared.save(out)?;
        eprintln!("saved {} (+ {} files)", out.display(), files.len());
    }
    Ok(())
}
