//! The result card: an SVG built by a pure function from the results, and its PNG rendered
//! in-process by `resvg` with an embedded DejaVu Sans (no browser, no system fonts), so the
//! card looks the same on every host and no glyph renders as a tofu box.
//!
//! Text widths are measured from the embedded font's advances (no shaping or kerning,
//! which DejaVu barely uses), and every free text is cut with `…` to the room its column has.

use crate::text::{clean, duration, short_commit, xml_escape};
use crate::view::{self, RowState};
use ccci_core::ladder::Verdict;
use ccci_core::results::RunResults;
use ccci_core::run_end::RunEnd;
use resvg::{tiny_skia, usvg};
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

/// Card width in SVG units (CSS pixels).
pub const WIDTH: u32 = 760;
/// The PNG is rendered at this scale so it stays sharp on high-density screens; show it at
/// [`WIDTH`] pixels wide.
pub const PNG_SCALE: u32 = 2;
/// The font family the SVG asks for; it is the only family in the renderer's font database.
pub const FONT_FAMILY: &str = "DejaVu Sans";

const FONT_REGULAR: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FONT_BOLD: &[u8] = include_bytes!("../assets/DejaVuSans-Bold.ttf");

const MARGIN: u32 = 28;
const HEADER_HEIGHT: u32 = 96;
const ROW_HEIGHT: u32 = 40;
const FOOTER_HEIGHT: u32 = 44;
const FAILURE_HEIGHT: u32 = 76;

/// Room for the recipe name and the versions line, left of the verdict pill.
const HEADER_TEXT_WIDTH: f32 = 488.0;
/// Room for text inside the failure box.
const BOX_TEXT_WIDTH: f32 = 672.0;

const INK: &str = "#1f2328";
const MUTED: &str = "#59636e";
const RULE: &str = "#d1d9e0";
const GREEN: &str = "#1a7f37";
const RED: &str = "#cf222e";
const AMBER: &str = "#9a6700";
const GREY: &str = "#818b98";
const LINK: &str = "#0969da";

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("card SVG does not parse: {0}")]
    Svg(#[from] usvg::Error),
    #[error("card size {width}x{height} cannot be rendered")]
    Size { width: u32, height: u32 },
    #[error("card PNG encoding failed: {0}")]
    Png(String),
}

/// The card's height for these results: header, one row per rung, the failure box when
/// there is one, footer.
pub fn height(results: &RunResults) -> u32 {
    let rows = view::rows(results).len() as u32;
    let boxes = u32::from(results.failure.is_some()) + u32::from(inherited(results).is_some());
    HEADER_HEIGHT + 12 + rows * ROW_HEIGHT + boxes * (FAILURE_HEIGHT + 12) + 8 + FOOTER_HEIGHT
}

/// The lint's errors already at the base release, when they are all it found (the lint
/// row reads "errors at base"): a box of their own, each rule with its fix.
fn inherited(results: &RunResults) -> Option<&ccci_core::lint::LintReport> {
    let report = results.lint.as_ref()?;
    let row = view::rows(results)
        .into_iter()
        .find(|r| r.rung == ccci_core::ladder::Rung::Lint)?;
    (row.state == RowState::Inherited && !report.inherited().is_empty()).then_some(report)
}

/// The card as an SVG document. Pure: same results, same bytes.
pub fn svg(results: &RunResults) -> String {
    let (w, h) = (WIDTH, height(results));
    let verdict = end_colour(results.end);
    let tint = match results.end {
        RunEnd::Judged(Verdict::Green) => "#dafbe1",
        RunEnd::Judged(Verdict::Red) => "#ffebe9",
        RunEnd::Cancelled | RunEnd::Error => "#f1f3f5",
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT_FAMILY}">"#
    );
    let _ = writeln!(
        s,
        r#"<title>cc-ci {recipe}: {word}, level L{level} (expected L{expected})</title>"#,
        recipe = xml_escape(&results.recipe),
        word = view::end_word(results.end),
        level = results.level,
        expected = results.expected_level,
    );
    let _ = writeln!(
        s,
        r##"<defs><clipPath id="card"><rect width="{w}" height="{h}" rx="12"/></clipPath></defs>"##
    );
    let _ = writeln!(s, r##"<g clip-path="url(#card)">"##);
    let _ = writeln!(s, r##"<rect width="{w}" height="{h}" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<rect width="{w}" height="{HEADER_HEIGHT}" fill="{tint}"/>"##
    );
    let _ = writeln!(s, r##"<rect width="8" height="{h}" fill="{verdict}"/>"##);
    let _ = writeln!(s, "</g>");
    let _ = writeln!(
        s,
        r##"<rect x="0.5" y="0.5" width="{}" height="{}" rx="12" fill="none" stroke="{RULE}"/>"##,
        w - 1,
        h - 1
    );
    header(&mut s, results);
    let mut y = HEADER_HEIGHT + 12;
    for row in view::rows(results) {
        // Errors already at the base: the row names them, the box below says the fix.
        let brief = match (&results.lint, row.state) {
            (Some(report), RowState::Inherited) => Some(crate::lint::inherited_brief(report)),
            _ => None,
        };
        let row = view::Row {
            reason: brief.as_deref().or(row.reason),
            ..row
        };
        rung_row(&mut s, &row, y);
        y += ROW_HEIGHT;
    }
    if results.failure.is_some() {
        y += 12;
        failure_box(&mut s, results, y);
        y += FAILURE_HEIGHT;
    }
    if let Some(report) = inherited(results) {
        y += 12;
        inherited_box(&mut s, report, y);
        y += FAILURE_HEIGHT;
    }
    footer(&mut s, results, y + 8);
    s.push_str("</svg>\n");
    s
}

fn end_colour(end: RunEnd) -> &'static str {
    match end {
        RunEnd::Judged(Verdict::Green) => GREEN,
        RunEnd::Judged(Verdict::Red) => RED,
        // Not verdicts: neutral, never red.
        RunEnd::Cancelled | RunEnd::Error => NEUTRAL,
    }
}

/// The colour of an ending that is not a verdict (cancelled, cc-ci error).
const NEUTRAL: &str = "#868e96";

fn header(s: &mut String, results: &RunResults) {
    let right = WIDTH - MARGIN;
    let x = MARGIN;
    let _ = writeln!(
        s,
        r#"<text x="{x}" y="44" font-size="26" font-weight="bold" fill="{INK}">{}</text>"#,
        xml_escape(&fit(&results.recipe, 26.0, true, HEADER_TEXT_WIDTH))
    );
    let mut sub = Vec::new();
    if let Some(versions) = view::versions(results) {
        sub.push(versions);
    }
    sub.push(
        match results.mode {
            ccci_core::results::RunMode::Cold => "cold run",
            ccci_core::results::RunMode::Quick => "quick run",
        }
        .to_string(),
    );
    if let Some(commit) = &results.head_commit {
        sub.push(short_commit(commit).to_string());
    }
    let _ = writeln!(
        s,
        r#"<text x="{x}" y="74" font-size="15" fill="{MUTED}">{}</text>"#,
        xml_escape(&fit(&sub.join("  ·  "), 15.0, false, HEADER_TEXT_WIDTH))
    );

    // Level badge: the reached level, big; the expected level beside it.
    let badge_w = 72;
    let badge_x = right - badge_w;
    let reached = results.level >= results.expected_level;
    let level_colour = match (reached, results.end) {
        (true, RunEnd::Judged(Verdict::Green)) => GREEN,
        (_, RunEnd::Judged(Verdict::Red)) => RED,
        (false, RunEnd::Judged(Verdict::Green)) => AMBER,
        (_, RunEnd::Cancelled | RunEnd::Error) => NEUTRAL,
    };
    let _ = writeln!(
        s,
        r##"<rect x="{badge_x}" y="14" width="{badge_w}" height="68" rx="10" fill="{level_colour}"/>"##
    );
    let cx = badge_x + badge_w / 2;
    let _ = writeln!(
        s,
        r##"<text x="{cx}" y="32" font-size="11" font-weight="bold" fill="#ffffff" text-anchor="middle" letter-spacing="1">LEVEL</text>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="{cx}" y="69" font-size="32" font-weight="bold" fill="#ffffff" text-anchor="middle">L{}</text>"##,
        results.level
    );

    // Verdict pill and the expected level under it.
    let pill_w = 112;
    let pill_right = badge_x - 14;
    let pill_x = pill_right - pill_w;
    let verdict = end_colour(results.end);
    let _ = writeln!(
        s,
        r##"<rect x="{pill_x}" y="18" width="{pill_w}" height="32" rx="16" fill="{verdict}"/>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="40" font-size="16" font-weight="bold" fill="#ffffff" text-anchor="middle" letter-spacing="1">{}</text>"##,
        pill_x + pill_w / 2,
        view::end_word(results.end)
    );
    let expected_colour = if reached { MUTED } else { level_colour };
    let _ = writeln!(
        s,
        r#"<text x="{}" y="76" font-size="14" fill="{expected_colour}" text-anchor="middle">expected <tspan font-weight="bold">L{}</tspan></text>"#,
        pill_x + pill_w / 2,
        results.expected_level
    );
}

fn rung_row(s: &mut String, row: &view::Row<'_>, y: u32) {
    let mid = y + ROW_HEIGHT / 2;
    let baseline = mid + 5;
    if y > HEADER_HEIGHT + 12 {
        let _ = writeln!(
            s,
            r##"<line x1="{MARGIN}" y1="{y}" x2="{}" y2="{y}" stroke="#eaeef2"/>"##,
            WIDTH - MARGIN
        );
    }
    icon(s, row.state, MARGIN + 12, mid);
    if let Some(step) = &row.step {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{baseline}" font-size="12" font-weight="bold" fill="{GREY}">{step}</text>"#,
            MARGIN + 34
        );
    }
    // An upgrade path, under the upgrade rung: smaller; the status moves right if the
    // title needs the room (a release tag can be long).
    let mut status_x = MARGIN + 212;
    match row.path {
        Some(path) => {
            let title = fit(&path.title(), 12.0, false, 300.0);
            let end = (MARGIN + 62) as f32 + text_width(&title, 12.0, false) + 12.0;
            status_x = status_x.max(end.ceil() as u32);
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{baseline}" font-size="12" fill="{INK}">{}</text>"#,
                MARGIN + 62,
                xml_escape(&title)
            );
        }
        None => {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{baseline}" font-size="15" font-weight="bold" fill="{INK}">{}</text>"#,
                MARGIN + 62,
                xml_escape(row.rung.name())
            );
        }
    }
    let (colour, word) = match row.state {
        RowState::Pass => (GREEN, "passed"),
        RowState::Fail => (RED, "failed"),
        RowState::NotApplicable => (GREY, "n/a · intentional"),
        RowState::Skipped => (AMBER, "skipped"),
        RowState::Inherited => (AMBER, "errors at base"),
        RowState::NotRun => (AMBER, "not run"),
    };
    let _ = writeln!(
        s,
        r#"<text x="{status_x}" y="{baseline}" font-size="14" font-weight="bold" fill="{colour}">{word}</text>"#,
    );
    // A path's cost beside its status when it has no reason to show.
    let cost = row.path.map(|p| format!("{} deploys", p.deploy_count));
    if let Some(reason) = row.reason.or(cost.as_deref()) {
        // The reason follows the status word; the duration column keeps 80 px.
        let reason_x = status_x as f32 + text_width(word, 14.0, true) + 12.0;
        let room = (WIDTH - MARGIN - 80) as f32 - reason_x;
        let _ = writeln!(
            s,
            r#"<text x="{reason_x:.1}" y="{baseline}" font-size="13" fill="{MUTED}">{}</text>"#,
            xml_escape(&fit(reason, 13.0, false, room))
        );
    }
    let time = row.duration_ms.map(duration).unwrap_or_else(|| "–".into());
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{baseline}" font-size="14" fill="{MUTED}" text-anchor="end">{time}</text>"#,
        WIDTH - MARGIN
    );
}

/// A 22 px round icon: check, cross, dash (intentional), hollow dash (unintentional).
fn icon(s: &mut String, state: RowState, cx: u32, cy: u32) {
    let (fill, stroke, glyph) = match state {
        RowState::Pass => (GREEN, "#ffffff", "M-5,0.5 L-1.5,4 L5.5,-3.5"),
        RowState::Fail => (RED, "#ffffff", "M-4,-4 L4,4 M4,-4 L-4,4"),
        RowState::NotApplicable => (GREY, "#ffffff", "M-5,0 L5,0"),
        RowState::Skipped | RowState::NotRun | RowState::Inherited => {
            ("#ffffff", AMBER, "M-5,0 L5,0")
        }
    };
    let ring = if fill == "#ffffff" {
        format!(r#" stroke="{AMBER}" stroke-width="2""#)
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        r#"<g transform="translate({cx},{cy})"><circle r="11" fill="{fill}"{ring}/><path d="{glyph}" fill="none" stroke="{stroke}" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"/></g>"#
    );
}

fn failure_box(s: &mut String, results: &RunResults, y: u32) {
    let Some(failure) = &results.failure else {
        return;
    };
    let w = WIDTH - 2 * MARGIN;
    let _ = writeln!(
        s,
        r##"<rect x="{MARGIN}" y="{y}" width="{w}" height="{FAILURE_HEIGHT}" rx="8" fill="#fff5f5" stroke="#ffcecb"/>"##
    );
    let mut title = String::from("Failure");
    if let Some(rung) = failure.rung {
        let _ = write!(title, " in {rung}");
    }
    if let Some(service) = &failure.service {
        let _ = write!(title, " · service {service}");
    }
    let x = MARGIN + 16;
    let _ = writeln!(
        s,
        r#"<text x="{x}" y="{}" font-size="14" font-weight="bold" fill="{RED}">{}</text>"#,
        y + 24,
        xml_escape(&fit(&title, 14.0, true, BOX_TEXT_WIDTH))
    );
    let _ = writeln!(
        s,
        r#"<text x="{x}" y="{}" font-size="13" fill="{INK}">{}</text>"#,
        y + 45,
        xml_escape(&fit(&failure.message, 13.0, false, BOX_TEXT_WIDTH))
    );
    if let Some(task_error) = &failure.task_error {
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{}" font-size="13" fill="{MUTED}">{}</text>"#,
            y + 65,
            xml_escape(&fit(
                &format!("task error: {task_error}"),
                13.0,
                false,
                BOX_TEXT_WIDTH
            ))
        );
    }
}

/// The lint's errors already at the base release: not this change's failure, but what keeps
/// the recipe below L5 — the first rule, where, and its fix.
fn inherited_box(s: &mut String, report: &ccci_core::lint::LintReport, y: u32) {
    let inherited = report.inherited();
    let Some(first) = inherited.first() else {
        return;
    };
    let w = WIDTH - 2 * MARGIN;
    let _ = writeln!(
        s,
        r##"<rect x="{MARGIN}" y="{y}" width="{w}" height="{FAILURE_HEIGHT}" rx="8" fill="#fff8c5" stroke="#eac54f"/>"##
    );
    let title = match &report.base {
        Some(b) => format!("Lint: already at the base release {b}, not this change's"),
        None => "Lint: already at the base release, not this change's".into(),
    };
    let mut what = first.title();
    if let Some(f) = first.findings.first() {
        what.push_str(&format!(": {}", f.message));
    }
    if inherited.len() > 1 {
        let rest: Vec<&str> = inherited[1..].iter().map(|r| r.id.as_str()).collect();
        what = format!("{what} (also {})", rest.join(", "));
    }
    let x = MARGIN + 16;
    for (dy, size, bold, colour, text) in [
        (24, 14.0, true, AMBER, title),
        (45, 13.0, false, INK, format!("fix: {}", first.fix)),
        (65, 13.0, false, MUTED, what),
    ] {
        let weight = if bold { r#" font-weight="bold""# } else { "" };
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{}" font-size="{size}"{weight} fill="{colour}">{}</text>"#,
            y + dy,
            xml_escape(&fit(&text, size, bold, BOX_TEXT_WIDTH))
        );
    }
}

fn footer(s: &mut String, results: &RunResults, y: u32) {
    let _ = writeln!(
        s,
        r##"<line x1="{MARGIN}" y1="{y}" x2="{}" y2="{y}" stroke="{RULE}"/>"##,
        WIDTH - MARGIN
    );
    let baseline = y + 27;
    let deploys = match results.deploy_count {
        1 => "1 deploy".to_string(),
        n => format!("{n} deploys"),
    };
    let url = results
        .run_url
        .as_deref()
        .map(|url| fit(url.trim_start_matches("https://"), 13.0, false, 340.0))
        .unwrap_or_default();
    let mut left = format!(
        "cc-ci  ·  run {}  ·  {}  ·  {deploys}",
        results.run_id,
        duration(results.duration_ms)
    );
    if let Some(kept) = &results.kept {
        left.push_str(&format!(
            "  ·  app kept until {}",
            crate::text::kept_until(kept)
        ));
    }
    let room = (WIDTH - 2 * MARGIN) as f32 - text_width(&url, 13.0, false) - 24.0;
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="{baseline}" font-size="13" fill="{MUTED}">{}</text>"#,
        xml_escape(&fit(&left, 13.0, false, room))
    );
    if !url.is_empty() {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{baseline}" font-size="13" fill="{LINK}" text-anchor="end">{}</text>"#,
            WIDTH - MARGIN,
            xml_escape(&url)
        );
    }
}

/// The width of `text` in the embedded font, in SVG units.
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    static FACES: OnceLock<[Option<ttf_parser::Face<'static>>; 2]> = OnceLock::new();
    let faces = FACES.get_or_init(|| {
        [
            ttf_parser::Face::parse(FONT_REGULAR, 0).ok(),
            ttf_parser::Face::parse(FONT_BOLD, 0).ok(),
        ]
    });
    let Some(face) = &faces[usize::from(bold)] else {
        // Cannot happen with the embedded fonts; DejaVu Sans averages ~0.6 em.
        return text.chars().count() as f32 * size * 0.6;
    };
    let units = f32::from(face.units_per_em().max(1));
    let advance: u32 = text
        .chars()
        .map(|c| {
            let glyph = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
            u32::from(face.glyph_hor_advance(glyph).unwrap_or(0))
        })
        .sum();
    advance as f32 * size / units
}

/// `text`, cleaned, and cut with `…` so it is at most `max_width` wide.
pub fn fit(text: &str, size: f32, bold: bool, max_width: f32) -> String {
    let text = clean(text, false);
    if text_width(&text, size, bold) <= max_width {
        return text;
    }
    let room = max_width - text_width("…", size, bold);
    let mut out = String::new();
    let mut width = 0.0;
    for c in text.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]), size, bold);
        if width + w > room {
            break;
        }
        width += w;
        out.push(c);
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// The embedded fonts, loaded once.
fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_font_data(FONT_REGULAR.to_vec());
            db.load_font_data(FONT_BOLD.to_vec());
            db.set_sans_serif_family(FONT_FAMILY);
            db.set_serif_family(FONT_FAMILY);
            db.set_monospace_family(FONT_FAMILY);
            Arc::new(db)
        })
        .clone()
}

/// Renders an SVG (a card, or any SVG using [`FONT_FAMILY`]) to PNG bytes at [`PNG_SCALE`].
pub fn png(svg: &str) -> Result<Vec<u8>, CardError> {
    let options = usvg::Options {
        font_family: FONT_FAMILY.to_string(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size();
    let (width, height) = (size.width() * PNG_SCALE, size.height() * PNG_SCALE);
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).ok_or(CardError::Size { width, height })?;
    let scale = PNG_SCALE as f32;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| CardError::Png(e.to_string()))
}
