//! Training as one worker of a cluster: the chief (worker 0) initialises and restores the
//! variables on the ps tasks and then sets a ready flag, a variable of its own on a ps task;
//! the other workers wait for the flag, within a bound, before their first step.
//!
//! The flag rather than "every variable initialised" (Python's `ready_op`): the chief
//! initialises a variable before it restores it, so the latter could start a worker on
//! initial values about to be overwritten. The flag holds the job's token, a digest of the
//! settings every worker shares: a ps task that outlives a job keeps its flag, and a worker of
//! the next job must not take it for its own chief's.

use std::time::{Duration, Instant};

use tensorflow::{DataType, Operation};

use crate::dist::Worker;
use crate::error::{Error, Result, Role};
use crate::events::{Event, EventSink};
use crate::graph::{Builder, Var};
use crate::model::Model;
use crate::train::TransferSpec;

/// The ready flag, the op that tells whether it is set, and this job's token.
pub struct Ready {
    flag: Var,
    is_set: Operation,
    token: f32,
}

/// The ready flag `dist/ready` (on a ps task, in no saver and no collection), set to the token
/// of the job `spec` describes.
pub fn ready_flag(b: &mut Builder, spec: &TransferSpec) -> Result<Ready> {
    let token = job_token(spec)?;
    let value = b.scalar_f32("dist/ready/initial_value", token)?;
    let flag = b.variable("dist/ready", &[], value, false)?;
    let is_set = b.op("IsVariableInitialized", "dist/is_ready", &[flag.handle()], |d| Ok(d.set_attr_type("dtype", DataType::Float)?))?;
    Ok(Ready { flag, is_set, token })
}

/// 24 bits (a float holds them exactly) of the digest of the settings every worker of a job
/// shares: all of the spec but this worker's index, its session and its shard's size.
fn job_token(spec: &TransferSpec) -> Result<f32> {
    use sha2::Digest;
    let mut shared = serde_json::to_value(spec).map_err(|e| Error::Invalid(format!("cannot record the job's settings: {e}")))?;
    if let Some(o) = shared.as_object_mut() {
        o.remove("session");
        o.remove("train_examples");
        o.get_mut("worker").and_then(|w| w.as_object_mut()).map(|w| w.remove("task"));
    }
    let digest = sha2::Sha256::digest(shared.to_string().as_bytes());
    Ok(u32::from_be_bytes([0, digest[0], digest[1], digest[2]]) as f32)
}

/// The chief, its variables initialised and restored: run `inits` (what else the others need),
/// then set the flag.
pub fn announce_ready(model: &Model, worker: &Worker, ready: &Ready, inits: &[Operation]) -> Result<()> {
    if worker.is_chief() {
        if !inits.is_empty() {
            model.run(&[], &[], inits)?;
        }
        model.run(&[], &[], &[ready.flag.initializer(&model.graph)?])?;
    }
    Ok(())
}

/// Whether the flag holds this job's token.
fn is_set(model: &Model, ready: &Ready) -> Result<bool> {
    let scalar = |o: tensorflow::Output| -> Result<f64> {
        let got = model.run(&[], &[o], &[])?;
        Ok(got[0].to_f64().first().copied().unwrap_or(f64::NAN))
    };
    Ok(scalar(ready.is_set.output(0))? == 1.0 && scalar(ready.flag.value(&model.graph)?)? == ready.token as f64)
}

/// Any other worker: wait until the chief has set the flag, at most `worker.wait_secs`; a
/// wait is told `sink`.
pub fn wait_for_chief(model: &Model, worker: &Worker, ready: &Ready, sink: &mut dyn EventSink) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(worker.wait_secs);
    let mut said = false;
    loop {
        if is_set(model, ready)? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Invalid(format!(
                "worker {}: the chief (worker 0) did not initialise the variables within {} s ({}); is it running with the same {}?",
                worker.task,
                worker.wait_secs,
                Role::WaitSecs.mention(),
                Role::Cluster.mention()
            )));
        }
        if !std::mem::replace(&mut said, true) {
            let (who, what) = (format!("worker {}", worker.task), "the chief (worker 0) to initialise the variables".to_string());
            sink.event(&Event::Waiting { who, what })?;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
