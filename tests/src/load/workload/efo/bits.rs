//! The set of key sequences that both the producers (what was acknowledged) and the ledger
//! (what each consumer was pushed) keep per partition key. Its own module so that neither of
//! those imports the other for it.

/// A growable set of small integers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
}

impl Bits {
    /// Adds `n`; true if it was not there yet.
    pub fn insert(&mut self, n: u64) -> bool {
        let (word, bit) = Self::position(n);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let fresh = self.words[word] & bit == 0;
        self.words[word] |= bit;
        fresh
    }

    /// How many numbers are in the set.
    pub fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// How many numbers are in both sets.
    pub fn common(&self, other: &Bits) -> u64 {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| u64::from((a & b).count_ones()))
            .sum()
    }

    fn position(n: u64) -> (usize, u64) {
        // `n` is at most the ledger's MAX_KEY_SEQ for deliveries and a producer's own counter otherwise;
        // both fit a usize on every target this tool builds for.
        let word = usize::try_from(n / 64).unwrap_or(usize::MAX / 2);
        (word, 1u64 << (n % 64))
    }
}
