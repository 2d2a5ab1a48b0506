//! Transfer training: keep training an imported model with its own train op, or branch from
//! a tensor and append new dense layers, a new loss, accuracy and training op; restore a
//! regex-chosen subset of variables; freeze by var_list or stop_gradient; clip; save.
//!
//! [`TransferSpec`] says what to do; [`prepare()`] builds the graph and initialises variables in
//! named stages; [`Prepared::train`] runs the epochs, [`Prepared::save`] writes a checkpoint
//! Python reads; [`job::Job`] is the whole job with caching, resuming after an interrupt and
//! the test evaluation, as `tfreuse train` does it.

pub mod defaults;
pub mod interrupt;
pub mod job;
pub mod joining;
internal_mod! {
    cluster;
    plan;
    prepare;
    probe;
    resume;
    run;
    spec;
    sync;
    trainer;
}

pub use prepare::prepare;
pub use resume::{History, Progress};
pub use run::{Ended, Started};
pub use spec::{ModelSpec, Objective, Optimizer, RecipeSpec, RunSpec, ScheduleSpec, TransferSpec};
pub use trainer::{check_labels, Outcome, Periodic, Prepared, Watch};
