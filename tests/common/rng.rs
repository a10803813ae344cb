//! The tests' random numbers: xorshift64*, reproducible from a seed and without a dependency
//! (a failing seed is printed and replayed). Used as `common::rng` by the tests that drive the
//! binary, and as `#[path = "common/rng.rs"] mod rng;` by those that need nothing else.

#![allow(dead_code)]

#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// Any seed, 0 included: it is spread over the bits and made odd.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}
