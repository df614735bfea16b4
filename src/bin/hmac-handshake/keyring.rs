//! `serve --keyring FILE`: the native keys a server accepts.
//!
//! One `KEY_ID HEXKEY` per line, fields separated by spaces or tabs; blank
//! lines and lines whose first field starts with `#` are ignored, and so is
//! a UTF-8 byte order mark at the very start of the file. Other lines are
//! ASCII: the key id is the first field (see [`check_key_id`]); the key is
//! at least 16 bytes, in hex. A non-ASCII character there (an invisible
//! format character such as a byte order mark, a zero-width space or a bidi
//! control, most likely) is an error. Error messages name the line and
//! never include key material.

use std::path::Path;

use hmac_handshake::native::{Keyring, NativeKey, Suite, MIN_KEY_LEN};
use zeroize::Zeroizing;

use crate::key;
use crate::profile::check_key_id;

/// Largest `--keyring` file read, in bytes (64 KiB): some 680 key lines
/// of 32-byte keys; a bigger file is refused unread (on a reload, the old
/// ring stays).
pub const KEYRING_MAX: u64 = 64 * 1024;

/// Reads and parses the keyring at `path`, keying each key for `suite`.
///
/// # Errors
/// A message naming the file (and the line, for a malformed line, a
/// duplicate key id or a short key), or saying it holds no key.
pub fn load(path: &Path, suite: Suite) -> Result<Keyring, String> {
    let text = key::read_file(path, "keyring", KEYRING_MAX)?;
    let keys = parse(&text, suite)
        .map_err(|(line, why)| format!("keyring {} line {line}: {why}", path.display()))?;
    if keys.is_empty() {
        return Err(format!(
            "keyring {} holds no key: add lines `KEY_ID HEXKEY` (see `hmac-handshake keygen`)",
            path.display()
        ));
    }
    // The parser has refused what `Keyring::new` refuses (no key, a key id
    // twice; every key is of `suite`), with line numbers: this is a fallback.
    Keyring::new(keys).map_err(|e| format!("keyring {}: {e}", path.display()))
}

/// The UTF-8 byte order mark, skipped at the start of the file only.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// Parses a keyring into keys of `suite`; an error is `(line number from
/// 1, reason)`.
fn parse(text: &[u8], suite: Suite) -> Result<Vec<NativeKey>, (usize, String)> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    // Lines first, keys after: a `Vec` of keys that grows frees its old
    // buffers with copies of the keys in them; a `Vec` of entries moves
    // only pointers, and the keys go into one exact allocation.
    let mut entries: Vec<(usize, &str, Zeroizing<Vec<u8>>)> = Vec::new();
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let fail = |why: String| (number, why);
        let line = std::str::from_utf8(raw).map_err(|_| fail("not UTF-8 text".into()))?;
        let content = line.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(c) = line.chars().find(|c| !c.is_ascii()) {
            return Err(fail(not_ascii(c)));
        }
        let mut fields = line.split_ascii_whitespace();
        let (Some(id), Some(hex), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(fail(
                "expected two fields, `KEY_ID HEXKEY` (a comment line starts with #)".into(),
            ));
        };
        check_key_id(id).map_err(|why| fail(format!("bad key id: {why}")))?;
        if let Some((first, ..)) = entries.iter().find(|(_, seen, _)| *seen == id) {
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
        entries.push((number, id, secret));
    }
    let mut keys = Vec::with_capacity(entries.len());
    for (number, id, secret) in &entries {
        let key =
            NativeKey::new(id.as_bytes(), secret, suite).map_err(|e| (*number, e.to_string()))?;
        keys.push(key);
    }
    Ok(keys)
}

/// Why a key line may not hold the non-ASCII character `c`.
fn not_ascii(c: char) -> String {
    let code = u32::from(c);
    let what = if c == '\u{feff}' {
        "a byte order mark, allowed only at the very start of the file"
    } else if is_format(c) {
        "an invisible format character"
    } else {
        "not ASCII"
    };
    format!("U+{code:04X} ({what}): key ids and keys are ASCII; only a comment line may hold other text")
}

/// The Unicode format characters (category Cf) a text editor or a copy and
/// paste is likely to slip in unseen.
fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
    )
}

/// Hex (either case) to bytes held in memory wiped on drop.
fn decode_hex(hex: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err("HEXKEY has an odd number of hex digits".into());
    }
    let mut secret = Zeroizing::new(vec![0u8; hex.len() / 2]);
    hex::decode_to_slice(hex, &mut secret)
        .map_err(|_| "HEXKEY is not hex: only 0-9, a-f and A-F are allowed".to_string())?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use hmac_handshake::native::{NativeKey, Suite};

    const K32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn parse(text: &[u8]) -> Result<Vec<NativeKey>, (usize, String)> {
        super::parse(text, Suite::HmacSha256)
    }

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
    fn every_key_is_keyed_for_the_suite_given() {
        for suite in Suite::ALL {
            let keys = super::parse(format!("k1 {K32}\nk2 {K32}\n").as_bytes(), suite).unwrap();
            assert!(keys.iter().all(|k| k.suite() == suite), "{suite}: {keys:?}");
        }
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
                "a key id is 1 to 32 characters",
            ),
            (
                format!("k1 {K32}\nk\u{e9} {K32}\n"),
                2,
                "U+00E9 (not ASCII)",
            ),
            (format!("k1\u{a0}{K32}\n"), 1, "U+00A0 (not ASCII)"),
            (
                "k1 0011GG\n".to_string(),
                1,
                "only 0-9, a-f and A-F are allowed",
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

    #[test]
    fn a_byte_order_mark_only_at_the_start_of_the_file() {
        // Skipped at the very start, whatever the first line is.
        assert_eq!(ids(&format!("\u{feff}k1 {K32}\nk2 {K32}\n")), ["k1", "k2"]);
        assert_eq!(ids(&format!("\u{feff}# keys\nk1 {K32}\n")), ["k1"]);
        assert!(ids("\u{feff}").is_empty());
        // Anywhere else it is an error on its line, as are the other
        // invisible format characters.
        let bom = "U+FEFF (a byte order mark, allowed only at the very start of the file)";
        let format = "(an invisible format character): key ids and keys are ASCII";
        let cases = [
            (format!("k1 {K32}\n\u{feff}k2 {K32}\n"), 2, bom.to_string()),
            (format!("\u{feff}\u{feff}k1 {K32}\n"), 1, bom.to_string()),
            (format!(" \u{feff}k1 {K32}\n"), 1, bom.to_string()),
            (format!("k1 {K32}\n\u{feff}\n"), 2, bom.to_string()),
            (format!("k1 {K32}\u{feff}\n"), 1, bom.to_string()),
            (
                format!("# ok\nk\u{200b}1 {K32}\n"),
                2,
                format!("U+200B {format}"),
            ),
            (format!("k1 \u{202e}{K32}\n"), 1, format!("U+202E {format}")),
            (format!("k1\u{2060} {K32}\n"), 1, format!("U+2060 {format}")),
            (
                format!("\u{feff}\u{ad}k1 {K32}\n"),
                1,
                format!("U+00AD {format}"),
            ),
        ];
        for (text, line, needle) in cases {
            let (got_line, why) = error(&text);
            assert_eq!(got_line, line, "{text:?}: {why}");
            assert!(why.starts_with(&needle), "{text:?}: {why}");
        }
        // Comments are free text.
        assert_eq!(
            ids(&format!("# caf\u{e9} \u{200b} \u{feff}\nk1 {K32}\n")),
            ["k1"]
        );
    }
}
