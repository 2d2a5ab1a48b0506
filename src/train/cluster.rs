//! Training as one worker of a cluster: the chief (worker 0) initialises and restores the
//! variables on the ps tasks and then sets a ready flag, a variable of its own on a ps task;
//! the other workers wait for the flag, within a bound, before their first step.
//!
//! The flag rather than "every variable initialised" (Python's `ready_op`): the chief
//! initialises a variable before it restores it, so the latter could start a worker on
//! initial values about to be overwritten.

use std::time::{Duration, Instant};

use tensorflow::{DataType, Operation};

use crate::dist::Worker;
use crate::error::{Error, Result};
use crate::graph::{Builder, Var};
use crate::model::Model;

/// The ready flag and the op that tells whether it is set.
pub struct Ready {
    flag: Var,
    is_set: Operation,
}

/// The ready flag `dist/ready` (on a ps task, in no saver and no collection).
pub fn ready_flag(b: &mut Builder) -> Result<Ready> {
    let one = b.scalar_f32("dist/ready/initial_value", 1.0)?;
    let flag = b.variable("dist/ready", &[], one, false)?;
    let is_set = b.op("IsVariableInitialized", "dist/is_ready", &[flag.handle()], |d| Ok(d.set_attr_type("dtype", DataType::Float)?))?;
    Ok(Ready { flag, is_set })
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

fn is_set(model: &Model, op: &Operation) -> Result<bool> {
    let mut args = tensorflow::SessionRunArgs::new();
    let token = args.request_fetch(op, 0);
    model.session.run(&mut args)?;
    Ok(args.fetch::<bool>(token)?.first() == Some(&true))
}

/// Any other worker: wait until the chief has set the flag, at most `worker.wait_secs`.
pub fn wait_for_chief(model: &Model, worker: &Worker, ready: &Ready) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(worker.wait_secs);
    let mut said = false;
    loop {
        if is_set(model, &ready.is_set)? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Invalid(format!(
                "worker {}: the chief (worker 0) did not initialise the variables within {} s (--wait-secs); is it running with the same --cluster?",
                worker.task, worker.wait_secs
            )));
        }
        if !std::mem::replace(&mut said, true) {
            eprintln!("worker {}: waiting for the chief (worker 0) to initialise the variables", worker.task);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
