//! JUnit XML: one test suite per dataset, one test case per check, so CI systems show each check.

use std::fmt::Write as _;

use super::{RunResult, Status};

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(run: &RunResult) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let s = &run.summary;
    let _ = writeln!(
        out,
        "<testsuites name=\"lakegate\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        s.checks, s.failed, s.errored
    );
    for d in &run.datasets {
        let failures = d.checks.iter().filter(|c| c.status == Status::Fail).count();
        let errors = d.checks.iter().filter(|c| c.status == Status::Error).count() + usize::from(d.error.is_some());
        let time = d.duration_ms as f64 / 1000.0;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">",
            esc(&d.name),
            d.checks.len()
        );
        if let Some(e) = &d.error {
            let _ = writeln!(out, "    <testcase classname=\"{}\" name=\"read\">", esc(&d.name));
            let _ = writeln!(out, "      <error message=\"{}\"/>", esc(e));
            out.push_str("    </testcase>\n");
        }
        for c in &d.checks {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                esc(&d.name),
                esc(&c.id)
            );
            match c.status {
                Status::Pass => out.push_str("/>\n"),
                Status::Warn => {
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>WARN: {}</system-out>\n    </testcase>",
                        esc(&c.message)
                    );
                }
                Status::Fail => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}:{}</failure>\n    </testcase>",
                        esc(&c.message),
                        esc(&c.kind),
                        esc(&c.source.file),
                        c.source.line
                    );
                }
                Status::Error => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{}\" type=\"{}\"/>\n    </testcase>",
                        esc(&c.message),
                        esc(&c.kind)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(super::esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
