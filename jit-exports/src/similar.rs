//! Names close to a misspelt one, for "did you mean ...?": the build's proof (a symbol the
//! manifest lists that its library does not define) and the run time's answer (a symbol JIT
//! code needs that nothing exports) suggest the same names.
//!
//! A misspelt name is compared with every name a process exports (libc alone exports ~3,000,
//! libLLVM 57,000), so the distance is computed bit-parallel (Myers 1999, in Hyyrö's form for
//! the edit distance of two whole strings): one pass over the candidate with a few word
//! operations per byte, for names of up to 64 bytes; longer ones take the textbook table.

/// The Levenshtein distance of `a` and `b` (byte-wise: symbol names are ASCII), or `None`
/// once it exceeds `limit` (most candidates are far, and are dropped early).
pub fn distance(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
    distance_from(Pattern::new(a).as_ref(), a, b, limit)
}

/// [`distance`] with `a`'s pattern made already (none for a name longer than 64 bytes).
fn distance_from(pattern: Option<&Pattern>, a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
    match pattern {
        Some(pattern) => pattern.distance(b, limit),
        None => table_distance(a, b, limit),
    }
}

/// A name of at most 64 bytes made ready to be compared with many others: for each byte
/// value, the positions at which the name holds it, as bits.
struct Pattern {
    positions: [u64; 256],
    len: usize,
}

impl Pattern {
    fn new(name: &[u8]) -> Option<Pattern> {
        if name.len() > 64 {
            return None;
        }
        let mut positions = [0u64; 256];
        for (i, &byte) in name.iter().enumerate() {
            positions[usize::from(byte)] |= 1 << i;
        }
        Some(Pattern {
            positions,
            len: name.len(),
        })
    }

    /// The distance from the pattern to `text`, or `None` past `limit`. The bit vectors hold
    /// the differences down one column of the dynamic-programming table (`plus`/`minus`:
    /// where a cell is one more or one less than the cell above); `score` follows the last
    /// row, which ends as the distance.
    fn distance(&self, text: &[u8], limit: usize) -> Option<usize> {
        let m = self.len;
        if m.abs_diff(text.len()) > limit {
            return None;
        }
        if m == 0 {
            return Some(text.len());
        }
        let last = 1u64 << (m - 1);
        let mut plus = u64::MAX;
        let mut minus = 0u64;
        let mut score = m;
        for (j, &byte) in text.iter().enumerate() {
            let equal = self.positions[usize::from(byte)];
            let vertical = equal | minus;
            let horizontal = ((equal & plus).wrapping_add(plus) ^ plus) | equal;
            let mut h_plus = minus | !(horizontal | plus);
            let mut h_minus = plus & horizontal;
            if h_plus & last != 0 {
                score += 1;
            } else if h_minus & last != 0 {
                score -= 1;
            }
            // Each remaining byte of the text lowers the last row by at most one.
            if score > limit.saturating_add(text.len() - j - 1) {
                return None;
            }
            // The first row of the table counts up by one a column (D[0][j] = j).
            h_plus = (h_plus << 1) | 1;
            h_minus <<= 1;
            plus = h_minus | !(vertical | h_plus);
            minus = h_plus & vertical;
        }
        Some(score).filter(|d| *d <= limit)
    }
}

/// The textbook table, a row at a time, for names longer than a machine word.
fn table_distance(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, &x) in a.iter().enumerate() {
        current[0] = i + 1;
        let mut best = current[0];
        for (j, &y) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(x != y);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
            best = best.min(current[j + 1]);
        }
        if best > limit {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    Some(previous[b.len()]).filter(|d| *d <= limit)
}

/// How far a name may be from `wanted` and still be offered: a third of its length, at least 2.
pub fn limit_for(wanted: &str) -> usize {
    (wanted.len() / 3).max(2)
}

/// The names among `names` closest to `wanted` (within [`limit_for`]; all at the smallest
/// distance found, at most three, in order), each once; `wanted` itself is not offered.
pub fn closest<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut closest = Closest::new(wanted);
    for name in names {
        closest.offer(name.as_bytes());
    }
    closest.names()
}

/// The search [`closest`] makes, fed a name at a time (names borrowed from many objects in
/// turn: only a name that is among the closest so far is copied).
pub struct Closest {
    wanted: String,
    pattern: Option<Pattern>,
    limit: usize,
    best: Vec<String>,
    best_distance: usize,
}

impl Closest {
    /// A search for the names close to `wanted`.
    pub fn new(wanted: &str) -> Closest {
        Closest {
            wanted: wanted.to_owned(),
            pattern: Pattern::new(wanted.as_bytes()),
            limit: limit_for(wanted),
            best: Vec::new(),
            best_distance: usize::MAX,
        }
    }

    /// The name searched for.
    pub fn wanted(&self) -> &str {
        &self.wanted
    }

    /// Considers `name` (a name that is not UTF-8 is never offered).
    pub fn offer(&mut self, name: &[u8]) {
        let wanted = self.wanted.as_bytes();
        // The length alone rules out most names, before any distance is computed.
        if wanted.len().abs_diff(name.len()) > self.limit || name == wanted {
            return;
        }
        let Some(d) = distance_from(self.pattern.as_ref(), wanted, name, self.limit) else {
            return;
        };
        let Ok(name) = std::str::from_utf8(name) else {
            return;
        };
        // Only as close as the best so far is of interest: the search narrows as it goes.
        if d < self.best_distance {
            self.best_distance = d;
            self.limit = d;
            self.best.clear();
        }
        if !self.best.iter().any(|b| b == name) {
            self.best.push(name.to_owned());
        }
    }

    /// The closest names offered, at most three, in order.
    pub fn names(&self) -> Vec<String> {
        let mut best = self.best.clone();
        best.sort_unstable();
        best.truncate(3);
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_levenshtein_and_stop_at_the_limit() {
        assert_eq!(distance(b"kitten", b"sitting", 5), Some(3));
        assert_eq!(distance(b"kitten", b"sitting", 2), None);
        assert_eq!(distance(b"", b"abc", 3), Some(3));
        assert_eq!(distance(b"abc", b"abc", 0), Some(0));
        assert_eq!(distance(b"abcdef", b"a", 3), None);
    }

    #[test]
    fn the_bit_parallel_distance_is_the_tables_on_every_pair() {
        // Every pair of strings over a small alphabet (where edits collide most), and long
        // names either side of 64 bytes, each at every limit.
        let mut words: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=5 {
            let mut next = Vec::new();
            for word in words.iter().filter(|w| w.len() == len - 1) {
                for byte in *b"ab_" {
                    let mut w = word.clone();
                    w.push(byte);
                    next.push(w);
                }
            }
            words.extend(next);
        }
        let long = |n: usize, salt: u8| -> Vec<u8> {
            (0..n)
                .map(|i| b"abcdefgh_"[(i * 7 + usize::from(salt)) % 9])
                .collect()
        };
        words.extend([
            long(63, 0),
            long(64, 1),
            long(64, 2),
            long(65, 3),
            long(60, 4),
        ]);
        let mut compared = 0;
        for a in &words {
            let Some(pattern) = Pattern::new(a) else {
                continue;
            };
            for b in &words {
                for limit in 0..=6 {
                    assert_eq!(
                        pattern.distance(b, limit),
                        table_distance(a, b, limit),
                        "{:?} {:?} at {limit}",
                        String::from_utf8_lossy(a),
                        String::from_utf8_lossy(b)
                    );
                    compared += 1;
                }
                assert_eq!(pattern.distance(b, 200), table_distance(a, b, 200));
            }
        }
        assert!(compared > 100_000, "{compared}");
        // No limit at all (`usize::MAX`) is no overflow.
        assert_eq!(distance(b"libxml2", b"libxml-2.0", usize::MAX), Some(3));
        assert_eq!(distance(&long(70, 0), b"", usize::MAX), Some(70));
        // Past 64 bytes the table answers.
        assert_eq!(distance(&long(70, 0), &long(70, 0), 2), Some(0));
        assert_eq!(distance(&long(64, 1), &long(65, 1), 2), Some(1));
    }

    #[test]
    fn closest_names_come_first_and_far_ones_not_at_all() {
        let names = [
            "zlibVersion",
            "zlibCompileFlags",
            "deflate",
            "crc32",
            "crc32",
        ];
        assert_eq!(closest("zlibVersio", names), ["zlibVersion"]);
        assert_eq!(closest("crc33", names), ["crc32"]);
        // Only the closest: one edit away beats two.
        assert_eq!(
            closest("mallok", ["calloc", "malloc", "mallopt"]),
            ["malloc"]
        );
        assert_eq!(closest("ab_x", ["ab_y", "ab_z", "zz_x"]), ["ab_y", "ab_z"]);
        assert!(closest("sqlite3_open", names).is_empty());
        assert!(closest("crc32", names).is_empty(), "the name itself");
        assert_eq!(
            closest(
                "png_access_version_numbr",
                ["png_access_version_number", "png_get_io_ptr"]
            ),
            ["png_access_version_number"]
        );
    }
}
