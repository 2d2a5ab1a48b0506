//! `tfreuse new`: a fresh TF1 model with the book's names, trained from scratch — the
//! baseline transfer is measured against, and a way to make base models without Python.

use tfreuse::graph::layers::{parse_layers, Init, LayerSpec};
use tfreuse::model::ModelSource;
use tfreuse::train::{ModelSpec, RecipeSpec, RunSpec, ScheduleSpec, TransferSpec};
use tfreuse::{DataSet, Error, Role};

use super::headings::{DATA, MODEL, PERFORMANCE, SCHEDULE};
use super::schedule::{Sampling, Schedule};
use super::train::{train_on, How};
use super::{Flags, Global};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The layers on X, the last the logits, e.g. 100:elu,100:elu,5.
    ///
    /// dense UNITS[:ACTIVATION] (relu elu selu leaky_relu tanh sigmoid linear), flatten, gap,
    /// dropout:RATE; the last is the logits, as wide as there are classes, e.g.
    /// 100:elu,100:elu,100:elu,100:elu,100:elu,5 (the book's exercise 8).
    #[arg(long, value_name = "LAYERS", help_heading = MODEL)]
    pub layers: String,
    #[command(flatten)]
    pub fresh: Fresh,
    #[command(flatten)]
    pub schedule: Schedule,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub global: Global,
}

/// The data and training settings of a model made from nothing (`new`, `pretrain`).
#[derive(clap::Args, Debug)]
pub struct Fresh {
    /// How the dense kernels start: he, glorot or lecun.
    ///
    /// he: truncated normal, sqrt(2/fan_in), the book's choice with ELU; glorot: uniform;
    /// lecun: sqrt(1/fan_in), for SELU.
    #[arg(long, default_value = "he", value_parser = ["he", "glorot", "lecun"], help_heading = MODEL)]
    pub init: String,
    /// Add λ · Σ sum(kernel²) / 2 over the dense kernels to the loss.
    #[arg(long, value_name = "λ", help_heading = MODEL)]
    pub l2: Option<f32>,
    /// Data set: mnist:DIR, fashion-mnist:DIR, npz:FILE or images:DIR.
    ///
    /// mnist, fashion-mnist and npz have the splits train, validation and test; images:DIR
    /// holds one subfolder per class, resized to --resize HxW and fed flat to dense layers.
    #[arg(long, value_name = "SPEC", help_heading = DATA)]
    pub data: Option<String>,
    /// Keep only these classes, renumbered 0…k-1 in this order, e.g. 0,1,2,3,4.
    #[arg(long, value_name = "IDS", help_heading = DATA)]
    pub classes: Option<String>,
    /// How features become values: S, LO,HI or mean=…,std=…, as train --scale.
    ///
    /// S multiplies (MNIST's raw pixels by 1/255 by default, as input_data); pictures also
    /// take LO,HI (e.g. -1,1) or mean=M[,M,M],std=S[,S,S].
    #[arg(long, value_name = "S|LO,HI|mean=…,std=…", allow_hyphen_values = true, help_heading = DATA)]
    pub scale: Option<String>,
    #[command(flatten)]
    pub images: super::ImageArgs,
    /// Update rule of the model's training op (it joins the `train_op` collection).
    #[arg(long, default_value = "adam", value_parser = ["sgd", "momentum", "adam"], help_heading = SCHEDULE)]
    pub optimizer: String,
    /// Learning rate.
    #[arg(long, default_value_t = 0.001, help_heading = SCHEDULE)]
    pub lr: f32,
    /// Momentum of --optimizer momentum.
    #[arg(long, default_value_t = 0.9, help_heading = SCHEDULE)]
    pub momentum: f32,
    /// clip_by_value every gradient to [-VALUE, VALUE].
    #[arg(long, value_name = "VALUE", help_heading = SCHEDULE)]
    pub clip: Option<f32>,
    /// Device for the ops, e.g. /cpu:0 or /gpu:0 (soft placement; untested on GPUs).
    #[arg(long, help_heading = PERFORMANCE)]
    pub device: Option<String>,
}

impl Fresh {
    /// The data set (`--classes` applied) and its number of classes.
    pub(super) fn data(&self, command: &str, g: &Global) -> anyhow::Result<(DataSet, usize)> {
        let spec = super::recipe::given_data(self.data.as_deref())?;
        let data = match tfreuse::data::kind(spec) {
            Some("images") => super::pictures::load_fresh_pictures(spec, self.scale.as_deref(), &self.images, g)?,
            Some("mnist" | "fashion-mnist" | "npz") => {
                let mut data = tfreuse::data::load(spec)?;
                if let Some(s) = &self.scale {
                    data.rescale(tfreuse::data::Scale::parse(s)?)?;
                }
                data
            }
            _ => {
                let msg = format!("--data {spec}: tfreuse {command} takes mnist:DIR, fashion-mnist:DIR, npz:FILE or images:DIR");
                return Err(Error::Invalid(msg).into());
            }
        };
        Ok(super::recipe::classes_of(data, self.classes.as_deref())?)
    }

    /// The shape of `X`: the data's examples, except that pictures (`[h, w, c]`) are fed flat
    /// (`[h·w·c]`) when `layers` start with a dense layer (as pretraining's always do).
    pub(super) fn features(data: &DataSet, layers: &[LayerSpec]) -> tfreuse::Result<Vec<usize>> {
        let shape = data.training_split()?.feature_shape.clone();
        let keeps_shape = matches!(layers.first(), Some(LayerSpec::Flatten | LayerSpec::Gap));
        Ok(if data.preprocess.is_some() && !keeps_shape { vec![shape.iter().product()] } else { shape })
    }

    /// A spec that builds `layers` on `X:0` of a graph holding only `X` (of `features`) and
    /// `y`, the hidden layers under `scope` (`dnn/hidden1`), then `outputs`, `loss/loss`,
    /// `eval/accuracy` and `train/step`, as the book names them.
    pub(super) fn spec(&self, features: Vec<usize>, layers: Vec<LayerSpec>, scope: &str, g: &Global) -> tfreuse::Result<TransferSpec> {
        Ok(TransferSpec {
            model: ModelSpec::new(ModelSource::Fresh(features)),
            recipe: RecipeSpec {
                branch_from: Some("X:0".into()),
                new_layers: layers,
                prefix: String::new(),
                layer_scope: scope.into(),
                init: Init::parse(&self.init)?,
                l2: self.l2,
                optimizer: Some(super::recipe::optimizer(&self.optimizer, self.momentum)),
                lr: self.lr,
                clip: self.clip,
                ..RecipeSpec::default()
            },
            schedule: ScheduleSpec::default(),
            run: RunSpec { device: self.device.clone(), session: g.session_config(), ..RunSpec::default() },
        })
    }

    pub(super) fn how(&self) -> How {
        How { cache_frozen: false, unset: Default::default(), joining: None }
    }
}

/// The flags `new` (and `pretrain`) name otherwise than `train`: `--layers` gives the layers.
pub(super) const FLAGS: Flags = Flags(|role| (role == Role::NewLayers).then_some("--layers"));

/// `--layers`, parsed as `train --new-layers` is; its errors name the flags as [`FLAGS`] does.
pub(super) fn layers(spec: &str) -> tfreuse::Result<Vec<LayerSpec>> {
    parse_layers(spec).map_err(|e| Error::Invalid(e.render_with(|r| FLAGS.name(r).to_string())))
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    run(args, g).map_err(|e| e.context(FLAGS))
}

fn run(mut args: Args, g: &Global) -> anyhow::Result<()> {
    args.schedule.sampling = args.sampling.clone();
    args.schedule.check_out(None)?;
    let (data, classes) = args.fresh.data("new", g)?;
    let layers = layers(&args.layers)?;
    if let Some(LayerSpec::Dense { units, .. }) = layers.last() {
        if *units != classes {
            let msg = format!(
                "--layers {}: the logits are {units} wide but the data has {classes} classes; make the last layer {classes} wide",
                args.layers
            );
            return Err(Error::Invalid(msg).into());
        }
    }
    let spec = args.fresh.spec(Fresh::features(&data, &layers)?, layers, "dnn/", g)?;
    let spec = args.schedule.apply(spec, false)?;
    let names = tfreuse::graph::layers::outputs(&spec.recipe.new_layers, spec.recipe.naming());
    eprintln!("new model: X:0 -> {} (branch from any of these later)", names.join(" -> "));
    train_on(spec, (data, classes), &args.schedule, args.fresh.how(), g)
}
