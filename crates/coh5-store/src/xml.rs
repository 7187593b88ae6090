//! The XML the S3 side of the store emits: text escaping and S3-style error documents
//! (`<Error><Code>NoSuchKey</Code>…`), which S3 clients parse to classify failures.

use std::fmt::Write;

/// Escapes text for an XML element body.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<Error>` document with S3's fields.
pub(crate) fn error_document(
    code: &str,
    message: &str,
    resource: &str,
    request_id: &str,
) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "<Code>{}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>{}</RequestId></Error>",
        escape(code),
        escape(message),
        escape(resource),
        escape(request_id)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        let doc = error_document("NoSuchKey", "gone", "/b/<k>", "1");
        assert!(doc.contains("<Code>NoSuchKey</Code>"));
        assert!(doc.contains("<Resource>/b/&lt;k&gt;</Resource>"));
    }
}
