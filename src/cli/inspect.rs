//! `tfreuse inspect`: print what a .meta and its checkpoint hold, or (`--draw`) draw what a
//! `train` command with the same flags would do to each layer.

use std::path::{Path, PathBuf};

use tfreuse::model::inspect::{report, Layer, Report};
use tfreuse::Model;

use super::{warn, Global, ModelArgs};

/// The plan's flags mean something only with `--draw`: given without it, clap refuses them.
#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("plan").multiple(true).requires("draw").args(PLAN))]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Do not look at any checkpoint.
    #[arg(long, conflicts_with = "checkpoint")]
    pub no_checkpoint: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Draw what `train` with the flags below would do to each layer, into FILE.svg or .png.
    ///
    /// Instead of the listing: the model's layers, each coloured by what `train` with the
    /// same data, recipe and schedule flags would do to it (restored, trained, frozen, cached,
    /// new), with the branch point and the cut marked. Nothing is trained. Those flags mean
    /// something only with --draw.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "no_checkpoint"])]
    pub draw: Option<PathBuf>,
    #[command(flatten)]
    pub recipe: super::recipe::Recipe,
    #[command(flatten)]
    pub library: super::Library,
}

/// `train`'s flags `--draw` takes (the recipe's); the others are inspect's own.
const PLAN: [&str; 31] = [
    "data",
    "classes",
    "scale",
    "resize",
    "resize_mode",
    "channels",
    "validation_pct",
    "test_pct",
    "strict",
    "input",
    "labels",
    "branch_from",
    "new_layers",
    "init",
    "l2",
    "prefix",
    "restore",
    "trainable",
    "freeze_below",
    "optimizer",
    "lr",
    "momentum",
    "clip",
    "train_op",
    "loss",
    "metric",
    "training_flags",
    "set",
    "set_in_training",
    "device",
    "cache_frozen",
];

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    if let Some(path) = &args.draw {
        return draw(&args, path, g);
    }
    g.load_tf()?;
    let model = Model::from_meta(args.model.read()?, &g.session_config())?;
    let ckpt = if args.no_checkpoint { Ok(None) } else { args.model.checkpoint() };
    let ckpt = match ckpt {
        Ok(r) => r,
        // Without a checkpoint the graph is still worth showing (an explicit one must exist).
        Err(e) if args.model.checkpoint.is_none() => {
            warn(Some(&format!("{}; showing the graph alone", super::message(&e))));
            None
        }
        Err(e) => return Err(e.into()),
    };
    let rep = report(&model, ckpt.as_ref())?;
    let frozen = args.model.graph.is_some();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        if let Some(c) = &rep.checkpoint {
            warn(c.warning.as_deref());
        }
        print_text(&rep, frozen);
    }
    Ok(())
}

fn print_text(r: &Report, frozen: bool) {
    if frozen {
        println!("graph: {}  (a frozen GraphDef: weights are constants, no checkpoint)", r.meta);
    } else {
        println!("meta: {}  (written by TensorFlow {})", r.meta, if r.tensorflow_version.is_empty() { "?" } else { &r.tensorflow_version });
    }
    println!("\noperations: {}", r.op_count);
    let mut by: Vec<_> = r.ops_by_type.iter().collect();
    by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (ty, n) in by {
        println!("  {n:>5}  {ty}");
    }
    println!("\nplaceholders:");
    for p in &r.placeholders {
        println!("  {:<32} {:<8} {}{}", p.name, p.dtype, p.shape, if p.has_default { "  (has default)" } else { "" });
    }
    if !r.end_points.is_empty() {
        println!("\nend points (TF-Slim's names, taken wherever a tensor is named):");
        r.end_points.iter().for_each(|(k, t)| println!("  {k:<48} {t}"));
    }
    print_layers(&r.layers);
    println!("\nvariables: {}", r.variables.len());
    for v in &r.variables {
        println!("  {:<40} {:<8} {:?}{}", v.name, v.dtype, v.shape, if v.trainable { "  trainable" } else { "" });
    }
    println!("\ncollections:");
    for (k, v) in &r.collections {
        println!("  {k}: {v}");
    }
    for (key, s) in &r.signatures {
        println!("\nsignature {key} ({}):", s.method);
        for (side, ts) in [("in ", &s.inputs), ("out", &s.outputs)] {
            for t in ts {
                println!("  {side} @{key}/{:<20} {:<28} {:<8} {}", t.key, t.name, t.dtype, t.shape);
            }
        }
    }
    match &r.saver {
        Some(s) => println!(
            "\nsaver: {} restore op {}, filename tensor {}, save tensor {}",
            s.version, s.restore_op, s.filename_tensor, s.save_tensor
        ),
        None => println!("\nsaver: none"),
    }
    print_checkpoint(r);
    print_reaches(r);
}

fn print_checkpoint(r: &Report) {
    if let Some(c) = &r.checkpoint {
        println!("\ncheckpoint: {}", c.prefix);
        println!("  restorable variables: {}", c.restorable.len());
        for (label, list) in [
            ("missing from the checkpoint", &c.missing),
            ("shape mismatch", &c.shape_mismatches),
            ("in the checkpoint but not the graph", &c.unused),
        ] {
            if !list.is_empty() {
                println!("  {label}: {}", list.len());
                for x in list {
                    println!("    {x}");
                }
            }
        }
    }
}

/// The nodes that reach outside the process (files, network, unknown op types), the model's
/// own saver ops marked as such.
fn print_reaches(r: &Report) {
    let (saver, other): (Vec<_>, Vec<_>) = r.reaches_outside.iter().partition(|x| x.own_saver);
    if other.is_empty() {
        let besides = if saver.is_empty() { "" } else { " besides the model's own saver" };
        println!("\nreaches outside the process: none{besides}");
    } else {
        println!(
            "\nreaches outside the process: {} node(s) (a run that needs one is refused without --trust-graph: see docs/security.md)",
            other.len()
        );
    }
    for x in other.iter().chain(&saver) {
        let place = x.function.as_ref().map_or(String::new(), |f| format!(" in function {f}"));
        let mark = if x.own_saver { "  (the model's own saver)" } else { "" };
        println!("  {:<8} {:<32} {:<20}{place} {}{mark}", x.class.name(), x.node, x.op, x.arguments.join(" "));
    }
}

/// The layers, with the tensor to give `--branch-from` or `--freeze-below` for each.
fn print_layers(layers: &[Layer]) {
    if layers.is_empty() {
        println!("\nlayers: no dense or convolution layer found");
        return;
    }
    println!("\nlayers (input → logits; branch from any):");
    let name = layers.iter().map(|l| l.name.len()).max().unwrap_or(0).max("input".len());
    let out = layers.iter().map(|l| l.output.len()).max().unwrap_or(0);
    if let Some(input) = layers.first().map(|l| &l.input) {
        println!("  {:<name$} {input}", "input");
    }
    for l in layers {
        let shape = l.shape.as_deref().map_or("<unknown>".to_string(), |d| format!("{d:?}"));
        let params = l.params.map_or("? params".to_string(), |n| format!("{n} params"));
        println!("  {:<name$} {:<out$} {:<18} {:>14}  {}", l.name, l.output, shape, params, l.kind);
    }
}

/// Prepare the plan as `train` would (restoring the checkpoint, building the new layers) and
/// draw it.
fn draw(args: &Args, path: &Path, g: &Global) -> anyhow::Result<()> {
    tfreuse::summary::plot::check_picture(path, tfreuse::Role::Draw)?;
    let spec = args.recipe.spec(&args.model, g)?;
    // Drawn from the graph alone unless --data is given (its classes checked against the head).
    let classes = match args.recipe.data {
        Some(_) => args.recipe.data(&args.model, g)?.1,
        None => args.recipe.classes_without_data()?,
    };
    g.load_tf()?;
    let prepared = tfreuse::train::prepare(&spec, classes)?;
    for w in &prepared.report.warnings {
        warn(Some(w));
    }
    let picture = tfreuse::summary::draw::plan(&prepared, &spec, args.recipe.cache_frozen)?;
    tfreuse::summary::draw::draw(path, &picture)?;
    eprintln!("drew {} layers and {} edges: {}", picture.layers.len(), picture.edges.len(), path.display());
    Ok(())
}
