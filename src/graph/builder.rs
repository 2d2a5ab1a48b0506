//! Adding ops to an imported graph: every new op is named under one prefix so it never
//! collides with imported names, placed on an optional device, with deterministic seeds.

use tensorflow::{DataType, Graph, Operation, OperationDescription, Output, Shape, Tensor, TensorType};

use crate::error::{Error, Result, Role};
use crate::graph::var::{Var, VarKind};

/// Adds ops to a graph under a prefix, on an optional device, with deterministic seeds.
pub struct Builder<'g> {
    pub graph: &'g mut Graph,
    pub prefix: String,
    pub device: Option<String>,
    pub seed: i64,
    /// Training in a cluster: where new variables go (a ps task each).
    pub placer: Option<crate::dist::Placer>,
    seed_counter: i64,
}

impl<'g> Builder<'g> {
    pub fn new(graph: &'g mut Graph, prefix: &str, device: Option<String>, seed: i64) -> Self {
        Builder { graph, prefix: prefix.to_string(), device, seed, placer: None, seed_counter: 0 }
    }

    /// `prefix + base`, made unique with `_1`, `_2` … if taken.
    pub fn name(&self, base: &str) -> String {
        let first = format!("{}{}", self.prefix, base);
        let taken = |n: &str| self.graph.operation_by_name(n).ok().flatten().is_some();
        if !taken(&first) {
            return first;
        }
        (1..).map(|i| format!("{first}_{i}")).find(|n| !taken(n)).expect("some name is free")
    }

    /// `prefix + base`, or `prefix + base_1`, `_2` …: the first that names no op and no scope
    /// of ops (TF refuses a second op of the same name, and a model saved by tfreuse already
    /// has a `new_save/…`).
    pub fn free_scope(&self, base: &str) -> String {
        let first = format!("{}{}", self.prefix, base);
        let used = |s: &str| {
            let inner = format!("{s}/");
            self.graph.operation_iter().any(|o| o.name().is_ok_and(|n| n == s || n.starts_with(&inner)))
        };
        if !used(&first) {
            return first;
        }
        (1..).map(|i| format!("{first}_{i}")).find(|n| !used(n)).expect("some scope is free")
    }

    /// Run `f` with no name prefix (for names that must match Python's, like optimizer slots).
    pub fn unprefixed<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let saved = std::mem::take(&mut self.prefix);
        let r = f(self);
        self.prefix = saved;
        r
    }

    /// Add an op; `attrs` sets attributes, `inputs` are single-tensor inputs in order.
    pub fn op(
        &mut self,
        ty: &str,
        base: &str,
        inputs: &[Output],
        attrs: impl FnOnce(&mut OperationDescription<'_>) -> Result<()>,
    ) -> Result<Operation> {
        let name = self.name(base);
        let device = self.device.clone();
        let mut d = self.graph.new_operation(ty, &name).map_err(|_| Error::Invalid(format!("bad op name {name:?}")))?;
        for i in inputs {
            d.add_input(i.clone());
        }
        if let Some(dev) = device {
            d.set_device(&dev).map_err(|_| Error::arg(Role::Device, Some(&dev), "not a device name"))?;
        }
        attrs(&mut d)?;
        Ok(d.finish()?)
    }

    pub fn op1(&mut self, ty: &str, base: &str, inputs: &[Output]) -> Result<Output> {
        Ok(self.op(ty, base, inputs, |_| Ok(()))?.into())
    }

    pub fn constant<T: TensorType>(&mut self, base: &str, value: Tensor<T>) -> Result<Output> {
        Ok(self
            .op("Const", base, &[], |d| {
                d.set_attr_type("dtype", T::data_type())?;
                Ok(d.set_attr_tensor("value", value)?)
            })?
            .into())
    }

    pub fn scalar_f32(&mut self, base: &str, v: f32) -> Result<Output> {
        self.constant(base, Tensor::from(v))
    }

    /// Zeros of a shape, as an initial value.
    pub fn zeros(&mut self, base: &str, shape: &[u64]) -> Result<Output> {
        self.constant(base, Tensor::<f32>::new(shape))
    }

    /// Run `f` with new ops on the device a new variable `base` of `shape` goes to: a ps task
    /// when training in a cluster, else the builder's device.
    fn on_variable_device<T>(&mut self, base: &str, shape: &[u64], f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let Some(placer) = self.placer.as_mut() else { return f(self) };
        let name = format!("{}{}", self.prefix, base);
        let device = placer.variable(&name, 4 * shape.iter().product::<u64>(), None);
        self.on_device(device, f)
    }

    /// Run `f` with new ops pinned to `device`.
    pub fn on_device<T>(&mut self, device: String, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let saved = self.device.replace(device);
        let r = f(self);
        self.device = saved;
        r
    }

    pub(crate) fn next_seed(&mut self) -> (i64, i64) {
        self.seed_counter += 1;
        (self.seed, self.seed_counter)
    }

    /// A float32 ref variable (VariableV2) with an Assign initializer and a `read` snapshot,
    /// as Python's `tf.get_variable` makes them, so Python's Saver and optimizers take it.
    pub fn variable(&mut self, base: &str, shape: &[u64], init: Output, trainable: bool) -> Result<Var> {
        let dims: Vec<Option<i64>> = shape.iter().map(|&d| Some(d as i64)).collect();
        let op = self.on_variable_device(base, shape, |b| {
            b.op("VariableV2", base, &[], |d| {
                d.set_attr_type("dtype", DataType::Float)?;
                Ok(d.set_attr_shape("shape", &Shape::from(Some(dims)))?)
            })
        })?;
        let name = op.name()?;
        let (initializer, snapshot) = self.unprefixed(|b| {
            let initializer = b.op("Assign", &format!("{name}/Assign"), &[op.output(0), init.clone()], |d| {
                d.set_attr_bool("validate_shape", true)?;
                Ok(d.set_attr_bool("use_locking", true)?)
            })?;
            let snapshot = b.op1("Identity", &format!("{name}/read"), &[op.output(0)])?;
            Ok((initializer, snapshot))
        })?;
        Var::created(op, VarKind::Ref, shape, &initializer, &snapshot, &init, trainable)
    }

    /// A float32 resource variable (VarHandleOp) with an AssignVariableOp initializer and a
    /// `Read/ReadVariableOp` snapshot, as `use_resource=True` makes them: the kind
    /// `ResourceApply*` ops need for the slots of a resource variable.
    pub fn resource_variable(&mut self, base: &str, shape: &[u64], init: Output, trainable: bool) -> Result<Var> {
        let dims: Vec<Option<i64>> = shape.iter().map(|&d| Some(d as i64)).collect();
        let name = self.name(base);
        let op = self.unprefixed(|b| {
            b.on_variable_device(&name, shape, |b| {
                b.op("VarHandleOp", &name, &[], |d| {
                    d.set_attr_type("dtype", DataType::Float)?;
                    d.set_attr_shape("shape", &Shape::from(Some(dims)))?;
                    Ok(d.set_attr_string("shared_name", &name)?)
                })
            })
        })?;
        let (initializer, snapshot) = self.unprefixed(|b| {
            let initializer = b.op("AssignVariableOp", &format!("{name}/Assign"), &[op.output(0), init.clone()], |d| {
                Ok(d.set_attr_type("dtype", DataType::Float)?)
            })?;
            let snapshot = b.op("ReadVariableOp", &format!("{name}/Read/ReadVariableOp"), &[op.output(0)], |d| {
                Ok(d.set_attr_type("dtype", DataType::Float)?)
            })?;
            Ok((initializer, snapshot.into()))
        })?;
        Var::created(op, VarKind::Resource, shape, &initializer, &snapshot, &init, trainable)
    }
}
