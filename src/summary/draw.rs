//! `inspect --draw`: a layer-level picture of what a `train` command would do. The graph's
//! ops are grouped into layers by name scope (a variable's scope is a layer; other ops take the
//! shallowest scope that holds no layer), each layer coloured by what happens to its variables
//! (restored or initialised, trained, frozen, cached), with the branch point and the cut marked.
//! layout-rs lays the layers out (a Sugiyama-style layered layout) and writes the SVG; a PNG is
//! the same drawing rendered by plotters.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;
use tensorflow::{Operation, Output};

use crate::error::{Error, Result};
use crate::events::SetupReport;
use crate::graph::freeze::upstream;
use crate::graph::var::VarKind;
use crate::train::{Prepared, TransferSpec};

/// What a layer's variables go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Restored from the checkpoint and trained.
    RestoredTrained,
    /// Restored and frozen.
    RestoredFrozen,
    /// Frozen, and computed once into the cache.
    Cached,
    /// New, initialised and trained.
    New,
    /// Not on the path to the loss (above the branch point).
    Unused,
    /// No variables: placeholders, pooling, the loss.
    Ops,
}

impl Role {
    /// What the legend says of it.
    pub fn text(self) -> &'static str {
        match self {
            Role::RestoredTrained => "restored, trained",
            Role::RestoredFrozen => "restored, frozen",
            Role::Cached => "frozen, cached",
            Role::New => "new, trained",
            Role::Unused => "unused (above the branch)",
            Role::Ops => "ops",
        }
    }

    fn fill(self) -> u32 {
        match self {
            Role::RestoredTrained => 0xfdae6bff,
            Role::RestoredFrozen => 0x9ecae1ff,
            Role::Cached => 0xbcbddcff,
            Role::New => 0xa1d99bff,
            Role::Unused => 0xeeeeeeff,
            Role::Ops => 0xffffffff,
        }
    }
}

/// One box of the picture.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The layer's name scope.
    pub name: String,
    /// What its variables go through.
    pub role: Role,
    /// Its parameters.
    pub params: u64,
    /// "branch point: …", "cut: …".
    pub notes: Vec<String>,
}

/// The layers in input → output order and the edges between them (`cut`: the edge leaves the
/// frozen part, through a stop_gradient or the cached tensor).
#[derive(Clone, Debug, Default)]
pub struct Picture {
    /// The boxes.
    pub layers: Vec<Layer>,
    /// (from, to, leaves the frozen part), by box index.
    pub edges: Vec<(usize, usize, bool)>,
}

/// What the picture marks besides the setup report.
pub struct Marks<'a> {
    /// What setting up did.
    pub report: &'a SetupReport,
    /// The `--branch-from` tensor.
    pub branch: Option<&'a str>,
    /// The `--freeze-below` stop_gradient op's name.
    pub stop_gradient: Option<String>,
    /// Whether the frozen part below the cut is cached.
    pub caching: bool,
}

/// The picture of a prepared plan: the layers its loss, metric and logits need, and the
/// imported loss and metric when the plan leaves them (above a branch point).
pub fn plan(p: &Prepared, spec: &TransferSpec, caching: bool) -> Result<Picture> {
    let ends: Vec<Output> = [Some(p.loss.clone()), p.metric.clone(), p.logits.clone()].into_iter().flatten().collect();
    let graph = &p.model.graph;
    let imported = [spec.model.loss.as_deref().unwrap_or("loss/loss:0"), spec.model.metric.as_deref().unwrap_or("eval/accuracy:0")];
    let context: Vec<Output> = imported.iter().filter_map(|t| crate::tf::find_output(graph, t).ok()).collect();
    let marks = Marks {
        report: &p.report,
        branch: spec.recipe.branch_from.as_deref(),
        stop_gradient: spec.recipe.freeze_below.as_ref().map(|_| format!("{}stop_gradient", spec.recipe.prefix)),
        caching,
    };
    picture(&ends, &context, &marks)
}

/// Ops that carry no idea worth a box.
const HIDDEN: &[&str] = &["Const", "NoOp", "Shape"];

/// The picture of the graph upstream of `ends` (the plan's loss, metric, logits), with
/// `context` (e.g. the imported loss) drawn too, greyed when the plan does not use it.
pub fn picture(ends: &[Output], context: &[Output], marks: &Marks) -> Result<Picture> {
    let used = ops_upstream(ends);
    let mut all = used.clone();
    all.extend(ops_upstream(context));
    all.retain(|_, op| !HIDDEN.contains(&op.op_type().unwrap_or_default().as_str()));
    let scopes = layer_scopes(&all);
    let mut group_of: HashMap<&str, String> = all.keys().map(|n| (n.as_str(), group(n, &scopes))).collect();
    merge_storage(&all, &mut group_of);
    let order = topological(&all, &group_of);
    let index: HashMap<&str, usize> = order.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    let cut_op = marks.report.cut.as_deref().map(|c| crate::tf::op_name(c).to_string());
    let below_cut: HashSet<String> = match (&cut_op, marks.caching) {
        (Some(c), true) => all.get(c).map(|op| upstream(op, |_| false).iter().filter_map(|o| o.name().ok()).collect()).unwrap_or_default(),
        _ => HashSet::new(),
    };
    let mut layers: Vec<Layer> = order.iter().map(|g| Layer { name: g.clone(), role: Role::Ops, params: 0, notes: vec![] }).collect();
    let mut members: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (n, g) in &group_of {
        members.entry(index[g.as_str()]).or_default().push(n);
    }
    for (i, names) in &members {
        let l = &mut layers[*i];
        l.role = role(names, &all, &used, &below_cut, marks.report);
        l.params = names.iter().filter(|n| is_var(&all[**n])).map(|n| crate::graph::var::values_held(&all[*n])).sum();
    }
    mark(&mut layers, &group_of, &index, marks, cut_op.as_deref());
    let cached = cut_op.as_deref().filter(|_| marks.caching);
    let cut_ops: HashSet<&str> = cached.into_iter().chain(marks.stop_gradient.as_deref()).collect();
    let mut edges = HashSet::new();
    for (n, op) in &all {
        for i in 0..op.num_inputs() {
            let Ok(src) = op.input(i).0.name() else { continue };
            let (Some(a), Some(b)) = (group_of.get(src.as_str()), group_of.get(n.as_str())) else { continue };
            if a != b {
                edges.insert((index[a.as_str()], index[b.as_str()], cut_ops.contains(src.as_str())));
            }
        }
    }
    let mut edges: Vec<_> = edges.into_iter().collect();
    edges.sort();
    Ok(Picture { layers, edges })
}

fn ops_upstream(ends: &[Output]) -> BTreeMap<String, Operation> {
    ends.iter().flat_map(|e| upstream(&e.operation, |_| false)).filter_map(|op| Some((op.name().ok()?, op))).collect()
}

fn is_var(op: &Operation) -> bool {
    VarKind::of_op_type(&op.op_type().unwrap_or_default()).is_some()
}

fn parent(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(s, _)| s)
}

/// A variable, or an op that only reads one (`kernel/read`, a `ReadVariableOp`).
fn is_storage(op: &Operation) -> bool {
    is_var(op) || (op.op_type().is_ok_and(|t| t == "Identity" || t == "ReadVariableOp") && op.num_inputs() == 1 && is_var(&op.input(0).0))
}

/// The scopes that are layers: where variables live, and where ops read them (the book's
/// models put `hidden1/kernel` beside `dnn/hidden1/MatMul`: tf.layers in a name scope).
fn layer_scopes(all: &BTreeMap<String, Operation>) -> HashSet<String> {
    let mut scopes = HashSet::new();
    for (n, op) in all {
        let reads = (0..op.num_inputs()).any(|i| is_storage(&op.input(i).0));
        if is_var(op) || (reads && !is_storage(op)) {
            scopes.insert(parent(n).to_string());
        }
    }
    scopes
}

/// A group of variables alone (and their reads) read by one other group joins it.
fn merge_storage(all: &BTreeMap<String, Operation>, group_of: &mut HashMap<&str, String>) {
    let mut only_storage: HashMap<String, bool> = HashMap::new();
    for (n, op) in all {
        *only_storage.entry(group_of[n.as_str()].clone()).or_insert(true) &= is_storage(op);
    }
    let mut readers: HashMap<String, HashSet<String>> = HashMap::new();
    for (n, op) in all {
        for i in 0..op.num_inputs() {
            let Some(src) = op.input(i).0.name().ok().and_then(|s| group_of.get(s.as_str())) else { continue };
            if only_storage[src] && *src != group_of[n.as_str()] {
                readers.entry(src.clone()).or_default().insert(group_of[n.as_str()].clone());
            }
        }
    }
    for g in group_of.values_mut() {
        if let Some(one) = readers.get(g.as_str()).filter(|r| r.len() == 1).and_then(|r| r.iter().next()) {
            *g = one.clone();
        }
    }
}

/// The layer of op `name`: the innermost layer scope holding it, else the shallowest scope
/// of its name that holds no variable scope (`cnn/pool1/MaxPool` → `cnn/pool1`, `loss/…` →
/// `loss`), else the op itself.
fn group(name: &str, scopes: &HashSet<String>) -> String {
    let inner = scopes.iter().filter(|s| name == s.as_str() || name.starts_with(&format!("{s}/"))).max_by_key(|s| s.len());
    if let Some(s) = inner {
        return s.clone();
    }
    let parts: Vec<&str> = name.split('/').collect();
    (1..=parts.len())
        .map(|k| parts[..k].join("/"))
        .find(|p| !scopes.iter().any(|s| s.starts_with(&format!("{p}/"))))
        .unwrap_or_else(|| name.to_string())
}

/// The groups in an order where every edge goes forward (Kahn's algorithm; ties by name).
fn topological(all: &BTreeMap<String, Operation>, group_of: &HashMap<&str, String>) -> Vec<String> {
    let mut preds: BTreeMap<&str, HashSet<&str>> = group_of.values().map(|g| (g.as_str(), HashSet::new())).collect();
    for (n, op) in all {
        for i in 0..op.num_inputs() {
            let Ok(src) = op.input(i).0.name() else { continue };
            if let (Some(a), Some(b)) = (group_of.get(src.as_str()), group_of.get(n.as_str())) {
                if a != b {
                    preds.get_mut(b.as_str()).expect("every group is a key").insert(a.as_str());
                }
            }
        }
    }
    let mut order = Vec::new();
    while !preds.is_empty() {
        // A cycle between groups (scopes that feed each other) is broken at its first name.
        let ready: Vec<&str> = match preds.iter().filter(|(_, p)| p.is_empty()).map(|(g, _)| *g).collect::<Vec<_>>() {
            r if r.is_empty() => vec![*preds.keys().next().expect("not empty")],
            r => r,
        };
        for g in &ready {
            preds.remove(g);
            order.push(g.to_string());
        }
        preds.values_mut().for_each(|p| ready.iter().for_each(|g| _ = p.remove(g)));
    }
    order
}

/// A layer's role from its ops (`names`): variables restored or initialised, trained or not;
/// cached when every op lies below the cached cut; unused when none feeds the plan.
fn role(
    names: &[&str],
    all: &BTreeMap<String, Operation>,
    used: &BTreeMap<String, Operation>,
    below: &HashSet<String>,
    r: &SetupReport,
) -> Role {
    let vars: Vec<&str> = names.iter().copied().filter(|n| is_var(&all[*n])).collect();
    let has = |list: &[String]| vars.iter().any(|v| list.iter().any(|x| x == v));
    if !names.iter().any(|n| used.contains_key(*n)) {
        Role::Unused
    } else if !below.is_empty() && names.iter().all(|n| below.contains(*n)) && !names.iter().any(|n| is_placeholder(&all[*n])) {
        Role::Cached
    } else if vars.is_empty() {
        Role::Ops
    } else if has(&r.trained) && has(&r.initialized) {
        Role::New
    } else if has(&r.trained) {
        Role::RestoredTrained
    } else {
        Role::RestoredFrozen
    }
}

fn is_placeholder(op: &Operation) -> bool {
    op.op_type().is_ok_and(|t| t.starts_with("Placeholder"))
}

/// Notes on the layers holding the branch tensor, the stop_gradient and the cached cut.
fn mark(layers: &mut [Layer], group_of: &HashMap<&str, String>, index: &HashMap<&str, usize>, marks: &Marks, cut_op: Option<&str>) {
    let mut note = |op: &str, text: String| {
        if let Some(g) = group_of.get(op) {
            layers[index[g.as_str()]].notes.push(text);
        }
    };
    if let Some(b) = marks.branch {
        note(crate::tf::op_name(b), format!("branch point: {b}"));
    }
    if let Some(sg) = &marks.stop_gradient {
        note(sg, "stop_gradient: nothing below trains".into());
    }
    if let (Some(c), true, Some(t)) = (cut_op, marks.caching, marks.report.cut.as_deref()) {
        note(c, format!("cached up to {t}"));
    }
}

/// Draw `pic` into `path` (.svg or .png), written atomically.
pub fn draw(path: &Path, pic: &Picture) -> Result<()> {
    super::plot::write_picture(path, crate::error::Role::Draw, |tmp, svg| match svg {
        true => {
            let mut w = SVGWriter::new();
            lay_out(pic, &mut w)?;
            std::fs::write(tmp, on_white(w.finalize())).map_err(|e| Error::io(tmp, e))
        }
        false => {
            let mut c = super::canvas::Recorder::default();
            lay_out(pic, &mut c)?;
            c.render_png(tmp)
        }
    })
}

/// layout-rs leaves the SVG transparent: unreadable on a dark page.
fn on_white(mut svg: String) -> String {
    if let Some(end) = svg.find("<svg").and_then(|at| svg[at..].find('>').map(|e| at + e + 1)) {
        svg.insert_str(end, "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    }
    svg
}

const FONT: usize = 14;

/// Lay the layers out top to bottom, with a legend of the roles shown, and render.
fn lay_out(pic: &Picture, out: &mut dyn layout::core::format::RenderBackend) -> Result<()> {
    let mut vg = VisualGraph::new(Orientation::TopToBottom);
    let node = |vg: &mut VisualGraph, text: &str, fill: u32, width: usize| {
        let shape = ShapeKind::new_box(text);
        let look = StyleAttr::new(Color::new(0x333333ff), width, Some(Color::new(fill)), 6, FONT);
        let size = get_shape_size(Orientation::TopToBottom, &shape, FONT, false);
        vg.add_node(Element::create(shape, look, Orientation::TopToBottom, size))
    };
    let handles: Vec<_> =
        pic.layers.iter().map(|l| node(&mut vg, &label(l), l.role.fill(), if l.notes.is_empty() { 1 } else { 3 })).collect();
    for &(a, b, cut) in &pic.edges {
        let style = if cut { LineStyleKind::Dashed } else { LineStyleKind::Normal };
        let look = StyleAttr::new(Color::new(if cut { 0xd62728ff } else { 0x555555ff }), if cut { 2 } else { 1 }, None, 0, FONT - 3);
        let arrow = Arrow::new(LineEndKind::None, LineEndKind::Arrow, style, "", &look, &None, &None);
        vg.add_edge(arrow, handles[a], handles[b]);
    }
    let roles: std::collections::BTreeSet<Role> = pic.layers.iter().map(|l| l.role).filter(|r| *r != Role::Ops).collect();
    let mut prev = None;
    for r in roles {
        let h = node(&mut vg, &format!("legend: {}", r.text()), r.fill(), 1);
        if let Some(p) = prev {
            let hidden = Arrow::new(LineEndKind::None, LineEndKind::None, LineStyleKind::None, "", &StyleAttr::simple(), &None, &None);
            vg.add_edge(hidden, p, h);
        }
        prev = Some(h);
    }
    run_layout(&mut vg, out)
}

fn label(l: &Layer) -> String {
    let mut lines = vec![l.name.clone()];
    lines.push(match (l.role, l.params) {
        (Role::Ops, _) => String::new(),
        (r, 0) => r.text().to_string(),
        (r, p) => format!("{} · {p} params", r.text()),
    });
    lines.extend(l.notes.iter().cloned());
    lines.retain(|s| !s.is_empty());
    lines.join("\n")
}

/// layout-rs asserts on inputs it cannot place: a panic there becomes an error, not a crash.
fn run_layout(vg: &mut VisualGraph, out: &mut dyn layout::core::format::RenderBackend) -> Result<()> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vg.do_it(false, false, false, out)));
    std::panic::set_hook(hook);
    done.map_err(|_| Error::arg(crate::error::Role::Draw, None, "the layout library could not place this graph's layers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_group_into_layers_by_scope() {
        let scopes: HashSet<String> = ["cnn/conv1", "cnn/conv2", "dnn/hidden1", "hidden1", "W"].iter().map(|s| s.to_string()).collect();
        assert_eq!(group("hidden1/kernel/read", &scopes), "hidden1");
        assert_eq!(group("dnn/hidden1/MatMul", &scopes), "dnn/hidden1");
        assert_eq!(group("cnn/conv1/Conv2D", &scopes), "cnn/conv1");
        assert_eq!(group("cnn/conv1/kernel/read", &scopes), "cnn/conv1");
        assert_eq!(group("cnn/pool1/MaxPool", &scopes), "cnn/pool1");
        assert_eq!(group("cnn/features", &scopes), "cnn/features");
        assert_eq!(group("loss/SparseSoftmaxCrossEntropyWithLogits/Shape", &scopes), "loss");
        assert_eq!(group("X", &scopes), "X");
        assert_eq!(group("W", &scopes), "W");
        assert_eq!(group("W/read", &scopes), "W");
    }
}
