//! The journey of an action drawn as an inline SVG timeline: one lane per device (a
//! browser or app of the customer's identity), one column per touch in time order, the
//! conversion at the end, a thin line following the touches from device to device,
//! and the credited touch larger, green and ringed, so that colour is never the only
//! cue. The page's journey table says the same in words for screen readers.
//!
//! Drawn by the server as text: no script, no font, no network. Every text that came
//! from outside is escaped here, since the page includes the drawing as it is.

use std::fmt::Write;
use tally_core::chart::escape;

/// One touch to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    /// The lane (device) it happened on, an index into the lanes.
    pub(crate) lane: usize,
    /// When, as shown (local time).
    pub(crate) time: String,
    /// Who: the partner's or media source's name.
    pub(crate) owner: String,
    /// `Click` or `Impression`.
    pub(crate) kind: String,
    /// Its position: `Introducer`, `Influencer`, `Closer`.
    pub(crate) position: String,
    /// Whether it took the credit.
    pub(crate) credited: bool,
    /// Why it did not, in words.
    pub(crate) reason: Option<String>,
}

const LEFT: usize = 150;
const COLUMN: usize = 150;
const TOP: usize = 44;
const LANE: usize = 92;
const BOTTOM: usize = 12;

const INK: &str = "#1f2328";
const MUTED: &str = "#57606a";
const RULE: &str = "#d0d7de";
const LOST: &str = "#6e7781";
const WON: &str = "#1a7f37";

/// The drawing: `lanes` are the devices' labels, `marks` in time order, `conversion`
/// the conversion's time as shown.
pub(crate) fn render(lanes: &[String], marks: &[Mark], conversion: &str) -> String {
    let lane_count = lanes.len().max(1);
    let width = LEFT + COLUMN * (marks.len() + 1) + 16;
    let height = TOP + LANE * lane_count + BOTTOM;
    let mut svg = String::with_capacity(4096);
    let credited = marks.iter().find(|mark| mark.credited);
    let summary = format!(
        "{} touch{} on {} device{}; {}",
        marks.len(),
        if marks.len() == 1 { "" } else { "es" },
        lane_count,
        if lane_count == 1 { "" } else { "s" },
        match credited {
            Some(mark) => format!("credited to {} ({})", mark.owner, mark.position),
            None => "no touch took the credit".to_owned(),
        }
    );
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="journey" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="journey-title"><title id="journey-title">Journey: {}</title>"##,
        escape(&summary)
    );
    draw_lanes(&mut svg, lanes, width);
    draw_path(&mut svg, marks);
    for (column, mark) in marks.iter().enumerate() {
        draw_mark(&mut svg, column, mark);
    }
    draw_conversion(&mut svg, marks.len(), conversion, height);
    svg.push_str("</svg>");
    svg
}

fn lane_y(lane: usize) -> usize {
    TOP + LANE * lane + LANE / 2 - 10
}

fn column_x(column: usize) -> usize {
    LEFT + COLUMN * column + COLUMN / 2
}

fn draw_lanes(svg: &mut String, lanes: &[String], width: usize) {
    for (index, label) in lanes.iter().enumerate() {
        let y = lane_y(index);
        let top = TOP + LANE * index;
        if index % 2 == 1 {
            let _ = write!(svg, r##"<rect x="0" y="{top}" width="{width}" height="{LANE}" fill="#f6f8fa"/>"##);
        }
        let _ =
            write!(svg, r#"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="{RULE}" stroke-width="2"/>"#, width - 8);
        let (first, second) = label.split_once(" · ").unwrap_or((label.as_str(), ""));
        let _ = write!(
            svg,
            r#"<text x="8" y="{}" font-size="14" font-weight="600" fill="{INK}">{}</text><text x="8" y="{}" font-size="12" fill="{MUTED}">{}</text>"#,
            y - 2,
            escape(&truncate(first, 18)),
            y + 14,
            escape(&truncate(second, 20))
        );
    }
}

/// A thin line through the touches in time order, then to the conversion.
fn draw_path(svg: &mut String, marks: &[Mark]) {
    if marks.is_empty() {
        return;
    }
    let mut points: Vec<String> =
        marks.iter().enumerate().map(|(column, mark)| format!("{},{}", column_x(column), lane_y(mark.lane))).collect();
    if let Some(last) = marks.last() {
        points.push(format!("{},{}", column_x(marks.len()), lane_y(last.lane)));
    }
    let _ = write!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{LOST}" stroke-width="1.5" stroke-dasharray="4 3"/>"#,
        points.join(" ")
    );
}

fn draw_mark(svg: &mut String, column: usize, mark: &Mark) {
    let (x, y) = (column_x(column), lane_y(mark.lane));
    let verdict = match (&mark.reason, mark.credited) {
        (_, true) => "credited".to_owned(),
        (Some(reason), false) => format!("not credited: {reason}"),
        (None, false) => "not credited".to_owned(),
    };
    let tooltip = format!("{} · {} · {} · {} · {}", mark.time, mark.owner, mark.kind, mark.position, verdict);
    let _ = write!(
        svg,
        r#"<g class="touch{}"><title>{}</title>"#,
        if mark.credited { " credited" } else { "" },
        escape(&tooltip)
    );
    let colour = if mark.credited { WON } else { LOST };
    let radius = if mark.credited { 12 } else { 9 };
    if mark.credited {
        let _ = write!(svg, r#"<circle cx="{x}" cy="{y}" r="18" fill="none" stroke="{WON}" stroke-width="3"/>"#);
    }
    // A click is a filled dot, an impression a ring.
    let fill = if mark.kind.eq_ignore_ascii_case("impression") { "#ffffff" } else { colour };
    let _ = write!(svg, r#"<circle cx="{x}" cy="{y}" r="{radius}" fill="{fill}" stroke="{colour}" stroke-width="3"/>"#);
    let _ = write!(
        svg,
        r#"<text x="{x}" y="{}" font-size="11" fill="{MUTED}" text-anchor="middle">{}</text>"#,
        TOP - 26,
        escape(&mark.time)
    );
    let _ = write!(
        svg,
        r#"<text x="{x}" y="{}" font-size="13" font-weight="600" fill="{INK}" text-anchor="middle">{}</text>"#,
        y + 34,
        escape(&truncate(&mark.owner, 20))
    );
    let second = if mark.credited {
        format!("{} · credited", mark.position)
    } else {
        mark.reason.clone().map_or_else(|| mark.position.clone(), |reason| truncate(&reason, 24))
    };
    let second_colour = if mark.credited { WON } else { MUTED };
    let _ = write!(
        svg,
        r#"<text x="{x}" y="{}" font-size="11" fill="{second_colour}" text-anchor="middle"{}>{}</text></g>"#,
        y + 50,
        if mark.credited { r#" font-weight="600""# } else { "" },
        escape(&second)
    );
}

fn draw_conversion(svg: &mut String, column: usize, time: &str, height: usize) {
    let x = column_x(column);
    let _ = write!(
        svg,
        r#"<g class="conversion"><title>Conversion · {}</title><line x1="{x}" y1="{TOP}" x2="{x}" y2="{}" stroke="{INK}" stroke-width="2"/><text x="{x}" y="{}" font-size="11" fill="{MUTED}" text-anchor="middle">{}</text><text x="{x}" y="{}" font-size="13" font-weight="600" fill="{INK}" text-anchor="middle">Conversion</text></g>"#,
        escape(time),
        height - BOTTOM,
        TOP - 26,
        escape(time),
        TOP - 8
    );
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(lane: usize, owner: &str, credited: bool) -> Mark {
        Mark {
            lane,
            time: "2026-03-02 07:00".into(),
            owner: owner.into(),
            kind: "Click".into(),
            position: if credited { "Closer" } else { "Introducer" }.into(),
            credited,
            reason: (!credited).then(|| "Other ref prioritized".to_owned()),
        }
    }

    #[test]
    fn each_touch_is_a_mark_on_its_devices_lane_and_the_winner_stands_out() {
        let lanes = vec!["Device 1 · desktop".to_owned(), "Device 2 · mobile".to_owned()];
        let svg = render(&lanes, &[mark(0, "Deal Hunters", false), mark(1, "Trail Blog", true)], "2026-03-02 08:00");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"<g class="touch"#).count(), 2);
        assert_eq!(svg.matches(r#"<g class="touch credited">"#).count(), 1);
        assert!(svg.contains("2 touches on 2 devices; credited to Trail Blog (Closer)"), "{svg}");
        assert!(svg.contains("Other ref prioritized"));
        assert!(svg.contains(">Conversion<"));
        // The credited touch is on the second lane, in the second column.
        assert!(svg.contains(&format!(r#"cx="{}" cy="{}" r="18""#, column_x(1), lane_y(1))), "{svg}");
    }

    #[test]
    fn outside_text_is_escaped() {
        let lanes = vec!["<b>".to_owned()];
        let svg = render(&lanes, &[mark(0, "<script>alert(1)</script>", true)], "\"now\"");
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("&quot;now&quot;"));
    }

    #[test]
    fn a_journey_without_touches_still_draws_the_conversion() {
        let svg = render(&[], &[], "2026-03-02 08:00");
        assert!(svg.contains("0 touches on 1 device; no touch took the credit"), "{svg}");
    }
}
