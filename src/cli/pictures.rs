//! `--data images:DIR` and `csv:FILE`: how pictures become rows (the flags, or the record
//! beside a model trained on pictures), and the data set a command loads with them.

use clap::Args;
use tfreuse::data::images::{ImageOptions, Preprocess, Record, ResizeMode};
use tfreuse::data::DataSet;
use tfreuse::Role;

use super::headings::DATA;
use super::{Global, ModelArgs};

/// How pictures are fitted to the input: every command that reads pictures.
#[derive(Args, Debug, Clone, Default)]
pub struct Fit {
    /// Picture size, HxW [default: the input's static shape].
    ///
    /// A new model (`new`, `pretrain`) has no input to read it from and needs it.
    #[arg(long, value_name = "HxW", value_parser = parse_size, help_heading = DATA)]
    pub resize: Option<(u32, u32)>,
    /// stretch (aspect not kept; the default), crop (centre) or pad (letterbox).
    #[arg(long, value_name = "MODE", help_heading = DATA)]
    pub resize_mode: Option<String>,
    /// 1 (gray) or 3 (RGB) [default: the input's last dimension].
    ///
    /// 1 for a flat input; 3 for a new model.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3), help_heading = DATA)]
    pub channels: Option<u8>,
}

/// How a picture folder splits into training, validation and test: commands that read one.
#[derive(Args, Debug, Clone)]
pub struct Splits {
    /// Percent of each class for validation.
    ///
    /// Chosen by a stable hash of the file name, so every command sees the same split.
    #[arg(long, default_value_t = 10.0, value_name = "PCT", help_heading = DATA)]
    pub validation_pct: f64,
    /// Percent of each class for test.
    #[arg(long, default_value_t = 10.0, value_name = "PCT", help_heading = DATA)]
    pub test_pct: f64,
    /// An unreadable picture is an error (default: skipped and counted).
    #[arg(long, help_heading = DATA)]
    pub strict: bool,
}

impl Default for Splits {
    fn default() -> Splits {
        Splits { validation_pct: 10.0, test_pct: 10.0, strict: false }
    }
}

/// How `--data images:DIR` pictures become rows.
#[derive(Args, Debug, Clone, Default)]
pub struct ImageArgs {
    #[command(flatten)]
    pub fit: Fit,
    #[command(flatten)]
    pub splits: Splits,
}

impl From<Fit> for ImageArgs {
    /// Pictures fitted as `fit` says and not split (`predict`, `export`).
    fn from(fit: Fit) -> ImageArgs {
        ImageArgs { fit, splits: Splits::default() }
    }
}

pub(super) fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (h, w) = s.split_once(['x', 'X']).ok_or("expected HxW, e.g. 224x224")?;
    match (h.parse::<u32>(), w.parse::<u32>()) {
        (Ok(h), Ok(w)) if h > 0 && w > 0 => Ok((h, w)),
        _ => Err("expected HxW with two positive numbers, e.g. 224x224".into()),
    }
}

impl ImageArgs {
    /// The options for pictures fed to `input` of the model `model` names: as `recorded` (a
    /// model trained on pictures), else as the input's shape says; flags override either.
    pub fn options(&self, recorded: Option<&Preprocess>, model: &ModelArgs, input: &str) -> tfreuse::Result<ImageOptions> {
        let mode = self.checked_mode()?;
        let preprocess = match recorded.cloned() {
            Some(mut p) => {
                (p.height, p.width) = self.fit.resize.unwrap_or((p.height, p.width));
                p.channels = self.fit.channels.unwrap_or(p.channels);
                p.mode = mode.unwrap_or(p.mode);
                p
            }
            None => {
                let meta = model.source().read()?;
                // A missing input is the real cause, before its size.
                let name = meta.resolve_name(input)?;
                tfreuse::model::found::exists(&meta, &name).map_err(|e| e.for_arg(Role::Input))?;
                let dims = meta.static_dims(&name);
                let mode = mode.unwrap_or(ResizeMode::Stretch);
                Preprocess::for_input(dims.as_deref(), self.fit.resize, self.fit.channels, mode).map_err(|e| e.for_arg(Role::Input))?
            }
        };
        Ok(self.with(preprocess))
    }

    /// The options for pictures a new model (`new`, `pretrain`) is made for: it has no input
    /// to read a size from, so `--resize` says it; 3 channels (RGB) unless `--channels`.
    pub fn fresh_options(&self, spec: &str) -> tfreuse::Result<ImageOptions> {
        let mode = self.checked_mode()?.unwrap_or(ResizeMode::Stretch);
        let Some((height, width)) = self.fit.resize else {
            let msg = format!("--data {spec}: a new model has no input to read a picture size from; give --resize HxW");
            return Err(tfreuse::Error::Invalid(msg));
        };
        Ok(self.with(Preprocess { height, width, channels: self.fit.channels.unwrap_or(3), mode }))
    }

    /// `--resize-mode`, once the percentages and channels are checked.
    fn checked_mode(&self) -> tfreuse::Result<Option<ResizeMode>> {
        let (validation, test) = (self.splits.validation_pct, self.splits.test_pct);
        let pct_ok = |p: f64| (0.0..100.0).contains(&p);
        if !pct_ok(validation) || !pct_ok(test) || validation + test >= 100.0 {
            return Err(tfreuse::Error::Invalid("--validation-pct and --test-pct must leave some pictures for training".into()));
        }
        if self.fit.channels == Some(2) {
            return Err(tfreuse::Error::Invalid("--channels 2: pictures give 1 (gray) or 3 (RGB)".into()));
        }
        self.fit.resize_mode.as_deref().map(ResizeMode::parse).transpose()
    }

    fn with(&self, preprocess: Preprocess) -> ImageOptions {
        let s = &self.splits;
        ImageOptions { validation_pct: s.validation_pct, test_pct: s.test_pct, strict: s.strict, ..ImageOptions::new(preprocess) }
    }
}

/// A data set from its spec, rescaled when `--scale` (or a record) says so; pictures are fitted to `input`,
/// as the record beside the model's checkpoint says if it has one (returned too).
pub fn load_data(
    spec: &str,
    scale: Option<&str>,
    images: &ImageArgs,
    model: &ModelArgs,
    input: &str,
    g: &Global,
    lazy: bool,
) -> tfreuse::Result<(DataSet, Option<Recorded>)> {
    let (opts, record) = match tfreuse::data::kind(spec) {
        Some("images" | "csv") => {
            let record = model.record()?;
            let mut opts = images.options(record.as_ref().map(|r| &r.0.preprocess), model, input)?;
            opts.lazy = lazy;
            (Some(opts), record)
        }
        _ => (None, None),
    };
    let recorded_scale = record.as_ref().map(|r| r.0.scale);
    Ok((load_fitted(spec, scale, opts.as_ref(), recorded_scale, g)?, record))
}

/// The pictures of `spec` (`images:DIR`) for a new model, fitted as `images` says (`--resize`
/// is needed) and rescaled by `scale` if given.
pub fn load_fresh_pictures(spec: &str, scale: Option<&str>, images: &ImageArgs, g: &Global) -> tfreuse::Result<DataSet> {
    let opts = images.fresh_options(spec)?;
    load_fitted(spec, scale, Some(&opts), None, g)
}

/// The data set of `spec`, pictures fitted as `opts` say (and reported), rescaled by `scale`,
/// else as recorded.
fn load_fitted(
    spec: &str,
    scale: Option<&str>,
    opts: Option<&ImageOptions>,
    recorded: Option<tfreuse::data::Scale>,
    g: &Global,
) -> tfreuse::Result<DataSet> {
    let mut data = tfreuse::data::load_with(spec, opts)?;
    if let Some(opts) = opts {
        report_pictures(&data, &opts.preprocess, g.library.verbose);
    }
    // Pictures are fed as the model's record says unless --scale says otherwise.
    let scale = scale.map(tfreuse::data::Scale::parse).transpose()?;
    if let Some(s) = scale.or(recorded) {
        data.rescale(s)?;
    }
    Ok(data)
}

/// A picture model's record and class names (see [`Record`]).
pub(super) type Recorded = (Record, Vec<String>);

/// The logits: as given, else as the record names them.
pub(super) fn logits(given: &Option<String>, record: Option<&Recorded>) -> tfreuse::Result<String> {
    given.clone().or_else(|| record.and_then(|r| r.0.logits.clone())).ok_or_else(|| {
        tfreuse::Error::Invalid(
            "--logits: missing: the model has no record of its logits (not trained by tfreuse on pictures); name them".into(),
        )
    })
}

/// Classes, pictures per split and what was skipped, on stderr.
fn report_pictures(data: &DataSet, p: &Preprocess, verbose: bool) {
    let order = |n: &str| ["train", "validation", "test"].iter().position(|s| *s == n);
    let mut splits: Vec<_> = data.splits.iter().collect();
    splits.sort_by_key(|(n, _)| order(n));
    let counts: Vec<String> = splits.iter().map(|(name, s)| format!("{name} {}", s.len())).collect();
    eprintln!(
        "pictures: {} classes ({}); {}; resized to {}x{}x{} ({:?})",
        data.classes.len(),
        data.classes.join(", "),
        counts.join(", "),
        p.height,
        p.width,
        p.channels,
        p.mode
    );
    if !data.skipped.is_empty() {
        let hint = if verbose { ":" } else { " (-v lists them; --strict makes them errors)" };
        eprintln!("tfreuse: warning: skipped {} file(s) that are no readable picture{hint}", data.skipped.len());
        if verbose {
            data.skipped.iter().for_each(|(f, why)| eprintln!("  {}: {why}", f.display()));
        }
    }
}
