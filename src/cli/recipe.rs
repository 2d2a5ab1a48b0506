//! What `train`, `sweep` and `inspect --draw` reuse, train, freeze and cache: the recipe's
//! flags, turned into the library's [`TransferSpec`] in one step.

use tfreuse::graph::layers::parse_layers;
use tfreuse::train::defaults::Unset;
use tfreuse::train::{check_labels, ModelSpec, Optimizer, RecipeSpec, RunSpec, ScheduleSpec, TransferSpec};
use tfreuse::Error;

use super::headings::{DATA, MODEL, PERFORMANCE, RECIPE, SCHEDULE};
use super::{Global, ModelArgs};

/// What `train` reuses, trains, freezes and caches: the flags `inspect --draw` takes too.
/// Each flag names its heading (model, data, recipe, schedule, performance).
#[derive(clap::Args, Debug)]
pub struct Recipe {
    /// Data set: mnist:DIR, npz:FILE or images:DIR (a folder per class).
    ///
    /// Each has the splits train, validation and test.
    #[arg(long, value_name = "SPEC", help_heading = DATA)]
    pub data: Option<String>,
    /// Keep only these classes, renumbered 0…k-1 in this order, e.g. 5,6,7,8,9.
    ///
    /// In every split; the old ids become the class names.
    #[arg(long, value_name = "IDS", help_heading = DATA)]
    pub classes: Option<String>,
    /// How features become the values fed: S, LO,HI or mean=…,std=….
    ///
    /// S multiplies (MNIST's raw pixels 0..255 by 1/255 by default, as input_data; an npz's
    /// values by 1); pictures also take LO,HI (e.g. -1,1) or mean=M[,M,M],std=S[,S,S] (per
    /// channel, on values in [0, 1]). Integer inputs get the raw pixels whatever the scale.
    #[arg(long, value_name = "S|LO,HI|mean=…,std=…", allow_hyphen_values = true, help_heading = DATA)]
    pub scale: Option<String>,
    #[command(flatten)]
    pub images: super::ImageArgs,
    /// Tensor fed with the features [default: X:0, or a zoo model's input].
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub input: Option<String>,
    /// Tensor fed with the labels [default: y:0, or tfreuse's own].
    ///
    /// For new layers on a graph without one (an exported classifier, a frozen graph) tfreuse
    /// makes its own, <prefix>labels:0.
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub labels: Option<String>,
    /// Build new layers (or, without --new-layers, a new loss) on this tensor.
    ///
    /// e.g. dnn/hidden4/Relu:0; `inspect` lists the candidates.
    #[arg(long, value_name = "TENSOR", help_heading = RECIPE)]
    pub branch_from: Option<String>,
    /// New layers, the last the logits, e.g. gap,128:relu,dropout:0.5,5.
    ///
    /// dense UNITS[:ACTIVATION] (relu elu selu leaky_relu tanh sigmoid linear), flatten, gap
    /// (global average pooling of feature maps), dropout:RATE (training steps only); the last
    /// is a dense logits layer.
    #[arg(long, value_name = "LAYERS", help_heading = RECIPE)]
    pub new_layers: Option<String>,
    /// How the new dense kernels start: glorot, he or lecun.
    ///
    /// glorot: uniform, tf.layers.dense's default; he: truncated normal, sqrt(2/fan_in), the
    /// book's choice with ELU; lecun: sqrt(1/fan_in), for SELU.
    #[arg(long, default_value = "glorot", value_parser = ["glorot", "he", "lecun"], help_heading = RECIPE)]
    pub init: String,
    /// Add λ · Σ sum(kernel²) / 2 over the new dense kernels to the loss.
    ///
    /// The book's l2_regularizer; the reported losses include it.
    #[arg(long, value_name = "λ", help_heading = RECIPE)]
    pub l2: Option<f32>,
    /// Name prefix of every new op and variable.
    #[arg(long, default_value = "new_", help_heading = RECIPE)]
    pub prefix: String,
    /// Restore only variables whose names match this regex; initialise the rest.
    #[arg(long, value_name = "REGEX", help_heading = RECIPE)]
    pub restore: Option<String>,
    /// Train only variables whose names match this regex (minimize(var_list=...)).
    #[arg(long, value_name = "REGEX", help_heading = RECIPE)]
    pub trainable: Option<String>,
    /// Put a stop_gradient on this tensor: nothing below it is trained.
    #[arg(long, value_name = "TENSOR", help_heading = RECIPE)]
    pub freeze_below: Option<String>,
    /// Update rule of the new training op [default: see --defaults].
    ///
    /// adam by default, or the book's sgd. Given without --branch-from, it replaces the
    /// imported training op too.
    #[arg(long, value_parser = ["sgd", "momentum", "adam"], help_heading = SCHEDULE)]
    pub optimizer: Option<String>,
    /// Learning rate of the new training op [default: see --defaults].
    ///
    /// 0.001 for adam, 0.01 for sgd and momentum.
    #[arg(long, value_name = "RATE", help_heading = SCHEDULE)]
    pub lr: Option<f32>,
    /// Momentum of --optimizer momentum.
    #[arg(long, default_value_t = 0.9, help_heading = SCHEDULE)]
    pub momentum: f32,
    /// clip_by_value every gradient to [-VALUE, VALUE].
    #[arg(long, value_name = "VALUE", help_heading = SCHEDULE)]
    pub clip: Option<f32>,
    /// The imported training op to run [default: the `train_op` collection].
    #[arg(long, value_name = "OP", help_heading = MODEL)]
    pub train_op: Option<String>,
    /// Loss tensor of the imported model [default: loss/loss:0].
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub loss: Option<String>,
    /// Metric reported on validation [default: eval/accuracy:0, or the new accuracy].
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub metric: Option<String>,
    /// A bool tensor fed true in training steps, false otherwise (repeatable).
    ///
    /// e.g. inputs/is_training:0, so that batch norm trains in training mode and not for
    /// validation, test and caching; TENSOR=false reverses it.
    #[arg(long = "training-flag", value_name = "TENSOR[=false]", help_heading = MODEL)]
    pub training_flags: Vec<String>,
    /// Feed a scalar tensor this value in every run, e.g. keep_prob:0=1 (repeatable).
    ///
    /// In training, validation, test and caching; cast to the tensor's dtype; true/false for a
    /// bool.
    #[arg(long = "set", value_name = "TENSOR=VALUE", help_heading = MODEL)]
    pub set: Vec<String>,
    /// As --set, in training steps only, e.g. keep_prob:0=0.5 (repeatable).
    #[arg(long = "set-in-training", value_name = "TENSOR=VALUE", help_heading = MODEL)]
    pub set_in_training: Vec<String>,
    /// Device for new ops, e.g. /cpu:0 or /gpu:0 (soft placement; untested on GPUs).
    #[arg(long, help_heading = PERFORMANCE)]
    pub device: Option<String>,
    /// Compute the frozen layers once per split and train the upper layers on the cache.
    #[arg(long, help_heading = PERFORMANCE)]
    pub cache_frozen: bool,
}

impl Recipe {
    /// The spec of `model` these flags describe, with training's defaults for the schedule.
    pub fn spec(&self, model: &ModelArgs, g: &Global) -> anyhow::Result<TransferSpec> {
        Ok(TransferSpec {
            model: self.model_spec(model)?,
            recipe: self.recipe_spec()?,
            schedule: ScheduleSpec::default(),
            run: RunSpec { device: self.device.clone(), session: g.session_config(), ..RunSpec::default() },
        })
    }

    /// What the model is and how it is fed.
    fn model_spec(&self, model: &ModelArgs) -> anyhow::Result<ModelSpec> {
        Ok(ModelSpec {
            checkpoint: model.checkpoint.clone(),
            input: super::input(&self.input).to_string(),
            labels: self.labels.clone(),
            train_op: self.train_op.clone(),
            loss: self.loss.clone(),
            metric: self.metric.clone(),
            training_flags: self.training_flags.iter().map(|f| parse_flag(f)).collect::<tfreuse::Result<_>>()?,
            set: super::parse_sets("--set", &self.set)?,
            set_in_training: super::parse_sets("--set-in-training", &self.set_in_training)?,
            ..ModelSpec::new(model.source().kind().clone())
        })
    }

    /// Where the new layers go, what they are, what is restored, frozen and trained.
    fn recipe_spec(&self) -> anyhow::Result<RecipeSpec> {
        Ok(RecipeSpec {
            branch_from: self.branch_from.clone(),
            new_layers: self.new_layers.as_deref().map(parse_layers).transpose()?.unwrap_or_default(),
            init: tfreuse::graph::layers::Init::parse(&self.init)?,
            l2: self.l2,
            prefix: self.prefix.clone(),
            restore: self.restore.clone(),
            trainable: self.trainable.clone(),
            freeze_below: self.freeze_below.clone(),
            optimizer: self.optimizer.as_deref().map(|o| optimizer(o, self.momentum)),
            lr: self.lr.unwrap_or(tfreuse::train::defaults::SGD_LR),
            clip: self.clip,
            ..RecipeSpec::default()
        })
    }

    /// The optimizer and learning rate left to choose from the data (none with `book`).
    pub fn unset(&self, book: bool) -> Unset {
        Unset { optimizer: !book && self.optimizer.is_none(), lr: !book && self.lr.is_none(), ..Unset::default() }
    }

    /// The data set, loaded as training loads it (pictures only listed when caching), and
    /// the number of classes its labels take.
    pub fn data(&self, model: &ModelArgs, g: &Global) -> anyhow::Result<(tfreuse::data::DataSet, usize)> {
        let spec = given_data(self.data.as_deref())?;
        let (data, _) =
            super::load_data(spec, self.scale.as_deref(), &self.images, model, super::input(&self.input), g, self.cache_frozen)?;
        Ok(classes_of(data, self.classes.as_deref())?)
    }

    /// The classes the new head is drawn for without data (`inspect --draw`): its last dense
    /// layer's width, or none.
    pub fn classes_without_data(&self) -> anyhow::Result<usize> {
        let layers = match self.new_layers.as_deref() {
            Some(l) => parse_layers(l)?,
            None => vec![],
        };
        Ok(layers
            .iter()
            .rev()
            .find_map(|l| match l {
                tfreuse::graph::layers::LayerSpec::Dense { units, .. } => Some(*units),
                _ => None,
            })
            .unwrap_or(0))
    }
}

/// `--data`, which training needs: there is no default data set.
pub(super) fn given_data(data: Option<&str>) -> tfreuse::Result<&str> {
    let msg = "missing: name the data set to train on (mnist:DIR, npz:FILE, images:DIR …)";
    data.ok_or_else(|| Error::arg(tfreuse::Role::Data, None, msg))
}

/// `--classes IDS` applied (said so), and the number of classes the labels take, checked.
pub(super) fn classes_of(mut data: tfreuse::DataSet, keep: Option<&str>) -> tfreuse::Result<(tfreuse::DataSet, usize)> {
    if let Some(keep) = keep {
        let keep = tfreuse::data::select::parse_classes(keep)?;
        data = data.keep_classes(&keep)?;
        let shown: Vec<String> = keep.iter().enumerate().map(|(i, c)| format!("{c}→{i}")).collect();
        eprintln!("classes kept and renumbered: {}", shown.join(", "));
    }
    let classes = match data.classes.len() {
        0 => data.splits.values().map(|s| s.num_classes()).max().unwrap_or(0),
        named => named,
    };
    check_labels(&data, classes)?;
    Ok((data, classes))
}

/// `TENSOR` or `TENSOR=true|false`: the tensor and its value in training steps.
fn parse_flag(f: &str) -> tfreuse::Result<(String, bool)> {
    match f.rsplit_once('=') {
        None => Ok((f.to_string(), true)),
        Some((t, "true")) => Ok((t.to_string(), true)),
        Some((t, "false")) => Ok((t.to_string(), false)),
        Some(_) => Err(Error::Invalid(format!("--training-flag {f}: expected TENSOR or TENSOR=true|false"))),
    }
}

/// The optimizer named `sgd`, `momentum` or `adam` (clap keeps to these).
pub(super) fn optimizer(name: &str, momentum: f32) -> Optimizer {
    match name {
        "momentum" => Optimizer::Momentum { momentum },
        "adam" => Optimizer::adam(),
        _ => Optimizer::Sgd,
    }
}
