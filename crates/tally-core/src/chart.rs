//! Charts drawn by the server as inline SVG (SPEC §10): a dashboard that works with no
//! internet, and no JavaScript charting bundle. Two kinds: a line over days, and
//! horizontal bars for a ranking. Each carries a `<title>` and a `<desc>` listing its
//! values, so a screen reader reads the numbers the picture shows; colours come from
//! CSS classes, so the page decides contrast.
//!
//! Values are decimals and so is the geometry (no floating point in the core); a
//! coordinate is written to a hundredth of a unit, which nobody can see.

use std::fmt::Write;

use rust_decimal::Decimal;

/// One labelled value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// The label: a day, a partner's name.
    pub label: String,
    /// The value.
    pub value: Decimal,
}

/// Geometry, in SVG user units.
const WIDTH: i64 = 640;
const LINE_HEIGHT: i64 = 220;
const LEFT: i64 = 56;
const RIGHT: i64 = 12;
const TOP: i64 = 16;
const BOTTOM: i64 = 28;
const BAR: i64 = 22;

/// Escapes text for SVG (XML) content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn units(value: i64) -> Decimal {
    Decimal::from(value)
}

/// A coordinate as written: two decimals.
fn at(value: Decimal) -> String {
    format!("{:.2}", value.round_dp(2))
}

/// A round step (1, 2 or 5 times a power of ten) for about four grid lines up to `max`.
fn step(max: Decimal) -> Decimal {
    if max <= Decimal::ZERO {
        return Decimal::ONE;
    }
    let rough = max / Decimal::from(4);
    let ten = Decimal::TEN;
    let mut magnitude = Decimal::ONE;
    while magnitude * ten <= rough {
        magnitude *= ten;
    }
    while magnitude > rough && magnitude > Decimal::new(1, 20) {
        magnitude /= ten;
    }
    let normalized = rough / magnitude;
    let nice =
        [Decimal::ONE, Decimal::TWO, Decimal::from(5)].into_iter().find(|nice| normalized <= *nice).unwrap_or(ten);
    nice * magnitude
}

fn description(title: &str, points: &[Point]) -> String {
    let values: Vec<String> = points.iter().map(|point| format!("{}: {}", point.label, point.value)).collect();
    format!("<title>{}</title><desc>{}</desc>", escape(title), escape(&values.join("; ")))
}

/// A line chart of values over ordered labels (days), with grid lines and the first,
/// middle and last labels under the axis.
pub fn line(title: &str, points: &[Point]) -> String {
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart chart-line\" viewBox=\"0 0 {WIDTH} {LINE_HEIGHT}\" \
         role=\"img\" aria-label=\"{}\">{}",
        escape(title),
        description(title, points)
    );
    let max = points.iter().map(|point| point.value).fold(Decimal::ZERO, Decimal::max);
    let step = step(max);
    let top_value = ((max / step).ceil().max(Decimal::ONE)) * step;
    let plot_height = units(LINE_HEIGHT - TOP - BOTTOM);
    let plot_width = units(WIDTH - LEFT - RIGHT);
    let y = |value: Decimal| units(TOP) + plot_height - value / top_value * plot_height;
    let mut grid = Decimal::ZERO;
    while grid <= top_value {
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            at(y(grid)),
            at(y(grid)),
            LEFT - 6,
            at(y(grid) + units(4)),
            grid.normalize()
        );
        grid += step;
    }
    let count = points.len();
    let x = |index: usize| {
        if count <= 1 {
            units(LEFT) + plot_width / Decimal::TWO
        } else {
            units(LEFT) + plot_width * Decimal::from(index) / Decimal::from(count - 1)
        }
    };
    let path: Vec<String> =
        points.iter().enumerate().map(|(index, point)| format!("{},{}", at(x(index)), at(y(point.value)))).collect();
    if !path.is_empty() {
        let _ = write!(svg, "<polyline class=\"series\" fill=\"none\" points=\"{}\"/>", path.join(" "));
    }
    for (index, point) in points.iter().enumerate() {
        let _ = write!(
            svg,
            "<circle class=\"dot\" cx=\"{}\" cy=\"{}\" r=\"2.5\"><title>{}: {}</title></circle>",
            at(x(index)),
            at(y(point.value)),
            escape(&point.label),
            point.value
        );
    }
    let mut labelled: Vec<usize> = vec![0, count / 2, count.saturating_sub(1)];
    labelled.dedup();
    for index in labelled.into_iter().filter(|index| *index < count) {
        let anchor = if index == 0 {
            "start"
        } else if index + 1 == count {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            at(x(index)),
            LINE_HEIGHT - 8,
            escape(&points[index].label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one per point in the order given, each labelled with its value.
pub fn bars(title: &str, points: &[Point]) -> String {
    let height = TOP + BAR * points.len().max(1) as i64 + 8;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart chart-bars\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-label=\"{}\">{}",
        escape(title),
        description(title, points)
    );
    let (label_width, value_width) = (160, 90);
    let max = points.iter().map(|point| point.value).fold(Decimal::ZERO, Decimal::max);
    let span = units(WIDTH - label_width - value_width);
    for (index, point) in points.iter().enumerate() {
        let top = TOP + BAR * index as i64;
        let length = if max > Decimal::ZERO { (point.value / max * span).max(Decimal::ZERO) } else { Decimal::ZERO };
        let label: String = point.label.chars().take(24).collect();
        let baseline = units(top) + units(BAR) * Decimal::new(65, 2);
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{label_width}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\
             <text class=\"value\" x=\"{}\" y=\"{}\">{}</text>",
            label_width - 8,
            at(baseline),
            escape(&label),
            top + 3,
            at(length),
            BAR - 6,
            at(units(label_width) + length + units(6)),
            at(baseline),
            point.value
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[(&str, i64)]) -> Vec<Point> {
        values
            .iter()
            .map(|(label, value)| Point { label: (*label).to_owned(), value: Decimal::new(*value, 0) })
            .collect()
    }

    #[test]
    fn a_line_has_a_point_per_value_and_describes_them() {
        let svg = line("Payout by day", &points(&[("2026-11-01", 0), ("2026-11-02", 40), ("2026-11-03", 20)]));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("<desc>2026-11-01: 0; 2026-11-02: 40; 2026-11-03: 20</desc>"), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains(">2026-11-03</text>"), "the last day is labelled");
    }

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let svg = bars("Payout by partner", &points(&[("<b>Trail</b> & co", 100), ("Deals", 50)]));
        assert!(svg.contains("&lt;b&gt;Trail&lt;/b&gt; &amp; co"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("width=\"390.00\"") && svg.contains("width=\"195.00\""), "{svg}");
    }

    #[test]
    fn empty_and_flat_charts_still_draw() {
        assert!(line("Nothing", &[]).contains("</svg>"));
        assert!(bars("Nothing", &[]).contains("</svg>"));
        assert!(line("Zeros", &points(&[("a", 0), ("b", 0)])).contains("<polyline"));
    }

    #[test]
    fn grid_steps_are_round() {
        assert_eq!(step(Decimal::from(37)), Decimal::TEN);
        assert_eq!(step(Decimal::from(1_200)), Decimal::from(500));
        assert_eq!(step(Decimal::new(8, 1)), Decimal::new(2, 1));
    }
}
