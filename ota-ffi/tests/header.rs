//! The committed header `include/ota.h` must be exactly what cbindgen generates from the code,
//! made C90-clean by [`c90`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

#[test]
fn committed_header_matches_generated() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header");
    let mut raw = Vec::new();
    bindings.write(&mut raw);
    let generated = c90(&String::from_utf8(raw).unwrap()).into_bytes();
    let header_path = crate_dir.join("include/ota.h");
    if std::env::var_os("OTA_BLESS_HEADER").is_some() {
        std::fs::write(&header_path, &generated).unwrap();
    }
    let committed = std::fs::read(&header_path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/ota.h is stale: regenerate it with OTA_BLESS_HEADER=1 cargo test -p ota-ffi --test header"
    );
}

/// cbindgen's C output is C99: with `documentation_style = "c"` the documentation is in `/* */`
/// comments, but cbindgen still writes `//` after the `#endif`s and the `}` of its C++ and C23
/// blocks (hard-coded, no setting), and a comma after the last enumerator. Both are errors under
/// `gcc -std=c90 -pedantic -Werror`; this turns the comments into `/* */` and drops the comma,
/// and nothing else (`tests/linking.rs` compiles the header as C90).
fn c90(header: &str) -> String {
    let lines: Vec<&str> = header.lines().collect();
    let mut out = String::with_capacity(header.len());
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let code_line = trimmed.starts_with('#') || trimmed.starts_with('}');
        let mut line = match line.find("//") {
            Some(at) if code_line => {
                let (code, comment) = line.split_at(at);
                format!("{code}/* {} */", comment.trim_start_matches('/').trim())
            }
            _ => (*line).to_string(),
        };
        let next_closes = lines
            .get(i + 1)
            .is_some_and(|n| n.trim_start().starts_with('}'));
        if next_closes && line.ends_with(',') && !code_line {
            line.pop();
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn c90_pass_changes_only_what_c90_refuses() {
    let before = "#endif // __cplusplus\n/* see https://example.com */\nenum x {\n  A = 1,\n  B = 2,\n};\n}  // extern \"C\"\n";
    let after = "#endif /* __cplusplus */\n/* see https://example.com */\nenum x {\n  A = 1,\n  B = 2\n};\n}  /* extern \"C\" */\n";
    assert_eq!(c90(before), after);
}
