//! JSON-RPC 1.0 as OVSDB speaks it (RFC 7047 section 4): requests, responses
//! and notifications (requests whose `"id"` is `null`), sent as JSON texts
//! concatenated on a byte stream without any separator.
//!
//! [`Decoder`] frames that stream: fed chunks of any size, it finds where
//! each text ends by tracking nesting depth and string/escape state, so a
//! message costs one scan and one parse however it was split. Contract: no
//! input makes it panic; a framing error (a stray byte between messages, a
//! message over the size limit, bad JSON) names its byte offset in the stream
//! and ends decoding, because nothing after it can be trusted.

use crate::error::{snippet, Error, ErrorKind};
use serde_json::{Map, Value};
use std::collections::VecDeque;

/// The default limit on one message: large enough for the initial contents
/// of a big Southbound database.
pub const DEFAULT_MAX_MESSAGE: usize = 1 << 30;

/// One JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A call expecting a response with the same `id` (never `null`).
    Request { id: Value, method: String, params: Vec<Value> },
    /// The answer to a request: `error` is `None` on success.
    Response { id: Value, result: Value, error: Option<Value> },
    /// A call without response (`"id": null` on the wire).
    Notification { method: String, params: Vec<Value> },
}

impl Message {
    /// A successful response.
    pub fn reply(id: Value, result: Value) -> Message {
        Message::Response { id, result, error: None }
    }

    /// The message as a JSON object, every member OVSDB expects present.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        match self {
            Message::Request { id, method, params } => {
                o.insert("id".into(), id.clone());
                o.insert("method".into(), Value::String(method.clone()));
                o.insert("params".into(), Value::Array(params.clone()));
            }
            Message::Response { id, result, error } => {
                o.insert("id".into(), id.clone());
                o.insert("result".into(), result.clone());
                o.insert("error".into(), error.clone().unwrap_or(Value::Null));
            }
            Message::Notification { method, params } => {
                o.insert("id".into(), Value::Null);
                o.insert("method".into(), Value::String(method.clone()));
                o.insert("params".into(), Value::Array(params.clone()));
            }
        }
        Value::Object(o)
    }

    /// Reads a message object. A message with a `"method"` is a request (or a
    /// notification when its id is `null` or absent); one without is a
    /// response. Unknown members are ignored.
    pub fn from_json(v: Value) -> Result<Message, Error> {
        let Value::Object(mut o) = v else {
            return Err(ErrorKind::Protocol(format!("message is not a JSON object: {}", snippet(&v))).into());
        };
        let id = o.remove("id").unwrap_or(Value::Null);
        match o.remove("method") {
            Some(Value::String(method)) => {
                let params = match o.remove("params") {
                    Some(Value::Array(p)) => p,
                    Some(p) => {
                        return Err(ErrorKind::Protocol(format!(
                            "\"params\" of \"{method}\" must be an array, found {}",
                            snippet(&p)
                        ))
                        .into())
                    }
                    None => return Err(ErrorKind::Protocol(format!("\"{method}\" message lacks \"params\"")).into()),
                };
                Ok(match id {
                    Value::Null => Message::Notification { method, params },
                    id => Message::Request { id, method, params },
                })
            }
            Some(m) => Err(ErrorKind::Protocol(format!("\"method\" must be a string, found {}", snippet(&m))).into()),
            None => {
                if !o.contains_key("result") && !o.contains_key("error") {
                    return Err(ErrorKind::Protocol(
                        "message has neither \"method\" nor \"result\"/\"error\"".to_string(),
                    )
                    .into());
                }
                if id.is_null() {
                    return Err(ErrorKind::Protocol("response has a null \"id\"".to_string()).into());
                }
                let result = o.remove("result").unwrap_or(Value::Null);
                let error = o.remove("error").filter(|e| !e.is_null());
                Ok(Message::Response { id, result, error })
            }
        }
    }

    /// A short description for error locations: "update3 notification",
    /// "echo request", "response to 7".
    pub fn describe(&self) -> String {
        match self {
            Message::Request { method, .. } => format!("{method} request"),
            Message::Notification { method, .. } => format!("{method} notification"),
            Message::Response { id, .. } => format!("response to {id}"),
        }
    }
}

/// The bytes of one message on the wire.
pub fn encode(m: &Message) -> Vec<u8> {
    // Serializing a `Value` into a Vec cannot fail.
    serde_json::to_vec(&m.to_json()).unwrap_or_default()
}

/// Frames and parses messages from a byte stream fed in arbitrary chunks.
#[derive(Debug, Clone)]
pub struct Decoder {
    max: usize,
    /// The message being framed (starts at its first byte, `{` or `[`).
    buf: Vec<u8>,
    depth: usize,
    in_string: bool,
    escape: bool,
    /// Stream offset of the next byte fed.
    offset: u64,
    /// Complete texts and the stream offsets they start at, or the framing
    /// error that ended the stream.
    ready: VecDeque<Result<(u64, Vec<u8>), Error>>,
    failed: bool,
}

impl Decoder {
    /// A decoder that refuses messages longer than `max` bytes.
    pub fn new(max: usize) -> Decoder {
        Decoder {
            max: max.max(2),
            buf: Vec::new(),
            depth: 0,
            in_string: false,
            escape: false,
            offset: 0,
            ready: VecDeque::new(),
            failed: false,
        }
    }

    /// Stream offset of the next byte to be fed (bytes fed so far).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// True once a framing error was found: the stream must be dropped.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// True when no partial message is buffered.
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty()
    }

    /// Starts over for a new stream.
    pub fn reset(&mut self) {
        *self = Decoder::new(self.max);
    }

    /// Feeds the next bytes of the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        let base = self.offset;
        self.offset += bytes.len() as u64;
        // `seg` is where the part of `bytes` that belongs to `buf` starts.
        let mut seg = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let at = base + i as u64;
            if self.buf.is_empty() && self.depth == 0 && seg == i {
                // Between messages.
                match b {
                    b' ' | b'\t' | b'\n' | b'\r' => {
                        seg = i + 1;
                        continue;
                    }
                    b'{' | b'[' => {}
                    _ => {
                        let found =
                            if b.is_ascii_graphic() { format!("'{}'", b as char) } else { format!("byte {b:#04x}") };
                        return self.fail(
                            Error::from(ErrorKind::Syntax(format!(
                                "expected '{{' or '[' to start a message, found {found}"
                            )))
                            .at_offset(at),
                        );
                    }
                }
            }
            if self.buf.len() + (i + 1 - seg) > self.max {
                return self.fail(Error::from(ErrorKind::TooLarge { limit: self.max }).at_offset(at));
            }
            if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.buf.extend_from_slice(&bytes[seg..=i]);
                        let text = std::mem::take(&mut self.buf);
                        let start = at + 1 - text.len() as u64;
                        self.ready.push_back(Ok((start, text)));
                        seg = i + 1;
                    }
                }
                _ => {}
            }
        }
        if seg < bytes.len() {
            self.buf.extend_from_slice(&bytes[seg..]);
        }
    }

    fn fail(&mut self, e: Error) {
        self.failed = true;
        self.buf = Vec::new();
        self.ready.push_back(Err(e));
    }

    /// The next complete message, if any. After an error it returns `None`
    /// for good.
    pub fn next_message(&mut self) -> Option<Result<Message, Error>> {
        Some(self.next_text()?.and_then(|(start, text)| self.parse(start, &text)))
    }

    /// The next complete message's text and the stream offset it starts
    /// at, unparsed (for a caller that reads big messages its own way and
    /// [`Decoder::parse`]s the others). After an error it returns `None`
    /// for good.
    pub fn next_text(&mut self) -> Option<Result<(u64, Vec<u8>), Error>> {
        self.ready.pop_front()
    }

    /// Parses a text [`Decoder::next_text`] gave (starting at stream offset
    /// `start`); an error ends decoding.
    pub fn parse(&mut self, start: u64, text: &[u8]) -> Result<Message, Error> {
        let parsed = serde_json::from_slice::<Value>(text).map_err(|e| {
            let at = start + json_error_offset(text, &e);
            Error::from(ErrorKind::Syntax(e.to_string())).at_offset(at)
        });
        let result = parsed.and_then(|v| Message::from_json(v).map_err(|e| e.at_offset(start)));
        if result.is_err() {
            // Framing was fine, but a peer that sends this cannot be trusted.
            self.failed = true;
            self.ready.clear();
            self.buf = Vec::new();
        }
        result
    }
}

/// The byte index in `text` that serde_json's (line, column) points at.
fn json_error_offset(text: &[u8], e: &serde_json::Error) -> u64 {
    let line_start = if e.line() <= 1 {
        0
    } else {
        text.iter().enumerate().filter(|(_, &b)| b == b'\n').nth(e.line() - 2).map_or(0, |(i, _)| i + 1)
    };
    (line_start + e.column().saturating_sub(1)).min(text.len().saturating_sub(1)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_all(chunks: &[&[u8]]) -> Vec<Result<Message, Error>> {
        let mut d = Decoder::new(1000);
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c);
            while let Some(m) = d.next_message() {
                out.push(m);
            }
        }
        out
    }

    #[test]
    fn every_kind_round_trips() {
        let msgs = [
            Message::Request { id: json!(1), method: "echo".into(), params: vec![] },
            Message::Request { id: json!("echo"), method: "echo".into(), params: vec![json!("x")] },
            Message::reply(json!(1), json!({"locked": true})),
            Message::Response { id: json!(2), result: Value::Null, error: Some(json!("unknown method")) },
            Message::Notification { method: "locked".into(), params: vec![json!("ovn_northd")] },
        ];
        for m in &msgs {
            let bytes = encode(m);
            assert_eq!(decode_all(&[&bytes]), vec![Ok(m.clone())]);
        }
        assert_eq!(
            String::from_utf8(encode(&msgs[4])).unwrap(),
            r#"{"id":null,"method":"locked","params":["ovn_northd"]}"#
        );
        assert_eq!(String::from_utf8(encode(&msgs[2])).unwrap(), r#"{"error":null,"id":1,"result":{"locked":true}}"#);
    }

    #[test]
    fn frames_concatenated_texts_split_anywhere() {
        let stream = br#"{"id":1,"result":["a]}\"{"],"error":null} {"id":null,"method":"update2","params":["m",{}]}
[]"#;
        for cut in 0..stream.len() {
            let out = decode_all(&[&stream[..cut], &stream[cut..]]);
            assert_eq!(out.len(), 3, "cut at {cut}");
            assert_eq!(out[0], Ok(Message::reply(json!(1), json!(["a]}\"{"]))));
            assert!(matches!(&out[1], Ok(Message::Notification { method, .. }) if method == "update2"));
            // A top-level array is framed but is not a message.
            let e = out[2].clone().unwrap_err();
            assert!(matches!(e.kind, ErrorKind::Protocol(_)));
            assert_eq!(e.location.offset, Some(stream.len() as u64 - 2));
        }
    }

    #[test]
    fn errors_name_the_byte_offset() {
        let out = decode_all(&[b"{\"id\":1,\"result\":1,\"error\":null}  x"]);
        assert!(out[0].is_ok());
        let e = out[1].clone().unwrap_err();
        assert_eq!(e.location.offset, Some(34));
        assert_eq!(
            e.to_string(),
            "byte offset 34: JSON syntax error: expected '{' or '[' to start a message, found 'x'"
        );

        let e = decode_all(&[b"  {\"id\":1,\n\"result\":tru}"])[0].clone().unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Syntax(_)));
        assert_eq!(e.location.offset, Some(23), "the offending '}}': {e}");

        let e = decode_all(&[b"{\"id\":1,\"method\":\"echo\"}"])[0].clone().unwrap_err();
        assert_eq!(e.to_string(), "byte offset 0: JSON-RPC protocol error: \"echo\" message lacks \"params\"");
    }

    #[test]
    fn size_limit() {
        let mut d = Decoder::new(10);
        d.feed(b"{\"a\":");
        d.feed(b"\"0123456789\"}{}");
        let e = d.next_message().unwrap().unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge { limit: 10 });
        assert_eq!(e.location.offset, Some(10));
        assert!(d.next_message().is_none());
        d.feed(b"{}");
        assert!(d.next_message().is_none(), "nothing after a framing error");
        assert!(d.failed());
    }

    #[test]
    fn messages_before_an_error_come_out_first() {
        let out = decode_all(&[b"{\"id\":1,\"result\":2,\"error\":null}}"]);
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        // The lone '}' is a stray byte between messages.
        assert_eq!(out[1].clone().unwrap_err().location.offset, Some(32));
    }

    #[test]
    fn shapes_that_are_not_messages() {
        for (text, want) in [
            (r#"{"id":1}"#, "neither"),
            (r#"{"id":null,"result":1}"#, "null \"id\""),
            (r#"{"id":1,"method":2,"params":[]}"#, "must be a string"),
            (r#"{"id":1,"method":"m","params":{}}"#, "must be an array"),
        ] {
            let e = decode_all(&[text.as_bytes()])[0].clone().unwrap_err();
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
        // Missing id on a method call is a notification; an error response
        // may omit "result".
        assert_eq!(
            decode_all(&[br#"{"method":"locked","params":["l"]}{"id":3,"error":"x"}"#]),
            vec![
                Ok(Message::Notification { method: "locked".into(), params: vec![json!("l")] }),
                Ok(Message::Response { id: json!(3), result: Value::Null, error: Some(json!("x")) })
            ]
        );
    }
}
