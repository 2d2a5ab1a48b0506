//! Learning curves (`train --plot`): the train loss and the validation metric per epoch of one
//! run or several, side by side, as SVG or PNG (plotters). Text needs a TrueType font, taken
//! from the system's usual places (or `TFREUSE_FONT`).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result, Role};
use crate::events::{Event, EventSink};

/// One run's epochs: (epoch, train loss, validation metric).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    /// The run's name, for the legend.
    pub name: String,
    /// (epoch, train loss, validation metric), in order.
    pub epochs: Vec<(usize, f64, Option<f64>)>,
}

impl Curve {
    /// A run's curve from its `--json` log.
    pub fn from_json_log(path: &Path) -> Result<Curve> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut c = Curve { name: path.file_stem().unwrap_or_default().to_string_lossy().into_owned(), epochs: vec![] };
        for (i, line) in text.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| Error::bad_file(path, format!("line {}: not a {} log line: {e}", i + 1, Role::Json.mention())))?;
            if v["event"] == "epoch" {
                let (Some(epoch), Some(loss)) = (v["epoch"].as_u64(), v["train_loss"].as_f64()) else {
                    return Err(Error::bad_file(path, format!("line {}: an epoch without epoch or train_loss", i + 1)));
                };
                c.epochs.push((epoch as usize, loss, v["metric"].as_f64()));
            }
        }
        if c.epochs.is_empty() {
            return Err(Error::bad_file(path, format!("no epoch in this {} log", Role::Json.mention())));
        }
        Ok(c)
    }
}

/// Collects this run's epochs as they are reported.
#[derive(Default)]
pub struct Collect(pub Curve);

impl EventSink for Collect {
    fn event(&mut self, e: &Event) -> Result<()> {
        if let Event::Epoch { epoch, train_loss, metric, .. } = e {
            self.0.epochs.push((*epoch, *train_loss, *metric));
        }
        Ok(())
    }
}

/// Draw `curves` into `path` (.svg or .png), written atomically.
pub fn draw(path: &Path, curves: &[Curve]) -> Result<()> {
    let size = (1000, 420);
    write_picture(path, Role::Plot, |tmp, svg| match svg {
        true => panels(&SVGBackend::new(tmp, size).into_drawing_area(), curves),
        false => panels(&BitMapBackend::new(tmp, size).into_drawing_area(), curves),
    })
}

/// Check `path` (.svg or .png, the file for `role`), let `draw(tmp, svg)` write it under
/// a temporary name that keeps the extension (encoders go by it), and rename it into place;
/// nothing is left behind on failure.
pub(crate) fn write_picture(path: &Path, role: Role, draw: impl FnOnce(&Path, bool) -> Result<()>) -> Result<()> {
    let svg = check_picture(path, role)?;
    let tmp = PathBuf::from(format!("{}.{}", crate::atomic::temp_path(path).display(), if svg { "svg" } else { "png" }));
    let done = draw(&tmp, svg).and_then(|_| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

fn panels<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, curves: &[Curve]) -> Result<()> {
    let fail = |e: String| Error::Invalid(format!("cannot draw the plot: {e}"));
    area.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
    let loss: Vec<Vec<(f64, f64)>> = curves.iter().map(|c| c.epochs.iter().map(|e| (e.0 as f64, e.1)).collect()).collect();
    let metric: Vec<Vec<(f64, f64)>> =
        curves.iter().map(|c| c.epochs.iter().filter_map(|e| e.2.map(|m| (e.0 as f64, m))).collect()).collect();
    let epochs = curves.iter().flat_map(|c| c.epochs.iter().map(|e| e.0 as f64)).fold(1.0, f64::max);
    chart(&left, "train loss", curves, &loss, epochs).map_err(fail)?;
    chart(&right, "validation metric", curves, &metric, epochs).map_err(fail)?;
    area.present().map_err(|e| fail(e.to_string()))
}

/// Whether `path`, the file for `role`, is an SVG (else a PNG); anything else is refused, as
/// is a missing font.
pub fn check_picture(path: &Path, role: Role) -> Result<bool> {
    let svg = is_svg(path).ok_or_else(|| Error::arg(role, Some(&path.display().to_string()), "give a .svg or .png file"))?;
    match load_font() {
        true => Ok(svg),
        false => Err(Error::Invalid(format!("{} {NO_FONT}", role.mention()))),
    }
}

/// Whether `path` names an SVG, a PNG (`false`) or neither (`None`), by its extension.
fn is_svg(path: &Path) -> Option<bool> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => Some(true),
        Some("png") => Some(false),
        _ => None,
    }
}

const NO_FONT: &str = "needs a TrueType font for its text: install DejaVu, Liberation or Noto Sans, or set TFREUSE_FONT=FILE.ttf";

/// One panel: a line per run, named in the legend.
fn chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    curves: &[Curve],
    series: &[Vec<(f64, f64)>],
    max_epoch: f64,
) -> std::result::Result<(), String> {
    let all = || series.iter().flatten();
    let (lo, hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(1e-6);
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.5..max_epoch + 0.5, lo - pad..hi + pad)
        .map_err(|e| e.to_string())?;
    c.configure_mesh().x_desc("epoch").x_labels(max_epoch.min(12.0) as usize + 1).draw().map_err(|e| e.to_string())?;
    for (i, (curve, points)) in curves.iter().zip(series).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        c.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(curve.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        c.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled()))).map_err(|e| e.to_string())?;
    }
    c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| e.to_string())
}

/// A sans-serif TrueType font for PNG text, from where Linux distributions put them.
fn load_font() -> bool {
    static LOADED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LOADED.get_or_init(|| {
        let candidates = [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
            "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        ];
        let found = std::env::var_os("TFREUSE_FONT").map(PathBuf::from).into_iter().chain(candidates.iter().map(PathBuf::from));
        for p in found {
            if let Ok(bytes) = std::fs::read(&p) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// Grouped bars (`sweep --plot`): one group per label, one bar per series (e.g. validation and
/// test accuracy per candidate), into `path` (.svg or .png), written atomically.
pub fn draw_bars(path: &Path, title: &str, labels: &[String], series: &[(String, Vec<f64>)]) -> Result<()> {
    let size = (160 + 110 * labels.len() as u32, 460);
    let fail = |e: String| Error::Invalid(format!("cannot draw the plot: {e}"));
    write_picture(path, Role::Plot, |tmp, svg| match svg {
        true => bars(&SVGBackend::new(tmp, size).into_drawing_area(), title, labels, series).map_err(fail),
        false => bars(&BitMapBackend::new(tmp, size).into_drawing_area(), title, labels, series).map_err(fail),
    })
}

fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    labels: &[String],
    series: &[(String, Vec<f64>)],
) -> std::result::Result<(), String> {
    area.fill(&WHITE).map_err(|e| e.to_string())?;
    let values = || series.iter().flat_map(|s| s.1.iter().copied()).filter(|v| v.is_finite());
    let lo = values().fold(1.0f64, f64::min);
    let hi = values().fold(0.0f64, f64::max);
    let (lo, hi) = ((lo - (hi - lo).max(0.01) * 0.2).max(0.0), hi + (hi - lo).max(0.01) * 0.1);
    let n = labels.len() as f64;
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5..n - 0.5, lo..hi)
        .map_err(|e| e.to_string())?;
    let name = |x: &f64| labels.get(x.round() as usize).filter(|_| (x - x.round()).abs() < 1e-6).cloned().unwrap_or_default();
    c.configure_mesh().disable_x_mesh().x_labels(labels.len() * 2 + 1).x_label_formatter(&name).draw().map_err(|e| e.to_string())?;
    let width = 0.8 / series.len().max(1) as f64;
    for (j, (label, vals)) in series.iter().enumerate() {
        let color = Palette99::pick(j).to_rgba();
        let left = |i: usize| i as f64 - 0.4 + j as f64 * width;
        let rects = vals
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| Rectangle::new([(left(i), lo), (left(i) + width * 0.9, *v)], color.filled()));
        c.draw_series(rects)
            .map_err(|e| e.to_string())?
            .label(label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    area.present().map_err(|e| e.to_string())
}
