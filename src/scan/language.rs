//! Language detection from a file's name (extension or well-known name) and,
//! failing that, from a `#!` line.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// A detected language: a static lower-case identifier such as `"rust"`
/// (its place in [`NAMES`]: one byte, the form the cache stores).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(u8);

/// Every language's identifier, NUL-terminated (for the C boundary). The
/// cache stores a language as its place here plus one: new names go at the
/// end, and none is removed or moved.
const NAMES: &[&str] = &[
    "ada\0",
    "assembly\0",
    "awk\0",
    "batch\0",
    "c\0",
    "clojure\0",
    "cmake\0",
    "cpp\0",
    "csharp\0",
    "css\0",
    "cuda\0",
    "d\0",
    "dart\0",
    "devicetree\0",
    "dockerfile\0",
    "elixir\0",
    "erlang\0",
    "fish\0",
    "fortran\0",
    "fsharp\0",
    "glsl\0",
    "go\0",
    "graphql\0",
    "groovy\0",
    "haskell\0",
    "hcl\0",
    "html\0",
    "ini\0",
    "java\0",
    "javascript\0",
    "json\0",
    "julia\0",
    "kconfig\0",
    "kotlin\0",
    "less\0",
    "lisp\0",
    "lua\0",
    "makefile\0",
    "markdown\0",
    "nim\0",
    "nix\0",
    "objective-c\0",
    "objective-cpp\0",
    "ocaml\0",
    "pascal\0",
    "perl\0",
    "php\0",
    "powershell\0",
    "protobuf\0",
    "python\0",
    "r\0",
    "restructuredtext\0",
    "ruby\0",
    "rust\0",
    "scala\0",
    "scss\0",
    "shell\0",
    "solidity\0",
    "sql\0",
    "starlark\0",
    "svelte\0",
    "swift\0",
    "tcl\0",
    "tex\0",
    "thrift\0",
    "toml\0",
    "typescript\0",
    "verilog\0",
    "vhdl\0",
    "vim\0",
    "vue\0",
    "xml\0",
    "yaml\0",
    "zig\0",
];

/// Where `name` is in [`NAMES`] (at compile time: a name not there does not
/// build).
const fn index_of(name: &str) -> u8 {
    let name = name.as_bytes();
    let mut i = 0;
    'names: while i < NAMES.len() {
        let known = NAMES[i].as_bytes();
        if known.len() == name.len() + 1 {
            let mut j = 0;
            while j < name.len() {
                if known[j] != name[j] {
                    i += 1;
                    continue 'names;
                }
                j += 1;
            }
            return i as u8;
        }
        i += 1;
    }
    panic!("a language not in NAMES")
}

impl Language {
    /// The identifier, e.g. `"python"`.
    pub fn name(self) -> &'static str {
        let n = NAMES[self.0 as usize];
        &n[..n.len() - 1]
    }

    /// The identifier followed by a NUL byte (for the C boundary).
    pub fn name_with_nul(self) -> &'static [u8] {
        NAMES[self.0 as usize].as_bytes()
    }

    /// The language's code in the cache: 1 and up (0 stands for none).
    pub fn code(self) -> u8 {
        self.0 + 1
    }

    /// The language of a [`code`](Self::code) (`None` for 0 or a code this
    /// build does not know).
    pub fn from_code(code: u8) -> Option<Language> {
        let i = code.checked_sub(1)?;
        ((i as usize) < NAMES.len()).then_some(Language(i))
    }
}

macro_rules! lang {
    ($name:literal) => {
        Language(const { index_of($name) })
    };
}

/// Extension (lower-case, without dot) -> language.
fn by_extension(ext: &[u8]) -> Option<Language> {
    let mut lower = [0u8; 12];
    if ext.len() > lower.len() {
        return None;
    }
    for (d, s) in lower.iter_mut().zip(ext) {
        *d = s.to_ascii_lowercase();
    }
    // Case matters for a few: `.C`/`.H` are C++, `.S` is preprocessed assembly.
    if ext == b"C" || ext == b"H" {
        return Some(lang!("cpp"));
    }
    Some(match &lower[..ext.len()] {
        b"rs" => lang!("rust"),
        b"c" | b"h" => lang!("c"),
        b"cc" | b"cpp" | b"cxx" | b"c++" | b"hpp" | b"hh" | b"hxx" | b"h++" | b"ipp" | b"tcc"
        | b"inl" => lang!("cpp"),
        b"m" => lang!("objective-c"),
        b"mm" => lang!("objective-cpp"),
        b"go" => lang!("go"),
        b"py" | b"pyi" | b"pyw" | b"pyx" => lang!("python"),
        b"js" | b"mjs" | b"cjs" | b"jsx" => lang!("javascript"),
        b"ts" | b"mts" | b"cts" | b"tsx" => lang!("typescript"),
        b"rb" | b"rake" | b"gemspec" | b"ru" => lang!("ruby"),
        b"java" => lang!("java"),
        b"kt" | b"kts" => lang!("kotlin"),
        b"scala" | b"sc" => lang!("scala"),
        b"groovy" | b"gradle" => lang!("groovy"),
        b"swift" => lang!("swift"),
        b"cs" => lang!("csharp"),
        b"fs" | b"fsi" | b"fsx" => lang!("fsharp"),
        b"php" | b"phtml" => lang!("php"),
        b"sh" | b"bash" | b"zsh" | b"ksh" | b"dash" => lang!("shell"),
        b"fish" => lang!("fish"),
        b"ps1" | b"psm1" | b"psd1" => lang!("powershell"),
        b"pl" | b"pm" | b"t" | b"pod" => lang!("perl"),
        b"lua" => lang!("lua"),
        b"r" => lang!("r"),
        b"jl" => lang!("julia"),
        b"hs" | b"lhs" => lang!("haskell"),
        b"ml" | b"mli" => lang!("ocaml"),
        b"ex" | b"exs" => lang!("elixir"),
        b"erl" | b"hrl" => lang!("erlang"),
        b"clj" | b"cljs" | b"cljc" | b"edn" => lang!("clojure"),
        b"el" | b"lisp" | b"lsp" | b"scm" | b"ss" | b"rkt" => lang!("lisp"),
        b"dart" => lang!("dart"),
        b"zig" => lang!("zig"),
        b"nim" => lang!("nim"),
        b"d" => lang!("d"),
        b"v" | b"sv" | b"svh" | b"vh" => lang!("verilog"),
        b"vhd" | b"vhdl" => lang!("vhdl"),
        b"f" | b"f90" | b"f95" | b"f03" | b"f08" | b"for" => lang!("fortran"),
        b"pas" | b"pp" => lang!("pascal"),
        b"ada" | b"adb" | b"ads" => lang!("ada"),
        b"s" | b"asm" => lang!("assembly"),
        b"sql" => lang!("sql"),
        b"html" | b"htm" | b"xhtml" => lang!("html"),
        b"css" => lang!("css"),
        b"scss" | b"sass" => lang!("scss"),
        b"less" => lang!("less"),
        b"vue" => lang!("vue"),
        b"svelte" => lang!("svelte"),
        b"md" | b"markdown" => lang!("markdown"),
        b"rst" => lang!("restructuredtext"),
        b"tex" | b"sty" | b"cls" => lang!("tex"),
        b"json" | b"jsonc" => lang!("json"),
        b"yaml" | b"yml" => lang!("yaml"),
        b"toml" => lang!("toml"),
        b"xml" | b"xsd" | b"xsl" | b"svg" | b"plist" => lang!("xml"),
        b"ini" | b"cfg" | b"conf" => lang!("ini"),
        b"proto" => lang!("protobuf"),
        b"thrift" => lang!("thrift"),
        b"graphql" | b"gql" => lang!("graphql"),
        b"tf" | b"hcl" => lang!("hcl"),
        b"nix" => lang!("nix"),
        b"cmake" => lang!("cmake"),
        b"mk" | b"mak" => lang!("makefile"),
        b"awk" => lang!("awk"),
        b"tcl" => lang!("tcl"),
        b"vim" => lang!("vim"),
        b"dts" | b"dtsi" => lang!("devicetree"),
        b"sol" => lang!("solidity"),
        b"cu" | b"cuh" => lang!("cuda"),
        b"glsl" | b"vert" | b"frag" => lang!("glsl"),
        b"bat" | b"cmd" => lang!("batch"),
        _ => return None,
    })
}

/// Well-known file names without a telling extension.
fn by_file_name(name: &[u8]) -> Option<Language> {
    Some(match name {
        b"Makefile" | b"makefile" | b"GNUmakefile" | b"Kbuild" => lang!("makefile"),
        b"Dockerfile" | b"Containerfile" => lang!("dockerfile"),
        b"CMakeLists.txt" => lang!("cmake"),
        b"Rakefile" | b"Gemfile" | b"Vagrantfile" | b"Podfile" => lang!("ruby"),
        b"Kconfig" => lang!("kconfig"),
        b"BUILD" | b"WORKSPACE" | b"BUILD.bazel" => lang!("starlark"),
        b".bashrc" | b".bash_profile" | b".profile" | b".zshrc" => lang!("shell"),
        _ if name.starts_with(b"Dockerfile.") => lang!("dockerfile"),
        _ if name.starts_with(b"Kconfig.") => lang!("kconfig"),
        _ => return None,
    })
}

/// Interpreter named by a `#!` line -> language.
fn by_interpreter(name: &[u8]) -> Option<Language> {
    // Strip a version suffix: python3.11 -> python, perl5 -> perl.
    let base_len = name
        .iter()
        .position(|c| c.is_ascii_digit() || *c == b'.')
        .unwrap_or(name.len());
    Some(match &name[..base_len] {
        b"sh" | b"bash" | b"zsh" | b"ksh" | b"dash" | b"ash" | b"mksh" => lang!("shell"),
        b"fish" => lang!("fish"),
        b"python" | b"pypy" => lang!("python"),
        b"ruby" | b"jruby" => lang!("ruby"),
        b"perl" => lang!("perl"),
        b"node" | b"nodejs" | b"deno" | b"bun" => lang!("javascript"),
        b"ts-node" | b"tsx" => lang!("typescript"),
        b"php" => lang!("php"),
        b"lua" | b"luajit" => lang!("lua"),
        b"Rscript" => lang!("r"),
        b"tclsh" | b"wish" => lang!("tcl"),
        b"awk" | b"gawk" | b"mawk" | b"nawk" => lang!("awk"),
        b"julia" => lang!("julia"),
        b"elixir" => lang!("elixir"),
        b"escript" => lang!("erlang"),
        b"pwsh" => lang!("powershell"),
        b"make" => lang!("makefile"),
        _ => return None,
    })
}

/// Language from the `#!` line at the start of `head`, if any.
pub fn from_shebang(head: &[u8]) -> Option<Language> {
    let rest = head.strip_prefix(b"#!")?;
    let line = &rest[..rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())];
    let mut words = line
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let program = words.next()?;
    let mut name = program.rsplit(|&c| c == b'/').next()?;
    if name == b"env" {
        // `#!/usr/bin/env [-S] [VAR=x] python3 ...`
        name = words.find(|w| !w.starts_with(b"-") && !w.contains(&b'='))?;
    }
    by_interpreter(name)
}

/// Language of a file from its name alone.
pub fn from_name(file_name: &OsStr) -> Option<Language> {
    let name = file_name.as_bytes();
    if let Some(lang) = by_file_name(name) {
        return Some(lang);
    }
    let dot = name.iter().rposition(|&c| c == b'.')?;
    if dot == 0 {
        return None;
    }
    by_extension(&name[dot + 1..])
}

/// Language of a file from its name, then from its first line when the name
/// says nothing and the content is known.
pub fn detect(file_name: &OsStr, content: Option<&[u8]>) -> Option<Language> {
    from_name(file_name).or_else(|| content.and_then(from_shebang))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Option<&'static str> {
        from_name(OsStr::new(n)).map(Language::name)
    }

    #[test]
    fn extensions_and_names() {
        assert_eq!(name("main.rs"), Some("rust"));
        assert_eq!(name("a.tar.PY"), Some("python"));
        assert_eq!(name("x.C"), Some("cpp"));
        assert_eq!(name("x.c"), Some("c"));
        assert_eq!(name("head.S"), Some("assembly"));
        assert_eq!(name("Makefile"), Some("makefile"));
        assert_eq!(name("Kconfig.debug"), Some("kconfig"));
        assert_eq!(name(".gitignore"), None);
        assert_eq!(name("README"), None);
        assert_eq!(name("x.unknownextension"), None);
    }

    #[test]
    fn at_least_thirty_languages() {
        let exts = [
            "rs", "c", "cpp", "m", "go", "py", "js", "ts", "rb", "java", "kt", "scala", "swift",
            "cs", "php", "sh", "pl", "lua", "r", "jl", "hs", "ml", "ex", "erl", "clj", "dart",
            "zig", "nim", "d", "f90", "sql", "html", "css", "md", "json", "yaml", "toml", "xml",
            "proto", "vue", "tex", "asm",
        ];
        let mut seen = std::collections::HashSet::new();
        for e in exts {
            seen.insert(name(&format!("f.{e}")).expect(e));
        }
        assert!(seen.len() >= 40, "{}", seen.len());
    }

    #[test]
    fn shebangs() {
        let s = |t: &str| from_shebang(t.as_bytes()).map(Language::name);
        assert_eq!(s("#!/bin/sh\necho"), Some("shell"));
        assert_eq!(s("#!/usr/bin/env python3\n"), Some("python"));
        assert_eq!(s("#!/usr/bin/env -S node --flag\n"), Some("javascript"));
        assert_eq!(s("#! /usr/bin/perl -w\n"), Some("perl"));
        assert_eq!(s("#!/usr/bin/python3.11"), Some("python"));
        assert_eq!(s("#!/usr/bin/unknown"), None);
        assert_eq!(s("no shebang"), None);
        let d = detect(OsStr::new("script"), Some(b"#!/usr/bin/env ruby\n"));
        assert_eq!(d.map(Language::name), Some("ruby"));
        assert_eq!(Language::name_with_nul(d.unwrap()), b"ruby\0");
    }

    #[test]
    fn codes_round_trip_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in 1..=NAMES.len() as u8 {
            let lang = Language::from_code(code).unwrap();
            assert_eq!(lang.code(), code);
            assert!(seen.insert(lang.name()), "{}", lang.name());
            assert_eq!(
                lang.name_with_nul(),
                format!("{}\0", lang.name()).as_bytes()
            );
        }
        assert_eq!(Language::from_code(0), None);
        assert_eq!(Language::from_code(NAMES.len() as u8 + 1), None);
        assert_eq!(lang!("rust").name(), "rust");
        assert_eq!(lang!("c").name(), "c");
    }
}
