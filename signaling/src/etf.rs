//! Erlang's External Term Format, for gateway connections that ask for
//! `encoding=etf` (Discord's own, and the default of Erlang and Elixir
//! libraries such as Nostrum).
//!
//! Hearth's payloads are JSON trees; this writes one as a term and reads a
//! client's term back into one. The mapping is Discord's: map keys are
//! atoms, strings are binaries, `null` is the atom `nil`, booleans are the
//! atoms `true` and `false`. Snowflakes stay strings, as in JSON (Discord
//! also accepts integers from clients, and so does Hearth: an integer id
//! reads as a JSON number, which the payload types accept where an id may
//! be a number). Reading is bounded: every length is checked against the
//! bytes left before anything is allocated, and nesting is limited.

use serde_json::{Map, Number, Value};

/// The format's version byte, before every top-level term.
pub const VERSION: u8 = 131;

const NEW_FLOAT: u8 = 70;
const SMALL_INTEGER: u8 = 97;
const INTEGER: u8 = 98;
const ATOM: u8 = 100;
const SMALL_TUPLE: u8 = 104;
const LARGE_TUPLE: u8 = 105;
const NIL: u8 = 106;
const STRING: u8 = 107;
const LIST: u8 = 108;
const BINARY: u8 = 109;
const SMALL_BIG: u8 = 110;
const SMALL_ATOM: u8 = 115;
const MAP: u8 = 116;
const ATOM_UTF8: u8 = 118;
const SMALL_ATOM_UTF8: u8 = 119;

/// Deeper than any payload a client sends (Identify's properties and
/// presence nest a few levels).
const MAX_DEPTH: usize = 32;

/// Writes `value` as a term (without the version byte).
pub fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => atom("nil", out),
        Value::Bool(b) => atom(if *b { "true" } else { "false" }, out),
        Value::Number(n) => number(n, out),
        Value::String(s) => binary(s.as_bytes(), out),
        Value::Array(items) => {
            if !items.is_empty() {
                out.push(LIST);
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
                for item in items {
                    write(item, out);
                }
            }
            out.push(NIL);
        }
        Value::Object(map) => {
            out.push(MAP);
            out.extend_from_slice(&(map.len() as u32).to_be_bytes());
            for (key, item) in map {
                atom(key, out);
                write(item, out);
            }
        }
    }
}

/// Writes an atom (UTF-8).
pub fn atom(name: &str, out: &mut Vec<u8>) {
    match u8::try_from(name.len()) {
        Ok(len) => {
            out.push(SMALL_ATOM_UTF8);
            out.push(len);
        }
        Err(_) => {
            out.push(ATOM_UTF8);
            out.extend_from_slice(&(name.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&name.as_bytes()[..name.len().min(usize::from(u16::MAX))]);
}

/// Writes a binary (how strings travel).
pub fn binary(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(BINARY);
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Writes an unsigned integer (sequence numbers, opcodes).
pub fn unsigned(n: u64, out: &mut Vec<u8>) {
    match n {
        0..=255 => {
            out.push(SMALL_INTEGER);
            out.push(n as u8);
        }
        256..=0x7fff_ffff => {
            out.push(INTEGER);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => big(false, n, out),
    }
}

fn big(negative: bool, magnitude: u64, out: &mut Vec<u8>) {
    let bytes = magnitude.to_le_bytes();
    let len = 8 - magnitude.leading_zeros() as usize / 8;
    out.push(SMALL_BIG);
    out.push(len as u8);
    out.push(u8::from(negative));
    out.extend_from_slice(&bytes[..len]);
}

fn number(n: &Number, out: &mut Vec<u8>) {
    if let Some(u) = n.as_u64() {
        unsigned(u, out);
    } else if let Some(i) = n.as_i64() {
        if i >= i64::from(i32::MIN) {
            out.push(INTEGER);
            out.extend_from_slice(&(i as i32).to_be_bytes());
        } else {
            big(true, i.unsigned_abs(), out);
        }
    } else {
        out.push(NEW_FLOAT);
        out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_be_bytes());
    }
}

/// Why a client's term could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtfError(pub &'static str);

impl std::fmt::Display for EtfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid ETF: {}", self.0)
    }
}

impl std::error::Error for EtfError {}

/// Reads a whole frame: the version byte, then one term, then nothing.
pub fn read(bytes: &[u8]) -> Result<Value, EtfError> {
    let mut r = Reader { bytes, at: 0 };
    if r.byte()? != VERSION {
        return Err(EtfError("not version 131"));
    }
    let value = r.term(0)?;
    if r.at != bytes.len() {
        return Err(EtfError("bytes after the term"));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EtfError> {
        let end = self.at.checked_add(n).ok_or(EtfError("length overflow"))?;
        let slice = self.bytes.get(self.at..end).ok_or(EtfError("truncated"))?;
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, EtfError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, EtfError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self) -> Result<usize, EtfError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// A count of elements, each at least `min_bytes` long: refused before
    /// allocation when the frame cannot hold them.
    fn count(&mut self, n: usize, min_bytes: usize) -> Result<usize, EtfError> {
        if n.saturating_mul(min_bytes) > self.bytes.len() - self.at {
            return Err(EtfError("count larger than the frame"));
        }
        Ok(n)
    }

    fn text(&mut self, len: usize) -> Result<String, EtfError> {
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| EtfError("text is not UTF-8"))
    }

    fn term(&mut self, depth: usize) -> Result<Value, EtfError> {
        if depth > MAX_DEPTH {
            return Err(EtfError("nested too deep"));
        }
        Ok(match self.byte()? {
            SMALL_INTEGER => Value::from(self.byte()?),
            INTEGER => {
                let b = self.take(4)?;
                Value::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
            NEW_FLOAT => {
                let b = self.take(8)?;
                let f = f64::from_be_bytes(b.try_into().map_err(|_| EtfError("truncated"))?);
                Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or(EtfError("not a finite float"))?
            }
            SMALL_BIG => {
                let len = usize::from(self.byte()?);
                let negative = self.byte()? != 0;
                let digits = self.take(len)?;
                if len > 8 {
                    return Err(EtfError("integer wider than 64 bits"));
                }
                let mut le = [0u8; 8];
                le[..len].copy_from_slice(digits);
                let magnitude = u64::from_le_bytes(le);
                if negative {
                    let n =
                        i64::try_from(magnitude).map_err(|_| EtfError("integer out of range"))?;
                    Value::from(-n)
                } else {
                    Value::from(magnitude)
                }
            }
            ATOM | ATOM_UTF8 => {
                let len = self.u16()?;
                atom_value(self.text(len)?)
            }
            SMALL_ATOM | SMALL_ATOM_UTF8 => {
                let len = usize::from(self.byte()?);
                atom_value(self.text(len)?)
            }
            BINARY => {
                let len = self.u32()?;
                Value::String(self.text(len)?)
            }
            // A list of small integers (how Erlang writes a charlist).
            STRING => {
                let len = self.u16()?;
                Value::Array(self.take(len)?.iter().map(|b| Value::from(*b)).collect())
            }
            NIL => Value::Array(Vec::new()),
            LIST => {
                let n = self.u32()?;
                let n = self.count(n, 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.term(depth + 1)?);
                }
                // A proper list ends with NIL.
                if self.byte()? != NIL {
                    return Err(EtfError("improper list"));
                }
                Value::Array(items)
            }
            SMALL_TUPLE | LARGE_TUPLE => {
                let n = if self.bytes[self.at - 1] == SMALL_TUPLE {
                    usize::from(self.byte()?)
                } else {
                    self.u32()?
                };
                let n = self.count(n, 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.term(depth + 1)?);
                }
                Value::Array(items)
            }
            MAP => {
                let n = self.u32()?;
                let n = self.count(n, 2)?;
                let mut map = Map::new();
                for _ in 0..n {
                    let key = match self.term(depth + 1)? {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        _ => return Err(EtfError("map key is not an atom, binary or integer")),
                    };
                    let item = self.term(depth + 1)?;
                    map.insert(key, item);
                }
                Value::Object(map)
            }
            _ => return Err(EtfError("unsupported term")),
        })
    }
}

fn atom_value(name: String) -> Value {
    match name.as_str() {
        "nil" | "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: &Value) -> Value {
        let mut out = vec![VERSION];
        write(v, &mut out);
        read(&out).expect("reads back")
    }

    #[test]
    fn payloads_read_back_as_written() {
        let v = json!({
            "op": 0, "s": 300, "t": "MESSAGE_CREATE", "big": 1_579_352_169_474_162_688u64,
            "neg": -5, "very_neg": -3_000_000_000i64, "f": 1.5,
            "d": {"id": "1579352169474162688", "content": "héllo", "tts": false, "nonce": null,
                  "embeds": [], "mentions": [{"id": "1", "bot": true}]}
        });
        assert_eq!(round_trip(&v), v);
    }

    #[test]
    fn terms_erlang_writes_are_read() {
        // #{op => 1, d => 251} from :erlang.term_to_binary/1.
        let bytes = [
            131, 116, 0, 0, 0, 2, 100, 0, 2, b'o', b'p', 97, 1, 100, 0, 1, b'd', 97, 251,
        ];
        assert_eq!(read(&bytes).unwrap(), json!({"op": 1, "d": 251}));
        // A charlist and a tuple.
        let bytes = [131, 104, 2, 107, 0, 2, b'h', b'i', 106];
        assert_eq!(read(&bytes).unwrap(), json!([[104, 105], []]));
    }

    #[test]
    fn bad_terms_are_refused_without_allocating() {
        for bad in [
            &[][..],
            &[130, 106],
            &[131, 108, 0xff, 0xff, 0xff, 0xff],
            &[131, 116, 0x7f, 0xff, 0xff, 0xff],
            &[131, 109, 0, 0, 0, 9, b'x'],
            &[131, 108, 0, 0, 0, 1, 97, 1, 97, 2],
            &[131, 110, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            &[131, 106, 106],
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        let mut deep = vec![131];
        deep.extend(std::iter::repeat_n([108, 0, 0, 0, 1], 40).flatten());
        assert!(read(&deep).is_err());
    }
}
