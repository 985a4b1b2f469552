//! `.dockerignore` rules: parsed, compiled and applied exactly as BuildKit does.
