//! Tagged global allocator (placeholder).
