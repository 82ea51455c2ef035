//! Names close to a misspelt one, for "did you mean ...?": the build's proof (a symbol the
//! manifest lists that its library does not define) and the run time's answer (a symbol JIT
//! code needs that nothing exports) suggest the same names.

/// The Levenshtein distance of `a` and `b` (byte-wise: symbol names are ASCII), or `None`
/// once it exceeds `limit` (most candidates are far, and are dropped early).
pub fn distance(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
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
    let mut limit = limit_for(wanted);
    let mut best: Vec<&str> = Vec::new();
    let mut best_distance = usize::MAX;
    for name in names.into_iter().filter(|name| *name != wanted) {
        // Only as close as the best so far is of interest: the search narrows as it goes.
        let Some(d) = distance(wanted.as_bytes(), name.as_bytes(), limit) else {
            continue;
        };
        if d < best_distance {
            best_distance = d;
            limit = d;
            best.clear();
        }
        if !best.contains(&name) {
            best.push(name);
        }
    }
    best.sort_unstable();
    best.into_iter().take(3).map(str::to_owned).collect()
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
