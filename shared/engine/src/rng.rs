//! A tiny seedable random source (xorshift64*) for retry jitter, task tokens, `States.UUID` and
//! `States.MathRandom`. Not cryptographic: task tokens of a local engine only need to be unique.

use std::sync::{Mutex, PoisonError};

/// xorshift64* state; never zero.
#[derive(Debug, Clone)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        // splitmix64 spreads small or similar seeds over the whole state space.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A shared [`XorShift`].
#[derive(Debug)]
pub(crate) struct Rng(Mutex<XorShift>);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(Mutex::new(XorShift::new(seed)))
    }

    pub(crate) fn next_u64(&self) -> u64 {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).next_u64()
    }

    pub(crate) fn next_f64(&self) -> f64 {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).next_f64()
    }

    /// A version-4 UUID in its canonical text form.
    pub(crate) fn uuid_v4(&self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex::encode(bytes);
        format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_floats_in_range() {
        let mut a = XorShift::new(7);
        let mut b = XorShift::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
            let f = a.next_f64();
            b.next_f64();
            assert!((0.0..1.0).contains(&f), "{f}");
        }
        assert_ne!(XorShift::new(1).next_u64(), XorShift::new(2).next_u64());
        assert_ne!(XorShift::new(0).next_u64(), 0);
    }

    #[test]
    fn uuid_is_version_4() {
        let uuid = Rng::new(3).uuid_v4();
        assert_eq!(uuid.len(), 36, "{uuid}");
        assert_eq!(&uuid[14..15], "4", "{uuid}");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");
        assert_ne!(Rng::new(3).uuid_v4(), Rng::new(4).uuid_v4());
    }
}
