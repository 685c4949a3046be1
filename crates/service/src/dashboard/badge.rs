//! The recipe badge: a small flat SVG at a stable URL, `/recipes/{name}/badge.svg`.

use maud::{html, Markup};

/// Approximate width of text in the badge's 11px font.
fn text_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
                8
            } else {
                7
            }
        })
        .sum::<usize>()
        + 10
}

/// The badge `label | message` on `color`; the texts are escaped by the template engine.
pub fn svg(label: &str, message: &str, color: &str) -> Markup {
    let (lw, mw) = (text_width(label), text_width(message));
    let w = lw + mw;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(w) height="20" role="img"
            aria-label={ (label) ": " (message) } {
            title { (label) ": " (message) }
            linearGradient #s x2="0" y2="100%" {
                stop offset="0" stop-color="#bbb" stop-opacity=".1" {}
                stop offset="1" stop-opacity=".1" {}
            }
            clipPath #r { rect width=(w) height="20" rx="3" fill="#fff" {} }
            g clip-path="url(#r)" {
                rect width=(lw) height="20" fill="#555" {}
                rect x=(lw) width=(mw) height="20" fill=(color) {}
                rect width=(w) height="20" fill="url(#s)" {}
            }
            g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif"
                font-size="11" {
                text x=(lw / 2) y="14" { (label) }
                text x=(lw + mw / 2) y="14" { (message) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_badge_escapes_its_texts() {
        let svg = super::svg("cc-ci", "<script>&", "#2b8a3e").into_string();
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(
            svg.contains("<title>cc-ci: &lt;script&gt;&amp;</title>"),
            "{svg}"
        );
        assert!(!svg.contains("<script>"), "{svg}");
    }
}
