//! What a person sees of a training run: the setup, a progress bar on a terminal (plain
//! epoch lines otherwise), the test result, the save; every [`Event`] rendered as a line.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use tfreuse::events::{Event, EventSink, FixedBatch, SetupReport};

use super::warn;

fn print_setup(r: &SetupReport, caching: bool) {
    for w in &r.warnings {
        warn(Some(w));
    }
    if !r.placement.is_empty() {
        eprintln!("variables on the ps tasks: {}", r.placement.join("; "));
    }
    eprintln!("jit: {} ({}; --jit on|off to choose)", if r.jit.on { "on" } else { "off" }, super::notices::jit_reason(&r.jit));
    eprintln!("checkpoint: {}", r.checkpoint);
    if !r.restored.is_empty() {
        eprintln!("restored ({}): {}", r.restored.len(), r.restored.join(", "));
    }
    if !r.initialized.is_empty() {
        eprintln!("initialised ({}): {}", r.initialized.len(), r.initialized.join(", "));
    }
    eprintln!("training op {} on loss {}: trains {} variable(s): {}", r.train_op, r.loss, r.trained.len(), r.trained.join(", "));
    if !r.frozen.is_empty() {
        eprintln!("not trained (frozen, or not on the path to the loss): {}", r.frozen.join(", "));
    }
    // A batch kept fixed is said by the `FrozenBatch` event, with how the frozen part runs.
    if let Some(FixedBatch { input, batch, relaxed: true }) = &r.batch {
        eprintln!("relaxed the batch of {input} (the graph fixed {batch}): shape inference finds nothing else pinning it, so the graph runs in batches of --batch-size and is saved taking any batch");
    }
    if let Some(logits) = &r.logits {
        eprintln!("new logits: {logits} (export --logits, predict)");
    }
    if let (Some(cut), false) = (&r.cut, caching) {
        eprintln!("hint: nothing below {cut} trains; --cache-frozen would compute it once and train faster");
    }
}

/// What the user sees: the setup, a progress bar on a terminal (plain epoch lines
/// otherwise), the test result, the save.
pub struct Console {
    tty: bool,
    caching: bool,
    metric: String,
    bar: Option<ProgressBar>,
}

impl Console {
    /// A console on stderr; `caching`: the frozen layers are cached (no hint to cache them).
    pub fn new(caching: bool) -> Self {
        Console { tty: std::io::stderr().is_terminal(), caching, metric: "metric".into(), bar: None }
    }

    fn bar(&mut self, len: usize, template: &str) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let b = ProgressBar::new(len as u64);
            b.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
            b
        })
    }

    fn clear(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl EventSink for Console {
    fn event(&mut self, e: &Event) -> tfreuse::Result<()> {
        match e {
            Event::Setup(r) => {
                self.metric = r.metric.clone().unwrap_or_else(|| "metric".into());
                print_setup(r, self.caching);
            }
            Event::CacheProgress { split, done, total } if self.tty => {
                let b = self.bar(*total, "caching {msg} [{bar:30}] {pos}/{len}");
                b.set_length(*total as u64);
                b.set_position(*done as u64);
                b.set_message(split.clone());
            }
            Event::CacheProgress { done, .. } => test_hooks::cache_step(*done),
            Event::Cached { tensor, megabytes, seconds } => {
                self.clear();
                eprintln!("cached {tensor} for every split: {megabytes:.1} MB in {seconds:.2}s");
            }
            Event::DiskCache { tensor, dir, hits, misses, damaged, skipped, megabytes, seconds, .. } => {
                self.clear();
                if *damaged > 0 {
                    warn(Some(&format!(
                        "{damaged} damaged record(s) in the feature cache were ignored; their pictures were computed again"
                    )));
                }
                if !skipped.is_empty() {
                    let more = if skipped.len() > 3 { "; …" } else { "" };
                    let first = skipped[..skipped.len().min(3)].join("; ");
                    warn(Some(&format!("skipped {} file(s) that are no readable picture: {first}{more}", skipped.len())));
                }
                eprintln!(
                    "feature cache ({}): {tensor}: {hits} hit(s), {misses} computed; {megabytes:.1} MB; {seconds:.2}s",
                    dir.display()
                );
            }
            Event::Step { epoch, step, steps, loss } if self.tty => {
                let b = self.bar(*steps, "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} loss {msg}");
                b.set_prefix(epoch.to_string());
                b.set_position(*step as u64);
                if *step % 10 == 0 || step == steps {
                    b.set_message(format!("{loss:.4}"));
                }
            }
            Event::Epoch { epoch, train_loss, validation_loss, metric, seconds, .. } => {
                self.clear();
                let l = validation_loss.map_or(String::new(), |l| format!("  validation loss {l:.4}"));
                let m = metric.map_or(String::new(), |m| format!("  {} {m:.4}", self.metric));
                eprintln!("epoch {epoch:>3}  train loss {train_loss:.4}{l}{m}  {seconds:.2}s");
            }
            Event::EpochTest { loss, metric, .. } => {
                let m = metric.map_or(String::new(), |m| format!("  {} {m:.4}", self.metric));
                eprintln!("           test loss {loss:.4}{m}");
            }
            Event::Best { epoch, metric, on_loss, restored, stopped_early } => {
                let why = match (stopped_early, restored) {
                    (true, _) => "stopped early; its weights were put back",
                    (false, true) => "later epochs were worse; its weights were put back",
                    (false, false) => "the last epoch",
                };
                let watched = if *on_loss { "loss" } else { &self.metric };
                eprintln!("best epoch {epoch}: validation {watched} {metric:.4} ({why})");
            }
            Event::Test { loss, metric, examples } => {
                let m = metric.map_or(String::new(), |m| format!(", {} {m:.4}", self.metric));
                println!("test: loss {loss:.4}{m} ({examples} examples)");
            }
            Event::SaveStep { step } => {
                if *step == 0 {
                    self.clear();
                }
                test_hooks::save_step(*step)
            }
            Event::Saved { prefix, files } => eprintln!("saved {} (+ {files} files)", prefix.display()),
            other => note(other),
        }
        Ok(())
    }

    fn flush(&mut self) -> tfreuse::Result<()> {
        self.clear();
        Ok(())
    }
}

/// With the `test-hooks` feature, `TFREUSE_TEST_SAVE_PAUSE_MS` makes every step of a save
/// announce itself on stderr (`save step N`) and pause, so a test can kill the process at
/// every point of a save; `TFREUSE_TEST_CACHE_PAUSE_MS` does the same for each batch the
/// feature cache computes (`cache step N`). Without the feature, nothing.
mod test_hooks {
    pub fn save_step(step: usize) {
        pause("TFREUSE_TEST_SAVE_PAUSE_MS", "save step", step);
    }

    pub fn cache_step(done: usize) {
        pause("TFREUSE_TEST_CACHE_PAUSE_MS", "cache step", done);
    }

    #[cfg(feature = "test-hooks")]
    fn pause(var: &str, what: &str, n: usize) {
        if let Some(ms) = std::env::var(var).ok().and_then(|v| v.parse::<u64>().ok()) {
            eprintln!("{what} {n}");
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }

    #[cfg(not(feature = "test-hooks"))]
    fn pause(_: &str, _: &str, _: usize) {}
}

/// `defaults: adam 0.001, batch 32, up to 100 epochs, early stopping after 5 without improvement`.
fn defaults_line(e: &Event) -> String {
    let Event::Defaults { optimizer, lr, batch_size, epochs, patience, can_stop_early } = e else { return String::new() };
    let mut said: Vec<String> = vec![];
    match (optimizer, lr) {
        (Some(o), Some(lr)) => said.push(format!("{o} {lr}")),
        (Some(o), None) => said.push(o.clone()),
        (None, Some(lr)) => said.push(format!("learning rate {lr}")),
        (None, None) => {}
    }
    said.extend(batch_size.map(|b| format!("batch {b}")));
    match (epochs, patience) {
        (Some(n), Some(Some(_))) => said.push(format!("up to {n} epochs")),
        (Some(n), _) => said.push(format!("{n} epochs")),
        _ => {}
    }
    match patience {
        Some(Some(p)) => said.push(format!("early stopping after {p} without improvement")),
        Some(None) if !can_stop_early => said.push("no early stopping (no validation split to watch)".into()),
        _ => {}
    }
    format!("defaults: {} (--defaults book for the book's: sgd 0.01, batch 200, 20 epochs)", said.join(", "))
}

/// The events that are one line each, whatever the terminal.
fn note(e: &Event) {
    match e {
        Event::Sampled { per_class, examples, classes, seed } => {
            eprintln!("--per-class {per_class}: training on {examples} examples ({classes} classes, seed {seed})")
        }
        Event::Defaults { .. } => eprintln!("{}", defaults_line(e)),
        Event::FrozenForCache { below } => {
            eprintln!("--freeze-below {below} (--cache-frozen with nothing frozen: the reused layers are frozen and their output cached)")
        }
        Event::FrozenBatch { input, batch, tensor, cached: true } => {
            eprintln!("{input} takes batches of exactly {batch}: {tensor} cached {batch} row(s) a run; the new layers train in batches of --batch-size")
        }
        Event::FrozenBatch { input, batch, tensor, cached: false } => {
            eprintln!("{input} takes batches of exactly {batch}: each step computes {tensor} {batch} row(s) a run, then trains the new layers on the batch of --batch-size")
        }
        Event::ClassWeights { weights } => {
            let shown: Vec<String> = weights.iter().map(|(c, v)| format!("{c}: {v:.4}")).collect();
            eprintln!("class weights (balanced): {}", shown.join(", "));
        }
        Event::Shard { worker, workers, examples } => {
            eprintln!("worker {worker}: {examples} training examples (those whose index i has i mod {workers} = {worker})")
        }
        Event::ChiefResumes { from } => eprintln!("the chief resumes from its last checkpoint {}", from.display()),
        Event::Joined { worker, workers, ps, address } => {
            let chief = if *worker == 0 { "; the chief" } else { "" };
            eprintln!("worker {worker} of {workers} ({address}), variables on {ps} ps task(s){chief}");
        }
        other => super::notices::line(other),
    }
}
