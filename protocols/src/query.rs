//! Pieces of the AWS query protocol shared by services (SQS, SNS): form decoding, the error
//! document and XML text escaping.
//!
//! A query request's parameters are the URL query pairs plus the
//! `application/x-www-form-urlencoded` body pairs; the server merges both with
//! [`parse_form`] and hands the list to a service decoder, which reads it through
//! [`QueryParams`].

use std::collections::{BTreeSet, HashMap};

/// Decodes an `application/x-www-form-urlencoded` body (or a URL query string) into
/// name/value pairs, in order. Invalid percent-escapes are kept literally and
/// invalid UTF-8 is replaced, as `form_urlencoded` does; it never fails.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A query request's parameters by name, with the list and map layouts services share.
/// The first occurrence of a repeated name wins.
#[derive(Debug)]
pub struct QueryParams<'a> {
    map: HashMap<&'a str, &'a str>,
}

impl<'a> QueryParams<'a> {
    /// Indexes decoded pairs.
    pub fn new(params: &'a [(String, String)]) -> Self {
        let mut map = HashMap::with_capacity(params.len());
        for (k, v) in params {
            map.entry(k.as_str()).or_insert(v.as_str());
        }
        QueryParams { map }
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.map.get(name).copied()
    }

    /// The `Action` parameter, when present and not empty.
    pub fn action(&self) -> Option<&'a str> {
        self.get("Action").filter(|name| !name.is_empty())
    }

    /// A parameter's value, owned.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    /// Whether `name` was sent at all, as `name` itself or as any `name.*` key. botocore
    /// serializes an empty list as a bare `Name=`, so this tells an empty list (present) from
    /// an absent one.
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
            || self
                .map
                .keys()
                .any(|k| k.strip_prefix(name).is_some_and(|rest| rest.starts_with('.')))
    }

    /// Every parameter name.
    pub fn keys(&self) -> impl Iterator<Item = &&'a str> {
        self.map.keys()
    }

    /// The distinct `N` of keys `prefix.N` and `prefix.N.*`, ascending (N starts at 1).
    pub fn indices(&self, prefix: &str) -> Vec<u32> {
        let mut out = BTreeSet::new();
        for key in self.map.keys() {
            let Some(rest) = key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let digits = rest.split('.').next().unwrap_or_default();
            if let Ok(n) = digits.parse::<u32>() {
                if n >= 1 {
                    out.insert(n);
                }
            }
        }
        out.into_iter().collect()
    }

    /// A list of strings: `prefix.1`, `prefix.2`, ... (a bare `prefix`, as some hand-built
    /// clients send for one value, comes first).
    pub fn list(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(v) = self.get(prefix) {
            out.push(v.to_string());
        }
        for n in self.indices(prefix) {
            if let Some(v) = self.get(&format!("{prefix}.{n}")) {
                out.push(v.to_string());
            }
        }
        out
    }
}

/// `Sender` when the client is at fault, `Receiver` for every 5xx: the `<Type>` of a query
/// error, as the models' `senderFault` says.
pub fn fault_type(status: u16) -> &'static str {
    if status < 500 {
        "Sender"
    } else {
        "Receiver"
    }
}

/// A query-protocol `<ErrorResponse>`: botocore's `QueryParser` reads `Error.Code` and
/// `Error.Message` from it and `RequestId` as the response metadata. SQS writes an empty
/// `<Detail/>` after the message, as AWS's SQS does; SNS does not.
pub fn error_document(
    namespace: &str,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
    detail: bool,
) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message>{}</Error><RequestId>{}</RequestId></ErrorResponse>",
        fault_type(status),
        xml_escape(code),
        xml_escape(message),
        if detail { "<Detail/>" } else { "" },
        xml_escape(request_id),
    )
    .into_bytes()
}

/// Escapes text for an XML element or attribute value.
///
/// Beyond the five markup characters, `\r` is written as `&#xD;`: a literal CR would
/// be normalized to `\n` by the client's XML parser, changing a message body and
/// breaking its MD5 check (AWS escapes it the same way). Characters that XML 1.0
/// cannot carry at all are replaced with U+FFFD; validation keeps them out of
/// message data, so this only guards echoed input such as error messages.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A minimal XML writer for query responses: elements and escaped text, no
/// pretty-printing (AWS sends none either).
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// An empty document.
    pub fn new() -> Self {
        XmlWriter::default()
    }

    /// Writes `<?xml version="1.0"?>`.
    pub fn declaration(&mut self) {
        self.out.push_str("<?xml version=\"1.0\"?>");
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Opens `<name xmlns="ns">`.
    pub fn open_ns(&mut self, name: &str, ns: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" xmlns=\"");
        self.out.push_str(&xml_escape(ns));
        self.out.push_str("\">");
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `<name>text</name>` with `text` escaped.
    pub fn text(&mut self, name: &str, text: &str) {
        self.open(name);
        self.out.push_str(&xml_escape(text));
        self.close(name);
    }

    /// Writes `<name>text</name>` when `text` is present.
    pub fn opt_text(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.text(name, t);
        }
    }

    /// The document as bytes.
    pub fn finish(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

/// A query-protocol response document: `<{action}Response xmlns="{namespace}">`, then
/// `<{action}Result>` with what `result` writes (omitted when `result` is `None`, for actions
/// without output), then `<ResponseMetadata><RequestId>`. SQS and SNS share this layout.
pub fn response_document(
    action: &str,
    namespace: &str,
    request_id: &str,
    result: Option<&dyn Fn(&mut XmlWriter)>,
) -> Vec<u8> {
    let response = format!("{action}Response");
    let mut w = XmlWriter::new();
    w.declaration();
    w.open_ns(&response, namespace);
    if let Some(write) = result {
        let wrapper = format!("{action}Result");
        w.open(&wrapper);
        write(&mut w);
        w.close(&wrapper);
    }
    w.open("ResponseMetadata");
    w.text("RequestId", request_id);
    w.close("ResponseMetadata");
    w.close(&response);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_pairs() {
        let pairs = parse_form(b"Action=SendMessage&MessageBody=a+b%26c%3D%F0%9F%98%80&Empty=&Flag");
        assert_eq!(
            pairs,
            vec![
                ("Action".to_string(), "SendMessage".to_string()),
                ("MessageBody".to_string(), "a b&c=😀".to_string()),
                ("Empty".to_string(), String::new()),
                ("Flag".to_string(), String::new()),
            ]
        );
        assert!(parse_form(b"").is_empty());
    }

    #[test]
    fn presence_of_lists() {
        let pairs = parse_form(b"Tags=&TagKeys.member.1=a&Name=x");
        let p = QueryParams::new(&pairs);
        assert!(p.has("Tags"));
        assert!(p.has("TagKeys"));
        assert!(p.has("Name"));
        assert!(!p.has("Tag"));
        assert!(!p.has("Na"));
        assert_eq!(p.list("TagKeys.member"), vec!["a"]);
        assert!(p.list("Tags.member").is_empty());
    }

    #[test]
    fn escaping() {
        assert_eq!(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(xml_escape("x\r\ny\t"), "x&#xD;\ny\t");
        assert_eq!(xml_escape("\u{0}"), "\u{FFFD}");
        assert_eq!(xml_escape("😀 é"), "😀 é");
    }

    #[test]
    fn writer() {
        let mut w = XmlWriter::new();
        w.open_ns("R", "urn:x");
        w.text("A", "1 < 2");
        w.opt_text("B", None);
        w.close("R");
        assert_eq!(w.finish(), b"<R xmlns=\"urn:x\"><A>1 &lt; 2</A></R>");
    }
}
