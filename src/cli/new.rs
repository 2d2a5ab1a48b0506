//! `tfreuse new`: a fresh TF1 model with the book's names, trained from scratch — the
//! baseline transfer is measured against, and a way to make base models without Python.

use tfreuse::graph::layers::{parse_layers, Init, LayerSpec};
use tfreuse::model::ModelSource;
use tfreuse::train::{Optimizer, TransferSpec};
use tfreuse::Error;

use super::train::{train_on, How, Schedule};
use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The layers on X: dense UNITS[:ACTIVATION] (relu elu selu leaky_relu tanh sigmoid linear),
    /// flatten, gap, dropout:RATE; the last is the logits, as wide as there are classes, e.g.
    /// 100:elu,100:elu,100:elu,100:elu,100:elu,5 (the book's exercise 8).
    #[arg(long, value_name = "LAYERS")]
    pub layers: String,
    /// Data set: mnist:DIR, fashion-mnist:DIR or npz:FILE (splits train, validation, test).
    #[arg(long, value_name = "SPEC", default_value = "mnist:data/mnist")]
    pub data: String,
    /// Keep only these classes of the data, renumbered 0…k-1 in this order, e.g. 0,1,2,3,4.
    #[arg(long, value_name = "IDS")]
    pub classes: Option<String>,
    /// Multiply the features by S (MNIST's raw pixels by 1/255 by default, as input_data).
    #[arg(long, value_name = "S")]
    pub scale: Option<String>,
    /// How the dense kernels start: he (truncated normal, sqrt(2/fan_in): the book's choice
    /// with ELU), glorot (uniform) or lecun (sqrt(1/fan_in), for SELU).
    #[arg(long, default_value = "he", value_parser = ["he", "glorot", "lecun"])]
    pub init: String,
    /// Add λ · Σ sum(kernel²) / 2 over the dense kernels to the loss.
    #[arg(long, value_name = "λ")]
    pub l2: Option<f32>,
    /// Update rule of the model's training op (it joins the `train_op` collection).
    #[arg(long, default_value = "adam", value_parser = ["sgd", "momentum", "adam"])]
    pub optimizer: String,
    /// Learning rate.
    #[arg(long, default_value_t = 0.001)]
    pub lr: f32,
    /// Momentum of --optimizer momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// clip_by_value every gradient to [-VALUE, VALUE].
    #[arg(long, value_name = "VALUE")]
    pub clip: Option<f32>,
    /// Device for the ops, e.g. /cpu:0 or /gpu:0 (soft placement).
    #[arg(long)]
    pub device: Option<String>,
    #[command(flatten)]
    pub schedule: Schedule,
}

impl Args {
    /// A spec that builds every layer on `X:0` of a graph holding only `X` and `y`, with the
    /// book's names (`dnn/hidden1`, `outputs`, `loss/loss`, `eval/accuracy`, `train/step`).
    fn spec(&self, features: Vec<usize>, g: &Global) -> anyhow::Result<TransferSpec> {
        let mut s = TransferSpec::from_source(ModelSource::Fresh(features));
        s.branch_from = Some("X:0".into());
        s.new_layers = layers(&self.layers)?;
        s.prefix = String::new();
        s.layer_scope = "dnn/".into();
        s.init = Init::parse(&self.init)?;
        s.l2 = self.l2;
        s.optimizer = Some(match self.optimizer.as_str() {
            "momentum" => Optimizer::Momentum { momentum: self.momentum },
            "adam" => Optimizer::adam(),
            _ => Optimizer::Sgd,
        });
        s.lr = self.lr;
        s.clip = self.clip;
        s.device = self.device.clone();
        s.session = g.session_config();
        self.schedule.apply(s, false)
    }
}

/// `--layers`, parsed as `train --new-layers` is (its errors name `--layers`).
fn layers(spec: &str) -> tfreuse::Result<Vec<LayerSpec>> {
    parse_layers(spec).map_err(|e| Error::Invalid(e.to_string().replace("--new-layers", "--layers")))
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    if let Some(out) = &args.schedule.out {
        super::train::check_out(out, args.schedule.force, None)?;
    }
    if !matches!(tfreuse::data::kind(&args.data), Some("mnist" | "fashion-mnist" | "npz")) {
        return Err(Error::Invalid(format!("--data {}: tfreuse new takes mnist:DIR, fashion-mnist:DIR or npz:FILE", args.data)).into());
    }
    let mut data = tfreuse::data::load(&args.data)?;
    if let Some(s) = &args.scale {
        data.rescale(tfreuse::data::Scale::parse(s)?)?;
    }
    let (data, classes) = super::train::classes_of(data, args.classes.as_deref())?;
    if let Some(LayerSpec::Dense { units, .. }) = layers(&args.layers)?.last() {
        if *units != classes {
            let msg = format!(
                "--layers {}: the logits are {units} wide but the data has {classes} classes; make the last layer {classes} wide",
                args.layers
            );
            return Err(Error::Invalid(msg).into());
        }
    }
    let spec = args.spec(data.training_split()?.feature_shape.clone(), g)?;
    let scopes = tfreuse::graph::layers::outputs(&spec.new_layers, &spec.layer_scope);
    eprintln!("new model: X:0 -> {} (branch from any of these later)", scopes.join(" -> "));
    train_on(spec, (data, classes), &args.schedule, &How { cache_frozen: false, own_lr: Some(args.lr), model: None }, g)
}
