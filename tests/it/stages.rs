//! The stages of `train::prepare`, in process on `fixtures/tiny`: what each one decides.

use std::sync::atomic::AtomicBool;

use tfreuse::events::{Event, Memory};
use tfreuse::graph::layers::parse_layers;
use tfreuse::graph::{Builder, Var, VarKind};
use tfreuse::tf::runtime::{load, LoadOptions};
use tfreuse::train::plan::Plan;
use tfreuse::train::prepare::{find_cut, head, import, initialise, open_source, prepare, rewrite, savers, training_step};
use tfreuse::train::{Progress, TransferSpec};
use tfreuse::{Error, Role};

use crate::common::*;

fn tiny_spec() -> TransferSpec {
    let mut s = TransferSpec::new(fixture("tiny/tiny.ckpt.meta"));
    s.schedule.batch_size = 16;
    s.schedule.epochs = 2;
    s
}

fn branched() -> TransferSpec {
    let mut s = tiny_spec();
    s.recipe.branch_from = Some("dnn/hidden1/Relu:0".into());
    s.recipe.new_layers = parse_layers("2").unwrap();
    s
}

fn load_tf() {
    load(&LoadOptions { onednn: Some(false), ..Default::default() }).unwrap();
}

fn role_of<T>(r: tfreuse::Result<T>) -> (Role, String) {
    match r {
        Err(Error::Arg { role, msg, .. }) => (role, msg),
        Err(e) => panic!("expected an argument error, got {e}"),
        Ok(_) => panic!("expected an argument error"),
    }
}

fn names(vars: &[Var]) -> Vec<&str> {
    vars.iter().map(|v| v.name.as_str()).collect()
}

#[test]
fn plan_checks_numbers_and_patterns_before_any_graph() {
    let mut s = tiny_spec();
    s.recipe.lr = 0.0;
    assert_eq!(role_of(Plan::resolve(&s, 2)).0, Role::LearningRate);
    s.recipe.lr = 0.01;
    s.schedule.batch_size = 0;
    assert_eq!(role_of(Plan::resolve(&s, 2)).0, Role::BatchSize);
    s.schedule.batch_size = 16;
    s.recipe.trainable = Some("hidden[".into());
    let (role, msg) = role_of(Plan::resolve(&s, 2));
    assert_eq!(role, Role::Trainable);
    assert!(msg.contains("invalid regex"), "{msg}");
    s.recipe.trainable = None;
    s.recipe.new_layers = parse_layers("2").unwrap();
    assert_eq!(role_of(Plan::resolve(&s, 2)).0, Role::BranchFrom, "new layers need a branch");
    let b = branched();
    let plan = Plan::resolve(&b, 2).unwrap();
    assert!(plan.builds_train_op && plan.restore.is_none() && plan.classes == 2);
    assert!(!Plan::resolve(&tiny_spec(), 2).unwrap().builds_train_op, "no branch, no flags: the imported train op runs");
}

#[test]
fn source_rewrite_and_import() {
    load_tf();
    let mut s = tiny_spec();
    s.recipe.freeze_below = Some("dnn/hidden1/Relu:0".into());
    let plan = Plan::resolve(&s, 2).unwrap();
    let mut source = open_source(&s).unwrap();
    assert_eq!(source.stored.len(), 4, "the checkpoint holds the four variables");
    assert_eq!(rewrite(&mut source.meta, &plan).unwrap().as_deref(), Some("new_stop_gradient:0"));
    let imp = import(source.meta, &plan).unwrap();
    assert_eq!(names(&imp.vars), ["hidden1/kernel", "hidden1/bias", "outputs/kernel", "outputs/bias"]);
    assert!(imp.vars.iter().all(|v| v.kind == VarKind::Ref && v.trainable && v.dtype == tensorflow::DataType::Float));
    assert_eq!(imp.vars[0].shape, [4, 3]);
    let sg = imp.model.graph.operation_by_name("new_stop_gradient").unwrap().expect("the rewrite is in the imported graph");
    assert_eq!(sg.op_type().unwrap(), "StopGradient");
    let mut bad = tiny_spec();
    bad.recipe.freeze_below = Some("dnn/hiden1/Relu:0".into());
    let mut source = open_source(&bad).unwrap();
    let (role, msg) = role_of(rewrite(&mut source.meta, &Plan::resolve(&bad, 2).unwrap()));
    assert_eq!(role, Role::FreezeBelow);
    assert!(msg.contains("did you mean dnn/hidden1/Relu:0"), "{msg}");
}

#[test]
fn head_step_savers_initialise_and_cut() {
    load_tf();
    let mut s = branched();
    s.recipe.trainable = Some("new_".into());
    s.recipe.restore = Some("hidden1".into());
    let plan = Plan::resolve(&s, 2).unwrap();
    let source = open_source(&s).unwrap();
    let tfreuse::train::prepare::Imported { mut model, vars, x, y, .. } = import(source.meta, &plan).unwrap();
    let mut b = Builder::new(&mut model.graph, &s.recipe.prefix, None, 42);
    let head = head(&mut b, &plan, y, None, None).unwrap();
    assert_eq!(names(&head.new_vars), ["new_outputs/kernel", "new_outputs/bias"]);
    assert_eq!(tfreuse::tf::output_name(&head.loss), "new_loss/loss:0");
    let step = training_step(&mut b, &plan, &vars, &model.meta, &head).unwrap();
    assert_eq!(step.trained, ["new_outputs/kernel", "new_outputs/bias"], "only what --trainable names trains");
    assert_eq!(step.built.as_deref(), Some("new_train/step"));
    assert!(step.slots.is_empty(), "plain SGD has no slots");
    let all: Vec<&Var> = vars.iter().chain(&head.new_vars).collect();
    let sv = savers(&mut b, &plan, &all, &vars, &source.stored).unwrap();
    assert_eq!(sv.restored, ["hidden1/kernel", "hidden1/bias"]);
    let new: Vec<&Var> = head.new_vars.iter().collect();
    let init = initialise(&model, &plan, source.checkpoint.as_deref(), &sv, &vars, &new).unwrap();
    assert_eq!(init.initialized, ["outputs/kernel", "outputs/bias", "new_outputs/kernel", "new_outputs/bias"]);
    let cut = find_cut(&model.graph, &x, &head.loss, &step.trained, &[]).unwrap();
    assert_eq!(tfreuse::tf::output_name(&cut), "dnn/hidden1/Relu:0", "nothing below the branch trains");
}

#[test]
fn prepared_model_trains_and_reports_to_a_memory_sink() {
    load_tf();
    let data = tfreuse::data::load(&tiny_data()).unwrap();
    let s = branched();
    let prepared = prepare(&s, 2).unwrap();
    assert_eq!(prepared.report.train_op, "new_train/step");
    let mut sink = Memory::default();
    let train = data.training_split().unwrap();
    prepared.train(&s, train, Default::default(), Progress::default(), &AtomicBool::new(false), &mut sink).unwrap();
    let kinds: Vec<&str> = sink
        .0
        .iter()
        .map(|e| match e {
            Event::FirstStep { .. } => "first",
            Event::Step { .. } => "step",
            Event::Epoch { .. } => "epoch",
            _ => "other",
        })
        .collect();
    let mut want = vec!["step"; 4];
    want.insert(0, "first");
    want.push("epoch");
    want.extend(["step"; 4]);
    want.push("epoch");
    assert_eq!(kinds, want, "64 examples in batches of 16, two epochs");
    let stopped =
        prepared.train(&s, train, Default::default(), Progress::default(), &AtomicBool::new(true), &mut Memory::default()).unwrap();
    assert!(
        matches!(stopped, tfreuse::train::Outcome::Interrupted(Progress { epoch: 0, step: 0, .. })),
        "a set stop flag stops before the first step"
    );
}
