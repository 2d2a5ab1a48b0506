//! Whether a training run compiles with XLA when nobody chose (`--jit auto`, the default).
//! Measured on this project's machine (alternating runs, medians of epoch times, oneDNN off):
//! - the book MLP's own training op (built by Python TF, imported): XLA 15–25 % faster at every
//!   batch size tried, 10 to 200 (16 to 310 MFLOP a step);
//! - training steps tfreuse builds (`--branch-from`, `--optimizer`): no gain — the whole MLP
//!   −5 %, a new head on hidden4 +5–9 %, the book's transfer recipe +12 % uncached and +50 %
//!   cached;
//! - with oneDNN on, the MLP's own op gains nothing from XLA (0.997 of TF's kernels, paired
//!   medians of 16 alternating rounds; 1.07 in a `make bench` run), while oneDNN alone makes it
//!   8–14 % faster on this machine;
//! - convolutions: oneDNN's kernels beat XLA's (`conv_bn`'s training op 1.6× slower with XLA,
//!   `make bench-images`' extraction twice as slow);
//! - XLA compiles the step (and each evaluation graph) once, ≈ 0.6 s for the MLP, and saves
//!   0.16–0.37 ms a step: a 1-epoch run took 1.63× as long, 3 epochs 1.12×, 20 epochs 0.90×.
//!
//! So XLA goes on for an imported training op of at least [`MIN_MFLOP_PER_STEP`] dense work
//! over a run of at least [`MIN_STEPS`] steps when oneDNN is off, and stays off otherwise. The
//! choice reads the graph, the flags and the oneDNN setting, never a timing, so the same
//! command always gives the same bytes.

/// `--jit`: XLA on, off, or as [`for_step`] decides for a training step (sessions that do not
/// train take `Auto` as off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Jit {
    /// As [`for_step`] decides.
    #[default]
    Auto,
    /// Always on.
    On,
    /// Always off.
    Off,
}

/// Below this many training FLOPs a step (the smallest measured gain was at 16), XLA's
/// compile time would not pay for itself.
pub const MIN_MFLOP_PER_STEP: f64 = 10.0;

/// Below this many training steps in the run, XLA's compile time does not pay back (at the
/// smallest saving measured, 0.16 ms a step, 0.6 s takes 3 750 steps).
pub const MIN_STEPS: u64 = 4000;

/// What the choice reads of a training step.
#[derive(Clone, Debug, Default)]
pub struct StepCost {
    /// Elements of the variables the step trains.
    pub trained_weights: u64,
    /// Examples per step.
    pub batch_size: usize,
    /// Training steps in the whole run, when known.
    pub steps: Option<u64>,
    /// The step is the model's own training op, not one tfreuse built.
    pub imported_op: bool,
    /// A convolution op of the graph, if it has one.
    pub convolution: Option<String>,
    /// The session runs on a TF server or in a cluster.
    pub remote: bool,
    /// TF's oneDNN kernels are on in this process.
    pub onednn: bool,
}

impl StepCost {
    /// Dense training FLOPs: 2 a weight and example forward, 4 backward (the weight's
    /// gradient and the input's).
    pub fn mflop(&self) -> f64 {
        6.0 * self.trained_weights as f64 * self.batch_size as f64 / 1e6
    }
}

/// The choice and why (the setup report shows both).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Choice {
    /// XLA compiles the step.
    pub on: bool,
    /// Why, in words.
    pub why: String,
    /// The caller chose ([`Jit::On`] or [`Jit::Off`]), not [`for_step`]: a front end names its
    /// own way of choosing.
    pub asked: bool,
}

/// What `jit` means for a training step; `cost` is only read for `auto`.
pub fn choose(jit: Jit, cost: impl FnOnce() -> StepCost) -> Choice {
    match jit {
        Jit::On => Choice { on: true, why: "as asked".into(), asked: true },
        Jit::Off => Choice { on: false, why: "as asked".into(), asked: true },
        Jit::Auto => for_step(&cost()),
    }
}

/// `--jit auto` for a step costing `cost`.
pub fn for_step(cost: &StepCost) -> Choice {
    let off = |why: String| Choice { on: false, why, asked: false };
    let mflop = cost.mflop();
    if cost.remote {
        return off("the session runs on a TF server: XLA is not measured there".into());
    }
    if let Some(op) = &cost.convolution {
        return off(format!("the graph has convolutions ({op}): oneDNN's kernels beat XLA's on them"));
    }
    if !cost.imported_op {
        return off(format!("≈ {mflop:.1} MFLOP/step in a step tfreuse builds: XLA measured no faster on those"));
    }
    if cost.onednn {
        return off("oneDNN is on: with it, XLA measured no faster on a model's own op".into());
    }
    if mflop < MIN_MFLOP_PER_STEP {
        return off(format!("≈ {mflop:.1} MFLOP/step, under {MIN_MFLOP_PER_STEP}: too small for XLA to pay off"));
    }
    if let Some(steps) = cost.steps.filter(|&s| s < MIN_STEPS) {
        return off(format!("a run of {steps} steps, under {MIN_STEPS}: too short for XLA's compile time to pay back"));
    }
    let over = cost.steps.map(|s| format!(" over {s} steps")).unwrap_or_default();
    let why = format!("the model's own training op, ≈ {mflop:.0} MFLOP/step{over}: XLA measured 15–25 % faster");
    Choice { on: true, why, asked: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_imported_dense_steps_get_xla_and_the_others_do_not() {
        let mlp = StepCost { trained_weights: 258_610, batch_size: 200, imported_op: true, ..Default::default() };
        let on = for_step(&mlp);
        assert!(on.on && on.why.contains("310 MFLOP"), "{}", on.why);
        assert!(!for_step(&StepCost { imported_op: false, ..mlp.clone() }).on);
        assert!(!for_step(&StepCost { trained_weights: 50, ..mlp.clone() }).on);
        assert!(for_step(&StepCost { steps: Some(5500), ..mlp.clone() }).on);
        let short = for_step(&StepCost { steps: Some(275), ..mlp.clone() });
        assert!(!short.on && short.why.contains("275 steps"), "{}", short.why);
        let conv = StepCost { convolution: Some("Conv2D".into()), ..mlp.clone() };
        assert!(!for_step(&conv).on && for_step(&conv).why.contains("Conv2D"));
        assert!(!for_step(&StepCost { remote: true, ..mlp.clone() }).on);
        let onednn = for_step(&StepCost { onednn: true, ..mlp });
        assert!(!onednn.on && onednn.why.contains("oneDNN is on"), "{}", onednn.why);
    }
}
