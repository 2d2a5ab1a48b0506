//! The settings a run leaves unsaid, chosen from its data so that a new head learns on a
//! user's small data set: Adam at 1e-3 for a training op tfreuse builds, batches of 32 (the
//! whole split when smaller), up to 100 epochs with early stopping after 5 without a better
//! validation result. Without a validation split (or in a cluster, where only the chief
//! evaluates) nothing can stop early: 20 epochs. A model's own training op keeps its own
//! optimizer. Measured against the book's settings in docs/defaults.md
//! (`python/bench_defaults.py`).

use crate::events::Event;
use crate::train::{Optimizer, TransferSpec};

/// Adam's learning rate when none is given (Kingma & Ba's, and Keras's).
pub const ADAM_LR: f32 = 1e-3;
/// Plain and momentum SGD's learning rate when none is given (the book's).
pub const SGD_LR: f32 = 0.01;
/// The largest batch chosen.
pub const BATCH: usize = 32;
/// Epochs at most, with early stopping.
pub const MAX_EPOCHS: usize = 100;
/// Epochs without a better validation result before stopping.
pub const PATIENCE: usize = 5;
/// Epochs when nothing can stop early.
pub const FIXED_EPOCHS: usize = 20;

/// Which of the spec's settings were left to tfreuse (`true`: choose it); the rest stay as
/// given. [`Unset::default`] chooses nothing: the spec is taken as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unset {
    /// The new training op's update rule.
    pub optimizer: bool,
    /// Its learning rate.
    pub lr: bool,
    /// Examples per step.
    pub batch_size: bool,
    /// Passes over the training split, at most.
    pub epochs: bool,
    /// Early stopping.
    pub patience: bool,
}

impl Unset {
    /// Everything left to choose.
    pub fn all() -> Self {
        Unset { optimizer: true, lr: true, batch_size: true, epochs: true, patience: true }
    }

    fn any(&self) -> bool {
        self.optimizer || self.lr || self.batch_size || self.epochs || self.patience
    }
}

/// What the job's data allows.
#[derive(Clone, Copy, Debug)]
pub struct Ground {
    /// Examples in the training split.
    pub train_examples: usize,
    /// A validation split to stop early on, evaluated by this process.
    pub can_stop_early: bool,
}

/// Fill the `unset` settings of `spec` for `ground`; the event saying what was chosen (none
/// when nothing was left unset).
pub fn choose(spec: &mut TransferSpec, unset: Unset, ground: Ground) -> Option<Event> {
    // A model's own training op keeps its optimizer and rate: nothing to choose there.
    let builds = spec.recipe.builds_train_op();
    let unset = Unset { optimizer: unset.optimizer && builds, lr: unset.lr && builds, ..unset };
    if !unset.any() {
        return None;
    }
    if unset.optimizer {
        spec.recipe.optimizer = Some(Optimizer::adam());
    }
    if unset.lr {
        spec.recipe.lr = match spec.recipe.optimizer {
            Some(Optimizer::Adam { .. }) => ADAM_LR,
            _ => SGD_LR,
        };
    }
    let s = &mut spec.schedule;
    if unset.batch_size {
        s.batch_size = BATCH.min(ground.train_examples.max(1));
    }
    if unset.patience {
        s.patience = ground.can_stop_early.then_some(PATIENCE);
    }
    if unset.epochs {
        s.epochs = if s.patience.is_some() { MAX_EPOCHS } else { FIXED_EPOCHS };
    }
    Some(Event::Defaults {
        optimizer: unset.optimizer.then(|| optimizer_name(spec.recipe.optimizer)),
        lr: unset.lr.then_some(spec.recipe.lr),
        batch_size: unset.batch_size.then_some(spec.schedule.batch_size),
        epochs: unset.epochs.then_some(spec.schedule.epochs),
        patience: unset.patience.then_some(spec.schedule.patience),
        can_stop_early: ground.can_stop_early,
    })
}

fn optimizer_name(o: Option<Optimizer>) -> String {
    match o {
        Some(Optimizer::Adam { .. }) => "adam",
        Some(Optimizer::Momentum { .. }) => "momentum",
        _ => "sgd",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSource;

    fn branched() -> TransferSpec {
        let mut spec = TransferSpec::from_source(ModelSource::Meta("m.meta".into()));
        spec.recipe.branch_from = Some("h:0".into());
        spec
    }

    #[test]
    fn a_new_head_gets_adam_small_batches_and_early_stopping() {
        let mut spec = branched();
        let e = choose(&mut spec, Unset::all(), Ground { train_examples: 500, can_stop_early: true });
        assert!(matches!(spec.recipe.optimizer, Some(Optimizer::Adam { .. })));
        assert_eq!((spec.recipe.lr, spec.schedule.batch_size, spec.schedule.epochs, spec.schedule.patience), (ADAM_LR, 32, 100, Some(5)));
        assert!(matches!(e, Some(Event::Defaults { optimizer: Some(_), .. })));
    }

    #[test]
    fn small_splits_no_validation_and_given_settings() {
        let mut spec = branched();
        spec.recipe.optimizer = Some(Optimizer::Sgd);
        let unset = Unset { optimizer: false, ..Unset::all() };
        choose(&mut spec, unset, Ground { train_examples: 20, can_stop_early: false });
        assert_eq!((spec.recipe.lr, spec.schedule.batch_size, spec.schedule.epochs, spec.schedule.patience), (SGD_LR, 20, 20, None));
        // The model's own training op keeps its optimizer and rate.
        let mut own = TransferSpec::from_source(ModelSource::Meta("m.meta".into()));
        own.recipe.lr = 0.5;
        choose(&mut own, Unset::all(), Ground { train_examples: 500, can_stop_early: true });
        assert_eq!((own.recipe.optimizer.is_none(), own.recipe.lr), (true, 0.5));
        assert!(choose(&mut own, Unset::default(), Ground { train_examples: 1, can_stop_early: true }).is_none());
        let recipe_only = Unset { optimizer: true, lr: true, ..Unset::default() };
        assert!(choose(&mut own, recipe_only, Ground { train_examples: 1, can_stop_early: true }).is_none());
    }
}
