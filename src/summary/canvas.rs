//! A layout-rs render backend that records what the layout draws (boxes, text, Bézier edges)
//! and replays it onto a plotters bitmap: the PNG form of `inspect --draw`, the same drawing
//! as the SVG that layout-rs writes itself.

use std::path::Path;

use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use plotters::prelude::*;

use crate::error::{Error, Result};

enum Shape {
    Rect { at: (f64, f64), size: (f64, f64), look: StyleAttr },
    Ellipse { at: (f64, f64), size: (f64, f64), look: StyleAttr },
    Text { at: (f64, f64), text: String, size: usize },
    Path { points: Vec<(f64, f64)>, dashed: bool, head: bool, look: StyleAttr },
}

/// What was drawn, in order.
#[derive(Default)]
pub struct Recorder(Vec<Shape>);

const MARGIN: f64 = 16.0;

impl Recorder {
    /// Every point drawn, for the canvas size.
    fn extent(&self) -> (f64, f64) {
        let mut max = (0.0f64, 0.0f64);
        let mut grow = |x: f64, y: f64| max = (max.0.max(x), max.1.max(y));
        for s in &self.0 {
            match s {
                Shape::Rect { at, size, .. } => grow(at.0 + size.0, at.1 + size.1),
                Shape::Ellipse { at, size, .. } => grow(at.0 + size.0 / 2.0, at.1 + size.1 / 2.0),
                Shape::Text { at, text, size } => {
                    grow(at.0 + (text.lines().map(str::len).max().unwrap_or(0) * size) as f64 / 3.0, at.1 + *size as f64)
                }
                Shape::Path { points, .. } => points.iter().for_each(|p| grow(p.0, p.1)),
            }
        }
        max
    }

    /// Replay onto a white PNG at `path`.
    pub fn render_png(&self, path: &Path) -> Result<()> {
        let (w, h) = self.extent();
        let size = ((w + MARGIN).ceil().min(16384.0) as u32, (h + MARGIN).ceil().min(16384.0) as u32);
        let area = BitMapBackend::new(path, size).into_drawing_area();
        let fail = |e: String| Error::Invalid(format!("cannot draw the picture: {e}"));
        area.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        for s in &self.0 {
            draw(&area, s).map_err(fail)?;
        }
        area.present().map_err(|e| fail(e.to_string()))
    }
}

fn rgba(c: &layout::core::color::Color) -> RGBAColor {
    let v = u32::from_str_radix(c.to_web_color().trim_start_matches('#'), 16).unwrap_or(0xff);
    RGBAColor((v >> 24) as u8, (v >> 16) as u8, (v >> 8) as u8, f64::from(v & 0xff) / 255.0)
}

fn px(p: (f64, f64)) -> (i32, i32) {
    (p.0.round() as i32, p.1.round() as i32)
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, s: &Shape) -> std::result::Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    match s {
        Shape::Rect { at, size, look } => {
            let corners = [px(*at), px((at.0 + size.0, at.1 + size.1))];
            if let Some(fill) = &look.fill_color {
                area.draw(&Rectangle::new(corners, rgba(fill).filled())).map_err(err)?;
            }
            area.draw(&Rectangle::new(corners, rgba(&look.line_color).stroke_width(look.line_width as u32))).map_err(err)
        }
        Shape::Ellipse { at, size, look } => {
            let r = (size.0.min(size.1) / 2.0).round() as i32;
            let style = look.fill_color.as_ref().map_or(rgba(&look.line_color).stroke_width(1), |f| rgba(f).filled());
            area.draw(&Circle::new(px(*at), r, style)).map_err(err)
        }
        Shape::Text { at, text, size } => {
            let lines: Vec<&str> = text.lines().collect();
            let style = TextStyle::from(("sans-serif", *size as f64).into_font()).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
            let top = at.1 - (lines.len() as f64 - 1.0) * *size as f64 * 0.6;
            for (i, line) in lines.iter().enumerate() {
                let y = top + i as f64 * *size as f64 * 1.2;
                area.draw(&plotters::element::Text::new(line.to_string(), px((at.0, y)), style.clone())).map_err(err)?;
            }
            Ok(())
        }
        Shape::Path { points, dashed, head, look } => {
            let color = rgba(&look.line_color).stroke_width(look.line_width as u32);
            let segments: Vec<&[(f64, f64)]> = points.windows(2).collect();
            for (i, seg) in segments.iter().enumerate() {
                if !*dashed || (i / 2) % 2 == 0 {
                    area.draw(&PathElement::new(vec![px(seg[0]), px(seg[1])], color)).map_err(err)?;
                }
            }
            match (*head, points.len() >= 2) {
                (true, true) => {
                    area.draw(&arrow_head(points[points.len() - 2], points[points.len() - 1], rgba(&look.line_color))).map_err(err)
                }
                _ => Ok(()),
            }
        }
    }
}

/// A filled triangle at `to`, pointing from `from`.
fn arrow_head(from: (f64, f64), to: (f64, f64), color: RGBAColor) -> Polygon<(i32, i32)> {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let (l, w) = (10.0, 4.5);
    let base = (to.0 - ux * l, to.1 - uy * l);
    let pts = vec![px(to), px((base.0 - uy * w, base.1 + ux * w)), px((base.0 + uy * w, base.1 - ux * w))];
    Polygon::new(pts, color.filled())
}

/// Points along a cubic Bézier curve.
fn bezier(p0: Point, c1: Point, c2: Point, p1: Point, out: &mut Vec<(f64, f64)>) {
    const STEPS: usize = 16;
    for i in 1..=STEPS {
        let t = i as f64 / STEPS as f64;
        let u = 1.0 - t;
        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
        out.push((a * p0.x + b * c1.x + c * c2.x + d * p1.x, a * p0.y + b * c1.y + c * c2.y + d * p1.y));
    }
}

impl RenderBackend for Recorder {
    fn draw_rect(&mut self, xy: Point, size: Point, look: &StyleAttr, _: Option<String>, _: Option<ClipHandle>) {
        self.0.push(Shape::Rect { at: (xy.x, xy.y), size: (size.x, size.y), look: look.clone() });
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, _: Option<String>) {
        self.0.push(Shape::Path { points: vec![(start.x, start.y), (stop.x, stop.y)], dashed: false, head: false, look: look.clone() });
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, _: Option<String>) {
        self.0.push(Shape::Ellipse { at: (xy.x, xy.y), size: (size.x, size.y), look: look.clone() });
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        self.0.push(Shape::Text { at: (xy.x, xy.y), text: text.to_string(), size: look.font_size });
    }

    /// The path as SVG reads it: `M p0.0 C p0.1, p1.0, p1.1`, then `S pk.0, pk.1` (the first
    /// control point mirrors the previous second one).
    fn draw_arrow(&mut self, path: &[(Point, Point)], dashed: bool, head: (bool, bool), look: &StyleAttr, _: Option<String>, _: &str) {
        if path.len() < 2 {
            return;
        }
        let mut points = vec![(path[0].0.x, path[0].0.y)];
        bezier(path[0].0, path[0].1, path[1].0, path[1].1, &mut points);
        let (mut prev_c2, mut prev_end) = (path[1].0, path[1].1);
        for p in &path[2..] {
            let c1 = Point::new(2.0 * prev_end.x - prev_c2.x, 2.0 * prev_end.y - prev_c2.y);
            bezier(prev_end, c1, p.0, p.1, &mut points);
            (prev_c2, prev_end) = (p.0, p.1);
        }
        if look.line_width > 0 {
            self.0.push(Shape::Path { points, dashed, head: head.1, look: look.clone() });
        }
    }

    fn create_clip(&mut self, _: Point, _: Point, _: usize) -> ClipHandle {
        0
    }
}
