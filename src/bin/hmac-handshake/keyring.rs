//! `serve --keyring FILE`: the native keys a server accepts.
//!
//! One `KEY_ID HEXKEY` per line, fields separated by spaces or tabs; blank
//! lines and lines whose first field starts with `#` are ignored. The key id
//! is the first field's UTF-8 text (see [`check_key_id`]); the key is at
//! least 16 bytes, in hex. Error messages name the line and never include
//! key material.

use std::path::Path;

use hmac_handshake::native::{NativeKey, MIN_KEY_LEN};
use zeroize::Zeroizing;

use crate::key;
use crate::profile::check_key_id;

/// Reads and parses the keyring at `path`.
///
/// # Errors
/// A message naming the file (and the line, for a malformed line, a
/// duplicate key id or a short key), or saying it holds no key.
pub fn load(path: &Path) -> Result<Vec<NativeKey>, String> {
    let text = key::read_file(path, "keyring")?;
    let keys = parse(&text)
        .map_err(|(line, why)| format!("keyring {} line {line}: {why}", path.display()))?;
    if keys.is_empty() {
        return Err(format!(
            "keyring {} holds no key: add lines `KEY_ID HEXKEY` (see `hmac-handshake keygen`)",
            path.display()
        ));
    }
    Ok(keys)
}

/// Parses a keyring; an error is `(line number from 1, reason)`.
fn parse(text: &[u8]) -> Result<Vec<NativeKey>, (usize, String)> {
    let mut keys: Vec<(usize, NativeKey)> = Vec::new();
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let fail = |why: String| (number, why);
        let line = std::str::from_utf8(raw).map_err(|_| fail("not UTF-8 text".into()))?;
        let mut fields = line.split_whitespace();
        let Some(id) = fields.next() else { continue };
        if id.starts_with('#') {
            continue;
        }
        let (Some(hex), None) = (fields.next(), fields.next()) else {
            return Err(fail(
                "expected two fields, `KEY_ID HEXKEY` (a comment line starts with #)".into(),
            ));
        };
        check_key_id(id).map_err(|why| fail(format!("bad key id: {why}")))?;
        if let Some((first, _)) = keys
            .iter()
            .find(|(_, k)| k.id().as_bytes() == id.as_bytes())
        {
            return Err(fail(format!(
                "duplicate key id {id} (first on line {first})"
            )));
        }
        let secret = decode_hex(hex).map_err(fail)?;
        if secret.len() < MIN_KEY_LEN {
            return Err(fail(format!(
                "the key for {id} is {} bytes: at least {MIN_KEY_LEN} are needed \
                 (32 random bytes is the norm: see `hmac-handshake keygen`)",
                secret.len()
            )));
        }
        let key = NativeKey::new(id.as_bytes(), &secret).map_err(|e| fail(e.to_string()))?;
        keys.push((number, key));
    }
    Ok(keys.into_iter().map(|(_, key)| key).collect())
}

/// Hex (either case) to bytes held in memory wiped on drop.
fn decode_hex(hex: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err("HEXKEY has an odd number of hex digits".into());
    }
    let mut secret = Zeroizing::new(vec![0u8; hex.len() / 2]);
    hex::decode_to_slice(hex, &mut secret)
        .map_err(|_| "HEXKEY is not hex: only 0-9 and a-f are allowed".to_string())?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::parse;

    const K32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn ids(text: &str) -> Vec<String> {
        parse(text.as_bytes())
            .unwrap()
            .iter()
            .map(|k| k.id().to_string())
            .collect()
    }

    fn error(text: &str) -> (usize, String) {
        parse(text.as_bytes()).expect_err("a parse error")
    }

    #[test]
    fn comments_blank_lines_tabs_and_crlf() {
        let text = format!(
            "# rotation\n\n  k1 {K32}\r\n\tk2\t{}  \n#k3 {K32}\n",
            K32.to_uppercase()
        );
        assert_eq!(ids(&text), ["k1", "k2"]);
        assert!(ids("").is_empty());
        assert!(ids("# nothing\n\n").is_empty());
    }

    #[test]
    fn errors_name_the_line_and_no_key_material() {
        let cases = [
            (format!("k1 {K32}\nk2\n"), 2, "expected two fields"),
            (format!("k1 {K32} extra\n"), 1, "expected two fields"),
            (
                format!("\nk1 {K32}\nk1 {K32}\n"),
                3,
                "duplicate key id k1 (first on line 2)",
            ),
            ("k1 0011zz\n".to_string(), 1, "not hex"),
            ("k1 001\n".to_string(), 1, "odd number"),
            (
                format!("k1 {}\n", &K32[..30]),
                1,
                "the key for k1 is 15 bytes",
            ),
            (
                format!("{} {K32}\n", "x".repeat(33)),
                1,
                "a key id is 1 to 32 bytes",
            ),
        ];
        for (text, line, needle) in cases {
            let (got_line, why) = error(&text);
            assert_eq!(got_line, line, "{text:?}: {why}");
            assert!(why.contains(needle), "{text:?}: {why}");
            assert!(!why.contains("0011") && !why.contains("0102"), "{why}");
        }
        let (line, why) = parse(b"k1 00\n\xff\xfe 00\n").unwrap_err();
        assert_eq!((line, why.as_str()), (1, "the key for k1 is 1 bytes: at least 16 are needed (32 random bytes is the norm: see `hmac-handshake keygen`)"));
        let (line, why) = parse(b"\xff\xfe 00\n").unwrap_err();
        assert_eq!((line, why.as_str()), (1, "not UTF-8 text"));
    }
}
