//! Shell-style word expansion, exactly as BuildKit's `shell.Lex`.
