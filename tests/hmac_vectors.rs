//! HMAC known answers for every digest the crate uses: the RFC 2104, 2202
//! and 4231 transcriptions in `vectors/hmac/`, and, where the sibling folder
//! `../shared/vectors/` exists, the Project Wycheproof and NIST files there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hmac_handshake::{Digest, Error, Key};
use serde_json::Value;

fn digest_of(algorithm: &str) -> Option<Digest> {
    match algorithm {
        "HMACMD5" => Some(Digest::Md5),
        "HMACSHA256" => Some(Digest::Sha256),
        "HMACSHA384" => Some(Digest::Sha384),
        "HMACSHA512" => Some(Digest::Sha512),
        "HMACSHA3-256" => Some(Digest::Sha3_256),
        "HMACSHA3-384" => Some(Digest::Sha3_384),
        _ => None,
    }
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
    per_digest: BTreeMap<&'static str, usize>,
    skipped: BTreeMap<String, usize>,
}

impl Tally {
    /// Prints `N passed, N failed` with the per-digest counts and the
    /// skipped algorithms (digests the crate does not use), then fails on
    /// any failure.
    fn report(&self, what: &str) {
        println!(
            "{what}: {} passed, {} failed (per digest {:?}; skipped, digests the crate does not use: {:?})",
            self.passed,
            self.failed.len(),
            self.per_digest,
            self.skipped
        );
        assert!(self.failed.is_empty(), "failed: {:#?}", self.failed);
    }
}

fn run_file(path: &Path, tally: &mut Tally) {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let top_algorithm = doc["algorithm"].as_str().unwrap_or_default();
    for group in doc["testGroups"].as_array().unwrap() {
        let algorithm = group["algorithm"].as_str().unwrap_or(top_algorithm);
        let tests = group["tests"].as_array().unwrap();
        let Some(digest) = digest_of(algorithm) else {
            *tally.skipped.entry(algorithm.to_string()).or_default() += tests.len();
            continue;
        };
        let tag_bytes = group["tagSize"].as_u64().unwrap() as usize / 8;
        for t in tests {
            let key = hex::decode(t["key"].as_str().unwrap()).unwrap();
            let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
            let tag = hex::decode(t["tag"].as_str().unwrap()).unwrap();
            let valid = t["result"].as_str().unwrap() == "valid";
            let key = Key::new(&key);
            let ours = key.tag(digest, &msg);
            let ours = &ours.as_bytes()[..tag_bytes.min(ours.as_bytes().len())];
            let mut ok = (ours == tag.as_slice()) == valid;
            // Full-length tags also go through the constant-time verifier.
            if tag.len() == digest.tag_len() {
                let verified = key.verify(digest, &msg, &tag);
                ok &= verified.is_ok() == valid;
                if !valid {
                    ok &= verified == Err(Error::BadTag);
                }
            } else if tag_bytes == digest.tag_len() {
                // A tag of the wrong length is refused by length.
                ok &= matches!(key.verify(digest, &msg, &tag), Err(Error::TagLength { .. }));
            }
            if ok {
                tally.passed += 1;
                *tally.per_digest.entry(digest.name()).or_default() += 1;
            } else {
                tally.failed.push(format!(
                    "{} {} tcId {}",
                    path.display(),
                    algorithm,
                    t["tcId"]
                ));
            }
        }
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json") && !p.ends_with("mac_test_schema_v1.json")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn rfc_known_answers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/hmac");
    let mut tally = Tally::default();
    for f in json_files(&dir) {
        run_file(&f, &mut tally);
    }
    tally.report("RFC HMAC vectors");
    // RFC 2104: 3, RFC 2202 MD5: 8, RFC 4231: 7 per SHA-2 digest we use.
    assert_eq!(tally.per_digest.get("md5"), Some(&11));
    for d in ["sha256", "sha384", "sha512"] {
        assert_eq!(tally.per_digest.get(d), Some(&7), "{d}");
    }
}

#[test]
fn shared_wycheproof_and_nist_vectors() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    if !shared.is_dir() {
        println!(
            "skipped: {} not found (third-party vectors are not copied into the project)",
            shared.display()
        );
        return;
    }
    let mut tally = Tally::default();
    for sub in ["wycheproof", "nist"] {
        for f in json_files(&shared.join(sub)) {
            run_file(&f, &mut tally);
        }
    }
    tally.report("Wycheproof/NIST HMAC vectors");
    for d in ["sha256", "sha384", "sha512", "sha3_256", "sha3_384"] {
        assert!(
            tally.per_digest.get(d).copied().unwrap_or(0) >= 3,
            "{d}: too few vectors ran"
        );
    }
}
