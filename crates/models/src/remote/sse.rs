//! Server-sent events, decoded from a byte stream cut anywhere (inside a line, a CRLF or a
//! UTF-8 sequence). Lenient as the servers are not: comments, CRLF or LF, a field without a
//! space after its colon, and a last event the server closed without its blank line.

/// One event: its `event:` name (empty for the default) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub data: String,
}

/// Turns bytes into events as they arrive.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
    name: String,
    data: Vec<String>,
}

impl Decoder {
    /// Takes the next bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        // Lines end at LF; a line is only read once its LF is here, so a UTF-8 sequence is
        // never cut (LF is never part of one).
        while let Some(offset) = self.buffer[start..].iter().position(|&b| b == b'\n') {
            let end = start + offset;
            let line = self.buffer[start..end]
                .strip_suffix(b"\r")
                .unwrap_or(&self.buffer[start..end]);
            let line = String::from_utf8_lossy(line).into_owned();
            start = end + 1;
            events.extend(self.line(&line));
        }
        self.buffer.drain(..start);
        events
    }

    /// The event left open when the stream ended.
    pub fn finish(&mut self) -> Option<Event> {
        let rest = std::mem::take(&mut self.buffer);
        let rest = String::from_utf8_lossy(rest.strip_suffix(b"\r").unwrap_or(&rest)).into_owned();
        if !rest.is_empty() {
            if let Some(event) = self.line(&rest) {
                return Some(event);
            }
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => self.data.push(value.to_string()),
            "event" => self.name = value.to_string(),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        let name = std::mem::take(&mut self.name);
        if self.data.is_empty() {
            return None;
        }
        Some(Event {
            name,
            data: std::mem::take(&mut self.data).join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn events_cut_anywhere_come_out_whole() {
        let stream = "data: {\"a\":\"Grüße\"}\r\n\r\n: keep-alive\n\ndata:{\"b\":2}\n\nevent: error\ndata: {\"error\":\"x\"}\n\ndata: [DONE]\n\n";
        let bytes = stream.as_bytes();
        // Every split point, including inside the two-byte ü and between CR and LF.
        for cut in 0..bytes.len() {
            let mut decoder = Decoder::default();
            let mut events = decoder.push(&bytes[..cut]);
            events.extend(decoder.push(&bytes[cut..]));
            events.extend(decoder.finish());
            assert_eq!(
                data(&events),
                [
                    "{\"a\":\"Grüße\"}",
                    "{\"b\":2}",
                    "{\"error\":\"x\"}",
                    "[DONE]"
                ],
                "cut at {cut}"
            );
            assert_eq!(events[2].name, "error");
            assert_eq!(events[0].name, "");
        }
    }

    #[test]
    fn data_lines_join_and_a_last_event_without_its_blank_line_is_kept() {
        let mut decoder = Decoder::default();
        let events = decoder.push(b"data: one\ndata: two\n\ndata: last");
        assert_eq!(data(&events), ["one\ntwo"]);
        assert_eq!(decoder.finish().map(|e| e.data), Some("last".to_string()));
        assert_eq!(decoder.finish(), None);
    }
}
