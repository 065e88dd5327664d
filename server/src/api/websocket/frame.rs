//! RFC 6455 framing, the server's side, as much as a live page needs.
//!
//! Outgoing frames are built once and shared: the hub frames each live
//! message when it is published, so 10,000 clients cost one serialization
//! and one framing, and a connection only copies bytes to its socket.
//! Incoming frames are what browsers send a status page: pongs, pings and
//! a close. Data frames are read past without being kept (the page never
//! sends any), so a connection holds no buffer bigger than a control frame.

use axum::body::Bytes;

/// A ping with no payload: browsers answer it with a pong on their own.
pub const PING: &[u8] = &[0x89, 0x00];

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Close codes (RFC 6455 §7.4.1).
pub mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const POLICY: u16 = 1008;
}

/// One unfragmented, unmasked text frame (§5.2).
pub fn text(payload: &[u8]) -> Bytes {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    push_text(&mut frame, payload);
    frame.into()
}

/// Appends a text frame of `payload`.
pub fn push_text(out: &mut Vec<u8>, payload: &[u8]) {
    header(out, OP_TEXT, payload.len());
    out.extend_from_slice(payload);
}

/// Appends the pong answering a ping with `payload` (at most 125 bytes, as
/// every control frame).
pub fn push_pong(out: &mut Vec<u8>, payload: &[u8]) {
    header(out, OP_PONG, payload.len());
    out.extend_from_slice(payload);
}

/// Appends a close frame with `code` and a short `reason`.
pub fn push_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    // A control frame's payload is at most 125 bytes: the code and 123 of
    // reason, cut at a character boundary.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    header(out, OP_CLOSE, 2 + end);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..end]);
}

fn header(out: &mut Vec<u8>, opcode: u8, len: usize) {
    out.push(0x80 | opcode); // FIN
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// What a client said, as far as the server cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A ping, to be answered with a pong carrying this payload.
    Ping(Vec<u8>),
    Pong,
    /// A close, with its code if it had one.
    Close(Option<u16>),
    /// A whole data frame (or fragment), read past.
    Data,
}

/// Why a client's bytes were refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("frames from a client must be masked")]
    Unmasked,
    #[error("reserved bits set without an extension")]
    ReservedBits,
    #[error("unknown opcode {0:#x}")]
    Opcode(u8),
    #[error("control frames must be whole and at most 125 bytes")]
    Control,
    #[error("frame length out of range")]
    Length,
}

/// Reads client frames from the bytes as they arrive, in any pieces.
#[derive(Default)]
pub struct Reader {
    /// A header or a control frame not yet complete.
    partial: Vec<u8>,
    /// Bytes of a data frame's payload still to read past.
    skipping: u64,
}

impl Reader {
    /// Feeds newly read bytes; calls `each` with every frame they
    /// complete, in order. Stops at the first protocol error.
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        mut each: impl FnMut(Inbound),
    ) -> Result<(), ProtocolError> {
        loop {
            if self.skipping > 0 {
                let n = self.skipping.min(bytes.len() as u64) as usize;
                self.skipping -= n as u64;
                bytes = &bytes[n..];
                if self.skipping == 0 {
                    each(Inbound::Data);
                }
            }
            if bytes.is_empty() {
                return Ok(());
            }
            // Take what completes the next header (and control payload).
            let (frame, used) = if self.partial.is_empty() {
                match parse(bytes)? {
                    Parsed::Frame(frame, used) => (frame, used),
                    Parsed::NeedMore => {
                        self.partial.extend_from_slice(bytes);
                        return Ok(());
                    }
                }
            } else {
                let before = self.partial.len();
                self.partial.extend_from_slice(bytes);
                match parse(&self.partial)? {
                    Parsed::Frame(frame, used) => {
                        self.partial.clear();
                        (frame, used - before)
                    }
                    Parsed::NeedMore => return Ok(()),
                }
            };
            bytes = &bytes[used..];
            match frame {
                Frame::Control(inbound) => each(inbound),
                Frame::Data { len: 0 } => each(Inbound::Data),
                Frame::Data { len } => self.skipping = len,
            }
        }
    }
}

enum Frame {
    Control(Inbound),
    /// A data frame's header; its payload follows.
    Data {
        len: u64,
    },
}

enum Parsed {
    /// A frame, and the bytes its header (and a control frame's payload)
    /// took.
    Frame(Frame, usize),
    NeedMore,
}

fn parse(bytes: &[u8]) -> Result<Parsed, ProtocolError> {
    let [first, second, ..] = *bytes else {
        return Ok(Parsed::NeedMore);
    };
    if first & 0x70 != 0 {
        return Err(ProtocolError::ReservedBits);
    }
    let fin = first & 0x80 != 0;
    let opcode = first & 0x0F;
    if second & 0x80 == 0 {
        return Err(ProtocolError::Unmasked);
    }
    let (len, mut at) = match second & 0x7F {
        126 => match bytes.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(Parsed::NeedMore),
        },
        127 => match bytes.get(2..10) {
            Some(b) => {
                let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                if len >> 63 != 0 {
                    return Err(ProtocolError::Length);
                }
                (len, 10)
            }
            None => return Ok(Parsed::NeedMore),
        },
        n => (u64::from(n), 2),
    };
    let Some(mask) = bytes.get(at..at + 4) else {
        return Ok(Parsed::NeedMore);
    };
    let mask = [mask[0], mask[1], mask[2], mask[3]];
    at += 4;
    match opcode {
        OP_CONTINUATION | OP_TEXT | OP_BINARY => Ok(Parsed::Frame(Frame::Data { len }, at)),
        OP_CLOSE | OP_PING | OP_PONG => {
            if !fin || len > 125 {
                return Err(ProtocolError::Control);
            }
            let len = len as usize;
            let Some(masked) = bytes.get(at..at + len) else {
                return Ok(Parsed::NeedMore);
            };
            let payload: Vec<u8> = masked
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            let inbound = match opcode {
                OP_PING => Inbound::Ping(payload),
                OP_PONG => Inbound::Pong,
                _ => Inbound::Close(
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]])),
                ),
            };
            Ok(Parsed::Frame(Frame::Control(inbound), at + len))
        }
        other => Err(ProtocolError::Opcode(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's frame: masked with a fixed key.
    fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![first];
        match payload.len() {
            n @ 0..=125 => frame.push(0x80 | n as u8),
            n @ 126..=0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        frame
    }

    fn read_all(chunks: &[&[u8]]) -> Result<Vec<Inbound>, ProtocolError> {
        let mut reader = Reader::default();
        let mut seen = Vec::new();
        for chunk in chunks {
            reader.feed(chunk, |f| seen.push(f))?;
        }
        Ok(seen)
    }

    #[test]
    fn reads_control_frames_and_reads_past_data_at_every_length() {
        let mut stream = Vec::new();
        stream.extend(masked(0x89, b"are you there"));
        stream.extend(masked(0x8A, b""));
        for len in [0, 125, 126, 65_535, 65_536] {
            stream.extend(masked(0x81, &vec![b'x'; len]));
        }
        stream.extend(masked(0x02, b"first half")); // fragmented binary
        stream.extend(masked(0x80, b"second half"));
        stream.extend(masked(0x88, &[0x03, 0xE8, b'b', b'y', b'e']));
        let expected = vec![
            Inbound::Ping(b"are you there".to_vec()),
            Inbound::Pong,
            Inbound::Data,
            Inbound::Data,
            Inbound::Data,
            Inbound::Data,
            Inbound::Data,
            Inbound::Data,
            Inbound::Data,
            Inbound::Close(Some(1000)),
        ];
        // All at once, and a byte at a time: the same frames.
        assert_eq!(read_all(&[&stream]).unwrap(), expected);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(read_all(&bytes).unwrap(), expected);
        // In uneven pieces that cut headers, masks and payloads.
        let pieces: Vec<&[u8]> = stream.chunks(7).collect();
        assert_eq!(read_all(&pieces).unwrap(), expected);
    }

    #[test]
    fn a_close_without_a_code_reads_as_none() {
        assert_eq!(
            read_all(&[&masked(0x88, b"")]).unwrap(),
            [Inbound::Close(None)]
        );
    }

    #[test]
    fn refuses_what_a_client_may_not_send() {
        let unmasked = [0x81, 0x02, b'h', b'i'];
        assert_eq!(read_all(&[&unmasked]), Err(ProtocolError::Unmasked));
        assert_eq!(
            read_all(&[&masked(0xC1, b"hi")]),
            Err(ProtocolError::ReservedBits)
        );
        assert_eq!(
            read_all(&[&masked(0x83, b"")]),
            Err(ProtocolError::Opcode(3))
        );
        assert_eq!(
            read_all(&[&masked(0x89, &[0; 126])]),
            Err(ProtocolError::Control),
            "a ping over 125 bytes"
        );
        assert_eq!(
            read_all(&[&masked(0x09, b"")]),
            Err(ProtocolError::Control),
            "a fragmented ping"
        );
        let huge = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(read_all(&[&huge]), Err(ProtocolError::Length));
    }

    #[test]
    fn outgoing_frames_have_the_rfc_headers() {
        assert_eq!(&text(b"hi")[..], &[0x81, 2, b'h', b'i']);
        assert_eq!(&text(&[b'x'; 126])[..4], &[0x81, 126, 0, 126]);
        assert_eq!(
            &text(&[b'x'; 65_536])[..10],
            &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        let mut out = Vec::new();
        push_pong(&mut out, b"abc");
        assert_eq!(out, [0x8A, 3, b'a', b'b', b'c']);
        out.clear();
        push_close(&mut out, close_code::POLICY, "too slow");
        assert_eq!(&out[..4], &[0x88, 10, 0x03, 0xF0]);
        assert_eq!(&out[4..], b"too slow");
        // A long reason is cut to fit, at a character boundary.
        out.clear();
        push_close(&mut out, close_code::NORMAL, &"é".repeat(100));
        assert_eq!(out[1], 2 + 122);
        assert!(std::str::from_utf8(&out[4..]).is_ok());
    }
}
