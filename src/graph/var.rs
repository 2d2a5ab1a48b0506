//! One variable type for every variable tfreuse meets: imported or created, TF1 ref variable
//! (`VariableV2`) or resource variable (`VarHandleOp`). What differs by kind — how it is
//! read, assigned, updated and saved — is decided here and nowhere else.

use tensorflow::{DataType, Graph, Operation, Output};

use crate::error::{Error, Result};
use crate::proto::VariableDef;
use crate::tf::tensors::shape_dims;
use crate::tf::{find_operation, find_output, op_name, output_name};

/// How a variable holds its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarKind {
    /// A TF1 ref variable (`VariableV2`, `Variable`): its output is the buffer itself.
    Ref,
    /// A resource variable (`VarHandleOp`): its output is a handle, read by `ReadVariableOp`.
    Resource,
}

impl VarKind {
    /// The kind of a variable op type, None if the op is no variable.
    pub fn of_op_type(ty: &str) -> Option<VarKind> {
        match ty {
            "VariableV2" | "Variable" => Some(VarKind::Ref),
            "VarHandleOp" => Some(VarKind::Resource),
            _ => None,
        }
    }

    /// The op that applies update rule `rule` (`GradientDescent`, `Momentum`, `Adam`) to a
    /// variable of this kind: `ApplyAdam` for ref variables, `ResourceApplyAdam` for resource ones.
    pub fn apply_op(self, rule: &str) -> String {
        match self {
            VarKind::Ref => format!("Apply{rule}"),
            VarKind::Resource => format!("ResourceApply{rule}"),
        }
    }

    /// The op that assigns a whole new value.
    pub fn assign_op(self) -> &'static str {
        match self {
            VarKind::Ref => "Assign",
            VarKind::Resource => "AssignVariableOp",
        }
    }
}

/// How many values a variable op holds (its `shape` attribute's product; 0 if unknown).
pub fn values_held(op: &Operation) -> u64 {
    let shape = op.get_attr_shape("shape").ok().and_then(|s| shape_dims(&s)).unwrap_or_default();
    shape.iter().map(|&d| d.max(0) as u64).product()
}

/// A variable of the graph.
#[derive(Clone, Debug)]
pub struct Var {
    /// Operation name, e.g. `hidden1/kernel`: also its checkpoint key.
    pub name: String,
    pub kind: VarKind,
    pub dtype: DataType,
    /// Dimensions, -1 where unknown.
    pub shape: Vec<i64>,
    pub trainable: bool,
    /// As it goes into the `variables` collections of a saved `.meta`.
    pub def: VariableDef,
    /// The variable op.
    pub op: Operation,
}

impl Var {
    /// The variable a VariableDef of an imported graph describes (`def.trainable` as the
    /// metagraph resolved it).
    pub fn imported(graph: &Graph, def: &VariableDef) -> Result<Var> {
        let name = op_name(&def.variable_name).to_string();
        let op = graph
            .operation_by_name(&name)?
            .ok_or_else(|| Error::Invalid(format!("collection `variables` names {name} but the graph has no such op")))?;
        let ty = op.op_type()?;
        let kind = VarKind::of_op_type(&ty)
            .ok_or_else(|| Error::Invalid(format!("collection `variables` names {name}, a {ty} op, not a variable")))?;
        Self::from_op(op, kind, def.clone())
    }

    /// A variable just built by [`crate::graph::Builder::variable`] or `resource_variable`.
    pub(crate) fn created(
        op: Operation,
        kind: VarKind,
        shape: &[u64],
        initializer: &Operation,
        snapshot: &Output,
        initial_value: &Output,
        trainable: bool,
    ) -> Result<Var> {
        let name = op.name()?;
        let def = VariableDef {
            variable_name: format!("{name}:0"),
            initializer_name: initializer.name()?,
            snapshot_name: output_name(snapshot),
            initial_value_name: output_name(initial_value),
            trainable,
            is_resource: kind == VarKind::Resource,
            ..Default::default()
        };
        let mut v = Self::from_op(op, kind, def)?;
        v.shape = shape.iter().map(|&d| d as i64).collect();
        Ok(v)
    }

    fn from_op(op: Operation, kind: VarKind, def: VariableDef) -> Result<Var> {
        let dtype = op.get_attr_type("dtype")?;
        let shape = op.get_attr_shape("shape").ok().and_then(|s| shape_dims(&s)).unwrap_or_default();
        Ok(Var { name: op.name()?, kind, dtype, shape, trainable: def.trainable, def, op })
    }

    /// The variable op's output: the buffer of a ref variable, the handle of a resource one.
    /// Update and assign ops take this.
    pub fn handle(&self) -> Output {
        self.op.output(0)
    }

    /// The tensor holding the value (`…/read:0`, or a `ReadVariableOp`).
    pub fn value(&self, graph: &Graph) -> Result<Output> {
        find_output(graph, &self.def.snapshot_name)
    }

    /// The op that sets the initial value.
    pub fn initializer(&self, graph: &Graph) -> Result<Operation> {
        find_operation(graph, &self.def.initializer_name)
    }

    /// What SaveV2 reads: the ref itself, or the value of a resource variable.
    pub fn save_input(&self, graph: &Graph) -> Result<Output> {
        match self.kind {
            VarKind::Ref => Ok(self.handle()),
            VarKind::Resource => self.value(graph),
        }
    }

    /// What gradients are taken with respect to: a ref variable's buffer; a resource
    /// variable's reads among `on_path` (op names upstream of the loss), whose gradients sum
    /// to the variable's (TF's gradients stop at a read; the handle has none).
    pub fn gradient_targets(&self, on_path: &std::collections::HashSet<String>) -> Vec<Output> {
        match self.kind {
            VarKind::Ref => vec![self.handle()],
            VarKind::Resource => self
                .op
                .output_consumers(0)
                .into_iter()
                .map(|(op, _)| op)
                .filter(|op| op.op_type().is_ok_and(|t| t == "ReadVariableOp") && op.name().is_ok_and(|n| on_path.contains(&n)))
                .map(|op| op.output(0))
                .collect(),
        }
    }
}
