//! Line charts drawn as SVG on the server: no plotting crate, no script, no inline style.
//!
//! Colours come from the stylesheet (`.chart .line`, `.point`, `.axis`, `.grid`), which follows
//! light and dark through CSS variables, so the markup carries class names only. The output is
//! inserted into pages with `|safe`, hence every text in it (title, labels, hover texts) goes
//! through [`escape`].
//!
//! A chart stays small whatever it is given: values that cannot be drawn (NaN, ±inf) are left
//! out and the chart says how many; beyond [`MAX_DRAWN`] points the series is cut into buckets
//! of consecutive points and each bucket keeps its lowest and highest point, so a spike or a
//! dip stays visible where plain sampling would drop it.

use std::fmt::Write;

/// The most points a chart draws (two per bucket when a series is thinned).
pub const MAX_DRAWN: usize = 600;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 46.0;
const BOTTOM: f64 = 48.0;

/// One point; `hover` is shown by the browser when the pointer rests on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartPoint {
    pub x: f64,
    pub y: f64,
    pub hover: String,
}

pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Ticks on whole numbers only (versions, steps).
    pub integer_x: bool,
    /// In the order the line joins them (by x).
    pub points: &'a [ChartPoint],
}

/// What a chart drew, for the page's own words around it.
#[derive(Debug, PartialEq, Eq)]
pub struct Drawn {
    pub svg: String,
    pub points: usize,
    pub skipped: usize,
    pub thinned_from: Option<usize>,
}

pub fn line_chart(chart: &LineChart) -> Drawn {
    let finite: Vec<&ChartPoint> = chart
        .points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let skipped = chart.points.len() - finite.len();
    let total = finite.len();
    let shown = thin(finite, MAX_DRAWN);
    let thinned_from = (shown.len() < total).then_some(total);

    let mut notes = Vec::new();
    if let Some(n) = thinned_from {
        notes.push(format!(
            "{} of {n} points drawn (lowest and highest of each stretch)",
            shown.len()
        ));
    }
    if skipped > 0 {
        notes.push(format!(
            "{skipped} {} not drawn (NaN or infinite)",
            if skipped == 1 { "value" } else { "values" }
        ));
    }
    let label = if notes.is_empty() {
        format!("{}: {} points", chart.title, shown.len())
    } else {
        format!(
            "{}: {} points; {}",
            chart.title,
            shown.len(),
            notes.join("; ")
        )
    };

    let mut svg = String::with_capacity(2048 + shown.len() * 120);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(&label),
        escape(&label)
    );
    let _ = write!(
        svg,
        r#"<text class="chart-title" x="{LEFT}" y="18">{}</text>"#,
        escape(chart.title)
    );
    let plot_right = WIDTH - RIGHT;
    let plot_bottom = HEIGHT - BOTTOM;

    if shown.is_empty() {
        let _ = write!(
            svg,
            r#"<text class="chart-empty" x="{}" y="{}" text-anchor="middle">No values to draw{}</text></svg>"#,
            WIDTH / 2.0,
            HEIGHT / 2.0,
            if skipped > 0 {
                format!(" ({skipped} NaN or infinite)")
            } else {
                String::new()
            }
        );
        return Drawn {
            svg,
            points: 0,
            skipped,
            thinned_from,
        };
    }

    let (x_min, x_max) = padded_range(shown.iter().map(|p| p.x), chart.integer_x);
    let (y_min, y_max) = padded_range(shown.iter().map(|p| p.y), false);
    let x_ticks = ticks(x_min, x_max, 8, chart.integer_x);
    let y_ticks = ticks(y_min, y_max, 6, false);
    // The axes span the ticks so that the outermost tick labels sit on the frame.
    let (x_lo, x_hi) = span(&x_ticks, x_min, x_max);
    let (y_lo, y_hi) = span(&y_ticks, y_min, y_max);
    let sx = |x: f64| LEFT + (x - x_lo) / (x_hi - x_lo) * (plot_right - LEFT);
    let sy = |y: f64| plot_bottom - (y - y_lo) / (y_hi - y_lo) * (plot_bottom - TOP);

    let y_step = y_ticks.get(1).map_or(0.0, |b| b - y_ticks[0]);
    for &t in &y_ticks {
        let y = sy(t);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{plot_right}" y2="{y:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            escape(&format_number(t, y_step))
        );
    }
    let x_step = x_ticks.get(1).map_or(0.0, |b| b - x_ticks[0]);
    for &t in &x_ticks {
        let x = sx(t);
        let _ = write!(
            svg,
            r#"<line class="axis" x1="{x:.1}" y1="{plot_bottom}" x2="{x:.1}" y2="{}"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            plot_bottom + 5.0,
            plot_bottom + 18.0,
            escape(&format_number(t, x_step))
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{plot_bottom}"/><line class="axis" x1="{LEFT}" y1="{plot_bottom}" x2="{plot_right}" y2="{plot_bottom}"/>"#
    );
    let _ = write!(
        svg,
        r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (LEFT + plot_right) / 2.0,
        HEIGHT - 8.0,
        escape(chart.x_label)
    );
    let _ = write!(
        svg,
        r#"<text class="axis-label" x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>"#,
        (TOP + plot_bottom) / 2.0,
        (TOP + plot_bottom) / 2.0,
        escape(chart.y_label)
    );

    if shown.len() > 1 {
        svg.push_str(r#"<polyline class="line" points=""#);
        for (i, p) in shown.iter().enumerate() {
            if i > 0 {
                svg.push(' ');
            }
            let _ = write!(svg, "{:.1},{:.1}", sx(p.x), sy(p.y));
        }
        svg.push_str(r#""/>"#);
    }
    let radius = if shown.len() > 100 { 2 } else { 3 };
    for p in &shown {
        let _ = write!(
            svg,
            r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="{radius}"><title>{}</title></circle>"#,
            sx(p.x),
            sy(p.y),
            escape(&p.hover)
        );
    }
    if !notes.is_empty() {
        let _ = write!(
            svg,
            r#"<text class="chart-note" x="{LEFT}" y="36">{}</text>"#,
            escape(&notes.join("; "))
        );
    }
    svg.push_str("</svg>");
    Drawn {
        points: shown.len(),
        svg,
        skipped,
        thinned_from,
    }
}

/// At most `max` points: consecutive buckets, each keeping its lowest and highest point in
/// their original order.
fn thin(points: Vec<&ChartPoint>, max: usize) -> Vec<&ChartPoint> {
    if points.len() <= max {
        return points;
    }
    let buckets = (max / 2).max(1);
    let size = points.len().div_ceil(buckets);
    let mut kept = Vec::with_capacity(max);
    for bucket in points.chunks(size) {
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in bucket.iter().enumerate() {
            if p.y < bucket[lo].y {
                lo = i;
            }
            if p.y > bucket[hi].y {
                hi = i;
            }
        }
        let (first, second) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        kept.push(bucket[first]);
        if second != first {
            kept.push(bucket[second]);
        }
    }
    kept
}

/// The range of the values, widened when it is a single value so that the axis has a length.
fn padded_range(values: impl Iterator<Item = f64>, integer: bool) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if hi > lo {
        return (lo, hi);
    }
    let pad = if integer || lo == 0.0 {
        1.0
    } else {
        (lo.abs() * 0.1).max(f64::MIN_POSITIVE)
    };
    (lo - pad, hi + pad)
}

fn span(ticks: &[f64], lo: f64, hi: f64) -> (f64, f64) {
    let first = ticks.first().copied().unwrap_or(lo).min(lo);
    let last = ticks.last().copied().unwrap_or(hi).max(hi);
    if last > first {
        (first, last)
    } else {
        (first - 1.0, last + 1.0)
    }
}

/// Round tick values (1, 2 or 5 times a power of ten) covering `[lo, hi]`, about `target` of
/// them.
fn ticks(lo: f64, hi: f64, target: usize, integer: bool) -> Vec<f64> {
    let raw = (hi - lo) / target.max(1) as f64;
    let mut step = nice_step(raw);
    if integer {
        step = step.max(1.0).round();
    }
    if !(step.is_finite() && step > 0.0) {
        return vec![lo, hi];
    }
    let start = (lo / step).floor();
    let end = (hi / step).ceil();
    if !(start.is_finite() && end.is_finite()) || end - start > 100.0 {
        return vec![lo, hi];
    }
    (0..=(end - start) as i64)
        .map(|i| (start + i as f64) * step)
        .collect()
}

fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 0.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A tick label: as many decimals as the step needs, exponent form for very large or small
/// numbers, no `-0`.
pub fn format_number(value: f64, step: f64) -> String {
    if value == 0.0 || value.abs() < step.abs() * 1e-9 {
        return "0".to_owned();
    }
    let magnitude = value.abs();
    if !(1e-4..1e7).contains(&magnitude) {
        return trim_exponent(&format!("{value:.2e}"));
    }
    let decimals = if step > 0.0 && step < 1.0 {
        (-step.log10().floor()) as usize
    } else {
        0
    };
    format!("{value:.decimals$}")
}

/// A metric value as a table shows it: full precision, but no `0.30000000000000004` noise.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "∞" } else { "−∞" }.to_owned();
    }
    let magnitude = value.abs();
    if value != 0.0 && !(1e-4..1e15).contains(&magnitude) {
        return trim_exponent(&format!("{value:.6e}"));
    }
    let text = format!("{value:.10}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0" } else { text }.to_owned()
}

/// `1.50e3` → `1.5e3`, `2.00e-5` → `2e-5`.
fn trim_exponent(text: &str) -> String {
    match text.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => {
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e{exp}")
        }
        _ => text.to_owned(),
    }
}

/// Text made safe for SVG/HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[f64]) -> Vec<ChartPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &y)| ChartPoint {
                x: (i + 1) as f64,
                y,
                hover: format!("v{}: {y}", i + 1),
            })
            .collect()
    }

    fn draw(values: &[f64]) -> Drawn {
        let pts = points(values);
        line_chart(&LineChart {
            title: "accuracy",
            x_label: "version",
            y_label: "accuracy",
            integer_x: true,
            points: &pts,
        })
    }

    fn circles(svg: &str) -> usize {
        svg.matches("<circle class=\"point\"").count()
    }

    #[test]
    fn a_series_has_one_point_per_value_with_hover_text_and_axes() {
        let d = draw(&[0.8, 0.85, 0.9]);
        assert_eq!((d.points, d.skipped, d.thinned_from), (3, 0, None));
        assert_eq!(circles(&d.svg), 3);
        assert!(d.svg.contains("<title>v2: 0.85</title>"), "{}", d.svg);
        assert!(d.svg.contains("class=\"line\""));
        assert!(d.svg.contains("class=\"axis\""));
        assert!(d.svg.contains("aria-label=\"accuracy: 3 points\""));
        assert!(!d.svg.contains("style="));
        // Readable tick labels, not 0.8500000000000001.
        assert!(
            d.svg.contains(">0.85<") || d.svg.contains(">0.86<"),
            "{}",
            d.svg
        );
        assert!(!d.svg.contains("000000"), "{}", d.svg);
    }

    #[test]
    fn one_point_and_equal_values_still_make_a_chart() {
        let d = draw(&[0.5]);
        assert_eq!(circles(&d.svg), 1);
        assert!(!d.svg.contains("NaN"), "{}", d.svg);
        let d = draw(&[2.0, 2.0, 2.0, 2.0]);
        assert_eq!(circles(&d.svg), 4);
        assert!(
            !d.svg.contains("NaN") && !d.svg.contains("inf"),
            "{}",
            d.svg
        );
        let d = draw(&[0.0, 0.0]);
        assert!(!d.svg.contains("NaN"), "{}", d.svg);
    }

    #[test]
    fn nan_and_infinite_values_are_skipped_and_said() {
        let d = draw(&[1.0, f64::NAN, 3.0, f64::INFINITY, f64::NEG_INFINITY]);
        assert_eq!((d.points, d.skipped), (2, 3));
        assert!(d.svg.contains("3 values not drawn (NaN or infinite)"));
        let d = draw(&[f64::NAN]);
        assert_eq!(d.points, 0);
        assert!(d.svg.contains("No values to draw (1 NaN or infinite)"));
        let d = draw(&[]);
        assert!(d.svg.contains("No values to draw</text>"));
    }

    #[test]
    fn a_long_series_is_thinned_but_keeps_its_extremes() {
        let mut values: Vec<f64> = (0..100_000).map(|i| (i % 100) as f64 / 100.0).collect();
        values[54_321] = 50.0;
        values[77_777] = -50.0;
        let d = draw(&values);
        assert!(d.points <= MAX_DRAWN, "{}", d.points);
        assert_eq!(circles(&d.svg), d.points);
        assert_eq!(d.thinned_from, Some(100_000));
        assert!(d.svg.contains("<title>v54322: 50</title>"));
        assert!(d.svg.contains("<title>v77778: -50</title>"));
        assert!(
            d.svg
                .contains(&format!("{} of 100000 points drawn", d.points))
        );
        assert!(d.svg.len() < 120_000, "{} bytes", d.svg.len());
    }

    #[test]
    fn every_text_is_escaped() {
        let pts = vec![ChartPoint {
            x: 1.0,
            y: 1.0,
            hover: "<script>alert('x')</script>".into(),
        }];
        let d = line_chart(&LineChart {
            title: "a\"><img src=x>",
            x_label: "<b>",
            y_label: "&",
            integer_x: false,
            points: &pts,
        });
        assert!(!d.svg.contains("<script>") && !d.svg.contains("<img") && !d.svg.contains("<b>"));
        assert!(
            d.svg
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
        );
        assert!(d.svg.contains("&amp;"));
    }

    #[test]
    fn integer_axes_tick_on_whole_numbers() {
        let t = ticks(1.0, 3.0, 8, true);
        assert!(t.iter().all(|v| v.fract() == 0.0), "{t:?}");
        assert_eq!(t, [1.0, 2.0, 3.0]);
        let t = ticks(0.81, 0.93, 6, false);
        assert!(
            t.first().unwrap() <= &0.81 && t.last().unwrap() >= &0.93,
            "{t:?}"
        );
    }

    #[test]
    fn numbers_read_like_people_write_them() {
        assert_eq!(format_number(0.30000000000000004, 0.05), "0.30");
        assert_eq!(format_number(2000.0, 500.0), "2000");
        assert_eq!(format_number(-0.0, 1.0), "0");
        assert_eq!(format_number(1.5e9, 5e8), "1.5e9");
        assert_eq!(format_value(0.1 + 0.2), "0.3");
        assert_eq!(format_value(12.0), "12");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(2.5e-7), "2.5e-7");
    }
}
