//! Personal data at rest: SM4 in GCM mode for the values, and a keyed SM3 hash
//! (HMAC-SM3) for looking them up without decrypting. Both keys are derived from the one
//! 128-bit data key of the deployment (`YKT_DATA_KEY`).

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, Generate, KeyInit};
use aes_gcm::{AesGcm, Nonce};
use hmac::{Hmac, Mac};
use sm3::{Digest, Sm3};

use crate::StoreError;

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;
type HmacSm3 = Hmac<Sm3>;

/// What is wrong with a data key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no data-encryption key: set YKT_DATA_KEY to 32 hex characters (128 bits) or pass --data-key-file")]
    Missing,
    #[error("the data-encryption key must be 32 hex characters (128 bits); {0}")]
    Malformed(String),
}

/// The deployment's data key and the keys derived from it.
#[derive(Clone)]
pub struct DataKey {
    cipher: Sm4Gcm,
    lookup_key: Vec<u8>,
    /// Keys the audit chain and its checkpoints (HMAC-SM3): never stored anywhere, so
    /// someone with the database alone cannot write a chain that verifies.
    chain_key: Vec<u8>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut mac = <HmacSm3 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl DataKey {
    /// Parses 32 hex characters (surrounding whitespace is ignored).
    pub fn from_hex(hex_key: &str) -> Result<DataKey, KeyError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|e| KeyError::Malformed(e.to_string()))?;
        if bytes.len() != 16 {
            return Err(KeyError::Malformed(format!("got {} bits", bytes.len() * 8)));
        }
        let enc = hmac(&bytes, b"yikatong sm4 data encryption");
        let cipher = <Sm4Gcm as KeyInit>::new_from_slice(&enc[..16]).expect("SM4 takes a 16-byte key");
        Ok(DataKey { cipher, lookup_key: hmac(&bytes, b"yikatong lookup hash"), chain_key: hmac(&bytes, b"yikatong audit chain") })
    }

    /// A fresh random key as 32 hex characters (for `ykt demo` and tests).
    pub fn generate_hex() -> String {
        hex::encode(random_bytes::<16>())
    }

    /// Encrypts: 12-byte nonce followed by the ciphertext and tag.
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Nonce::<U12>::generate();
        let mut out = nonce.to_vec();
        // Encryption only fails for inputs beyond GCM's 64 GiB limit.
        out.extend(self.cipher.encrypt(&nonce, plaintext.as_bytes()).expect("SM4-GCM encryption"));
        out
    }

    pub fn decrypt(&self, blob: &[u8]) -> Result<String, StoreError> {
        if blob.len() < 12 {
            return Err(StoreError::Corrupt("encrypted value too short".into()));
        }
        let nonce = Nonce::<U12>::try_from(&blob[..12]).map_err(|_| StoreError::Corrupt("bad nonce".into()))?;
        let plain = self.cipher.decrypt(&nonce, &blob[12..]).map_err(|_| StoreError::Corrupt("a value does not decrypt with this data key (wrong YKT_DATA_KEY?)".into()))?;
        String::from_utf8(plain).map_err(|_| StoreError::Corrupt("decrypted value is not UTF-8".into()))
    }

    /// A value sealed for a text column: `sm4:` and the hex of its SM4-GCM ciphertext.
    pub fn seal_text(&self, plaintext: &str) -> String {
        format!("sm4:{}", hex::encode(self.encrypt(plaintext)))
    }

    /// The value of a sealed text; one written before values were sealed is returned as
    /// it is.
    pub fn open_text(&self, stored: &str) -> Result<String, StoreError> {
        match stored.strip_prefix("sm4:") {
            Some(h) => self.decrypt(&hex::decode(h).map_err(|e| StoreError::Corrupt(format!("a sealed value is not hex: {e}")))?),
            None => Ok(stored.to_string()),
        }
    }

    pub fn encrypt_opt(&self, v: Option<&str>) -> Option<Vec<u8>> {
        v.map(|s| self.encrypt(s))
    }

    pub fn decrypt_opt(&self, v: Option<Vec<u8>>) -> Result<Option<String>, StoreError> {
        v.map(|b| self.decrypt(&b)).transpose()
    }

    /// The keyed lookup hash (HMAC-SM3, hex) of a value, e.g. an SSN.
    /// The audit chain's keyed hash (HMAC-SM3, hex) of `data`.
    pub fn chain_mac(&self, data: &[u8]) -> String {
        hex::encode(hmac(&self.chain_key, data))
    }

    pub fn lookup_hash(&self, value: &str) -> String {
        hex::encode(hmac(&self.lookup_key, value.as_bytes()))
    }
}

/// Whether two secrets are equal, in a time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// SM3 of a bearer token (hex): tokens are stored only as this hash.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sm3::digest(token.as_bytes()))
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The operating system's random source; without it nothing can be kept secret.
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypts_round_trip_and_hashes_are_keyed() {
        let k = DataKey::from_hex(&DataKey::generate_hex()).unwrap();
        let blob = k.encrypt("11010519491231002X");
        assert!(!String::from_utf8_lossy(&blob).contains("19491231"));
        assert_eq!(k.decrypt(&blob).unwrap(), "11010519491231002X");
        assert_ne!(k.encrypt("same"), k.encrypt("same"), "fresh nonce each time");
        let other = DataKey::from_hex(&DataKey::generate_hex()).unwrap();
        assert!(other.decrypt(&blob).is_err());
        assert_ne!(k.lookup_hash("x"), other.lookup_hash("x"));
        assert_eq!(k.lookup_hash("x"), k.lookup_hash("x"));
        assert!(matches!(DataKey::from_hex("abcd"), Err(KeyError::Malformed(_))));
        assert_eq!(token_hash("abc").len(), 64);
    }
}
