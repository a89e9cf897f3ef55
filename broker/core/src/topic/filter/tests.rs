//! Filter policy tests: compilation errors with AWS's messages, and matching over attributes
//! and bodies.

use super::*;

use FilterScope::{MessageAttributes as Attrs, MessageBody as Body};

type Attr<'a> = (&'a str, &'a str, &'a str);

fn matches_attrs(policy: &str, attrs: &[Attr<'_>]) -> bool {
    let parsed = FilterPolicy::parse(policy, Attrs).unwrap_or_else(|e| panic!("{policy}: {e}"));
    let lookup = |name: &str| {
        attrs
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, t, v)| attr_ref(t, v))
    };
    parsed.matches_attributes(&lookup)
}

// Binary attributes carry no string value.
fn attr_ref<'a>(data_type: &'a str, value: &'a str) -> AttributeRef<'a> {
    let string_value = (!data_type.starts_with("Binary")).then_some(value);
    AttributeRef {
        data_type,
        string_value,
    }
}

fn matches_body(policy: &str, body: &str) -> bool {
    let parsed = FilterPolicy::parse(policy, Body).unwrap_or_else(|e| panic!("{policy}: {e}"));
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"));
    parsed.matches_body(&body)
}

const S: &str = "String";
const N: &str = "Number";
const SA: &str = "String.Array";

#[rustfmt::skip]
const ATTRIBUTE_CASES: &[(&str, &[Attr<'static>], bool)] = &[
    // exact strings; OR within a key, case-sensitive
    (r#"{"a":["x","y"]}"#, &[("a", S, "x")], true),
    (r#"{"a":["x","y"]}"#, &[("a", S, "y")], true),
    (r#"{"a":["x","y"]}"#, &[("a", S, "z")], false),
    (r#"{"a":["x","y"]}"#, &[], false),
    (r#"{"a":["x","y"]}"#, &[("b", S, "x")], false),
    (r#"{"a":["Rugby"]}"#, &[("a", S, "rugby")], false),
    (r#"{"a":[""]}"#, &[("a", S, "")], true),
    (r#"{"a":["x"]}"#, &[("a", "String.custom", "x")], true),
    // String.Array: any element
    (r#"{"a":["rugby","tennis"]}"#, &[("a", SA, r#"["rugby","hockey"]"#)], true),
    (r#"{"a":["rugby","tennis"]}"#, &[("a", SA, r#"["baseball"]"#)], false),
    (r#"{"a":["rugby"]}"#, &[("a", SA, "[]")], false),
    (r#"{"a":["rugby"]}"#, &[("a", SA, "not json")], false),
    (r#"{"a":[5]}"#, &[("a", SA, "[5, 6]")], true),
    (r#"{"a":["5"]}"#, &[("a", SA, "[5]")], false),
    (r#"{"a":[true]}"#, &[("a", SA, "[true]")], true),
    (r#"{"a":[false]}"#, &[("a", SA, "[true]")], false),
    (r#"{"a":[null]}"#, &[("a", SA, "[null]")], true),
    (r#"{"a":["x"]}"#, &[("a", SA, r#"[["x"]]"#)], true),
    // numbers: Number attributes compare numerically, never with strings
    (r#"{"a":[5]}"#, &[("a", N, "5")], true),
    (r#"{"a":[300]}"#, &[("a", N, "3e2")], true),
    (r#"{"a":[300]}"#, &[("a", N, "300.0")], true),
    (r#"{"a":[300]}"#, &[("a", "Number.int", "300")], true),
    (r#"{"a":[300]}"#, &[("a", N, "300.1")], false),
    (r#"{"a":[300]}"#, &[("a", S, "300")], false),
    (r#"{"a":["300"]}"#, &[("a", N, "300")], false),
    (r#"{"a":[0.3]}"#, &[("a", N, "0.30000000000000004")], true),
    (r#"{"a":[10000000000]}"#, &[("a", N, "1e10")], true),
    // null and booleans
    (r#"{"a":[null]}"#, &[], false),
    (r#"{"a":[null, {"anything-but":"whatever"}]}"#, &[], false),
    (r#"{"a":[true]}"#, &[("a", S, "true")], false),
    // prefix / suffix / equals-ignore-case
    (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", S, "baseball")], true),
    (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", S, "basketball")], true),
    (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", S, "rugby")], false),
    (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", S, "ba")], false),
    (r#"{"a":[{"prefix":"bas"}]}"#, &[("a", SA, r#"["rugby","basketball"]"#)], true),
    (r#"{"a":[{"prefix":"1"}]}"#, &[("a", N, "123")], false),
    (r#"{"a":[{"prefix":"bas"}]}"#, &[], false),
    (r#"{"a":[{"suffix":".png"}]}"#, &[("a", S, "image.png")], true),
    (r#"{"a":[{"suffix":".png"}]}"#, &[("a", S, "image.jpg")], false),
    (r#"{"a":[{"suffix":".png"}]}"#, &[("a", S, ".PNG")], false),
    (r#"{"a":[{"equals-ignore-case":"RuGbY"}]}"#, &[("a", S, "rugby")], true),
    (r#"{"a":[{"equals-ignore-case":"RuGbY"}]}"#, &[("a", S, "RUGBY")], true),
    (r#"{"a":[{"equals-ignore-case":"RuGbY"}]}"#, &[("a", S, "rugbyx")], false),
    (r#"{"a":[{"equals-ignore-case":"ÉTÉ"}]}"#, &[("a", S, "été")], true),
    // anything-but: strings, numbers, prefix; absent keys never match it
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", S, "baseball")], true),
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", S, "rugby")], false),
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[], false),
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", SA, r#"["rugby","baseball"]"#)], true),
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", SA, r#"["rugby","tennis"]"#)], false),
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, &[("a", N, "5")], true),
    (r#"{"a":[{"anything-but":"rugby"}]}"#, &[("a", S, "rugby")], false),
    (r#"{"a":[{"anything-but":"rugby"}]}"#, &[("a", S, "football")], true),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", N, "101")], true),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", N, "100.1")], true),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", N, "100")], false),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", N, "1e2")], false),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", "Number.Array", "[100, 50]")], true),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", "Number.Array", "[100, 500]")], false),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, &[("a", S, "100")], true),
    (r#"{"a":[{"anything-but":100}]}"#, &[("a", N, "100")], false),
    (r#"{"event":[{"anything-but":{"prefix":"order-"}}]}"#, &[("event", S, "data-entry")], true),
    (r#"{"event":[{"anything-but":{"prefix":"order-"}}]}"#, &[("event", S, "order_number")], true),
    (r#"{"event":[{"anything-but":{"prefix":"order-"}}]}"#, &[("event", S, "order-cancelled")], false),
    (r#"{"event":[{"anything-but":{"prefix":"order-"}}]}"#, &[], false),
    (r#"{"a":[{"anything-but":["x"]},{"exists":false}]}"#, &[], true),
    (r#"{"a":[{"anything-but":["x"]},{"exists":false}]}"#, &[("a", S, "x")], false),
    (r#"{"a":[{"anything-but":["x"]},{"exists":false}]}"#, &[("a", S, "y")], true),
    // numeric
    (r#"{"p":[{"numeric":["=",301.5]}]}"#, &[("p", N, "301.5")], true),
    (r#"{"p":[{"numeric":["=",301.5]}]}"#, &[("p", N, "3.015e2")], true),
    (r#"{"p":[{"numeric":["=",301.5]}]}"#, &[("p", N, "301.4")], false),
    (r#"{"p":[{"numeric":["=",301.5]}]}"#, &[("p", S, "301.5")], false),
    (r#"{"p":[{"numeric":["<",0]}]}"#, &[("p", N, "-1")], true),
    (r#"{"p":[{"numeric":["<",0]}]}"#, &[("p", N, "0")], false),
    (r#"{"p":[{"numeric":["<",0]}]}"#, &[("p", N, "-0.0000001")], false),
    (r#"{"p":[{"numeric":["<=",0]}]}"#, &[("p", N, "0")], true),
    (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "0")], false),
    (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "0.000001")], true),
    (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "75")], true),
    (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "150")], true),
    (r#"{"p":[{"numeric":[">",0,"<=",150]}]}"#, &[("p", N, "150.000001")], false),
    (r#"{"p":[{"numeric":[">=",10,"<",20]}]}"#, &[("p", N, "10")], true),
    (r#"{"p":[{"numeric":[">=",10,"<",20]}]}"#, &[("p", N, "19.999")], true),
    (r#"{"p":[{"numeric":[">=",10,"<",20]}]}"#, &[("p", N, "20")], false),
    (r#"{"p":[{"numeric":[">=",10,"<",20]}]}"#, &[("p", N, "9.99999")], false),
    (r#"{"p":[{"numeric":[">=",-1e9,"<=",1e9]}]}"#, &[("p", N, "-1000000000")], true),
    (r#"{"p":[{"numeric":[">=",-1e9,"<=",1e9]}]}"#, &[("p", N, "1e9")], true),
    (r#"{"p":[{"numeric":[">=",-1e9,"<=",1e9]}]}"#, &[("p", N, "1000000000.5")], false),
    (r#"{"p":[{"numeric":[">",100]}]}"#, &[("p", SA, "[1, 200]")], true),
    (r#"{"p":[{"numeric":[">",100]}]}"#, &[("p", SA, r#"["200"]"#)], false),
    (r#"{"p":[{"numeric":[">",100]}]}"#, &[("p", N, "not-a-number")], false),
    (r#"{"p":[{"numeric":[">",100]}]}"#, &[("p", N, "inf")], false),
    // exists; Binary attributes are ignored altogether
    (r#"{"store":[{"exists":true}]}"#, &[("store", S, "fans")], true),
    (r#"{"store":[{"exists":true}]}"#, &[("store", N, "99"), ("def", N, "99")], true),
    (r#"{"store":[{"exists":true}]}"#, &[("customer_interests", SA, r#"["baseball"]"#)], false),
    (r#"{"store":[{"exists":true}]}"#, &[("store", "Binary", "")], false),
    (r#"{"store":[{"exists":true}]}"#, &[("store", N, "not-a-number")], true),
    (r#"{"store":[{"exists":false}]}"#, &[("def", N, "99")], true),
    (r#"{"store":[{"exists":false}]}"#, &[("store", N, "99")], false),
    (r#"{"store":[{"exists":false}]}"#, &[("store", "Binary.x", "")], true),
    (r#"{"store":["fans"]}"#, &[("store", "Binary", "fans")], false),
    // cidr, IPv4 and IPv6
    (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "10.0.0.0")], true),
    (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "10.0.0.255")], true),
    (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "10.1.1.0")], false),
    (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "not-an-ip")], false),
    (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", S, "::ffff:10.0.0.1")], false),
    (r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", SA, r#"["1.1.1.1","10.0.0.7"]"#)], true),
    (r#"{"ip":[{"cidr":"0.0.0.0/0"}]}"#, &[("ip", S, "255.255.255.255")], true),
    // the engine's range starts at the address as written
    (r#"{"ip":[{"cidr":"10.0.0.5/24"}]}"#, &[("ip", S, "10.0.0.4")], false),
    (r#"{"ip":[{"cidr":"10.0.0.5/24"}]}"#, &[("ip", S, "10.0.0.9")], true),
    (r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, &[("ip", S, "2001:db8::1")], true),
    (r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, &[("ip", S, "2001:DB8:ffff:0:0:0:0:ff")], true),
    (r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, &[("ip", S, "2001:db9::1")], false),
    (r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, &[("ip", S, "10.0.0.1")], false),
    (r#"{"ip":[{"cidr":"::/0"}]}"#, &[("ip", S, "ffff::1")], true),
    // AND across keys
    (r#"{"a":["x"],"b":[{"numeric":[">",100]}]}"#, &[("a", S, "x"), ("b", N, "101")], true),
    (r#"{"a":["x"],"b":[{"numeric":[">",100]}]}"#, &[("a", S, "x"), ("b", N, "100")], false),
    (r#"{"a":["x"],"b":[{"numeric":[">",100]}]}"#, &[("a", S, "x")], false),
    (r#"{"a":["x",{"prefix":"y"},{"numeric":[">",5]}]}"#, &[("a", S, "yes")], true),
    (r#"{"a":["x",{"prefix":"y"},{"numeric":[">",5]}]}"#, &[("a", N, "6")], true),
    (r#"{"a":["x",{"prefix":"y"},{"numeric":[">",5]}]}"#, &[("a", S, "z")], false),
    // $or
    (r#"{"source":["cw"],"$or":[{"metricName":["CPU"]},{"namespace":["EC2"]}]}"#,
        &[("source", S, "cw"), ("metricName", S, "CPU")], true),
    (r#"{"source":["cw"],"$or":[{"metricName":["CPU"]},{"namespace":["EC2"]}]}"#,
        &[("source", S, "cw"), ("namespace", S, "EC2")], true),
    (r#"{"source":["cw"],"$or":[{"metricName":["CPU"]},{"namespace":["EC2"]}]}"#,
        &[("source", S, "cw")], false),
    (r#"{"source":["cw"],"$or":[{"metricName":["CPU"]},{"namespace":["EC2"]}]}"#,
        &[("metricName", S, "CPU")], false),
    (r#"{"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}"#, &[("c", S, "3")], true),
    (r#"{"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}"#, &[("c", S, "4")], false),
    (r#"{"$or":[{"a":["1"],"b":["2"]},{"c":[{"exists":false}]}]}"#, &[("a", S, "1"), ("c", S, "x")], false),
    (r#"{"$or":[{"a":["1"],"b":["2"]},{"c":[{"exists":false}]}]}"#, &[("d", S, "1")], true),
    // an "$or" that is not a valid OR is an attribute name
    (r#"{"$or":[{"numeric":[">",1]},{"prefix":"abc"}]}"#, &[("$or", S, "abcd")], true),
    (r#"{"$or":[{"numeric":[">",1]},{"prefix":"abc"}]}"#, &[("$or", N, "2")], true),
    (r#"{"$or":[{"numeric":[">",1]},{"prefix":"abc"}]}"#, &[("$or", S, "x")], false),
    (r#"{"$or":["a","b"]}"#, &[("$or", S, "a")], true),
    // the empty policy lets everything through
    ("{}", &[], true),
    ("{}", &[("a", S, "x")], true),
];

const S3_POLICY: &str = r#"{"Records":{"s3":{"object":{"key":[{"prefix":"auto-"}]}},
    "eventName":[{"prefix":"ObjectCreated:"}]}}"#;
const OBJECT_POLICY: &str = r#"{"object":{"key":[{"prefix":"auto-"},"hardcodedvalue"],
    "nested_key":[{"exists":false}]},"test":[{"exists":false}]}"#;
const OR_POLICY: &str = r#"{"$or":[{"metricName":["CPUUtilization","ReadLatency"]},
    {"namespace":["AWS/EC2","AWS/ES"]}],"detail":{"scope":["Service"],
    "$or":[{"source":["aws.cloudwatch"]},{"type":["CloudWatch Alarm State Change"]}]}}"#;

#[rustfmt::skip]
const BODY_CASES: &[(&str, &str, bool)] = &[
    (r#"{"a":["x"]}"#, r#"{"a":"x"}"#, true),
    (r#"{"a":["x"]}"#, r#"{"a":"y"}"#, false),
    (r#"{"a":["x"]}"#, r#"{}"#, false),
    (r#"{"a":["x"]}"#, r#"{"a":["y","x"]}"#, true),
    (r#"{"a":["x"]}"#, r#"{"a":{"x":1}}"#, false),
    (r#"{"a":["x"]}"#, r#"{"b":{"a":"x"}}"#, false),
    // nested keys and exists (the AWS payload-filtering example)
    (OBJECT_POLICY, r#"{"object":{"key":"auto-test"}}"#, true),
    (OBJECT_POLICY, r#"{"object":{"key":"hardcodedvalue"}}"#, true),
    (OBJECT_POLICY, r#"{"object":{"key":"test-auto"}}"#, false),
    (OBJECT_POLICY, r#"{"object":{"key":"auto-test"},"test":"just-exists"}"#, false),
    (OBJECT_POLICY, r#"{"object":{"key":"auto-test","nested_key":"just-exists"}}"#, false),
    (OBJECT_POLICY, r#"{"object":{"test":"auto-test"}}"#, false),
    (OBJECT_POLICY, r#"{"test":"auto-test"}"#, false),
    // dotted names address the same property as nesting
    (r#"{"object.nested":["string.value"]}"#, r#"{"object":{"nested":"string.value"}}"#, true),
    (r#"{"object.nested":["string.value"]}"#, r#"{"object.nested":"string.value"}"#, true),
    (r#"{"object.nested":["string.value"]}"#, r#"{"object":{"nested":"test-auto"}}"#, false),
    (r#"{"object.nested.test":["v"]}"#, r#"{"object":{"nested":{"test":"v"}}}"#, true),
    (r#"{"object.nested.test":["v"]}"#, r#"{"object.nested.test":"v"}"#, true),
    (r#"{"object.nested.test":["v"]}"#, r#"{"object.nested":{"test":"v"}}"#, true),
    (r#"{"object.nested.test":["v"]}"#, r#"{"object":{"nested.test":"v"}}"#, true),
    (r#"{"object.nested.test":["v"]}"#, r#"{"object":{"nested":{"test":"w"}}}"#, false),
    (r#"{"object":{"nested":["v"]}}"#, r#"{"object.nested":"v"}"#, true),
    // arrays on the path
    (r#"{"headers":{"route-to":["queue1"]}}"#, r#"{"headers":{"route-to":["queue3"]}}"#, false),
    (r#"{"headers":{"route-to":["queue1"]}}"#, r#"{"headers":{"route-to":["queue1"]}}"#, true),
    (r#"{"headers":{"route-to":["queue1"]}}"#, r#"{"headers":{"route-to":["queue1","queue2"]}}"#, true),
    (r#"{"a":{"b":["x"]}}"#, r#"{"a":[{"b":"y"},{"b":[["x"]]}]}"#, true),
    (S3_POLICY, r#"{"Records":[{"eventName":"ObjectCreated:Put",
        "s3":{"object":{"key":"auto-insurance-2314.xml","size":17}}}]}"#, true),
    (S3_POLICY, r#"{"Records":[{"eventName":"ObjectRemoved:Delete",
        "s3":{"object":{"key":"auto-insurance-2314.xml","size":17}}}]}"#, false),
    (S3_POLICY, r#"{"Records":[{"eventName":"ObjectCreated:Put",
        "s3":{"object":{"key":"home-insurance-2314.xml","size":17}}}]}"#, false),
    (S3_POLICY, r#"{"Records":[{"eventName":"ObjectCreated:Put",
        "s3":{"object":[[{"key":"auto-insurance-2314.xml","size":17}]]}},
        {"eventName":"ObjectRemoved:Delete","s3":{"object":{"key":"home-insurance-2314.xml"}}}]}"#, true),
    // numbers, null, booleans keep their JSON type
    (r#"{"price":[{"numeric":[">",100]}]}"#, r#"{"price":101}"#, true),
    (r#"{"price":[{"numeric":[">",100]}]}"#, r#"{"price":"101"}"#, false),
    (r#"{"price":[{"numeric":[">",100]}]}"#, r#"{"price":[50,150]}"#, true),
    (r#"{"price":[{"numeric":[">",100]}]}"#, r#"{"price":[50,60]}"#, false),
    (r#"{"price":[300]}"#, r#"{"price":300.0}"#, true),
    (r#"{"price":[300]}"#, r#"{"price":3e2}"#, true),
    (r#"{"price":[300]}"#, r#"{"price":"300"}"#, false),
    (r#"{"price_usd":[{"numeric":["=",301.5]}]}"#, r#"{"price_usd":3.015e2}"#, true),
    (r#"{"a":[null]}"#, r#"{"a":null}"#, true),
    (r#"{"a":[null]}"#, r#"{}"#, false),
    (r#"{"a":[null]}"#, r#"{"a":"null"}"#, false),
    (r#"{"a":[true]}"#, r#"{"a":true}"#, true),
    (r#"{"a":[true]}"#, r#"{"a":"true"}"#, false),
    (r#"{"a":[{"prefix":"1"}]}"#, r#"{"a":123}"#, false),
    // exists needs a value at the path itself
    (r#"{"a":[{"exists":true}]}"#, r#"{"a":null}"#, true),
    (r#"{"a":[{"exists":true}]}"#, r#"{"a":[1]}"#, true),
    (r#"{"a":[{"exists":true}]}"#, r#"{"a":[]}"#, false),
    (r#"{"a":[{"exists":true}]}"#, r#"{"a":{"b":1}}"#, false),
    (r#"{"a":[{"exists":false}]}"#, r#"{"b":1}"#, true),
    (r#"{"a":[{"exists":false}]}"#, r#"{"a":{}}"#, true),
    (r#"{"a":[{"exists":false}]}"#, r#"{"a":0}"#, false),
    (r#"{"a":{"b":[{"exists":true}]}}"#, r#"{"a":[{"c":1},{"b":2}]}"#, true),
    (r#"{"a":{"b":[{"exists":true}]}}"#, r#"{"a":[{"c":1}]}"#, false),
    // anything-but and other operators on body values
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, r#"{"a":["rugby","baseball"]}"#, true),
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, r#"{"a":"rugby"}"#, false),
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, r#"{}"#, false),
    (r#"{"a":[{"anything-but":["rugby","tennis"]}]}"#, r#"{"a":5}"#, true),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, r#"{"a":[100,50]}"#, true),
    (r#"{"a":[{"anything-but":[100,500]}]}"#, r#"{"a":100}"#, false),
    (r#"{"a":[{"anything-but":{"prefix":"x"}}]}"#, r#"{"a":"xy"}"#, false),
    (r#"{"a":[{"suffix":"fix"}]}"#, r#"{"a":"postfix"}"#, true),
    (r#"{"a":[{"equals-ignore-case":"abc"}]}"#, r#"{"a":"ABC"}"#, true),
    (r#"{"ip":[{"cidr":"192.168.0.0/16"}]}"#, r#"{"ip":"192.168.3.4"}"#, true),
    (r#"{"ip":[{"cidr":"192.168.0.0/16"}]}"#, r#"{"ip":"192.169.3.4"}"#, false),
    // $or at the top and nested
    (OR_POLICY, r#"{"metricName":"CPUUtilization","detail":{"scope":"Service","source":"aws.cloudwatch"}}"#, true),
    (OR_POLICY, r#"{"metricName":"ReadLatency","detail":{"scope":"Service","source":"aws.cloudwatch"}}"#, true),
    (OR_POLICY, r#"{"namespace":"AWS/EC2","detail":{"scope":"Service","source":"aws.cloudwatch"}}"#, true),
    (OR_POLICY, r#"{"namespace":"AWS/ES","detail":{"scope":"Service","source":"aws.cloudwatch"}}"#, true),
    (OR_POLICY, r#"{"metricName":"CPUUtilization",
        "detail":{"scope":"Service","type":"CloudWatch Alarm State Change"}}"#, true),
    (OR_POLICY, r#"{"metricName":"AWS/EC2","detail":{"scope":"Service","type":"CloudWatch Alarm State Change"}}"#, false),
    (OR_POLICY, r#"{"metricName":"CPUUtilization",
        "detail":{"scope":"aws.cloudwatch","type":"CloudWatch Alarm State Change"}}"#, false),
    (OR_POLICY, r#"{"metricName":"CPUUtilization","detail":{"scope":"Service","type":"CPUUtilization"}}"#, false),
    (OR_POLICY, r#"{"metricName":"CPUUtilization","detail":{"type":"CloudWatch Alarm State Change"}}"#, false),
    (OR_POLICY, r#"{"metricName":"CPUUtilization","detail":{"scope":"Service"}}"#, false),
    (OR_POLICY, r#"{"metricName":"CPUUtilization","scope":"Service"}"#, false),
    // bodies that are not objects have no properties
    (r#"{"a":[{"exists":false}]}"#, r#""a string""#, false),
    (r#"{"a":[{"exists":false}]}"#, r#"[{"a":1}]"#, false),
    ("{}", r#""a string""#, true),
    ("{}", r#"{"a":1}"#, true),
];

#[test]
fn attribute_table() {
    for (i, (policy, attrs, expected)) in ATTRIBUTE_CASES.iter().enumerate() {
        let got = matches_attrs(policy, attrs);
        assert_eq!(got, *expected, "row {i}: {policy} with {attrs:?}");
    }
}

#[test]
fn body_table() {
    for (i, (policy, body, expected)) in BODY_CASES.iter().enumerate() {
        let got = matches_body(policy, body);
        assert_eq!(got, *expected, "row {i}: {policy} with {body}");
    }
}

const TOO_COMPLEX: &str = "Filter policy is too complex";
const TOO_MANY_KEYS: &str = "Filter policy can not have more than 5 keys";
const CIDR_TYPE: &str = "prefix match pattern must be a string";

#[rustfmt::skip]
const INVALID_CASES: &[(&str, FilterScope, &str)] = &[
    ("not json", Attrs, "failed to parse JSON."),
    (r#"{"a":["x"]} trailing"#, Attrs, "failed to parse JSON."),
    ("", Attrs, "failed to parse JSON."),
    ("[1]", Attrs, "Filter is not an object"),
    (r#""x""#, Body, "Filter is not an object"),
    ("null", Attrs, "Filter is not an object"),
    // structure
    (r#"{"key":[["value"]]}"#, Attrs, MATCH_VALUE_TYPE),
    (r#"{"key":[]}"#, Attrs, "Empty arrays are not allowed"),
    (r#"{"key":{}}"#, Body, EMPTY_OBJECT),
    (r#"{"key_a":"value_one"}"#, Body, r#""key_a" must be an object or an array"#),
    (r#"{"key":5}"#, Attrs, r#""key" must be an object or an array"#),
    (r#"{"key":{"suffix":"value"}}"#, Attrs, r#""suffix" must be an object or an array"#),
    (r#"{"key":{"not-an-operator":"value"}}"#, Attrs, r#""not-an-operator" must be an object or an array"#),
    (r#"{"object":{"key":[{"prefix":"auto-"}]}}"#, Attrs, NESTED_ATTRS),
    (r#"{"$or":[{"a":["1"]},{"b":{"c":["2"]}}]}"#, Attrs, NESTED_ATTRS),
    // match expressions
    (r#"{"key":[{}]}"#, Attrs, "Match expression name not found"),
    (r#"{"key":[{"wrong-operator":true}]}"#, Attrs, "Unrecognized match type wrong-operator"),
    (r#"{"key":[{"wildcard":"a*"}]}"#, Attrs, "Unrecognized match type wildcard"),
    (r#"{"key":[{"suffix":"value","prefix":"value2"}]}"#, Attrs, ONLY_ONE_KEY),
    (r#"{"key":[{"exists":true,"prefix":"a"}]}"#, Attrs, ONLY_ONE_KEY),
    (r#"{"key":[{"suffix":100}]}"#, Attrs, "suffix match pattern must be a string"),
    (r#"{"key":[{"suffix":null}]}"#, Attrs, "suffix match pattern must be a string"),
    (r#"{"key":[{"suffix":[]}]}"#, Attrs, "suffix match pattern must be a string"),
    (r#"{"key":[{"suffix":["test","test2"]}]}"#, Attrs, "suffix match pattern must be a string"),
    (r#"{"key":[{"prefix":1}]}"#, Attrs, "prefix match pattern must be a string"),
    (r#"{"key":[{"equals-ignore-case":5}]}"#, Attrs, "equals-ignore-case match pattern must be a string"),
    (r#"{"key":[{"exists":null}]}"#, Attrs, "exists match pattern must be either true or false."),
    (r#"{"key":[{"exists":"no"}]}"#, Attrs, "exists match pattern must be either true or false."),
    // numeric (AWS's recorded refusals)
    (r#"{"key":[{"numeric":5}]}"#, Attrs, "Value of numeric must be an array."),
    (r#"{"key":[{"numeric":[]}]}"#, Attrs, "Invalid member in numeric match: ]"),
    (r#"{"key":[{"numeric":["operator"]}]}"#, Attrs, "Unrecognized numeric range operator: operator"),
    (r#"{"key":[{"numeric":[1,"<="]}]}"#, Attrs, "Invalid member in numeric match: 1"),
    (r#"{"key":[{"numeric":["=","000"]}]}"#, Attrs, "Value of equals must be numeric"),
    (r#"{"key":[{"numeric":[">="]}]}"#, Attrs, "Value of >= must be numeric"),
    (r#"{"key":[{"numeric":["<",100,">",10]}]}"#, Attrs, TOO_MANY_ELEMENTS),
    (r#"{"key":[{"numeric":["=",1,"<",10]}]}"#, Attrs, TOO_MANY_ELEMENTS),
    (r#"{"key":[{"numeric":[">=",1,">",2]}]}"#, Attrs, "Bad numeric range operator: >"),
    (r#"{"key":[{"numeric":[">",3,"<",1]}]}"#, Attrs, "Bottom must be less than top"),
    (r#"{"key":[{"numeric":[">=",1,"<=",1]}]}"#, Attrs, "Bottom must be less than top"),
    (r#"{"key":[{"numeric":[">",20,"<="]}]}"#, Attrs, "Value of <= must be numeric"),
    (r#"{"key":[{"numeric":[">",20,30]}]}"#, Attrs, "Bad value in numeric range: 30"),
    (r#"{"key":[{"numeric":[">",20,"test"]}]}"#, Attrs, "Bad numeric range operator: test"),
    (r#"{"key":[{"numeric":[">","20","<","30"]}]}"#, Attrs, "Value of > must be numeric"),
    (r#"{"key":[{"numeric":[">",20,"<","30"]}]}"#, Attrs, "Value of < must be numeric"),
    (r#"{"key":[{"numeric":[">",20,"<",30,"<",50]}]}"#, Attrs, "Too many terms in numeric range expression"),
    (r#"{"key":[{"numeric":[">",0],"prefix":"a"}]}"#, Attrs, TOO_MANY_ELEMENTS),
    (r#"{"key":[{"numeric":["=",1e10]}]}"#, Attrs, OUT_OF_RANGE),
    (r#"{"key":[{"numeric":[">",-1000000001]}]}"#, Attrs, OUT_OF_RANGE),
    (r#"{"key":[{"numeric":[">",0,"<",1000000000.5]}]}"#, Attrs, OUT_OF_RANGE),
    // anything-but
    (r#"{"key":[{"anything-but":{"wrong-operator":null}}]}"#, Attrs, "Unsupported anything-but pattern: wrong-operator"),
    (r#"{"key":[{"anything-but":{"suffix":"test"}}]}"#, Attrs, "Unsupported anything-but pattern: suffix"),
    (r#"{"key":[{"anything-but":{"exists":false}}]}"#, Attrs, "Unsupported anything-but pattern: exists"),
    (r#"{"key":[{"anything-but":{"equals-ignore-case":"x"}}]}"#, Attrs,
        "Unsupported anything-but pattern: equals-ignore-case"),
    (r#"{"key":[{"anything-but":{"prefix":false}}]}"#, Attrs, "prefix match pattern must be a string"),
    (r#"{"key":[{"anything-but":{"prefix":"a","suffix":"b"}}]}"#, Attrs, ONLY_ONE_KEY),
    (r#"{"key":[{"anything-but":{}}]}"#, Attrs, "Anything-But expression name not found"),
    (r#"{"key":[{"anything-but":true}]}"#, Attrs,
        "Value of anything-but must be an array or single string/number value."),
    (r#"{"key":[{"anything-but":[null]}]}"#, Attrs, "Inside anything but list, start|null|boolean is not supported."),
    (r#"{"key":[{"anything-but":["a",1]}]}"#, Attrs, MIXED_ANYTHING_BUT),
    (r#"{"key":[{"anything-but":[]}]}"#, Attrs, MIXED_ANYTHING_BUT),
    (r#"{"key":[{"anything-but":[1e10]}]}"#, Attrs, OUT_OF_RANGE),
    (r#"{"key":[{"anything-but":-2e9}]}"#, Attrs, OUT_OF_RANGE),
    (r#"{"key":[{"anything-but":"x","exists":true}]}"#, Attrs, TOO_MANY_ELEMENTS),
    // cidr
    (r#"{"ip":[{"cidr":5}]}"#, Attrs, CIDR_TYPE),
    (r#"{"ip":[{"cidr":"10.0.0.0"}]}"#, Attrs, "Malformed CIDR, one '/' required"),
    (r#"{"ip":[{"cidr":"10.0.0.0/"}]}"#, Attrs, "Malformed CIDR, one '/' required"),
    (r#"{"ip":[{"cidr":"1.2.3.4/8/9"}]}"#, Attrs, "Malformed CIDR, one '/' required"),
    (r#"{"ip":[{"cidr":"10.0.0.0/a"}]}"#, Attrs, "Malformed CIDR, mask bits must be an integer"),
    (r#"{"ip":[{"cidr":"10.0.0.0/-1"}]}"#, Attrs, "Malformed CIDR, mask bits must not be negative"),
    (r#"{"ip":[{"cidr":"10.0.0.0/32"}]}"#, Attrs, "IPv4 mask bits must be < 32"),
    (r#"{"ip":[{"cidr":"::/128"}]}"#, Attrs, "IPv6 mask bits must be < 128"),
    (r#"{"ip":[{"cidr":"bad/24"}]}"#, Attrs, "Nonstandard IP address: bad"),
    (r#"{"ip":[{"cidr":"/24"}]}"#, Attrs, "Nonstandard IP address: "),
    (r#"{"ip":[{"cidr":"300.0.0.1/8"}]}"#, Attrs, "Invalid IP address: 300.0.0.1"),
    (r#"{"ip":[{"cidr":"1:::2/8"}]}"#, Attrs, "Invalid IP address: 1:::2"),
    // an "$or" that is no OR is a field name, so its objects are match expressions
    (r#"{"$or":[{"a":["1"]}]}"#, Attrs, "Unrecognized match type a"),
    (r#"{"$or":[{"exists":true},{"a":["1"]}]}"#, Attrs, "Unrecognized match type a"),
    (r#"{"$or":"x"}"#, Attrs, r#""$or" must be an object or an array"#),
    // limits (AWS's recorded refusals)
    (r#"{"k1":["1"],"k2":["2"],"k3":["3"],"k4":["4"],"k5":["5"],"k6":["6"]}"#, Attrs, TOO_MANY_KEYS),
    (r#"{"k1":["1"],"k2":["2"],"k3":["3"],"k4":["4"],"k5":["5"],"k6":{"x":["6"]}}"#, Body, TOO_MANY_KEYS),
    (r#"{"$or":[{"a":[1]},{"b":[1]}],"c":[1],"d":[1],"e":[1],"f":[1]}"#, Attrs, TOO_MANY_KEYS),
    // 3 × (6 + 4 × (4 + 4)) = 152
    (r#"{"source":["a","b","c","d"],"$or":[{"metricName":["1","2","3","4","5","6"]},
        {"metricType":["1","2","3","4"],"$or":[{"metricId":[1,2,3,4]},{"spaceId":[1,2,3,4]}]}]}"#,
        Attrs, TOO_COMPLEX),
    // (3 + 2) × (2·2 × (1·2 + 3·2)) = 160: nested arrays count once per nesting level
    (r#"{"$or":[{"metricName":["a","b","c"]},{"namespace":["d","e"]}],"detail":{"scope":["s","t"],
        "$or":[{"source":["x"]},{"type":["y","z","w"]}]}}"#, Body, TOO_COMPLEX),
    // 4·3 × 3·2 × 3·1 = 216
    (r#"{"key_a":{"key_b":{"key_c":["1","2","3","4"]}},"key_d":{"key_e":["1","2","3"]},
        "key_f":["1","2","3"]}"#, Body, TOO_COMPLEX),
];

#[test]
fn invalid_table() {
    for (i, (policy, scope, expected)) in INVALID_CASES.iter().enumerate() {
        match FilterPolicy::parse(policy, *scope) {
            Ok(_) => panic!("row {i}: {policy} was accepted"),
            Err(e) => assert_eq!(e.to_string(), *expected, "row {i}: {policy}"),
        }
    }
}

#[test]
fn value_count_limits() {
    let values = |n: usize| (0..n).map(|i| format!("\"v{i}\"")).collect::<Vec<_>>().join(",");
    for scope in [Attrs, Body] {
        let at_limit = format!(r#"{{"key":[{}]}}"#, values(150));
        assert!(FilterPolicy::parse(&at_limit, scope).is_ok());
        let over = format!(r#"{{"key":[{}]}}"#, values(151));
        assert_eq!(
            FilterPolicy::parse(&over, scope),
            Err(FilterPolicyError(TOO_COMPLEX.into()))
        );
        let two = format!(r#"{{"key1":[{}],"key2":[{}]}}"#, values(100), values(51));
        assert_eq!(
            FilterPolicy::parse(&two, scope),
            Err(FilterPolicyError(TOO_COMPLEX.into()))
        );
    }
}

#[rustfmt::skip]
const VALID_CASES: &[(&str, FilterScope)] = &[
    ("{}", Attrs),
    (r#"{"a":["x"],"b":["x"],"c":["x"],"d":["x"],"e":["x"]}"#, Attrs),
    // 3 × (6 + 4 × (4 + 7)) = 150, AWS's own boundary example
    (r#"{"source":["a","b","c"],"$or":[{"metricName":["1","2","3","4","5","6"]},
        {"metricType":["1","2","3","4"],"$or":[{"metricId":[1,2,3,4]},{"spaceId":[1,2,3,4,5,6,7]}]}]}"#, Attrs),
    // payload filtering counts only top-level keys
    (r#"{"a":{"b":[1],"c":[1],"d":[1],"e":[1],"f":[1],"g":[1]}}"#, Body),
    (r#"{"state":["SUCCESS"],"severity":[{"exists":true}],"message":[{"exists":true}],
        "finding":{"standard_control":[{"exists":true}],"region":[{"exists":true}],"account":[{"exists":true}]}}"#,
        Body),
    (r#"{"object":{"key":[{"prefix":"auto-"}]}}"#, Body),
    (r#"{"a":[{"numeric":[">=",-1e9,"<=",1e9]}]}"#, Attrs),
    (r#"{"a":[123456789012]}"#, Attrs),
    (r#"{"a":[{"anything-but":{"prefix":""}}]}"#, Attrs),
    (r#"{"a":[{"prefix":""}]}"#, Attrs),
    (r#"{"ip":[{"cidr":"10.0.0.0/+8"}]}"#, Attrs),
    (r#"{"$or":[{"numeric":[">",1]},{"prefix":"abc"}]}"#, Attrs),
    (r#"{"a":[{"exists":true},{"exists":false}]}"#, Attrs),
];

#[test]
fn valid_table() {
    for (i, (policy, scope)) in VALID_CASES.iter().enumerate() {
        let parsed = FilterPolicy::parse(policy, *scope);
        assert!(parsed.is_ok(), "row {i}: {policy}: {parsed:?}");
    }
}

#[test]
fn size_limit() {
    let filler = "x".repeat(MAX_POLICY_BYTES);
    let policy = format!(r#"{{"a":["{filler}"]}}"#);
    let err = FilterPolicy::parse(&policy, Attrs).err();
    assert_eq!(
        err.map(|e| e.0),
        Some("Filter policy can not be larger than 256 KB".to_owned())
    );
    let fits = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES - 10));
    assert!(FilterPolicy::parse(&fits, Attrs).is_ok());
}

#[test]
fn error_texts_and_accessors() {
    let text = |policy: &str| match FilterPolicy::parse(policy, Attrs) {
        Ok(_) => None,
        Err(e) => Some(e.parameter_message()),
    };
    assert_eq!(text(r#"{"a":{"b":["c"]}}"#), Some(NESTED_ATTRS.to_owned()));
    assert_eq!(
        text(r#"{"a":[[1]]}"#),
        Some(format!("FilterPolicy: {MATCH_VALUE_TYPE}"))
    );
    let parsed = FilterPolicy::parse(r#"{"a":{"b":["c"]}}"#, Body);
    assert_eq!(parsed.as_ref().map(FilterPolicy::scope), Ok(Body));
    assert_eq!(parsed.map(|p| p.is_empty()), Ok(false));
    assert_eq!(FilterPolicy::parse("{}", Attrs).map(|p| p.is_empty()), Ok(true));
}

#[test]
fn or_branches_are_not_expanded() {
    // A chain of 40 ORs: 81 combinations, fine.
    let chain = (0..40).fold(String::from(r#"{"k":["a"]}"#), |inner, i| {
        format!(r#"{{"$or":[{inner},{{"$or":[{{"k":["b{i}"]}},{{"k":["c{i}"]}}]}}]}}"#)
    });
    let parsed = FilterPolicy::parse(&chain, Attrs);
    assert!(parsed.is_ok(), "{parsed:?}");
    let lookup = |_: &str| {
        Some(AttributeRef {
            data_type: "String",
            string_value: Some("c39"),
        })
    };
    assert_eq!(parsed.map(|p| p.matches_attributes(&lookup)), Ok(true));
    // 40 nested levels of two-way ORs: 2^40 alternatives if multiplied out, refused at once.
    let nested = (0..40).fold(String::from(r#"{"k":["a"]}"#), |inner, _| {
        format!(r#"{{"$or":[{{"k":["x"]}},{{"j":["y"]}}],"n":{inner}}}"#)
    });
    assert_eq!(
        FilterPolicy::parse(&nested, Body),
        Err(FilterPolicyError(TOO_COMPLEX.into()))
    );
}

/// xorshift64*: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

const WORDS: &[&str] = &[
    "a",
    "b",
    "a.b",
    "$or",
    "prefix",
    "suffix",
    "equals-ignore-case",
    "anything-but",
    "exists",
    "numeric",
    "cidr",
    "wildcard",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "10.0.0.0/8",
    "::/0",
    "2001:db8::/33",
    "1.2.3.4/40",
    "",
    "x",
    "é",
    "/",
    "10.0.0.1",
    "::1",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let choice = if depth > 4 { rng.below(5) } else { rng.below(8) };
    match choice {
        0 => Value::String(rng.pick(WORDS).to_owned()),
        1 => random_number(rng),
        2 => Value::Bool(rng.below(2) == 0),
        3 => Value::Null,
        4 => Value::from(rng.below(1000)),
        5 | 6 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| (rng.pick(WORDS).to_owned(), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

fn random_number(rng: &mut Rng) -> Value {
    let choices = [0.0, 1.0, -1.0, 0.5, 100.0, 1e9, -1e9, 1e10, 3e2, 1e-7, 1e300];
    let x = choices.get(rng.below(choices.len())).copied().unwrap_or(0.0);
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

// Mostly well-formed conditions, so that matching gets exercised as much as validation.
fn random_condition(rng: &mut Rng) -> Value {
    let word = Value::String(rng.pick(WORDS).to_owned());
    let op = |rng: &mut Rng| Value::String(rng.pick(&["=", "<", "<=", ">", ">=", "!"]).to_owned());
    let cidrs = ["10.0.0.0/8", "::/0", "2001:db8::/33", "0.0.0.0/0", "1.2.3.4/31"];
    match rng.below(12) {
        0 => word,
        1 => random_number(rng),
        2 => Value::Bool(rng.below(2) == 0),
        3 => Value::Null,
        4 => serde_json::json!({ ["prefix", "suffix", "equals-ignore-case"][rng.below(3)]: word }),
        5 => serde_json::json!({ "anything-but": word }),
        6 => serde_json::json!({ "anything-but": [random_number(rng), random_number(rng)] }),
        7 => serde_json::json!({ "anything-but": { "prefix": word } }),
        8 => serde_json::json!({ "numeric": [op(rng), random_number(rng)] }),
        9 => serde_json::json!({ "numeric": [">", random_number(rng), "<=", random_number(rng)] }),
        10 => serde_json::json!({ "exists": rng.below(2) == 0 }),
        _ => serde_json::json!({ "cidr": cidrs.get(rng.below(cidrs.len())).copied().unwrap_or("") }),
    }
}

fn random_policy(rng: &mut Rng, depth: usize) -> Value {
    let mut object = Map::new();
    for _ in 0..1 + rng.below(3) {
        let value = match rng.below(if depth > 2 { 1 } else { 4 }) {
            0 | 1 => Value::Array((0..1 + rng.below(3)).map(|_| random_condition(rng)).collect()),
            2 => random_policy(rng, depth + 1),
            _ => Value::Array(vec![random_policy(rng, depth + 1), random_policy(rng, depth + 1)]),
        };
        let key = if matches!(&value, Value::Array(items) if items.first().is_some_and(Value::is_object)
            && items.iter().all(|i| i.as_object().is_some_and(|o| !o.contains_key("numeric"))))
            && rng.below(2) == 0
        {
            "$or"
        } else {
            ["a", "b", "a.b", "c"][rng.below(4)]
        };
        object.insert(key.to_owned(), value);
    }
    Value::Object(object)
}

#[test]
fn random_policies_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let types = [
        "String",
        "Number",
        "Number.int",
        "String.Array",
        "Binary",
        "Number.Array",
        "Other",
    ];
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..30_000 {
        let mut text = if round % 2 == 0 {
            random_policy(&mut rng, 0).to_string()
        } else {
            random_value(&mut rng, 0).to_string()
        };
        if round % 3 == 0 {
            // Wrap a random value in a policy shape so that deeper rules get exercised.
            let key = rng.pick(WORDS).to_owned();
            text = format!(
                r#"{{"{}":[{}],"b":{}}}"#,
                key.replace('"', ""),
                text,
                random_value(&mut rng, 2)
            );
        }
        if round % 5 == 0 && !text.is_empty() {
            // Corrupt a character to reach the JSON errors too.
            let at = rng.below(text.len());
            text = text
                .chars()
                .enumerate()
                .map(|(i, c)| if i == at { '{' } else { c })
                .collect();
        }
        let message = random_value(&mut rng, 1);
        let attr_value = message.to_string();
        let data_type = rng.pick(&types);
        for scope in [Attrs, Body] {
            match FilterPolicy::parse(&text, scope) {
                Ok(policy) => {
                    accepted += 1;
                    let lookup = |_: &str| {
                        Some(AttributeRef {
                            data_type,
                            string_value: Some(&attr_value),
                        })
                    };
                    let _ = policy.matches_attributes(&lookup);
                    let _ = policy.matches_body(&message);
                    let _ = policy.matches_body(&serde_json::json!({"a": message, "b": message}));
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.0.is_empty());
                }
            }
        }
    }
    assert!(
        accepted > 2_000 && refused > 2_000,
        "accepted {accepted}, refused {refused}"
    );
}
