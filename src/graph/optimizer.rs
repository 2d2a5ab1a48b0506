//! Training ops over any variables, imported or new: gradient clipping, and one type per
//! update rule (SGD, momentum, Adam) building TF's own `Apply*` ops with Python's slot names.
//! Every update waits for every gradient (like Python's gate_gradients): an in-place update of
//! a ref variable could otherwise race with backprop still reading it, and runs would not be
//! reproducible.

use tensorflow::{Operation, OperationDescription, Output};

use crate::error::Result;
use crate::graph::builder::Builder;
use crate::graph::var::{Var, VarKind};

/// Scope of the training ops (under the builder's prefix: `new_train/…`).
const SCOPE: &str = "train";

/// A variable and its gradient.
#[derive(Clone, Debug)]
pub struct Pair {
    pub var: Var,
    pub grad: Output,
}

/// The gradients every update must wait for.
pub struct Gate(Vec<Operation>);

impl Gate {
    fn apply(&self, d: &mut OperationDescription<'_>) -> Result<()> {
        for g in &self.0 {
            d.add_control_input(g);
        }
        Ok(d.set_attr_bool("use_locking", false)?)
    }
}

/// One update rule: the ops applying it to every pair, and the slot variables it made.
pub trait UpdateRule {
    fn build(&self, b: &mut Builder, lr: &Output, pairs: &[Pair], gate: &Gate) -> Result<(Vec<Operation>, Vec<Var>)>;
}

/// Plain gradient descent (`GradientDescentOptimizer`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sgd;

/// `MomentumOptimizer` (not Nesterov).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Momentum {
    /// The decay of the running gradient (default 0.9).
    pub momentum: f32,
}

impl Default for Momentum {
    fn default() -> Self {
        Momentum { momentum: 0.9 }
    }
}

/// `AdamOptimizer`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    /// Decay of the first moment (default 0.9).
    pub beta1: f32,
    /// Decay of the second moment (default 0.999).
    pub beta2: f32,
    /// Added to the denominator (default 1e-8).
    pub epsilon: f32,
}

impl Default for Adam {
    fn default() -> Self {
        Adam { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }
    }
}

fn update_name(var: &Var) -> String {
    format!("{SCOPE}/update_{}", var.name.replace('/', "_"))
}

/// A zero-initialised slot variable shaped like `var` and of its kind (`ResourceApplyAdam`
/// takes resource slots only), named like Python's (`hidden1/kernel/Momentum`, without our
/// prefix).
fn slot(b: &mut Builder, var: &Var, suffix: &str) -> Result<Var> {
    let dims: Vec<u64> = var.shape.iter().map(|&d| d.max(1) as u64).collect();
    b.unprefixed(|b| {
        let z = b.zeros(&format!("{}/{suffix}/Initializer/zeros", var.name), &dims)?;
        let name = format!("{}/{suffix}", var.name);
        match var.kind {
            VarKind::Ref => b.variable(&name, &dims, z, false),
            VarKind::Resource => b.resource_variable(&name, &dims, z, false),
        }
    })
}

impl UpdateRule for Sgd {
    fn build(&self, b: &mut Builder, lr: &Output, pairs: &[Pair], gate: &Gate) -> Result<(Vec<Operation>, Vec<Var>)> {
        let mut updates = Vec::new();
        for p in pairs {
            let ty = p.var.kind.apply_op("GradientDescent");
            updates.push(b.op(&ty, &update_name(&p.var), &[p.var.handle(), lr.clone(), p.grad.clone()], |d| gate.apply(d))?);
        }
        Ok((updates, vec![]))
    }
}

impl UpdateRule for Momentum {
    fn build(&self, b: &mut Builder, lr: &Output, pairs: &[Pair], gate: &Gate) -> Result<(Vec<Operation>, Vec<Var>)> {
        let m = b.scalar_f32(&format!("{SCOPE}/momentum"), self.momentum)?;
        let (mut updates, mut slots) = (Vec::new(), Vec::new());
        for p in pairs {
            let acc = slot(b, &p.var, "Momentum")?;
            let inputs = [p.var.handle(), acc.handle(), lr.clone(), p.grad.clone(), m.clone()];
            updates.push(b.op(&p.var.kind.apply_op("Momentum"), &update_name(&p.var), &inputs, |d| {
                d.set_attr_bool("use_nesterov", false)?;
                gate.apply(d)
            })?);
            slots.push(acc);
        }
        Ok((updates, slots))
    }
}

impl UpdateRule for Adam {
    fn build(&self, b: &mut Builder, lr: &Output, pairs: &[Pair], gate: &Gate) -> Result<(Vec<Operation>, Vec<Var>)> {
        let b1 = b.scalar_f32(&format!("{SCOPE}/beta1"), self.beta1)?;
        let b2 = b.scalar_f32(&format!("{SCOPE}/beta2"), self.beta2)?;
        let eps = b.scalar_f32(&format!("{SCOPE}/epsilon"), self.epsilon)?;
        let b1p = self.power(b, "beta1_power", self.beta1)?;
        let b2p = self.power(b, "beta2_power", self.beta2)?;
        let (b1p_value, b2p_value) = (b1p.value(b.graph)?, b2p.value(b.graph)?);
        let mut slots = vec![b1p.clone(), b2p.clone()];
        let mut updates = Vec::new();
        for p in pairs {
            let m = slot(b, &p.var, "Adam")?;
            let v = slot(b, &p.var, "Adam_1")?;
            let inputs = [
                p.var.handle(),
                m.handle(),
                v.handle(),
                b1p_value.clone(),
                b2p_value.clone(),
                lr.clone(),
                b1.clone(),
                b2.clone(),
                eps.clone(),
                p.grad.clone(),
            ];
            updates.push(b.op(&p.var.kind.apply_op("Adam"), &update_name(&p.var), &inputs, |d| {
                d.set_attr_bool("use_nesterov", false)?;
                gate.apply(d)
            })?);
            slots.extend([m, v]);
        }
        // The beta powers advance after every update, as Python's AdamOptimizer._finish does.
        for (power, beta) in [(&b1p, &b1), (&b2p, &b2)] {
            updates.push(Self::advance(b, power, beta, &updates)?);
        }
        Ok((updates, slots))
    }
}

impl Adam {
    /// `beta_power` variable starting at `beta`.
    fn power(&self, b: &mut Builder, name: &str, beta: f32) -> Result<Var> {
        let init = b.scalar_f32(&format!("{SCOPE}/{name}/initial_value"), beta)?;
        b.variable(&format!("{SCOPE}/{name}"), &[], init, false)
    }

    /// `power *= beta` once `after` have run.
    fn advance(b: &mut Builder, power: &Var, beta: &Output, after: &[Operation]) -> Result<Operation> {
        let short = power.name.rsplit('/').next().unwrap_or("beta");
        let value = power.value(b.graph)?;
        let mul = b.op("Mul", &format!("{SCOPE}/{short}_mul"), &[value, beta.clone()], |d| {
            for u in after {
                d.add_control_input(u);
            }
            Ok(())
        })?;
        b.op(power.kind.assign_op(), &format!("{SCOPE}/{short}_assign"), &[power.handle(), mul.into()], |d| {
            Ok(d.set_attr_bool("use_locking", false)?)
        })
    }
}

/// `clip_by_value(grad, -c, c)` on every gradient.
pub fn clip(b: &mut Builder, pairs: &mut [Pair], c: f32) -> Result<()> {
    let lo = b.scalar_f32(&format!("{SCOPE}/clip_min"), -c)?;
    let hi = b.scalar_f32(&format!("{SCOPE}/clip_max"), c)?;
    for p in pairs.iter_mut() {
        p.grad = b.op1("ClipByValue", &format!("{SCOPE}/clip"), &[p.grad.clone(), lo.clone(), hi.clone()])?;
    }
    Ok(())
}

/// The training op: clip (optionally), apply `rule` with learning rate `lr` to every pair,
/// one NoOp (`new_train/step`) over all updates. Every update also waits for `after` (batch
/// norm's statistics updates, as Python's `control_dependencies(update_ops)`). Returns the op
/// and the slot variables made.
pub fn minimize(
    b: &mut Builder,
    rule: &dyn UpdateRule,
    lr: f32,
    clip_value: Option<f32>,
    mut pairs: Vec<Pair>,
    after: Vec<Operation>,
) -> Result<(Operation, Vec<Var>)> {
    if let Some(c) = clip_value {
        clip(b, &mut pairs, c)?;
    }
    let gate = Gate(pairs.iter().map(|p| p.grad.operation.clone()).chain(after).collect());
    let lr = b.scalar_f32(&format!("{SCOPE}/learning_rate"), lr)?;
    let (updates, slots) = rule.build(b, &lr, &pairs, &gate)?;
    let step = b.op("NoOp", &format!("{SCOPE}/step"), &[], |d| {
        for u in &updates {
            d.add_control_input(u);
        }
        Ok(())
    })?;
    Ok((step, slots))
}
