//! The producer of a bitcode file ("LLVM22.1.8"), read from its identification block, so that
//! bitcode newer than the JIT's LLVM is refused before the reader sees it: LLVM reads bitcode
//! of older versions, but a newer one is read only as far as the old reader happens to
//! understand it (LLVM 19 reads clang-22's simple modules without a word).
//!
//! The identification block is the first block of the stream (LLVM's BitcodeWriter writes it
//! first, and the bitstream format is in LLVM's "LLVM Bitcode File Format" document): one
//! abbreviation definition, then the `STRING` record through it.

/// The block id of the identification block, and its string record's code.
const IDENTIFICATION_BLOCK: u64 = 13;
const IDENTIFICATION_CODE_STRING: u64 = 1;

/// Bits of a little-endian byte stream, least significant first.
struct Bits<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn fixed(&mut self, width: u32) -> Option<u64> {
        let mut value = 0;
        for i in 0..width {
            let byte = *self.bytes.get(self.at / 8)?;
            value |= u64::from((byte >> (self.at % 8)) & 1) << i;
            self.at += 1;
        }
        Some(value)
    }

    fn vbr(&mut self, width: u32) -> Option<u64> {
        let high = 1 << (width - 1);
        let mut value = 0;
        for shift in (0..64).step_by(width as usize - 1) {
            let chunk = self.fixed(width)?;
            value |= (chunk & (high - 1)) << shift;
            if chunk & high == 0 {
                return Some(value);
            }
        }
        None
    }

    fn align32(&mut self) {
        self.at = self.at.div_ceil(32) * 32;
    }
}

/// One operand of an abbreviation.
enum Operand {
    Literal(u64),
    Fixed(u32),
    Vbr(u32),
    Array,
    Char6,
}

/// The producer string of `bytes`, if they are bitcode that starts with an identification block.
pub(crate) fn producer(bytes: &[u8]) -> Option<String> {
    let mut bytes = bytes;
    // The wrapper some tools put around bitcode: magic, version, offset, size, cputype.
    if bytes.starts_with(&[0xDE, 0xC0, 0x17, 0x0B]) {
        let word = |i: usize| -> Option<usize> {
            Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?) as usize)
        };
        let (offset, size) = (word(8)?, word(12)?);
        bytes = bytes.get(offset..offset.checked_add(size)?)?;
    }
    if !bytes.starts_with(b"BC\xC0\xDE") {
        return None;
    }
    let mut bits = Bits { bytes, at: 32 };
    // ENTER_SUBBLOCK (abbreviation id 1 at the top level's width of 2).
    if bits.fixed(2)? != 1 || bits.vbr(8)? != IDENTIFICATION_BLOCK {
        return None;
    }
    let width = bits.vbr(4)? as u32;
    if width == 0 || width > 32 {
        return None;
    }
    bits.align32();
    bits.fixed(32)?; // the block's length in words
    let mut abbreviations: Vec<Vec<Operand>> = Vec::new();
    loop {
        match bits.fixed(width)? {
            0 | 1 => return None, // END_BLOCK or a sub-block before the string: not there
            2 => {
                // DEFINE_ABBREV
                let count = bits.vbr(5)?;
                let mut operands = Vec::new();
                for _ in 0..count.min(64) {
                    let operand = if bits.fixed(1)? == 1 {
                        Operand::Literal(bits.vbr(8)?)
                    } else {
                        match bits.fixed(3)? {
                            1 => Operand::Fixed(bits.vbr(5)?.min(64) as u32),
                            2 => Operand::Vbr(bits.vbr(5)?.clamp(2, 32) as u32),
                            3 => Operand::Array,
                            4 => Operand::Char6,
                            _ => return None, // a blob: not in this block
                        }
                    };
                    operands.push(operand);
                }
                abbreviations.push(operands);
            }
            3 => {
                // UNABBREV_RECORD: code, count, operands, each VBR6.
                let code = bits.vbr(6)?;
                let count = bits.vbr(6)?;
                let values: Option<Vec<u64>> = (0..count.min(256)).map(|_| bits.vbr(6)).collect();
                if code == IDENTIFICATION_CODE_STRING {
                    return values?
                        .into_iter()
                        .map(|v| char::from_u32(v as u32))
                        .collect();
                }
            }
            id => {
                let operands = abbreviations.get(id as usize - 4)?;
                let mut values = Vec::new();
                let mut i = 0;
                while i < operands.len() {
                    match &operands[i] {
                        Operand::Literal(v) => values.push(*v),
                        Operand::Fixed(w) => values.push(bits.fixed(*w)?),
                        Operand::Vbr(w) => values.push(bits.vbr(*w)?),
                        Operand::Char6 => values.push(char6(bits.fixed(6)?)?),
                        Operand::Array => {
                            let length = bits.vbr(6)?.min(256);
                            let element = operands.get(i + 1)?;
                            for _ in 0..length {
                                values.push(match element {
                                    Operand::Char6 => char6(bits.fixed(6)?)?,
                                    Operand::Fixed(w) => bits.fixed(*w)?,
                                    Operand::Vbr(w) => bits.vbr(*w)?,
                                    _ => return None,
                                });
                            }
                            i += 1; // the element type was consumed
                        }
                    }
                    i += 1;
                }
                let (&code, text) = values.split_first()?;
                if code == IDENTIFICATION_CODE_STRING {
                    return text.iter().map(|&v| char::from_u32(v as u32)).collect();
                }
            }
        }
    }
}

fn char6(v: u64) -> Option<u64> {
    let c = match v {
        0..=25 => b'a' + v as u8,
        26..=51 => b'A' + (v - 26) as u8,
        52..=61 => b'0' + (v - 52) as u8,
        62 => b'.',
        63 => b'_',
        _ => return None,
    };
    Some(u64::from(c))
}

/// The LLVM major version of a producer string such as "LLVM22.1.8".
pub(crate) fn producer_major(producer: &str) -> Option<u32> {
    let digits: String = producer
        .strip_prefix("LLVM")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_producer_of_real_bitcode() {
        let llvm15 = include_bytes!("../tests/data/llvm15-answer.bc");
        let producer = producer(llvm15).unwrap();
        assert!(producer.starts_with("LLVM15."), "{producer}");
        assert_eq!(producer_major(&producer), Some(15));
    }

    #[test]
    fn anything_else_has_no_producer_and_never_panics() {
        assert_eq!(producer(b""), None);
        assert_eq!(producer(b"define i32 @f()"), None);
        let llvm15 = include_bytes!("../tests/data/llvm15-answer.bc");
        for cut in 0..llvm15.len().min(200) {
            producer(&llvm15[..cut]);
        }
        let mut flipped = llvm15.to_vec();
        for i in 4..flipped.len().min(300) {
            flipped[i] ^= 0x5A;
            producer(&flipped);
        }
    }
}
