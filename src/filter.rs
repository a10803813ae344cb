//! Input filter in front of the vt100 parser (placeholder; see the filter task).
