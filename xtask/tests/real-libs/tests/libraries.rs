//! The integration-test target links the libraries too; each result is checked against an
//! independent reference: the version in the library's header, a CRC-32 computed here.

fn header_define(header: &str, name: &str) -> String {
    let text = std::fs::read_to_string(header).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("#define {name} ")))
        .unwrap();
    line[format!("#define {name} ").len()..].trim().trim_matches('"').to_owned()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn each_library_answers_as_its_header_and_an_independent_checksum_say() {
    let results = real_libs::run().unwrap();
    assert_eq!(results.zlib_version, header_define("/usr/include/zlib.h", "ZLIB_VERSION"));
    assert_eq!(results.crc32_hello, crc32(b"hello"));
    assert_eq!(
        results.sqlite_version.to_string(),
        header_define("/usr/include/sqlite3.h", "SQLITE_VERSION_NUMBER")
    );
    assert_eq!((results.words_three, results.words_empty), (3, -1));
}

#[test]
fn every_kind_is_also_given_as_files_for_loading_at_run_time() {
    for (archive, shared) in [
        (env!("JIT_LINKAGE_STATIC_LIB_ZLIB"), env!("JIT_LINKAGE_SHARED_LIB_ZLIB")),
        (env!("JIT_LINKAGE_STATIC_LIB_SQLITE"), env!("JIT_LINKAGE_SHARED_LIB_SQLITE")),
        (env!("JIT_LINKAGE_STATIC_LIB_WORDS"), env!("JIT_LINKAGE_SHARED_LIB_WORDS")),
    ] {
        assert!(std::fs::read(archive).unwrap().starts_with(b"!<arch>\n"), "{archive}");
        assert!(std::fs::read(shared).unwrap().starts_with(b"\x7fELF"), "{shared}");
    }
}
