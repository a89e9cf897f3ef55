//! Just enough XML reading for query-protocol responses: find elements by tag name and
//! unescape their text. SQS responses are flat and attribute-free, so no parser is needed.

/// The raw inner text of every `<tag>…</tag>` element, in document order (nested elements
/// of the same name are not supported; SQS responses have none).
pub fn blocks<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    out
}

/// The unescaped text of every `<tag>` element.
pub fn values(xml: &str, tag: &str) -> Vec<String> {
    blocks(xml, tag).into_iter().map(unescape).collect()
}

/// The unescaped text of the first `<tag>` element.
pub fn value(xml: &str, tag: &str) -> Option<String> {
    blocks(xml, tag).into_iter().next().map(unescape)
}

/// `<Attribute><Name>n</Name><Value>v</Value></Attribute>` pairs (also used for
/// `MessageAttribute` with `tag = "MessageAttribute"`, where Value holds nested elements).
pub fn name_value_pairs(xml: &str, tag: &str) -> Vec<(String, String)> {
    blocks(xml, tag)
        .into_iter()
        .map(|b| {
            (
                value(b, "Name").unwrap_or_default(),
                blocks(b, "Value").first().map(|v| v.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

/// Replaces the five predefined entities and numeric character references.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let Some(semi) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let entity = &after[1..semi];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") || entity.starts_with("#X") => {
                u32::from_str_radix(&entity[2..], 16).ok().and_then(char::from_u32)
            }
            _ if entity.starts_with('#') => entity[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_and_unescapes() {
        let x = "<R><Body>a &lt;b&gt; &amp; &#xD;&#65;</Body><Body>2</Body></R>";
        assert_eq!(values(x, "Body"), vec!["a <b> & \rA".to_string(), "2".to_string()]);
        let a = "<Attribute><Name>N</Name><Value>1</Value></Attribute>";
        assert_eq!(name_value_pairs(a, "Attribute"), vec![("N".into(), "1".into())]);
    }
}
