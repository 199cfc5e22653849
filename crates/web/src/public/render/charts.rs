//! System metric charts, drawn on the server: SVG (an accessible title and summary, the
//! current value and the period's average, the metric's suffix and decimal places, gaps
//! drawn as gaps) and the same data as JSON (`/metrics/{id}/{day|week|month}.json`).
//!
//! Day draws every 30 s point of the last 24 hours, Week the 5-minute rollups, Month the
//! 1-hour rollups, each through the metric's transform (`points::slots`). The home page
//! shows each metric's Day chart inline (folded into 5-minute slots, so the page stays
//! small) with links to the three full charts and their data.

use herald_domain::metric::points::{Agg, Period, slots};
use herald_domain::metric::{Metric, Transform};
use serde_json::json;
use std::fmt::Write as _;

use super::Source;
use super::assets::escape;
use crate::public::model::Charted;

/// Width and height of a chart's plot, in SVG units.
const W: f64 = 720.0;
const H: f64 = 160.0;

/// Every slot of `period` for `c` at the source's time: `(slot start, value)`.
pub fn series(src: &Source, c: &Charted, period: Period) -> Vec<(i64, Option<f64>)> {
    let t = c.metric.transform;
    let fold = |rows: &[(i64, Agg)]| -> Vec<(i64, f64)> {
        rows.iter().map(|(b, a)| (*b, a.value(t))).collect()
    };
    match period {
        Period::Day => slots(period, src.now, &c.data.day),
        Period::Week => slots(period, src.now, &fold(&c.data.week)),
        Period::Month => slots(period, src.now, &fold(&c.data.month)),
    }
}

/// `value` with the metric's decimal places and suffix.
pub fn format_value(m: &Metric, value: f64) -> String {
    let places = usize::try_from(m.decimal_places).unwrap_or(0);
    format!("{value:.places$}{}", m.suffix)
}

/// The newest value and the average of the values in `s`.
fn current_and_average(s: &[(i64, Option<f64>)]) -> (Option<f64>, Option<f64>) {
    let current = s.iter().rev().find_map(|(_, v)| *v);
    let (sum, n) = s
        .iter()
        .filter_map(|(_, v)| *v)
        .fold((0.0, 0usize), |(a, n), v| (a + v, n + 1));
    (current, (n > 0).then(|| sum / n as f64))
}

/// `/metrics/{id}/{period}.json`.
pub fn json(src: &Source, c: &Charted, period: Period) -> Vec<u8> {
    let m = &c.metric;
    let points: Vec<serde_json::Value> = series(src, c, period)
        .into_iter()
        .map(|(t, v)| json!({"timestamp": t, "value": v}))
        .collect();
    let doc = json!({
        "metric": {
            "id": m.id,
            "name": m.name,
            "suffix": m.suffix,
            "decimal_places": m.decimal_places,
            "tooltip_description": m.tooltip_description,
            "transform": m.transform.as_str(),
            "y_axis_min": m.y_axis_min,
            "y_axis_max": m.y_axis_max,
            "y_axis_hidden": m.y_axis_hidden,
        },
        "period": period.as_str(),
        "points": points,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

fn period_words(p: Period) -> &'static str {
    match p {
        Period::Day => "last 24 hours",
        Period::Week => "last 7 days",
        Period::Month => "last 30 days",
    }
}

/// Folds a day's 30 s slots into 5-minute slots (the inline chart) by the metric's
/// transform; a slot with no point stays a gap.
fn fold_day(t: Transform, s: &[(i64, Option<f64>)]) -> Vec<(i64, Option<f64>)> {
    s.chunks(10)
        .map(|chunk| {
            let vals: Vec<f64> = chunk.iter().filter_map(|(_, v)| *v).collect();
            let v = (!vals.is_empty()).then(|| {
                let total: f64 = vals.iter().sum();
                Agg {
                    n: vals.len() as i64,
                    total,
                    low: vals.iter().copied().fold(f64::INFINITY, f64::min),
                    high: vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                }
                .value(t)
            });
            (chunk[0].0, v)
        })
        .collect()
}

/// The chart of `s` as an SVG element; `id` makes its title and summary's ids unique.
fn svg(m: &Metric, period: Period, s: &[(i64, Option<f64>)], id: &str, standalone: bool) -> String {
    let (current, average) = current_and_average(s);
    let gaps = s
        .windows(2)
        .filter(|w| w[0].1.is_some() && w[1].1.is_none())
        .count();
    let values = s.iter().filter_map(|(_, v)| *v);
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let lo = m
        .y_axis_min
        .unwrap_or(if lo.is_finite() { lo.min(0.0) } else { 0.0 });
    let mut hi = m
        .y_axis_max
        .unwrap_or(if hi.is_finite() { hi } else { 1.0 });
    if hi <= lo {
        hi = lo + 1.0;
    }
    let name = escape(&m.name);
    let summary = match (current, average) {
        (Some(c), Some(a)) => format!(
            "Current value {}; average over the {} {}.{}",
            format_value(m, c),
            period_words(period),
            format_value(m, a),
            if gaps > 0 {
                format!(" {gaps} gaps without data.")
            } else {
                String::new()
            }
        ),
        _ => format!("No data in the {}.", period_words(period)),
    };
    let mut out = String::with_capacity(s.len() * 12 + 512);
    let ns = if standalone {
        " xmlns=\"http://www.w3.org/2000/svg\""
    } else {
        ""
    };
    let _ = write!(
        out,
        "<svg{ns} class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" preserveAspectRatio=\"none\">\
         <title id=\"{id}-t\">{name}, {}</title><desc id=\"{id}-d\">{}</desc>",
        period_words(period),
        escape(&summary)
    );
    let step = if s.len() > 1 {
        W / (s.len() - 1) as f64
    } else {
        W
    };
    let points: Vec<Option<(f64, f64)>> = s
        .iter()
        .enumerate()
        .map(|(k, (_, v))| {
            v.map(|v| {
                let y = H - ((v.clamp(lo, hi) - lo) / (hi - lo)) * H;
                (k as f64 * step, y)
            })
        })
        .collect();
    let d = path_data(&points);
    if !d.is_empty() {
        let _ = write!(
            out,
            "<path d=\"{d}\" fill=\"none\" stroke=\"#3498db\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\" vector-effect=\"non-scaling-stroke\"/>"
        );
    }
    out.push_str("</svg>");
    out
}

/// The `d` of a line through `points`, `None` leaving a gap. Each run of points starts with
/// an absolute move; the rest are relative line-tos after one `l` (SVG repeats the command),
/// in tenths of a unit: the steps repeat, so the path compresses to a fraction of absolute
/// coordinates.
fn path_data(points: &[Option<(f64, f64)>]) -> String {
    let mut d = String::with_capacity(points.len() * 8);
    let mut last: Option<(i64, i64)> = None;
    let mut first_step = false;
    for p in points {
        let Some((x, y)) = p else {
            last = None;
            continue;
        };
        let at = ((x * 10.0).round() as i64, (y * 10.0).round() as i64);
        match last {
            None => {
                d.push('M');
                tenths(&mut d, at.0, false);
                tenths(&mut d, at.1, true);
                first_step = true;
            }
            Some(p) => {
                if first_step {
                    d.push('l');
                }
                tenths(&mut d, at.0 - p.0, !first_step);
                tenths(&mut d, at.1 - p.1, true);
                first_step = false;
            }
        }
        last = Some(at);
    }
    d
}

/// Appends `v` tenths as an SVG path number (`12`, `-3.5`, `0.2`), after a space when
/// `separate` and the number does not start with its own minus sign.
fn tenths(d: &mut String, v: i64, separate: bool) {
    let (sign, a) = if v < 0 { ("-", -v) } else { ("", v) };
    if separate && v >= 0 {
        d.push(' ');
    }
    let _ = if a % 10 == 0 {
        write!(d, "{sign}{}", a / 10)
    } else {
        write!(d, "{sign}{}.{}", a / 10, a % 10)
    };
}

/// `/metrics/{id}/{period}.svg`: the full chart, a document of its own.
pub fn svg_document(src: &Source, c: &Charted, period: Period) -> Vec<u8> {
    let s = series(src, c, period);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        svg(
            &c.metric,
            period,
            &s,
            &format!("m-{}-{}", c.metric.id, period.as_str()),
            true
        )
    )
    .into_bytes()
}

/// One metric's figure on the home page: name, current value, day average, the inline Day
/// chart, and links to the three charts and their data.
pub fn figure(src: &Source, c: &Charted) -> String {
    let m = &c.metric;
    let day = series(src, c, Period::Day);
    let (current, average) = current_and_average(&day);
    let shown = |v: Option<f64>| v.map_or_else(|| "no data".to_owned(), |v| format_value(m, v));
    let base = format!("metrics/{}", m.id);
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        "\n<figure class=\"metric\"><figcaption><span class=\"metric-name\">{}</span> \
         <span class=\"metric-now\">{}</span> <span class=\"quiet\">24-hour average {}</span>{}</figcaption>\n{}\n\
         <p class=\"metric-views\">Day · <a href=\"{base}/week.svg\">Week</a> · <a href=\"{base}/month.svg\">Month</a> · \
         data: <a href=\"{base}/day.json\">day</a>, <a href=\"{base}/week.json\">week</a>, <a href=\"{base}/month.json\">month</a></p></figure>",
        escape(&m.name),
        escape(&shown(current)),
        escape(&shown(average)),
        if m.tooltip_description.is_empty() {
            String::new()
        } else {
            format!(
                " <span class=\"quiet\">{}</span>",
                escape(&m.tooltip_description)
            )
        },
        svg(
            m,
            Period::Day,
            &fold_day(m.transform, &day),
            &format!("m-{}", m.id),
            false
        ),
    );
    out
}

/// The admin UI's preview of a metric: its last day (folded into 5-minute slots, as the
/// home page draws it) at `now`, as an SVG document, with the sentence that summarises it
/// (for the image's text alternative).
pub fn day_preview(
    m: &Metric,
    data: &herald_store::ChartData,
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<u8>, String) {
    let day = fold_day(m.transform, &slots(Period::Day, now, &data.day));
    let (current, average) = current_and_average(&day);
    let summary = match (current, average) {
        (Some(c), Some(a)) => format!(
            "{}: current value {}, 24-hour average {}",
            m.name,
            format_value(m, c),
            format_value(m, a)
        ),
        _ => format!("{}: no data in the last 24 hours", m.name),
    };
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        svg(m, Period::Day, &day, &format!("p-{}", m.id), true)
    );
    (doc.into_bytes(), summary)
}

#[cfg(test)]
mod tests {
    use super::path_data;

    /// Reads a path of `M x y` and `l dx dy ...` back into runs of absolute points (tenths).
    fn runs(d: &str) -> Vec<Vec<(i64, i64)>> {
        let mut out: Vec<Vec<(i64, i64)>> = Vec::new();
        let mut nums = Vec::new();
        let flush = |nums: &mut Vec<i64>, out: &mut Vec<Vec<(i64, i64)>>, absolute: bool| {
            for pair in nums.chunks(2) {
                let run = out.last_mut().unwrap();
                let (x, y) = (pair[0], pair[1]);
                match (absolute && run.is_empty(), run.last()) {
                    (false, Some(&(px, py))) => run.push((px + x, py + y)),
                    _ => run.push((x, y)),
                }
            }
            nums.clear();
        };
        let mut absolute = true;
        let mut token = String::new();
        for c in d.chars().chain(std::iter::once(' ')) {
            let ends = matches!(c, 'M' | 'l' | ' ') || (c == '-' && !token.is_empty());
            if ends && !token.is_empty() {
                let v: f64 = token.parse().unwrap();
                nums.push((v * 10.0).round() as i64);
                token.clear();
            }
            match c {
                'M' => {
                    flush(&mut nums, &mut out, absolute);
                    out.push(Vec::new());
                    absolute = true;
                }
                'l' => {
                    flush(&mut nums, &mut out, absolute);
                    absolute = false;
                }
                ' ' => {}
                c => token.push(c),
            }
        }
        flush(&mut nums, &mut out, absolute);
        out
    }

    #[test]
    fn the_compact_path_draws_the_points_with_their_gaps() {
        let points = [
            Some((0.0, 42.94)),
            Some((0.25, 45.61)),
            Some((0.5, 45.61)),
            Some((0.75, 0.0)),
            None,
            Some((1.25, 160.0)),
            Some((1.5, 80.05)),
            None,
            Some((2.0, 3.0)),
        ];
        let d = path_data(&points);
        assert_eq!(
            runs(&d),
            vec![
                vec![(0, 429), (3, 456), (5, 456), (8, 0)],
                vec![(13, 1600), (15, 801)],
                vec![(20, 30)],
            ],
            "{d}"
        );
        assert!(
            d.starts_with("M0 42.9l.3") || d.starts_with("M0 42.9l0.3"),
            "{d}"
        );
    }
}
